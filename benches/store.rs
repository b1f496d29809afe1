//! `cargo bench --bench store`: the value layout, the cost of two-phase commit under group
//! commit, and paging, open time and RSS with 1,000,000 events stored.
//!
//! Figures are printed as ratios against a baseline measured in the same run.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use hooktail::domain::{Event, Record};
use hooktail::store::{Cursor, PageQuery, Store, Writer, WriterConfig, codec};

#[path = "common/mod.rs"]
mod common;
use common::{event, million_store, rss_kib};

/// JSON with the body base64-encoded inside, against the chosen header + raw bytes layout.
fn layouts() {
    println!("## value layout (1 KiB body, 20,000 events)");
    let events: Vec<Event> = (0..20_000).map(|i| event(i, 1024)).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    let t = Instant::now();
    let json: Vec<Vec<u8>> = events
        .iter()
        .map(|e| serde_json::to_vec(&e.to_json(true)).unwrap())
        .collect();
    let json_enc = t.elapsed();
    let t = Instant::now();
    for j in &json {
        let v: serde_json::Value = serde_json::from_slice(j).unwrap();
        let body = b64.decode(v["origin"].as_str().unwrap()).unwrap();
        std::hint::black_box(body);
    }
    let json_dec = t.elapsed();
    let t = Instant::now();
    let raw: Vec<Vec<u8>> = events
        .iter()
        .map(|e| codec::encode_event(e).unwrap())
        .collect();
    let raw_enc = t.elapsed();
    let t = Instant::now();
    for r in &raw {
        std::hint::black_box(codec::decode_event(r, true).unwrap());
    }
    let raw_dec = t.elapsed();
    let size = |v: &Vec<Vec<u8>>| v.iter().map(Vec::len).sum::<usize>() / v.len();
    println!("| layout | bytes/event | encode | decode |");
    println!("|---|---|---|---|");
    println!(
        "| JSON + base64 body (baseline) | {} | 1.00x | 1.00x |",
        size(&json)
    );
    println!(
        "| JSON meta + raw body (chosen) | {} ({:.2}x) | {:.2}x | {:.2}x |",
        size(&raw),
        size(&raw) as f64 / size(&json) as f64,
        raw_enc.as_secs_f64() / json_enc.as_secs_f64(),
        raw_dec.as_secs_f64() / json_dec.as_secs_f64()
    );
}

/// Appends `n` events from `writers` concurrent callers; returns events/s.
async fn ingest(path: &Path, two_phase_commit: bool, writers: usize, n: usize) -> f64 {
    let store = Store::open(path).unwrap();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit,
    };
    let (writer, thread) = Writer::start(store, config, Box::new(|_, _| {})).unwrap();
    let t = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let writer: Writer = writer.clone();
            tokio::spawn(async move {
                for i in 0..n / writers {
                    writer
                        .append(Record::Accepted(event(w * n + i, 1024)), None)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    writer.stop().await;
    thread.join().unwrap();
    rate
}

async fn two_phase() {
    println!("\n## two-phase commit under group commit (1 KiB events, durable acks)");
    println!("| callers | 2PC off events/s | 2PC on events/s | on/off |");
    println!("|---|---|---|---|");
    for callers in [1, 32, 256] {
        let n = if callers == 1 { 300 } else { 20_000 };
        let dir = tempfile::tempdir().unwrap();
        let off = ingest(&dir.path().join("off.redb"), false, callers, n).await;
        let on = ingest(&dir.path().join("on.redb"), true, callers, n).await;
        println!("| {callers} | {off:.0} | {on:.0} | {:.2}x |", on / off);
    }
}

/// Runs in a fresh child process so that its RSS is the store's alone.
fn open_and_page(path: &Path) {
    let rss_before = rss_kib();
    let t = Instant::now();
    let store = Store::open(path).unwrap();
    let open = t.elapsed();
    let rss_open = rss_kib();
    let time = |cursor: Cursor| {
        let q = PageQuery {
            cursor,
            ..PageQuery::newest(50)
        };
        // Warm once, then take the best of 20.
        store.page(&q).unwrap();
        (0..20)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(store.page(&q).unwrap().len(), 50);
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::ZERO)
    };
    let newest = time(Cursor::Newest);
    let oldest = time(Cursor::Oldest);
    // A filter that matches nothing reads every event: the worst case of event.list.
    let t = Instant::now();
    let none = store
        .page(&PageQuery {
            filter: hooktail::domain::EventFilter::new(
                None,
                Some(hooktail::domain::EventKeyPattern::parse("webhook.none").unwrap()),
            ),
            ..PageQuery::newest(50)
        })
        .unwrap();
    assert!(none.is_empty());
    let full_scan = t.elapsed();
    let (events, _) = store.counts().unwrap();
    println!("\n## 1,000,000 events stored ({events} in the store)");
    println!("| measure | figure |");
    println!("|---|---|");
    println!("| store open | {open:.2?} |");
    println!(
        "| RSS after open | {} KiB (+{} KiB over the bare process) |",
        rss_open,
        rss_open - rss_before
    );
    println!("| newest 50 | {newest:.2?} |");
    println!(
        "| oldest 50 | {oldest:.2?} ({:.2}x newest) |",
        oldest.as_secs_f64() / newest.as_secs_f64()
    );
    println!("| eventKey filter matching nothing (reads all) | {full_scan:.2?} |");
}

/// Commits one event and dies without closing the store, as a kill -9 would.
fn commit_and_die(path: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(path).unwrap();
        let config = WriterConfig {
            retain_events: 0,
            two_phase_commit: true,
        };
        let (writer, _thread) = Writer::start(store, config, Box::new(|_, _| {})).unwrap();
        writer
            .append(Record::Accepted(event(0, 200)), None)
            .await
            .unwrap();
    });
    std::process::abort();
}

/// Store open time after a crash: redb must repair a store that was not closed.
fn crash_reopen(million: &Path) {
    let dirty = million.with_extension("dirty");
    std::fs::copy(million, &dirty).unwrap();
    let me = std::env::current_exe().unwrap();
    let clean = {
        let t = Instant::now();
        drop(Store::open(&dirty).unwrap());
        t.elapsed()
    };
    let status = std::process::Command::new(&me)
        .env("HOOKTAIL_BENCH_DIE", &dirty)
        .status()
        .unwrap();
    assert!(!status.success(), "the child was meant to die");
    let t = Instant::now();
    let store = Store::open(&dirty).unwrap();
    let repaired = t.elapsed();
    let (events, _) = store.counts().unwrap();
    drop(store);
    let _ = std::fs::remove_file(&dirty);
    println!("\n## reopening 1,000,000 events after a crash ({events} events after)");
    println!("| open | time | ratio |");
    println!("|---|---|---|");
    println!("| after a clean close (baseline) | {clean:.2?} | 1.00x |");
    println!(
        "| after kill -9 (repair) | {repaired:.2?} | {:.0}x |",
        repaired.as_secs_f64() / clean.as_secs_f64()
    );
}

fn main() {
    if let Ok(path) = std::env::var("HOOKTAIL_BENCH_OPEN") {
        open_and_page(Path::new(&path));
        return;
    }
    if let Ok(path) = std::env::var("HOOKTAIL_BENCH_DIE") {
        commit_and_die(Path::new(&path));
    }
    // `cargo bench` passes --bench; a filter argument may select one part.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    println!(
        "# hooktail store benchmark, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    if wants("layout") {
        layouts();
    }
    if wants("two_phase") {
        rt.block_on(two_phase());
    }
    if wants("million") {
        let path = rt.block_on(million_store());
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .env("HOOKTAIL_BENCH_OPEN", &path)
            .status()
            .unwrap();
        assert!(status.success());
        crash_reopen(&path);
    }
}
