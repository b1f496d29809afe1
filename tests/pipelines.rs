//! Pipelines end to end (§6): a real server on 127.0.0.1:0 with its runner, a real SMTP
//! server, and a real HTTP target. Webhook calls go in over HTTP; runs are read back through
//! the commands.

#[path = "common/child.rs"]
mod child;
mod common;
#[path = "common/peers.rs"]
mod peers;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use hooktail::cli::Secret;
use hooktail::http::Limits;
use peers::*;
use serde_json::Value;

/// The reference example of SPEC §6, exactly as written there.
const REFERENCE: &str = r##"pipeline:
 - event.listen:
     eventKey: webhook.lead.created
 - mail:
     to: name@company.tld
     subject: "New lead was created!"
     body: "#{@convert.fromBase64(body.origin)}"
"##;

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

/// pipeline.put with the YAML as the body, as the SPEC's first way.
async fn put_pipeline(s: &TestServer, name: &str, yaml: &str) -> Response {
    let req = format!(
        "POST /api/v3/command/pipeline.put?name={name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/yaml\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{yaml}",
        s.key,
        yaml.len()
    );
    send(s.addr, req.as_bytes()).await
}

/// Posts a JSON body with the token header; returns the event id.
async fn call(s: &TestServer, token: &str, body: &str) -> String {
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            &format!("token: {token}\r\nContent-Type: application/json\r\n"),
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["correlationId"].as_str().unwrap().to_string()
}

async fn runs(s: &TestServer, query: &str) -> Vec<Value> {
    let r = s.cmd("run.list", query).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().unwrap().clone()
}

/// The event's runs once one of them is final (ok or dead).
async fn final_run(s: &TestServer, event: &str) -> Value {
    eventually("a final run", async || {
        runs(s, &format!("eventId={event}"))
            .await
            .into_iter()
            .find(|r| r["status"] == "ok" || r["status"] == "dead")
    })
    .await
}

#[tokio::test]
async fn the_reference_example_mails_the_exact_json_body() {
    let (smtp, mails) = smtp_server(false, false);
    let s = TestServer::start_with(
        |o| o.smtp_url = Some(Secret(format!("smtp://{smtp}"))),
        Limits::default(),
    )
    .await;
    let token = uuid_of(&s.put("webhook.lead.created").await);
    // Put through the CLI, from a file, as a user would.
    let file = s.dir.path().join("lead-mail.yaml");
    std::fs::write(&file, REFERENCE).unwrap();
    let yaml_arg = format!("yaml=@{}", file.display());
    let data = s.opts.data.clone();
    let addr = s.addr;
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        child::command(&data, addr, &["pipeline.put", "name=lead-mail", &yaml_arg])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let put: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(put["eventKey"], "webhook.lead.created");
    assert_eq!(put["enabled"], true);
    assert_eq!(put["lag"], 0);

    let body = "{\"lead\":\"ACME GmbH – Köln\",\"score\":90,\"note\":\"#{@hash.sha256('x')}\"}";
    let event = call(&s, &token, body).await;
    let mail = tokio::task::spawn_blocking(move || recv(&mails))
        .await
        .unwrap();
    assert_eq!(mail.to, vec!["name@company.tld".to_string()]);
    let (head, text) = decode_message(&mail.data);
    assert!(head.contains("Subject: New lead was created!"), "{head}");
    // Byte for byte, and the expression inside the body stayed text: data is never code.
    assert_eq!(text, body.as_bytes());

    let run = final_run(&s, &event).await;
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["pipeline"], "lead-mail");
    assert_eq!(run["attempts"], 1);
    assert_eq!(run["steps"][0]["step"], "mail");
    assert_eq!(run["steps"][0]["status"], "ok");
    let got = s
        .cmd("run.get", &format!("id={}", run["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.json(), run);
    // Exactly one mail.
    s.stop().await;
}

#[tokio::test]
async fn a_flaky_target_is_retried_and_a_dead_run_is_retried_by_hand() {
    let target = http_server().await;
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.order.paid").await);
    let yaml = |path: &str| {
        format!(
            "pipeline:\n  - event.listen:\n      eventKey: webhook.order.*\n  - http.post:\n      url: {}\n      onError: {{action: RETRY, times: 2, wait: 0.05, then: THROW}}\n",
            target.url(path)
        )
    };
    let r = put_pipeline(&s, "flaky", &yaml("/flaky")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Fails twice, then succeeds: one ok run with three attempts.
    let first = call(&s, &token, "{\"n\":1}").await;
    let run = final_run(&s, &first).await;
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["attempts"], 3, "{run}");
    assert_eq!(target.requests("/flaky").len(), 3);

    // Always failing: dead after 1 + 2 attempts; the next event is not held up by it.
    target.failing.store(true, Ordering::SeqCst);
    let r = put_pipeline(&s, "flaky", &yaml("/switch")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let doomed = call(&s, &token, "{\"n\":2}").await;
    let dead = final_run(&s, &doomed).await;
    assert_eq!(dead["status"], "dead", "{dead}");
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert!(dead["error"].as_str().unwrap().contains("500"), "{dead}");
    target.failing.store(false, Ordering::SeqCst);
    let next = call(&s, &token, "{\"n\":3}").await;
    assert_eq!(final_run(&s, &next).await["status"], "ok");

    // run.retry queues the dead run; its pipeline runs it and it ends ok.
    let id = dead["id"].as_str().unwrap().to_string();
    let r = s.cmd("run.retry", &format!("id={id}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "queued");
    let retried = eventually("the retried run", async || {
        let r = s.cmd("run.get", &format!("id={id}")).await.json();
        (r["status"] == "ok").then_some(r)
    })
    .await;
    assert_eq!(retried["attempts"], 4, "{retried}");
    // Only failed and dead runs can be retried.
    let again = s.cmd("run.retry", &format!("id={id}")).await;
    assert_eq!(again.status, 409, "{}", again.text());

    let p = s.cmd("pipeline.get", "name=flaky").await.json();
    assert_eq!(p["stats"]["ok"], 3, "{p}");
    assert_eq!(p["stats"]["dead"], 0, "{p}");
    assert_eq!(p["lag"], 0);
    let metrics = send(s.addr, &get("/metrics")).await.text();
    assert!(
        metrics.contains("hooktail_pipeline_runs_total{pipeline=\"flaky\",status=\"ok\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("hooktail_pipeline_lag{pipeline=\"flaky\"} 0"));
    s.stop().await;
}

#[tokio::test]
async fn ingest_never_waits_for_a_pipeline_that_hangs() {
    let target = http_server().await;
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.slow").await);
    let yaml = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.slow\n  - http.get:\n      url: {}\n      timeout: 3600\n",
        target.url("/hang")
    );
    assert_eq!(put_pipeline(&s, "slow", &yaml).await.status, 200);
    for n in 0..5 {
        call(&s, &token, &format!("{{\"n\":{n}}}")).await;
    }
    // The first run hangs in its step; the rest wait their turn, and it shows as lag.
    let p = eventually("the lag", async || {
        let p = s.cmd("pipeline.get", "name=slow").await.json();
        (p["lag"] == 5 && !target.requests("/hang").is_empty()).then_some(p)
    })
    .await;
    assert_eq!(p["stats"]["ok"], 0);
    // Shutting down cuts the hanging run off instead of waiting for it.
    s.stop().await;
}

#[tokio::test]
async fn pipeline_put_refuses_bad_documents_with_line_and_column() {
    let s = TestServer::start().await;
    let cases = [
        (
            "pipeline:\n  - event.listen:\n      eventKey: webhook.a\n  - mail.sned:\n      to: x\n",
            "4:5",
        ),
        (
            "pipeline:\n  - event.listen:\n      eventKey: webhook.a\n  - log:\n      message: \"#{body.}\"\n",
            "5:",
        ),
        ("pipeline:\n  - log:\n      message: hi\n", "2:"),
        ("pipeline: [\n", ""),
    ];
    for (yaml, at) in cases {
        let r = put_pipeline(&s, "bad", yaml).await;
        assert_eq!(r.status, 400, "{yaml}: {}", r.text());
        let message = r.json()["message"].as_str().unwrap().to_string();
        assert!(message.contains(at), "{yaml}: {message}");
    }
    let r = put_pipeline(&s, "Bad Name", REFERENCE).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        s.cmd("pipeline.get", "").await.json(),
        serde_json::json!([])
    );
    // A good one, then its removal.
    assert_eq!(put_pipeline(&s, "good", REFERENCE).await.status, 200);
    let d = s.cmd("pipeline.delete", "name=good").await.json();
    assert_eq!(d, serde_json::json!({"name": "good", "deleted": true}));
    assert_eq!(s.cmd("pipeline.get", "name=good").await.status, 404);
    s.stop().await;
}

#[tokio::test]
async fn forward_to_forwards_every_event_with_its_exact_bytes() {
    let target = http_server().await;
    let url = target.url("/inbox");
    let s = TestServer::start_with(|o| o.forward_to = Some(url), Limits::default()).await;
    let token = uuid_of(&s.put("webhook.github.push").await);
    let body = b"{\"ref\":\"refs/heads/main\",\"bin\":\"\xff\"}";
    let r = send(
        s.addr,
        &post(
            &format!("{RECEIVE}?token={token}&source=gh"),
            "X-GitHub-Event: push\r\nContent-Type: application/json\r\n",
            body,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = eventually("the forward", async || {
        target.requests("/inbox").into_iter().next()
    })
    .await;
    assert_eq!(got.method, "POST");
    assert_eq!(&got.body[..], &body[..]);
    assert_eq!(got.query.as_deref(), Some("source=gh"));
    assert_eq!(got.header("x-github-event"), Some("push"));
    // It is a visible pipeline.
    let p = s.cmd("pipeline.get", "name=forward-to").await.json();
    assert_eq!(p["enabled"], true, "{p}");
    s.stop().await;
}

#[tokio::test]
async fn a_waiting_retry_starts_over_when_its_pipeline_is_edited() {
    let target = http_server().await;
    target.failing.store(true, Ordering::SeqCst);
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.edit").await);
    let before = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.edit\n  - log:\n      message: first\n  - http.post:\n      url: {}\n      onError: {{action: RETRY, times: 50, wait: 0.1, then: THROW}}\n",
        target.url("/switch")
    );
    assert_eq!(put_pipeline(&s, "edit", &before).await.status, 200);
    let event = call(&s, &token, "{}").await;
    eventually("a failed attempt", async || {
        (target.requests("/switch").len() >= 2).then_some(())
    })
    .await;
    // The edited document has other steps at other positions: the retry must not resume at
    // "step 1" of the new one, but run it from the start.
    let after = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.edit\n  - http.post:\n      url: {}\n  - body.set:\n      value: done\n",
        target.url("/json")
    );
    assert_eq!(put_pipeline(&s, "edit", &after).await.status, 200);
    let run = final_run(&s, &event).await;
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(target.requests("/json").len(), 1, "{run}");
    let steps: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["http.post", "body.set"], "{run}");
    s.stop().await;
}

#[tokio::test]
async fn forwarding_to_itself_stops_after_eight_hops() {
    // The data dir and port are only known once it runs: start, make the webhook, restart
    // on the same port with --forward-to its own receive URL.
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.loop").await);
    let url = format!("http://{}{RECEIVE}?token={token}", s.addr);
    let addr = s.addr;
    let dir = s.stop().await;
    let s = TestServer::start_in(dir, addr, |o| o.forward_to = Some(url)).await;
    call(&s, &token, "{\"n\":1}").await;
    // The original call, then one event per hop, each forwarded once more, until the step
    // refuses: 1 + 8 events, and a dead run whose error names the loop.
    let dead = eventually("the loop to stop", async || {
        runs(&s, "pipeline=forward-to&status=dead")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert!(
        dead["error"].as_str().unwrap().contains("forwarding loop"),
        "{dead}"
    );
    let events = s.events("eventKey=webhook.loop&limit=100").await;
    assert_eq!(events.len(), 9, "{events:?}");
    let hops: Vec<&str> = events
        .iter()
        .filter_map(|e| e["headers"]["x-hooktail-hops"].as_str())
        .collect();
    assert_eq!(hops.len(), 8);
    s.stop().await;
}

#[tokio::test]
async fn concurrent_retries_of_one_run_queue_it_once() {
    let target = http_server().await;
    target.failing.store(true, Ordering::SeqCst);
    let s = TestServer::start().await;
    let token = uuid_of(&s.put("webhook.race").await);
    let yaml = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.race\n  - http.post:\n      url: {}\n",
        target.url("/switch")
    );
    assert_eq!(put_pipeline(&s, "race", &yaml).await.status, 200);
    let event = call(&s, &token, "{}").await;
    let dead = final_run(&s, &event).await;
    assert_eq!(dead["status"], "dead");
    let id = dead["id"].as_str().unwrap().to_string();
    // The retried attempt hangs, so that it cannot fail again (and be retryable again) while
    // the retries are still arriving: with fast commits it did.
    let hang = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.race\n  - http.post:\n      url: {}\n      timeout: 3600\n",
        target.url("/hang")
    );
    assert_eq!(put_pipeline(&s, "race", &hang).await.status, 200);
    let query = format!("id={id}");
    let answers = futures_util::future::join_all((0..20).map(|_| s.cmd("run.retry", &query))).await;
    let queued = answers.iter().filter(|r| r.status == 200).count();
    let refused = answers.iter().filter(|r| r.status == 409).count();
    assert_eq!((queued, refused), (1, 19));
    s.stop().await;
}
