//! The text layer of §2: parameters by name, as text, whichever way they came (HTTP query,
//! form, JSON body, or `hooktail command` arguments), parsed into the typed calls of
//! `service`, whose results become JSON.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use uuid::Uuid;

use super::pipelines::pipeline_name;
use super::replay::Replay;
use super::{Service, ServiceError, Source};
use crate::domain::pipeline::{Run, RunStatus};
use crate::domain::webhook::parse_allow_from;
use crate::domain::{EventFilter, EventKeyPattern, WebhookFields, WebhookInput};
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
    ServerStats,
    PipelinePut,
    PipelineGet,
    PipelineDelete,
    PipelineRun,
    RunList,
    RunGet,
    RunRetry,
    EventReplay,
    EventListen,
}

impl CommandName {
    /// Every command, in the order help lists them.
    pub const ALL: [CommandName; 15] = [
        CommandName::WebhookPut,
        CommandName::WebhookGet,
        CommandName::WebhookDelete,
        CommandName::EventList,
        CommandName::EventGet,
        CommandName::ServerStats,
        CommandName::PipelinePut,
        CommandName::PipelineGet,
        CommandName::PipelineDelete,
        CommandName::PipelineRun,
        CommandName::RunList,
        CommandName::RunGet,
        CommandName::RunRetry,
        CommandName::EventReplay,
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
            CommandName::ServerStats => "server.stats",
            CommandName::PipelinePut => "pipeline.put",
            CommandName::PipelineGet => "pipeline.get",
            CommandName::PipelineDelete => "pipeline.delete",
            CommandName::PipelineRun => "pipeline.run",
            CommandName::RunList => "run.list",
            CommandName::RunGet => "run.get",
            CommandName::RunRetry => "run.retry",
            CommandName::EventReplay => "event.replay",
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
                | CommandName::EventReplay
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

/// `webhook.put`'s parameters as a validated request; `ceiling` is the server's
/// `--max-payload`. The dashboard's `Local` backend reads its form's parameters here too.
pub fn webhook_input(p: &Params, ceiling: u64) -> Result<WebhookInput, ServiceError> {
    if let Some(k) = p.keys().find(|k| !webhook_field(k)) {
        return Err(ServiceError::BadRequest(format!(
            "webhook.put has no parameter {k:?}; it takes {}",
            WEBHOOK_FIELDS.join(", ")
        )));
    }
    let get = |k: &str| p.get(k).map(String::as_str);
    // An unset variable (`uuid=$UUID`) would otherwise create a webhook.
    if get("uuid").is_some_and(|u| u.trim().is_empty()) {
        return Err(ServiceError::BadRequest(
            "uuid is empty: leave it out to create a webhook, or give the uuid of the one to \
             change"
                .into(),
        ));
    }
    let mut input = WebhookInput::parse(
        WebhookFields {
            uuid: get("uuid"),
            event_key: get("eventKey"),
            payload_type: get("payloadType"),
            max_payload_length: get("maxPayloadLength"),
        },
        ceiling,
    )
    .and_then(|i| i.with_sender(p))
    .map_err(|e| ServiceError::BadRequest(e.message()))?;
    if let Some(a) = get("allowFrom") {
        input.allow_from = Some(parse_allow_from(a).map_err(ServiceError::BadRequest)?);
    }
    Ok(input)
}

/// What `webhook.put` takes; `verify`, `handshake` and `response` also as `verify.secret`
/// and the like.
const WEBHOOK_FIELDS: [&str; 8] = [
    "eventKey",
    "uuid",
    "payloadType",
    "maxPayloadLength",
    "allowFrom",
    "verify",
    "handshake",
    "response",
];

/// Whether `webhook.put` knows `key`. A misspelt `verfy` would otherwise create a webhook
/// that checks nothing. `webhook.get`'s read-only fields are let through, so that a webhook
/// as listed can be sent back changed.
fn webhook_field(key: &str) -> bool {
    let head = key.split_once('.').map_or(key, |(h, _)| h);
    let nested = head.len() < key.len();
    (WEBHOOK_FIELDS.contains(&head)
        && (!nested || ["verify", "handshake", "response"].contains(&head)))
        || ["webhookUrl", "createdAt", "updatedAt"].contains(&key)
}

/// Runs a command that answers; a stream is refused, as only a server can serve one.
/// `source` is the front end that sent it, for the audit lines of changes.
pub async fn run(
    svc: &Service,
    name: CommandName,
    p: &Params,
    source: Source,
) -> Result<Value, ServiceError> {
    let get = |k: &str| p.get(k).map(String::as_str);
    match name {
        CommandName::WebhookPut => {
            let input = webhook_input(p, svc.max_payload)?;
            let w = svc.put_webhook(input, source).await?;
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
            let deleted = svc.delete_webhook(uuid, source).await?;
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
            // Bodies too, for the attached dashboard's body search; `limit` bounds them.
            let with_body = match get("withBody") {
                None | Some("false") => false,
                Some("true") => true,
                Some(v) => {
                    return Err(ServiceError::BadRequest(format!(
                        "withBody must be true or false, not {v:?}"
                    )));
                }
            };
            let q = PageQuery {
                cursor: cursor(get("before"), get("after"), get("oldest"))?,
                filter: EventFilter::new(status, pattern).with_text(get("text").unwrap_or("")),
                limit,
                with_body,
            };
            let records = svc.events(q).await?;
            Ok(Value::Array(
                records.iter().map(|r| r.to_json(with_body)).collect(),
            ))
        }
        CommandName::EventGet => {
            let id = parse_uuid(required(get("id"), "id")?)?;
            svc.event(id)
                .await?
                .map(|r| r.to_json(true))
                .ok_or_else(|| ServiceError::NotFound(format!("no event {id}")))
        }
        CommandName::ServerStats => {
            let ((accepted, rejected), webhooks) = svc
                .blocking(|s| Ok((s.counts()?, s.webhook_stats()?)))
                .await?;
            let webhooks: serde_json::Map<String, Value> = webhooks
                .into_iter()
                .map(|(uuid, st)| {
                    let last = st.last_at.map(crate::domain::time::rfc3339_ms);
                    (
                        uuid.to_string(),
                        json!({"events": st.events, "lastAt": last}),
                    )
                })
                .collect();
            Ok(json!({
                "accepted": accepted,
                "rejected": rejected,
                "webhooks": webhooks,
                "publicUrl": svc.public_url,
                "maxPayload": svc.max_payload,
            }))
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
            Ok(svc
                .put_pipeline(&name, yaml, enabled, source)
                .await?
                .to_json())
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
            let deleted = svc.delete_pipeline(&name, source).await?;
            Ok(json!({"name": name, "deleted": deleted}))
        }
        CommandName::PipelineRun => {
            let name = pipeline_name(get("name"))?;
            let record = svc.find_pipeline(&name).await?;
            let id = named_uuid(get("eventId"), "eventId")?;
            Ok(svc.run_pipeline(&record, id, source).await?.to_json())
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
            Ok(svc.retry_run(id, source).await?.to_json())
        }
        CommandName::EventReplay => {
            let id = named_uuid(get("id"), "id")?;
            let how = match (get("pipeline"), get("url")) {
                (Some(_), Some(_)) => {
                    return Err(ServiceError::BadRequest(
                        "give either pipeline or url, not both".into(),
                    ));
                }
                (None, Some(url)) => Replay::Forward(url.trim().to_string()),
                (pipeline, None) => Replay::Pipelines(pipeline.map(str::to_string)),
            };
            Ok(svc.replay_event(id, how, source).await?.to_json(id))
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

/// Where an `event.list` page starts: newest first by default or `before` an id; oldest
/// first from `after` an id or, with `oldest=true`, from the oldest. At most one of them.
fn cursor(
    before: Option<&str>,
    after: Option<&str>,
    oldest: Option<&str>,
) -> Result<Cursor, ServiceError> {
    let oldest = match oldest.map(parse_bool) {
        None => false,
        Some(Some(o)) => o,
        Some(None) => {
            return Err(ServiceError::BadRequest(
                "oldest must be true or false".into(),
            ));
        }
    };
    match (before, after, oldest) {
        (None, None, false) => Ok(Cursor::Newest),
        (Some(b), None, false) => Ok(Cursor::Before(named_uuid(Some(b), "before")?)),
        (None, Some(a), false) => Ok(Cursor::After(named_uuid(Some(a), "after")?)),
        (None, None, true) => Ok(Cursor::Oldest),
        _ => Err(ServiceError::BadRequest(
            "give at most one of before, after and oldest=true".into(),
        )),
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
