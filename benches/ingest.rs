//! `cargo bench --bench ingest`: HTTP ingest against a ceiling, in one run.
//!
//! (a) a bare hyper 1 server that reads the body and answers 200, and (b) hooktail's real
//! receiver on a temp store (durable ack, group commit, every feature on), both driven by the
//! same HTTP/1.1 keep-alive load generator posting a 1 KiB JSON body with the token in the
//! `token` header, for a fixed time at 1, 32 and 256 connections.
//!
//! (c) adnanh/webhook, the reference self-hosted receiver, when its `webhook` binary is on PATH
//! (`apt-get install webhook`), with two hooks: one whose trigger rule never matches the token
//! (it stores nothing and runs nothing) and one that runs `/bin/true`.
//!
//! Every row also runs hooktail without its write-ahead log (redb syncing each batch itself,
//! one-phase, as before the log was on), its ratio in the hooktail/server column.
//!
//! At 32 connections a further row runs hooktail with `standard` verification on (alternated
//! with plain hooktail three times, the ratio of the merged runs), each request
//! signed with its own `webhook-id` before the timed window (the client shares the cores with
//! the server, and a sender's signing is not the receiver's work), and gives its ratio to
//! plain hooktail.
//!
//! `HOOKTAIL_BENCH_SECS` sets the time per row (default 5); an argument of `1`, `32` or
//! `256` runs only that row. `--2pc` adds hooktail with redb's two-phase commit (two syncs per
//! commit rather than one); `--only-hooktail` runs hooktail alone, for profiling. `HOOKTAIL_BENCH_LISTENERS=N` keeps N `event.listen` streams open
//! on hooktail meanwhile, each read as fast as it comes. At 32 connections
//! a further row runs hooktail over HTTPS (rustls, a self-signed certificate, one handshake
//! per connection), its ratio taken to plain hooktail.
//!
//! `--serve [--verified]` and `--drive ADDR TOKEN N [SECRET]` run the server and a fixed-count
//! load apart, to profile the server alone (see `drive`).

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
use hooktail::domain::{WebhookFields, WebhookInput};
use hooktail::http::Limits;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use load::{Load, RECEIVE, run as load, run_at};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
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

/// adnanh/webhook, started with two hooks on a free port; `None` when it is not installed.
struct Peer {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// The token both hooks look for in the `token` header: `mismatch` wants another one.
const PEER_TOKEN: &str = "bench-token";

impl Peer {
    fn start() -> Option<Peer> {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join("hooks.json");
        let rule = |value: &str| {
            serde_json::json!({"match": {"type": "value", "value": value,
                "parameter": {"source": "header", "name": "token"}}})
        };
        let config = serde_json::json!([
            {"id": "mismatch", "execute-command": "/bin/true", "trigger-rule": rule("never-this")},
            {"id": "true", "execute-command": "/bin/true", "trigger-rule": rule(PEER_TOKEN)},
        ]);
        std::fs::write(&hooks, config.to_string()).unwrap();
        // A free port: bound, read and released for the peer to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("webhook")
            .arg("-hooks")
            .arg(&hooks)
            .args(["-ip", "127.0.0.1", "-port", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Ready once it accepts connections.
        while std::net::TcpStream::connect(addr).is_err() {
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(Peer {
            child,
            addr,
            _dir: dir,
        })
    }

    fn load(&self, hook: &str, conns: usize, secs: Duration) -> Load {
        run_at(
            self.addr,
            &format!("/hooks/{hook}"),
            PEER_TOKEN,
            conns,
            secs,
            None,
        )
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// How a hooktail row differs from the default: the write-ahead log, redb's one-phase commit,
/// plain HTTP.
#[derive(Clone, Copy, Default)]
struct Setup {
    two_phase_commit: bool,
    /// No write-ahead log: redb syncs every batch itself.
    no_log: bool,
    tls: bool,
    /// The webhook checks `standard` signatures, and each request is signed.
    verified: bool,
}

/// The Standard Webhooks secret of the verified rows.
/// Alternations of plain and verified hooktail in the verified row.
const PAIRS: usize = 3;

const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A hooktail server on a temp store, with one webhook set up as `setup` says.
struct Server {
    rt: tokio::runtime::Runtime,
    running: Running,
    token: String,
    dir: tempfile::TempDir,
    /// A client configuration that trusts the server's certificate, under TLS.
    client: Option<Arc<rustls::ClientConfig>>,
}

impl Server {
    fn start(setup: Setup) -> Server {
        let rt = server_runtime();
        let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        let dir = tempfile::tempdir_in(&target).unwrap();
        let mut opts =
            Options::for_data(&dir.path().join("data"), "127.0.0.1:0".parse().unwrap()).unwrap();
        opts.two_phase_commit = setup.two_phase_commit;
        opts.write_ahead_log = !setup.no_log;
        let mut client = None;
        if setup.tls {
            let (cert, key, config) = certificate(dir.path());
            opts.tls_cert = Some(cert);
            opts.tls_key = Some(key);
            client = Some(config);
        }
        let (running, token) = rt.block_on(async {
            let running = Running::start(&opts, Limits::default()).await.unwrap();
            let mut params = std::collections::BTreeMap::new();
            if setup.verified {
                params.insert("verify.scheme".to_string(), "standard".to_string());
                params.insert("verify.secret".to_string(), STANDARD_SECRET.to_string());
            }
            let input = WebhookInput::parse(
                WebhookFields {
                    event_key: Some("webhook.bench"),
                    ..Default::default()
                },
                4_194_304,
            )
            .and_then(|i| i.with_sender(&params))
            .unwrap();
            let webhook = running.ctx.writer.put_webhook(input).await.unwrap();
            (running, webhook.uuid.to_string())
        });
        Server {
            rt,
            running,
            token,
            dir,
            client,
        }
    }

    fn stop(self) {
        self.rt.block_on(self.running.stop());
    }
}

/// `--serve [--verified]`: a hooktail server alone, for `--drive`; prints its address and
/// token, and stops when stdin closes.
fn serve_alone(verified: bool) {
    let server = Server::start(Setup {
        verified,
        ..Setup::default()
    });
    println!("{} {}", server.running.addr, server.token);
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    server.stop();
}

/// hooktail's real receiver set up as `setup` says. Returns the load and the mean commit
/// batch during it.
fn hooktail(conns: usize, secs: Duration, setup: Setup) -> (Load, f64) {
    let server = Server::start(setup);
    let (running, token, dir) = (&server.running, &server.token, &server.dir);
    let client = server.client.clone();
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
    let checkpoints = running.ctx.writer.checkpoints();
    let result = if setup.verified {
        let key = standard_key(STANDARD_SECRET);
        // More than the run will send, at about 25k req/s; the rest would be signed live.
        let presigned = 60_000 * secs.as_secs().max(1);
        let build = load::standard_signed(token, key, presigned);
        load::run_with(addr, conns, secs, build, client)
    } else {
        run_at(addr, RECEIVE, token, conns, secs, client)
    };
    let after = metrics.batch_totals();
    let mean = (after.1 - before.1) as f64 / (after.0 - before.0).max(1) as f64;
    // What the log's checkpoints cost during the load: each holds ingest while redb syncs.
    let cp = running.ctx.writer.checkpoints();
    if cp.count > checkpoints.count {
        let n = cp.count - checkpoints.count;
        eprintln!(
            "# {conns} conns{}: {n} checkpoints in {}s, {:.1} ms each on average, longest {:.1} ms",
            if setup.no_log { ", no log" } else { "" },
            secs.as_secs(),
            (cp.total - checkpoints.total).as_secs_f64() * 1e3 / n as f64,
            cp.longest.as_secs_f64() * 1e3
        );
    }
    clients.shutdown_background();
    server.stop();
    (result, mean)
}

/// `--drive ADDR TOKEN N [SECRET]`: pushes N requests (signed the `standard` way with SECRET
/// when given) through a hooktail started elsewhere, from `HOOKTAIL_BENCH_CONNS` connections
/// (default 32). Run the server under `valgrind --tool=callgrind` to count its instructions
/// per call without the load generator's.
fn drive(args: &[String]) {
    let [addr, token, n, rest @ ..] = args else {
        eprintln!("usage: ingest --drive ADDR TOKEN N [STANDARD_SECRET]");
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().expect("ADDR");
    let n: u64 = n.parse().expect("N");
    let conns = std::env::var("HOOKTAIL_BENCH_CONNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(32);
    let build = match rest.first() {
        Some(secret) => load::standard_signed(token, standard_key(secret), n),
        None => {
            let req = load::request(RECEIVE, token, "");
            Arc::new(move |_, out: &mut Vec<u8>| out.clone_from(&req)) as load::Build
        }
    };
    let l = load::run_until(addr, conns, load::Until::Requests(n), build, None);
    println!(
        "{} requests, {} errors, {:.0} req/s",
        l.requests,
        l.errors,
        l.rps()
    );
}

/// A Standard Webhooks secret's key.
fn standard_key(secret: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--drive") {
        return drive(&args[i + 1..]);
    }
    if args.iter().any(|a| a == "--serve") {
        return serve_alone(args.iter().any(|a| a == "--verified"));
    }
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
    let flag = |f: &str| std::env::args().any(|a| a == f);
    println!(
        "# hooktail ingest benchmark: {}s per row, 1 KiB JSON, {} cores",
        secs.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let peer = if flag("--only-hooktail") {
        None
    } else {
        let peer = Peer::start();
        if peer.is_none() {
            println!(
                "# adnanh/webhook skipped: no `webhook` binary on PATH (apt-get install webhook)"
            );
        }
        peer
    };
    println!("| conns | server | req/s | p50 | p99 | hooktail/server | mean batch | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    for conns in [1, 32, 256] {
        if !only.is_empty() && !only.contains(&conns) {
            continue;
        }
        let (h, batch) = hooktail(conns, secs, Setup::default());
        let mut rows = vec![];
        let plain = Setup {
            no_log: true,
            ..Setup::default()
        };
        let (p, batch_plain) = hooktail(conns, secs, plain);
        rows.push((format!("hooktail, no log (batch {batch_plain:.1})"), p));
        if flag("--2pc") {
            let two_phase = Setup {
                two_phase_commit: true,
                ..Setup::default()
            };
            let (h2, batch2) = hooktail(conns, secs, two_phase);
            rows.push((format!("hooktail, 2PC (batch {batch2:.1})"), h2));
        }
        if let Some(peer) = &peer {
            rows.push((
                "webhook, rule mismatch".into(),
                peer.load("mismatch", conns, secs),
            ));
            rows.push(("webhook, /bin/true".into(), peer.load("true", conns, secs)));
        }
        if !flag("--only-hooktail") {
            rows.push(("bare hyper".into(), bare(conns, secs)));
        }
        println!(
            "| {conns} | hooktail | {:.0} | {} | {} | 1.00x | {batch:.1} | {} |",
            h.rps(),
            ms(h.pct(0.5)),
            ms(h.pct(0.99)),
            h.errors
        );
        if conns == 32 {
            // HTTPS against plain hooktail: here the ratio is https/http.
            let tls = Setup {
                tls: true,
                ..Setup::default()
            };
            let (t, batch) = hooktail(conns, secs, tls);
            println!(
                "| {conns} | hooktail https | {:.0} | {} | {} | {:.2}x of http | {batch:.1} | {} |",
                t.rps(),
                ms(t.pct(0.5)),
                ms(t.pct(0.99)),
                t.rps() / h.rps(),
                t.errors
            );
        }
        if conns == 32 {
            // With `standard` verification on, against plain hooktail (the target is 0.9x or
            // more). The two alternate, `PAIRS` times each, and the ratio is of their merged
            // runs, so that the machine's drift during the row falls on both alike.
            let verified = Setup {
                verified: true,
                ..Setup::default()
            };
            let (mut plain, mut signed, mut batches) = (vec![], vec![], 0.0);
            for _ in 0..PAIRS {
                plain.push(hooktail(conns, secs, Setup::default()).0);
                let (v, batch) = hooktail(conns, secs, verified);
                signed.push(v);
                batches += batch / PAIRS as f64;
            }
            let pairs: Vec<String> = plain
                .iter()
                .zip(&signed)
                .map(|(p, v)| format!("{:.2}", v.rps() / p.rps()))
                .collect();
            let (p, v) = (Load::merged(plain), Load::merged(signed));
            println!(
                "| {conns} | hooktail, standard verify | {:.0} | {} | {} | {:.2}x of hooktail, {PAIRS} A/B pairs ({}) | {batches:.1} | {} |",
                v.rps(),
                ms(v.pct(0.5)),
                ms(v.pct(0.99)),
                v.rps() / p.rps(),
                pairs.join(", "),
                v.errors
            );
        }
        for (name, l) in rows {
            println!(
                "| {conns} | {name} | {:.0} | {} | {} | {:.2}x | - | {} |",
                l.rps(),
                ms(l.pct(0.5)),
                ms(l.pct(0.99)),
                h.rps() / l.rps(),
                l.errors
            );
        }
    }
}
