//! `cargo bench --bench ingest`: HTTP ingest against a ceiling, in one run.
//!
//! (a) a bare hyper 1 server that reads the body and answers 200, and (b) hooktail's real
//! receiver on a temp store (durable ack, group commit, every feature on), both driven by the
//! same HTTP/1.1 keep-alive load generator posting a 1 KiB JSON body with the token in the
//! `token` header, for a fixed time at 1, 32 and 256 connections.
//!
//! At 32 connections a third row runs hooktail with `standard` verification on, each request
//! signed by the client with its own `webhook-id`, and gives its ratio to plain hooktail.
//!
//! `HOOKTAIL_BENCH_SECS` sets the time per row (default 5); an argument of `1`, `32` or
//! `256` runs only that row. `HOOKTAIL_BENCH_LISTENERS=N` keeps N `event.listen` streams open
//! on hooktail meanwhile, each read as fast as it comes.

#[path = "common/load.rs"]
mod load;

use std::convert::Infallible;
use std::net::SocketAddr;
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

/// The Standard Webhooks secret of the verified rows.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// hooktail's real receiver. Returns the load and the mean commit batch during it. With
/// `verified`, the webhook checks `standard` signatures, and each request is signed.
fn hooktail(conns: usize, secs: Duration, verified: bool) -> (Load, f64) {
    let rt = server_runtime();
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let dir = tempfile::tempdir_in(&target).unwrap();
    let opts = Options::for_data(&dir.path().join("data"), "127.0.0.1:0".parse().unwrap()).unwrap();
    let (running, token) = rt.block_on(async {
        let running = Running::start(&opts, Limits::default()).await.unwrap();
        let mut params = std::collections::BTreeMap::new();
        if verified {
            params.insert("verify.scheme".to_string(), "standard".to_string());
            params.insert("verify.secret".to_string(), STANDARD_SECRET.to_string());
        }
        let input = WebhookInput::parse(None, Some("webhook.bench"), None, None, 4_194_304)
            .and_then(|i| i.with_sender(&params))
            .unwrap();
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
    let result = if verified {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD
            .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
            .unwrap();
        load::run_with(addr, conns, secs, load::standard_signed(&token, key))
    } else {
        load(addr, &token, conns, secs)
    };
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
        // At 32 connections, the same with `standard` verification on; its ratio is to the
        // unverified hooktail row of this run (the target is 0.9x or more).
        if conns == 32 {
            let (v, batch) = hooktail(conns, secs, true);
            println!(
                "| {conns} | hooktail, standard verify | {:.0} | {} | {} | {:.2}x of hooktail | {:.1} | {} |",
                v.rps(),
                ms(v.pct(0.5)),
                ms(v.pct(0.99)),
                v.rps() / h.rps(),
                batch,
                v.errors
            );
        }
    }
}
