//! The HTTP layer, built like static-web-server: a hyper service without a framework, then a
//! handler per endpoint, with bounded connections, header timeouts and graceful shutdown.

mod api;
mod body;
mod forwarded;
pub mod multipart;
pub mod receive;
pub mod reply;
mod request_line;
pub mod routes;
mod service;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use body::Budget;

use crate::metrics::Metrics;
use crate::service::Service;

/// Protections against slow or greedy clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time allowed to send the request headers.
    pub header_read_timeout: Duration,
    /// Time allowed for a whole request, body and parsing included.
    pub request_timeout: Duration,
    /// Bytes of request headers (HTTP/1 read buffer, HTTP/2 header list).
    pub max_header_bytes: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// How long a connection may stay open with no request in flight, HTTP/1 and HTTP/2
    /// alike; also HTTP/2's keep-alive ping interval and the time its answer may take.
    pub idle_timeout: Duration,
    /// HTTP/2 streams one connection may have open at once.
    pub max_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(10),
            max_streams: 32,
        }
    }
}

/// What every handler shares.
pub struct State {
    pub ctx: Service,
    pub metrics: Arc<Metrics>,
    pub admin_key: String,
    pub limits: Limits,
    /// `--read-only`: admin writes are refused (405).
    pub read_only: bool,
    /// Body bytes held in memory at once, by every request together.
    pub budget: body::Budget,
    /// Turns true when shutdown begins, to end open event streams.
    pub shutdown: watch::Receiver<bool>,
    /// Serve HTTPS (`--tls-cert`, `--tls-key`) rather than plain HTTP.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// `--trusted-proxies`: peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Admin answers with bodies being built or sent.
    pub body_answers: BodyAnswers,
}

/// Admin answers that carry bodies (`event.get`, `event.list withBody=true`) are built and
/// sent four at a time, each holding its permit until its last byte is sent: one may hold
/// several MiB (a page of up to 8 MiB of bodies, base64 in JSON), and 32 in parallel took
/// the server to 618 MB.
pub struct BodyAnswers(Arc<tokio::sync::Semaphore>);

impl Default for BodyAnswers {
    fn default() -> Self {
        BodyAnswers(Arc::new(tokio::sync::Semaphore::new(4)))
    }
}

/// The other end of a connection, with its address as text, formatted once per connection
/// rather than once per call.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub addr: std::net::SocketAddr,
    pub text: Arc<str>,
}

impl Peer {
    pub fn new(addr: std::net::SocketAddr) -> Peer {
        Peer {
            addr,
            text: addr.to_string().into(),
        }
    }
}

/// Requests in flight on one connection, and since when it has had none: a connection idle
/// for `Limits::idle_timeout` is closed, whichever protocol it speaks.
struct Activity {
    in_flight: AtomicUsize,
    /// Whether any request has begun on this connection.
    started: AtomicBool,
    /// Of those, `event.listen` streams: endless, and ended at shutdown.
    streams: AtomicUsize,
    idle_since: Mutex<tokio::time::Instant>,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            streams: AtomicUsize::new(0),
            idle_since: Mutex::new(tokio::time::Instant::now()),
        })
    }

    /// Marks a request in flight until the guard drops (with its response body).
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.started.store(true, Ordering::SeqCst);
        InFlight {
            activity: self.clone(),
            stream: false,
        }
    }

    /// Whether everything in flight is an event stream.
    fn only_streams(&self) -> bool {
        let streams = self.streams.load(Ordering::SeqCst);
        streams > 0 && streams == self.in_flight.load(Ordering::SeqCst)
    }

    fn idle_since(&self) -> Option<tokio::time::Instant> {
        let since = *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        (self.in_flight.load(Ordering::SeqCst) == 0).then_some(since)
    }

    /// Resolves once the connection has had no request in flight for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let deadline = match self.idle_since() {
                Some(since) if since.elapsed() >= timeout => return,
                Some(since) => since + timeout,
                None => tokio::time::Instant::now() + timeout,
            };
            tokio::time::sleep_until(deadline).await;
        }
    }
}

struct InFlight {
    activity: Arc<Activity>,
    stream: bool,
}

impl InFlight {
    fn is_stream(&mut self) {
        self.activity.streams.fetch_add(1, Ordering::SeqCst);
        self.stream = true;
    }
}

/// Marks a response as an endless event stream (`event.listen`).
#[derive(Clone, Copy)]
pub(crate) struct EventStream;

/// How long a connection serving only event streams may take to end them at shutdown. A
/// stream whose client stopped reading never ends by itself: hyper waits to write.
const STREAM_DRAIN: Duration = Duration::from_secs(1);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.activity;
        if self.stream {
            a.streams.fetch_sub(1, Ordering::SeqCst);
        }
        let mut since = a.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        if a.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            *since = tokio::time::Instant::now();
        }
    }
}

/// Waits until the client has sent enough to tell HTTP/1 from HTTP/2, at most `timeout`.
/// hyper-util's protocol detection has no timeout of its own, so without this a connection
/// that sends nothing would hold its slot for ever; hyper's header-read timeout takes over
/// from there.
async fn first_bytes(stream: &tokio::net::TcpStream, timeout: Duration) -> bool {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = [0u8; 24];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return false,
        };
        if n == buf.len() || buf[..n] != H2_PREFACE[..n] {
            return true;
        }
        // A partial HTTP/2 preface: peek returns at once, so wait a little for the rest.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Serves until `stop` resolves, then stops accepting and lets requests in flight finish.
pub async fn serve(listener: TcpListener, state: Arc<State>, stop: impl Future<Output = ()>) {
    let limits = state.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_concurrent_streams(limits.max_streams)
        .keep_alive_interval(limits.idle_timeout)
        .keep_alive_timeout(limits.idle_timeout);
    // Every connection holds a permit; shutdown is over once all are back.
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut stop = std::pin::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.as_mut() => break,
        };
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.as_mut() => break,
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let state = state.clone();
        tokio::spawn(async move {
            serve_connection(builder, stream, remote, state).await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {:?}; closing",
            limits.shutdown_grace
        );
    }
}

/// One connection, until it ends. Before HTTP starts, a plain connection must send its first
/// bytes, and a TLS one finish its handshake and begin its first request, within the header
/// timeout: a slow or silent client holds a connection slot no longer than that.
async fn serve_connection(
    builder: auto::Builder<TokioExecutor>,
    stream: tokio::net::TcpStream,
    remote: std::net::SocketAddr,
    state: Arc<State>,
) {
    let limits = state.limits;
    let mut shutdown = state.shutdown.clone();
    let deadline = tokio::time::Instant::now() + limits.header_read_timeout;
    let Some(acceptor) = state.tls.clone() else {
        // A shutdown does not wait for a connection that has not sent anything yet.
        let started = tokio::select! {
            sent = first_bytes(&stream, limits.header_read_timeout) => sent,
            _ = shutdown.wait_for(|down| *down) => false,
        };
        if !started {
            tracing::debug!(%remote, "connection sent nothing in time; closed");
            return;
        }
        return serve_http(builder, first_line(stream), remote, state, None).await;
    };
    let stream = tokio::select! {
        r = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => match r {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(%remote, "TLS handshake failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(%remote, "TLS handshake not finished in time; closed");
                return;
            }
        },
        _ = shutdown.wait_for(|down| *down) => return,
    };
    serve_http(builder, first_line(stream), remote, state, Some(deadline)).await;
}

/// The connection as hyper reads it, with its first request line made parseable.
fn first_line<S>(stream: S) -> TokioIo<request_line::FirstLine<S>> {
    TokioIo::new(request_line::FirstLine::new(stream))
}

/// HTTP/1 or HTTP/2 over one connection until it ends: closed gracefully when the server
/// shuts down or when it has been idle for `idle_timeout`, and outright when no request has
/// begun by `first_request_by`.
async fn serve_http<I>(
    builder: auto::Builder<TokioExecutor>,
    io: TokioIo<I>,
    remote: std::net::SocketAddr,
    state: Arc<State>,
    first_request_by: Option<tokio::time::Instant>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let limits = state.limits;
    let mut shutdown = state.shutdown.clone();
    let activity = Activity::new();
    let in_flight = activity.clone();
    let peer = Peer::new(remote);
    let service = service_fn(move |req| {
        let state = state.clone();
        let peer = peer.clone();
        let mut guard = in_flight.begin();
        async move {
            let reply = service::handle(state, req, peer).await;
            if reply.extensions().get::<EventStream>().is_some() {
                guard.is_stream();
            }
            // The request stays in flight as long as its response body streams.
            Ok::<_, std::convert::Infallible>(reply::holding(reply, guard))
        }
    });
    let conn = builder.serve_connection_with_upgrades(io, service);
    let mut conn = std::pin::pin!(conn);
    let (mut closing, mut shutting_down) = (false, false);
    // `select!` reads a branch's condition when it starts waiting, not while it waits: the
    // first wait began before any request, so its deadline fires whatever came since.
    let mut first_request_by = first_request_by;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, "connection ended: {e}");
                }
                return;
            }
            _ = shutdown.wait_for(|down| *down), if !shutting_down => shutting_down = true,
            _ = activity.idle_for(limits.idle_timeout), if !closing => {
                tracing::debug!(%remote, "connection idle; closing");
            }
            _ = sleep_until_some(first_request_by), if first_request_by.is_some() => {
                if !activity.started.load(Ordering::SeqCst) {
                    tracing::debug!(%remote, "no request begun in time; closed");
                    return;
                }
                first_request_by = None;
                continue;
            }
            _ = tokio::time::sleep(STREAM_DRAIN), if shutting_down => {
                if activity.only_streams() {
                    tracing::debug!(%remote, "event streams still open at shutdown; closed");
                    return;
                }
            }
        }
        if !closing {
            conn.as_mut().graceful_shutdown();
            closing = true;
        }
    }
}

/// Sleeps until `at`, or for ever when there is none.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Counts how often other tasks ran on this one-thread runtime while `f` ran: work done on
/// the runtime's own thread would leave them no turn at all.
#[cfg(test)]
pub(crate) async fn turns_of_others_during<T>(f: impl Future<Output = T>) -> (T, u64) {
    use std::sync::atomic::AtomicU64;
    let turns = Arc::new(AtomicU64::new(0));
    let counter = turns.clone();
    let other = tokio::spawn(async move {
        loop {
            counter.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
        }
    });
    let out = f.await;
    other.abort();
    (out, turns.load(Ordering::Relaxed))
}
