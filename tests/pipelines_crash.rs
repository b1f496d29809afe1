//! kill -9 while pipeline runs are in flight and while a retry waits, then a restart: every
//! event a pipeline matches ends with an ok (or dead) run, none is skipped. Delivery is at
//! least once, so an event may reach the target twice; the test reports how many did.

#[path = "common/child.rs"]
mod child;
#[path = "common/peers.rs"]
mod peers;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use child::*;
use peers::*;
use serde_json::Value;

const EVENTS: usize = 120;

/// One HTTP/1.1 request on a fresh connection; the answer's status and body.
fn request(addr: SocketAddr, req: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.get(9..12)?.parse().ok()?;
    Some((status, resp.split_once("\r\n\r\n")?.1.to_string()))
}

fn cmd(addr: SocketAddr, key: &str, name: &str, query: &str) -> Value {
    let (status, body) = request(
        addr,
        &format!(
            "GET /api/v3/command/{name}?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        ),
    )
    .expect("the server answers");
    assert_eq!(status, 200, "{name}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn put_pipeline(data: &std::path::Path, addr: SocketAddr, name: &str, yaml: &str) {
    let file = data.with_extension(format!("{name}.yaml"));
    std::fs::write(&file, yaml).unwrap();
    let (code, _, err) = command(
        data,
        addr,
        &[
            "pipeline.put",
            &format!("name={name}"),
            &format!("yaml=@{}", file.display()),
        ],
    );
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_resume_after_kill_9_and_none_is_skipped() {
    let target = http_server().await;
    target.failing.store(true, Ordering::SeqCst);
    let slow = target.url("/slow");
    let switch = target.url("/switch");
    let (acked, data, dir) = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut server = Serve::start(&data, free_addr());
        let (code, out, err) = command(&data, server.addr, &["webhook.put", "eventKey=webhook.crash"]);
        assert_eq!(code, 0, "{err}");
        let token = serde_json::from_str::<Value>(&out).unwrap()["uuid"]
            .as_str()
            .unwrap()
            .to_string();
        put_pipeline(
            &data,
            server.addr,
            "deliver",
            &format!("pipeline:\n  - event.listen:\n      eventKey: webhook.crash\n  - http.post:\n      url: {slow}\n"),
        );
        put_pipeline(
            &data,
            server.addr,
            "waits",
            &format!("pipeline:\n  - event.listen:\n      eventKey: webhook.crash\n  - http.post:\n      url: {switch}\n      onError: {{action: RETRY, times: 50, wait: 0.2, then: THROW}}\n"),
        );
        let mut acked = Vec::new();
        for n in 0..EVENTS {
            let body = format!("{{\"n\":{n}}}");
            let (status, answer) = request(
                server.addr,
                &format!(
                    "POST /api/v3/command/webhook.receive HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
            )
            .unwrap();
            assert_eq!(status, 200, "{answer}");
            let v: Value = serde_json::from_str(&answer).unwrap();
            acked.push(v["correlationId"].as_str().unwrap().to_string());
            if n == EVENTS / 2 {
                // Runs of `deliver` are in flight (each takes 20 ms) and `waits` holds a retry.
                server.kill9();
                server = Serve::start(&data, server.addr);
            }
        }
        drop(server);
        (acked, data, dir)
    })
    .await
    .unwrap();

    // Start once more, with the target healthy: the waiting retry and the rest go through.
    target.failing.store(false, Ordering::SeqCst);
    let (server, key) = tokio::task::spawn_blocking(move || {
        let server = Serve::start(&data, free_addr());
        let key = server.key();
        (server, key)
    })
    .await
    .unwrap();
    let addr = server.addr;
    let deadline = Instant::now() + Duration::from_secs(60);
    let finals = loop {
        let finals: Vec<(String, Vec<Value>)> = acked
            .iter()
            .map(|id| {
                let runs = cmd(addr, &key, "run.list", &format!("eventId={id}"));
                (id.clone(), runs.as_array().unwrap().clone())
            })
            .collect();
        let done = finals.iter().all(|(_, runs)| {
            ["deliver", "waits"].iter().all(|p| {
                runs.iter()
                    .any(|r| r["pipeline"] == *p && (r["status"] == "ok" || r["status"] == "dead"))
            })
        });
        if done {
            break finals;
        }
        assert!(
            Instant::now() < deadline,
            "not every event has a final run: {:?}",
            cmd(addr, &key, "pipeline.get", "")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Nothing was skipped: every acked event reached the target through `deliver`, and
    // `waits` ended ok for each once the target healed.
    let mut delivered: HashMap<String, usize> = HashMap::new();
    for r in target.requests("/slow") {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        *delivered
            .entry(v["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for (id, runs) in &finals {
        assert!(delivered.contains_key(id), "event {id} was never delivered");
        assert!(
            runs.iter()
                .any(|r| r["pipeline"] == "waits" && r["status"] == "ok"),
            "{id}: {runs:?}"
        );
    }
    let duplicates = delivered.values().filter(|n| **n > 1).count();
    println!(
        "{} events, {} deliveries, {duplicates} events delivered more than once (at least once)",
        acked.len(),
        delivered.values().sum::<usize>()
    );
    drop(server);
    drop(dir);
}
