//! The admin commands of §2, shared by the HTTP API and `hooktail command` without a server.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{EventFilter, EventKeyPattern, Webhook, WebhookInput};
use crate::store::{Cursor, PageQuery, PutError, Status, Store, StoreError, Writer};

/// Parameters by name, as text, whichever way they came.
pub type Params = BTreeMap<String, String>;

/// Largest `limit` event.list takes.
pub const MAX_LIST_LIMIT: usize = 1000;
const DEFAULT_LIST_LIMIT: usize = 50;

/// Commands that change or read admin data.
pub const NAMES: [&str; 5] = [
    "webhook.put",
    "webhook.get",
    "webhook.delete",
    "event.list",
    "event.get",
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

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl CommandError {
    pub fn status(&self) -> u16 {
        match self {
            CommandError::BadRequest(_) => 400,
            CommandError::NotFound(_) => 404,
            CommandError::Conflict(_) => 409,
            CommandError::Unavailable(_) => 503,
            CommandError::Internal(_) => 500,
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed | StoreError::Unavailable => {
                CommandError::Unavailable(e.to_string())
            }
            e => CommandError::Internal(e.to_string()),
        }
    }
}

/// What a command runs against.
#[derive(Clone)]
pub struct Ctx {
    pub store: Arc<Store>,
    pub writer: Writer,
    pub public_url: String,
    /// The server's `--max-payload`: no webhook may accept more.
    pub max_payload: u64,
    /// Pipeline delivery; only a server runs it (`hooktail command` alone does not).
    pub pipelines: Option<crate::pipeline::engine::Pipelines>,
}

pub async fn run(ctx: &Ctx, name: &str, p: &Params) -> Result<Value, CommandError> {
    let get = |k: &str| p.get(k).map(String::as_str);
    match name {
        "webhook.put" => {
            let input = WebhookInput::parse(
                get("uuid"),
                get("eventKey"),
                get("payloadType"),
                get("maxPayloadLength"),
                ctx.max_payload,
            )
            .map_err(|e| CommandError::BadRequest(e.message()))?;
            let w = put_webhook(ctx, input).await?;
            Ok(w.to_json(&ctx.public_url))
        }
        "webhook.get" => match get("uuid") {
            Some(u) => {
                let uuid = parse_uuid(u)?;
                let w = ctx
                    .store
                    .webhook(&uuid)
                    .ok_or_else(|| CommandError::NotFound(format!("no webhook {u}")))?;
                Ok(w.to_json(&ctx.public_url))
            }
            None => Ok(Value::Array(
                ctx.store
                    .webhooks()
                    .iter()
                    .map(|w| w.to_json(&ctx.public_url))
                    .collect(),
            )),
        },
        "webhook.delete" => {
            let u =
                get("uuid").ok_or_else(|| CommandError::BadRequest("uuid is required".into()))?;
            let uuid = parse_uuid(u)?;
            let deleted = delete_webhook(ctx, uuid).await?;
            Ok(json!({"uuid": uuid, "deleted": deleted}))
        }
        "event.list" => {
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
            let status = match get("status") {
                None => None,
                Some("accepted") => Some(Status::Accepted),
                Some("rejected") => Some(Status::Rejected),
                Some(s) => {
                    return Err(CommandError::BadRequest(format!(
                        "status must be accepted or rejected, not {s:?}"
                    )));
                }
            };
            let pattern = get("eventKey")
                .map(EventKeyPattern::parse)
                .transpose()
                .map_err(CommandError::BadRequest)?;
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
            let records = blocking(&ctx.store, move |s| s.page(&q)).await?;
            Ok(Value::Array(
                records.iter().map(|r| r.to_json(false)).collect(),
            ))
        }
        "event.get" => {
            let id = get("id").ok_or_else(|| CommandError::BadRequest("id is required".into()))?;
            let id = parse_uuid(id)?;
            let record = blocking(&ctx.store, move |s| s.record(&id)).await?;
            record
                .map(|r| r.to_json(true))
                .ok_or_else(|| CommandError::NotFound(format!("no event {id}")))
        }
        other if crate::pipeline::api::NAMES.contains(&other) => {
            crate::pipeline::api::run(ctx, other, p).await
        }
        other => Err(CommandError::NotFound(format!(
            "unknown command {other:?}; commands are {}, {}, webhook.receive and event.listen",
            NAMES.join(", "),
            crate::pipeline::api::NAMES.join(", ")
        ))),
    }
}

fn parse_uuid(s: &str) -> Result<Uuid, CommandError> {
    Uuid::parse_str(s.trim())
        .map_err(|_| CommandError::BadRequest(format!("{s:?} is not a well-formed uuid")))
}

/// Runs a store read off the async threads.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, CommandError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| CommandError::Internal(e.to_string()))?
        .map_err(CommandError::from)
}

/// Creates or edits a webhook from validated input, and logs the change: the one way for the
/// API, the CLI and the dashboard alike.
pub async fn put_webhook(ctx: &Ctx, input: WebhookInput) -> Result<Webhook, CommandError> {
    let w = ctx.writer.put_webhook(input).await.map_err(|e| match e {
        PutError::Invalid(m) => CommandError::BadRequest(m),
        PutError::Conflict(_) => CommandError::Conflict(e.to_string()),
        PutError::Store(e) => e.into(),
    })?;
    tracing::info!(event_key = %w.event_key, token = %w.token_prefix(), "webhook put");
    Ok(w)
}

/// Deletes a webhook and logs it; `false` when there was none. The one way for the API, the
/// CLI and the dashboard alike.
pub async fn delete_webhook(ctx: &Ctx, uuid: Uuid) -> Result<bool, CommandError> {
    let deleted = ctx.writer.delete_webhook(uuid).await?;
    if deleted {
        let token = crate::domain::webhook::token_prefix(&uuid.to_string());
        tracing::info!(token = %token, "webhook deleted");
    }
    Ok(deleted)
}
