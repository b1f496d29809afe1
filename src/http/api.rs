//! The command endpoint `/api/v3/command/NAME` and the `event.listen` stream.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tokio::time::Instant;
use uuid::Uuid;

use super::State;
use super::body::{self, BodyError, Reserve};
use super::reply::{self, Reply};
use crate::domain::{EventFilter, EventKeyPattern, Record};
use crate::service::Source;
use crate::service::command::{self, CommandName, Params};
use crate::store::{Cursor, Encoded, Listener, Next, PageQuery, Status, Store};

/// Most bytes of parameters a command call may send.
const MAX_PARAMS_BODY: u64 = 64 * 1024;
/// How often an idle event stream sends a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Bytes of ready events a stream gathers into one write.
const BATCH: usize = 64 * 1024;
/// Events read from the store per step when a listener catches up: few, since each may be
/// as large as `--max-payload`.
const CATCH_UP_PAGE: usize = 8;

/// `name` is the command, or the unknown name the path held, refused once the key is checked.
pub async fn handle(
    state: &State,
    name: Result<CommandName, &str>,
    req: Request<Incoming>,
) -> Reply {
    if req.method() != Method::GET && req.method() != Method::POST {
        return reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {} is not allowed; use GET or POST", req.method()),
        );
    }
    let auth = req.headers().get(AUTHORIZATION);
    if !bearer_matches(auth, &state.admin_key) {
        return reply::unauthorized(match auth {
            None => {
                "admin commands need `Authorization: Bearer <key>`, the key being the \
                 server's admin.key in its data directory"
            }
            Some(_) => {
                "the admin key does not match this server's: send `Authorization: Bearer \
                 <key>` with the admin.key in its data directory"
            }
        });
    }
    if let Ok(name) = name
        && state.read_only
        && name.is_write()
    {
        return reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{} is refused: this server runs with --read-only",
                name.name()
            ),
        );
    }
    let source = Source::from_header(
        req.headers()
            .get(Source::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let params = match params(state, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let permit = match name {
        Ok(name) if carries_bodies(name, &params) => {
            state.body_answers.0.clone().acquire_owned().await.ok()
        }
        _ => None,
    };
    let result = match name {
        Ok(name) if name.streams() => return listen(state, &params),
        Ok(name) => command::run(&state.ctx, name, &params, source).await,
        Err(unknown) => Err(command::unknown(unknown)),
    };
    let reply = match result {
        Ok(v) => reply::json(StatusCode::OK, &v),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            reply::error(status, e.to_string())
        }
    };
    match permit {
        Some(permit) => reply::holding(reply, permit),
        None => reply,
    }
}

/// `event.get`, and `event.list` with `withBody=true`.
fn carries_bodies(name: CommandName, params: &Params) -> bool {
    name == CommandName::EventGet
        || (name == CommandName::EventList && params.get("withBody").is_some_and(|v| v == "true"))
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
    let (bytes, _charge) = body::read(
        req.into_body(),
        MAX_PARAMS_BODY,
        deadline,
        &state.budget,
        Reserve::Declared,
    )
    .await
    .map_err(|e| match e {
        BodyError::Busy => reply::busy(e.to_string()),
        BodyError::TooLarge { .. } => reply::error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
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
        // A pipeline document (pipeline.put), sent as it is.
        Some("application/yaml" | "application/x-yaml" | "text/yaml" | "text/plain") => {
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| reply::error(StatusCode::BAD_REQUEST, "the YAML body is not UTF-8"))?;
            out.insert("yaml".into(), text);
        }
        _ => {
            return Err(reply::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send parameters as application/json or application/x-www-form-urlencoded, \
                 or a pipeline as application/yaml",
            ));
        }
    }
    Ok(out)
}

/// Server-sent events of accepted events as they are committed. Each event comes encoded
/// once from the writer; a listener that fell behind catches up from the store.
fn listen(state: &State, params: &Params) -> Reply {
    let pattern = match params
        .get("eventKey")
        .map(|p| EventKeyPattern::parse(p))
        .transpose()
    {
        Ok(p) => p,
        Err(e) => return reply::error(StatusCode::BAD_REQUEST, e),
    };
    let start = Listen {
        listener: state.ctx.writer.listen(pattern.clone()),
        store: state.ctx.store.clone(),
        pattern,
        shutdown: state.shutdown.clone(),
        last: Uuid::now_v7(),
        caught_up_to: None,
        catching_up: false,
        out: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(start, |mut s| async move {
        let frame = s.next_frame().await?;
        Some((Ok::<_, Infallible>(Frame::data(frame)), s))
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
    r.extensions_mut().insert(super::EventStream);
    r
}

/// One `event.listen` stream.
struct Listen {
    listener: Listener,
    store: Arc<Store>,
    pattern: Option<EventKeyPattern>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// The last event sent, or when the stream began: a catch-up reads from there.
    last: Uuid,
    /// The last event a catch-up sent; the live queue may hold it again.
    caught_up_to: Option<Uuid>,
    catching_up: bool,
    /// Pieces of text ready to send.
    out: VecDeque<Bytes>,
}

impl Listen {
    /// The next piece of the stream; `None` ends it. Events that are ready together go out
    /// as one piece: one write for many, rather than one each.
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if !self.out.is_empty() {
                return Some(self.take_out());
            }
            if self.catching_up {
                self.catch_up().await?;
                continue;
            }
            let next = tokio::select! {
                n = self.listener.next() => n,
                _ = self.shutdown.wait_for(|down| *down) => return None,
                _ = tokio::time::sleep(KEEP_ALIVE) => {
                    return Some(Bytes::from_static(b": keep-alive\n\n"));
                }
            };
            self.take(next)?;
            while !self.catching_up
                && self.out.iter().map(Bytes::len).sum::<usize>() < BATCH
                && let Some(next) = self.listener.try_next()
            {
                self.take(next)?;
            }
        }
    }

    /// Queues what the listener gave; `None` when it closed.
    fn take(&mut self, next: Next) -> Option<()> {
        match next {
            Next::Event(e) => {
                if self.caught_up_to.is_none_or(|c| e.id > c) {
                    self.send(&e);
                }
            }
            Next::Lagged(n) => {
                self.out
                    .push_back(Bytes::from(format!(": lagged, {n} events skipped\n\n")));
                self.catching_up = true;
            }
            Next::Closed => return None,
        }
        Some(())
    }

    /// What is queued, small pieces gathered into one of up to `BATCH` bytes (copied: far
    /// cheaper than a write each); a large piece goes alone, as it is.
    fn take_out(&mut self) -> Bytes {
        let (mut count, mut total) = (0, 0);
        for piece in &self.out {
            if count > 0 && total + piece.len() > BATCH {
                break;
            }
            count += 1;
            total += piece.len();
        }
        if count == 1 {
            return self.out.pop_front().unwrap_or_default();
        }
        let mut all = BytesMut::with_capacity(total);
        for piece in self.out.drain(..count) {
            all.extend_from_slice(&piece);
        }
        all.freeze()
    }

    /// Queues one page of what the store holds after `last`; `None` when the store fails.
    async fn catch_up(&mut self) -> Option<()> {
        let query = PageQuery {
            cursor: Cursor::After(self.last),
            filter: EventFilter::new(Some(Status::Accepted), self.pattern.clone()),
            limit: CATCH_UP_PAGE,
            with_body: true,
        };
        let store = self.store.clone();
        let page = match tokio::task::spawn_blocking(move || store.page(&query)).await {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => {
                tracing::warn!("event.listen cannot catch up from the store: {e}");
                return None;
            }
            Err(_) => return None,
        };
        self.catching_up = page.len() == CATCH_UP_PAGE;
        for record in page {
            if let Record::Accepted(e) = record {
                self.send(&Encoded::of(&e));
                self.caught_up_to = Some(e.id);
            }
        }
        Some(())
    }

    /// Queues one event as `id:`, `event:` and `data:` lines; the JSON is shared, not copied.
    fn send(&mut self, e: &Encoded) {
        self.out.push_back(Bytes::from(format!(
            "id: {}\nevent: {}\ndata: ",
            e.id, e.event_key
        )));
        self.out.push_back(e.json.clone());
        self.out.push_back(Bytes::from_static(b"\n\n"));
        self.last = e.id;
    }
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
