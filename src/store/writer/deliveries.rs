//! The senders' delivery ids (§7 duplicates): decided in each event's commit, looked up in
//! memory.
//!
//! `deliveries_v2` (see `store/mod.rs`) has a row per event stored with a delivery id, keyed
//! by the event's id: recording one appends at the table's end, and pruning cuts a range
//! from its start. A table keyed by the delivery id instead took a random page per event,
//! copied and checksummed at every commit, which made verified ingest the slower by a tenth.
//! Lookups by delivery go through this map of the same rows, which the writer loads from the
//! table when it starts and again after a failed batch; it holds about 50 bytes per event
//! stored with a delivery id (5 MB at the default `--retain-events`).
//!
//! A batch that goes through the write-ahead log is made durable by its log record, which
//! holds each event's delivery id. Its rows wait here for the next commit that syncs redb
//! (a checkpoint, a direct batch, a prune step), which writes them with the log's sequence
//! number they reach (`log.rs`, `delivered`). Writing them in each logged batch copied the
//! table's last pages at every commit: a third of what dedup cost the writer. Opening
//! replays the rows of the log's records past `delivered`, so a crash loses none, even
//! after a commit that synced without them (a pipeline's).

use std::collections::HashMap;

use redb::{ReadableTable, WriteTransaction};
use uuid::Uuid;

use super::super::{DELIVERIES, StoreError};

/// Delivery key -> the id of the event stored with it.
#[derive(Default)]
pub(in crate::store) struct Deliveries {
    by_key: HashMap<u128, u128>,
    /// (event, key) rows of logged batches, not yet in the table.
    pending: Vec<(u128, u128)>,
    /// Not loaded yet, or a failed batch may have left keys of events never stored.
    stale: bool,
}

impl Deliveries {
    /// An index to load before its first use.
    pub(super) fn unloaded() -> Deliveries {
        Deliveries {
            by_key: HashMap::new(),
            pending: Vec::new(),
            stale: true,
        }
    }

    /// Whether the map may differ from `deliveries_v2`: load it before a lookup.
    pub(super) fn is_stale(&self) -> bool {
        self.stale
    }

    /// Reads every row of `deliveries_v2`.
    pub(super) fn load(
        &mut self,
        table: &impl ReadableTable<u128, u128>,
    ) -> Result<(), StoreError> {
        let mut by_key = HashMap::with_capacity(usize::try_from(table.len()?).unwrap_or(0));
        for row in table.iter()? {
            let (event, key) = row?;
            by_key.insert(key.value(), event.value());
        }
        *self = Deliveries {
            by_key,
            pending: Vec::new(),
            stale: false,
        };
        Ok(())
    }

    /// After a failed batch or a reopen: its keys may be here, their events not stored.
    /// The rows waiting are dropped: reopening replays the log, which writes them.
    pub(super) fn mark_stale(&mut self) {
        self.stale = true;
        self.pending.clear();
    }

    /// Keeps a logged batch's row for the next commit that syncs.
    pub(super) fn defer(&mut self, event: u128, key: u128) {
        self.pending.push((event, key));
    }

    /// Writes the rows waiting into a transaction that syncs; [`Deliveries::written`] once
    /// it has committed.
    pub(super) fn write_pending(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut table = txn.open_table(DELIVERIES)?;
        for (event, key) in &self.pending {
            table.insert(event, key)?;
        }
        Ok(())
    }

    /// The rows waiting were committed durably.
    pub(super) fn written(&mut self) {
        self.pending.clear();
    }

    /// The event stored for this key, if its row is kept.
    pub(super) fn get(&self, key: u128) -> Option<u128> {
        self.by_key.get(&key).copied()
    }

    pub(super) fn insert(&mut self, key: u128, event: u128) {
        self.by_key.insert(key, event);
    }

    /// Forgets a pruned event's key, unless a newer event took it since.
    pub(super) fn remove(&mut self, key: u128, event: u128) {
        if self.by_key.get(&key) == Some(&event) {
            self.by_key.remove(&key);
        }
    }
}

/// A delivery's key: the first 16 bytes of SHA-256 over the webhook's uuid and the sender's
/// id. Fixed-width, whatever the id's length; two deliveries share one only by a 128-bit
/// collision.
pub(in crate::store) fn delivery_key(webhook: Uuid, id: &str) -> u128 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(webhook.as_bytes());
    h.update(id.as_bytes());
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(key)
}
