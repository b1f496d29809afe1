//! Stored pipelines and their runs (§6): what the store keeps and the API shows. The pipeline
//! document itself is parsed and validated in [`super::doc`].

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::run::{RunState, StepLog};
use crate::domain::time::rfc3339_ms;

/// Longest pipeline name, in characters.
pub const MAX_PIPELINE_NAME_LEN: usize = 200;

/// A pipeline as stored: its document, and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRecord {
    pub name: String,
    pub yaml: String,
    /// The `event.listen` pattern, kept beside the document for listings and filters.
    pub event_key: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The newest event id this pipeline is done with; later events are still to run.
    pub cursor: Uuid,
    /// The run the pipeline waits on (running, or failed and waiting for a retry). Delivery is
    /// in order, so there is at most one.
    pub pending: Option<Uuid>,
    /// Runs queued by hand (`run.retry`), oldest first; they run ahead of new events.
    #[serde(default)]
    pub queued: Vec<Uuid>,
    pub stats: RunStats,
    pub last_run: Option<RunSummary>,
}

/// Runs by final status, since the pipeline was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunStats {
    pub ok: u64,
    pub failed: u64,
    pub dead: u64,
}

/// The last run, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub id: Uuid,
    pub status: RunStatus,
    pub finished_at: Option<i64>,
}

impl PipelineRecord {
    /// The API form of §6; `lag` is counted by the store.
    pub fn to_json(&self, lag: u64) -> Value {
        json!({
            "name": self.name,
            "yaml": self.yaml,
            "eventKey": self.event_key,
            "enabled": self.enabled,
            "createdAt": rfc3339_ms(self.created_at),
            "updatedAt": rfc3339_ms(self.updated_at),
            "lag": lag,
            "stats": self.stats,
            "lastRun": self.last_run.as_ref().map(|r| json!({
                "id": r.id,
                "status": r.status,
                "finishedAt": r.finished_at.map(rfc3339_ms),
            })),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Waiting to start (a retry asked for by hand).
    Queued,
    Running,
    Ok,
    /// The last attempt failed; another is scheduled.
    Failed,
    /// Given up: THROW, or retries spent. Stays until retried by hand.
    Dead,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Ok,
        RunStatus::Failed,
        RunStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("status must be queued, running, ok, failed or dead, not {s:?}"))
    }

    /// Whether the run is over (nothing will run it again unless asked).
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Ok | RunStatus::Dead)
    }
}

/// One run of a pipeline on one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: Uuid,
    pub pipeline: String,
    /// The pipeline's `updatedAt` when it ran: a retry resumes at the failed step only if
    /// the document is still the same.
    #[serde(default)]
    pub version: i64,
    pub event_id: Uuid,
    pub status: RunStatus,
    pub attempts: u32,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    pub steps: Vec<StepLog>,
    /// When the next attempt is due, for a failed run waiting on a retry.
    pub next_attempt_at: Option<i64>,
    /// Where the next attempt starts: the step and the state before it, so that a retry does
    /// not repeat the steps that already succeeded.
    pub resume: Option<RunState>,
}

impl Run {
    /// The API form of §6.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "pipeline": self.pipeline,
            "eventId": self.event_id,
            "status": self.status,
            "attempts": self.attempts,
            "queuedAt": rfc3339_ms(self.queued_at),
            "startedAt": self.started_at.map(rfc3339_ms),
            "finishedAt": self.finished_at.map(rfc3339_ms),
            "durationMs": self.duration_ms,
            "error": self.error,
            "nextAttemptAt": self.next_attempt_at.map(rfc3339_ms),
            "steps": self.steps,
        })
    }
}

/// Checks a pipeline name: segments of `a-z 0-9 - _` joined by `.`.
pub fn validate_pipeline_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("name is required".into());
    }
    if name.chars().count() > MAX_PIPELINE_NAME_LEN {
        return Err(format!(
            "name is longer than {MAX_PIPELINE_NAME_LEN} characters"
        ));
    }
    let ok_segment = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if !name.split('.').all(ok_segment) {
        return Err(format!(
            "name {name:?} must be segments of a-z, 0-9, - and _ joined by ."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["lead-mail", "crm.lead_created", "a"] {
            assert!(validate_pipeline_name(good).is_ok(), "{good}");
        }
        for bad in ["", "A", "a..b", ".a", "a.", "a b", "ü"] {
            assert!(validate_pipeline_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(RunStatus::parse("done").is_err());
    }
}
