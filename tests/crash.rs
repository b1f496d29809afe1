//! Kill -9 under concurrent load: every event whose request got a 200 survives (in redb, or
//! in the write-ahead log, replayed on open), and the store reopens cleanly. Also: no token
//! reaches the log.

#[path = "common/child.rs"]
mod child;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use child::*;
use hooktail::app::Core;
use hooktail::cli::Options;
use hooktail::domain::Record;

const CONNECTIONS: usize = 16;

/// POSTs with the token header until a request fails; returns the acked event ids.
fn load(addr: SocketAddr, token: String, stop: Arc<AtomicBool>) -> Vec<uuid::Uuid> {
    let mut acked = Vec::new();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let body = format!("{{\"n\":{i}}}");
        let Ok(mut s) = TcpStream::connect(addr) else {
            break;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let req = format!(
            "POST /api/v3/command/webhook.receive HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(req.as_bytes()).is_err() {
            break;
        }
        let mut resp = String::new();
        if s.read_to_string(&mut resp).is_err() || !resp.starts_with("HTTP/1.1 200") {
            break;
        }
        let Some(json) = resp.split("\r\n\r\n").nth(1) else {
            break;
        };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        acked.push(v["correlationId"].as_str().unwrap().parse().unwrap());
    }
    acked
}

fn crash_after(delay: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Serve::start(&data, free_addr());
    let (code, out, err) = command(
        &data,
        server.addr,
        &["webhook.put", "eventKey=webhook.crash"],
    );
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<serde_json::Value>(&out).unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (addr, token, stop, acked) =
                (server.addr, token.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let ids = load(addr, token, stop);
                acked.lock().unwrap().extend(ids);
            })
        })
        .collect();
    std::thread::sleep(delay);
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "the load got no answers before the kill");
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains(&token), "the full token is in the log");
    drop(server);

    // Opened as serve opens it: the events acked since the last checkpoint are in the
    // write-ahead log only, replayed now.
    let opts = Options::for_data(&data, free_addr()).unwrap();
    let core = Core::open(&opts).expect("the store reopens after kill -9");
    let store = core.ctx.store.clone();
    for id in &acked {
        match store.record(id).unwrap() {
            Some(Record::Accepted(e)) => assert_eq!(e.event_key, "webhook.crash"),
            other => panic!("acked event {id} is missing after the crash: {other:?}"),
        }
    }
    let (stored, _) = store.counts().unwrap();
    assert!(stored >= acked.len() as u64);
    eprintln!(
        "killed after {delay:?}: {} acked, {stored} stored",
        acked.len()
    );
    drop(store);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(core.close());
}

#[test]
fn kill_9_early_loses_no_acked_event() {
    crash_after(Duration::from_millis(150));
}

#[test]
fn kill_9_mid_run_loses_no_acked_event() {
    crash_after(Duration::from_millis(700));
}

#[test]
fn kill_9_late_loses_no_acked_event() {
    crash_after(Duration::from_millis(2000));
}
