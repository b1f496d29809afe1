//! Shared by the benchmarks: event fixtures, RSS, and the million-event store.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use hooktail::domain::{Event, PayloadType, Record};
use hooktail::store::{Store, Writer, WriterConfig};
use uuid::Uuid;

pub const MILLION: usize = 1_000_000;

pub fn event(n: usize, body_len: usize) -> Event {
    let mut headers = BTreeMap::new();
    headers.insert("content-type".to_string(), "application/json".to_string());
    headers.insert("user-agent".to_string(), "curl/8.5.0".to_string());
    Event {
        id: Uuid::now_v7(),
        event_key: format!("webhook.bench.k{}", n % 10),
        received_at: n as i64,
        method: "POST".into(),
        path: "/api/v3/command/webhook.receive".into(),
        query: BTreeMap::new(),
        headers,
        remote_addr: "127.0.0.1:50432".into(),
        content_type: Some("application/json".into()),
        size: body_len as u64,
        payload_type: PayloadType::Base64,
        files: vec![],
        form: BTreeMap::new(),
        verified: None,
        body: (0..body_len)
            .map(|i| b"{\"lead\":\"ACME\"}"[i % 15])
            .collect(),
    }
}

pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Builds (once) a store with a million events, kept under target/ between runs.
pub async fn million_store() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-1m.redb");
    if path.exists() {
        return path;
    }
    let tmp = path.with_extension("building");
    let _ = std::fs::remove_file(&tmp);
    let t = Instant::now();
    let store = Store::open(&tmp).unwrap();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit: false,
    };
    let (writer, thread) = Writer::start(store, config, Box::new(|_, _| {})).unwrap();
    let tasks: Vec<_> = (0..512)
        .map(|w| {
            let writer: Writer = writer.clone();
            tokio::spawn(async move {
                for i in 0..MILLION / 512 + 1 {
                    let n = w * 2000 + i;
                    if w * (MILLION / 512 + 1) + i >= MILLION {
                        break;
                    }
                    writer
                        .append(Record::Accepted(event(n, 200)), None)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    writer.stop().await;
    thread.join().unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    println!("(built the 1M-event store in {:.1?})", t.elapsed());
    path
}
