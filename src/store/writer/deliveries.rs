//! The senders' delivery ids (§7 duplicates): recorded on disk in each event's commit, looked
//! up in memory.
//!
//! `deliveries_v2` (see `store/mod.rs`) has a row per event stored with a delivery id, keyed
//! by the event's id: recording one appends at the table's end, and pruning cuts a range
//! from its start. A table keyed by the delivery id instead took a random page per event,
//! copied and checksummed at every commit, which made verified ingest the slower by a tenth.
//! Lookups by delivery go through this map of the same rows, which the writer loads from the
//! table when it starts and again after a failed batch; it holds about 50 bytes per event
//! stored with a delivery id (5 MB at the default `--retain-events`).

use std::collections::HashMap;

use redb::ReadableTable;
use uuid::Uuid;

use super::super::StoreError;

/// Delivery key -> the id of the event stored with it.
#[derive(Default)]
pub(in crate::store) struct Deliveries {
    by_key: HashMap<u128, u128>,
    /// Not loaded yet, or a failed batch may have left keys of events never stored.
    stale: bool,
}

impl Deliveries {
    /// An index to load before its first use.
    pub(super) fn unloaded() -> Deliveries {
        Deliveries {
            by_key: HashMap::new(),
            stale: true,
        }
    }

    /// Reads every row of `deliveries_v2` when the map may differ from it.
    pub(super) fn load_if_stale(
        &mut self,
        table: &impl ReadableTable<u128, u128>,
    ) -> Result<(), StoreError> {
        if !self.stale {
            return Ok(());
        }
        let mut by_key = HashMap::with_capacity(usize::try_from(table.len()?).unwrap_or(0));
        for row in table.iter()? {
            let (event, key) = row?;
            by_key.insert(key.value(), event.value());
        }
        *self = Deliveries {
            by_key,
            stale: false,
        };
        Ok(())
    }

    /// After a failed batch: its keys may be here, their events not stored.
    pub(super) fn mark_stale(&mut self) {
        self.stale = true;
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
