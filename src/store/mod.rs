//! The redb store. Everything else reaches the data only through [`Store`] (reads) and
//! [`Writer`] (the one task that writes).

pub mod codec;
mod listen;
mod pipelines;
pub mod wal;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use uuid::Uuid;

use crate::domain::{EventFilter, Record, Summary, Webhook};

pub use listen::{Encoded, LISTENER_BUFFER, Listener, Next};
pub use pipelines::{PipelineInput, Progress, Requeue, RunQuery};
pub use writer::{Checkpoints, LogConfig, PutError, Stored, Writer, WriterConfig};

// Table names carry a version: a layout change gets a new name and a migration.
//
// events_v1: key = event id, a v7 uuid as u128, so keys sort by arrival time;
//            value = codec::encode_event: [u8 len][eventKey][u8 len][method]
//                    [u32 LE meta length][meta JSON][exact body bytes].
const EVENTS: TableDefinition<u128, &[u8]> = TableDefinition::new("events_v1");
// rejections_v1: key = rejection id, a v7 uuid as u128; value = JSON of domain::Rejection.
const REJECTIONS: TableDefinition<u128, &[u8]> = TableDefinition::new("rejections_v1");
// webhooks_v1: key = webhook uuid as u128; value = JSON of domain::Webhook.
const WEBHOOKS: TableDefinition<u128, &[u8]> = TableDefinition::new("webhooks_v1");
// webhook_keys_v1: unique index; key = eventKey; value = webhook uuid as u128.
const WEBHOOK_KEYS: TableDefinition<&str, u128> = TableDefinition::new("webhook_keys_v1");
// webhook_stats_v1: key = webhook uuid as u128;
//                   value = (events accepted since creation, receivedAt ms of the newest).
const WEBHOOK_STATS: TableDefinition<u128, (u64, i64)> = TableDefinition::new("webhook_stats_v1");
// deliveries_v2: the senders' delivery ids (§7 duplicates); key = the id of the event stored
//                with one; value = its delivery key, the first 16 bytes of SHA-256 over the
//                webhook's uuid and the delivery id (writer/deliveries.rs). Written in the
//                event's commit, so two concurrent duplicates cannot both be stored; pruned
//                with its event. The writer looks keys up in memory.
const DELIVERIES: TableDefinition<u128, u128> = TableDefinition::new("deliveries_v2");
// deliveries_v1 (moved into deliveries_v2 on open): key = (webhook uuid as u128, delivery
//               id); value = the id of the event stored for it. Keyed by the delivery, each
//               event's row went to a random page, which cost verified ingest a tenth.
const OLD_DELIVERIES: TableDefinition<(u128, &str), u128> = TableDefinition::new("deliveries_v1");
// deliveries_by_event_v1 (dropped on open): key = event id; value = its deliveries_v1 key.
//                        It cost every verified event a second index row.
const DROPPED_DELIVERIES_BY_EVENT: TableDefinition<u128, (u128, &str)> =
    TableDefinition::new("deliveries_by_event_v1");

/// redb's page cache. Its default is 1 GiB; events are written once and read rarely, so a
/// small cache keeps the process lean without slowing ingest.
pub const CACHE_SIZE: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("it holds the lock")]
    Locked,
    #[error("store error: {0}")]
    Db(#[from] redb::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
    #[error(
        "the store's writer failed and stores nothing more; restart hooktail (its log says why)"
    )]
    WriterFailed,
    #[error("the store is unavailable after a storage error; retrying")]
    Unavailable,
    #[error("nothing was stored: the commit failed ({0})")]
    CommitFailed(String),
    /// The log file could not be made ready (filled to its size, say, on a full disk).
    #[error("{0}")]
    LogFile(String),
}

/// What a panic said, for the log and the error that replaces it.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

fn open_error(e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked,
        e => StoreError::Db(e.into()),
    }
}

macro_rules! impl_from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
impl_from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

pub use crate::domain::Status;

/// Where a page starts. Newest/Before pages run newest first; Oldest/After oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Newest,
    Before(Uuid),
    Oldest,
    After(Uuid),
}

#[derive(Debug, Clone)]
pub struct PageQuery {
    pub cursor: Cursor,
    pub filter: EventFilter,
    pub limit: usize,
    /// Whether to load event bodies (listings leave them out).
    pub with_body: bool,
}

impl PageQuery {
    pub fn newest(limit: usize) -> Self {
        Self {
            cursor: Cursor::Newest,
            filter: EventFilter::default(),
            limit,
            with_body: false,
        }
    }
}

/// Per-webhook figures for the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookStats {
    pub events: u64,
    pub last_at: Option<i64>,
}

/// Opens the database again, the way it was first opened.
type Opener = Box<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

pub struct Store {
    /// `None` only while a reopen after an I/O error has not succeeded yet.
    db: RwLock<Option<Database>>,
    opener: Opener,
    /// Every webhook by uuid, so that the receive path never opens a transaction to find one.
    webhooks: RwLock<HashMap<Uuid, Arc<Webhook>>>,
}

impl Store {
    /// Opens or creates the store file, readable by its owner only: it holds every token.
    pub fn open(path: &Path) -> Result<Arc<Store>, StoreError> {
        private_file(path).map_err(|e| StoreError::Db(e.into()))?;
        let path = path.to_path_buf();
        Self::init(Box::new(move || {
            Database::builder().set_cache_size(CACHE_SIZE).create(&path)
        }))
    }

    /// Opens a store on another storage backend, made by `backend` on each (re)open. Tests
    /// simulate power loss and full disks with one.
    pub fn open_backend<B: redb::StorageBackend>(
        backend: impl Fn() -> B + Send + Sync + 'static,
    ) -> Result<Arc<Store>, StoreError> {
        Self::init(Box::new(move || {
            Database::builder()
                .set_cache_size(CACHE_SIZE)
                .create_with_backend(backend())
        }))
    }

    fn init(opener: Opener) -> Result<Arc<Store>, StoreError> {
        // redb panics on some damaged files: that is an unreadable store, said as such.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::init_unguarded(opener)
        }))
        .unwrap_or_else(|panic| Err(StoreError::Corrupt(panic_text(panic.as_ref()))))
    }

    fn init_unguarded(opener: Opener) -> Result<Arc<Store>, StoreError> {
        let db = opener().map_err(open_error)?;
        // Create the tables up front so that readers never meet a missing table.
        let txn = db.begin_write()?;
        {
            txn.open_table(EVENTS)?;
            txn.open_table(REJECTIONS)?;
            txn.open_table(WEBHOOKS)?;
            txn.open_table(WEBHOOK_KEYS)?;
            txn.open_table(WEBHOOK_STATS)?;
            txn.open_table(DELIVERIES)?;
            move_old_deliveries(&txn)?;
            txn.delete_table(DROPPED_DELIVERIES_BY_EVENT)?;
            txn.open_table(pipelines::PIPELINES)?;
            txn.open_table(pipelines::RUNS)?;
            txn.open_table(pipelines::RUNS_BY_EVENT)?;
        }
        txn.commit()?;
        let store = Store {
            db: RwLock::new(Some(db)),
            opener,
            webhooks: RwLock::new(HashMap::new()),
        };
        let all = store.load_webhooks()?;
        *store.webhooks_mut() = all.into_iter().map(|w| (w.uuid, Arc::new(w))).collect();
        Ok(Arc::new(store))
    }

    /// Runs `f` on the database, holding it so that a reopen waits for `f` to finish.
    fn with_db<T>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(StoreError::Unavailable),
        }
    }

    /// Closes and opens the database again, running `then` on it before anyone else may use
    /// it. redb refuses every transaction after an I/O error until then; this lets the store
    /// recover once, say, a full disk has room again. When either fails the store stays
    /// closed: every read and write answers `Unavailable` until a reopen succeeds.
    pub(crate) fn reopen(
        &self,
        then: impl FnOnce(&Database) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut slot = self.db.write().unwrap_or_else(|e| e.into_inner());
        // Close first: the open file holds the lock the new handle needs.
        drop(slot.take());
        let db = (self.opener)().map_err(open_error)?;
        then(&db)?;
        *slot = Some(db);
        Ok(())
    }

    fn load_webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(WEBHOOKS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (_, v) = row?;
                out.push(codec::decode_json(v.value())?);
            }
            Ok(out)
        })
    }

    fn webhooks_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Uuid, Arc<Webhook>>> {
        // A poisoned lock only means a panic elsewhere; the map itself is always whole.
        self.webhooks.write().unwrap_or_else(|e| e.into_inner())
    }

    fn webhooks_ref(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Uuid, Arc<Webhook>>> {
        self.webhooks.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The webhook whose token this is, from memory, shared rather than copied: every
    /// webhook call looks one up.
    pub fn webhook(&self, uuid: &Uuid) -> Option<Arc<Webhook>> {
        self.webhooks_ref().get(uuid).cloned()
    }

    /// All webhooks, sorted by eventKey.
    pub fn webhooks(&self) -> Vec<Webhook> {
        let mut all: Vec<Webhook> = self
            .webhooks_ref()
            .values()
            .map(|w| (**w).clone())
            .collect();
        all.sort_by(|a, b| a.event_key.cmp(&b.event_key));
        all
    }

    pub fn webhook_stats(&self) -> Result<HashMap<Uuid, WebhookStats>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(WEBHOOK_STATS)?;
            let mut out = HashMap::new();
            for row in table.iter()? {
                let (k, v) = row?;
                let (events, last) = v.value();
                out.insert(
                    Uuid::from_u128(k.value()),
                    WebhookStats {
                        events,
                        last_at: Some(last),
                    },
                );
            }
            Ok(out)
        })
    }

    /// The id of the newest accepted event, or nil when there is none.
    pub fn newest_event(&self) -> Result<Uuid, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let newest = events.last()?.map(|(k, _)| k.value());
            Ok(newest.map_or(Uuid::nil(), Uuid::from_u128))
        })
    }

    /// (accepted events, rejections) stored now.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?.len()?;
            let rejections = txn.open_table(REJECTIONS)?.len()?;
            Ok((events, rejections))
        })
    }

    /// One event or rejection, with its body.
    pub fn record(&self, id: &Uuid) -> Result<Option<Record>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let key = id.as_u128();
            if let Some(v) = txn.open_table(EVENTS)?.get(key)? {
                return Ok(Some(Record::Accepted(codec::decode_event(
                    v.value(),
                    true,
                )?)));
            }
            if let Some(v) = txn.open_table(REJECTIONS)?.get(key)? {
                return Ok(Some(Record::Rejected(codec::decode_json(v.value())?)));
            }
            Ok(None)
        })
    }

    /// A page of events and rejections merged by id, read lazily from the cursor on, so
    /// that paging costs the same at the newest and the oldest end.
    pub fn page(&self, q: &PageQuery) -> Result<Vec<Record>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let rejections = txn.open_table(REJECTIONS)?;
            let newest_first = matches!(q.cursor, Cursor::Newest | Cursor::Before(_));
            let range = |t: &redb::ReadOnlyTable<u128, &[u8]>| -> Result<_, StoreError> {
                let r = match q.cursor {
                    Cursor::Newest | Cursor::Oldest => t.range::<u128>(..)?,
                    Cursor::Before(id) => t.range(..id.as_u128())?,
                    Cursor::After(id) => t.range((
                        std::ops::Bound::Excluded(id.as_u128()),
                        std::ops::Bound::Unbounded,
                    ))?,
                };
                let it: Box<dyn Iterator<Item = _>> = if newest_first {
                    Box::new(r.rev())
                } else {
                    Box::new(r)
                };
                Ok(it.peekable())
            };
            let want_accepted = q.filter.wants(Status::Accepted);
            let want_rejected = q.filter.wants(Status::Rejected);
            let mut acc = range(&events)?;
            let mut rej = range(&rejections)?;
            let key_of = |p: Option<&Result<(redb::AccessGuard<u128>, _), _>>| match p {
                Some(Ok((k, _))) => Some(k.value()),
                _ => None,
            };
            let keep = |s: Summary| q.filter.matches(s);
            // A value that does not decode is skipped, not fatal: one damaged record must not
            // hide every other one.
            let skip = |k: u128, e: StoreError| {
                tracing::warn!(id = %Uuid::from_u128(k), "skipping an unreadable record: {e}");
            };
            let mut out = Vec::new();
            let mut body_bytes = 0;
            while out.len() < q.limit && body_bytes < MAX_PAGE_BODY_BYTES {
                let a = if want_accepted {
                    key_of(acc.peek())
                } else {
                    None
                };
                let r = if want_rejected {
                    key_of(rej.peek())
                } else {
                    None
                };
                let take_accepted = match (a, r) {
                    (Some(a), Some(r)) => (a > r) == newest_first,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => {
                        // Surface an iterator error rather than ending the page silently.
                        for it in [&mut acc, &mut rej] {
                            if let Some(Err(_)) = it.peek()
                                && let Some(Err(e)) = it.next()
                            {
                                return Err(e.into());
                            }
                        }
                        break;
                    }
                };
                if take_accepted {
                    let Some(Ok((k, v))) = acc.next() else { break };
                    // Filter on the value's leading fields; decode only what is kept.
                    let decoded = codec::event_summary(v.value()).and_then(|s| {
                        if keep(s) {
                            codec::decode_event(v.value(), q.with_body).map(Some)
                        } else if q.filter.needs_content_type() {
                            // The content type is in the JSON: read it to match the row.
                            let e = codec::decode_event(v.value(), q.with_body)?;
                            Ok(keep(e.summary()).then_some(e))
                        } else {
                            Ok(None)
                        }
                    });
                    match decoded {
                        Ok(Some(e)) => {
                            body_bytes += e.body.len();
                            out.push(Record::Accepted(e));
                        }
                        Ok(None) => {}
                        Err(e) => skip(k.value(), e),
                    }
                } else {
                    let Some(Ok((k, v))) = rej.next() else { break };
                    match codec::decode_json(v.value()) {
                        Ok(r) => {
                            let record = Record::Rejected(r);
                            if keep(record.summary()) {
                                out.push(record);
                            }
                        }
                        Err(e) => skip(k.value(), e),
                    }
                }
            }
            Ok(out)
        })
    }
}

/// Most body bytes one page read with bodies holds, past its first event: whatever `limit`
/// a caller asks for (a body search step, local or over `event.list withBody`), memory
/// stays bounded. Such a page may so hold fewer events than asked for.
pub const MAX_PAGE_BODY_BYTES: usize = 8 << 20;

/// Creates `path` with mode 0600 before redb opens it (redb takes an empty file as a new
/// store), and makes an existing one private too.
fn private_file(path: &Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        o.open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    o.open(path).map(drop)
}

/// Moves a store's `deliveries_v1` rows into `deliveries_v2`, then drops the old table.
fn move_old_deliveries(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let old = redb::TableHandle::name(&OLD_DELIVERIES);
    if !txn
        .list_tables()?
        .any(|t| redb::TableHandle::name(&t) == old)
    {
        return Ok(());
    }
    let mut rows = txn.open_table(DELIVERIES)?;
    for row in txn.open_table(OLD_DELIVERIES)?.iter()? {
        let (key, event) = row?;
        let (webhook, id) = key.value();
        rows.insert(
            event.value(),
            writer::delivery_key(Uuid::from_u128(webhook), id),
        )?;
    }
    drop(rows);
    txn.delete_table(OLD_DELIVERIES)?;
    tracing::info!("moved the delivery ids into deliveries_v2");
    Ok(())
}

#[cfg(test)]
mod tests;
