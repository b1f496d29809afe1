//! `cargo bench --bench log_vs_commit`: what a write-ahead log would save over redb's
//! one-phase commit (issue 12), measured before building one. Per batch of 1 KiB events:
//!
//! - **1PC**: what the writer does today, one redb transaction (the events and a stats row)
//!   committed durably with one-phase commit: its pages, the header, one `fdatasync`.
//! - **log**: a sequential append of the same bytes (plus a 24-byte record header each) to a
//!   preallocated, zero-filled file and one `fdatasync`, then the same redb transaction
//!   committed with `Durability::None` (pages stay in redb's buffer) storing the log position,
//!   and a durable checkpoint every 1000 batches. What a WAL would do.
//! - **log, overlapped**: the same, with the `fdatasync` on a second thread while the redb
//!   transaction runs, both finished before the batch could be acked.
//!
//! The three run interleaved, batch by batch, so that a busy machine slows each alike.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableTable, TableDefinition};

const EVENTS: TableDefinition<u128, &[u8]> = TableDefinition::new("events_v1");
const STATS: TableDefinition<u128, (u64, i64)> = TableDefinition::new("webhook_stats_v1");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Record header of the sketched log format: length, checksum, sequence.
const RECORD_HEADER: usize = 24;
const VALUE: usize = 1024 + 100;
const CHECKPOINT_EVERY: usize = 1000;

/// Writes one batch into a redb transaction: the events and the webhook's stats row.
fn fill(db: &Database, durability: Durability, first_key: u128, batch: usize, seq: Option<u64>) {
    let mut txn = db.begin_write().expect("begin");
    txn.set_durability(durability).expect("durability");
    txn.set_two_phase_commit(false);
    {
        let value = [b'x'; VALUE];
        let mut events = txn.open_table(EVENTS).expect("events");
        for k in 0..batch as u128 {
            events
                .insert(first_key + k, value.as_slice())
                .expect("insert");
        }
        let mut stats = txn.open_table(STATS).expect("stats");
        let count = stats.get(7).expect("get").map_or(0, |v| v.value().0);
        stats.insert(7, (count + batch as u64, 0)).expect("stats");
        if let Some(seq) = seq {
            txn.open_table(META)
                .expect("meta")
                .insert("applied", seq)
                .expect("meta");
        }
    }
    txn.commit().expect("commit");
}

fn checkpoint(db: &Database) {
    let mut txn = db.begin_write().expect("begin");
    txn.set_two_phase_commit(false);
    txn.commit().expect("checkpoint");
}

fn open_db(path: &Path) -> Database {
    Database::builder()
        .set_cache_size(32 * 1024 * 1024)
        .create(path)
        .expect("create")
}

/// A preallocated log, zero-filled so that appends never change the file's metadata.
fn open_log(path: &Path, bytes: u64) -> File {
    let f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)
        .expect("log");
    let zeros = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < bytes {
        f.write_all_at(&zeros, at).expect("prealloc");
        at += zeros.len() as u64;
    }
    f.sync_all().expect("sync");
    f
}

fn summary(name: &str, times: &mut [Duration], base_p50: Option<Duration>) -> Duration {
    times.sort();
    let n = times.len();
    let p50 = times[n / 2];
    let mean = times.iter().sum::<Duration>() / n as u32;
    let ratio = base_p50.map_or("1.00x".to_string(), |b| {
        format!("{:.2}x", b.as_secs_f64() / p50.as_secs_f64())
    });
    println!(
        "| {name} | {:.0} µs | {:.0} µs | {:.0} µs | {ratio} |",
        p50.as_secs_f64() * 1e6,
        times[n * 9 / 10].as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6,
    );
    p50
}

fn run(batch: usize, rounds: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let one_phase = open_db(&dir.path().join("1pc.redb"));
    let logged = open_db(&dir.path().join("log.redb"));
    let overlapped = open_db(&dir.path().join("overlap.redb"));
    let record = vec![b'x'; batch * (VALUE + RECORD_HEADER)];
    let log_bytes = (rounds * record.len()) as u64 + (1 << 20);
    let log = open_log(&dir.path().join("a.log"), log_bytes);
    let log2 = Arc::new(open_log(&dir.path().join("b.log"), log_bytes));

    // The overlapped variant's syncer: syncs when asked, answers when done.
    let (sync_tx, sync_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let syncer = {
        let log2 = log2.clone();
        std::thread::spawn(move || {
            while sync_rx.recv().is_ok() {
                log2.sync_data().expect("sync");
                if done_tx.send(()).is_err() {
                    break;
                }
            }
        })
    };

    let (mut t_1pc, mut t_log, mut t_overlap, mut t_append, mut t_apply) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..rounds {
        let key = (1u128 << 100) + (i * batch) as u128;
        let at = (i * record.len()) as u64;

        let t = Instant::now();
        fill(&one_phase, Durability::Immediate, key, batch, None);
        t_1pc.push(t.elapsed());

        let t = Instant::now();
        log.write_all_at(&record, at).expect("append");
        log.sync_data().expect("sync");
        let synced = t.elapsed();
        fill(&logged, Durability::None, key, batch, Some(i as u64));
        t_apply.push(t.elapsed() - synced);
        if i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
            checkpoint(&logged);
        }
        t_log.push(t.elapsed());
        t_append.push(synced);

        let t = Instant::now();
        log2.write_all_at(&record, at).expect("append");
        sync_tx.send(()).expect("syncer");
        fill(&overlapped, Durability::None, key, batch, Some(i as u64));
        done_rx.recv().expect("syncer");
        if i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
            checkpoint(&overlapped);
        }
        t_overlap.push(t.elapsed());
    }
    drop(sync_tx);
    syncer.join().expect("syncer");

    println!("\n## batches of {batch} event(s) of 1 KiB, {rounds} rounds");
    println!("| per batch | p50 | p90 | mean | 1PC p50 / this p50 |");
    println!("|---|---|---|---|---|");
    let base = summary("redb 1PC commit (today)", &mut t_1pc, None);
    summary(
        "log: append + fdatasync + redb None",
        &mut t_log,
        Some(base),
    );
    summary(
        "log, overlapped: sync ‖ redb None",
        &mut t_overlap,
        Some(base),
    );
    summary(
        "  of the log: append + fdatasync",
        &mut t_append,
        Some(base),
    );
    summary("  of the log: redb None commit", &mut t_apply, Some(base));
}

fn main() {
    // `cargo bench` passes `--bench`; a number picks the rounds.
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    for batch in [1, 16, 64] {
        run(batch, (rounds / batch.max(4) * 4).max(200));
    }
}
