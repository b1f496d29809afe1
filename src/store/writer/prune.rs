//! The prune policy: what each table keeps, removed between batches in bounded steps so
//! that ingest never waits long behind it.

use redb::{Durability, ReadableTable, TableHandle};

use super::super::{DELIVERIES, EVENTS, REJECTIONS, Store, StoreError};
use super::WriterConfig;
use super::deliveries::Deliveries;
use super::log::Wal;

/// Most rows one pruning transaction removes, so that ingest never waits long behind it.
const PRUNE_STEP: u64 = 1000;
/// Rejections kept, newest first (§4).
pub const MAX_REJECTIONS: u64 = 10_000;

/// Removes one bounded step of surplus events and rejections, and the delivery ids of the
/// events removed. Returns whether it removed any.
pub(super) fn prune_step(
    store: &Store,
    config: &WriterConfig,
    index: &mut Deliveries,
    wal: Option<&Wal>,
) -> Result<bool, StoreError> {
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
    // The keys of the delivery ids removed, forgotten once their removal is committed.
    let mut forget = Vec::new();
    store.with_db(|db| {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        // The rows that wait first, so that those of the events removed go with them.
        if let Some(w) = wal {
            w.write_deliveries(&txn, index, false)?;
        }
        let mut removed_events = 0;
        let mut oldest_kept = u128::MAX;
        for (def, surplus) in [(EVENTS, surplus_events), (REJECTIONS, surplus_rejections)] {
            let mut table = txn.open_table(def)?;
            let mut removed = 0;
            while removed < surplus.min(PRUNE_STEP) && table.pop_first()?.is_some() {
                removed += 1;
            }
            if def.name() == EVENTS.name() {
                removed_events = removed;
                oldest_kept = table.first()?.map_or(u128::MAX, |(k, _)| k.value());
            }
        }
        if removed_events > 0 {
            // Keyed by event id: the rows of the events removed are the table's first.
            let mut deliveries = txn.open_table(DELIVERIES)?;
            loop {
                let first = deliveries.first()?.map(|(e, k)| (e.value(), k.value()));
                let Some((event, key)) = first.filter(|(e, _)| *e < oldest_kept) else {
                    break;
                };
                deliveries.remove(event)?;
                forget.push((key, event));
            }
        }
        // Runs go with their events.
        super::super::pipelines::prune_runs(&txn, PRUNE_STEP)?;
        txn.commit()?;
        Ok(())
    })?;
    index.written();
    for (key, event) in forget {
        index.remove(key, event);
    }
    Ok(true)
}
