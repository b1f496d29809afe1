//! The HTTP layer, built like static-web-server: a hyper service without a framework, then a
//! handler per endpoint, with bounded connections, header timeouts and graceful shutdown.

mod api;
mod body;
pub mod multipart;
pub mod receive;
pub mod reply;
mod service;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::commands::Ctx;
use crate::metrics::Metrics;

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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What every handler shares.
pub struct State {
    pub ctx: Ctx,
    pub metrics: Arc<Metrics>,
    pub admin_key: String,
    pub limits: Limits,
    /// `--read-only`: admin writes are refused (405).
    pub read_only: bool,
    /// Turns true when shutdown begins, to end open event streams.
    pub shutdown: watch::Receiver<bool>,
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
        .max_header_list_size(limits.max_header_bytes as u32);
    let graceful = GracefulShutdown::new();
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
        let mut shutdown = state.shutdown.clone();
        let state = state.clone();
        let service = service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, std::convert::Infallible>(service::handle(state, req, remote).await) }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // A shutdown does not wait for a connection that has not sent anything yet.
            let started = tokio::select! {
                sent = first_bytes(&stream, limits.header_read_timeout) => sent,
                _ = shutdown.wait_for(|down| *down) => false,
            };
            if !started {
                tracing::debug!(%remote, "connection sent nothing in time; closed");
                return;
            }
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%remote, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {:?}; closing",
            limits.shutdown_grace
        );
    }
}

/// Counts how often other tasks ran on this one-thread runtime while `f` ran: work done on
/// the runtime's own thread would leave them no turn at all.
#[cfg(test)]
pub(crate) async fn turns_of_others_during<T>(f: impl Future<Output = T>) -> (T, u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
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
