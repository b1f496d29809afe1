//! `allowFrom` and `--trusted-proxies` (§7) over plain HTTP: the test client calls from
//! 127.0.0.1, a trusted proxy or not, and may claim any address in X-Forwarded-For.

mod common;

use std::time::Duration;

use common::*;
use hooktail::http::Limits;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn put_allowing(s: &TestServer, key: &str, allow_from: &str) -> String {
    let r = s
        .cmd(
            "webhook.put",
            &format!("eventKey={key}&allowFrom={allow_from}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    uuid_of(&r.json())
}

async fn call(s: &TestServer, token: &str, xff: Option<&str>) -> Response {
    let mut headers = format!("token: {token}\r\n");
    if let Some(x) = xff {
        headers.push_str(&format!("X-Forwarded-For: {x}\r\n"));
    }
    send(s.addr, &post(RECEIVE, &headers, b"{}")).await
}

fn assert_forbidden(r: &Response) {
    assert_eq!(r.status, 403, "{}", r.text());
    // Generic: the caller learns nothing of the list or of what was seen.
    assert_eq!(
        r.json()["message"],
        "this address may not call this webhook"
    );
}

/// The newest rejection's reason.
async fn last_reason(s: &TestServer, n: usize) -> String {
    let got: Vec<Value> = s.wait_for_events("status=rejected", n).await;
    got[0]["reason"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn without_trusted_proxies_the_socket_address_decides() {
    let s = TestServer::start().await;
    let outside = put_allowing(&s, "webhook.outside", "10.0.0.0/8,2001:db8::/32").await;
    let inside = put_allowing(&s, "webhook.inside", "10.0.0.0/8,127.0.0.0/8").await;

    assert_forbidden(&call(&s, &outside, None).await);
    assert_eq!(last_reason(&s, 1).await, "127.0.0.1 is not in allowFrom");
    // Claiming an allowed address does not help a peer that is not a trusted proxy.
    assert_forbidden(&call(&s, &outside, Some("10.1.2.3")).await);
    assert_eq!(last_reason(&s, 2).await, "127.0.0.1 is not in allowFrom");
    let rejected = s.events("status=rejected").await;
    assert_eq!(rejected[0]["eventKey"], "webhook.outside");

    assert_eq!(call(&s, &inside, None).await.status, 200);
    // A spoofed header from an untrusted peer neither helps nor hurts.
    assert_eq!(call(&s, &inside, Some("192.0.2.1")).await.status, 200);
    assert_eq!(s.events("status=accepted").await.len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let s = TestServer::start_with(
        |o| o.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()],
        Limits::default(),
    )
    .await;
    let token = put_allowing(&s, "webhook.office", "10.0.0.0/8").await;
    assert_eq!(call(&s, &token, Some("10.1.2.3")).await.status, 200);
    // The client wrote the left-most entry itself; the proxy appended the address it saw.
    assert_forbidden(&call(&s, &token, Some("10.9.9.9, 192.0.2.1")).await);
    assert_eq!(
        last_reason(&s, 1).await,
        "192.0.2.1 (X-Forwarded-For from proxy 127.0.0.1) is not in allowFrom"
    );
    // Garbage from the proxy: the client is unknown, so refused.
    assert_forbidden(&call(&s, &token, Some("unknown")).await);
    let reason = last_reason(&s, 2).await;
    assert!(reason.contains("\"unknown\", not an address"), "{reason}");
    // No X-Forwarded-For: the proxy calls for itself, and 127.0.0.1 is not allowed.
    assert_forbidden(&call(&s, &token, None).await);
    s.stop().await;
}

/// The check runs before the body is read: a caller that announces a body and never sends
/// it is refused at once instead of held until the request timeout.
#[tokio::test]
async fn the_address_is_checked_before_the_body_is_read() {
    let limits = Limits {
        request_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let s = TestServer::start_with(|_| {}, limits).await;
    let token = put_allowing(&s, "webhook.early", "10.0.0.0/8").await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {token}\r\nContent-Length: 100000\r\n\r\n"
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let r = read_response(&mut c).await;
    assert_forbidden(&r);
    s.stop().await;
}

#[tokio::test]
async fn a_token_in_a_form_body_is_checked_once_the_body_is_read() {
    let s = TestServer::start().await;
    let token = put_allowing(&s, "webhook.form", "10.0.0.0/8").await;
    let body = format!("token={token}&a=1");
    let req = post(
        RECEIVE,
        "Content-Type: application/x-www-form-urlencoded\r\n",
        body.as_bytes(),
    );
    assert_forbidden(&send(s.addr, &req).await);
    assert_eq!(last_reason(&s, 1).await, "127.0.0.1 is not in allowFrom");
    assert!(s.events("status=accepted").await.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn allow_from_is_validated_shown_and_cleared() {
    let s = TestServer::start().await;
    let r = s
        .cmd(
            "webhook.put",
            "eventKey=webhook.a&allowFrom=10.1.2.3/8,%20::1",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let w = r.json();
    assert_eq!(w["allowFrom"], serde_json::json!(["10.0.0.0/8", "::1/128"]));
    let uuid = uuid_of(&w);
    let got = s.cmd("webhook.get", &format!("uuid={uuid}")).await.json();
    assert_eq!(got["allowFrom"], w["allowFrom"]);
    // An edit that leaves it out keeps it.
    let r = s
        .cmd("webhook.put", &format!("uuid={uuid}&payloadType=raw"))
        .await;
    assert_eq!(r.json()["allowFrom"], w["allowFrom"]);
    for bad in ["10.0.0.0/33", "example.com", "1.2.3.4/8/9"] {
        let r = s
            .cmd("webhook.put", &format!("uuid={uuid}&allowFrom={bad}"))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.json()["message"].as_str().unwrap().contains("allowFrom"));
    }
    let many: Vec<String> = (0..65).map(|i| format!("10.{i}.0.0/16")).collect();
    let r = s
        .cmd(
            "webhook.put",
            &format!("uuid={uuid}&allowFrom={}", many.join(",")),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // Empty: anyone may call again.
    let r = s
        .cmd("webhook.put", &format!("uuid={uuid}&allowFrom="))
        .await;
    assert_eq!(r.json()["allowFrom"], serde_json::json!([]));
    assert_eq!(call(&s, &uuid, None).await.status, 200);
    s.stop().await;
}
