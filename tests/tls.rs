//! HTTPS (§7): certificates made with rcgen at test time, real TLS clients (tokio-rustls with
//! hyper), and the slowloris, flood and memory protections over TLS.

#[path = "common/child.rs"]
mod child;
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use hooktail::http::Limits;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, SupportedProtocolVersion};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
struct Cert {
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

fn make_cert(dir: &Path, name: &str) -> Cert {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    Cert {
        cert,
        key,
        der: made.cert.der().clone(),
    }
}

fn client_config(
    trusted: &[&CertificateDer<'static>],
    versions: &[&'static SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in trusted {
        roots.add((*c).clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn any_version(cert: &Cert) -> Arc<ClientConfig> {
    client_config(
        &[&cert.der],
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        &[b"http/1.1"],
    )
}

async fn tls_connect(addr: SocketAddr, config: Arc<ClientConfig>) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let handshake = TlsConnector::from(config).connect(name, tcp);
    tokio::time::timeout(Duration::from_secs(30), handshake)
        .await
        .expect("the server finished the TLS handshake in time")
        .unwrap()
}

/// Raw HTTP/1.1 bytes over a fresh TLS connection; the answer, read until the server closes.
async fn tls_send(addr: SocketAddr, config: Arc<ClientConfig>, req: &[u8]) -> Response {
    let mut s = tls_connect(addr, config).await;
    s.write_all(req).await.unwrap();
    let mut buf = Vec::new();
    // A close without close_notify is an error to rustls; the bytes read so far stand.
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .expect("the server answered in time");
    parse_response(&buf)
}

fn admin(name: &str, query: &str, key: &str) -> Vec<u8> {
    format!(
        "GET /api/v3/command/{name}?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

async fn tls_server(cert: &Cert, limits: Limits) -> TestServer {
    let (c, k) = (cert.cert.clone(), cert.key.clone());
    TestServer::start_with(
        move |o| {
            o.tls_cert = Some(c);
            o.tls_key = Some(k);
        },
        limits,
    )
    .await
}

async fn put_webhook(s: &TestServer, config: Arc<ClientConfig>, key: &str) -> Value {
    let r = tls_send(
        s.addr,
        config,
        &admin("webhook.put", &format!("eventKey={key}"), &s.key),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn tls_events(s: &TestServer, config: Arc<ClientConfig>) -> Vec<Value> {
    let r = tls_send(s.addr, config, &admin("event.list", "limit=100", &s.key)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_speaks_tls_1_2_and_1_3_and_http2() {
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "a");
    let s = tls_server(&cert, Limits::default()).await;
    let w = put_webhook(&s, any_version(&cert), "webhook.tls").await;
    let url = w["webhookUrl"].as_str().unwrap();
    assert!(url.starts_with(&format!("https://{}/", s.addr)), "{url}");
    let token = uuid_of(&w);
    for (version, want) in [
        (&rustls::version::TLS12, ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, ProtocolVersion::TLSv1_3),
    ] {
        let config = client_config(&[&cert.der], &[version], &[b"http/1.1"]);
        let mut tls = tls_connect(s.addr, config).await;
        assert_eq!(tls.get_ref().1.protocol_version(), Some(want));
        let req = post(RECEIVE, &format!("token: {token}\r\n"), b"{\"a\":1}");
        tls.write_all(&req).await.unwrap();
        let mut buf = Vec::new();
        let _ = tls.read_to_end(&mut buf).await;
        assert_eq!(parse_response(&buf).status, 200, "{want:?}");
    }
    // HTTP/2, chosen by ALPN.
    let config = client_config(
        &[&cert.der],
        &[&rustls::version::TLS13],
        &[b"h2", b"http/1.1"],
    );
    let tls = tls_connect(s.addr, config).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::post(format!("https://{}{RECEIVE}", s.addr))
        .header("token", &token)
        .body(Full::new(Bytes::from_static(b"{\"h2\":true}")))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    assert_eq!(res.version(), hyper::Version::HTTP_2);
    assert_eq!(res.status(), 200);
    assert_eq!(tls_events(&s, any_version(&cert)).await.len(), 3);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_the_https_port_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "a");
    let s = tls_server(&cert, Limits::default()).await;
    let mut plain = TcpStream::connect(s.addr).await.unwrap();
    plain.write_all(&get("/healthz")).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), plain.read_to_end(&mut buf))
        .await
        .expect("the server hung up");
    // At most a TLS alert record (content type 21), never an HTTP answer.
    assert!(!buf.starts_with(b"HTTP/"), "{buf:?}");
    assert!(buf.is_empty() || buf[0] == 21, "{buf:?}");
    let r = tls_send(s.addr, any_version(&cert), &get("/healthz")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    s.stop().await;
}

/// The start of a handshake record that announces 16,000 bytes: trickled, it never ends.
const ENDLESS_HANDSHAKE: [u8; 5] = [0x16, 0x03, 0x01, 0x3e, 0x80];

/// Writes `bytes` one at a time, then `filler` for ever, until the server hangs up; whether
/// it did within half a minute (the tests' header timeout is 2 s, the idle timeout 2 min).
async fn trickle<S>(mut s: S, bytes: Vec<u8>, filler: u8) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let start = Instant::now();
    for b in bytes.into_iter().chain(std::iter::repeat(filler)) {
        if s.write_all(&[b]).await.is_err() || s.flush().await.is_err() {
            return true;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) | Err(_) => {}
        }
        if start.elapsed() > Duration::from_secs(30) {
            return false;
        }
    }
    false
}

/// Waits for the server to hang up on a client that sends nothing more; whether it did
/// within half a minute.
async fn closed_while_silent<S: tokio::io::AsyncRead + Unpin>(mut s: S) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_tls_clients_are_cut_off_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "a");
    // The idle timeout would also end some of them, later: make it too late to matter.
    let limits = Limits {
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let s = tls_server(&cert, limits).await;
    let token = uuid_of(&put_webhook(&s, any_version(&cert), "webhook.slow").await);
    let mut slow = Vec::new();
    for _ in 0..10 {
        // The handshake trickled, never finished.
        let tcp = TcpStream::connect(s.addr).await.unwrap();
        slow.push(tokio::spawn(trickle(tcp, ENDLESS_HANDSHAKE.to_vec(), 0)));
        // The handshake finished, then nothing.
        let tls = tls_connect(s.addr, any_version(&cert)).await;
        slow.push(tokio::spawn(closed_while_silent(tls)));
        // The handshake finished, then headers trickled.
        let tls = tls_connect(s.addr, any_version(&cert)).await;
        let head = format!("POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nX-Slow: ").into_bytes();
        slow.push(tokio::spawn(trickle(tls, head, b'a')));
    }
    for i in 0..20 {
        let body = format!("{{\"i\":{i}}}");
        let req = post(RECEIVE, &format!("token: {token}\r\n"), body.as_bytes());
        assert_eq!(tls_send(s.addr, any_version(&cert), &req).await.status, 200);
    }
    for (i, h) in slow.into_iter().enumerate() {
        assert!(
            h.await.unwrap(),
            "slow client {i} (kind {}) was never cut off",
            i % 3
        );
    }
    assert_eq!(tls_events(&s, any_version(&cert)).await.len(), 20);
    s.stop().await;
}

/// A TLS connection that keeps sending is served past the header timeout: the deadline for
/// its first request is not one for the connection. (It was: every HTTPS connection was cut
/// `header_read_timeout` after its handshake, requests in flight or not.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_tls_connection_outlives_the_first_request_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "a");
    let limits = Limits {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let s = tls_server(&cert, limits).await;
    let token = uuid_of(&put_webhook(&s, any_version(&cert), "webhook.busy").await);
    let mut tls = tls_connect(s.addr, any_version(&cert)).await;
    let started = tokio::time::Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let body = format!("{{\"i\":{sent}}}");
        let req = post(RECEIVE, &format!("token: {token}\r\n"), body.as_bytes());
        // `post` asks the server to close after answering; this connection stays open.
        let req = String::from_utf8(req)
            .unwrap()
            .replace("Connection: close\r\n", "");
        tls.write_all(req.as_bytes()).await.unwrap();
        let head = read_head(&mut tls).await;
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "request {sent} after {:?}: {head:?}",
            started.elapsed()
        );
        sent += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tls_events(&s, any_version(&cert)).await.len(), sent);
    s.stop().await;
}

/// One response's head, with its body read past by its Content-Length; empty when the
/// connection ended first.
async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return String::from_utf8_lossy(&buf).into_owned(),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.unwrap();
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_on_the_https_port_does_not_starve_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "a");
    // The header timeout also ends a kept-alive connection that idles that long: long enough
    // that a busy machine cannot make the established client look idle between calls.
    let limits = Limits {
        max_connections: 8,
        header_read_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let s = tls_server(&cert, limits).await;
    let token = uuid_of(&put_webhook(&s, any_version(&cert), "webhook.flood").await);
    // An established keep-alive client over TLS.
    let tls = tls_connect(s.addr, any_version(&cert)).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut roundtrip = async |i: usize| {
        let req = hyper::Request::post(RECEIVE)
            .header("host", "x")
            .header("token", &token)
            .body(Full::new(Bytes::from(format!("{{\"i\":{i}}}"))))
            .unwrap();
        sender.ready().await.unwrap();
        let res = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
            .await
            .expect("the established client was starved")
            .unwrap();
        assert_eq!(res.status(), 200);
        res.into_body().collect().await.unwrap();
    };
    roundtrip(0).await;
    // Five times the cap in connections that never start their handshake. Those in the
    // backlog get their turn as the ones served are cut off, one header timeout per slot.
    let mut flood = Vec::new();
    for _ in 0..40 {
        flood.push(TcpStream::connect(s.addr).await.unwrap());
    }
    for i in 1..=20 {
        roundtrip(i).await;
    }
    // Flooders are cut off by the header timeout, so newcomers get in again.
    let r = tls_send(s.addr, any_version(&cert), &get("/healthz")).await;
    assert_eq!(r.status, 200);
    drop(flood);
    assert_eq!(tls_events(&s, any_version(&cert)).await.len(), 21);
    s.stop().await;
}

/// POSTs `body` without a token over one HTTP/2-over-TLS connection, `streams` at a time;
/// the statuses (0 for a refused stream).
async fn h2_tls_flood(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    body: Bytes,
    streams: usize,
) -> Vec<u16> {
    let tls = tls_connect(addr, config).await;
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let calls: Vec<_> = (0..streams)
        .map(|_| {
            let mut sender = sender.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let req = hyper::Request::post(format!("https://x{RECEIVE}"))
                    .header("content-type", "multipart/form-data; boundary=XyZ")
                    .body(Full::new(body))
                    .unwrap();
                match sender.send_request(req).await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    statuses
}

/// POSTs `size` bytes chunked without a token over HTTP/1.1 on TLS; the status, or 0.
async fn h1_tls_chunked_post(addr: SocketAddr, config: Arc<ClientConfig>, size: usize) -> u16 {
    let mut s = tls_connect(addr, config).await;
    let head = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        return 0;
    }
    let chunk = [b'a'; 64 * 1024];
    let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
    for _ in 0..size / chunk.len() {
        if s.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf)
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The body budget holds over TLS as over plain HTTP (tests/abuse.rs): many HTTP/2 streams
/// and HTTP/1 connections of 4 MiB each keep the peak RSS under the budget plus overhead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_memory_stays_within_the_budget_over_tls() {
    const BUDGET_MIB: u64 = 16;
    const OVERHEAD_MIB: u64 = 96;
    let dir = tempfile::tempdir().unwrap();
    let cert = make_cert(dir.path(), "a");
    let server = child::Serve::start_with(
        &dir.path().join("data"),
        child::free_addr(),
        &[
            "--max-body-memory",
            &(BUDGET_MIB << 20).to_string(),
            "--tls-cert",
            cert.cert.to_str().unwrap(),
            "--tls-key",
            cert.key.to_str().unwrap(),
        ],
    );
    let addr = server.addr;
    assert_eq!(
        tls_send(addr, any_version(&cert), &get("/healthz"))
            .await
            .status,
        200
    );
    let before = server.memory_kib("VmRSS");
    let body = Bytes::from(vec![b'a'; 4 << 20]);
    let h2 = client_config(&[&cert.der], &[&rustls::version::TLS13], &[b"h2"]);
    let h2 = tokio::spawn(h2_tls_flood(addr, h2, body, 100));
    let h1: Vec<_> = (0..32)
        .map(|_| tokio::spawn(h1_tls_chunked_post(addr, any_version(&cert), 4 << 20)))
        .collect();
    let mut statuses = h2.await.unwrap();
    for c in h1 {
        statuses.push(c.await.unwrap());
    }
    let peak = server.memory_kib("VmHWM");
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    eprintln!(
        "TLS: RSS {before} KiB before, peak {peak} KiB; answers: {} x 503, {} x 401, {} x 400, {} cut",
        count(503),
        count(401),
        count(400),
        count(0)
    );
    assert!(
        peak < before + ((BUDGET_MIB + OVERHEAD_MIB) << 10),
        "peak RSS {peak} KiB, from {before} KiB, with a {BUDGET_MIB} MiB budget"
    );
    assert!(count(503) > 0, "the budget never refused a call");
    assert_eq!(
        tls_send(addr, any_version(&cert), &get("/healthz"))
            .await
            .status,
        200
    );
}

/// The certificate a new connection is shown, trusting both `a` and `b`.
async fn served_cert(addr: SocketAddr, a: &Cert, b: &Cert) -> CertificateDer<'static> {
    let config = client_config(
        &[&a.der, &b.der],
        &[&rustls::version::TLS13],
        &[b"http/1.1"],
    );
    let tls = tls_connect(addr, config).await;
    tls.get_ref().1.peer_certificates().unwrap()[0].clone()
}

fn sighup(server: &child::Serve) {
    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

fn log_has(server: &child::Serve, what: &str) -> bool {
    std::fs::read_to_string(&server.log).is_ok_and(|l| l.contains(what))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_keeps_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_cert(dir.path(), "a");
    let b = make_cert(dir.path(), "b");
    let (cert, key) = (dir.path().join("live.crt"), dir.path().join("live.key"));
    std::fs::copy(&a.cert, &cert).unwrap();
    std::fs::copy(&a.key, &key).unwrap();
    let server = child::Serve::start_with(
        &dir.path().join("data"),
        child::free_addr(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let addr = server.addr;
    assert_eq!(served_cert(addr, &a, &b).await, a.der);
    // A keep-alive connection opened before the reload, which trusts only `a`.
    let tls = tls_connect(addr, any_version(&a)).await;
    let (mut open, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut healthz = async || {
        let req = hyper::Request::get("/healthz")
            .header("host", "x")
            .body(Full::new(Bytes::new()))
            .unwrap();
        open.ready().await?;
        open.send_request(req).await.map(|r| r.status().as_u16())
    };
    assert_eq!(healthz().await.unwrap(), 200);

    std::fs::copy(&b.cert, &cert).unwrap();
    std::fs::copy(&b.key, &key).unwrap();
    sighup(&server);
    let deadline = Instant::now() + Duration::from_secs(20);
    while served_cert(addr, &a, &b).await != b.der {
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(log_has(&server, "TLS certificate reloaded"));
    // The connection from before the reload lives on.
    assert_eq!(healthz().await.unwrap(), 200);

    // A broken file: the reload fails, says so, and the certificate in use stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    sighup(&server);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log_has(&server, "not reloaded") {
        assert!(
            Instant::now() < deadline,
            "the failed reload was not logged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(served_cert(addr, &a, &b).await, b.der);
    assert_eq!(healthz().await.unwrap(), 200);
    assert!(server.terminate().success());
}

#[test]
fn bad_certificate_options_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_cert(dir.path(), "a");
    let b = make_cert(dir.path(), "b");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--tls-cert".into(), s(&a.cert)], "--tls-key"),
        (vec!["--tls-key".into(), s(&a.key)], "--tls-cert"),
        (
            vec![
                "--tls-cert".into(),
                s(&missing),
                "--tls-key".into(),
                s(&a.key),
            ],
            "cannot read",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&garbage),
                "--tls-key".into(),
                s(&a.key),
            ],
            "not a valid PEM certificate",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&a.key),
                "--tls-key".into(),
                s(&a.key),
            ],
            "no certificate in it",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&a.cert),
                "--tls-key".into(),
                s(&a.cert),
            ],
            "no usable PEM private key",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&a.cert),
                "--tls-key".into(),
                s(&b.key),
            ],
            "does not belong to the certificate",
        ),
    ];
    for (args, want) in cases {
        let out = std::process::Command::new(child::BIN)
            .arg("serve")
            .args(["--listen", &child::free_addr().to_string(), "--data"])
            .arg(dir.path().join("data"))
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        // The key's contents never show.
        let pem = std::fs::read_to_string(&b.key).unwrap();
        let secret_line = pem.lines().nth(1).unwrap();
        assert!(!err.contains(secret_line), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooktail_command_talks_https() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_cert(dir.path(), "a");
    let b = make_cert(dir.path(), "b");
    let data = dir.path().join("data");
    let tls = [
        "--tls-cert",
        a.cert.to_str().unwrap(),
        "--tls-key",
        a.key.to_str().unwrap(),
    ];
    let server = child::Serve::start_with(&data, child::free_addr(), &tls);
    // With the server's own options, it trusts the server's certificate.
    let mut args = vec!["webhook.put", "eventKey=webhook.cli"];
    args.extend(tls);
    let (code, out, err) = child::command(&data, server.addr, &args);
    assert_eq!(code, 0, "{err}");
    let w: Value = serde_json::from_str(&out).unwrap();
    assert!(
        w["webhookUrl"].as_str().unwrap().starts_with("https://"),
        "{w}"
    );
    // --cacert alone.
    let ca = a.cert.to_str().unwrap();
    let (code, out, err) = child::command(&data, server.addr, &["webhook.get", "--cacert", ca]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A certificate it does not trust: a clear failure, no fallback to the store.
    let other = b.cert.to_str().unwrap();
    let (code, _, err) = child::command(&data, server.addr, &["webhook.get", "--cacert", other]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TLS handshake failed"), "{err}");
    assert!(err.contains("pass --cacert FILE"), "{err}");
    assert!(server.terminate().success());
}

/// A self-signed certificate made as a CA (openssl's default) serves, but clients refuse it
/// as a server's: `hooktail command` says so and how to make one they take.
#[test]
fn a_ca_certificate_served_is_refused_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let made = params.self_signed(&key).unwrap();
    let (cert, key_file) = (dir.path().join("ca.crt"), dir.path().join("ca.key"));
    std::fs::write(&cert, made.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let tls = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key_file.to_str().unwrap(),
    ];
    let server = child::Serve::start_with(&data, child::free_addr(), &tls);
    let ca = cert.to_str().unwrap();
    let (code, _, err) = child::command(&data, server.addr, &["webhook.get", "--cacert", ca]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("basicConstraints=critical,CA:FALSE"), "{err}");
    assert!(server.terminate().success());
}

/// The admin key may go to another host over HTTPS, never over plain HTTP.
#[test]
fn the_admin_key_goes_to_another_host_only_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_cert(dir.path(), "a");
    let data = dir.path().join("data");
    // TEST-NET-1: not this host, and nothing answers there.
    let far: SocketAddr = "192.0.2.1:8080".parse().unwrap();
    let (code, _, err) = child::command(&data, far, &["webhook.get"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("refusing to send the admin key over plain HTTP"),
        "{err}"
    );
    let ca = a.cert.to_str().unwrap();
    let (code, _, err) = child::command(&data, far, &["webhook.get", "--cacert", ca]);
    assert!(!err.contains("refusing"), "{err}");
    // Nobody answers, so it worked on the store directly.
    assert_eq!(code, 0, "{err}");
}
