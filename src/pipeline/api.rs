//! The pipeline and run commands of §6, shared by the HTTP API and `hooktail command`, and
//! the typed functions behind them that the dashboard calls too, so that every front end
//! goes through the same validation and the same audit log lines.

use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use super::engine::Pipelines;
use super::runner::RetryError;
use crate::commands::{CommandError, Ctx, MAX_LIST_LIMIT, Params};
use crate::domain::Record;
use crate::domain::pipeline::{Pipeline, PipelineRecord, Run, RunStatus, validate_pipeline_name};
use crate::store::{PipelineInput, RunQuery, Store, StoreError};

/// The commands this module answers.
pub const NAMES: [&str; 7] = [
    "pipeline.put",
    "pipeline.get",
    "pipeline.delete",
    "pipeline.run",
    "run.list",
    "run.get",
    "run.retry",
];

const DEFAULT_LIST_LIMIT: usize = 50;

pub async fn run(ctx: &Ctx, name: &str, p: &Params) -> Result<Value, CommandError> {
    let get = |k: &str| p.get(k).map(String::as_str);
    match name {
        "pipeline.put" => {
            let name = pipeline_name(get("name"))?;
            let yaml = get("yaml")
                .filter(|y| !y.trim().is_empty())
                .ok_or_else(|| {
                    CommandError::BadRequest(
                        "the pipeline's YAML is required: send it as the body \
                         (application/yaml) or as the yaml parameter"
                            .into(),
                    )
                })?
                .to_string();
            let enabled = match get("enabled") {
                None => true,
                Some(e) => parse_bool(e).ok_or_else(|| {
                    CommandError::BadRequest(format!("enabled must be true or false, not {e:?}"))
                })?,
            };
            Ok(put_pipeline(ctx, &name, yaml, enabled).await?.to_json())
        }
        "pipeline.get" => match get("name") {
            Some(n) => Ok(pipeline(ctx, n).await?.to_json()),
            None => Ok(Value::Array(
                pipelines(ctx)
                    .await?
                    .iter()
                    .map(PipelineView::to_json)
                    .collect(),
            )),
        },
        "pipeline.delete" => {
            let name = pipeline_name(get("name"))?;
            let deleted = delete_pipeline(ctx, &name).await?;
            Ok(json!({"name": name, "deleted": deleted}))
        }
        "pipeline.run" => {
            let record = find_pipeline(ctx, &pipeline_name(get("name"))?).await?;
            let id = parse_uuid(get("eventId"), "eventId")?;
            Ok(run_on(ctx, &record, id).await?.to_json())
        }
        "run.list" => {
            let limit = match get("limit") {
                Some(l) => l
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=MAX_LIST_LIMIT).contains(l))
                    .ok_or_else(|| {
                        CommandError::BadRequest(format!(
                            "limit must be a number from 1 to {MAX_LIST_LIMIT}"
                        ))
                    })?,
                None => DEFAULT_LIST_LIMIT,
            };
            let q = RunQuery {
                pipeline: get("pipeline").map(str::to_string),
                event_id: get("eventId")
                    .map(|e| parse_uuid(Some(e), "eventId"))
                    .transpose()?,
                status: get("status")
                    .map(RunStatus::parse)
                    .transpose()
                    .map_err(CommandError::BadRequest)?,
                before: get("before")
                    .map(|b| parse_uuid(Some(b), "before"))
                    .transpose()?,
                limit,
            };
            let runs = runs(ctx, q).await?;
            Ok(Value::Array(runs.iter().map(Run::to_json).collect()))
        }
        "run.get" => {
            let id = parse_uuid(get("id"), "id")?;
            Ok(run_by_id(ctx, id).await?.to_json())
        }
        "run.retry" => {
            let id = parse_uuid(get("id"), "id")?;
            Ok(retry_run(ctx, id).await?.to_json())
        }
        other => Err(CommandError::NotFound(format!("unknown command {other:?}"))),
    }
}

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

/// Validates a pipeline document and creates or replaces the pipeline `name` with it, then
/// wakes delivery: the one way for the API, the CLI and the dashboard alike. An invalid
/// document is refused with the `line:column` of the problem.
pub async fn put_pipeline(
    ctx: &Ctx,
    name: &str,
    yaml: String,
    enabled: bool,
) -> Result<PipelineView, CommandError> {
    let name = pipeline_name(Some(name))?;
    let doc = Pipeline::parse(&yaml)
        .map_err(|e| CommandError::BadRequest(format!("invalid pipeline: {e}")))?;
    let input = PipelineInput {
        name,
        event_key: doc.listen.event_key.clone(),
        from: doc.listen.from,
        yaml,
        enabled,
    };
    let record = blocking(&ctx.store, move |s| s.put_pipeline(input)).await?;
    tracing::info!(pipeline = %record.name, enabled = record.enabled, "audit: pipeline put");
    changed(ctx);
    with_lag(ctx, record).await
}

/// Every pipeline, sorted by name, with its lag.
pub async fn pipelines(ctx: &Ctx) -> Result<Vec<PipelineView>, CommandError> {
    let all = blocking(&ctx.store, |s| s.pipelines()).await?;
    let mut out = Vec::with_capacity(all.len());
    for record in all {
        out.push(with_lag(ctx, record).await?);
    }
    Ok(out)
}

/// One pipeline with its lag.
pub async fn pipeline(ctx: &Ctx, name: &str) -> Result<PipelineView, CommandError> {
    let record = find_pipeline(ctx, name).await?;
    with_lag(ctx, record).await
}

/// Deletes a pipeline and wakes delivery; `false` when there was none. Its runs stay until
/// they are pruned with their events.
pub async fn delete_pipeline(ctx: &Ctx, name: &str) -> Result<bool, CommandError> {
    let name = pipeline_name(Some(name))?;
    let owned = name.clone();
    let deleted = blocking(&ctx.store, move |s| s.delete_pipeline(&owned)).await?;
    if deleted {
        tracing::info!(pipeline = %name, "audit: pipeline deleted");
        changed(ctx);
    }
    Ok(deleted)
}

/// Runs a pipeline once now on a stored event, and answers with the stored run.
async fn run_on(ctx: &Ctx, record: &PipelineRecord, event_id: Uuid) -> Result<Run, CommandError> {
    let event = match blocking(&ctx.store, move |s| s.record(&event_id)).await? {
        Some(Record::Accepted(e)) => e,
        _ => {
            return Err(CommandError::NotFound(format!(
                "no accepted event {event_id}"
            )));
        }
    };
    let pipelines = runner(ctx)?;
    tracing::info!(pipeline = %record.name, event = %event_id, "audit: pipeline run by hand");
    pipelines
        .run_once(record, &event)
        .await
        .map_err(CommandError::Internal)
}

/// Runs, newest first.
pub async fn runs(ctx: &Ctx, q: RunQuery) -> Result<Vec<Run>, CommandError> {
    blocking(&ctx.store, move |s| s.runs(&q)).await
}

/// One run with its step log.
pub async fn run_by_id(ctx: &Ctx, id: Uuid) -> Result<Run, CommandError> {
    blocking(&ctx.store, move |s| s.run(&id))
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("no run {id}")))
}

/// Queues a failed or dead run again; its pipeline runs it next. 409 for any other run.
pub async fn retry_run(ctx: &Ctx, id: Uuid) -> Result<Run, CommandError> {
    let run = runner(ctx)?.retry(id).await.map_err(|e| match e {
        RetryError::NotFound => CommandError::NotFound(format!("no run {id}")),
        RetryError::NotRetryable(_) | RetryError::PipelineGone => {
            CommandError::Conflict(e.to_string())
        }
        RetryError::Store(e) => e.into(),
    })?;
    tracing::info!(run = %id, pipeline = %run.pipeline, "audit: run retried");
    Ok(run)
}

fn runner(ctx: &Ctx) -> Result<&Pipelines, CommandError> {
    ctx.pipelines.as_ref().ok_or_else(|| {
        CommandError::Unavailable("runs need a running hooktail server (hooktail serve)".into())
    })
}

fn changed(ctx: &Ctx) {
    if let Some(p) = &ctx.pipelines {
        p.pipelines_changed();
    }
}

async fn find_pipeline(ctx: &Ctx, name: &str) -> Result<PipelineRecord, CommandError> {
    let owned = name.to_string();
    blocking(&ctx.store, move |s| s.pipeline(&owned))
        .await?
        .ok_or_else(|| CommandError::NotFound(format!("no pipeline {name:?}")))
}

/// The record with its lag counted now.
async fn with_lag(ctx: &Ctx, record: PipelineRecord) -> Result<PipelineView, CommandError> {
    let pattern =
        crate::domain::EventKeyPattern::parse(&record.event_key).map_err(CommandError::Internal)?;
    let cursor = record.cursor;
    let lag = blocking(&ctx.store, move |s| s.lag(cursor, &pattern)).await?;
    Ok(PipelineView { record, lag })
}

fn pipeline_name(name: Option<&str>) -> Result<String, CommandError> {
    let name = name.map(str::trim).unwrap_or("");
    validate_pipeline_name(name).map_err(CommandError::BadRequest)?;
    Ok(name.to_string())
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_uuid(s: Option<&str>, what: &str) -> Result<Uuid, CommandError> {
    let s = s.ok_or_else(|| CommandError::BadRequest(format!("{what} is required")))?;
    Uuid::parse_str(s.trim())
        .map_err(|_| CommandError::BadRequest(format!("{what} {s:?} is not a well-formed uuid")))
}

/// Runs a store read or write off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, CommandError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| CommandError::Internal(e.to_string()))?
        .map_err(CommandError::from)
}
