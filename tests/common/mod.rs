//! Test support: an in-process server on 127.0.0.1:0 over a temp store, and a raw HTTP/1.1
//! client that sends exactly the bytes a test writes (so malformed requests stay malformed).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hooktail::app::Running;
use hooktail::cli::Options;
use hooktail::http::Limits;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct TestServer {
    pub addr: SocketAddr,
    pub key: String,
    pub dir: tempfile::TempDir,
    pub opts: Options,
    running: Option<Running>,
}

pub fn options(data: PathBuf) -> Options {
    Options::for_data(&data, "127.0.0.1:0".parse().unwrap()).unwrap()
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}, Limits::default()).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Options), limits: Limits) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = options(dir.path().join("data"));
        tweak(&mut opts);
        let running = Running::start(&opts, limits).await.unwrap();
        opts.listen = running.addr;
        let key = std::fs::read_to_string(opts.data.join("admin.key")).unwrap();
        TestServer {
            addr: running.addr,
            key,
            dir,
            opts,
            running: Some(running),
        }
    }

    /// Starts again on a stopped server's data dir and address.
    pub async fn start_in(
        dir: tempfile::TempDir,
        addr: SocketAddr,
        tweak: impl FnOnce(&mut Options),
    ) -> TestServer {
        let mut opts = options(dir.path().join("data"));
        opts.listen = addr;
        tweak(&mut opts);
        let running = Running::start(&opts, Limits::default()).await.unwrap();
        let key = std::fs::read_to_string(opts.data.join("admin.key")).unwrap();
        TestServer {
            addr: running.addr,
            key,
            dir,
            opts,
            running: Some(running),
        }
    }

    /// Stops gracefully and waits until the store is closed.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// An admin command by GET with query parameters.
    pub async fn cmd(&self, name: &str, query: &str) -> Response {
        let req = format!(
            "GET /api/v3/command/{name}?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.key
        );
        send(self.addr, req.as_bytes()).await
    }

    /// Creates a webhook and returns its JSON.
    pub async fn put(&self, event_key: &str) -> Value {
        let r = self
            .cmd("webhook.put", &format!("eventKey={event_key}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// event.list as JSON.
    pub async fn events(&self, query: &str) -> Vec<Value> {
        let r = self.cmd("event.list", query).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json().as_array().unwrap().clone()
    }

    /// event.list once it holds at least `n` records: refusals are answered before their
    /// rejection records are committed.
    pub async fn wait_for_events(&self, query: &str, n: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.events(query).await;
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {n} records stored",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn event(&self, id: &str) -> Value {
        let r = self.cmd("event.get", &format!("id={id}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends raw bytes on a fresh connection and reads the answer until the server closes.
/// The uuid (the token) of a webhook's JSON.
pub fn uuid_of(w: &Value) -> String {
    w["uuid"].as_str().unwrap().to_string()
}

pub async fn send(addr: SocketAddr, req: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    read_response(&mut s).await
}

pub async fn read_response(s: &mut TcpStream) -> Response {
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .expect("server answered in time")
        .unwrap();
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> Response {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    let raw = &buf[split + 4..];
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(raw)
    } else {
        raw.to_vec()
    };
    Response { status, head, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let n =
            usize::from_str_radix(std::str::from_utf8(&raw[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + n]);
        raw = &raw[eol + 2 + n + 2..];
    }
    out
}

/// A POST to webhook.receive with extra header lines and a body (Content-Length set).
pub fn post(path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
}

pub const RECEIVE: &str = "/api/v3/command/webhook.receive";

pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// The seed's multipart body: parts named `file` with fileA.pdf and fileB.pdf.
pub fn seed_multipart() -> (String, Vec<u8>) {
    let boundary = "----hooktailBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, bytes) in [
        ("fileA.pdf", &b"%PDF-1.4 A\x00\x01\x02"[..]),
        ("fileB.pdf", &b"%PDF-1.4 BB\xff"[..]),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
