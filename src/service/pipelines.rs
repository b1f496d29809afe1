//! Pipelines and runs (§6): the typed operations the API, the CLI and the dashboard share,
//! so that every front end goes through the same validation and the same audit log lines.

use serde_json::Value;
use uuid::Uuid;

use super::{Service, ServiceError, Source};
use crate::domain::Record;
use crate::domain::pipeline::{Pipeline, PipelineRecord, Run, validate_pipeline_name};
use crate::pipeline::engine::Pipelines;
use crate::pipeline::runner::RetryError;
use crate::store::{PipelineInput, RunQuery};

/// A pipeline as listings show it: the stored record, and its lag counted when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineView {
    pub record: PipelineRecord,
    /// Matching events not yet run.
    pub lag: u64,
}

impl PipelineView {
    /// The API form of §6.
    pub fn to_json(&self) -> Value {
        self.record.to_json(self.lag)
    }
}

impl Service {
    /// Validates a pipeline document and creates or replaces the pipeline `name` with it, then
    /// wakes delivery: the one way for the API, the CLI and the dashboard alike. An invalid
    /// document is refused with the `line:column` of the problem.
    pub async fn put_pipeline(
        &self,
        name: &str,
        yaml: String,
        enabled: bool,
        source: Source,
    ) -> Result<PipelineView, ServiceError> {
        let name = pipeline_name(Some(name))?;
        let doc = Pipeline::parse(&yaml)
            .map_err(|e| ServiceError::BadRequest(format!("invalid pipeline: {e}")))?;
        let input = PipelineInput {
            name,
            event_key: doc.listen.event_key.clone(),
            from: doc.listen.from,
            yaml,
            enabled,
        };
        let record = self.blocking(move |s| s.put_pipeline(input)).await?;
        tracing::info!(
            target: "audit",
            change = "pipeline.put",
            pipeline = %record.name,
            enabled = record.enabled,
            source = source.as_str(),
            "pipeline put"
        );
        self.changed();
        self.with_lag(record).await
    }

    /// Every pipeline, sorted by name, with its lag.
    pub async fn pipelines(&self) -> Result<Vec<PipelineView>, ServiceError> {
        let all = self.blocking(|s| s.pipelines()).await?;
        let mut out = Vec::with_capacity(all.len());
        for record in all {
            out.push(self.with_lag(record).await?);
        }
        Ok(out)
    }

    /// One pipeline with its lag.
    pub async fn pipeline(&self, name: &str) -> Result<PipelineView, ServiceError> {
        let record = self.find_pipeline(name).await?;
        self.with_lag(record).await
    }

    /// Deletes a pipeline and wakes delivery; `false` when there was none. Its runs stay until
    /// they are pruned with their events.
    pub async fn delete_pipeline(&self, name: &str, source: Source) -> Result<bool, ServiceError> {
        let name = pipeline_name(Some(name))?;
        let owned = name.clone();
        let deleted = self.blocking(move |s| s.delete_pipeline(&owned)).await?;
        if deleted {
            tracing::info!(
                target: "audit",
                change = "pipeline.delete",
                pipeline = %name,
                source = source.as_str(),
                "pipeline deleted"
            );
            self.changed();
        }
        Ok(deleted)
    }

    /// Runs a pipeline once now on a stored event, and answers with the stored run.
    pub async fn run_pipeline(
        &self,
        record: &PipelineRecord,
        event_id: Uuid,
        source: Source,
    ) -> Result<Run, ServiceError> {
        let event = match self.blocking(move |s| s.record(&event_id)).await? {
            Some(Record::Accepted(e)) => e,
            _ => {
                return Err(ServiceError::NotFound(format!(
                    "no accepted event {event_id}"
                )));
            }
        };
        let pipelines = self.runner()?;
        tracing::info!(
            target: "audit",
            change = "pipeline.run",
            pipeline = %record.name,
            event = %event_id,
            source = source.as_str(),
            "pipeline run by hand"
        );
        pipelines
            .run_once(record, &event)
            .await
            .map_err(ServiceError::Internal)
    }

    /// Runs, newest first.
    pub async fn runs(&self, q: RunQuery) -> Result<Vec<Run>, ServiceError> {
        self.blocking(move |s| s.runs(&q)).await
    }

    /// One run with its step log.
    pub async fn run(&self, id: Uuid) -> Result<Run, ServiceError> {
        self.blocking(move |s| s.run(&id))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no run {id}")))
    }

    /// Queues a failed or dead run again; its pipeline runs it next. 409 for any other run.
    pub async fn retry_run(&self, id: Uuid, source: Source) -> Result<Run, ServiceError> {
        let run = self.runner()?.retry(id).await.map_err(|e| match e {
            RetryError::NotFound => ServiceError::NotFound(format!("no run {id}")),
            RetryError::NotRetryable(_) | RetryError::PipelineGone => {
                ServiceError::Conflict(e.to_string())
            }
            RetryError::Store(e) => e.into(),
        })?;
        tracing::info!(
            target: "audit",
            change = "run.retry",
            run = %id,
            pipeline = %run.pipeline,
            source = source.as_str(),
            "run retried"
        );
        Ok(run)
    }

    pub(super) fn runner(&self) -> Result<&Pipelines, ServiceError> {
        self.pipelines.as_ref().ok_or_else(|| {
            ServiceError::Unavailable("runs need a running hooktail server (hooktail serve)".into())
        })
    }

    fn changed(&self) {
        if let Some(p) = &self.pipelines {
            p.pipelines_changed();
        }
    }

    pub async fn find_pipeline(&self, name: &str) -> Result<PipelineRecord, ServiceError> {
        let owned = name.to_string();
        self.blocking(move |s| s.pipeline(&owned))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no pipeline {name:?}")))
    }

    /// The record with its lag counted now.
    async fn with_lag(&self, record: PipelineRecord) -> Result<PipelineView, ServiceError> {
        let pattern = crate::domain::EventKeyPattern::parse(&record.event_key)
            .map_err(ServiceError::Internal)?;
        let cursor = record.cursor;
        let lag = self.blocking(move |s| s.lag(cursor, &pattern)).await?;
        Ok(PipelineView { record, lag })
    }
}

pub(super) fn pipeline_name(name: Option<&str>) -> Result<String, ServiceError> {
    let name = name.map(str::trim).unwrap_or("");
    validate_pipeline_name(name).map_err(ServiceError::BadRequest)?;
    Ok(name.to_string())
}
