//! The HTTP client of the `http.*` and `http.forward` steps: hyper's pooled client over rustls
//! (ring, Mozilla's roots), a deadline on the whole exchange, and a cap on the response body.
//! Redirects are not followed: a 3xx is the step's answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::{Map, Value};

/// Largest response body a step reads; a bigger one fails the step.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Time allowed to open a TCP connection, within the step's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers that belong to one connection and are never forwarded (RFC 9110 §7.6.1), and
/// `host`, which the client sets to the target's.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// A cheap-to-clone client; connections are pooled across steps and runs.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// A response, its body read in full (within [`MAX_RESPONSE_BYTES`]).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpClient {
    pub fn new() -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| format!("cannot set up TLS for HTTP steps: {e}"))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(Self { client })
    }

    /// Sends one request and reads its answer, all within `timeout`.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response, String> {
        let req = build_request(method, url, headers, body)?;
        let exchange = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("{method} {}: {}", redact(url), error_chain(&e)))?;
            let status = res.status().as_u16();
            let headers = res
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = Limited::new(res.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    format!(
                        "{method} {}: reading the response: {e} (at most {MAX_RESPONSE_BYTES} bytes are read)",
                        redact(url)
                    )
                })?
                .to_bytes();
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| {
            format!(
                "{method} {}: no complete answer within {} s",
                redact(url),
                timeout.as_secs_f64()
            )
        })?
    }
}

fn build_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    let uri = check_url(url)?;
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("{method:?} is not an HTTP method"))?;
    let mut req = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a valid header name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header {name} is not valid in HTTP"))?;
        req = req.header(name, value);
    }
    req.body(Full::new(body))
        .map_err(|e| format!("cannot build the request: {e}"))
}

/// `url` parsed, if it is an absolute `http://` or `https://` URL.
pub fn check_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("url {:?} is not a valid URL: {e}", redact(url)))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        _ => Err(format!(
            "url {:?} must be an absolute http:// or https:// URL",
            redact(url)
        )),
    }
}

/// The URL without its user info, which may hold a password.
pub fn redact(url: &str) -> String {
    let Some(scheme) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme + 3..];
    // The authority ends at the path, query or fragment; its user info at its last `@`.
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{}://…@{}", &url[..scheme], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// An error with its causes, which hyper's client keeps in its source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Counts how often hooktail has passed a call on. Every HTTP step sends it, one more than
/// the event it acts on carries, so a pipeline that forwards to a hooktail that forwards
/// back (or to itself) stops after [`MAX_HOPS`] instead of looping for ever.
pub const HOP_HEADER: &str = "x-hooktail-hops";
pub const MAX_HOPS: u32 = 8;

/// The hop header for a request made on behalf of an event with these headers.
pub fn next_hop(event_headers: &[(String, String)]) -> Result<(String, String), String> {
    let hops = event_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(HOP_HEADER))
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    if hops >= MAX_HOPS {
        return Err(format!(
            "this call has been passed on {hops} times by hooktail already ({HOP_HEADER}); \
             not again, to stop a forwarding loop"
        ));
    }
    Ok((HOP_HEADER.to_string(), (hops + 1).to_string()))
}

/// The headers of a forwarded call: the original ones minus the token, hop-by-hop headers
/// and those the `Connection` header names.
pub fn forward_headers(original: &[(String, String)]) -> Vec<(String, String)> {
    let named_by_connection: Vec<String> = original
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    original
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k != "token"
                && k != HOP_HEADER
                && k != CONTENT_LENGTH.as_str()
                && !HOP_BY_HOP.contains(&k.as_str())
                && !named_by_connection.contains(&k)
        })
        .cloned()
        .collect()
}

/// Why an event was not forwarded.
#[derive(Debug)]
pub enum ForwardError {
    /// It has been passed on [`MAX_HOPS`] times already.
    Loop(String),
    /// The target did not answer in full in time.
    Failed(String),
}

/// Sends a stored event on as `http.forward` does: same method and body, headers minus the
/// token and hop-by-hop ones, its query appended to `url`, one more hop counted.
pub async fn forward_event(
    client: &HttpClient,
    event: &crate::domain::Event,
    url: &str,
    timeout: Duration,
) -> Result<Response, ForwardError> {
    let pairs = |m: &std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let original = pairs(&event.headers);
    let mut headers = forward_headers(&original);
    headers.push(next_hop(&original).map_err(ForwardError::Loop)?);
    client
        .send(
            &event.method,
            &forward_url(url, &pairs(&event.query)),
            &headers,
            Bytes::copy_from_slice(&event.body),
            timeout,
        )
        .await
        .map_err(ForwardError::Failed)
}

/// `url` with the original query (minus `token` and `uuid`) appended to its own.
pub fn forward_url(url: &str, query: &[(String, String)]) -> String {
    let kept: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("token") && !k.eq_ignore_ascii_case("uuid"))
        .collect();
    if kept.is_empty() {
        return url.to_string();
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    match fragment {
        Some(f) => format!("{base}{sep}{encoded}#{f}"),
        None => format!("{base}{sep}{encoded}"),
    }
}

/// A response body as a step's output: JSON when it is JSON, else text, else base64.
pub fn body_value(headers: &[(String, String)], body: &[u8]) -> Value {
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(CONTENT_TYPE.as_str()))
        .map(|(_, v)| v.to_ascii_lowercase());
    let says_json = content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/json") || t.contains("+json"));
    if (says_json || content_type.is_none())
        && let Ok(v) = serde_json::from_slice::<Value>(body)
    {
        return v;
    }
    match std::str::from_utf8(body) {
        Ok(text) => Value::String(text.to_string()),
        Err(_) => {
            use base64::Engine;
            let mut m = Map::new();
            m.insert(
                "base64".into(),
                base64::engine::general_purpose::STANDARD
                    .encode(body)
                    .into(),
            );
            Value::Object(m)
        }
    }
}

/// Response headers as a map; repeated names are joined with `, `.
pub fn headers_value(headers: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in headers {
        match m.get_mut(k) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(v);
            }
            _ => {
                m.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forward_drops_token_and_hop_by_hop_headers() {
        let h = pairs(&[
            ("Token", "secret"),
            ("content-type", "application/json"),
            ("Connection", "keep-alive, X-Drop"),
            ("x-drop", "1"),
            ("transfer-encoding", "chunked"),
            ("Host", "example"),
            ("content-length", "3"),
            ("x-github-event", "push"),
            ("x-twice", "a"),
            ("x-twice", "b"),
        ]);
        assert_eq!(
            forward_headers(&h),
            pairs(&[
                ("content-type", "application/json"),
                ("x-github-event", "push"),
                ("x-twice", "a"),
                ("x-twice", "b"),
            ])
        );
    }

    #[test]
    fn forward_query_is_appended_without_the_token() {
        let q = pairs(&[
            ("source", "crm"),
            ("TOKEN", "s"),
            ("Uuid", "u"),
            ("a b", "c&d"),
        ]);
        assert_eq!(
            forward_url("http://h/x", &q),
            "http://h/x?source=crm&a+b=c%26d"
        );
        assert_eq!(
            forward_url("http://h/x?k=1", &q),
            "http://h/x?k=1&source=crm&a+b=c%26d"
        );
        assert_eq!(forward_url("http://h/x?", &q[..1]), "http://h/x?source=crm");
        assert_eq!(
            forward_url("http://h/x#f", &q[..1]),
            "http://h/x?source=crm#f"
        );
        assert_eq!(forward_url("http://h/x", &q[1..3]), "http://h/x");
    }

    #[test]
    fn response_bodies_become_values() {
        let json = pairs(&[("Content-Type", "application/json; charset=utf-8")]);
        assert_eq!(body_value(&json, b"{\"a\":1}"), serde_json::json!({"a": 1}));
        assert_eq!(body_value(&json, b"{bad"), serde_json::json!("{bad"));
        assert_eq!(body_value(&[], b"[1]"), serde_json::json!([1]));
        let text = pairs(&[("content-type", "text/plain")]);
        assert_eq!(body_value(&text, b"[1]"), serde_json::json!("[1]"));
        assert_eq!(
            body_value(&text, b"\xff"),
            serde_json::json!({"base64": "/w=="})
        );
        let problem = pairs(&[("content-type", "application/problem+json")]);
        assert_eq!(body_value(&problem, b"{}"), serde_json::json!({}));
    }

    #[test]
    fn passwords_in_urls_are_not_repeated() {
        assert_eq!(redact("https://u:pw@h/x"), "https://…@h/x");
        assert_eq!(redact("http://h/x?a=b@c"), "http://h/x?a=b@c");
        assert_eq!(redact("http://h/p@x"), "http://h/p@x");
        // A password holding `@`: all of the user info goes.
        assert_eq!(redact("http://u:p@ss@h:1/ok"), "http://…@h:1/ok");
    }
}
