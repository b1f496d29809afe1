//! A client of a running hooktail server's command API (§2, §8), for the attached dashboard:
//! one pooled HTTP(S) connection to the server, the admin key sent only where §1 allows it,
//! every answer read within a byte cap, and the API's errors mapped back onto
//! `ServiceError` by their status, so that callers see the same errors as in-process.

pub mod json;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::Value;

use crate::http::routes::command_path;
use crate::service::command::CommandName;
use crate::service::{ServiceError, Source};

/// The variable that gives the admin key when the data dir does not hold it.
pub const KEY_VAR: &str = "HOOKTAIL_ADMIN_KEY";
/// Largest answer read, `event.get` aside: a page of 1000 events, each with at most 64 KiB
/// of form and files, stays far below it.
pub const MAX_ANSWER: usize = 32 << 20;
/// Largest `event.get` answer: the body of a 16 MiB payload as base64, with its event.
pub const MAX_EVENT_ANSWER: usize = 24 << 20;
/// Largest `event.list` answer with bodies: the body search's steps hold about 8 MiB of
/// bodies, base64 and all else included, with room for a first step of large ones.
pub const MAX_BODY_PAGE_ANSWER: usize = 64 << 20;
/// Time allowed for one command, answer included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A running server's API. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The server's base URL, without a trailing slash.
    base: Arc<str>,
    /// `Bearer <key>`, marked sensitive so that hyper never logs it.
    auth: HeaderValue,
    /// Who is asking, for the server's audit lines.
    source: Source,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("base", &self.base).finish()
    }
}

impl Api {
    /// A client of the server at `url` (`http://` or `https://`, no path). The key goes only
    /// to a loopback address or over HTTPS, unless `insecure` (§1).
    pub fn new(url: &str, key: &str, insecure: bool) -> Result<Api, String> {
        Api::trusting(url, key, insecure, None)
    }

    /// `new`, trusting only the certificates in the PEM file `trusted` when given (as
    /// `hooktail command` does with `--cacert` or `--tls-cert`), else the public roots. The
    /// certificate must name the host of `url` either way.
    pub fn trusting(
        url: &str,
        key: &str,
        insecure: bool,
        trusted: Option<&Path>,
    ) -> Result<Api, String> {
        let base = check_url(url, insecure)?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| "the admin key holds characters a header cannot carry".to_string())?;
        auth.set_sensitive(true);
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let builder = match trusted {
            Some(file) => hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(crate::client::trusting(file)?),
            None => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_webpki_roots(provider)
                    .map_err(|e| format!("cannot set up TLS: {e}"))?
            }
        };
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Api {
            client,
            base: base.into(),
            auth,
            source: Source::Dashboard,
        })
    }

    /// The same client, naming `source` in its changes' audit lines (the dashboard's by
    /// default).
    pub fn with_source(mut self, source: Source) -> Api {
        self.source = source;
        self
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Runs a command and returns its JSON answer, read within `MAX_ANSWER` bytes.
    pub async fn call(
        &self,
        name: CommandName,
        params: &[(&str, String)],
    ) -> Result<Value, ServiceError> {
        self.call_within(name, params, MAX_ANSWER).await
    }

    /// `call` with its own cap on the answer's size.
    pub async fn call_within(
        &self,
        name: CommandName,
        params: &[(&str, String)],
        cap: usize,
    ) -> Result<Value, ServiceError> {
        let body: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect();
        let body = serde_json::to_vec(&body).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let req = self
            .request(name, "POST")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let exchange = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| self.unreachable(&e))?;
            let status = res.status();
            let bytes = Limited::new(res.into_body(), cap)
                .collect()
                .await
                .map_err(|e| {
                    ServiceError::Unavailable(format!(
                        "{}: reading the answer to {}: {e} (at most {cap} bytes are read)",
                        self.base,
                        name.name()
                    ))
                })?
                .to_bytes();
            answer(status, &bytes)
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                ServiceError::Unavailable(format!(
                    "{} did not answer {} within {} s",
                    self.base,
                    name.name(),
                    CALL_TIMEOUT.as_secs()
                ))
            })?
    }

    /// Opens the `event.listen` stream, of the events whose key matches `pattern` (all
    /// when `None`); its body is read as it comes.
    pub async fn listen(&self, pattern: Option<&str>) -> Result<Incoming, ServiceError> {
        let mut req = self.request(CommandName::EventListen, "GET");
        if let Some(p) = pattern {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("eventKey", p)
                .finish();
            req = req.uri(format!(
                "{}{}?{query}",
                self.base,
                command_path(CommandName::EventListen)
            ));
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let res = tokio::time::timeout(CALL_TIMEOUT, self.client.request(req))
            .await
            .map_err(|_| ServiceError::Unavailable(format!("{} did not answer", self.base)))?
            .map_err(|e| self.unreachable(&e))?;
        let status = res.status();
        if status.is_success() {
            return Ok(res.into_body());
        }
        let bytes = Limited::new(res.into_body(), 64 << 10)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        answer(status, &bytes).and(Err(ServiceError::Unavailable(format!(
            "{} refused event.listen (HTTP {})",
            self.base,
            status.as_u16()
        ))))
    }

    fn request(&self, name: CommandName, method: &str) -> hyper::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, command_path(name)))
            .header(AUTHORIZATION, self.auth.clone())
            .header(Source::HEADER, self.source.as_str())
    }

    fn unreachable(&self, e: &dyn std::error::Error) -> ServiceError {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        let hint = crate::client::tls_hint(e);
        ServiceError::Unavailable(format!("cannot reach {}: {text}{hint}", self.base))
    }
}

/// A command's answer: its JSON, or the API's error by status.
fn answer(status: StatusCode, bytes: &[u8]) -> Result<Value, ServiceError> {
    let value: Option<Value> = serde_json::from_slice(bytes).ok();
    if status.is_success() {
        return value.ok_or_else(|| {
            ServiceError::Internal("the server answered with something other than JSON".into())
        });
    }
    let message = value
        .as_ref()
        .and_then(|v| v["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    Err(match status.as_u16() {
        400 | 405 | 413 | 415 => ServiceError::BadRequest(message),
        401 => ServiceError::BadRequest(format!(
            "the server refused the admin key ({message}); attach with the key of its data dir"
        )),
        404 => ServiceError::NotFound(message),
        409 => ServiceError::Conflict(message),
        503 => ServiceError::Unavailable(message),
        _ => ServiceError::Internal(message),
    })
}

/// The base URL, checked: http or https, a host, no path, query or user; plain HTTP only to a
/// loopback address unless `insecure`, since the admin key travels with every call.
pub fn check_url(url: &str, insecure: bool) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?} must start with http:// or https://"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{url:?} holds a user name; the admin key comes from the data dir or {KEY_VAR}"
        ));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{url:?} must be the server's address alone, such as http://127.0.0.1:8080"
        ));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(format!("{url:?} needs a host")),
    };
    if parsed.scheme() == "http" && !loopback && !insecure {
        return Err(format!(
            "refusing to send the admin key over plain HTTP to {url}, which is not a loopback \
             address; reach it through a tunnel (ssh -L 8080:127.0.0.1:8080 host, then \
             --remote http://127.0.0.1:8080), use https://, or pass --insecure"
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// Whether `url`'s host is an address of this machine (one of its interfaces binds it): a
/// server found through the data dir's `serve.addr` listens there, so plain HTTP to it never
/// crosses the network.
pub fn on_this_host(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let ip: std::net::IpAddr = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.into(),
        Some(url::Host::Ipv6(ip)) => ip.into(),
        _ => return false,
    };
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// The admin key for a server: `HOOKTAIL_ADMIN_KEY` when set, else the data dir's
/// `admin.key` (checked as the server checks it).
pub fn admin_key(data: &Path) -> anyhow::Result<String> {
    if let Some(key) = std::env::var_os(KEY_VAR) {
        let key = key
            .into_string()
            .map_err(|_| anyhow::anyhow!("{KEY_VAR} is not valid UTF-8"))?;
        let key = key.trim();
        anyhow::ensure!(
            key.len() >= crate::app::MIN_KEY_LEN,
            "{KEY_VAR} must hold the server's admin key (at least {} characters)",
            crate::app::MIN_KEY_LEN
        );
        return Ok(key.to_string());
    }
    crate::app::read_admin_key(data)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no admin key: {} holds none; pass the --data of the server, or set {KEY_VAR}",
            data.join(crate::app::KEY_FILE).display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_goes_only_to_loopback_or_https() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://[::1]:9000",
            "http://localhost:8080",
            "https://hooks.example.com",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        assert_eq!(
            check_url("http://127.0.0.1:8080/", false).unwrap(),
            "http://127.0.0.1:8080"
        );
        let err = check_url("http://10.0.0.5:8080", false).unwrap_err();
        assert!(err.contains("ssh -L"), "{err}");
        assert!(check_url("http://10.0.0.5:8080", true).is_ok());
        assert!(on_this_host("http://127.0.0.1:8080"));
        assert!(!on_this_host("http://192.0.2.1:8080"));
        assert!(!on_this_host("http://example.com:8080"));
        for bad in [
            "127.0.0.1:8080",
            "ftp://127.0.0.1",
            "http://127.0.0.1:8080/api",
            "http://u:p@127.0.0.1:8080",
            "http://127.0.0.1:8080?x=1",
        ] {
            assert!(check_url(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_come_back_by_status() {
        let e = answer(
            StatusCode::CONFLICT,
            br#"{"status":"error","message":"taken"}"#,
        );
        assert!(matches!(e, Err(ServiceError::Conflict(m)) if m == "taken"));
        let e = answer(StatusCode::NOT_FOUND, b"");
        assert!(matches!(e, Err(ServiceError::NotFound(m)) if m == "HTTP 404"));
        assert!(matches!(
            answer(StatusCode::OK, b"not json"),
            Err(ServiceError::Internal(_))
        ));
        assert_eq!(
            answer(StatusCode::OK, b"[1]").unwrap(),
            serde_json::json!([1])
        );
    }
}
