//! `cargo bench --bench ingest`: HTTP ingest against a ceiling, in one run.
//!
//! (a) a bare hyper 1 server that reads the body and answers 200, and (b) hooktail's real
//! receiver on a temp store (durable ack, group commit, every feature on), both driven by the
//! same HTTP/1.1 keep-alive load generator posting a 1 KiB JSON body with the token in the
//! `token` header, for a fixed time at 1, 32 and 256 connections.
//!
//! `HOOKTAIL_BENCH_SECS` sets the time per row (default 5); an argument of `1`, `32` or
//! `256` runs only that row. At 32 connections a third row runs hooktail over HTTPS (rustls,
//! a self-signed certificate, one handshake per connection) against the plain row above it.
//! `HOOKTAIL_BENCH_LISTENERS=N` keeps N `event.listen` streams open on hooktail meanwhile,
//! each read as fast as it comes.

#[path = "common/load.rs"]
mod load;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hooktail::app::Running;
use hooktail::cli::Options;
use hooktail::domain::WebhookInput;
use hooktail::http::Limits;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use load::{Load, run as load};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The ceiling: hyper reading each body and answering 200, nothing else.
fn bare(conns: usize, secs: Duration) -> Load {
    let rt = server_runtime();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        let builder = auto::Builder::new(TokioExecutor::new());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let conn = builder
                .serve_connection(
                    TokioIo::new(stream),
                    service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes().len());
                        let text = format!("{{\"status\":\"ok\",\"size\":{}}}", body.unwrap_or(0));
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(text))))
                    }),
                )
                .into_owned();
            tokio::spawn(conn);
        }
    });
    let result = load(addr, "none", conns, secs);
    rt.shutdown_background();
    result
}

/// Opens `n` event.listen streams that read and discard everything, until the runtime ends.
async fn listeners(addr: SocketAddr, key: &str, n: usize) {
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "GET /api/v3/command/event.listen HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut head = [0u8; 1024];
        let _ = s.read(&mut head).await.unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
    }
}

/// A self-signed certificate for 127.0.0.1 in `dir`, and a client that trusts it.
fn certificate(dir: &std::path::Path) -> (PathBuf, PathBuf, Arc<rustls::ClientConfig>) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.join("bench.crt"), dir.join("bench.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (cert, key, Arc::new(client))
}

/// hooktail's real receiver, over HTTPS when `tls`. Returns the load and the mean commit
/// batch during it.
fn hooktail(conns: usize, secs: Duration, tls: bool) -> (Load, f64) {
    let rt = server_runtime();
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let dir = tempfile::tempdir_in(&target).unwrap();
    let mut opts =
        Options::for_data(&dir.path().join("data"), "127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client = None;
    if tls {
        let (cert, key, config) = certificate(dir.path());
        opts.tls_cert = Some(cert);
        opts.tls_key = Some(key);
        client = Some(config);
    }
    let (running, token) = rt.block_on(async {
        let running = Running::start(&opts, Limits::default()).await.unwrap();
        let input =
            WebhookInput::parse(None, Some("webhook.bench"), None, None, 4_194_304).unwrap();
        let webhook = running.ctx.writer.put_webhook(input).await.unwrap();
        (running, webhook.uuid.to_string())
    });
    let n: usize = std::env::var("HOOKTAIL_BENCH_LISTENERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let key = std::fs::read_to_string(dir.path().join("data/admin.key")).unwrap();
    // The listeners' clients run beside the load generator, not on the server's runtime.
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    clients.block_on(listeners(running.addr, key.trim(), n));
    let (addr, metrics) = (running.addr, running.metrics.clone());
    let before = metrics.batch_totals();
    let result = load::run_with(addr, &token, conns, secs, client);
    let after = metrics.batch_totals();
    let mean = (after.1 - before.1) as f64 / (after.0 - before.0).max(1) as f64;
    clients.shutdown_background();
    rt.block_on(running.stop());
    (result, mean)
}

fn main() {
    let secs = Duration::from_secs(
        std::env::var("HOOKTAIL_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let only: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    println!(
        "# hooktail ingest benchmark: {}s per row, 1 KiB JSON, {} cores",
        secs.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| conns | server | req/s | p50 | p99 | hooktail/bare | mean batch | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for conns in [1, 32, 256] {
        if !only.is_empty() && !only.contains(&conns) {
            continue;
        }
        // `--only-bare` and `--skip-bare` run one server alone, for profiling.
        if std::env::args().any(|a| a == "--only-bare") {
            let b = bare(conns, secs);
            println!(
                "| {conns} | bare hyper | {:.0} | - | - | - | - | {} |",
                b.rps(),
                b.errors
            );
            continue;
        }
        if std::env::args().any(|a| a == "--skip-bare") {
            let (h, batch) = hooktail(conns, secs, false);
            println!(
                "| {conns} | hooktail | {:.0} | - | - | - | {batch:.1} | {} |",
                h.rps(),
                h.errors
            );
            continue;
        }
        let b = bare(conns, secs);
        let (h, batch) = hooktail(conns, secs, false);
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        println!(
            "| {conns} | bare hyper | {:.0} | {} | {} | 1.00x | - | {} |",
            b.rps(),
            ms(b.pct(0.5)),
            ms(b.pct(0.99)),
            b.errors
        );
        println!(
            "| {conns} | hooktail | {:.0} | {} | {} | {:.2}x | {:.1} | {} |",
            h.rps(),
            ms(h.pct(0.5)),
            ms(h.pct(0.99)),
            h.rps() / b.rps(),
            batch,
            h.errors
        );
        if conns == 32 {
            // HTTPS against plain hooktail: the "x" column is the ratio to the row above.
            let (t, batch) = hooktail(conns, secs, true);
            println!(
                "| {conns} | hooktail https | {:.0} | {} | {} | {:.2}x of http | {:.1} | {} |",
                t.rps(),
                ms(t.pct(0.5)),
                ms(t.pct(0.99)),
                t.rps() / h.rps(),
                batch,
                t.errors
            );
        }
    }
}
