//! `webhook.receive`: find the token, check limits, read and parse the body, store the event
//! durably, and only then answer 200.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use hyper::{Method, Request, StatusCode};
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

use super::State;
use super::body::{self, BodyError};
use super::multipart;
use super::reply::{self, Reply};
use crate::domain::time::now_ms;
use crate::domain::webhook::token_prefix;
use crate::domain::{Event, Record, Rejection, Webhook};
use crate::metrics::Outcome;

/// Headers never stored with an event: they carry the token or credentials.
const DROPPED_HEADERS: [&str; 4] = ["token", "authorization", "cookie", "proxy-authorization"];

/// A refusal on its way to becoming a rejection record and an error answer.
struct Refusal {
    status: StatusCode,
    outcome: Outcome,
    reason: String,
    event_key: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, outcome: Outcome, reason: impl Into<String>) -> Self {
        Self {
            status,
            outcome,
            reason: reason.into(),
            event_key: None,
        }
    }

    fn for_webhook(mut self, w: Option<&Webhook>) -> Self {
        self.event_key = w.map(|w| w.event_key.clone());
        self
    }
}

/// What the request line and headers tell before the body is read.
struct Head {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    remote: SocketAddr,
    received_at: i64,
}

pub async fn handle(state: &State, req: Request<Incoming>, remote: SocketAddr) -> (Reply, Outcome) {
    let (parts, body) = req.into_parts();
    let head = Head {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        headers: parts.headers,
        remote,
        received_at: now_ms(),
    };
    let declared = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match accept(state, &head, body, declared).await {
        Ok((id, webhook)) => {
            tracing::debug!(event_key = %webhook.event_key, %id, "event stored");
            (
                reply::json(
                    StatusCode::OK,
                    &json!({"status": "ok", "correlationId": id}),
                ),
                Outcome::Accepted,
            )
        }
        Err((refusal, size)) => {
            // Debug, not info: refusals are stored anyway, and a flood must not flood the log.
            tracing::debug!(
                status = refusal.status.as_u16(),
                reason = %refusal.reason,
                remote = %head.remote,
                "webhook call refused"
            );
            let record = Record::Rejected(Rejection {
                id: Uuid::now_v7(),
                reason: refusal.reason.clone(),
                http_status: refusal.status.as_u16(),
                received_at: head.received_at,
                method: head.method.to_string(),
                remote_addr: head.remote.to_string(),
                size,
                event_key: refusal.event_key,
            });
            if let Err(e) = state.ctx.writer.append(record, None).await {
                tracing::error!("cannot store a rejection: {e}");
            }
            (
                reply::error(refusal.status, refusal.reason),
                refusal.outcome,
            )
        }
    }
}

/// Everything up to the durable commit. On refusal, also returns the body size seen.
async fn accept(
    state: &State,
    head: &Head,
    body: Incoming,
    declared: Option<u64>,
) -> Result<(Uuid, Webhook), (Refusal, u64)> {
    let declared_size = declared.unwrap_or(0);
    if head.method != Method::GET && head.method != Method::POST {
        let reason = format!("method {} is not allowed; use GET or POST", head.method);
        return Err((
            Refusal::new(StatusCode::METHOD_NOT_ALLOWED, Outcome::BadMethod, reason),
            declared_size,
        ));
    }
    let webhook = match &token_outside_body(&head.headers, &head.query) {
        Some(t) => Some(lookup(state, t).map_err(|r| (r, declared_size))?),
        None => None,
    };
    let limit = webhook
        .as_ref()
        .map_or(state.ctx.max_payload, |w| w.max_payload_length)
        .min(state.ctx.max_payload);
    if let Some(n) = declared
        && n > limit
    {
        return Err((too_large(n, limit, webhook.as_ref()), n));
    }
    let deadline = Instant::now() + state.limits.request_timeout;
    let bytes = body::read(body, limit, deadline)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit, seen } => (too_large(seen, limit, webhook.as_ref()), seen),
            BodyError::Timeout => (
                Refusal::new(StatusCode::REQUEST_TIMEOUT, Outcome::Timeout, e.to_string())
                    .for_webhook(webhook.as_ref()),
                declared_size,
            ),
            BodyError::Read(_) => (
                Refusal::new(StatusCode::BAD_REQUEST, Outcome::BadBody, e.to_string())
                    .for_webhook(webhook.as_ref()),
                declared_size,
            ),
        })?;
    let size = bytes.len() as u64;
    let content_type = head
        .headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let parsed = tokio::time::timeout_at(deadline, parse_body(content_type.as_deref(), &bytes))
        .await
        .map_err(|_| {
            (
                Refusal::new(
                    StatusCode::REQUEST_TIMEOUT,
                    Outcome::Timeout,
                    "the request took too long",
                )
                .for_webhook(webhook.as_ref()),
                size,
            )
        })?
        .map_err(|reason| {
            (
                Refusal::new(StatusCode::BAD_REQUEST, Outcome::BadBody, reason)
                    .for_webhook(webhook.as_ref()),
                size,
            )
        })?;
    let webhook = match webhook {
        Some(w) => w,
        None => {
            let token = parsed.form.get("token").ok_or_else(|| {
                let reason = "no token: send it in the `token` header";
                (
                    Refusal::new(StatusCode::UNAUTHORIZED, Outcome::NoToken, reason),
                    size,
                )
            })?;
            let w = lookup(state, token).map_err(|r| (r, size))?;
            if size > w.max_payload_length {
                return Err((too_large(size, w.max_payload_length, Some(&w)), size));
            }
            w
        }
    };
    let mut form = parsed.form;
    form.remove("token");
    let id = Uuid::now_v7();
    let event = Event {
        id,
        event_key: webhook.event_key.clone(),
        received_at: head.received_at,
        method: head.method.to_string(),
        path: head.path.clone(),
        query: head
            .query
            .iter()
            .filter(|(k, _)| k != "token" && k != "uuid")
            .cloned()
            .collect(),
        headers: kept_headers(&head.headers),
        remote_addr: head.remote.to_string(),
        content_type,
        size,
        payload_type: webhook.payload_type,
        files: parsed.files,
        form,
        body: match webhook.payload_type {
            crate::domain::PayloadType::Ignore => Vec::new(),
            _ => bytes.to_vec(),
        },
    };
    state
        .ctx
        .writer
        .append(Record::Accepted(event), Some(webhook.uuid))
        .await
        .map_err(|e| {
            tracing::error!("cannot store an event: {e}");
            (
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Outcome::Error,
                    format!("the event could not be stored: {e}"),
                )
                .for_webhook(Some(&webhook)),
                size,
            )
        })?;
    Ok((id, webhook))
}

fn lookup(state: &State, token: &str) -> Result<Webhook, Refusal> {
    Uuid::parse_str(token.trim())
        .ok()
        .and_then(|u| state.ctx.store.webhook(&u))
        .ok_or_else(|| {
            tracing::debug!(token = %token_prefix(token), "unknown token");
            Refusal::new(
                StatusCode::NOT_FOUND,
                Outcome::UnknownToken,
                "unknown token",
            )
        })
}

fn too_large(size: u64, limit: u64, w: Option<&Webhook>) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Outcome::TooLarge,
        format!("body of {size} bytes exceeds the limit of {limit} bytes"),
    )
    .for_webhook(w)
}

/// The token from where it may come before the body, in §2's order: the `token` header, the
/// `token` query parameter, then the old `uuid` one. (A body's `token` field comes last.)
pub fn token_outside_body(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let from_query = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    headers
        .get("token")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| from_query("token"))
        .or_else(|| from_query("uuid"))
}

/// Header names lowercased; repeated headers joined with ", "; credentials dropped.
fn kept_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        if DROPPED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes());
        out.entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    out
}

/// Form fields and files from a form-encoded or multipart body; other bodies have none.
async fn parse_body(
    content_type: Option<&str>,
    bytes: &Bytes,
) -> Result<multipart::Parsed, String> {
    let Some(ct) = content_type else {
        return Ok(multipart::Parsed::default());
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            if std::str::from_utf8(bytes).is_err() {
                return Err("malformed form body: it is not UTF-8".into());
            }
            Ok(multipart::Parsed {
                files: Vec::new(),
                form: form_urlencoded::parse(bytes).into_owned().collect(),
            })
        }
        "multipart/form-data" => {
            let boundary =
                multer::parse_boundary(ct).map_err(|e| format!("malformed multipart body: {e}"))?;
            multipart::parse(bytes.clone(), &boundary)
                .await
                .map_err(|e| format!("malformed multipart body: {e}"))
        }
        _ => Ok(multipart::Parsed::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_header_wins_then_token_then_uuid() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut h = HeaderMap::new();
        let both = q(&[("uuid", "u"), ("token", "t")]);
        assert_eq!(token_outside_body(&h, &both).as_deref(), Some("t"));
        assert_eq!(
            token_outside_body(&h, &q(&[("uuid", "u")])).as_deref(),
            Some("u")
        );
        assert_eq!(token_outside_body(&h, &q(&[])), None);
        h.insert("token", "h".parse().unwrap());
        assert_eq!(token_outside_body(&h, &both).as_deref(), Some("h"));
    }
}
