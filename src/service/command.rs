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

/// The admin commands of §2 and §6, by name. `webhook.receive` is not one: it has its own
/// path and no admin key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    WebhookPut,
    WebhookGet,
    WebhookDelete,
    EventList,
    EventGet,
    PipelinePut,
    PipelineGet,
    PipelineDelete,
    PipelineRun,
    RunList,
    RunGet,
    RunRetry,
    EventListen,
}

impl CommandName {
    /// Every command, in the order help lists them.
    pub const ALL: [CommandName; 13] = [
        CommandName::WebhookPut,
        CommandName::WebhookGet,
        CommandName::WebhookDelete,
        CommandName::EventList,
        CommandName::EventGet,
        CommandName::PipelinePut,
        CommandName::PipelineGet,
        CommandName::PipelineDelete,
        CommandName::PipelineRun,
        CommandName::RunList,
        CommandName::RunGet,
        CommandName::RunRetry,
        CommandName::EventListen,
    ];

    pub fn parse(name: &str) -> Option<CommandName> {
        CommandName::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            CommandName::WebhookPut => "webhook.put",
            CommandName::WebhookGet => "webhook.get",
            CommandName::WebhookDelete => "webhook.delete",
            CommandName::EventList => "event.list",
            CommandName::EventGet => "event.get",
            CommandName::PipelinePut => "pipeline.put",
            CommandName::PipelineGet => "pipeline.get",
            CommandName::PipelineDelete => "pipeline.delete",
            CommandName::PipelineRun => "pipeline.run",
            CommandName::RunList => "run.list",
            CommandName::RunGet => "run.get",
            CommandName::RunRetry => "run.retry",
            CommandName::EventListen => "event.listen",
        }
    }

    /// Changes admin data: refused by a `--read-only` server.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            CommandName::WebhookPut
                | CommandName::WebhookDelete
                | CommandName::PipelinePut
                | CommandName::PipelineDelete
                | CommandName::PipelineRun
                | CommandName::RunRetry
        )
    }

    /// An endless stream of events that only a running server serves, not an answer: the
    /// one place that says `event.listen` is special.
    pub fn streams(self) -> bool {
        self == CommandName::EventListen
    }

    /// The names joined for help: the answering commands, then `last`, then the streams.
    pub fn listing(last: &str) -> String {
        let answering: Vec<&str> = CommandName::ALL
            .into_iter()
            .filter(|c| !c.streams())
            .map(CommandName::name)
            .collect();
        let streams: Vec<&str> = CommandName::ALL
            .into_iter()
            .filter(|c| c.streams())
            .map(CommandName::name)
            .collect();
        format!("{}{last} and {}", answering.join(", "), streams.join(", "))
    }
}

/// Runs a command that answers; a stream is refused, as only a server can serve one.
pub async fn run(svc: &Service, name: CommandName, p: &Params) -> Result<Value, ServiceError> {
    let get = |k: &str| p.get(k).map(String::as_str);
    match name {
        CommandName::WebhookPut => {
            let input = WebhookInput::parse(
                get("uuid"),
                get("eventKey"),
                get("payloadType"),
                get("maxPayloadLength"),
                svc.max_payload,
            )
            .and_then(|i| i.with_sender(p))
            .map_err(|e| ServiceError::BadRequest(e.message()))?;
            let w = svc.put_webhook(input).await?;
            Ok(w.to_json(&svc.public_url))
        }
        CommandName::WebhookGet => match get("uuid") {
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
        CommandName::WebhookDelete => {
            let uuid = parse_uuid(required(get("uuid"), "uuid")?)?;
            let deleted = svc.delete_webhook(uuid).await?;
            Ok(json!({"uuid": uuid, "deleted": deleted}))
        }
        CommandName::EventList => {
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
        CommandName::EventGet => {
            let id = parse_uuid(required(get("id"), "id")?)?;
            svc.event(id)
                .await?
                .map(|r| r.to_json(true))
                .ok_or_else(|| ServiceError::NotFound(format!("no event {id}")))
        }
        CommandName::PipelinePut => {
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
        CommandName::PipelineGet => match get("name") {
            Some(n) => Ok(svc.pipeline(n).await?.to_json()),
            None => Ok(Value::Array(
                svc.pipelines()
                    .await?
                    .iter()
                    .map(super::PipelineView::to_json)
                    .collect(),
            )),
        },
        CommandName::PipelineDelete => {
            let name = pipeline_name(get("name"))?;
            let deleted = svc.delete_pipeline(&name).await?;
            Ok(json!({"name": name, "deleted": deleted}))
        }
        CommandName::PipelineRun => {
            let name = pipeline_name(get("name"))?;
            let record = svc.find_pipeline(&name).await?;
            let id = named_uuid(get("eventId"), "eventId")?;
            Ok(svc.run_pipeline(&record, id).await?.to_json())
        }
        CommandName::RunList => {
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
        CommandName::RunGet => {
            let id = named_uuid(get("id"), "id")?;
            Ok(svc.run(id).await?.to_json())
        }
        CommandName::RunRetry => {
            let id = named_uuid(get("id"), "id")?;
            Ok(svc.retry_run(id).await?.to_json())
        }
        CommandName::EventListen => Err(ServiceError::BadRequest(format!(
            "{} needs a running server",
            name.name()
        ))),
    }
}

/// The error for a command name that is none of `CommandName`.
pub fn unknown(name: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "unknown command {name:?}; commands are {}",
        CommandName::listing(", webhook.receive")
    ))
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
