//! The prune policy: what each table keeps, removed between batches in bounded steps so
//! that ingest never waits long behind it.

use redb::Durability;

use super::super::{EVENTS, REJECTIONS, Store, StoreError};
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
        for (def, surplus) in [(EVENTS, surplus_events), (REJECTIONS, surplus_rejections)] {
            let mut table = txn.open_table(def)?;
            for _ in 0..surplus.min(PRUNE_STEP) {
                if table.pop_first()?.is_none() {
                    break;
                }
            }
        }
        // Runs go with their events.
        super::super::pipelines::prune_runs(&txn, PRUNE_STEP)?;
        txn.commit()?;
        Ok(true)
    })
}
