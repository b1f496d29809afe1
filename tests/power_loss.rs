//! Simulated power loss. A test-only redb `StorageBackend` keeps a "durable" image that only
//! `sync_data` updates. After a random number of syncs the power fails: that sync and all I/O
//! after it fail, and the disk keeps the last synced image plus a random subset of the writes
//! since, in order, some of them torn (only their first 512-byte sectors landed). The store
//! must reopen from that image without a panic, and every event acked before the crash must be
//! in it. Both of redb's commit modes are run: one-phase with checksums (what hooktail uses)
//! and two-phase, and the write-ahead log, whose file is such a disk too, on the same power.

use std::io;
use std::sync::{Arc, Mutex};

use hooktail::domain::{EventFilter, Record, Status};
use std::time::Duration;

use hooktail::store::wal::LogFile;
use hooktail::store::{Cursor, LogConfig, PageQuery, Store, Writer, WriterConfig};
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

/// The power both files of a store (redb's and the log) are on.
struct Power {
    /// Syncs so far, of either file.
    syncs: u64,
    /// The sync during which the power fails.
    crash_at: u64,
    crashed: bool,
    /// That sync fails, and the power stays on (an I/O error, not a crash).
    transient: bool,
}

struct DiskState {
    current: Vec<u8>,
    durable: Vec<u8>,
    unsynced: Vec<Unsynced>,
    power: Arc<Mutex<Power>>,
    /// A disk that answers a sync without syncing: the self-check that acks sent before
    /// the log is synced lose events.
    lies: bool,
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

fn power(crash_at: u64) -> Arc<Mutex<Power>> {
    Arc::new(Mutex::new(Power {
        syncs: 0,
        crash_at,
        crashed: false,
        transient: false,
    }))
}

impl Disk {
    fn new(image: Vec<u8>, crash_at: u64) -> Disk {
        Disk::on(image, power(crash_at), false)
    }

    fn on(image: Vec<u8>, power: Arc<Mutex<Power>>, lies: bool) -> Disk {
        Disk(Arc::new(Mutex::new(DiskState {
            current: image.clone(),
            durable: image,
            unsynced: Vec::new(),
            power,
            lies,
        })))
    }

    fn crashed(&self) -> bool {
        self.0.lock().unwrap().power.lock().unwrap().crashed
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
        if s.power.lock().unwrap().crashed {
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
        if s.power.lock().unwrap().crashed {
            return Err(power_is_out());
        }
        s.current.resize(len as usize, 0);
        s.unsynced.push(Unsynced::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut s = self.0.lock().unwrap();
        {
            let mut p = s.power.lock().unwrap();
            if p.crashed {
                return Err(power_is_out());
            }
            p.syncs += 1;
            if p.syncs == p.crash_at {
                p.crashed = !p.transient;
                return Err(power_is_out());
            }
        }
        if s.lies {
            return Ok(());
        }
        s.durable = s.current.clone();
        s.unsynced.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut s = self.0.lock().unwrap();
        if s.power.lock().unwrap().crashed {
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

impl LogFile for Disk {
    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let s = self.0.lock().unwrap();
        if s.power.lock().unwrap().crashed {
            return Err(power_is_out());
        }
        Ok(s.current.clone())
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        redb::StorageBackend::write(self, offset, bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        redb::StorageBackend::sync_data(self)
    }

    fn size(&mut self) -> io::Result<u64> {
        redb::StorageBackend::len(self)
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
        if !disk.crashed() {
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

/// The webhook the log runs' events claim delivery ids for.
const WEBHOOK: Uuid = Uuid::from_u128(0x5eed);

/// What an appender was answered.
struct Ack {
    /// The event stored, or for a duplicate the one stored before it.
    id: Uuid,
    duplicate: bool,
    body: Vec<u8>,
    delivery: String,
}

/// redb's file and the log's, on one power.
struct Disks {
    db: Disk,
    log: Disk,
}

impl Disks {
    fn new(db: Vec<u8>, log: Vec<u8>, crash_at: u64, lies: bool) -> Disks {
        let p = power(crash_at);
        Disks {
            db: Disk::on(db, p.clone(), false),
            log: Disk::on(log, p, lies),
        }
    }

    fn after_crash(&self, rng: &mut Rng, lies: bool) -> Disks {
        let db = self.db.image_after_crash(rng);
        Disks::new(db, self.log.image_after_crash(rng), u64::MAX, lies)
    }
}

fn log_config(rng: &mut Rng, lies: bool) -> LogConfig {
    LogConfig {
        // Half the honest runs commit their larger batches straight to redb, between the
        // logged ones. With a lying log disk, every batch goes through the log.
        direct_batch: if lies || rng.below(2) == 0 {
            usize::MAX
        } else {
            2 + rng.below(6) as usize
        },
        // Small segments, so that checkpoints, and crashes during them, are frequent.
        segment_bytes: 8192 + rng.below(64 << 10),
        checkpoint_every: if rng.below(2) == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(3600)
        },
    }
}

/// Opens the store with its log on these disks (replaying the log).
fn open_logged(
    disks: &Disks,
    log: LogConfig,
    retain_events: u64,
) -> Option<(Arc<Store>, Writer, std::thread::JoinHandle<()>)> {
    let db = disks.db.clone();
    let store = Store::open_backend(move || db.clone()).ok()?;
    let config = WriterConfig {
        retain_events,
        two_phase_commit: false,
    };
    let (writer, thread) = Writer::start_logged(
        store.clone(),
        config,
        Box::new(disks.log.clone()),
        log,
        Box::new(|_, _| {}),
    )
    .ok()?;
    Some((store, writer, thread))
}

async fn stop(writer: Writer, thread: std::thread::JoinHandle<()>) {
    writer.stop().await;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().expect("the writer panicked"))
        .await
        .unwrap();
}

fn body(n: u64) -> Vec<u8> {
    format!("{{\"n\":{n:>8}}}").into_bytes()
}

/// Concurrent appenders, every second event a repeat of the one before (same delivery id),
/// until the power fails or each has sent `per_caller`.
async fn append_logged(writer: &Writer, callers: u64, per_caller: u64) -> Vec<Ack> {
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..per_caller {
                    let n = c * 1000 + i;
                    let delivery = format!("{c}-{}", i / 2);
                    let answer = writer
                        .append_once(event(n), Some(WEBHOOK), Some(delivery.clone()))
                        .await;
                    match answer {
                        Ok(s) => acked.push(Ack {
                            id: s.id,
                            duplicate: s.duplicate,
                            body: body(n),
                            delivery,
                        }),
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
    acked
}

/// How many acked events are missing or not as sent (a duplicate's stored event missing
/// counts too). Pruning removes only from the oldest end: only events newer than the oldest
/// event stored are looked for.
fn lost(store: &Store, acked: &[Ack]) -> usize {
    let oldest = store
        .page(&PageQuery {
            cursor: Cursor::Oldest,
            filter: EventFilter::new(Some(Status::Accepted), None),
            ..PageQuery::newest(1)
        })
        .unwrap()
        .first()
        .map(Record::id);
    acked
        .iter()
        .filter(|a| oldest.is_none_or(|o| a.id >= o))
        .filter(|a| match store.record(&a.id).unwrap() {
            Some(Record::Accepted(e)) => !a.duplicate && e.body != a.body,
            _ => true,
        })
        .count()
}

/// One run with the log: appends until the power fails, recovers (maybe through a second
/// power failure during the replay), and returns what was lost, or `None` when the power did
/// not fail or failed while the store was being created.
async fn log_run(seed: u64, lies: bool) -> Option<usize> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let crash_at = 1 + rng.below(80);
    let disks = Disks::new(Vec::new(), Vec::new(), crash_at, lies);
    let retain_events = if rng.below(2) == 0 {
        0
    } else {
        50 + rng.below(100)
    };
    let config = log_config(&mut rng, lies);
    let (_, writer, thread) = open_logged(&disks, config, retain_events)?;
    let acked = append_logged(&writer, 1 + rng.below(16), 300).await;
    stop(writer, thread).await;
    if !disks.db.crashed() {
        return None;
    }
    let mut disks = disks.after_crash(&mut rng, lies);
    // Half the time the power fails again during recovery.
    if rng.below(2) == 0 {
        let again = Disks::new(
            disks.db.image_after_crash(&mut rng),
            disks.log.image_after_crash(&mut rng),
            1 + rng.below(4),
            lies,
        );
        if let Some((_, writer, thread)) = open_logged(&again, config, retain_events) {
            stop(writer, thread).await;
        }
        disks = again.after_crash(&mut rng, lies);
    }
    // No retention now: pruning meanwhile would remove what is being looked for.
    let Some((store, writer, thread)) = open_logged(&disks, config, 0) else {
        // A lying disk can keep a later record and lose an earlier one: the open then
        // refuses the damaged log rather than lose the records past the damage. That is the
        // loss found, by hooktail itself.
        assert!(lies, "seed {seed}: the store does not reopen with its log");
        return Some(acked.len());
    };
    let lost = lost(&store, &acked);
    if !lies {
        // Every delivery id whose event is kept still finds it.
        for a in acked.iter().filter(|a| !a.duplicate) {
            if store.record(&a.id).unwrap().is_none() {
                continue;
            }
            let again = writer
                .append_once(event(1), Some(WEBHOOK), Some(a.delivery.clone()))
                .await
                .unwrap();
            assert!(
                again.duplicate && again.id == a.id,
                "seed {seed}: delivery id {} acked before the crash is not detected after it",
                a.delivery
            );
        }
    }
    stop(writer, thread).await;
    Some(lost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_events_survive_power_loss_with_the_log() {
    let seeds = 1..=150u64;
    let mut crashes = 0;
    for seed in seeds.clone() {
        let Some(lost) = log_run(seed, false).await else {
            continue;
        };
        crashes += 1;
        assert_eq!(lost, 0, "seed {seed}: {lost} acked events lost or damaged");
    }
    assert!(
        crashes >= seeds.count() * 2 / 3,
        "only {crashes} runs crashed; the test lost its teeth"
    );
}

/// The self-check: with a log disk that answers syncs without syncing (so callers are
/// answered before their events are durable), the same runs lose acked events (or the open
/// refuses the log, damaged in its middle).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_before_the_log_is_synced_lose_events() {
    let mut lost = 0;
    for seed in 1..=40u64 {
        lost += log_run(seed, true).await.unwrap_or(0);
    }
    assert!(
        lost > 0,
        "no run lost an event: the power-loss test cannot fail"
    );
}

/// A crash before any checkpoint: every acked event comes back from the log exactly once,
/// with its id and body, each repeat's record too, and the delivery ids still find their
/// events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_any_checkpoint_replays_every_acked_event_exactly_once() {
    let disks = Disks::new(Vec::new(), Vec::new(), u64::MAX, false);
    let config = LogConfig {
        segment_bytes: 4 << 20,
        checkpoint_every: Duration::from_secs(3600),
        direct_batch: usize::MAX,
    };
    let (_, writer, thread) = open_logged(&disks, config, 0).unwrap();
    let acked = append_logged(&writer, 8, 100).await;
    assert_eq!(acked.len(), 800);
    // The crash: the disks keep only what was synced.
    let durable = |d: &Disk| d.0.lock().unwrap().durable.clone();
    let crashed = Disks::new(durable(&disks.db), durable(&disks.log), u64::MAX, false);
    stop(writer, thread).await;
    {
        let db = crashed.db.clone();
        let bare = Store::open_backend(move || db.clone()).unwrap();
        assert_eq!(
            bare.counts().unwrap(),
            (0, 0),
            "redb synced the events itself"
        );
    }
    let (store, writer, thread) = open_logged(&crashed, config, 0).unwrap();
    let repeats = acked.iter().filter(|a| a.duplicate).count() as u64;
    assert_eq!(repeats, 400);
    assert_eq!(store.counts().unwrap(), (800 - repeats, repeats));
    for a in acked.iter().filter(|a| !a.duplicate) {
        match store.record(&a.id).unwrap() {
            Some(Record::Accepted(e)) => assert_eq!(e.body, a.body, "event {}", a.id),
            other => panic!("acked event {} is not back: {other:?}", a.id),
        }
        let again = writer
            .append_once(event(1), Some(WEBHOOK), Some(a.delivery.clone()))
            .await
            .unwrap();
        assert!(
            again.duplicate && again.id == a.id,
            "{} not detected",
            a.delivery
        );
    }
    for a in acked.iter().filter(|a| a.duplicate) {
        assert!(store.record(&a.id).unwrap().is_some());
    }
    stop(writer, thread).await;
}

/// A commit that syncs redb outside the writer (a pipeline's runs; here `Store::sync`)
/// makes the logged batches before it durable in redb, but not their delivery rows, which
/// wait for the writer's next checkpoint. After a crash, opening writes them from the log:
/// every delivery id acked before and after that commit is still a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_ids_survive_a_crash_after_another_commit_synced_their_events() {
    let disks = Disks::new(Vec::new(), Vec::new(), u64::MAX, false);
    let config = LogConfig {
        segment_bytes: 4 << 20,
        checkpoint_every: Duration::from_secs(3600),
        direct_batch: usize::MAX,
    };
    let (store, writer, thread) = open_logged(&disks, config, 0).unwrap();
    let mut acked = Vec::new();
    for (phase, n) in [("before", 0u64), ("after", 1000)] {
        for i in 0..50 {
            let delivery = format!("{phase}-{i}");
            let s = writer
                .append_once(event(n + i), Some(WEBHOOK), Some(delivery.clone()))
                .await
                .unwrap();
            assert!(!s.duplicate);
            acked.push((s.id, delivery));
        }
        if phase == "before" {
            store.sync().unwrap();
        }
    }
    let durable = |d: &Disk| d.0.lock().unwrap().durable.clone();
    let crashed = Disks::new(durable(&disks.db), durable(&disks.log), u64::MAX, false);
    stop(writer, thread).await;
    let (store, writer, thread) = open_logged(&crashed, config, 0).unwrap();
    assert_eq!(store.counts().unwrap(), (100, 0));
    for (id, delivery) in &acked {
        let again = writer
            .append_once(event(1), Some(WEBHOOK), Some(delivery.clone()))
            .await
            .unwrap();
        assert!(
            again.duplicate && again.id == *id,
            "{delivery} not detected"
        );
    }
    stop(writer, thread).await;
}

/// One failed sync, of either file, with the power on: the writer reopens the store, which
/// drops redb's unsynced commits, and replays the log. Every event acked before or after is
/// there, in the running store and after a crash at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_reopens_the_store_and_replays_the_log() {
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let disks = Disks::new(Vec::new(), Vec::new(), u64::MAX, false);
        let config = log_config(&mut rng, false);
        let (store, writer, thread) = open_logged(&disks, config, 0).unwrap();
        {
            let state = disks.db.0.lock().unwrap();
            let mut power = state.power.lock().unwrap();
            power.crash_at = power.syncs + 1 + rng.below(60);
            power.transient = true;
        }
        let mut acked = append_logged(&writer, 1 + rng.below(8), 100).await;
        // After the failure, and its reopen at most 250 ms later, events are taken again.
        let mut after = Vec::new();
        for _ in 0..200 {
            after = append_logged(&writer, 1, 2).await;
            if after.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(after.len(), 2, "seed {seed}: the writer does not recover");
        acked.extend(after);
        assert_eq!(
            lost(&store, &acked),
            0,
            "seed {seed}: lost in the running store"
        );
        let durable = |d: &Disk| d.0.lock().unwrap().durable.clone();
        let crashed = Disks::new(durable(&disks.db), durable(&disks.log), u64::MAX, false);
        stop(writer, thread).await;
        let (store, writer, thread) = open_logged(&crashed, config, 0).unwrap();
        assert_eq!(lost(&store, &acked), 0, "seed {seed}: lost after a crash");
        stop(writer, thread).await;
    }
}
