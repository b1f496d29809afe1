//! The command endpoint `/api/v3/command/NAME` and the `event.listen` stream.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::State;
use super::body::{self, BodyError};
use super::reply::{self, Reply};
use crate::commands::{self, Params};
use crate::domain::EventKeyPattern;

/// Most bytes of parameters a command call may send.
const MAX_PARAMS_BODY: u64 = 64 * 1024;
/// How often an idle event stream sends a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub async fn handle(state: &State, name: &str, req: Request<Incoming>) -> Reply {
    if req.method() != Method::GET && req.method() != Method::POST {
        return reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} is not allowed; use GET or POST", req.method()),
        );
    }
    if !bearer_matches(req.headers().get(AUTHORIZATION), &state.admin_key) {
        return reply::unauthorized("admin commands need `Authorization: Bearer <admin.key>`");
    }
    if state.read_only && commands::WRITES.contains(&name) {
        return reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{name} is refused: this server runs with --read-only"),
        );
    }
    let params = match params(state, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if name == "event.listen" {
        return listen(state, &params);
    }
    match commands::run(&state.ctx, name, &params).await {
        Ok(v) => reply::json(StatusCode::OK, &v),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            reply::error(status, e.to_string())
        }
    }
}

/// Whether an `Authorization` header carries the admin key. The scheme is matched in any case
/// (`Bearer`, `bearer`), and an empty credential never matches, whatever the key.
fn bearer_matches(header: Option<&HeaderValue>, key: &str) -> bool {
    let Some((scheme, given)) = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
    else {
        return false;
    };
    let given = given.trim();
    scheme.eq_ignore_ascii_case("bearer")
        && !given.is_empty()
        && !key.is_empty()
        && constant_time_eq(given.as_bytes(), key.as_bytes())
}

/// Compares without stopping at the first difference, so timing does not leak the key.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Parameters from the query string, then a form or JSON object body (the body wins).
async fn params(state: &State, req: Request<Incoming>) -> Result<Params, Reply> {
    let mut out: Params = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let deadline = Instant::now() + state.limits.request_timeout;
    let bytes = body::read(req.into_body(), MAX_PARAMS_BODY, deadline)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { .. } => {
                reply::error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
            BodyError::Timeout => reply::error(StatusCode::REQUEST_TIMEOUT, e.to_string()),
            BodyError::Read(_) => reply::error(StatusCode::BAD_REQUEST, e.to_string()),
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    match content_type.as_deref() {
        Some("application/json") => {
            let obj: BTreeMap<String, serde_json::Value> =
                serde_json::from_slice(&bytes).map_err(|e| {
                    reply::error(
                        StatusCode::BAD_REQUEST,
                        format!("the body must be a JSON object: {e}"),
                    )
                })?;
            for (k, v) in obj {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => continue,
                    other => other.to_string(),
                };
                out.insert(k, v);
            }
        }
        Some("application/x-www-form-urlencoded") => {
            out.extend(form_urlencoded::parse(&bytes).into_owned());
        }
        _ => {
            return Err(reply::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send parameters as application/json or application/x-www-form-urlencoded",
            ));
        }
    }
    Ok(out)
}

/// Server-sent events of accepted events as they are committed.
fn listen(state: &State, params: &Params) -> Reply {
    let pattern = match params
        .get("eventKey")
        .map(|p| EventKeyPattern::parse(p))
        .transpose()
    {
        Ok(p) => p,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    struct Listen {
        rx: tokio::sync::broadcast::Receiver<std::sync::Arc<crate::domain::Record>>,
        shutdown: tokio::sync::watch::Receiver<bool>,
        pattern: Option<EventKeyPattern>,
    }
    let start = Listen {
        rx: state.ctx.writer.subscribe(),
        shutdown: state.shutdown.clone(),
        pattern,
    };
    let stream = futures_util::stream::unfold(start, |mut s| async move {
        loop {
            let next = tokio::select! {
                r = s.rx.recv() => Some(r),
                _ = s.shutdown.wait_for(|down| *down) => return None,
                _ = tokio::time::sleep(KEEP_ALIVE) => None,
            };
            let Some(next) = next else {
                let ping = Frame::data(Bytes::from_static(b": keep-alive\n\n"));
                return Some((Ok::<_, Infallible>(ping), s));
            };
            let text = match next {
                Ok(record) => {
                    let crate::domain::Record::Accepted(event) = record.as_ref() else {
                        continue;
                    };
                    if s.pattern
                        .as_ref()
                        .is_some_and(|p| !p.matches(&event.event_key))
                    {
                        continue;
                    }
                    format!(
                        "id: {}\nevent: {}\ndata: {}\n\n",
                        event.id,
                        event.event_key,
                        event.to_json(true)
                    )
                }
                Err(RecvError::Lagged(n)) => format!(": lagged, {n} events skipped\n\n"),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(Frame::data(Bytes::from(text))), s));
        }
    });
    let mut r = reply::with_type(
        StatusCode::OK,
        "text/event-stream",
        StreamBody::new(stream).boxed_unsync(),
    );
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_credentials() {
        let key = "k".repeat(32);
        let h = |v: &str| HeaderValue::from_str(v).unwrap();
        for ok in [
            format!("Bearer {key}"),
            format!("bearer {key}"),
            format!("BEARER  {key} "),
        ] {
            assert!(bearer_matches(Some(&h(&ok)), &key), "{ok:?}");
        }
        for bad in [
            format!("Basic {key}"),
            format!("Bearer{key}"),
            key.clone(),
            "Bearer x".into(),
        ] {
            assert!(!bearer_matches(Some(&h(&bad)), &key), "{bad:?}");
        }
        assert!(!bearer_matches(None, &key));
        // An empty credential never matches, not even an empty key.
        for empty in ["Bearer ", "Bearer", "bearer   "] {
            assert!(!bearer_matches(Some(&h(empty)), ""), "{empty:?}");
        }
    }
}
