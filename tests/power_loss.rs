//! Simulated power loss. A test-only redb `StorageBackend` keeps a "durable" image that only
//! `sync_data` updates. After a random number of syncs the power fails: that sync and all I/O
//! after it fail, and the disk keeps the last synced image plus a random subset of the writes
//! since, in order, some of them torn (only their first 512-byte sectors landed). The store
//! must reopen from that image without a panic, and every event acked before the crash must be
//! in it. Both of redb's commit modes are run: one-phase with checksums (what hooktail uses)
//! and two-phase.

use std::io;
use std::sync::{Arc, Mutex};

use hooktail::domain::Record;
use hooktail::store::{Cursor, PageQuery, Store, Writer, WriterConfig};
use uuid::Uuid;

#[path = "common/fixtures.rs"]
mod fixtures;

/// A tiny deterministic RNG (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

enum Unsynced {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

struct DiskState {
    current: Vec<u8>,
    durable: Vec<u8>,
    unsynced: Vec<Unsynced>,
    syncs: u64,
    /// The sync during which the power fails.
    crash_at: u64,
    crashed: bool,
}

#[derive(Clone)]
struct Disk(Arc<Mutex<DiskState>>);

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Disk")
    }
}

/// The unit a torn write keeps or loses whole: a disk sector. (redb writes whole 4 KiB pages, so
/// a torn write is a page whose first sectors are new and the rest old.)
const SECTOR: usize = 512;

fn power_is_out() -> io::Error {
    io::Error::other("power failure")
}

impl Disk {
    fn new(image: Vec<u8>, crash_at: u64) -> Disk {
        Disk(Arc::new(Mutex::new(DiskState {
            current: image.clone(),
            durable: image,
            unsynced: Vec::new(),
            syncs: 0,
            crash_at,
            crashed: false,
        })))
    }

    /// What the disk holds after the power came back.
    fn image_after_crash(&self, rng: &mut Rng) -> Vec<u8> {
        let s = self.0.lock().unwrap();
        let mut image = s.durable.clone();
        for op in &s.unsynced {
            if rng.below(2) == 0 {
                continue;
            }
            match op {
                Unsynced::Write(offset, data) => {
                    // One write in four is torn: only its first sectors landed.
                    let sectors = data.len().div_ceil(SECTOR) as u64;
                    let data = if sectors > 1 && rng.below(4) == 0 {
                        &data[..(1 + rng.below(sectors - 1)) as usize * SECTOR]
                    } else {
                        &data[..]
                    };
                    let end = *offset as usize + data.len();
                    if image.len() < end {
                        image.resize(end, 0);
                    }
                    image[*offset as usize..end].copy_from_slice(data);
                }
                Unsynced::SetLen(len) => image.resize(*len as usize, 0),
            }
        }
        image
    }
}

impl redb::StorageBackend for Disk {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.0.lock().unwrap().current.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let s = self.0.lock().unwrap();
        if s.crashed {
            return Err(power_is_out());
        }
        let start = offset as usize;
        let src = s
            .current
            .get(start..start + out.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(src);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut s = self.0.lock().unwrap();
        if s.crashed {
            return Err(power_is_out());
        }
        s.current.resize(len as usize, 0);
        s.unsynced.push(Unsynced::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut s = self.0.lock().unwrap();
        if s.crashed {
            return Err(power_is_out());
        }
        s.syncs += 1;
        if s.syncs == s.crash_at {
            s.crashed = true;
            return Err(power_is_out());
        }
        s.durable = s.current.clone();
        s.unsynced.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut s = self.0.lock().unwrap();
        if s.crashed {
            return Err(power_is_out());
        }
        let end = offset as usize + data.len();
        if s.current.len() < end {
            s.current.resize(end, 0);
        }
        s.current[offset as usize..end].copy_from_slice(data);
        s.unsynced.push(Unsynced::Write(offset, data.to_vec()));
        Ok(())
    }
}

fn event(n: u64) -> Record {
    fixtures::event("webhook.power", n, format!("{{\"n\":{n:>8}}}").as_bytes())
}

/// Runs concurrent appenders until the power fails; returns the acked ids, or `None` when
/// the power failed while the store was being created.
async fn run_until_crash(disk: Disk, rng: &mut Rng, two_phase_commit: bool) -> Option<Vec<Uuid>> {
    let Ok(store) = Store::open_backend(move || disk.clone()) else {
        return None;
    };
    // Half the runs also prune (retention) while the power may fail.
    let retain_events = if rng.below(2) == 0 {
        0
    } else {
        50 + rng.below(100)
    };
    let config = WriterConfig {
        retain_events,
        two_phase_commit,
    };
    let (writer, thread) = Writer::start(store, config, Box::new(|_, _| {})).unwrap();
    let callers = 1 + rng.below(16) as usize;
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..400u64 {
                    let record = event(c as u64 * 1000 + i);
                    // The id it is stored under (the writer keeps ids in commit order).
                    match writer.append(record, None).await {
                        Ok(id) => acked.push(id),
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("an appender panicked"));
    }
    writer.stop().await;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().expect("the writer panicked"))
        .await
        .unwrap();
    Some(acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_events_survive_power_loss_with_one_phase_commit() {
    survive_power_loss(false, 1..=200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_events_survive_power_loss_with_two_phase_commit() {
    survive_power_loss(true, 1..=60).await;
}

async fn survive_power_loss(two_phase_commit: bool, seeds: std::ops::RangeInclusive<u64>) {
    let runs = seeds.clone().count();
    let mut crashes = 0;
    for seed in seeds {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let crash_at = 1 + rng.below(80);
        let disk = Disk::new(Vec::new(), crash_at);
        let Some(acked) = run_until_crash(disk.clone(), &mut rng, two_phase_commit).await else {
            // Nothing was acked. redb's file creation is not atomic: a torn first write may
            // leave a file that is not a database yet (README, Write path).
            continue;
        };
        let crashed = disk.0.lock().unwrap().crashed;
        if !crashed {
            continue;
        }
        crashes += 1;
        let image = disk.image_after_crash(&mut rng);
        let store =
            Store::open_backend(move || Disk::new(image.clone(), u64::MAX)).unwrap_or_else(|e| {
                panic!("seed {seed}, 2PC {two_phase_commit}: the store does not reopen: {e}")
            });
        // Pruning removes only from the oldest end: every acked event newer than the oldest
        // one stored must be there (with no retention, that is every acked event).
        let oldest = store
            .page(&PageQuery {
                cursor: Cursor::Oldest,
                ..PageQuery::newest(1)
            })
            .unwrap()
            .first()
            .map(Record::id);
        for id in &acked {
            if oldest.is_none_or(|o| *id >= o) {
                assert!(
                    store.record(id).unwrap().is_some(),
                    "seed {seed}, 2PC {two_phase_commit}: acked event {id} lost (crash at sync {crash_at}, {} acked)",
                    acked.len()
                );
            }
        }
        if let Some(newest) = acked.iter().max() {
            assert!(
                store.record(newest).unwrap().is_some(),
                "seed {seed}, 2PC {two_phase_commit}: newest acked event lost"
            );
        }
    }
    assert!(
        crashes >= runs * 2 / 3,
        "only {crashes} of {runs} runs crashed; the test lost its teeth"
    );
}
