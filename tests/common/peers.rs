//! Real peers for pipeline tests, on 127.0.0.1:0: an SMTP server (the `mailin` crate's
//! protocol state machine) and a hyper server that records every request.
#![allow(dead_code)]

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

// A real SMTP server: mailin's protocol state machine over a std TcpListener.

#[derive(Debug, Clone, Default)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    pub auth: Option<(String, String)>,
}

#[derive(Clone)]
struct Collector {
    current: Received,
    auth: Option<(String, String)>,
    refuse_rcpt: bool,
    done: mpsc::Sender<Received>,
}

impl mailin::Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> mailin::Response {
        self.current = Received {
            from: from.to_string(),
            auth: self.auth.clone(),
            ..Default::default()
        };
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> mailin::Response {
        if self.refuse_rcpt {
            return mailin::response::NO_MAILBOX;
        }
        self.current.to.push(to.to_string());
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin::Response {
        let _ = self.done.send(std::mem::take(&mut self.current));
        mailin::response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> mailin::Response {
        self.auth = Some((user.to_string(), password.to_string()));
        mailin::response::AUTH_OK
    }
}

/// Starts the server; every accepted message arrives on the returned channel.
pub fn smtp_server(with_auth: bool, refuse_rcpt: bool) -> (SocketAddr, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let handler = Collector {
                current: Received::default(),
                auth: None,
                refuse_rcpt,
                done: tx.clone(),
            };
            std::thread::spawn(move || {
                let mut builder = mailin::SessionBuilder::new("test.smtp");
                if with_auth {
                    builder
                        .enable_auth(mailin::AuthMechanism::Plain)
                        .insecure_enable_plaintext_auth();
                }
                let peer = stream.peer_addr().unwrap().ip();
                let mut session = builder.build(peer, handler);
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                session.greeting().write_to(&mut writer).unwrap();
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let res = session.process(&line);
                    match res.action {
                        mailin::Action::NoReply => {}
                        mailin::Action::Close => {
                            let _ = res.write_to(&mut writer);
                            return;
                        }
                        _ => {
                            if res.write_to(&mut writer).is_err() || writer.flush().is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// The header block and the decoded body of a received message.
pub fn decode_message(data: &[u8]) -> (String, Vec<u8>) {
    let text = String::from_utf8(data.to_vec()).expect("the message is ASCII on the wire");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers and body");
    assert!(
        head.contains("Content-Transfer-Encoding: base64"),
        "the body is sent base64-encoded so its bytes are kept: {head}"
    );
    assert!(
        head.contains("Content-Type: text/plain; charset=utf-8"),
        "{head}"
    );
    let b64: String = body.split_whitespace().collect();
    (head.to_string(), B64.decode(b64).unwrap())
}

pub fn recv(rx: &mpsc::Receiver<Received>) -> Received {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the SMTP server received a message")
}

// ---------------------------------------------------------------------------------------------
// A hyper server that records every request.

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
pub struct HttpServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Recorded>>>,
    /// While on, `/switch` answers 500.
    pub failing: Arc<AtomicBool>,
}

impl HttpServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// Routes: `/json`, `/text`, `/status/N`, `/flaky` (503 twice, then 200), `/switch` (500
/// while `failing` is on), `/slow` (20 ms), `/hang` (never answers), `/big` (5 MiB), anything else 200 `echo`.
pub async fn http_server() -> HttpServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let flaky = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicBool::new(false));
    let server = HttpServer {
        addr,
        seen: seen.clone(),
        failing: failing.clone(),
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            let flaky = flaky.clone();
            let failing = failing.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let seen = seen.clone();
                    let flaky = flaky.clone();
                    let failing = failing.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let path = parts.uri.path().to_string();
                        seen.lock().unwrap().push(Recorded {
                            method: parts.method.to_string(),
                            path: path.clone(),
                            query: parts.uri.query().map(str::to_string),
                            headers: parts
                                .headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.to_string(), v.to_str().unwrap_or("?").to_string())
                                })
                                .collect(),
                            body,
                        });
                        let reply = |status: u16, ctype: &str, body: Bytes| {
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .status(status)
                                    .header("content-type", ctype)
                                    .header("x-reply", "yes")
                                    .body(Full::new(body))
                                    .unwrap(),
                            )
                        };
                        match path.as_str() {
                            "/json" => {
                                reply(200, "application/json", r#"{"ok":true,"n":1}"#.into())
                            }
                            "/text" => reply(200, "text/plain", "plain".into()),
                            "/flaky" => {
                                if flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                                    reply(503, "text/plain", "not yet".into())
                                } else {
                                    reply(200, "application/json", r#"{"attempt":3}"#.into())
                                }
                            }
                            "/switch" if failing.load(Ordering::SeqCst) => {
                                reply(500, "text/plain", "failing".into())
                            }
                            "/slow" => {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                                reply(200, "text/plain", "slow".into())
                            }
                            "/hang" => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                reply(200, "text/plain", "late".into())
                            }
                            "/big" => reply(200, "text/plain", Bytes::from(vec![b'x'; 5 << 20])),
                            p if p.starts_with("/status/") => {
                                let code = p["/status/".len()..].parse().unwrap();
                                reply(code, "text/plain", format!("status {code}").into())
                            }
                            _ => reply(200, "text/plain", "echo".into()),
                        }
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    server
}
