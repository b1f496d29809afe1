//! `event.replay` (§8): a stored event run again through pipelines, or forwarded to a URL as
//! `http.forward` sends it.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Service, ServiceError, Source};
use crate::domain::pipeline::{Run, RunStatus};
use crate::domain::{Event, EventKeyPattern, Record};
use crate::pipeline::{ForwardError, HttpClient, check_url, forward_event, redact_url};

/// How long a forward may take, answer included.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of the target's answer kept in the reply (the client reads at most 4 MiB).
pub const EXCERPT_BYTES: usize = 4096;

/// Where an event goes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// One pipeline by name, or every enabled one whose `event.listen` matches.
    Pipelines(Option<String>),
    /// A URL, as `http.forward` would send it.
    Forward(String),
}

/// What a replay did.
#[derive(Debug, Clone)]
pub enum Replayed {
    Runs(Vec<ReplayedRun>),
    Forwarded(Forwarded),
}

/// A run a replay made, as its answer names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedRun {
    pub id: Uuid,
    pub pipeline: String,
    pub status: RunStatus,
    pub error: Option<String>,
}

impl From<Run> for ReplayedRun {
    fn from(r: Run) -> Self {
        ReplayedRun {
            id: r.id,
            pipeline: r.pipeline,
            status: r.status,
            error: r.error,
        }
    }
}

/// The target's answer to a forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub status: u16,
    pub content_type: Option<String>,
    /// Bytes of the body read.
    pub size: usize,
    /// The start of the body as text (invalid UTF-8 replaced), at most [`EXCERPT_BYTES`].
    pub excerpt: String,
    pub truncated: bool,
}

impl Replayed {
    pub fn to_json(&self, event: Uuid) -> Value {
        match self {
            Replayed::Runs(runs) => json!({
                "eventId": event,
                "runs": runs.iter().map(|r| json!({
                    "id": r.id,
                    "pipeline": r.pipeline,
                    "status": r.status,
                    "error": r.error,
                })).collect::<Vec<_>>(),
            }),
            Replayed::Forwarded(f) => json!({
                "eventId": event,
                "status": f.status,
                "contentType": f.content_type,
                "size": f.size,
                "body": f.excerpt,
                "truncated": f.truncated,
            }),
        }
    }
}

impl Service {
    /// Replays a stored, accepted event, and writes the audit line.
    pub async fn replay_event(
        &self,
        id: Uuid,
        how: Replay,
        source: Source,
    ) -> Result<Replayed, ServiceError> {
        if let Replay::Forward(url) = &how {
            check_url(url).map_err(ServiceError::BadRequest)?;
        }
        let event = match self.blocking(move |s| s.record(&id)).await? {
            Some(Record::Accepted(e)) => e,
            _ => return Err(ServiceError::NotFound(format!("no accepted event {id}"))),
        };
        match how {
            Replay::Pipelines(name) => {
                let runner = self.runner()?.clone();
                let chosen = match name {
                    Some(name) => vec![self.find_pipeline(&name).await?],
                    None => {
                        let all = self.blocking(|s| s.pipelines()).await?;
                        all.into_iter()
                            .filter(|p| p.enabled && listens_to(&p.event_key, &event.event_key))
                            .collect()
                    }
                };
                let names: Vec<&str> = chosen.iter().map(|p| p.name.as_str()).collect();
                tracing::info!(
                    target: "audit",
                    change = "event.replay",
                    event = %id,
                    event_key = %event.event_key,
                    pipelines = %names.join(","),
                    source = source.as_str(),
                    "event replayed through pipelines"
                );
                let runs = futures_util::future::join_all(
                    chosen.iter().map(|p| runner.run_once(p, &event)),
                )
                .await;
                let runs = runs
                    .into_iter()
                    .map(|r| r.map(ReplayedRun::from))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(ServiceError::Internal)?;
                Ok(Replayed::Runs(runs))
            }
            Replay::Forward(url) => {
                tracing::info!(
                    target: "audit",
                    change = "event.replay",
                    event = %id,
                    event_key = %event.event_key,
                    url = %url_for_log(&url),
                    source = source.as_str(),
                    "event forwarded"
                );
                let client = match &self.pipelines {
                    Some(p) => p.executor().client(),
                    None => HttpClient::new().map_err(ServiceError::Internal)?,
                };
                forward(&client, &event, &url)
                    .await
                    .map(Replayed::Forwarded)
            }
        }
    }
}

fn listens_to(pattern: &str, event_key: &str) -> bool {
    EventKeyPattern::parse(pattern).is_ok_and(|p| p.matches(event_key))
}

/// Sends the event on, and keeps the start of the answer.
async fn forward(client: &HttpClient, event: &Event, url: &str) -> Result<Forwarded, ServiceError> {
    let res = forward_event(client, event, url, FORWARD_TIMEOUT)
        .await
        .map_err(|e| match e {
            ForwardError::Loop(m) => ServiceError::Conflict(m),
            ForwardError::Failed(m) => ServiceError::BadGateway(m),
        })?;
    let shown = res.body.len().min(EXCERPT_BYTES);
    Ok(Forwarded {
        status: res.status,
        content_type: res
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone()),
        size: res.body.len(),
        excerpt: String::from_utf8_lossy(&res.body[..shown]).into_owned(),
        truncated: shown < res.body.len(),
    })
}

/// A URL as the audit line shows it: no user info and no query, either may hold a secret.
fn url_for_log(url: &str) -> String {
    let bare = url.split(['?', '#']).next().unwrap_or("");
    redact_url(bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_urls_hold_no_secrets() {
        assert_eq!(
            url_for_log("https://u:pw@h.example/hook?token=abc#x"),
            "https://…@h.example/hook"
        );
        assert_eq!(url_for_log("http://h/x"), "http://h/x");
    }
}
