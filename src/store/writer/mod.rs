//! The one writer. It group-commits: every operation waiting in its queue goes into one
//! durable transaction, and only after the commit is each caller answered and each record
//! published, on the bus (records without bodies, for the dashboard) and to the listeners
//! (encoded events, for `event.listen`). Retention pruning runs between batches in bounded
//! steps.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::{Durability, ReadableTable, Table, WriteTransaction};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use uuid::Uuid;

use super::listen::{Encoded, Listener, Listeners};
use super::{EVENTS, REJECTIONS, Store, StoreError, WEBHOOK_KEYS, WEBHOOK_STATS, WEBHOOKS, codec};
use crate::domain::EventKeyPattern;
use crate::domain::time::now_ms;
use crate::domain::{Record, Webhook, WebhookInput};

/// Most operations folded into one transaction.
const MAX_BATCH: usize = 1024;
/// Most rows one pruning transaction removes, so that ingest never waits long behind it.
const PRUNE_STEP: u64 = 1000;
/// Least time between two reopen attempts after failed commits.
const REOPEN_EVERY: Duration = Duration::from_millis(250);
/// Rejections kept, newest first (§4).
pub const MAX_REJECTIONS: u64 = 10_000;

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
    #[error("eventKey {0:?} is already used by another webhook")]
    Conflict(String),
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
        /// The event for listeners, when there are any.
        encoded: Option<Arc<Encoded>>,
        /// `None` when the caller does not wait (rejections). Answers the stored id.
        ack: Option<oneshot::Sender<Result<Uuid, StoreError>>>,
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

/// A handle to the writer. Cloning is cheap; the writer stops when every handle is dropped.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Op>,
    bus: broadcast::Sender<Arc<Record>>,
    listeners: Arc<Listeners>,
    /// Bumped after every commit that changed webhooks.
    webhooks_changed: watch::Receiver<u64>,
    /// Bumped after every commit that stored accepted events.
    events_committed: watch::Receiver<u64>,
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
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let (bus, _) = broadcast::channel(4096);
        let (changed_tx, webhooks_changed) = watch::channel(0);
        let (events_tx, events_committed) = watch::channel(0);
        let listeners = Arc::new(Listeners::default());
        let out = Outputs {
            bus: bus.clone(),
            listeners: listeners.clone(),
            webhooks_changed: changed_tx,
            events_committed: events_tx,
        };
        let handle = std::thread::Builder::new()
            .name("hooktail-writer".into())
            .spawn(move || run(store, config, rx, out, observe_batch))?;
        let writer = Writer {
            tx,
            bus,
            listeners,
            webhooks_changed,
            events_committed,
        };
        Ok((writer, handle))
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
        let (ack, rx) = oneshot::channel();
        self.send(self.record_op(record, webhook, Some(ack))?)
            .await?;
        rx.await.map_err(|_| StoreError::Closed)?
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
        ack: Option<oneshot::Sender<Result<Uuid, StoreError>>>,
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
            encoded,
            ack,
        })
    }

    pub async fn put_webhook(&self, input: WebhookInput) -> Result<Webhook, PutError> {
        let (ack, rx) = oneshot::channel();
        self.send(Op::Put { input, ack }).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub async fn delete_webhook(&self, uuid: Uuid) -> Result<bool, StoreError> {
        let (ack, rx) = oneshot::channel();
        self.send(Op::Delete { uuid, ack }).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Stops the writer once everything queued before is committed. Later calls get `Closed`.
    pub async fn stop(&self) {
        let _ = self.send(Op::Stop).await;
    }

    async fn send(&self, op: Op) -> Result<(), StoreError> {
        self.tx.send(op).await.map_err(|_| StoreError::Closed)
    }
}

/// What a batch did, to be answered and published after its commit.
enum Done {
    Record {
        ack: Option<oneshot::Sender<Result<Uuid, StoreError>>>,
        record: Arc<Record>,
        encoded: Option<Arc<Encoded>>,
    },
    Put(
        oneshot::Sender<Result<Webhook, PutError>>,
        Result<Webhook, PutError>,
    ),
    Delete(oneshot::Sender<Result<bool, StoreError>>, Option<Uuid>),
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
    mut rx: mpsc::Receiver<Op>,
    out: Outputs,
    observe_batch: BatchObserver,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    let mut last_reopen: Option<Instant> = None;
    let mut newest = store.newest_event().unwrap_or_else(|e| {
        tracing::error!("cannot read the newest event id: {e}");
        Uuid::max()
    });
    while let Some(first) = rx.blocking_recv() {
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
        if !batch.is_empty() {
            let ops = batch.drain(..).map(|op| in_commit_order(op, &mut newest));
            let ops: Vec<Op> = ops.collect();
            let ok = commit_batch(&store, &config, ops.into_iter(), &out, &observe_batch);
            if !ok {
                recover(&store, &mut last_reopen);
            }
        }
        if stopping {
            break;
        }
        // Prune only while nothing waits, one bounded step at a time.
        while rx.is_empty() {
            match prune_step(&store, &config) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::error!("pruning failed: {e}");
                    break;
                }
            }
        }
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
            encoded,
            ack,
        },
        Err(err) => {
            tracing::error!("cannot re-key an event: {err}");
            Op::Record {
                record,
                value,
                webhook,
                encoded,
                ack,
            }
        }
    }
}

/// After a failed commit, reopens the store (at most every `REOPEN_EVERY`): redb refuses all
/// transactions after an I/O error until then. Callers meanwhile get errors, not a hang.
fn recover(store: &Store, last_reopen: &mut Option<Instant>) {
    if last_reopen.is_some_and(|t| t.elapsed() < REOPEN_EVERY) {
        return;
    }
    *last_reopen = Some(Instant::now());
    match store.reopen() {
        Ok(()) => tracing::warn!("store reopened after a failed commit"),
        Err(e) => tracing::error!("cannot reopen the store: {e}"),
    }
}

/// Commits one batch and answers its callers. Returns whether the commit succeeded.
fn commit_batch(
    store: &Store,
    config: &WriterConfig,
    ops: impl ExactSizeIterator<Item = Op>,
    out: &Outputs,
    observe_batch: &BatchObserver,
) -> bool {
    let size = ops.len();
    let started = Instant::now();
    let mut done = Vec::with_capacity(size);
    let result = store.with_db(|db| {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.set_two_phase_commit(config.two_phase_commit);
        let mut t = Tables::open(&txn)?;
        // Per-webhook stats are summed over the batch and written once per webhook.
        let mut stats: HashMap<Uuid, (u64, i64)> = HashMap::new();
        for op in ops {
            match op {
                Op::Record {
                    record,
                    value,
                    webhook,
                    encoded,
                    ack,
                } => {
                    write_record(&mut t, &record, &value)?;
                    if let (Some(w), Record::Accepted(e)) = (webhook, record.as_ref()) {
                        let s = stats.entry(w).or_insert((0, e.received_at));
                        s.0 += 1;
                        s.1 = s.1.max(e.received_at);
                    }
                    done.push(Done::Record {
                        ack,
                        record,
                        encoded,
                    });
                }
                Op::Put { input, ack } => {
                    let r = put(&mut t, &input);
                    done.push(Done::Put(ack, r));
                }
                Op::Delete { uuid, ack } => {
                    let existed = delete(&mut t, uuid)?;
                    done.push(Done::Delete(ack, existed.then_some(uuid)));
                }
                Op::Stop => {}
            }
        }
        for (w, (n, last)) in stats {
            // A webhook deleted in this batch keeps no stats.
            if t.webhooks.get(w.as_u128())?.is_none() {
                continue;
            }
            let count = t.stats.get(w.as_u128())?.map(|v| v.value().0).unwrap_or(0);
            t.stats.insert(w.as_u128(), (count + n, last))?;
        }
        drop(t);
        txn.commit()?;
        Ok(())
    });
    // Observed before any caller hears back, so that /metrics agrees with what they saw.
    observe_batch(size, started.elapsed());
    // Answer only now: after a successful commit everything is on disk.
    let failed = result.err().map(|e| e.to_string());
    if let Some(e) = &failed {
        tracing::error!("commit failed: {e}");
    }
    let fail = || StoreError::CommitFailed(failed.clone().unwrap_or_default());
    if failed.is_none() {
        // Update the webhook cache and announce the change before any caller hears back,
        // so that whoever reacts to an answer already sees the new state.
        let mut webhooks_changed = false;
        for d in &done {
            match d {
                Done::Put(_, Ok(w)) => {
                    store.webhooks_mut().insert(w.uuid, w.clone());
                    webhooks_changed = true;
                }
                Done::Delete(_, Some(uuid)) => {
                    store.webhooks_mut().remove(uuid);
                    webhooks_changed = true;
                }
                _ => {}
            }
        }
        if webhooks_changed {
            out.webhooks_changed.send_modify(|v| *v += 1);
        }
        let stored_events = done
            .iter()
            .any(|d| matches!(d, Done::Record { record, .. } if matches!(record.as_ref(), Record::Accepted(_))));
        if stored_events {
            out.events_committed.send_modify(|v| *v += 1);
        }
    }
    for d in done {
        match (d, failed.is_some()) {
            (Done::Record { ack, .. }, true) => {
                if let Some(ack) = ack {
                    let _ = ack.send(Err(fail()));
                }
            }
            (
                Done::Record {
                    ack,
                    record,
                    encoded,
                },
                false,
            ) => {
                if let Some(ack) = ack {
                    let _ = ack.send(Ok(record.id()));
                }
                let _ = out.bus.send(record);
                if let Some(e) = encoded {
                    out.listeners.publish(&e);
                }
            }
            (Done::Put(ack, _), true) => {
                let _ = ack.send(Err(PutError::Store(fail())));
            }
            (Done::Put(ack, r), false) => {
                let _ = ack.send(r);
            }
            (Done::Delete(ack, _), true) => {
                let _ = ack.send(Err(fail()));
            }
            (Done::Delete(ack, removed), false) => {
                let _ = ack.send(Ok(removed.is_some()));
            }
        }
    }
    failed.is_none()
}

/// Every table a batch writes, opened once per transaction.
struct Tables<'t> {
    events: Table<'t, u128, &'static [u8]>,
    rejections: Table<'t, u128, &'static [u8]>,
    webhooks: Table<'t, u128, &'static [u8]>,
    keys: Table<'t, &'static str, u128>,
    stats: Table<'t, u128, (u64, i64)>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Tables {
            events: txn.open_table(EVENTS)?,
            rejections: txn.open_table(REJECTIONS)?,
            webhooks: txn.open_table(WEBHOOKS)?,
            keys: txn.open_table(WEBHOOK_KEYS)?,
            stats: txn.open_table(WEBHOOK_STATS)?,
        })
    }
}

fn write_record(t: &mut Tables, record: &Record, value: &[u8]) -> Result<(), StoreError> {
    match record {
        Record::Accepted(e) => t.events.insert(e.id.as_u128(), value)?,
        Record::Rejected(r) => t.rejections.insert(r.id.as_u128(), value)?,
    };
    Ok(())
}

/// Creates or edits a webhook inside the batch's transaction. Refusals are answers, not
/// transaction failures, so they never abort the other operations of the batch.
fn put(t: &mut Tables, input: &WebhookInput) -> Result<Webhook, PutError> {
    let uuid = input.uuid.unwrap_or_else(Uuid::new_v4);
    // Read from the table, not the cache: an earlier op of this batch may have changed it.
    let existing: Option<Webhook> =
        match t.webhooks.get(uuid.as_u128()).map_err(StoreError::from)? {
            Some(v) => Some(codec::decode_json(v.value())?),
            None => None,
        };
    let webhook = input
        .apply(existing.as_ref(), uuid, now_ms())
        .map_err(PutError::Invalid)?;
    let owner = t
        .keys
        .get(webhook.event_key.as_str())
        .map_err(StoreError::from)?
        .map(|v| v.value());
    if owner.is_some_and(|o| o != uuid.as_u128()) {
        return Err(PutError::Conflict(webhook.event_key));
    }
    if let Some(old) = &existing
        && old.event_key != webhook.event_key
    {
        t.keys
            .remove(old.event_key.as_str())
            .map_err(StoreError::from)?;
    }
    t.keys
        .insert(webhook.event_key.as_str(), uuid.as_u128())
        .map_err(StoreError::from)?;
    t.webhooks
        .insert(uuid.as_u128(), codec::encode_json(&webhook)?.as_slice())
        .map_err(StoreError::from)?;
    Ok(webhook)
}

fn delete(t: &mut Tables, uuid: Uuid) -> Result<bool, StoreError> {
    let removed = t
        .webhooks
        .remove(uuid.as_u128())?
        .map(|v| v.value().to_vec());
    let Some(bytes) = removed else {
        return Ok(false);
    };
    let webhook: Webhook = codec::decode_json(&bytes)?;
    t.keys.remove(webhook.event_key.as_str())?;
    t.stats.remove(uuid.as_u128())?;
    Ok(true)
}

/// Removes one bounded step of surplus events and rejections. Returns whether it removed any.
fn prune_step(store: &Store, config: &WriterConfig) -> Result<bool, StoreError> {
    let (events, rejections) = store.counts()?;
    let surplus_events = if config.retain_events == 0 {
        0
    } else {
        events.saturating_sub(config.retain_events)
    };
    let surplus_rejections = rejections.saturating_sub(MAX_REJECTIONS);
    if surplus_events == 0 && surplus_rejections == 0 {
        return Ok(false);
    }
    store.with_db(|db| {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        for (def, surplus) in [(EVENTS, surplus_events), (REJECTIONS, surplus_rejections)] {
            let mut table = txn.open_table(def)?;
            for _ in 0..surplus.min(PRUNE_STEP) {
                if table.pop_first()?.is_none() {
                    break;
                }
            }
        }
        // Runs go with their events.
        super::pipelines::prune_runs(&txn, PRUNE_STEP)?;
        txn.commit()?;
        Ok(true)
    })
}
