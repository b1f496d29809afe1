//! The prune policy: what each table keeps, removed between batches in bounded steps so
//! that ingest never waits long behind it.

use redb::{Durability, ReadableTable, Table, TableHandle};

use super::super::{DELIVERIES, EVENTS, REJECTIONS, Store, StoreError};
use super::WriterConfig;

/// Most rows one pruning transaction removes, so that ingest never waits long behind it.
const PRUNE_STEP: u64 = 1000;
/// Rejections kept, newest first (§4).
pub const MAX_REJECTIONS: u64 = 10_000;
/// Delivery ids the sweep looks at for each event pruned. Every id it passes over whose event
/// is gone is removed, so at most a quarter of the ids it goes round are stale: the index
/// stays within 4/3 of the events kept, plus one step.
const SWEEP_PER_EVENT: u64 = 4;

/// Where the delivery-id sweep goes on from: the next key to look at, `None` for the start.
/// Kept in memory: after a restart the sweep starts again from the first key.
#[derive(Default)]
pub(super) struct Sweep(Option<(u128, String)>);

impl Sweep {
    /// Looks at up to `budget` delivery ids from where the last step stopped, wrapping round
    /// at the end, and removes those whose event is older than `oldest`, the oldest event kept.
    fn step(
        &mut self,
        table: &mut Table<(u128, &'static str), u128>,
        oldest: u128,
        budget: u64,
    ) -> Result<(), StoreError> {
        let mut stale = Vec::new();
        let mut next = None;
        {
            let entries = match &self.0 {
                Some((webhook, id)) => table.range((*webhook, id.as_str())..)?,
                None => table.range::<(u128, &str)>(..)?,
            };
            for (seen, entry) in entries.enumerate() {
                let (key, event) = entry?;
                let (webhook, id) = key.value();
                if seen as u64 == budget {
                    next = Some((webhook, id.to_string()));
                    break;
                }
                if event.value() < oldest {
                    stale.push((webhook, id.to_string()));
                }
            }
        }
        for (webhook, id) in &stale {
            table.remove((*webhook, id.as_str()))?;
        }
        self.0 = next;
        Ok(())
    }
}

/// Removes one bounded step of surplus events and rejections, and sweeps the delivery ids of
/// the events removed. Returns whether it removed any.
pub(super) fn prune_step(
    store: &Store,
    config: &WriterConfig,
    sweep: &mut Sweep,
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
    store.with_db(|db| {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
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
            let mut deliveries = txn.open_table(DELIVERIES)?;
            sweep.step(
                &mut deliveries,
                oldest_kept,
                removed_events * SWEEP_PER_EVENT,
            )?;
        }
        // Runs go with their events.
        super::super::pipelines::prune_runs(&txn, PRUNE_STEP)?;
        txn.commit()?;
        Ok(true)
    })
}
