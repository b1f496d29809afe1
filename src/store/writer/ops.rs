//! The operations of a batch, inside its one write transaction. Each answers with a typed
//! result: `Ok` is the answer its caller gets after the commit (a refusal included), `Err`
//! a storage error that aborts the whole batch's transaction.

use redb::{ReadableTable, Table, WriteTransaction};
use uuid::Uuid;

use super::super::{
    DELIVERIES, EVENTS, REJECTIONS, StoreError, WEBHOOK_KEYS, WEBHOOK_STATS, WEBHOOKS, codec,
};
use super::PutError;
use super::deliveries::{Deliveries, delivery_key};
use crate::domain::time::now_ms;
use crate::domain::webhook::token_prefix;
use crate::domain::{Event, Record, Rejection, Webhook, WebhookInput};

/// What a webhook put answers: the webhook, or why it was refused (`Invalid`, `Conflict`).
pub(super) type PutAnswer = Result<Webhook, PutError>;

/// Every table a batch writes, opened once per transaction.
pub(super) struct Tables<'t> {
    pub(super) events: Table<'t, u128, &'static [u8]>,
    pub(super) rejections: Table<'t, u128, &'static [u8]>,
    pub(super) webhooks: Table<'t, u128, &'static [u8]>,
    pub(super) keys: Table<'t, &'static str, u128>,
    pub(super) stats: Table<'t, u128, (u64, i64)>,
    txn: &'t WriteTransaction,
    /// Opened by the first record with a delivery id: most batches have none.
    deliveries: Option<Table<'t, u128, u128>>,
    /// The delivery ids stored, by key.
    index: &'t mut Deliveries,
    /// The transaction does not sync (a logged batch): delivery rows wait in `index` for
    /// the next one that does.
    defer: bool,
}

impl<'t> Tables<'t> {
    /// The tables of a transaction that syncs.
    pub(super) fn open(
        txn: &'t WriteTransaction,
        index: &'t mut Deliveries,
    ) -> Result<Self, StoreError> {
        Tables::open_with(txn, index, false)
    }

    /// The tables of a logged batch's transaction, which does not sync.
    pub(super) fn open_logged(
        txn: &'t WriteTransaction,
        index: &'t mut Deliveries,
    ) -> Result<Self, StoreError> {
        Tables::open_with(txn, index, true)
    }

    fn open_with(
        txn: &'t WriteTransaction,
        index: &'t mut Deliveries,
        defer: bool,
    ) -> Result<Self, StoreError> {
        Ok(Tables {
            events: txn.open_table(EVENTS)?,
            rejections: txn.open_table(REJECTIONS)?,
            webhooks: txn.open_table(WEBHOOKS)?,
            keys: txn.open_table(WEBHOOK_KEYS)?,
            stats: txn.open_table(WEBHOOK_STATS)?,
            txn,
            deliveries: None,
            index,
            defer,
        })
    }
}

impl<'t> Tables<'t> {
    /// `deliveries_v2`, opened on first use.
    fn deliveries(&mut self) -> Result<&mut Table<'t, u128, u128>, StoreError> {
        let rows = match self.deliveries.take() {
            Some(rows) => rows,
            None => self.txn.open_table(DELIVERIES)?,
        };
        Ok(self.deliveries.insert(rows))
    }

    /// Loads the map of delivery ids before its first lookup.
    fn load_index(&mut self) -> Result<(), StoreError> {
        if !self.index.is_stale() {
            return Ok(());
        }
        match &self.deliveries {
            Some(rows) => self.index.load(rows),
            None => self.index.load(&self.txn.open_table(DELIVERIES)?),
        }
    }
}

/// Writes the row of an event's delivery id decided before: replaying the log's records
/// whose events the store holds and whose rows it may not.
pub(super) fn write_delivery_row(
    t: &mut Tables,
    event: Uuid,
    webhook: Uuid,
    id: &str,
) -> Result<(), StoreError> {
    t.deliveries()?
        .insert(event.as_u128(), delivery_key(webhook, id))?;
    Ok(())
}

/// An accepted event whose delivery id its webhook had stored: the stored event's id, and
/// the record of the repeat, written instead of the event.
pub(super) struct Repeat {
    pub(super) original: Uuid,
    pub(super) record: Record,
}

/// Writes a record. An accepted event with a delivery id its webhook already stored is not
/// written: a duplicate record is, in the same commit, and the answer names the stored
/// event. Otherwise the id is recorded with the event.
pub(super) fn write_record(
    t: &mut Tables,
    record: &Record,
    value: &[u8],
    delivery: Option<(Uuid, &str)>,
) -> Result<Option<Repeat>, StoreError> {
    match record {
        Record::Accepted(e) => {
            if let Some((webhook, id)) = delivery {
                t.load_index()?;
                let key = delivery_key(webhook, id);
                // An id whose event was pruned is outside the retention window: new again.
                if let Some(original) = t.index.get(key)
                    && t.events.get(original)?.is_some()
                {
                    return repeat(t, e, webhook, id, Uuid::from_u128(original)).map(Some);
                }
                if t.defer {
                    t.index.defer(e.id.as_u128(), key);
                } else {
                    t.deliveries()?.insert(e.id.as_u128(), key)?;
                }
                t.index.insert(key, e.id.as_u128());
            }
            t.events.insert(e.id.as_u128(), value)?;
        }
        Record::Rejected(r) => {
            t.rejections.insert(r.id.as_u128(), value)?;
        }
    };
    Ok(None)
}

/// Records a repeat of a stored delivery, with the status its caller is answered: the
/// webhook's own success status, else 200.
fn repeat(
    t: &mut Tables,
    e: &Event,
    webhook: Uuid,
    delivery_id: &str,
    original: Uuid,
) -> Result<Repeat, StoreError> {
    let status = match t.webhooks.get(webhook.as_u128())? {
        Some(v) => codec::decode_json::<Webhook>(v.value())?
            .response
            .map(|r| r.status),
        None => None,
    };
    let r = Rejection::duplicate(e, original, delivery_id, status.unwrap_or(200));
    t.rejections
        .insert(r.id.as_u128(), codec::encode_json(&r)?.as_slice())?;
    Ok(Repeat {
        original,
        record: Record::Rejected(r),
    })
}

/// Creates or edits a webhook inside the batch's transaction. A refusal is an answer that
/// leaves the other operations of the batch alone; a storage error aborts the batch.
pub(super) fn put(t: &mut Tables, input: &WebhookInput) -> Result<PutAnswer, StoreError> {
    let uuid = input.uuid.unwrap_or_else(Uuid::new_v4);
    // Read from the table, not the cache: an earlier op of this batch may have changed it.
    let existing: Option<Webhook> = match t.webhooks.get(uuid.as_u128())? {
        Some(v) => Some(codec::decode_json(v.value())?),
        None => None,
    };
    let webhook = match input.apply(existing.as_ref(), uuid, now_ms()) {
        Ok(w) => w,
        Err(e) => return Ok(Err(PutError::Invalid(e))),
    };
    let owner = t.keys.get(webhook.event_key.as_str())?.map(|v| v.value());
    if let Some(o) = owner.filter(|o| *o != uuid.as_u128()) {
        let prefix = token_prefix(&Uuid::from_u128(o).to_string());
        return Ok(Err(PutError::Conflict(webhook.event_key, prefix)));
    }
    // Inserts first, the old key's removal last: nothing is removed for an insert that fails.
    t.webhooks
        .insert(uuid.as_u128(), codec::encode_json(&webhook)?.as_slice())?;
    t.keys.insert(webhook.event_key.as_str(), uuid.as_u128())?;
    if let Some(old) = &existing
        && old.event_key != webhook.event_key
    {
        t.keys.remove(old.event_key.as_str())?;
    }
    Ok(Ok(webhook))
}

pub(super) fn delete(t: &mut Tables, uuid: Uuid) -> Result<bool, StoreError> {
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
