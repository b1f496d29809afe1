//! The prune policy: what each table keeps, removed between batches in bounded steps so
//! that ingest never waits long behind it.

use redb::{Durability, ReadableTable, TableHandle};

use super::super::{DELIVERIES, DELIVERIES_BY_EVENT, EVENTS, REJECTIONS, Store, StoreError};
use super::WriterConfig;

/// Most rows one pruning transaction removes, so that ingest never waits long behind it.
const PRUNE_STEP: u64 = 1000;
/// Rejections kept, newest first (§4).
pub const MAX_REJECTIONS: u64 = 10_000;

/// Removes one bounded step of surplus events and rejections. Returns whether it removed any.
pub(super) fn prune_step(store: &Store, config: &WriterConfig) -> Result<bool, StoreError> {
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
        // The newest event removed, whose delivery ids (and older ones) go too.
        let mut newest_removed = None;
        for (def, surplus) in [(EVENTS, surplus_events), (REJECTIONS, surplus_rejections)] {
            let mut table = txn.open_table(def)?;
            let events = def.name() == EVENTS.name();
            for _ in 0..surplus.min(PRUNE_STEP) {
                match table.pop_first()? {
                    Some((k, _)) if events => newest_removed = Some(k.value()),
                    Some(_) => {}
                    None => break,
                }
            }
        }
        if let Some(newest) = newest_removed {
            let mut by_event = txn.open_table(DELIVERIES_BY_EVENT)?;
            let mut by_id = txn.open_table(DELIVERIES)?;
            // At most one delivery id per removed event: as bounded as the events' step.
            loop {
                let first = by_event.first()?.map(|(k, v)| {
                    let (webhook, id) = v.value();
                    (k.value(), webhook, id.to_string())
                });
                let Some((event, webhook, id)) = first.filter(|f| f.0 <= newest) else {
                    break;
                };
                by_event.remove(event)?;
                by_id.remove((webhook, id.as_str()))?;
            }
        }
        // Runs go with their events.
        super::super::pipelines::prune_runs(&txn, PRUNE_STEP)?;
        txn.commit()?;
        Ok(true)
    })
}
