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
use super::body::{self, BodyError, Reserve};
use super::multipart;
use super::reply::{self, Reply};
use crate::domain::time::now_ms;
use crate::domain::webhook::token_prefix;
use crate::domain::{Event, ParsedForm, PayloadType, Record, Rejection, Webhook};
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
            // Answered at once: the record rides in the next commit.
            if !state.ctx.writer.append_nowait(record) {
                state.metrics.rejection_dropped();
            }
            let reply = match refusal.status {
                StatusCode::SERVICE_UNAVAILABLE => reply::busy(refusal.reason),
                status => reply::error(status, refusal.reason),
            };
            (reply, refusal.outcome)
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
    let outside = token_outside_body(&head.headers, &head.query).map_err(|reason| {
        (
            Refusal::new(StatusCode::BAD_REQUEST, Outcome::AmbiguousToken, reason),
            declared_size,
        )
    })?;
    let content_type = head
        .headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let webhook = match &outside {
        Some(t) => Some(lookup(state, t).map_err(|r| (r, declared_size))?),
        // Only a form or multipart body can hold the token: refuse any other unread.
        None if form_kind(content_type.as_deref()).is_none() => {
            return Err((no_token(), declared_size));
        }
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
    // Held until the call is answered: the budget counts this body as long as it lives.
    let reserve = match webhook {
        Some(_) => Reserve::Declared,
        None => Reserve::AsSent,
    };
    let (bytes, _charge) = body::read(body, limit, deadline, &state.budget, reserve)
        .await
        .map_err(|e| match e {
            BodyError::Busy => (
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Outcome::Busy,
                    e.to_string(),
                )
                .for_webhook(webhook.as_ref()),
                declared_size,
            ),
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
    // An ignore webhook keeps nothing of the body: no need to parse it.
    let parse = !webhook
        .as_ref()
        .is_some_and(|w| w.payload_type == PayloadType::Ignore);
    let ct = content_type.as_deref().filter(|_| parse);
    let parsed = tokio::time::timeout_at(deadline, parse_body(ct, &bytes))
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
    if parsed.tokens > 1 {
        let reason = "two `token` fields in the body: the token is ambiguous";
        return Err((
            Refusal::new(StatusCode::BAD_REQUEST, Outcome::AmbiguousToken, reason)
                .for_webhook(webhook.as_ref()),
            size,
        ));
    }
    let webhook = match webhook {
        Some(w) => w,
        None => {
            let token = parsed.token.as_ref().ok_or_else(|| (no_token(), size))?;
            let w = lookup(state, token).map_err(|r| (r, size))?;
            if size > w.max_payload_length {
                return Err((too_large(size, w.max_payload_length, Some(&w)), size));
            }
            w
        }
    };
    // Nothing of an ignored body is kept: only its size and content type.
    let (form, files) = match webhook.payload_type {
        PayloadType::Ignore => Default::default(),
        _ => (parsed.form, parsed.files),
    };
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
            .filter(|(k, _)| !k.eq_ignore_ascii_case("token") && !k.eq_ignore_ascii_case("uuid"))
            .cloned()
            .collect(),
        headers: kept_headers(&head.headers),
        remote_addr: head.remote.to_string(),
        content_type,
        size,
        payload_type: webhook.payload_type,
        files,
        form,
        body: match webhook.payload_type {
            PayloadType::Ignore => Vec::new(),
            // Without a copy: the parser's share of the buffer is gone by now.
            _ => Vec::from(bytes),
        },
    };
    // The stored id may differ from ours: the writer keeps ids in commit order.
    let id = state
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

fn no_token() -> Refusal {
    let reason = "no token: send it in the `token` header";
    Refusal::new(StatusCode::UNAUTHORIZED, Outcome::NoToken, reason)
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
/// `token` query parameter, then the old `uuid` one. (A body's `token` field comes last.) The
/// same name twice in one place is ambiguous: an error, never a guess.
pub fn token_outside_body(
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Option<String>, String> {
    let mut header = headers.get_all("token").iter();
    let from_header = header.next();
    if header.next().is_some() {
        return Err("two `token` headers: the token is ambiguous".into());
    }
    let from_query = |key: &str| {
        let mut given = query.iter().filter(|(k, _)| k == key);
        let first = given.next().map(|(_, v)| v.clone());
        match given.next() {
            Some(_) => Err(format!(
                "two `{key}` query parameters: the token is ambiguous"
            )),
            None => Ok(first),
        }
    };
    let (token, uuid) = (from_query("token")?, from_query("uuid")?);
    Ok(from_header
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or(token)
        .or(uuid))
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

/// The bodies that have form fields, one of which may be the token.
enum FormKind {
    Encoded,
    Multipart,
}

fn form_kind(content_type: Option<&str>) -> Option<FormKind> {
    let mime = content_type?
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => Some(FormKind::Encoded),
        "multipart/form-data" => Some(FormKind::Multipart),
        _ => None,
    }
}

/// Form fields and files from a form-encoded or multipart body; other bodies have none.
/// Parsing a large body takes CPU time, so it runs on a blocking thread, never on the async
/// workers that serve every other request.
async fn parse_body(content_type: Option<&str>, bytes: &Bytes) -> Result<ParsedForm, String> {
    let Some(kind) = form_kind(content_type) else {
        return Ok(ParsedForm::default());
    };
    let bytes = bytes.clone();
    let parse: Box<dyn FnOnce() -> Result<ParsedForm, String> + Send> = match kind {
        FormKind::Encoded => Box::new(move || multipart::parse_urlencoded(&bytes)),
        FormKind::Multipart => {
            let boundary = multer::parse_boundary(content_type.unwrap_or_default())
                .map_err(|e| format!("malformed multipart body: {e}"))?;
            // multer is async, but over a body already in memory it never waits.
            let runtime = tokio::runtime::Handle::current();
            Box::new(move || {
                runtime
                    .block_on(multipart::parse(bytes, &boundary))
                    .map_err(|e| format!("malformed multipart body: {e}"))
            })
        }
    };
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|e| format!("the body could not be parsed: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_token_header_wins_then_token_then_uuid() {
        let mut h = HeaderMap::new();
        let both = q(&[("uuid", "u"), ("token", "t")]);
        let token =
            |h: &HeaderMap, query: &[(String, String)]| token_outside_body(h, query).unwrap();
        assert_eq!(token(&h, &both).as_deref(), Some("t"));
        assert_eq!(token(&h, &q(&[("uuid", "u")])).as_deref(), Some("u"));
        assert_eq!(token(&h, &q(&[])), None);
        // Case variants are not the token (and are dropped from what is stored).
        assert_eq!(token(&h, &q(&[("TOKEN", "x"), ("Uuid", "y")])), None);
        h.insert("token", "h".parse().unwrap());
        assert_eq!(token(&h, &both).as_deref(), Some("h"));
    }

    #[test]
    fn a_name_given_twice_in_one_place_is_ambiguous() {
        let mut h = HeaderMap::new();
        for twice in [
            q(&[("token", "a"), ("token", "b")]),
            q(&[("uuid", "a"), ("uuid", "a")]),
        ] {
            assert!(token_outside_body(&h, &twice).is_err(), "{twice:?}");
        }
        assert!(token_outside_body(&h, &q(&[("token", "a"), ("uuid", "b")])).is_ok());
        h.append("token", "a".parse().unwrap());
        h.append("token", "b".parse().unwrap());
        assert!(token_outside_body(&h, &[]).is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn large_form_bodies_are_parsed_off_the_async_thread() {
        let mut multipart = String::new();
        let mut encoded = String::new();
        for i in 0..5000 {
            multipart.push_str(&format!(
                "--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nvalue {i}\r\n"
            ));
            encoded.push_str(&format!("f{i}=value+{i}&"));
        }
        multipart.push_str("--b--\r\n");
        for (ct, body) in [
            ("multipart/form-data; boundary=b", multipart),
            ("application/x-www-form-urlencoded", encoded),
        ] {
            let body = Bytes::from(body);
            let (parsed, turns) =
                crate::http::turns_of_others_during(parse_body(Some(ct), &body)).await;
            assert!(parsed.unwrap().form.len() > 100);
            assert!(turns > 0, "{ct}: parsing held the async thread");
        }
    }
}
