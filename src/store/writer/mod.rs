//! The one writer. It group-commits: every operation waiting in its queue goes into one
//! transaction, made durable by its write-ahead log record when it holds records only (see
//! `log.rs`) or by redb's own sync otherwise, and only then is each caller answered and each
//! record published, on the bus (records without bodies, for the dashboard) and to the
//! listeners (encoded events, for `event.listen`). Retention pruning runs between batches in
//! bounded steps.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{Durability, ReadableTable};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use uuid::Uuid;

mod deliveries;
mod log;
mod ops;
mod prune;

#[cfg(test)]
pub use prune::MAX_REJECTIONS;

use super::listen::{Encoded, Listener, Listeners};
use super::wal::LogFile;
use super::{Store, StoreError, codec};
use crate::domain::EventKeyPattern;
use crate::domain::{Record, Webhook, WebhookInput};
use deliveries::Deliveries;
pub(super) use deliveries::delivery_key;
use log::{CheckpointStats, Entries, Wal};
pub use log::{Checkpoints, LogConfig};
use ops::{PutAnswer, Tables};
use prune::prune_step;

/// Most operations folded into one transaction.
const MAX_BATCH: usize = 1024;
/// Least time between two reopen attempts after failed commits; doubled after each attempt
/// that fails, up to `REOPEN_AT_MOST`: each replays the whole log.
const REOPEN_EVERY: Duration = Duration::from_millis(250);
const REOPEN_AT_MOST: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Accepted events kept; 0 keeps all.
    pub retain_events: u64,
    /// redb two-phase commit: safer against torn writes of untrusted data, one more fsync.
    pub two_phase_commit: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("{0}")]
    Invalid(String),
    /// The eventKey, and the first 8 characters of the webhook that has it: enough to find
    /// it in `webhook.get`, not its token.
    #[error("eventKey {0:?} is already used by another webhook ({1}…)")]
    Conflict(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Op {
    Record {
        /// Shared with the bus after the commit, without a copy, and without its body.
        record: Arc<Record>,
        /// The stored value, encoded by the caller so that the one writer does less.
        value: Vec<u8>,
        /// The webhook that accepted it, for its stats.
        webhook: Option<Uuid>,
        /// The sender's delivery id: a second event with it is not stored (§7).
        delivery: Option<String>,
        /// The event for listeners, when there are any.
        encoded: Option<Arc<Encoded>>,
        /// `None` when the caller does not wait (rejections).
        ack: Option<RecordAck>,
    },
    Put {
        input: WebhookInput,
        ack: oneshot::Sender<Result<Webhook, PutError>>,
    },
    Delete {
        uuid: Uuid,
        ack: oneshot::Sender<Result<bool, StoreError>>,
    },
    /// Finish what came before, then stop.
    Stop,
}

/// A record's answer, and the record itself when nobody else holds it (no one is subscribed
/// to the bus), so that its caller's thread frees it rather than the one writer.
type RecordAck = oneshot::Sender<(Result<Stored, StoreError>, Option<Arc<Record>>)>;

/// Where an appended record is: the id it was stored under, or, for a delivery id already
/// stored, the id of the event stored for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub id: Uuid,
    pub duplicate: bool,
}

/// A handle to the writer. Cloning is cheap; the writer stops when every handle is dropped.
#[derive(Clone)]
pub struct Writer {
    /// Set when the writer thread panicked (a damaged store): nothing more can be stored.
    failed: watch::Receiver<bool>,
    tx: mpsc::Sender<Op>,
    bus: broadcast::Sender<Arc<Record>>,
    listeners: Arc<Listeners>,
    /// Bumped after every commit that changed webhooks.
    webhooks_changed: watch::Receiver<u64>,
    /// Bumped after every commit that stored accepted events.
    events_committed: watch::Receiver<u64>,
    /// The log's checkpoints; none without a log.
    checkpoints: Arc<CheckpointStats>,
}

/// Per-commit figures for metrics: operations in the batch, and how long its commit took.
pub type BatchObserver = Box<dyn Fn(usize, Duration) + Send>;

impl Writer {
    /// Starts the writer thread. Join the handle after dropping every `Writer` to close cleanly.
    pub fn start(
        store: Arc<Store>,
        config: WriterConfig,
        observe_batch: BatchObserver,
    ) -> std::io::Result<(Writer, JoinHandle<()>)> {
        Self::spawn(store, config, None, observe_batch)
    }

    /// [`Writer::start`] with a write-ahead log: batches of records are answered once their
    /// log record is synced, and redb syncs only at checkpoints. First replays what the log
    /// holds that the store does not (after a crash).
    pub fn start_logged(
        store: Arc<Store>,
        config: WriterConfig,
        log: Box<dyn LogFile>,
        log_config: LogConfig,
        observe_batch: BatchObserver,
    ) -> std::io::Result<(Writer, JoinHandle<()>)> {
        let wal = Wal::open(&store, log, log_config).map_err(std::io::Error::other)?;
        Self::spawn(store, config, Some(wal), observe_batch)
    }

    fn spawn(
        store: Arc<Store>,
        config: WriterConfig,
        wal: Option<Wal>,
        observe_batch: BatchObserver,
    ) -> std::io::Result<(Writer, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let (bus, _) = broadcast::channel(4096);
        let (changed_tx, webhooks_changed) = watch::channel(0);
        let (events_tx, events_committed) = watch::channel(0);
        let listeners = Arc::new(Listeners::default());
        let checkpoints = wal.as_ref().map(|w| w.stats.clone()).unwrap_or_default();
        let out = Outputs {
            bus: bus.clone(),
            listeners: listeners.clone(),
            webhooks_changed: changed_tx,
            events_committed: events_tx,
        };
        let (failed_tx, failed) = watch::channel(false);
        let handle = std::thread::Builder::new()
            .name("hooktail-writer".into())
            .spawn(move || {
                // redb panics on some damaged files. The writer is then gone: say so, and let
                // callers and the server know, rather than answer "shutting down" forever.
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(store, config, wal, rx, out, observe_batch)
                }));
                if let Err(panic) = ran {
                    let why = super::panic_text(panic.as_ref());
                    tracing::error!("the store's writer failed: {why}; nothing more is stored");
                    let _ = failed_tx.send(true);
                }
            })?;
        let writer = Writer {
            failed,
            tx,
            bus,
            listeners,
            webhooks_changed,
            events_committed,
            checkpoints,
        };
        Ok((writer, handle))
    }

    /// The write-ahead log's checkpoints so far (for /metrics and the ingest bench).
    pub fn checkpoints(&self) -> Checkpoints {
        self.checkpoints.read()
    }

    /// Committed records, as they become durable; accepted events come without their body
    /// (load it from the store), so that a slow subscriber pins little.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.bus.subscribe()
    }

    /// Committed accepted events matching `pattern`, encoded once for all listeners.
    pub fn listen(&self, pattern: Option<EventKeyPattern>) -> Listener {
        self.listeners.add(pattern)
    }

    /// Changes whenever a webhook was created, edited or deleted, by anyone.
    pub fn watch_webhooks(&self) -> watch::Receiver<u64> {
        self.webhooks_changed.clone()
    }

    /// Changes after every commit that stored accepted events (pipelines wake on it).
    pub fn watch_events(&self) -> watch::Receiver<u64> {
        self.events_committed.clone()
    }

    /// Stores an accepted event or a rejection; returns once it is on disk, with the id it
    /// was stored under (see [`in_commit_order`]).
    pub async fn append(&self, record: Record, webhook: Option<Uuid>) -> Result<Uuid, StoreError> {
        Ok(self.append_once(record, webhook, None).await?.id)
    }

    /// [`Writer::append`] for an event with the sender's delivery id: when the webhook already
    /// stored one with that id, nothing is written and the answer names the stored event.
    pub async fn append_once(
        &self,
        record: Record,
        webhook: Option<Uuid>,
        delivery: Option<String>,
    ) -> Result<Stored, StoreError> {
        let (ack, rx) = oneshot::channel();
        let mut op = self.record_op(record, webhook, Some(ack))?;
        if let Op::Record { delivery: d, .. } = &mut op {
            *d = delivery;
        }
        self.send(op).await?;
        let (stored, _record) = rx.await.map_err(|_| self.gone())?;
        stored
    }

    /// Queues a record for the next commit without waiting for it, so that a flood of refused
    /// calls does not cost a sync each. When the queue is full the record is dropped rather
    /// than held: returns whether it was queued.
    pub fn append_nowait(&self, record: Record) -> bool {
        match self.record_op(record, None, None) {
            Ok(op) => self.tx.try_send(op).is_ok(),
            Err(e) => {
                tracing::error!("cannot encode a record: {e}");
                false
            }
        }
    }

    /// Encodes the stored value (and the listeners' copy), then lets go of the body: the bus
    /// carries records without it.
    fn record_op(
        &self,
        mut record: Record,
        webhook: Option<Uuid>,
        ack: Option<RecordAck>,
    ) -> Result<Op, StoreError> {
        let (value, encoded) = match &mut record {
            Record::Accepted(e) => {
                let value = codec::encode_event(e)?;
                let encoded = self.listeners.any().then(|| Arc::new(Encoded::of(e)));
                e.body = Vec::new();
                (value, encoded)
            }
            Record::Rejected(r) => (codec::encode_json(r)?, None),
        };
        Ok(Op::Record {
            record: Arc::new(record),
            value,
            webhook,
            delivery: None,
            encoded,
            ack,
        })
    }

    pub async fn put_webhook(&self, input: WebhookInput) -> Result<Webhook, PutError> {
        let (ack, rx) = oneshot::channel();
        self.send(Op::Put { input, ack }).await?;
        rx.await.map_err(|_| self.gone())?
    }

    pub async fn delete_webhook(&self, uuid: Uuid) -> Result<bool, StoreError> {
        let (ack, rx) = oneshot::channel();
        self.send(Op::Delete { uuid, ack }).await?;
        rx.await.map_err(|_| self.gone())?
    }

    /// Stops the writer once everything queued before is committed. Later calls get `Closed`.
    pub async fn stop(&self) {
        let _ = self.send(Op::Stop).await;
    }

    async fn send(&self, op: Op) -> Result<(), StoreError> {
        self.tx.send(op).await.map_err(|_| self.gone())
    }

    /// Why the writer no longer takes operations.
    fn gone(&self) -> StoreError {
        if self.failed() {
            StoreError::WriterFailed
        } else {
            StoreError::Closed
        }
    }

    /// Whether the writer thread failed; `serve` then stops, and `/healthz` says so.
    pub fn failed(&self) -> bool {
        *self.failed.borrow()
    }

    /// Resolves once the writer thread has failed.
    pub async fn wait_failed(&self) {
        let _ = self.failed.clone().wait_for(|f| *f).await;
    }
}

/// What one op of a batch did, answered after the commit.
enum Answer {
    /// A record written (or the stop, which writes nothing).
    Stored,
    /// An event not written: its delivery id was stored with this event. The record of
    /// the repeat, written instead, goes on the bus.
    Duplicate(Uuid, Arc<Record>),
    Put(PutAnswer),
    /// Whether the webhook existed.
    Deleted(bool),
}

/// Where the writer announces what it committed.
struct Outputs {
    bus: broadcast::Sender<Arc<Record>>,
    listeners: Arc<Listeners>,
    webhooks_changed: watch::Sender<u64>,
    events_committed: watch::Sender<u64>,
}

fn run(
    store: Arc<Store>,
    config: WriterConfig,
    mut wal: Option<Wal>,
    mut rx: mpsc::Receiver<Op>,
    out: Outputs,
    observe_batch: BatchObserver,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    let mut reopen = Reopen::default();
    // A failed commit left redb refusing every transaction, reads too, until a reopen.
    let mut unrecovered = false;
    let mut index = Deliveries::unloaded();
    let mut newest = store.newest_event().unwrap_or_else(|e| {
        tracing::error!("cannot read the newest event id: {e}");
        Uuid::max()
    });
    loop {
        let first = if unrecovered {
            // Retried on a timer, not only when a write comes: reads wait for it too.
            match recv_within(&mut rx, reopen.wait()) {
                Waited::Op(op) => op,
                Waited::Closed => break,
                Waited::Nothing => {
                    unrecovered = !recover(&store, wal.as_mut(), &mut reopen, &mut index);
                    continue;
                }
            }
        } else {
            match rx.blocking_recv() {
                Some(op) => op,
                None => break,
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if let Some(i) = batch.iter().position(|op| matches!(op, Op::Stop)) {
            // What came after the stop is answered `Closed` when its ack is dropped.
            batch.truncate(i);
            stopping = true;
        }
        if unrecovered || wal.as_ref().is_some_and(|w| w.broken) {
            unrecovered = !recover(&store, wal.as_mut(), &mut reopen, &mut index);
        }
        if !batch.is_empty() {
            let ops = batch.drain(..).map(|op| in_commit_order(op, &mut newest));
            let ok = commit_batch(
                &store,
                &config,
                wal.as_mut(),
                &mut index,
                ops.collect(),
                &out,
                &observe_batch,
            );
            if !ok {
                index.mark_stale();
                if let Some(w) = &mut wal {
                    w.broken = true;
                }
                unrecovered = !recover(&store, wal.as_mut(), &mut reopen, &mut index);
            }
        }
        if let Some(w) = &mut wal
            && !w.broken
            && w.due()
            && let Err(e) = w.checkpoint(&store, &mut index)
        {
            tracing::error!("checkpoint failed: {e}");
            w.broken = true;
            unrecovered = true;
        }
        if stopping {
            break;
        }
        // Prune only while nothing waits, one bounded step at a time.
        while !unrecovered && rx.is_empty() {
            match prune_step(&store, &config, &mut index, wal.as_ref()) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::error!("pruning failed: {e}");
                    break;
                }
            }
        }
    }
    // A clean stop leaves nothing to replay.
    if let Some(w) = &mut wal
        && !w.broken
        && let Err(e) = w.checkpoint(&store, &mut index)
    {
        tracing::error!("checkpoint failed: {e}");
    }
    out.listeners.close();
    tracing::debug!("writer stopped");
}

/// Keeps event ids in commit order across batches: an event whose id is not newer than every
/// event already committed (its request took its id, then lost the race to the queue) gets a
/// new one. Pipelines and `event.listen` read events after a cursor id; without this, such an
/// event would land behind a cursor that had already moved past it and be skipped.
fn in_commit_order(op: Op, newest: &mut Uuid) -> Op {
    let Op::Record {
        record,
        value,
        webhook,
        delivery,
        encoded,
        ack,
    } = op
    else {
        return op;
    };
    let Record::Accepted(e) = record.as_ref() else {
        return Op::Record {
            record,
            value,
            webhook,
            delivery,
            encoded,
            ack,
        };
    };
    if e.id > *newest {
        *newest = e.id;
        return Op::Record {
            record,
            value,
            webhook,
            delivery,
            encoded,
            ack,
        };
    }
    // Rare: re-encode under a new id, which sorts after every id made so far in this process.
    let id = Uuid::now_v7();
    *newest = id;
    let renamed = codec::decode_event(&value, true).and_then(|mut full| {
        full.id = id;
        let value = codec::encode_event(&full)?;
        let encoded = encoded.as_ref().map(|_| Arc::new(Encoded::of(&full)));
        full.body = Vec::new();
        Ok((full, value, encoded))
    });
    match renamed {
        Ok((full, value, encoded)) => Op::Record {
            record: Arc::new(Record::Accepted(full)),
            value,
            webhook,
            delivery,
            encoded,
            ack,
        },
        Err(err) => {
            tracing::error!("cannot re-key an event: {err}");
            Op::Record {
                record,
                value,
                webhook,
                delivery,
                encoded,
                ack,
            }
        }
    }
}

/// When the store was last reopened after a failed commit, and how long until the next try.
struct Reopen {
    last: Option<Instant>,
    every: Duration,
}

impl Default for Reopen {
    fn default() -> Self {
        Reopen {
            last: None,
            every: REOPEN_EVERY,
        }
    }
}

impl Reopen {
    /// Time left until the next attempt may run.
    fn wait(&self) -> Duration {
        self.last
            .map_or(Duration::ZERO, |t| self.every.saturating_sub(t.elapsed()))
    }
}

/// After a failed commit, reopens the store (spaced out by `Reopen`): redb refuses all
/// transactions after an I/O error until then. Callers meanwhile get errors, not a hang.
/// Reopening drops redb's unsynced commits, so the log is replayed after it, and the map of
/// delivery ids read again; until the replay has succeeded the store is closed, since it
/// would answer reads without the events only the log holds. Returns whether it is whole.
fn recover(
    store: &Store,
    wal: Option<&mut Wal>,
    reopen: &mut Reopen,
    index: &mut Deliveries,
) -> bool {
    if !reopen.wait().is_zero() {
        return false;
    }
    reopen.last = Some(Instant::now());
    index.mark_stale();
    let failed = |reopen: &mut Reopen| {
        reopen.every = (reopen.every * 2).min(REOPEN_AT_MOST);
        false
    };
    // The log is replayed before anyone else sees the reopened store.
    let replayed = store.reopen(|db| match wal {
        Some(w) => w.recover_on(db),
        None => Ok(()),
    });
    if let Err(e) = replayed {
        tracing::error!(
            "cannot reopen the store and replay its log: {e}; it stays closed, next try in \
             {} s",
            (reopen.every * 2).min(REOPEN_AT_MOST).as_secs_f64()
        );
        return failed(reopen);
    }
    tracing::warn!("store reopened after a failed commit");
    reopen.every = REOPEN_EVERY;
    true
}

/// What came while the writer waited.
enum Waited {
    Op(Op),
    Closed,
    Nothing,
}

/// The next op within `wait`. Polls: used only while the store waits to be reopened.
fn recv_within(rx: &mut mpsc::Receiver<Op>, wait: Duration) -> Waited {
    let until = Instant::now() + wait;
    loop {
        match rx.try_recv() {
            Ok(op) => return Waited::Op(op),
            Err(mpsc::error::TryRecvError::Disconnected) => return Waited::Closed,
            Err(mpsc::error::TryRecvError::Empty) if Instant::now() >= until => {
                return Waited::Nothing;
            }
            Err(mpsc::error::TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Commits one batch and answers its callers. Returns whether the commit succeeded.
fn commit_batch(
    store: &Store,
    config: &WriterConfig,
    wal: Option<&mut Wal>,
    index: &mut Deliveries,
    ops: Vec<Op>,
    out: &Outputs,
    observe_batch: &BatchObserver,
) -> bool {
    let size = ops.len();
    let started = Instant::now();
    // One answer per op, in order; the ops keep their acks until the commit is decided, so
    // that a failure anywhere answers every caller of the batch with it.
    let mut answers = Vec::with_capacity(size);
    // Records only go through the log, in batches below its direct size; anything else
    // commits durably, a checkpoint too.
    let logged = wal.as_ref().is_some_and(|w| w.takes(size))
        && ops.iter().all(|op| matches!(op, Op::Record { .. }));
    let mut entries = Entries::default();
    let result = store.with_db(|db| {
        if wal.as_ref().is_some_and(|w| w.broken) {
            return Err(StoreError::Unavailable);
        }
        let mut txn = db.begin_write()?;
        let mut t = if logged {
            txn.set_durability(Durability::None)?;
            Tables::open_logged(&txn, index)?
        } else {
            txn.set_durability(Durability::Immediate)?;
            txn.set_two_phase_commit(config.two_phase_commit);
            if let Some(w) = &wal {
                w.write_deliveries(&txn, index, false)?;
            }
            Tables::open(&txn, index)?
        };
        // Per-webhook stats are summed over the batch and written once per webhook.
        let mut stats: HashMap<Uuid, (u64, i64)> = HashMap::new();
        for op in &ops {
            let answer = match op {
                Op::Record {
                    record,
                    value,
                    webhook,
                    delivery,
                    ..
                } => {
                    let delivery = webhook.zip(delivery.as_deref());
                    if let Some(r) = ops::write_record(&mut t, record, value, delivery)? {
                        if logged && let Record::Rejected(rejection) = &r.record {
                            entries.rejection(&codec::encode_json(rejection)?);
                        }
                        answers.push(Answer::Duplicate(r.original, Arc::new(r.record)));
                        continue;
                    }
                    if logged {
                        match record.as_ref() {
                            Record::Accepted(_) => entries.event(value, delivery),
                            Record::Rejected(_) => entries.rejection(value),
                        }
                    }
                    if let (Some(w), Record::Accepted(e)) = (webhook, record.as_ref()) {
                        let s = stats.entry(*w).or_insert((0, e.received_at));
                        s.0 += 1;
                        s.1 = s.1.max(e.received_at);
                    }
                    Answer::Stored
                }
                Op::Put { input, .. } => Answer::Put(ops::put(&mut t, input)?),
                Op::Delete { uuid, .. } => Answer::Deleted(ops::delete(&mut t, *uuid)?),
                Op::Stop => Answer::Stored,
            };
            answers.push(answer);
        }
        for (w, (n, last)) in stats {
            // A webhook deleted in this batch keeps no stats.
            if t.webhooks.get(w.as_u128())?.is_none() {
                continue;
            }
            let count = t.stats.get(w.as_u128())?.map(|v| v.value().0).unwrap_or(0);
            t.stats.insert(w.as_u128(), (count + n, last))?;
            if logged {
                entries.stats(w, count + n, last);
            }
        }
        drop(t);
        if logged && let Some(w) = wal {
            w.record_applied(&txn)?;
            // Durable once its log record is; committed after, so that nothing unsynced
            // is ever read.
            if !w.append(&entries)? {
                let started = Instant::now();
                txn.set_durability(Durability::Immediate)?;
                w.write_deliveries(&txn, index, true)?;
                txn.commit()?;
                index.written();
                return w.checkpointed(started);
            }
        }
        txn.commit()?;
        if !logged {
            index.written();
        }
        Ok(())
    });
    // Observed before any caller hears back, so that /metrics agrees with what they saw.
    observe_batch(size, started.elapsed());
    if let Err(e) = result {
        tracing::error!("commit failed: {e}");
        let answer = answer_for(&e);
        for op in ops {
            let fail = || StoreError::from(&answer);
            match op {
                Op::Record { ack: Some(ack), .. } => {
                    let _ = ack.send((Err(fail()), None));
                }
                Op::Put { ack, .. } => {
                    let _ = ack.send(Err(PutError::Store(fail())));
                }
                Op::Delete { ack, .. } => {
                    let _ = ack.send(Err(fail()));
                }
                Op::Record { ack: None, .. } | Op::Stop => {}
            }
        }
        return false;
    }
    // Update the webhook cache and announce the change before any caller hears back, so
    // that whoever reacts to an answer already sees the new state.
    let mut webhooks_changed = false;
    let mut stored_events = false;
    for (op, answer) in ops.iter().zip(&answers) {
        match (op, answer) {
            (_, Answer::Put(Ok(w))) => {
                store.webhooks_mut().insert(w.uuid, Arc::new(w.clone()));
                webhooks_changed = true;
            }
            (Op::Delete { uuid, .. }, Answer::Deleted(true)) => {
                store.webhooks_mut().remove(uuid);
                webhooks_changed = true;
            }
            (Op::Record { record, .. }, Answer::Stored)
                if matches!(record.as_ref(), Record::Accepted(_)) =>
            {
                stored_events = true;
            }
            _ => {}
        }
    }
    if webhooks_changed {
        out.webhooks_changed.send_modify(|v| *v += 1);
    }
    if stored_events {
        out.events_committed.send_modify(|v| *v += 1);
    }
    // Answer only now: after a successful commit everything is on disk.
    for (op, answer) in ops.into_iter().zip(answers) {
        match (op, answer) {
            (Op::Record { ack, .. }, Answer::Duplicate(id, repeat)) => {
                let repeat = publish(&out.bus, repeat);
                if let Some(ack) = ack {
                    let stored = Stored {
                        id,
                        duplicate: true,
                    };
                    let _ = ack.send((Ok(stored), repeat));
                }
            }
            (
                Op::Record {
                    ack,
                    record,
                    encoded,
                    ..
                },
                _,
            ) => {
                let stored = Stored {
                    id: record.id(),
                    duplicate: false,
                };
                let record = publish(&out.bus, record);
                if let Some(ack) = ack {
                    let _ = ack.send((Ok(stored), record));
                }
                if let Some(e) = encoded {
                    out.listeners.publish(&e);
                }
            }
            (Op::Put { ack, .. }, Answer::Put(r)) => {
                let _ = ack.send(r);
            }
            (Op::Delete { ack, .. }, Answer::Deleted(existed)) => {
                let _ = ack.send(Ok(existed));
            }
            _ => {}
        }
    }
    true
}

/// Publishes a committed record to the bus's subscribers; with none, the bus hands it back.
fn publish(bus: &broadcast::Sender<Arc<Record>>, record: Arc<Record>) -> Option<Arc<Record>> {
    bus.send(record).err().map(|e| e.0)
}

/// Why a batch failed, as each of its callers hears it.
enum Failure {
    /// The store is closed for a reopen, or refuses writes until one (redb after an I/O
    /// error): an admin write answers 503, as for any store unavailable.
    Unavailable,
    Closed,
    Commit(String),
}

fn answer_for(e: &StoreError) -> Failure {
    match e {
        StoreError::Closed => Failure::Closed,
        StoreError::Unavailable => Failure::Unavailable,
        e => Failure::Commit(e.to_string()),
    }
}

impl From<&Failure> for StoreError {
    fn from(f: &Failure) -> Self {
        match f {
            Failure::Unavailable => StoreError::Unavailable,
            Failure::Closed => StoreError::Closed,
            Failure::Commit(e) => StoreError::CommitFailed(e.clone()),
        }
    }
}
