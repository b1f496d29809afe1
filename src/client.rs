//! `hooktail command NAME KEY=VALUE…`: ask the running server, or, when none answers, run the
//! command directly on the store.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::app::{self, Core};
use crate::cli::Options;
use crate::http::routes;
use crate::service::Source;
use crate::service::command::{self, CommandName, Params};

/// How a command ended, for the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Exit 2.
    Usage(String),
    /// Exit 1.
    Failed(String),
}

/// Parameters whose value `@FILE` or `@-` (stdin) reads from a file, so that a pipeline
/// document need not be quoted, and a secret stays out of `ps` and the shell's history.
const FROM_FILE: [&str; 4] = [
    "yaml",
    "verify.secret",
    "verify.previousSecret",
    "handshake.verifyToken",
];

/// `KEY=VALUE` pairs. For the keys in [`FROM_FILE`], `@FILE` reads the value from FILE and
/// `@-` from stdin (once); a secret read so loses one trailing newline, as `echo` and
/// editors add one.
pub fn parse_params(raw: &[String]) -> Result<Params, Failure> {
    let mut stdin_read = false;
    raw.iter()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| Failure::Usage(format!("parameter {kv:?} is not KEY=VALUE")))?;
            let Some(from) = v.strip_prefix('@').filter(|_| FROM_FILE.contains(&k)) else {
                return Ok((k.to_string(), v.to_string()));
            };
            let mut v = if from == "-" {
                if std::mem::replace(&mut stdin_read, true) {
                    return Err(Failure::Usage(format!(
                        "{k}=@-: only one parameter can read stdin"
                    )));
                }
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| Failure::Failed(format!("cannot read {k} from stdin: {e}")))?
            } else {
                std::fs::read_to_string(from)
                    .map_err(|e| Failure::Failed(format!("cannot read {k} from {from}: {e}")))?
            };
            if k != "yaml" {
                let kept = v
                    .strip_suffix('\n')
                    .map(|s| s.strip_suffix('\r').unwrap_or(s));
                v.truncate(kept.map_or(v.len(), str::len));
            }
            Ok((k.to_string(), v))
        })
        .collect()
}

pub async fn run(opts: &Options, name: &str, raw: &[String]) -> Result<(), Failure> {
    let params = parse_params(raw)?;
    let Some(name) = CommandName::parse(name) else {
        return Err(Failure::Usage(format!(
            "unknown command {name:?}; commands are {}",
            CommandName::listing("")
        )));
    };
    if let Some(url) = &opts.remote {
        return at_url(opts, url, name, &params).await;
    }
    // As the dashboard does: without --listen, the data dir's server says where it listens;
    // without one, the command runs on this data dir's store, never on whatever server
    // happens to listen at the default address (it may be another store's).
    let found;
    let opts = if opts.listen_given {
        opts
    } else {
        let Some((listen, https)) = addr_file_listen(opts) else {
            return local(opts, name, &params).await;
        };
        if https && opts.cacert.is_none() && opts.tls_cert.is_none() {
            return Err(Failure::Usage(format!(
                "the server of {} serves HTTPS at {listen}: pass --cacert FILE (its \
                 certificate, or the CA that signed it)",
                opts.data.display()
            )));
        }
        found = Options {
            listen,
            ..opts.clone()
        };
        &found
    };
    let server = Server::new(opts).map_err(Failure::Usage)?;
    if !opts.insecure && !server.is_https() && !on_this_host(opts.listen) {
        return Err(Failure::Usage(format!(
            "refusing to send the admin key over plain HTTP to {}, which is not this host; \
             serve HTTPS (--tls-cert, and --cacert here if it is self-signed), reach it \
             through a tunnel (ssh -L) at a loopback address, or pass --insecure",
            opts.listen
        )));
    }
    let connect = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(server.addr));
    let stream = match connect.await {
        Ok(Ok(stream)) => stream,
        _ => return local(opts, name, &params).await,
    };
    let stream = server
        .secure(stream)
        .await
        .map_err(|e| Failure::Failed(format!("hooktail at {}: {e}", opts.listen)))?;
    remote(opts, stream, name, &params).await
}

/// The address in the data dir's `serve.addr`, and whether it is HTTPS, when a server wrote
/// one. A stale one is harmless: when nothing answers there, the command runs on the store
/// as usual.
fn addr_file_listen(opts: &Options) -> Option<(std::net::SocketAddr, bool)> {
    let url = url::Url::parse(&app::read_addr_file(&opts.data)?).ok()?;
    let ip: IpAddr = url.host_str()?.trim_matches(['[', ']']).parse().ok()?;
    let addr = std::net::SocketAddr::new(ip, url.port_or_known_default()?);
    Some((addr, url.scheme() == "https"))
}

/// A connection to the server, plain or TLS.
pub trait Connection: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Connection for T {}

/// How to reach the running server: its address, and TLS when it serves HTTPS.
pub struct Server {
    addr: std::net::SocketAddr,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Server {
    /// HTTPS when `--tls-cert` (the server's own certificate) or `--cacert` is given; the
    /// certificates in those files are the ones trusted. The name checked is the host of an
    /// `https` `--public-url`, else the `--listen` address.
    pub fn new(opts: &Options) -> Result<Server, String> {
        // An unspecified address reaches this host; the certificate names it by loopback.
        let mut addr = opts.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                IpAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        let Some(trusted) = opts.cacert.as_ref().or(opts.tls_cert.as_ref()) else {
            return Ok(Server { addr, tls: None });
        };
        let name = match opts
            .public_url
            .as_deref()
            .and_then(|u| u.strip_prefix("https://"))
        {
            Some(rest) => {
                let host = url::Url::parse(&format!("https://{rest}"))
                    .ok()
                    .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))
                    .ok_or_else(|| format!("--public-url {rest:?} has no host"))?;
                ServerName::try_from(host).map_err(|e| format!("--public-url: {e}"))?
            }
            None => ServerName::IpAddress(addr.ip().into()),
        };
        let connector = tls_connector(trusted)?;
        Ok(Server {
            addr,
            tls: Some((connector, name)),
        })
    }

    pub fn is_https(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS handshake over `stream` when the server speaks HTTPS.
    pub async fn secure(&self, stream: TcpStream) -> Result<Box<dyn Connection>, String> {
        let Some((connector, name)) = &self.tls else {
            return Ok(Box::new(stream));
        };
        let handshake = connector.connect(name.clone(), stream);
        match tokio::time::timeout(Duration::from_secs(10), handshake).await {
            Ok(Ok(tls)) => Ok(Box::new(tls)),
            Ok(Err(e)) => Err(format!("TLS handshake failed: {e}{}", tls_hint(&e))),
            Err(_) => Err("TLS handshake timed out".into()),
        }
    }
}

/// What to do about the usual reasons a client refuses a server's certificate, for the end
/// of an error whose chain holds one; empty otherwise.
pub fn tls_hint(e: &dyn std::error::Error) -> &'static str {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        "; the certificate is not one this client trusts: pass --cacert FILE (the server's \
         certificate, or the CA that signed it)"
    } else if text.contains("CaUsedAsEndEntity") {
        "; the server's certificate is a CA certificate (basicConstraints CA:TRUE), which \
         clients refuse as a server's: make it with -addext basicConstraints=critical,CA:FALSE \
         (README, HTTPS)"
    } else if text.contains("NotValidForName") {
        "; the certificate does not name the address dialled: give it a subjectAltName with \
         that IP or DNS name (README, HTTPS)"
    } else if text.contains("Expired") {
        "; the certificate has expired: make a new one and send the server SIGHUP"
    } else {
        ""
    }
}

/// A TLS client (TLS 1.2 and 1.3, HTTP/1.1) that trusts the certificates in the PEM file
/// `trusted`: a self-signed certificate, a private CA, or the server's own chain.
fn tls_connector(trusted: &std::path::Path) -> Result<TlsConnector, String> {
    Ok(TlsConnector::from(Arc::new(trusting(trusted)?)))
}

/// A TLS client config (TLS 1.2 and 1.3) whose only roots are the certificates in the PEM
/// file `trusted`; `hooktail command` and the attached dashboard both use it.
pub fn trusting(trusted: &std::path::Path) -> Result<rustls::ClientConfig, String> {
    let shown = trusted.display();
    let pem = std::fs::read(trusted).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{shown} is not a PEM certificate file: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{shown}: a certificate cannot be trusted: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{shown} holds no certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Whether `addr` is this host: loopback, unspecified (which reaches this host), or an
/// address of one of its interfaces (those bind). Only there may the key go over plain HTTP.
fn on_this_host(addr: std::net::SocketAddr) -> bool {
    let ip = addr.ip().to_canonical();
    ip.is_loopback() || ip.is_unspecified() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

async fn remote(
    opts: &Options,
    stream: Box<dyn Connection>,
    name: CommandName,
    params: &Params,
) -> Result<(), Failure> {
    let failed =
        |e: &dyn std::fmt::Display| Failure::Failed(format!("hooktail at {}: {e}", opts.listen));
    let key = app::read_admin_key(&opts.data)
        .map_err(|e| Failure::Failed(format!("{e:#}")))?
        .ok_or_else(|| {
            Failure::Failed(format!(
                "a server answers at {}, but there is no admin key in {}; pass the --data it uses",
                opts.listen,
                opts.data.display()
            ))
        })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(&e))?;
    tokio::spawn(conn);
    let body = serde_json::to_vec(params).map_err(|e| failed(&e))?;
    let req = Request::post(routes::command_path(name))
        .header(HOST, opts.listen.to_string())
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .header(CONTENT_TYPE, "application/json")
        .header(Source::HEADER, Source::Cli.as_str())
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| failed(&e))?;
    let res = sender.send_request(req).await.map_err(|e| failed(&e))?;
    let status = res.status();
    let body = res.into_body();
    if status.is_success() && name.streams() {
        return print_stream(body).await.map_err(|e| failed(&e));
    }
    let bytes = body.collect().await.map_err(|e| failed(&e))?.to_bytes();
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| failed(&e))?;
    if status.is_success() {
        print_json(&value);
        Ok(())
    } else {
        let msg = value["message"]
            .as_str()
            .unwrap_or("request failed")
            .to_string();
        Err(Failure::Failed(format!("{msg} (HTTP {})", status.as_u16())))
    }
}

/// A command against the server at `--remote URL` (§1, §8): through the same client as the
/// attached dashboard, so the key goes only to loopback or HTTPS and `--cacert` is trusted.
async fn at_url(
    opts: &Options,
    url: &str,
    name: CommandName,
    params: &Params,
) -> Result<(), Failure> {
    let key = crate::remote::admin_key(&opts.data).map_err(|e| Failure::Usage(format!("{e:#}")))?;
    let trusted = opts.cacert.as_deref().or(opts.tls_cert.as_deref());
    let api = crate::remote::Api::trusting(url, &key, opts.insecure, trusted)
        .map_err(Failure::Usage)?
        .with_source(Source::Cli);
    let failed = |e: &dyn std::fmt::Display| Failure::Failed(format!("hooktail at {url}: {e}"));
    if name.streams() {
        let pattern = params.get("eventKey").map(String::as_str);
        let body = api.listen(pattern).await.map_err(|e| failed(&e))?;
        return print_stream(body).await.map_err(|e| failed(&e));
    }
    let pairs: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let value = api.call(name, &pairs).await.map_err(|e| failed(&e))?;
    print_json(&value);
    Ok(())
}

/// Prints an `event.listen` stream: one JSON event per line as they arrive; lag notices go
/// to stderr.
async fn print_stream(mut body: hyper::body::Incoming) -> Result<(), String> {
    let mut out = std::io::stdout();
    let mut sse = Sse::default();
    let mut items = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Ok(data) = frame.into_data() {
            sse.feed(&data, &mut items)?;
            for item in items.drain(..) {
                match item {
                    SseItem::Data(json) => {
                        let _ = writeln!(out, "{json}");
                    }
                    SseItem::Comment(c) if c.starts_with("lagged") => {
                        eprintln!("hooktail: {c}; the server caught up from its store");
                    }
                    SseItem::Comment(_) => {}
                }
            }
            let _ = out.flush();
        }
    }
    Ok(())
}

/// Largest server-sent event taken: far above any event `--max-payload` allows.
const MAX_SSE_EVENT: usize = 256 << 20;

/// A server-sent events parser (the WHATWG format) that keeps partial lines and events
/// across reads, however the bytes are split. The maintained crates drop comment lines,
/// and comments carry the server's lag notices.
#[derive(Debug, Default)]
struct Sse {
    line: Vec<u8>,
    data: Option<Vec<u8>>,
    /// The last line ended with CR: a LF that follows belongs to it.
    after_cr: bool,
}

#[derive(Debug, PartialEq)]
enum SseItem {
    /// An event's data lines, joined by newlines.
    Data(String),
    /// A comment line, without its `:`.
    Comment(String),
}

impl Sse {
    fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseItem>) -> Result<(), String> {
        while let Some((&first, rest)) = bytes.split_first() {
            if std::mem::take(&mut self.after_cr) && first == b'\n' {
                bytes = rest;
                continue;
            }
            match memchr::memchr2(b'\n', b'\r', bytes) {
                None => {
                    self.line.extend_from_slice(bytes);
                    bytes = &[];
                }
                Some(i) => {
                    self.line.extend_from_slice(&bytes[..i]);
                    self.after_cr = bytes[i] == b'\r';
                    bytes = &bytes[i + 1..];
                    self.end_line(out);
                }
            }
            let held = self.line.len() + self.data.as_ref().map_or(0, Vec::len);
            if held > MAX_SSE_EVENT {
                return Err(format!(
                    "the server sent an event of over {MAX_SSE_EVENT} bytes"
                ));
            }
        }
        Ok(())
    }

    fn end_line(&mut self, out: &mut Vec<SseItem>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseItem::Data(String::from_utf8_lossy(&data).into_owned()));
            }
            return;
        }
        if let Some(comment) = line.strip_prefix(b":") {
            let comment = comment.strip_prefix(b" ").unwrap_or(comment);
            out.push(SseItem::Comment(
                String::from_utf8_lossy(comment).into_owned(),
            ));
            return;
        }
        let (field, value) = match memchr::memchr(b':', &line) {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (&line[..], &[][..]),
        };
        if field == b"data" {
            let data = self.data.get_or_insert_with(Vec::new);
            if !data.is_empty() {
                data.push(b'\n');
            }
            data.extend_from_slice(value);
        }
    }
}

async fn local(opts: &Options, name: CommandName, params: &Params) -> Result<(), Failure> {
    if name.streams() {
        let none = if opts.listen_given {
            format!("none answers at {}", opts.listen)
        } else {
            format!(
                "none runs on {} (it has no serve.addr); pass --listen ADDR for one elsewhere",
                opts.data.display()
            )
        };
        return Err(Failure::Failed(format!(
            "{} needs a running server, and {none}",
            name.name()
        )));
    }
    // The audit lines of changes made without a server go to the data dir's log, as the
    // dashboard's do, and so do the store's warnings on open (a replayed log, a missing
    // one); stdout is the answer's.
    if opts.data.is_dir()
        && let Err(e) = crate::logging::to_file(&opts.data.join(app::LOG_FILE))
    {
        eprintln!(
            "hooktail: cannot open the log in {}: {e}",
            opts.data.display()
        );
    }
    let core = Core::open(opts).map_err(|e| {
        let asked = if opts.listen_given {
            format!("no hooktail answers at {}, and ", opts.listen)
        } else {
            String::new()
        };
        Failure::Failed(format!(
            "{asked}{e:#}; if a server runs on this store, pass its --listen"
        ))
    })?;
    let result = command::run(&core.ctx, name, params, Source::Cli).await;
    core.close().await;
    match result {
        Ok(v) => {
            print_json(&v);
            Ok(())
        }
        Err(e) => Err(Failure::Failed(e.to_string())),
    }
}

fn print_json(v: &serde_json::Value) {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let _ = writeln!(std::io::stdout(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(text: &[u8], piece: usize) -> Vec<SseItem> {
        let mut sse = Sse::default();
        let mut out = Vec::new();
        for chunk in text.chunks(piece) {
            sse.feed(chunk, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn events_and_comments_survive_any_split() {
        let big = "x".repeat(100_000);
        let text = format!(
            ": keep-alive\n\nid: 1\nevent: webhook.a\ndata: {{\"a\":\"{big}\"}}\n\n\
             : lagged, 3 events skipped\r\n\r\ndata: one\rdata: two\r\rdata:three\n\n"
        );
        let want = vec![
            SseItem::Comment("keep-alive".into()),
            SseItem::Data(format!("{{\"a\":\"{big}\"}}")),
            SseItem::Comment("lagged, 3 events skipped".into()),
            SseItem::Data("one\ntwo".into()),
            SseItem::Data("three".into()),
        ];
        for piece in [1, 2, 3, 7, 4096, text.len()] {
            assert_eq!(
                parse_in_pieces(text.as_bytes(), piece),
                want,
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn an_unfinished_event_is_not_emitted() {
        assert!(parse_in_pieces(b"data: half", 3).is_empty());
    }
}
