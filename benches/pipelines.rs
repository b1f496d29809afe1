//! `cargo bench --bench pipelines`: what pipelines cost and how fast they go, in one run.
//!
//! 1. Ingest at 32 connections with no pipeline, then with 3 `log` pipelines listening: the
//!    ratio says what delivery takes from ingest (2 cores shared by both).
//! 2. Throughput: a `log` pipeline put with `from: earliest` over 20,000 stored events; the
//!    time until its lag is 0.
//! 3. Latency from a webhook call's 200 to its run's step reaching an HTTP target, for
//!    sequential calls: p50 and p99.
//!
//! Logs go to a file, as in dashboard mode. `HOOKTAIL_BENCH_SECS` sets the load time
//! (default 5).

#[path = "common/load.rs"]
mod load;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hooktail::app::Running;
use hooktail::cli::Options;
use hooktail::domain::{WebhookFields, WebhookInput};
use hooktail::http::Limits;
use hooktail::service::command::{CommandName, Params};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BACKLOG: usize = 20_000;
const LATENCY_CALLS: usize = 300;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A receiver on a temp store under target/, with one webhook; returns it and its token.
async fn server(dir: &std::path::Path) -> (Running, String) {
    let opts = Options::for_data(&dir.join("data"), "127.0.0.1:0".parse().unwrap()).unwrap();
    let running = Running::start(&opts, Limits::default()).await.unwrap();
    let input = WebhookInput::parse(
        WebhookFields {
            event_key: Some("webhook.bench"),
            ..Default::default()
        },
        4_194_304,
    )
    .unwrap();
    let webhook = running.ctx.writer.put_webhook(input).await.unwrap();
    (running, webhook.uuid.to_string())
}

async fn put(running: &Running, name: &str, yaml: &str) {
    let params: Params = BTreeMap::from([
        ("name".to_string(), name.to_string()),
        ("yaml".to_string(), yaml.to_string()),
    ]);
    hooktail::service::command::run(
        &running.ctx,
        CommandName::PipelinePut,
        &params,
        hooktail::service::Source::Cli,
    )
    .await
    .unwrap();
}

async fn lag(running: &Running, name: &str) -> u64 {
    let params: Params = BTreeMap::from([("name".to_string(), name.to_string())]);
    let p = hooktail::service::command::run(
        &running.ctx,
        CommandName::PipelineGet,
        &params,
        hooktail::service::Source::Cli,
    )
    .await
    .unwrap();
    p["lag"].as_u64().unwrap()
}

fn log_pipeline(from: &str) -> String {
    format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.bench\n      from: {from}\n  - log:\n      message: \"lead #{{body.id}}\"\n"
    )
}

/// Ingest at 32 connections with `pipelines` log pipelines listening.
fn ingest(pipelines: usize, secs: Duration) -> load::Load {
    let rt = runtime();
    let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap();
    let (running, token) = rt.block_on(server(dir.path()));
    for i in 0..pipelines {
        rt.block_on(put(&running, &format!("log-{i}"), &log_pipeline("now")));
    }
    let result = load::run(running.addr, &token, 32, secs);
    rt.block_on(running.stop());
    result
}

/// Events per second for one log pipeline catching up on a backlog.
fn throughput() -> f64 {
    let rt = runtime();
    let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap();
    let (running, token) = rt.block_on(server(dir.path()));
    let webhook = token.parse().unwrap();
    rt.block_on(async {
        let writer = running.ctx.writer.clone();
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    for n in 0..BACKLOG / 64 {
                        let mut e = hooktail_event(n);
                        e.event_key = "webhook.bench".into();
                        writer
                            .append(hooktail::domain::Record::Accepted(e), Some(webhook))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let events = (BACKLOG / 64 * 64) as f64;
    let started = Instant::now();
    rt.block_on(put(&running, "catch-up", &log_pipeline("earliest")));
    while rt.block_on(lag(&running, "catch-up")) > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed();
    rt.block_on(running.stop());
    events / took.as_secs_f64()
}

fn hooktail_event(n: usize) -> hooktail::domain::Event {
    let body = format!("{{\"lead\":\"ACME\",\"n\":{n}}}").into_bytes();
    hooktail::domain::Event {
        id: uuid::Uuid::now_v7(),
        event_key: "webhook.bench".into(),
        received_at: 0,
        method: "POST".into(),
        path: "/api/v3/command/webhook.receive".into(),
        query: BTreeMap::new(),
        headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
        remote_addr: "127.0.0.1:1".into(),
        content_type: Some("application/json".into()),
        size: body.len() as u64,
        payload_type: hooktail::domain::PayloadType::Base64,
        files: Vec::new(),
        form: BTreeMap::new(),
        verified: None,
        body,
    }
}

/// Sorted latencies from each call's 200 to its run's http.post reaching a target.
fn latency() -> Vec<Duration> {
    let rt = runtime();
    let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap();
    let (running, token) = rt.block_on(server(dir.path()));
    // The target notes when each event's step reached it, by event id.
    let arrivals: Arc<Mutex<BTreeMap<String, Instant>>> = Arc::default();
    let target = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let target_addr = target.local_addr().unwrap();
    let seen = arrivals.clone();
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = target.accept().await else {
                continue;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let at = Instant::now();
                        let body = req.into_body().collect().await?.to_bytes();
                        let id = String::from_utf8_lossy(&body).into_owned();
                        seen.lock().unwrap().insert(id, at);
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let yaml = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.bench\n  - http.post:\n      url: http://{target_addr}/\n      body: \"#{{body.id}}\"\n"
    );
    rt.block_on(put(&running, "latency", &yaml));
    let acked: Vec<(String, Instant)> = rt.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        let mut acked = Vec::new();
        for _ in 0..LATENCY_CALLS {
            let req = hyper::Request::post(format!(
                "http://{}/api/v3/command/webhook.receive",
                running.addr
            ))
            .header("token", &token)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{\"lead\":\"ACME\"}")))
            .unwrap();
            let res = client.request(req).await.unwrap();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let at = Instant::now();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            acked.push((v["correlationId"].as_str().unwrap().to_string(), at));
            // Calls a few milliseconds apart, as real senders make them.
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        acked
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().unwrap().len() < acked.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let seen = arrivals.lock().unwrap().clone();
    let mut out: Vec<Duration> = acked
        .iter()
        .filter_map(|(id, at)| Some(seen.get(id)?.saturating_duration_since(*at)))
        .collect();
    out.sort();
    rt.block_on(running.stop());
    out
}

fn main() {
    let secs = Duration::from_secs(
        std::env::var("HOOKTAIL_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let logs = tempfile::NamedTempFile::new().unwrap();
    hooktail::logging::to_file(logs.path()).unwrap();
    println!(
        "# hooktail pipelines benchmark: {}s of load",
        secs.as_secs()
    );
    let none = ingest(0, secs);
    let three = ingest(3, secs);
    println!("| ingest, 32 connections | req/s | p99 | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| no pipeline | {:.0} | {:.2} ms | 1.00x |",
        none.rps(),
        none.pct(0.99).as_secs_f64() * 1e3
    );
    println!(
        "| 3 log pipelines | {:.0} | {:.2} ms | {:.2}x |",
        three.rps(),
        three.pct(0.99).as_secs_f64() * 1e3,
        three.rps() / none.rps()
    );
    let eps = throughput();
    println!("\nlog pipeline throughput (catching up on {BACKLOG} events): {eps:.0} events/s");
    let lat = latency();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "200 -> step reached its target ({} of {LATENCY_CALLS} calls): p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        pct(0.5),
        pct(0.99)
    );
}
