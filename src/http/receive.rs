//! `webhook.receive`: find the token, check limits, read and parse the body, store the event
//! durably, and only then answer 200.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tokio::time::Instant;
use uuid::Uuid;

use super::body::{self, BodyError, Reserve};
use super::forwarded;
use super::multipart;
use super::reply::{self, Reply};
use super::{Peer, State};
use crate::domain::handshake::{CustomResponse, Handshake, HandshakeAnswer};
use crate::domain::time::now_ms;
use crate::domain::webhook::{allowed, token_prefix};
use crate::domain::{Event, ParsedForm, PayloadType, Record, Rejection, Verified, Webhook};
use crate::metrics::Outcome;
use crate::store::Stored;

/// Headers never stored with an event: they carry the token or credentials.
const DROPPED_HEADERS: [&str; 4] = ["token", "authorization", "cookie", "proxy-authorization"];

/// A refusal on its way to becoming a rejection record and an error answer.
struct Refusal {
    status: StatusCode,
    outcome: Outcome,
    reason: String,
    /// What the caller is told, when it must learn less than the stored reason.
    message: Option<&'static str>,
}

impl Refusal {
    fn new(status: StatusCode, outcome: Outcome, reason: impl Into<String>) -> Self {
        Self {
            status,
            outcome,
            reason: reason.into(),
            message: None,
        }
    }
}

/// What a call that passed every step gets.
enum Passed {
    Stored(Stored),
    /// A provider's handshake: answered with this text; nothing is stored.
    Handshake(String),
}

/// What the request line and headers tell before the body is read.
struct Head {
    method: Method,
    /// Kept as hyper parsed it: only a stored event copies its path.
    uri: hyper::Uri,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    remote: Peer,
    received_at: i64,
}

/// One call on its way through the steps of `accept`: what is known so far. A refusal is
/// recorded with the webhook and the body size known when it happened.
struct Call<'a> {
    state: &'a State,
    head: Head,
    content_type: Option<String>,
    /// The `Content-Length`, if any.
    declared: Option<u64>,
    /// Bytes of body seen: the declared length until the body is read.
    size: u64,
    /// Found by the token outside the body, or once the body is parsed.
    webhook: Option<Arc<Webhook>>,
    /// The most this call may send.
    limit: u64,
}

pub(crate) async fn handle(
    state: &State,
    req: Request<Incoming>,
    remote: Peer,
) -> (Reply, Outcome) {
    let (parts, body) = req.into_parts();
    let query = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let head = Head {
        method: parts.method,
        uri: parts.uri,
        query,
        headers: parts.headers,
        remote,
        received_at: now_ms(),
    };
    let declared = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let content_type = head.headers.get(CONTENT_TYPE).map(|v| text(v).into_owned());
    let mut call = Call {
        state,
        head,
        content_type,
        declared,
        size: declared.unwrap_or(0),
        webhook: None,
        limit: state.ctx.max_payload,
    };
    match accept(&mut call, body).await {
        Ok(Passed::Stored(stored)) => {
            if let Some(w) = &call.webhook {
                let dup = stored.duplicate;
                tracing::debug!(event_key = %w.event_key, id = %stored.id, dup, "event stored");
            }
            let outcome = match stored.duplicate {
                true => Outcome::Duplicate,
                false => Outcome::Accepted,
            };
            let custom = call.webhook.as_ref().and_then(|w| w.response.as_ref());
            (success(stored, custom), outcome)
        }
        Ok(Passed::Handshake(challenge)) => {
            let mut r = reply::text(StatusCode::OK, "text/plain; charset=utf-8", challenge);
            r.headers_mut().insert(
                "x-content-type-options",
                hyper::header::HeaderValue::from_static("nosniff"),
            );
            (r, Outcome::Handshake)
        }
        Err(refusal) => refuse(call, refusal),
    }
}

/// The answer once the event is on disk: the JSON of §2, or the webhook's own response
/// with the correlation id in `X-Correlation-Id`. A duplicate names the event stored first.
fn success(stored: Stored, custom: Option<&CustomResponse>) -> Reply {
    let Some(c) = custom else {
        return reply::with_type(
            StatusCode::OK,
            "application/json",
            reply::full(ok_answer(stored)),
        );
    };
    let mut r = hyper::Response::new(reply::full(c.body.clone()));
    *r.status_mut() = StatusCode::from_u16(c.status).unwrap_or(StatusCode::OK);
    let headers = r.headers_mut();
    // Validated at webhook.put as printable ASCII.
    if let Ok(ct) = HeaderValue::from_str(&c.content_type) {
        headers.insert(CONTENT_TYPE, ct);
    }
    if let Ok(id) = HeaderValue::from_str(&stored.id.to_string()) {
        headers.insert("x-correlation-id", id);
    }
    if stored.duplicate {
        headers.insert("x-duplicate", HeaderValue::from_static("true"));
    }
    r
}

/// `{"status":"ok","correlationId":"…"}` (with `"duplicate":true` for a duplicate) and a
/// newline, as `reply::json` writes it, without building a JSON value on every call.
fn ok_answer(stored: Stored) -> Vec<u8> {
    let mut id = uuid::Uuid::encode_buffer();
    let id = stored.id.hyphenated().encode_lower(&mut id);
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(br#"{"status":"ok","correlationId":""#);
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(match stored.duplicate {
        true => br#"","duplicate":true}"#.as_slice(),
        false => br#""}"#.as_slice(),
    });
    out.push(b'\n');
    out
}

/// Records a refused call (without waiting for the commit) and answers it.
fn refuse(call: Call<'_>, refusal: Refusal) -> (Reply, Outcome) {
    let Call {
        state,
        head,
        size,
        webhook,
        ..
    } = call;
    // Debug, not info: refusals are stored anyway, and a flood must not flood the log.
    tracing::debug!(
        status = refusal.status.as_u16(),
        reason = %refusal.reason,
        remote = %head.remote.text,
        "webhook call refused"
    );
    let record = Record::Rejected(Rejection {
        id: Uuid::now_v7(),
        reason: refusal.reason.clone(),
        http_status: refusal.status.as_u16(),
        received_at: head.received_at,
        method: head.method.as_str().to_owned(),
        remote_addr: head.remote.text.to_string(),
        size,
        event_key: webhook.map(|w| w.event_key.clone()),
        duplicate: None,
    });
    // Answered at once: the record rides in the next commit.
    if !state.ctx.writer.append_nowait(record) {
        state.metrics.rejection_dropped();
    }
    let message = refusal.message.map_or(refusal.reason, str::to_string);
    let reply = match refusal.status {
        StatusCode::SERVICE_UNAVAILABLE => reply::busy(message),
        status => reply::error(status, message),
    };
    (reply, refusal.outcome)
}

/// Everything up to the durable commit, as a chain of steps that each may refuse.
async fn accept(call: &mut Call<'_>, body: Incoming) -> Result<Passed, Refusal> {
    check_method(call)?;
    find_token_outside_body(call)?;
    let known_early = call.webhook.is_some();
    check_source(call)?;
    check_declared_length(call)?;
    let deadline = Instant::now() + call.state.limits.request_timeout;
    // Held until the call is answered: the budget counts this body as long as it lives.
    let (bytes, _charge) = read_body(call, body, deadline).await?;
    let parsed = parse(call, &bytes, deadline).await?;
    find_token_in_body(call, &parsed)?;
    if !known_early {
        check_source(call)?;
    }
    if let Some(challenge) = handshake(call, &bytes)? {
        return Ok(Passed::Handshake(challenge));
    }
    let verified = verify(call, &bytes)?;
    // Duplicates are found by the writer, in the event's own commit.
    store(call, parsed, bytes, verified)
        .await
        .map(Passed::Stored)
}

/// A provider's handshake (§7), answered without storing anything. Slack signs its
/// handshake, so a Slack one is verified first when the webhook verifies.
fn handshake(call: &Call<'_>, bytes: &Bytes) -> Result<Option<String>, Refusal> {
    let Some(h) = call.webhook.as_ref().and_then(|w| w.handshake.as_ref()) else {
        return Ok(None);
    };
    match h.answer(&call.head.query, bytes) {
        None => Ok(None),
        Some(HandshakeAnswer::Echo(challenge)) => {
            if matches!(h, Handshake::Slack) {
                verify(call, bytes)?;
            }
            Ok(Some(challenge))
        }
        Some(HandshakeAnswer::Refused(reason)) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            Outcome::Unverified,
            reason,
        )),
    }
}

/// The headers the schemes read, parsed once: a lookup by `&str` parses the name every
/// time, a sixth of a check's work besides its HMAC. Any other name is looked up as it is.
static SCHEME_HEADERS: [HeaderName; 13] = [
    HeaderName::from_static("webhook-id"),
    HeaderName::from_static("webhook-timestamp"),
    HeaderName::from_static("webhook-signature"),
    HeaderName::from_static("svix-id"),
    HeaderName::from_static("svix-timestamp"),
    HeaderName::from_static("svix-signature"),
    HeaderName::from_static("x-hub-signature-256"),
    HeaderName::from_static("x-github-delivery"),
    HeaderName::from_static("stripe-signature"),
    HeaderName::from_static("x-slack-signature"),
    HeaderName::from_static("x-slack-request-timestamp"),
    HeaderName::from_static("x-shopify-hmac-sha256"),
    HeaderName::from_static("x-shopify-webhook-id"),
];

/// Checks the sender's signature over the exact body bytes (§7). The caller learns only
/// that it failed; the rejection record says exactly why.
fn verify(call: &Call<'_>, bytes: &Bytes) -> Result<Option<Verified>, Refusal> {
    let Some(v) = call.webhook.as_ref().and_then(|w| w.verify.as_ref()) else {
        return Ok(None);
    };
    let headers = &call.head.headers;
    let header = |name: &str| {
        let value = match SCHEME_HEADERS.iter().find(|h| h.as_str() == name) {
            Some(h) => headers.get(h),
            None => headers.get(name),
        };
        value.map(HeaderValue::as_bytes)
    };
    match v.check(header, bytes, call.head.received_at.div_euclid(1000)) {
        Ok(checked) => Ok(Some(Verified {
            scheme: v.scheme,
            delivery_id: checked.delivery_id,
            by_previous_secret: checked.by_previous,
        })),
        Err(failure) => Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            outcome: Outcome::Unverified,
            reason: format!("signature verification failed: {failure}"),
            message: Some("signature verification failed"),
        }),
    }
}

fn check_method(call: &Call<'_>) -> Result<(), Refusal> {
    let method = &call.head.method;
    if method != Method::GET && method != Method::POST {
        let reason = format!("method {method} is not allowed; use GET or POST");
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Outcome::BadMethod,
            reason,
        ));
    }
    Ok(())
}

/// The webhook of a token in the headers or query; without one, only a form body may still
/// hold it: any other body is refused unread.
fn find_token_outside_body(call: &mut Call<'_>) -> Result<(), Refusal> {
    let outside = token_outside_body(&call.head.headers, &call.head.query)
        .map_err(|reason| Refusal::new(StatusCode::BAD_REQUEST, Outcome::AmbiguousToken, reason))?;
    match outside {
        Some(t) => call.webhook = Some(lookup(call.state, &t)?),
        None if form_kind(call.content_type.as_deref()).is_none() => return Err(no_token()),
        None => {}
    }
    Ok(())
}

/// `allowFrom`: the caller's address must be in one of the webhook's networks. Checked as
/// soon as the webhook is known, before its body is read when the token is outside it.
fn check_source(call: &Call<'_>) -> Result<(), Refusal> {
    let Some(webhook) = call.webhook.as_ref().filter(|w| !w.allow_from.is_empty()) else {
        return Ok(());
    };
    let head = &call.head;
    let forbidden = |reason: String| Refusal {
        message: Some("this address may not call this webhook"),
        ..Refusal::new(StatusCode::FORBIDDEN, Outcome::Forbidden, reason)
    };
    let client = forwarded::client(head.remote.addr, &head.headers, &call.state.trusted_proxies)
        .map_err(|e| forbidden(format!("the caller's address is unknown: {e}")))?;
    if allowed(&webhook.allow_from, client.ip) {
        return Ok(());
    }
    Err(forbidden(format!("{client} is not in allowFrom")))
}

/// The limit is the webhook's, never above the server's; a declared length above it is
/// refused before the body is read.
fn check_declared_length(call: &mut Call<'_>) -> Result<(), Refusal> {
    let max = call.state.ctx.max_payload;
    call.limit = call
        .webhook
        .as_ref()
        .map_or(max, |w| w.max_payload_length)
        .min(max);
    match call.declared {
        Some(n) if n > call.limit => Err(too_large(n, call.limit)),
        _ => Ok(()),
    }
}

async fn read_body(
    call: &mut Call<'_>,
    body: Incoming,
    deadline: Instant,
) -> Result<(Bytes, body::Charge), Refusal> {
    let state = call.state;
    // A known caller is charged its declared length at once; an anonymous one (its token may
    // be in the form) only for what it sends.
    let reserve = match call.webhook {
        Some(_) => Reserve::Declared,
        None => Reserve::AsSent,
    };
    let read = body::read(body, call.limit, deadline, &state.budget, reserve).await;
    let (bytes, charge) = read.map_err(|e| match e {
        BodyError::Busy => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Outcome::Busy,
            e.to_string(),
        ),
        BodyError::TooLarge { limit, seen } => {
            call.size = seen;
            too_large(seen, limit)
        }
        BodyError::Timeout => {
            Refusal::new(StatusCode::REQUEST_TIMEOUT, Outcome::Timeout, e.to_string())
        }
        BodyError::Read(_) => {
            Refusal::new(StatusCode::BAD_REQUEST, Outcome::BadBody, e.to_string())
        }
    })?;
    call.size = bytes.len() as u64;
    Ok((bytes, charge))
}

/// The form fields and files, and any `token` fields, of the body.
async fn parse(call: &Call<'_>, bytes: &Bytes, deadline: Instant) -> Result<ParsedForm, Refusal> {
    // An ignore webhook keeps nothing of the body: no need to parse it.
    let parse = !call
        .webhook
        .as_ref()
        .is_some_and(|w| w.payload_type == PayloadType::Ignore);
    let ct = call.content_type.as_deref().filter(|_| parse);
    let parsed = tokio::time::timeout_at(deadline, parse_body(ct, bytes))
        .await
        .map_err(|_| {
            Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                Outcome::Timeout,
                "the request took too long",
            )
        })?
        .map_err(|reason| Refusal::new(StatusCode::BAD_REQUEST, Outcome::BadBody, reason))?;
    if parsed.tokens > 1 {
        let reason = "two `token` fields in the body: the token is ambiguous";
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            Outcome::AmbiguousToken,
            reason,
        ));
    }
    Ok(parsed)
}

/// The webhook, found by now or by the body's `token` field, whose limit the body must meet.
fn find_token_in_body(call: &mut Call<'_>, parsed: &ParsedForm) -> Result<(), Refusal> {
    if call.webhook.is_some() {
        return Ok(());
    }
    let token = parsed.token.as_ref().ok_or_else(no_token)?;
    let w = lookup(call.state, token)?;
    let max = w.max_payload_length;
    call.webhook = Some(w);
    if call.size > max {
        return Err(too_large(call.size, max));
    }
    Ok(())
}

/// Stores the event durably; its id is the one the writer gave it, or, for a delivery id
/// already stored, the first event's.
async fn store(
    call: &Call<'_>,
    parsed: ParsedForm,
    bytes: Bytes,
    verified: Option<Verified>,
) -> Result<Stored, Refusal> {
    // Every earlier step either found the webhook or refused.
    let Some(webhook) = &call.webhook else {
        return Err(no_token());
    };
    let head = &call.head;
    let delivery = verified.as_ref().and_then(|v| v.delivery_id.clone());
    // Nothing of an ignored body is kept: only its size and content type.
    let (form, files) = match webhook.payload_type {
        PayloadType::Ignore => Default::default(),
        _ => (parsed.form, parsed.files),
    };
    let event = Event {
        id: Uuid::now_v7(),
        event_key: webhook.event_key.clone(),
        received_at: head.received_at,
        method: head.method.as_str().to_owned(),
        path: head.uri.path().to_string(),
        query: head
            .query
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("token") && !k.eq_ignore_ascii_case("uuid"))
            .cloned()
            .collect(),
        headers: kept_headers(&head.headers),
        remote_addr: head.remote.text.to_string(),
        content_type: call.content_type.clone(),
        size: call.size,
        payload_type: webhook.payload_type,
        files,
        form,
        verified,
        body: match webhook.payload_type {
            PayloadType::Ignore => Vec::new(),
            // Without a copy: the parser's share of the buffer is gone by now.
            _ => Vec::from(bytes),
        },
    };
    // The stored id may differ from ours: the writer keeps ids in commit order.
    call.state
        .ctx
        .writer
        .append_once(Record::Accepted(event), Some(webhook.uuid), delivery)
        .await
        .map_err(|e| {
            tracing::error!("cannot store an event: {e}");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Outcome::Error,
                format!("the event could not be stored: {e}"),
            )
        })
}

fn lookup(state: &State, token: &str) -> Result<Arc<Webhook>, Refusal> {
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

fn too_large(size: u64, limit: u64) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Outcome::TooLarge,
        format!("body of {size} bytes exceeds the limit of {limit} bytes"),
    )
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
        let value = text(value);
        out.entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    out
}

/// A header's value as text: borrowed when it is UTF-8 (nearly always), else with
/// replacement characters.
fn text(value: &HeaderValue) -> Cow<'_, str> {
    match std::str::from_utf8(value.as_bytes()) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// The bodies that have form fields, one of which may be the token.
enum FormKind {
    Encoded,
    Multipart,
}

fn form_kind(content_type: Option<&str>) -> Option<FormKind> {
    let mime = content_type?.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(FormKind::Encoded)
    } else if mime.eq_ignore_ascii_case("multipart/form-data") {
        Some(FormKind::Multipart)
    } else {
        None
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
    fn the_ok_answer_is_the_json_of_section_2() {
        for duplicate in [false, true] {
            let stored = Stored {
                id: Uuid::now_v7(),
                duplicate,
            };
            let mut want = serde_json::json!({"status": "ok", "correlationId": stored.id});
            if duplicate {
                want["duplicate"] = true.into();
            }
            let mut want = serde_json::to_vec(&want).unwrap();
            want.push(b'\n');
            assert_eq!(ok_answer(stored), want, "duplicate: {duplicate}");
        }
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
