//! Acting on a stored event (§8): `event.replay` through pipelines and to a URL, against a
//! real server on 127.0.0.1:0 and a recording HTTP peer; the audit lines of every change,
//! from a real `hooktail serve` child's log.

#[path = "common/child.rs"]
mod child;
mod common;
#[path = "common/peers.rs"]
mod peers;

use std::time::{Duration, Instant};

use common::*;
use peers::*;
use serde_json::Value;

/// Polls `f` until it returns `Some`, for at most 30 s.
async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An admin command by POST with a JSON body (URLs need no escaping there).
async fn cmd_json(s: &TestServer, name: &str, params: Value) -> Response {
    let body = params.to_string();
    let req = format!(
        "POST /api/v3/command/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        s.key,
        body.len()
    );
    send(s.addr, req.as_bytes()).await
}

async fn put_pipeline(s: &TestServer, name: &str, yaml: &str) {
    let r = cmd_json(
        s,
        "pipeline.put",
        serde_json::json!({"name": name, "yaml": yaml}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

fn post_to(key: &str, url: &str) -> String {
    format!(
        "pipeline:\n  - event.listen:\n      eventKey: {key}\n  - http.post:\n      url: {url}\n"
    )
}

/// A JSON call with the token in the header, a query and a header of its own.
async fn call(s: &TestServer, token: &str, body: &str) -> String {
    let r = send(
        s.addr,
        &post(
            &format!("{RECEIVE}?source=crm"),
            &format!(
                "token: {token}\r\nContent-Type: application/json\r\nX-Github-Event: push\r\n"
            ),
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["correlationId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn replay_runs_the_event_through_its_pipelines_again() {
    let target = http_server().await;
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.order.paid").await);
    put_pipeline(&s, "first", &post_to("webhook.order.*", &target.url("/a"))).await;
    put_pipeline(&s, "second", &post_to("webhook.#", &target.url("/b"))).await;
    put_pipeline(&s, "other", &post_to("webhook.lead.*", &target.url("/c"))).await;
    let off = cmd_json(
        &s,
        "pipeline.put",
        serde_json::json!({"name": "off", "yaml": post_to("webhook.#", &target.url("/d")), "enabled": false}),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.text());
    let event = call(&s, &token, r#"{"order":17}"#).await;
    // Delivery runs it once through each matching pipeline.
    eventually("the first deliveries", async || {
        (target.requests("/a").len() == 1 && target.requests("/b").len() == 1).then_some(())
    })
    .await;

    let r = s.cmd("event.replay", &format!("id={event}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["eventId"], event.as_str());
    let mut names: Vec<&str> = answer["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pipeline"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["first", "second"], "{answer}");
    for run in answer["runs"].as_array().unwrap() {
        assert_eq!(run["status"], "ok", "{answer}");
        let stored = s
            .cmd("run.get", &format!("id={}", run["id"].as_str().unwrap()))
            .await;
        assert_eq!(stored.status, 200);
        assert_eq!(stored.json()["eventId"], event.as_str());
    }
    assert_eq!(target.requests("/a").len(), 2);
    assert_eq!(target.requests("/b").len(), 2);
    assert!(target.requests("/c").is_empty());
    assert!(target.requests("/d").is_empty());
    // The replay acted on the same event.
    let sent: Value = serde_json::from_slice(&target.requests("/b")[1].body).unwrap();
    assert_eq!(sent["id"], event.as_str());

    // One pipeline by name, even a disabled one.
    let r = s
        .cmd("event.replay", &format!("id={event}&pipeline=off"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["runs"][0]["pipeline"], "off");
    assert_eq!(target.requests("/d").len(), 1);
    assert_eq!(target.requests("/a").len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn replay_to_a_url_forwards_as_http_forward_does() {
    let target = http_server().await;
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.order.paid").await);
    let body = r#"{"order":17,"note":"Köln"}"#;
    let event = call(&s, &token, body).await;

    let r = cmd_json(
        &s,
        "event.replay",
        serde_json::json!({"id": event, "url": target.url("/json?k=1")}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["contentType"], "application/json");
    assert_eq!(answer["body"], r#"{"ok":true,"n":1}"#);
    assert_eq!(answer["truncated"], false);

    let got = target.requests("/json");
    assert_eq!(got.len(), 1);
    let sent = &got[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.body, body.as_bytes());
    assert_eq!(sent.query.as_deref(), Some("k=1&source=crm"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("x-github-event"), Some("push"));
    assert_eq!(sent.header("x-hooktail-hops"), Some("1"));
    assert!(
        sent.headers.iter().all(|(_, v)| !v.contains(&token)),
        "{:?}",
        sent.headers
    );

    // A target's error status is its answer, not a failure of the replay.
    let r = cmd_json(
        &s,
        "event.replay",
        serde_json::json!({"id": event, "url": target.url("/status/500")}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], 500);
    assert_eq!(r.json()["body"], "status 500");

    // A body over the client's cap is not read whole: the replay says so.
    let r = cmd_json(
        &s,
        "event.replay",
        serde_json::json!({"id": event, "url": target.url("/big")}),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.text().contains("at most"), "{}", r.text());

    // Nobody listening.
    let closed = child::free_addr();
    let r = cmd_json(
        &s,
        "event.replay",
        serde_json::json!({"id": event, "url": format!("http://{closed}/x")}),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn replay_refuses_what_it_cannot_do() {
    let target = http_server().await;
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.order.paid").await);
    let event = call(&s, &token, "{}").await;
    let unknown = uuid::Uuid::now_v7();
    let cases = [
        (format!("id={unknown}"), 404, "no accepted event"),
        (format!("id={event}&pipeline=nope"), 404, "no pipeline"),
        (
            format!("id={event}&pipeline=x&url=http://h/"),
            400,
            "not both",
        ),
        (format!("id={event}&url=ftp://h/x"), 400, "http://"),
        (format!("id={event}&url=nope"), 400, "http://"),
        ("id=12".to_string(), 400, "well-formed"),
        (String::new(), 400, "id is required"),
    ];
    for (query, status, says) in cases {
        let r = s.cmd("event.replay", &query).await;
        assert_eq!(r.status, status, "{query}: {}", r.text());
        assert_eq!(r.json()["status"], "error");
        assert!(r.text().contains(says), "{query}: {}", r.text());
    }
    // A rejected call has no body to replay.
    let refused = send(
        s.addr,
        &post(
            RECEIVE,
            "token: 00000000-0000-4000-8000-000000000000\r\n",
            b"x",
        ),
    )
    .await;
    assert_eq!(refused.status, 404);
    let rejected = s.wait_for_events("status=rejected", 1).await;
    let id = rejected[0]["id"].as_str().unwrap();
    let r = s.cmd("event.replay", &format!("id={id}")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(target.seen.lock().unwrap().is_empty());
    s.stop().await;

    // A read-only server refuses it as the write it is.
    let ro =
        TestServer::start_with(|o| o.read_only = true, hooktail::http::Limits::default()).await;
    let r = ro.cmd("event.replay", &format!("id={event}")).await;
    assert_eq!(r.status, 405, "{}", r.text());
    ro.stop().await;
}

/// The audit lines of a log, as text.
fn audit_lines(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| l.contains(" audit: "))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_change_writes_one_audit_line_without_secrets() {
    let target = http_server().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = tokio::task::spawn_blocking({
        let data = data.clone();
        move || child::Serve::start(&data, child::free_addr())
    })
    .await
    .unwrap();
    let addr = serve.addr;
    let key = serve.key();
    let cli = |args: Vec<String>| {
        let data = data.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, out, err) = child::command(&data, addr, &args);
            assert_eq!(code, 0, "{args:?}: {err}");
            serde_json::from_str::<Value>(&out).unwrap()
        }
    };
    let api = |name: &'static str, params: Value| {
        let key = key.clone();
        async move {
            let body = params.to_string();
            let req = format!(
                "POST /api/v3/command/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let r = send(addr, req.as_bytes()).await;
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            r.json()
        }
    };

    // By the API: a webhook, a failing pipeline, a call, its dead run retried, a replay.
    let hook = api(
        "webhook.put",
        serde_json::json!({"eventKey": "webhook.audit.api"}),
    )
    .await;
    let token = uuid_of(&hook);
    let yaml = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.audit.*\n  - http.post:\n      url: {}\n",
        target.url("/status/500")
    );
    api(
        "pipeline.put",
        serde_json::json!({"name": "audited", "yaml": yaml}),
    )
    .await;
    let r = send(
        addr,
        &post(RECEIVE, &format!("token: {token}\r\n"), b"{\"a\":1}"),
    )
    .await;
    assert_eq!(r.status, 200);
    let event = r.json()["correlationId"].as_str().unwrap().to_string();
    let dead = eventually("a dead run", async || {
        let runs = api("run.list", serde_json::json!({"eventId": event})).await;
        runs.as_array()?
            .iter()
            .find(|r| r["status"] == "dead")
            .map(|r| r["id"].as_str().unwrap().to_string())
    })
    .await;
    api("run.retry", serde_json::json!({"id": dead})).await;
    api(
        "event.replay",
        serde_json::json!({"id": event, "url": target.url("/hook?token=secret-in-query")}),
    )
    .await;
    api("pipeline.delete", serde_json::json!({"name": "audited"})).await;
    api("webhook.delete", serde_json::json!({"uuid": token})).await;

    // By the CLI, which talks to the same server.
    let cli_hook = cli(vec![
        "webhook.put".into(),
        "eventKey=webhook.audit.cli".into(),
    ])
    .await;
    let cli_token = uuid_of(&cli_hook);
    cli(vec!["webhook.delete".into(), format!("uuid={cli_token}")]).await;

    let log = serve.log.clone();
    let want = [
        ("webhook.put", "api", "webhook.audit.api"),
        ("pipeline.put", "api", "audited"),
        ("run.retry", "api", &dead[..]),
        ("event.replay", "api", &event[..]),
        ("pipeline.delete", "api", "audited"),
        ("webhook.delete", "api", &token[..8]),
        ("webhook.put", "cli", "webhook.audit.cli"),
        ("webhook.delete", "cli", &cli_token[..8]),
    ];
    let lines = eventually("the audit lines", async || {
        let lines = audit_lines(&log);
        (lines.len() >= want.len()).then_some(lines)
    })
    .await;
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
    for (line, (change, source, object)) in lines.iter().zip(want) {
        assert!(line.contains(&format!("change=\"{change}\"")), "{line}");
        assert!(line.contains(&format!("source=\"{source}\"")), "{line}");
        assert!(line.contains(object), "{line}");
    }
    let all = std::fs::read_to_string(&log).unwrap();
    for secret in [&token[..], &cli_token[..], &key[..], "secret-in-query"] {
        assert!(!all.contains(secret), "the log holds a secret: {secret}");
    }
    drop(serve);

    // Without a server the CLI opens the store itself, and logs to the data dir's log.
    let nobody = child::free_addr();
    let (code, out, err) = child::command(
        &data,
        nobody,
        &["webhook.put", "eventKey=webhook.audit.alone"],
    );
    assert_eq!(code, 0, "{err}");
    let alone = uuid_of(&serde_json::from_str(&out).unwrap());
    let lines = audit_lines(&data.join("hooktail.log"));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("change=\"webhook.put\""), "{}", lines[0]);
    assert!(lines[0].contains("source=\"cli\""), "{}", lines[0]);
    assert!(lines[0].contains("webhook.audit.alone"), "{}", lines[0]);
    assert!(!lines[0].contains(&alone), "{}", lines[0]);
}
