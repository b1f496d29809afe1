//! An HTTP/1.1 keep-alive load generator for the benchmarks: POSTs a 1 KiB JSON body with
//! the token in the `token` header, from many connections, for a fixed time.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[derive(Clone)]
pub struct Load {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latencies in microseconds, sorted.
    pub latencies: Vec<u32>,
}

impl Load {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Several runs as one: their requests over their summed time, their latencies together.
    pub fn merged(runs: Vec<Load>) -> Load {
        let mut all = Load {
            requests: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies: vec![],
        };
        for run in runs {
            all.requests += run.requests;
            all.errors += run.errors;
            all.elapsed += run.elapsed;
            all.latencies.extend(run.latencies);
        }
        all.latencies.sort_unstable();
        all
    }

    pub fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 * p) as usize).min(self.latencies.len() - 1);
        Duration::from_micros(self.latencies[i] as u64)
    }
}

fn body() -> Vec<u8> {
    let mut b = String::from("{\"lead\":\"ACME\",\"score\":90,\"notes\":\"");
    while b.len() < 1024 - 2 {
        b.push('x');
    }
    b.push_str("\"}");
    b.into_bytes()
}

/// hooktail's receive path.
pub const RECEIVE: &str = "/api/v3/command/webhook.receive";

pub fn request(path: &str, token: &str, extra_headers: &str) -> Vec<u8> {
    let body = body();
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\ntoken: {token}\r\n\
         {extra_headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(&body);
    r
}

/// Builds request number `n` into the buffer.
pub type Build = Arc<dyn Fn(u64, &mut Vec<u8>) + Send + Sync>;

/// Requests signed the Standard Webhooks way, each with its own `webhook-id` (so that none
/// is a duplicate). The first `presigned` are signed before the load starts, outside the
/// timed window: the client shares the two cores with the server, and a sender's signing
/// is not part of the receiver's ingest. Any past them are signed as they are sent.
pub fn standard_signed(token: &str, key: Vec<u8>, presigned: u64) -> Build {
    use hmac::{Hmac, Mac};
    let body = body();
    let head = format!("POST {RECEIVE} HTTP/1.1\r\nHost: bench\r\ntoken: {token}\r\n");
    let tail = format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let keyed = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    // The signed header lines of each presigned request, one after the other.
    let (mut lines, mut ends) = (Vec::new(), Vec::new());
    for n in 0..presigned {
        signed_lines(&keyed, &body, n, &mut lines);
        ends.push(lines.len());
    }
    Arc::new(move |n, out| {
        out.clear();
        out.extend_from_slice(head.as_bytes());
        match usize::try_from(n).ok().filter(|&i| i < ends.len()) {
            Some(i) => {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                out.extend_from_slice(&lines[start..ends[i]]);
            }
            None => signed_lines(&keyed, &body, n, out),
        }
        out.extend_from_slice(tail.as_bytes());
        out.extend_from_slice(&body);
    })
}

/// Appends the `webhook-id`, `webhook-timestamp` and `webhook-signature` lines of request `n`.
fn signed_lines(keyed: &hmac::Hmac<sha2::Sha256>, body: &[u8], n: u64, out: &mut Vec<u8>) {
    use base64::Engine;
    use hmac::Mac;
    use std::io::Write;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (id, ts) = (format!("msg_{n}"), ts.to_string());
    write!(out, "webhook-id: {id}\r\nwebhook-timestamp: {ts}\r\n").unwrap();
    let mut mac = keyed.clone();
    for part in [id.as_bytes(), b".", ts.as_bytes(), b".", body] {
        mac.update(part);
    }
    let mut sig = [0u8; 44];
    let len = base64::engine::general_purpose::STANDARD
        .encode_slice(mac.finalize().into_bytes(), &mut sig)
        .unwrap();
    out.extend_from_slice(b"webhook-signature: v1,");
    out.extend_from_slice(&sig[..len]);
    out.extend_from_slice(b"\r\n");
}

/// A connection, plain or TLS.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

async fn connect(addr: SocketAddr, tls: Option<&TlsConnector>) -> Box<dyn Conn> {
    let s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    match tls {
        None => Box::new(s),
        Some(c) => {
            let name = ServerName::IpAddress(addr.ip().into());
            Box::new(c.connect(name, s).await.unwrap())
        }
    }
}

/// Reads one response; returns whether it was a 200.
async fn read_response(s: &mut Box<dyn Conn>, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let ok = head.starts_with("HTTP/1.1 200");
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(ok);
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends one request and reads its answer: a 200's latency goes into `lat`, anything else
/// counts as an error. Returns false when the connection failed and must be made again.
async fn exchange(
    s: &mut Box<dyn Conn>,
    req: &[u8],
    buf: &mut Vec<u8>,
    lat: &mut Vec<u32>,
    errors: &mut u64,
) -> bool {
    let t = Instant::now();
    let ok = match s.write_all(req).await {
        Ok(()) => read_response(s, buf).await,
        Err(e) => Err(e),
    };
    match ok {
        Ok(true) => lat.push(t.elapsed().as_micros() as u32),
        Ok(false) => *errors += 1,
        Err(_) => {
            *errors += 1;
            return false;
        }
    }
    true
}

/// Keep-alive load on hooktail's receive path from `conns` connections for `secs`.
pub fn run(addr: SocketAddr, token: &str, conns: usize, secs: Duration) -> Load {
    run_at(addr, RECEIVE, token, conns, secs, None)
}

/// Keep-alive load on `path` from `conns` connections for `secs`, over TLS when a client
/// configuration is given.
pub fn run_at(
    addr: SocketAddr,
    path: &str,
    token: &str,
    conns: usize,
    secs: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Load {
    let req = request(path, token, "");
    run_with(
        addr,
        conns,
        secs,
        Arc::new(move |_, out| out.clone_from(&req)),
        tls,
    )
}

/// [`run_at`] with requests made by `build`.
pub fn run_with(
    addr: SocketAddr,
    conns: usize,
    secs: Duration,
    build: Build,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Load {
    run_until(addr, conns, Until::Time(secs), build, tls)
}

/// When a load run ends.
#[derive(Clone, Copy)]
pub enum Until {
    Time(Duration),
    /// After this many requests in all: for instruction counts per request (callgrind).
    Requests(u64),
}

/// [`run_with`], ending as `until` says.
pub fn run_until(
    addr: SocketAddr,
    conns: usize,
    until: Until,
    build: Build,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Load {
    let tls = tls.map(TlsConnector::from);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let start = Instant::now();
        let (deadline, total) = match until {
            Until::Time(secs) => (start + secs, u64::MAX),
            Until::Requests(n) => (start + Duration::from_secs(86_400), n),
        };
        let tasks: Vec<_> = (0..conns)
            .map(|_| {
                let (build, next) = (build.clone(), next.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    let mut buf = Vec::with_capacity(4096);
                    let mut s = connect(addr, tls.as_ref()).await;
                    while Instant::now() < deadline {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if n >= total {
                            break;
                        }
                        build(n, &mut req);
                        let ok = exchange(&mut s, &req, &mut buf, &mut lat, &mut errors).await;
                        if !ok {
                            s = connect(addr, tls.as_ref()).await;
                        }
                    }
                    (lat, errors)
                })
            })
            .collect();
        let mut load = gather(tasks).await;
        load.elapsed = start.elapsed();
        load
    })
}

/// The connections' latencies and errors as one load, its time left for the caller to set.
async fn gather(tasks: Vec<tokio::task::JoinHandle<(Vec<u32>, u64)>>) -> Load {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    Load {
        requests: latencies.len() as u64,
        errors,
        elapsed: Duration::ZERO,
        latencies,
    }
}

/// One server of a [`run_sliced`] run: where the requests go, and how they are made.
pub struct Target {
    pub addr: SocketAddr,
    pub build: Build,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// For a server that answers before it has done the work (adnanh/webhook runs its
    /// command after answering): waits, after each of its turns, until that work is done.
    /// The wait counts as the target's time, and no other target's turn meets the work.
    pub settle: Option<Settle>,
}

/// See [`Target::settle`].
pub type Settle = Arc<dyn Fn() + Send + Sync>;

/// Which target's connections send: an index, none for now, or none left.
const DONE: usize = usize::MAX;
const NONE: usize = usize::MAX - 1;

/// Loads every target from `conns` connections of its own, one target at a time in turns of
/// `turn`, round and round until each has had `each` in all. This machine's speed drifts by
/// a factor of up to four over seconds; in turns this short the drift falls on every target
/// alike, so their figures compare. Returns each target's load over its own turns.
pub fn run_sliced(targets: Vec<Target>, conns: usize, each: Duration, turn: Duration) -> Vec<Load> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (active_tx, active) = tokio::sync::watch::channel(NONE);
        let mut tasks = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let tls = t.tls.clone().map(TlsConnector::from);
            let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let mut conns_of = Vec::new();
            for _ in 0..conns {
                let (build, next, tls, addr) = (t.build.clone(), next.clone(), tls.clone(), t.addr);
                let mut active = active.clone();
                // Connected before the first turn: connecting is no target's work.
                let mut s = connect(addr, tls.as_ref()).await;
                conns_of.push(tokio::spawn(async move {
                    let (mut req, mut lat, mut errors) = (Vec::new(), Vec::new(), 0u64);
                    let mut buf = Vec::with_capacity(4096);
                    loop {
                        let now = *active.borrow_and_update();
                        if now == DONE {
                            break;
                        }
                        if now != i {
                            let _ = active.changed().await;
                            continue;
                        }
                        while *active.borrow() == i {
                            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            build(n, &mut req);
                            let ok = exchange(&mut s, &req, &mut buf, &mut lat, &mut errors).await;
                            if !ok {
                                s = connect(addr, tls.as_ref()).await;
                            }
                        }
                    }
                    (lat, errors)
                }));
            }
            tasks.push(conns_of);
        }
        let mut spent = vec![Duration::ZERO; targets.len()];
        while spent.iter().any(|s| *s < each) {
            for (i, s) in spent.iter_mut().enumerate() {
                let start = Instant::now();
                active_tx.send_replace(i);
                tokio::time::sleep(turn).await;
                if let Some(settle) = targets[i].settle.clone() {
                    active_tx.send_replace(NONE);
                    tokio::task::spawn_blocking(move || settle()).await.unwrap();
                }
                *s += start.elapsed();
            }
        }
        active_tx.send_replace(DONE);
        let mut loads = Vec::new();
        for (conns_of, elapsed) in tasks.into_iter().zip(spent) {
            let mut load = gather(conns_of).await;
            load.elapsed = elapsed;
            loads.push(load);
        }
        loads
    })
}
