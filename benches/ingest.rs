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
//! At 32 connections a further row runs hooktail with `standard` verification on, each request
//! signed with its own `webhook-id` before the timed window (the client shares the cores with
//! the server, and a sender's signing is not the receiver's work), and gives its ratio to
//! the same signed requests sent to a webhook that does not verify (and to plain hooktail).
//!
//! This machine's speed drifts by a third from minute to minute, so rows measured minutes
//! apart do not compare. Every row of a connection count runs once per round, one after the
//! other, for `HOOKTAIL_BENCH_ROUNDS` rounds (default 3): a figure is its row's runs merged,
//! and a ratio is given merged and per round.
//!
//! `HOOKTAIL_BENCH_SKIP=true,https` leaves out the rows whose names contain either word
//! (never plain hooktail's). `HOOKTAIL_BENCH_SECS` sets the time per run (default 3); an argument of `1`, `32` or
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
use hooktail::store::Checkpoints;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use load::{Load, RECEIVE, Target};
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
struct Bare {
    /// Serves for as long as it is kept.
    _rt: tokio::runtime::Runtime,
    addr: SocketAddr,
}

impl Bare {
    fn start() -> Bare {
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
                            let text =
                                format!("{{\"status\":\"ok\",\"size\":{}}}", body.unwrap_or(0));
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(text))))
                        }),
                    )
                    .into_owned();
                tokio::spawn(conn);
            }
        });
        Bare { _rt: rt, addr }
    }

    fn target(&self) -> Target {
        plain_target(self.addr, RECEIVE, "none", None)
    }
}

/// Requests with the token in a header, the same each time.
fn plain_target(
    addr: SocketAddr,
    path: &str,
    token: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Target {
    let req = load::request(path, token, "");
    Target {
        addr,
        build: Arc::new(move |_, out: &mut Vec<u8>| out.clone_from(&req)),
        tls,
        settle: None,
    }
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

    fn target(&self, hook: &str) -> Target {
        let mut target = plain_target(self.addr, &format!("/hooks/{hook}"), PEER_TOKEN, None);
        if hook == "true" {
            // It answers, then runs the command: its turn lasts until the commands it owes
            // have run, which shows as its CPU time (its own and its children's) no longer
            // growing.
            let pid = self.child.id();
            target.settle = Some(Arc::new(move || {
                let cpu = || {
                    let stat =
                        std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                    // Past the command name in parentheses: utime, stime, cutime and cstime
                    // are fields 14 to 17, the 12th to 15th after it.
                    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
                    rest.split_whitespace()
                        .skip(11)
                        .take(4)
                        .filter_map(|f| f.parse::<u64>().ok())
                        .sum::<u64>()
                };
                let mut last = cpu();
                let mut still = 0;
                while still < 2 {
                    std::thread::sleep(Duration::from_millis(20));
                    let now = cpu();
                    still = if now == last { still + 1 } else { 0 };
                    last = now;
                }
            }));
        }
        target
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
    /// The webhook checks `standard` signatures.
    verified: bool,
    /// Each request is signed the `standard` way, with its own `webhook-id`.
    signed: bool,
}

/// Rounds of every row (`HOOKTAIL_BENCH_ROUNDS`): each figure is the merged runs of its row,
/// and each ratio is given per round too.
const ROUNDS: usize = 3;
/// How long each server of a round is loaded before the next one's turn.
const TURN: Duration = Duration::from_millis(200);
/// The turn of the process-spawning peer and its hooktail: its turn ends with a wait of at
/// least 40 ms for its commands to finish, a small part of a turn this long.
const SPAWNING_TURN: Duration = Duration::from_secs(1);

/// What one row runs.
#[derive(Clone, Copy)]
enum Run {
    Hooktail(Setup),
    /// adnanh/webhook's hook of this name.
    Peer(&'static str),
    Bare,
}

/// A row of the table: its runs, one per round.
struct Series {
    name: &'static str,
    run: Run,
    loads: Vec<Load>,
    /// The mean commit batch of each run (hooktail's rows).
    batches: Vec<f64>,
}

impl Series {
    fn new(name: &'static str, run: Run) -> Series {
        Series {
            name,
            run,
            loads: vec![],
            batches: vec![],
        }
    }
}

/// The Standard Webhooks secret of the verified rows.
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
        signed: verified,
        ..Setup::default()
    });
    println!("{} {}", server.running.addr, server.token);
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    server.stop();
}

/// hooktail's real receiver set up as `setup` says, for one round, with what it had
/// committed before its load.
struct Hooked {
    server: Server,
    setup: Setup,
    /// The `event.listen` clients (`HOOKTAIL_BENCH_LISTENERS`), beside the load generator.
    clients: tokio::runtime::Runtime,
    batches: (u64, u64),
    checkpoints: Checkpoints,
}

impl Hooked {
    fn start(setup: Setup) -> Hooked {
        let server = Server::start(setup);
        let n: usize = std::env::var("HOOKTAIL_BENCH_LISTENERS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let key = std::fs::read_to_string(server.dir.path().join("data/admin.key")).unwrap();
        let clients = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        clients.block_on(listeners(server.running.addr, key.trim(), n));
        let batches = server.running.metrics.batch_totals();
        let checkpoints = server.running.ctx.writer.checkpoints();
        Hooked {
            server,
            setup,
            clients,
            batches,
            checkpoints,
        }
    }

    /// Its requests for `secs` of load: signed ones for a verifying webhook.
    fn target(&self, secs: Duration) -> Target {
        let (addr, token) = (self.server.running.addr, &self.server.token);
        let tls = self.server.client.clone();
        if !self.setup.signed {
            return plain_target(addr, RECEIVE, token, tls);
        }
        // More than the run will send, at about 25k req/s; the rest would be signed live.
        let presigned = 60_000 * secs.as_secs().max(1);
        let build = load::standard_signed(token, standard_key(STANDARD_SECRET), presigned);
        Target {
            addr,
            build,
            tls,
            settle: None,
        }
    }

    /// Stops it; returns the mean commit batch during the load.
    fn finish(self, conns: usize) -> f64 {
        let running = &self.server.running;
        let after = running.metrics.batch_totals();
        let mean = (after.1 - self.batches.1) as f64 / (after.0 - self.batches.0).max(1) as f64;
        // What the log's checkpoints cost during the load: each holds ingest while redb syncs.
        let cp = running.ctx.writer.checkpoints();
        if cp.count > self.checkpoints.count {
            let n = cp.count - self.checkpoints.count;
            eprintln!(
                "# {conns} conns: {n} checkpoints, {:.1} ms each on average, longest {:.1} ms",
                (cp.total - self.checkpoints.total).as_secs_f64() * 1e3 / n as f64,
                cp.longest.as_secs_f64() * 1e3
            );
        }
        self.clients.shutdown_background();
        self.server.stop();
        mean
    }
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
            .unwrap_or(3),
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
    let rounds: usize = std::env::var("HOOKTAIL_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(ROUNDS)
        .max(1);
    let bare = Bare::start();
    println!("| conns | server | req/s | p50 | p99 | hooktail/server | mean batch | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    for conns in [1, 32, 256] {
        if !only.is_empty() && !only.contains(&conns) {
            continue;
        }
        let mut rows = vec![Series::new("hooktail", Run::Hooktail(Setup::default()))];
        if conns == 32 {
            // Verification's cost: the same signed requests, to a webhook that checks them
            // and to one that does not.
            rows.push(Series::new(
                "hooktail, signed requests, verify off",
                Run::Hooktail(Setup {
                    signed: true,
                    ..Setup::default()
                }),
            ));
            rows.push(Series::new(
                "hooktail, standard verify",
                Run::Hooktail(Setup {
                    verified: true,
                    signed: true,
                    ..Setup::default()
                }),
            ));
            rows.push(Series::new(
                "hooktail https",
                Run::Hooktail(Setup {
                    tls: true,
                    ..Setup::default()
                }),
            ));
        }
        rows.push(Series::new(
            "hooktail, no log",
            Run::Hooktail(Setup {
                no_log: true,
                ..Setup::default()
            }),
        ));
        if flag("--2pc") {
            rows.push(Series::new(
                "hooktail, 2PC",
                Run::Hooktail(Setup {
                    two_phase_commit: true,
                    ..Setup::default()
                }),
            ));
        }
        if peer.is_some() {
            rows.push(Series::new("webhook, rule mismatch", Run::Peer("mismatch")));
            rows.push(Series::new("webhook, /bin/true", Run::Peer("true")));
        }
        if !flag("--only-hooktail") {
            rows.push(Series::new("bare hyper", Run::Bare));
        }
        // `HOOKTAIL_BENCH_SKIP=a,b` leaves out the rows whose names contain `a` or `b`.
        if let Ok(skip) = std::env::var("HOOKTAIL_BENCH_SKIP") {
            let skip: Vec<&str> = skip.split(',').filter(|s| !s.is_empty()).collect();
            let mut i = 0;
            rows.retain(|row| {
                i += 1;
                i == 1 || !skip.iter().any(|s| row.name.contains(s))
            });
        }
        // The peer that spawns a process per call answers first and runs the command after,
        // so its work outlasts its turn (a round with it ran every other row 2-3x slower).
        // Its turns end only once its commands have run (`Target::settle`), and it runs in
        // rounds of its own, in turns with a hooktail of its own, its ratio taken to that one.
        let spawning: Vec<Series> = rows
            .extract_if(.., |row| matches!(row.run, Run::Peer("true")))
            .collect();
        run_rounds(&mut rows, conns, secs, rounds, TURN, peer.as_ref(), &bare);
        let mut spawning_pair = vec![];
        if !spawning.is_empty() {
            spawning_pair.push(Series::new("hooktail", Run::Hooktail(Setup::default())));
            spawning_pair.extend(spawning);
            let (pair, turn) = (&mut spawning_pair, SPAWNING_TURN);
            run_rounds(pair, conns, secs, rounds, turn, peer.as_ref(), &bare);
        }
        let rps = |loads: &[Load]| {
            loads.iter().map(|l| l.requests).sum::<u64>() as f64
                / loads.iter().map(|l| l.elapsed.as_secs_f64()).sum::<f64>()
        };
        let each = |of: &[Load], to: &[Load]| -> String {
            let r: Vec<String> = of
                .iter()
                .zip(to)
                .map(|(a, b)| format!("{:.2}", a.rps() / b.rps()))
                .collect();
            r.join(", ")
        };
        let hooktail_loads = std::mem::take(&mut rows[0].loads);
        let signed_loads = rows
            .iter()
            .find(|r| r.name == "hooktail, signed requests, verify off")
            .map(|r| r.loads.clone());
        for (i, row) in rows.into_iter().enumerate() {
            let loads = if i == 0 { &hooktail_loads } else { &row.loads };
            let batch = row.batches.iter().sum::<f64>() / row.batches.len() as f64;
            let l = Load::merged(loads.clone());
            let hooktail_rows = matches!(row.run, Run::Hooktail(_));
            // Against hooktail's own variants the ratio is theirs to hooktail's; against
            // the others, hooktail's to theirs.
            let ratio = match row.name {
                "hooktail" => "1.00x".to_string(),
                "hooktail, standard verify" => {
                    let to = signed_loads.as_deref().unwrap_or(&hooktail_loads);
                    format!(
                        "{:.2}x of verify off ({}); {:.2}x of hooktail",
                        rps(loads) / rps(to),
                        each(loads, to),
                        rps(loads) / rps(&hooktail_loads)
                    )
                }
                name if name.starts_with("hooktail") => format!(
                    "{:.2}x of hooktail ({})",
                    rps(loads) / rps(&hooktail_loads),
                    each(loads, &hooktail_loads)
                ),
                _ => format!(
                    "{:.2}x ({})",
                    rps(&hooktail_loads) / rps(loads),
                    each(&hooktail_loads, loads)
                ),
            };
            let batch = if hooktail_rows {
                format!("{batch:.1}")
            } else {
                "-".into()
            };
            println!(
                "| {conns} | {} | {:.0} | {} | {} | {ratio} | {batch} | {} |",
                row.name,
                l.rps(),
                ms(l.pct(0.5)),
                ms(l.pct(0.99)),
                l.errors
            );
        }
        if let [own, spawn] = spawning_pair.as_slice() {
            let l = Load::merged(spawn.loads.clone());
            println!(
                "| {conns} | {} | {:.0} | {} | {} | {:.2}x ({}; to a hooktail of its own rounds, {:.0} req/s) | - | {} |",
                spawn.name,
                l.rps(),
                ms(l.pct(0.5)),
                ms(l.pct(0.99)),
                rps(&own.loads) / rps(&spawn.loads),
                each(&own.loads, &spawn.loads),
                rps(&own.loads),
                l.errors
            );
        }
    }
}

/// Starts each round's servers, then loads them in turns (see `run_sliced`).
fn run_rounds(
    rows: &mut [Series],
    conns: usize,
    secs: Duration,
    rounds: usize,
    turn: Duration,
    peer: Option<&Peer>,
    bare: &Bare,
) {
    for _ in 0..rounds {
        let hooked: Vec<Option<Hooked>> = rows
            .iter()
            .map(|row| match row.run {
                Run::Hooktail(setup) => Some(Hooked::start(setup)),
                _ => None,
            })
            .collect();
        let targets = rows
            .iter()
            .zip(&hooked)
            .map(|(row, h)| match (row.run, h) {
                (Run::Peer(hook), _) => peer.expect("a peer row without the peer").target(hook),
                (Run::Bare, _) => bare.target(),
                (_, h) => h.as_ref().expect("a hooktail row").target(secs),
            })
            .collect();
        let loads = load::run_sliced(targets, conns, secs, turn);
        for ((row, load), h) in rows.iter_mut().zip(loads).zip(hooked) {
            row.loads.push(load);
            row.batches.push(h.map_or(0.0, |h| h.finish(conns)));
        }
    }
}
