//! The write-ahead log in the writer (issue 12; README, Write path and recovery).
//!
//! A batch of records only (events, rejections, duplicates) is applied in a redb transaction
//! that does not sync (`Durability::None`) and stores the batch's sequence number; the rows it
//! decided are appended to the log as one record, one `fdatasync` makes them durable, and only
//! then does the transaction commit and are its callers answered. Every commit that syncs
//! redb (webhook changes, pruning, a checkpoint) makes all the unsynced ones before it durable.
//! A crash loses redb's unsynced commits, never the log's synced records: opening replays the
//! records past the stored sequence through the same `ops` functions, checkpoints, and starts
//! a new segment.
//!
//! The log holds the writer's decisions, not its inputs: event rows with the delivery id they
//! claimed, rejection rows (a duplicate's included, with the id it was given), and each
//! webhook's stats row as written. Replaying them onto the state they were first applied to
//! writes the same rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redb::{Durability, ReadableTable, TableDefinition};
use uuid::Uuid;

use super::super::wal::{self, LogFile, Segment};
use super::super::{Store, StoreError, codec};
use super::deliveries::Deliveries;
use super::ops::{self, Tables};
use crate::domain::{Record, Rejection};

// wal_meta_v1: key = "applied"; value = the sequence number of the last log record whose rows
//              the store holds. Written in the same transaction as those rows.
//              keys = "store.lo", "store.hi"; values = the store's id, a random u128 in two
//              halves, made once, durably, before any log header carries it.
//              key = "delivered"; value = the sequence number through which the records'
//              delivery ids are rows of deliveries_v2 (written by commits that sync, with
//              those rows; at most "applied"; absent before this key: read as 0).
const META: TableDefinition<&str, u64> = TableDefinition::new("wal_meta_v1");
const APPLIED: &str = "applied";
const DELIVERED: &str = "delivered";
const STORE_LO: &str = "store.lo";
const STORE_HI: &str = "store.hi";

/// How the log is kept.
#[derive(Debug, Clone, Copy)]
pub struct LogConfig {
    /// The log file's size, written once with zeros so that a sync flushes data, not the
    /// file's growth. A batch that does not fit what is left starts a checkpoint instead.
    pub segment_bytes: u64,
    /// Most time between checkpoints after a batch, so that replay after a crash stays short.
    pub checkpoint_every: Duration,
    /// A batch of this many records or more commits straight to redb, with its own sync,
    /// instead of through the log: redb's commit costs about the same at any batch size,
    /// while the log writes every record twice (now, and at the next checkpoint).
    pub direct_batch: usize,
}

/// The checkpoints so far, shared with [`super::Writer::checkpoints`]: each one holds the
/// writer (and every caller waiting on it) while redb syncs, so their count and length
/// explain ingest stalls.
#[derive(Default)]
pub(super) struct CheckpointStats {
    count: AtomicU64,
    micros: AtomicU64,
    max_micros: AtomicU64,
}

/// What [`super::Writer::checkpoints`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoints {
    pub count: u64,
    /// Their total length.
    pub total: Duration,
    pub longest: Duration,
}

impl CheckpointStats {
    fn observe(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.micros.fetch_add(us, Ordering::Relaxed);
        self.max_micros.fetch_max(us, Ordering::Relaxed);
    }

    pub(super) fn read(&self) -> Checkpoints {
        Checkpoints {
            count: self.count.load(Ordering::Relaxed),
            total: Duration::from_micros(self.micros.load(Ordering::Relaxed)),
            longest: Duration::from_micros(self.max_micros.load(Ordering::Relaxed)),
        }
    }
}

/// The rows of one batch, encoded as a log record's payload:
/// `1 [u32 len][event value][u8 has delivery]([u128 webhook][u32 len][delivery id])`,
/// `2 [u32 len][rejection value]`, `3 [u128 webhook][u64 events][i64 last at]`, little-endian.
#[derive(Default)]
pub(super) struct Entries(Vec<u8>);

const EVENT: u8 = 1;
const REJECTION: u8 = 2;
const STATS: u8 = 3;

impl Entries {
    pub(super) fn event(&mut self, value: &[u8], delivery: Option<(Uuid, &str)>) {
        self.0.push(EVENT);
        self.bytes(value);
        match delivery {
            Some((webhook, id)) => {
                self.0.push(1);
                self.0.extend_from_slice(&webhook.as_u128().to_le_bytes());
                self.bytes(id.as_bytes());
            }
            None => self.0.push(0),
        }
    }

    pub(super) fn rejection(&mut self, value: &[u8]) {
        self.0.push(REJECTION);
        self.bytes(value);
    }

    pub(super) fn stats(&mut self, webhook: Uuid, events: u64, last_at: i64) {
        self.0.push(STATS);
        self.0.extend_from_slice(&webhook.as_u128().to_le_bytes());
        self.0.extend_from_slice(&events.to_le_bytes());
        self.0.extend_from_slice(&last_at.to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        // Values are far below 4 GiB (the body limit); the log's own limit refuses more.
        self.0
            .extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.0.extend_from_slice(b);
    }
}

/// Reads a payload back; a short or unknown entry is an error, never a panic.
struct Reader<'a>(&'a [u8]);

fn damaged() -> StoreError {
    StoreError::Corrupt("a write-ahead log record does not decode".into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.0.len() < n {
            return Err(damaged());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        self.take(N)?.try_into().map_err(|_| damaged())
    }

    fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        self.take(len)
    }

    fn uuid(&mut self) -> Result<Uuid, StoreError> {
        Ok(Uuid::from_u128(u128::from_le_bytes(self.array()?)))
    }
}

/// Writes the delivery rows of one log record whose events the store holds.
fn replay_deliveries(t: &mut Tables, payload: &[u8]) -> Result<(), StoreError> {
    let mut r = Reader(payload);
    while let Ok([tag]) = r.array::<1>() {
        match tag {
            EVENT => {
                let value = r.bytes()?;
                if r.array::<1>()? != [0] {
                    let webhook = r.uuid()?;
                    let id = std::str::from_utf8(r.bytes()?).map_err(|_| damaged())?;
                    let event = codec::decode_event(value, false)?;
                    ops::write_delivery_row(t, event.id, webhook, id)?;
                }
            }
            REJECTION => {
                r.bytes()?;
            }
            STATS => {
                r.take(16 + 8 + 8)?;
            }
            _ => return Err(damaged()),
        }
    }
    Ok(())
}

/// Writes one log record's rows through the ops the batch used.
fn replay(t: &mut Tables, payload: &[u8]) -> Result<(), StoreError> {
    let mut r = Reader(payload);
    while let Ok([tag]) = r.array::<1>() {
        match tag {
            EVENT => {
                let value = r.bytes()?;
                let delivery = match r.array::<1>()? {
                    [0] => None,
                    _ => {
                        let webhook = r.uuid()?;
                        let id = std::str::from_utf8(r.bytes()?).map_err(|_| damaged())?;
                        Some((webhook, id))
                    }
                };
                let event = codec::decode_event(value, false)?;
                let record = Record::Accepted(event);
                if ops::write_record(t, &record, value, delivery)?.is_some() {
                    // Only a replay onto another state than the first could get here.
                    return Err(StoreError::Corrupt(format!(
                        "replaying the log, event {} met its delivery id already stored",
                        record.id()
                    )));
                }
            }
            REJECTION => {
                let value = r.bytes()?;
                let rejection: Rejection = codec::decode_json(value)?;
                ops::write_record(t, &Record::Rejected(rejection), value, None)?;
            }
            STATS => {
                let webhook = r.uuid()?;
                let events = u64::from_le_bytes(r.array()?);
                let last_at = i64::from_le_bytes(r.array()?);
                t.stats.insert(webhook.as_u128(), (events, last_at))?;
            }
            _ => return Err(damaged()),
        }
    }
    Ok(())
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::CommitFailed(format!("write-ahead log: {e}"))
}

/// The store's id, making one when it has none (a new store, or one from before ids).
fn store_id(meta: &mut redb::Table<&str, u64>) -> Result<(u128, bool), StoreError> {
    let lo = meta.get(STORE_LO)?.map(|v| v.value());
    let hi = meta.get(STORE_HI)?.map(|v| v.value());
    if let (Some(lo), Some(hi)) = (lo, hi) {
        return Ok(((u128::from(hi) << 64) | u128::from(lo), false));
    }
    let id = Uuid::new_v4().as_u128();
    meta.insert(STORE_LO, id as u64)?;
    meta.insert(STORE_HI, (id >> 64) as u64)?;
    Ok((id, true))
}

/// The log as the writer keeps it.
pub(super) struct Wal {
    file: Box<dyn LogFile>,
    config: LogConfig,
    /// The id of the store, written in each segment header.
    store: u128,
    epoch: u64,
    /// The sequence number of the next logged batch.
    next_seq: u64,
    /// Where the next record goes.
    end: u64,
    last_checkpoint: Instant,
    pub(super) stats: Arc<CheckpointStats>,
    /// A batch failed: redb may hold rows the log does not. Nothing is written until the
    /// store is reopened and the log replayed.
    pub(super) broken: bool,
}

impl Wal {
    /// Opens the log: replays what the store misses, checkpoints, starts a new segment.
    pub(super) fn open(
        store: &Store,
        file: Box<dyn LogFile>,
        config: LogConfig,
    ) -> Result<Wal, StoreError> {
        let mut wal = Wal {
            file,
            config,
            store: 0,
            epoch: 0,
            next_seq: 1,
            end: wal::HEADER as u64,
            last_checkpoint: Instant::now(),
            stats: Arc::default(),
            broken: true,
        };
        wal.recover(store)?;
        Ok(wal)
    }

    /// Applies the log's records that the store misses, in one durable transaction, then
    /// starts a new segment. Run on open and after the store was reopened. Only a log written
    /// for this store is replayed; any other is reset (README, Write path and recovery).
    pub(super) fn recover(&mut self, store: &Store) -> Result<(), StoreError> {
        store.with_db(|db| self.recover_on(db))
    }

    /// [`Wal::recover`] on a database not yet shared (one being reopened).
    pub(super) fn recover_on(&mut self, db: &redb::Database) -> Result<(), StoreError> {
        let bytes = self.file.read_all().map_err(io_error)?;
        let scan = wal::scan(&bytes);
        let (id, applied, replayed, new_id) = (|| {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            let mut meta = txn.open_table(META)?;
            let applied = meta.get(APPLIED)?.map_or(0, |v| v.value());
            // Absent in stores from before it, which wrote the rows with their events:
            // writing them again changes nothing.
            let delivered = meta.get(DELIVERED)?.map_or(0, |v| v.value()).min(applied);
            let (id, new_id) = store_id(&mut meta)?;
            let ours = scan.segment.is_some_and(|s| s.store == id);
            let mut last = applied;
            let mut replayed = 0;
            if ours {
                refuse_damaged(&*self.file, &bytes, &scan, self.config.segment_bytes)?;
                let mut index = Deliveries::unloaded();
                let mut t = Tables::open(&txn, &mut index)?;
                for (seq, payload) in &scan.records {
                    if *seq <= delivered {
                        continue;
                    }
                    // Applied, but its delivery rows waited for a sync that did not come.
                    if *seq <= applied {
                        replay_deliveries(&mut t, payload)?;
                        continue;
                    }
                    if *seq != last + 1 {
                        return Err(damaged_log(
                            &*self.file,
                            &format!(
                                "the store has its records up to {applied} and the log starts \
                                 at {seq}: the store is older than its log (restored from a \
                                 backup?), and replaying would leave a hole"
                            ),
                        ));
                    }
                    replay(&mut t, payload)?;
                    last = *seq;
                    replayed += 1;
                }
            }
            meta.insert(APPLIED, last)?;
            meta.insert(DELIVERED, last)?;
            drop(meta);
            txn.commit()?;
            Ok::<_, StoreError>((id, last, replayed, new_id))
        })()?;
        let name = self.file.name();
        match scan.segment {
            Some(s) if s.store != id => tracing::warn!(
                "the write-ahead log {name} was written for another store ({:032x}, this one \
                 is {id:032x}): reset, its {} records not replayed",
                s.store,
                scan.records.len()
            ),
            None if bytes.iter().skip(wal::HEADER).any(|b| *b != 0) => {
                return Err(damaged_log(
                    &*self.file,
                    "its header does not read (damaged, or from a version without store \
                     ids), and records may follow it",
                ));
            }
            None if bytes.iter().take(wal::HEADER).any(|b| *b != 0) => tracing::warn!(
                "the write-ahead log {name} has no header this version reads and no records: \
                 reset"
            ),
            None if bytes.is_empty() && !new_id => tracing::warn!(
                "the write-ahead log {name} was missing: events acked since the store's last \
                 checkpoint, if any, are lost"
            ),
            _ => {}
        }
        if replayed > 0 {
            tracing::warn!("replayed {replayed} batches from the write-ahead log {name}");
        }
        self.store = id;
        self.epoch = match scan.segment {
            // Past every epoch this file has held, whoever wrote it: none of its old records
            // can read as new ones.
            Some(s) => s.epoch.wrapping_add(1),
            // Any epoch will do: sequence numbers alone already never repeat.
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        };
        self.next_seq = applied + 1;
        self.preallocate()?;
        self.new_segment()?;
        self.broken = false;
        Ok(())
    }

    /// Fills the file with zeros up to its size, once.
    fn preallocate(&mut self) -> Result<(), StoreError> {
        let want = self.config.segment_bytes.max(2 * wal::HEADER as u64);
        let name = self.file.name();
        let failed = |e: std::io::Error| {
            StoreError::LogFile(format!(
                "cannot fill the write-ahead log {name} to its {} MiB (it is written once, so \
                 that each sync flushes only data): {e}",
                want >> 20
            ))
        };
        let mut len = self.file.size().map_err(failed)?;
        if len >= want {
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 20];
        while len < want {
            let n = (want - len).min(zeros.len() as u64);
            self.file
                .write_at(len, &zeros[..n as usize])
                .map_err(failed)?;
            len += n;
        }
        self.file.sync().map_err(failed)
    }

    /// Starts the log over after a checkpoint: a new epoch, records from the next sequence.
    fn new_segment(&mut self) -> Result<(), StoreError> {
        self.epoch = self.epoch.wrapping_add(1);
        let header = wal::header(Segment {
            store: self.store,
            epoch: self.epoch,
            first_seq: self.next_seq,
        });
        self.file.write_at(0, &header).map_err(io_error)?;
        self.file.sync().map_err(io_error)?;
        self.end = wal::HEADER as u64;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    /// The sequence number the batch being written takes; store it with its rows.
    pub(super) fn record_applied(&self, txn: &redb::WriteTransaction) -> Result<(), StoreError> {
        txn.open_table(META)?.insert(APPLIED, self.next_seq)?;
        Ok(())
    }

    /// In a transaction that syncs: writes the delivery rows of logged batches that wait,
    /// and `delivered`, the record they reach: the last one applied, or this batch's when
    /// `with_batch` (a logged batch committed durably after all).
    pub(super) fn write_deliveries(
        &self,
        txn: &redb::WriteTransaction,
        index: &Deliveries,
        with_batch: bool,
    ) -> Result<(), StoreError> {
        index.write_pending(txn)?;
        let through = if with_batch {
            self.next_seq
        } else {
            self.next_seq.saturating_sub(1)
        };
        txn.open_table(META)?.insert(DELIVERED, through)?;
        Ok(())
    }

    /// Appends a batch's record and syncs it, before its transaction commits, so that readers
    /// never see rows that are not durable. `Ok(false)`: it does not fit the segment; the
    /// batch is then committed durably instead, and [`Wal::checkpointed`] called.
    pub(super) fn append(&mut self, entries: &Entries) -> Result<bool, StoreError> {
        // Not kept between batches: one large batch would pin its size.
        let mut buf = Vec::with_capacity(wal::RECORD_HEAD + entries.0.len());
        let fits = wal::append_record(&mut buf, self.epoch, self.next_seq, &entries.0).is_ok()
            && self.end + buf.len() as u64 <= self.config.segment_bytes;
        if !fits {
            return Ok(false);
        }
        self.file.write_at(self.end, &buf).map_err(io_error)?;
        self.file.sync().map_err(io_error)?;
        self.end += buf.len() as u64;
        self.next_seq += 1;
        Ok(true)
    }

    /// After the batch that did not fit was committed durably (from `started`): starts the
    /// log over.
    pub(super) fn checkpointed(&mut self, started: Instant) -> Result<(), StoreError> {
        self.next_seq += 1;
        self.new_segment()?;
        self.observe("full", started);
        Ok(())
    }

    fn observe(&self, why: &str, started: Instant) {
        let took = started.elapsed();
        self.stats.observe(took);
        tracing::debug!("checkpoint ({why}) took {:.1} ms", took.as_secs_f64() * 1e3);
    }

    /// Whether a batch of `records` records goes through the log.
    pub(super) fn takes(&self, records: usize) -> bool {
        records < self.config.direct_batch
    }

    /// Whether it is time for a checkpoint.
    pub(super) fn due(&self) -> bool {
        self.end > wal::HEADER as u64
            && self.last_checkpoint.elapsed() >= self.config.checkpoint_every
    }

    /// Makes every commit so far durable in redb, with the delivery rows that wait, then
    /// starts the log over.
    pub(super) fn checkpoint(
        &mut self,
        store: &Store,
        index: &mut Deliveries,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        store.with_db(|db| {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            txn.open_table(META)?.insert(APPLIED, self.next_seq - 1)?;
            self.write_deliveries(&txn, index, false)?;
            txn.commit()?;
            Ok(())
        })?;
        index.written();
        self.new_segment()?;
        self.observe("due", started);
        Ok(())
    }
}

/// Refuses a log of this store that was damaged rather than torn at its tail: one with a
/// valid record past the point where reading stopped, or cut shorter than the segment it was
/// filled to. Its later records were acked; replaying the part before the damage and starting
/// a new segment over the rest would lose them without a word.
fn refuse_damaged(
    file: &dyn LogFile,
    bytes: &[u8],
    scan: &wal::Scan,
    segment_bytes: u64,
) -> Result<(), StoreError> {
    if wal::records_past_end(bytes, scan) {
        return Err(damaged_log(
            file,
            &format!(
                "it is damaged at byte {}, and valid records follow the damage",
                scan.end
            ),
        ));
    }
    if (bytes.len() as u64) < segment_bytes.max(2 * wal::HEADER as u64) {
        return Err(damaged_log(
            file,
            &format!(
                "it was cut short: {} bytes of the {segment_bytes} it was filled to",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// The error that stops the open, with what the operator can do.
fn damaged_log(file: &dyn LogFile, why: &str) -> StoreError {
    let name = file.name();
    StoreError::Corrupt(format!(
        "the write-ahead log {name} cannot be replayed: {why}. Events acked since the last \
         checkpoint may be in it, so hooktail does not start over it: keep a copy, then move \
         it aside (mv {name} {name}.damaged) to start without them"
    ))
}
