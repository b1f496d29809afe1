//! Response building: JSON results and `{"status":"error","message":…}` errors.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};

pub type Body = UnsyncBoxBody<Bytes, Infallible>;
pub type Reply = Response<Body>;

pub fn full(b: impl Into<Bytes>) -> Body {
    Slices(b.into()).boxed_unsync()
}

/// Most bytes of a body handed to the connection at once.
const SLICE: usize = 64 * 1024;

/// A whole body handed to the connection in slices, as it takes them: whatever its reply
/// holds (see [`holding`]) is held until the last slice is taken, which waits until the
/// client has read most of the ones before. Handed whole, a large answer to a client that
/// does not read released its permit at once.
struct Slices(Bytes);

impl hyper::body::Body for Slices {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        let rest = &mut self.get_mut().0;
        if rest.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let slice = rest.split_to(rest.len().min(SLICE));
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(slice))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.0.len() as u64)
    }
}

/// A JSON answer, ending with a newline so that answers printed in a row (curl in a
/// shell) stay on lines of their own.
pub fn json(status: StatusCode, v: &Value) -> Reply {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    with_type(status, "application/json", full(body))
}

/// `reply`, keeping `held` (a permit) until its body is sent or dropped.
pub fn holding<T: Send + Unpin + 'static>(reply: Reply, held: T) -> Reply {
    reply.map(|body| Holding { body, _held: held }.boxed_unsync())
}

struct Holding<T> {
    body: Body,
    _held: T,
}

impl<T: Unpin> hyper::body::Body for Holding<T> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

pub fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    json(
        status,
        &json!({"status": "error", "message": message.into()}),
    )
}

/// A 401 of the admin API, with the challenge RFC 9110 asks for.
pub fn unauthorized(message: impl Into<String>) -> Reply {
    let mut r = error(StatusCode::UNAUTHORIZED, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

/// A 503 that tells the caller when to try again.
pub fn busy(message: impl Into<String>) -> Reply {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    r
}

pub fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    with_type(status, content_type, full(body))
}

pub fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Reply {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}
