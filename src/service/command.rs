//! The text layer of §2: parameters by name, as text, whichever way they came (HTTP query,
//! form, JSON body, or `hooktail command` arguments), parsed into the typed calls of
//! `service`, whose results become JSON.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use uuid::Uuid;

use super::pipelines::pipeline_name;
use super::{Service, ServiceError};
use crate::domain::pipeline::{Run, RunStatus};
use crate::domain::{EventFilter, EventKeyPattern, WebhookInput};
use crate::store::{Cursor, PageQuery, RunQuery, Status};

/// Parameters by name, as text, whichever way they came.
pub type Params = BTreeMap<String, String>;

/// Largest `limit` event.list and run.list take.
pub const MAX_LIST_LIMIT: usize = 1000;
const DEFAULT_LIST_LIMIT: usize = 50;

/// The commands answered here.
pub const NAMES: [&str; 5] = [
    "webhook.put",
    "webhook.get",
    "webhook.delete",
    "event.list",
    "event.get",
];

/// The pipeline and run commands of §6.
pub const PIPELINE_NAMES: [&str; 7] = [
    "pipeline.put",
    "pipeline.get",
    "pipeline.delete",
    "pipeline.run",
    "run.list",
    "run.get",
    "run.retry",
];

/// Commands that change admin data, refused by a `--read-only` server.
pub const WRITES: [&str; 6] = [
    "webhook.put",
    "webhook.delete",
    "pipeline.put",
    "pipeline.delete",
    "pipeline.run",
    "run.retry",
];

pub async fn run(svc: &Service, name: &str, p: &Params) -> Result<Value, ServiceError> {
    let get = |k: &str| p.get(k).map(String::as_str);
    match name {
        "webhook.put" => {
            let input = WebhookInput::parse(
                get("uuid"),
                get("eventKey"),
                get("payloadType"),
                get("maxPayloadLength"),
                svc.max_payload,
            )
            .map_err(|e| ServiceError::BadRequest(e.message()))?;
            let w = svc.put_webhook(input).await?;
            Ok(w.to_json(&svc.public_url))
        }
        "webhook.get" => match get("uuid") {
            Some(u) => {
                let uuid = parse_uuid(u)?;
                let w = svc
                    .webhook(&uuid)
                    .ok_or_else(|| ServiceError::NotFound(format!("no webhook {u}")))?;
                Ok(w.to_json(&svc.public_url))
            }
            None => Ok(Value::Array(
                svc.webhooks()
                    .iter()
                    .map(|w| w.to_json(&svc.public_url))
                    .collect(),
            )),
        },
        "webhook.delete" => {
            let uuid = parse_uuid(required(get("uuid"), "uuid")?)?;
            let deleted = svc.delete_webhook(uuid).await?;
            Ok(json!({"uuid": uuid, "deleted": deleted}))
        }
        "event.list" => {
            let limit = limit(get("limit"))?;
            let status = match get("status") {
                None => None,
                Some("accepted") => Some(Status::Accepted),
                Some("rejected") => Some(Status::Rejected),
                Some(s) => {
                    return Err(ServiceError::BadRequest(format!(
                        "status must be accepted or rejected, not {s:?}"
                    )));
                }
            };
            let pattern = get("eventKey")
                .map(EventKeyPattern::parse)
                .transpose()
                .map_err(ServiceError::BadRequest)?;
            let cursor = match get("before") {
                Some(b) => Cursor::Before(parse_uuid(b)?),
                None => Cursor::Newest,
            };
            let q = PageQuery {
                cursor,
                filter: EventFilter::new(status, pattern),
                limit,
                with_body: false,
            };
            let records = svc.events(q).await?;
            Ok(Value::Array(
                records.iter().map(|r| r.to_json(false)).collect(),
            ))
        }
        "event.get" => {
            let id = parse_uuid(required(get("id"), "id")?)?;
            svc.event(id)
                .await?
                .map(|r| r.to_json(true))
                .ok_or_else(|| ServiceError::NotFound(format!("no event {id}")))
        }
        "pipeline.put" => {
            let name = pipeline_name(get("name"))?;
            let yaml = get("yaml")
                .filter(|y| !y.trim().is_empty())
                .ok_or_else(|| {
                    ServiceError::BadRequest(
                        "the pipeline's YAML is required: send it as the body \
                         (application/yaml) or as the yaml parameter"
                            .into(),
                    )
                })?
                .to_string();
            let enabled = match get("enabled") {
                None => true,
                Some(e) => parse_bool(e).ok_or_else(|| {
                    ServiceError::BadRequest(format!("enabled must be true or false, not {e:?}"))
                })?,
            };
            Ok(svc.put_pipeline(&name, yaml, enabled).await?.to_json())
        }
        "pipeline.get" => match get("name") {
            Some(n) => Ok(svc.pipeline(n).await?.to_json()),
            None => Ok(Value::Array(
                svc.pipelines()
                    .await?
                    .iter()
                    .map(super::PipelineView::to_json)
                    .collect(),
            )),
        },
        "pipeline.delete" => {
            let name = pipeline_name(get("name"))?;
            let deleted = svc.delete_pipeline(&name).await?;
            Ok(json!({"name": name, "deleted": deleted}))
        }
        "pipeline.run" => {
            let name = pipeline_name(get("name"))?;
            let record = svc.find_pipeline(&name).await?;
            let id = named_uuid(get("eventId"), "eventId")?;
            Ok(svc.run_pipeline(&record, id).await?.to_json())
        }
        "run.list" => {
            let q = RunQuery {
                limit: limit(get("limit"))?,
                pipeline: get("pipeline").map(str::to_string),
                event_id: get("eventId")
                    .map(|e| named_uuid(Some(e), "eventId"))
                    .transpose()?,
                status: get("status")
                    .map(RunStatus::parse)
                    .transpose()
                    .map_err(ServiceError::BadRequest)?,
                before: get("before")
                    .map(|b| named_uuid(Some(b), "before"))
                    .transpose()?,
            };
            let runs = svc.runs(q).await?;
            Ok(Value::Array(runs.iter().map(Run::to_json).collect()))
        }
        "run.get" => {
            let id = named_uuid(get("id"), "id")?;
            Ok(svc.run(id).await?.to_json())
        }
        "run.retry" => {
            let id = named_uuid(get("id"), "id")?;
            Ok(svc.retry_run(id).await?.to_json())
        }
        other => Err(ServiceError::NotFound(format!(
            "unknown command {other:?}; commands are {}, {}, webhook.receive and event.listen",
            NAMES.join(", "),
            PIPELINE_NAMES.join(", ")
        ))),
    }
}

fn limit(l: Option<&str>) -> Result<usize, ServiceError> {
    match l {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIST_LIMIT).contains(l))
            .ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "limit must be a number from 1 to {MAX_LIST_LIMIT}"
                ))
            }),
        None => Ok(DEFAULT_LIST_LIMIT),
    }
}

/// A required parameter.
fn required<'a>(s: Option<&'a str>, what: &str) -> Result<&'a str, ServiceError> {
    s.ok_or_else(|| ServiceError::BadRequest(format!("{what} is required")))
}

fn parse_uuid(s: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(s.trim())
        .map_err(|_| ServiceError::BadRequest(format!("{s:?} is not a well-formed uuid")))
}

/// A uuid parameter whose errors name it.
fn named_uuid(s: Option<&str>, what: &str) -> Result<Uuid, ServiceError> {
    let s = required(s, what)?;
    Uuid::parse_str(s.trim())
        .map_err(|_| ServiceError::BadRequest(format!("{what} {s:?} is not a well-formed uuid")))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}
