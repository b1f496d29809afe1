//! The pipeline and run commands of §6, shared by the HTTP API and `hooktail command`.

use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use super::engine::Pipelines;
use super::runner::RetryError;
use crate::commands::{CommandError, Ctx, MAX_LIST_LIMIT, Params};
use crate::domain::Record;
use crate::domain::pipeline::{Pipeline, PipelineRecord, RunStatus, validate_pipeline_name};
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
        "pipeline.get" => match get("name") {
            Some(n) => {
                let record = find_pipeline(ctx, n).await?;
                with_lag(ctx, record).await
            }
            None => {
                let all = blocking(&ctx.store, |s| s.pipelines()).await?;
                let mut out = Vec::with_capacity(all.len());
                for record in all {
                    out.push(with_lag(ctx, record).await?);
                }
                Ok(Value::Array(out))
            }
        },
        "pipeline.delete" => {
            let name = pipeline_name(get("name"))?;
            let owned = name.clone();
            let deleted = blocking(&ctx.store, move |s| s.delete_pipeline(&owned)).await?;
            if deleted {
                tracing::info!(pipeline = %name, "audit: pipeline deleted");
                changed(ctx);
            }
            Ok(json!({"name": name, "deleted": deleted}))
        }
        "pipeline.run" => {
            let record = find_pipeline(ctx, &pipeline_name(get("name"))?).await?;
            let id = parse_uuid(get("eventId"), "eventId")?;
            let event = match blocking(&ctx.store, move |s| s.record(&id)).await? {
                Some(Record::Accepted(e)) => e,
                _ => return Err(CommandError::NotFound(format!("no accepted event {id}"))),
            };
            let pipelines = runner(ctx)?;
            tracing::info!(pipeline = %record.name, event = %id, "audit: pipeline run by hand");
            let run = pipelines
                .run_once(&record, &event)
                .await
                .map_err(CommandError::Internal)?;
            Ok(run.to_json())
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
            let runs = blocking(&ctx.store, move |s| s.runs(&q)).await?;
            Ok(Value::Array(runs.iter().map(|r| r.to_json()).collect()))
        }
        "run.get" => {
            let id = parse_uuid(get("id"), "id")?;
            blocking(&ctx.store, move |s| s.run(&id))
                .await?
                .map(|r| r.to_json())
                .ok_or_else(|| CommandError::NotFound(format!("no run {id}")))
        }
        "run.retry" => {
            let id = parse_uuid(get("id"), "id")?;
            let run = runner(ctx)?.retry(id).await.map_err(|e| match e {
                RetryError::NotFound => CommandError::NotFound(format!("no run {id}")),
                RetryError::NotRetryable(_) | RetryError::PipelineGone => {
                    CommandError::Conflict(e.to_string())
                }
                RetryError::Store(e) => e.into(),
            })?;
            tracing::info!(run = %id, pipeline = %run.pipeline, "audit: run retried");
            Ok(run.to_json())
        }
        other => Err(CommandError::NotFound(format!("unknown command {other:?}"))),
    }
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

/// The API form, with the lag counted now.
async fn with_lag(ctx: &Ctx, record: PipelineRecord) -> Result<Value, CommandError> {
    let pattern =
        crate::domain::EventKeyPattern::parse(&record.event_key).map_err(CommandError::Internal)?;
    let cursor = record.cursor;
    let lag = blocking(&ctx.store, move |s| s.lag(cursor, &pattern)).await?;
    Ok(record.to_json(lag))
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
