//! Pipelines, their runs and their delivery cursors (§6).
//!
//! Pipeline writes are rare and run writes come in batches, so these commit in their own
//! durable transactions rather than through the ingest writer; redb serialises them with it.

use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::{EVENTS, Store, StoreError, codec};
use crate::domain::pipeline::{From, PipelineRecord, Run, RunStats, RunStatus, RunSummary};
use crate::domain::time::now_ms;
use crate::domain::{Event, EventKeyPattern};

// pipelines_v1: key = pipeline name; value = JSON of domain::run::PipelineRecord (its document,
//               its cursor, its pending run and its run counts).
pub(super) const PIPELINES: TableDefinition<&str, &[u8]> = TableDefinition::new("pipelines_v1");
// runs_v1: key = run id, a v7 uuid as u128; value = JSON of domain::run::Run.
pub(super) const RUNS: TableDefinition<u128, &[u8]> = TableDefinition::new("runs_v1");
// runs_by_event_v1: key = (event id, run id) as u128s; value = nothing. Finds an event's
//                   runs, and prunes runs with their events (oldest event first).
pub(super) const RUNS_BY_EVENT: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("runs_by_event_v1");

/// What `requeue` did.
#[derive(Debug)]
pub enum Requeue {
    Queued(Box<Run>),
    NotFound,
    NotRetryable(RunStatus),
    /// Its pipeline is deleted or disabled.
    PipelineGone,
}

/// A pipeline to create or replace.
#[derive(Debug, Clone)]
pub struct PipelineInput {
    pub name: String,
    pub yaml: String,
    pub event_key: String,
    pub enabled: bool,
    /// Used only when the pipeline is created.
    pub from: From,
}

/// Which runs `run.list` wants.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub pipeline: Option<String>,
    pub event_id: Option<Uuid>,
    pub status: Option<RunStatus>,
    pub before: Option<Uuid>,
    pub limit: usize,
}

/// How a batch of runs moves its pipeline on.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The newest event now done with, when the batch moved the cursor.
    pub cursor: Option<Uuid>,
    /// `Some(x)` sets the pending run to x.
    pub pending: Option<Option<Uuid>>,
    /// A run taken off the queue of runs retried by hand (see [`Store::requeue`]).
    pub unqueue: Option<Uuid>,
    /// Commit without waiting for the disk: the next durable commit (any, ingest's included)
    /// makes it durable; a crash before that only means these runs run again.
    pub lazy: bool,
}

impl Store {
    pub fn pipelines(&self) -> Result<Vec<PipelineRecord>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(PIPELINES)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (_, v) = row?;
                out.push(codec::decode_json(v.value())?);
            }
            Ok(out)
        })
    }

    pub fn pipeline(&self, name: &str) -> Result<Option<PipelineRecord>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(PIPELINES)?;
            table
                .get(name)?
                .map(|v| codec::decode_json(v.value()))
                .transpose()
        })
    }

    /// Creates or replaces a pipeline's document. A replaced pipeline keeps its cursor, its
    /// pending run and its counts.
    pub fn put_pipeline(&self, input: PipelineInput) -> Result<PipelineRecord, StoreError> {
        self.with_db(|db| {
            let txn = durable_write(db)?;
            let record = {
                let mut table = txn.open_table(PIPELINES)?;
                let existing: Option<PipelineRecord> = table
                    .get(input.name.as_str())?
                    .map(|v| codec::decode_json(v.value()))
                    .transpose()?;
                let now = now_ms();
                let record = match existing {
                    Some(old) => PipelineRecord {
                        yaml: input.yaml,
                        event_key: input.event_key,
                        enabled: input.enabled,
                        updated_at: now,
                        ..old
                    },
                    None => PipelineRecord {
                        name: input.name.clone(),
                        yaml: input.yaml,
                        event_key: input.event_key,
                        enabled: input.enabled,
                        created_at: now,
                        updated_at: now,
                        cursor: match input.from {
                            From::Earliest => Uuid::nil(),
                            // Every event id made from now on sorts after this one.
                            From::Now => Uuid::now_v7(),
                        },
                        pending: None,
                        queued: Vec::new(),
                        stats: RunStats::default(),
                        last_run: None,
                    },
                };
                table.insert(input.name.as_str(), codec::encode_json(&record)?.as_slice())?;
                record
            };
            txn.commit()?;
            Ok(record)
        })
    }

    /// Removes a pipeline. Its runs stay until they are pruned with their events.
    pub fn delete_pipeline(&self, name: &str) -> Result<bool, StoreError> {
        self.with_db(|db| {
            let txn = durable_write(db)?;
            let existed = txn.open_table(PIPELINES)?.remove(name)?.is_some();
            txn.commit()?;
            Ok(existed)
        })
    }

    pub fn run(&self, id: &Uuid) -> Result<Option<Run>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(RUNS)?;
            table
                .get(id.as_u128())?
                .map(|v| codec::decode_json(v.value()))
                .transpose()
        })
    }

    /// Runs, newest first.
    pub fn runs(&self, q: &RunQuery) -> Result<Vec<Run>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let runs = txn.open_table(RUNS)?;
            let keep = |r: &Run| {
                q.pipeline.as_ref().is_none_or(|p| &r.pipeline == p)
                    && q.status.is_none_or(|s| r.status == s)
                    && q.before.is_none_or(|b| r.id < b)
            };
            let mut out = Vec::new();
            if let Some(event) = q.event_id {
                let index = txn.open_table(RUNS_BY_EVENT)?;
                let e = event.as_u128();
                for row in index.range((e, 0)..=(e, u128::MAX))?.rev() {
                    let (k, _) = row?;
                    if let Some(v) = runs.get(k.value().1)? {
                        let run: Run = codec::decode_json(v.value())?;
                        if keep(&run) {
                            out.push(run);
                        }
                    }
                    if out.len() >= q.limit {
                        break;
                    }
                }
                return Ok(out);
            }
            let upper = q.before.map_or(u128::MAX, |b| b.as_u128());
            for row in runs.range(..upper)?.rev() {
                let (_, v) = row?;
                let run: Run = codec::decode_json(v.value())?;
                if keep(&run) {
                    out.push(run);
                    if out.len() >= q.limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    /// Stores runs (new or updated) and moves their pipeline on, in one durable commit. A
    /// pipeline deleted meanwhile keeps the runs but nothing else.
    pub fn commit_runs(
        &self,
        pipeline: &str,
        batch: &[Run],
        progress: Progress,
    ) -> Result<(), StoreError> {
        self.with_db(|db| {
            let mut txn = durable_write(db)?;
            if progress.lazy {
                txn.set_durability(Durability::None)?;
            }
            {
                let mut runs = txn.open_table(RUNS)?;
                let mut index = txn.open_table(RUNS_BY_EVENT)?;
                let mut pipelines = txn.open_table(PIPELINES)?;
                let mut record: Option<PipelineRecord> = pipelines
                    .get(pipeline)?
                    .map(|v| codec::decode_json(v.value()))
                    .transpose()?;
                for run in batch {
                    let old: Option<Run> = runs
                        .insert(run.id.as_u128(), codec::encode_json(run)?.as_slice())?
                        .map(|v| codec::decode_json(v.value()))
                        .transpose()?;
                    index.insert((run.event_id.as_u128(), run.id.as_u128()), ())?;
                    if let Some(p) = record.as_mut() {
                        if let Some(old) = old {
                            count(&mut p.stats, old.status, -1);
                        }
                        count(&mut p.stats, run.status, 1);
                        p.last_run = Some(RunSummary {
                            id: run.id,
                            status: run.status,
                            finished_at: run.finished_at,
                        });
                    }
                }
                if let Some(mut p) = record {
                    if let Some(c) = progress.cursor {
                        p.cursor = p.cursor.max(c);
                    }
                    if let Some(pending) = progress.pending {
                        p.pending = pending;
                    }
                    if let Some(id) = progress.unqueue {
                        p.queued.retain(|q| *q != id);
                    }
                    pipelines.insert(pipeline, codec::encode_json(&p)?.as_slice())?;
                }
            }
            txn.commit()?;
            Ok(())
        })
    }

    /// Queues a failed or dead run again for its pipeline, checking and writing in one
    /// transaction, so that concurrent retries of one run queue it once.
    pub fn requeue(&self, id: Uuid) -> Result<Requeue, StoreError> {
        self.with_db(|db| {
            let txn = durable_write(db)?;
            let answer = {
                let mut runs = txn.open_table(RUNS)?;
                let mut pipelines = txn.open_table(PIPELINES)?;
                let run: Option<Run> = runs
                    .get(id.as_u128())?
                    .map(|v| codec::decode_json(v.value()))
                    .transpose()?;
                let Some(mut run) = run else {
                    return Ok(Requeue::NotFound);
                };
                if !matches!(run.status, RunStatus::Failed | RunStatus::Dead) {
                    return Ok(Requeue::NotRetryable(run.status));
                }
                let record: Option<PipelineRecord> = pipelines
                    .get(run.pipeline.as_str())?
                    .map(|v| codec::decode_json(v.value()))
                    .transpose()?;
                let Some(mut p) = record.filter(|p| p.enabled) else {
                    return Ok(Requeue::PipelineGone);
                };
                count(&mut p.stats, run.status, -1);
                run.status = RunStatus::Queued;
                run.next_attempt_at = None;
                if !p.queued.contains(&id) {
                    p.queued.push(id);
                }
                runs.insert(id.as_u128(), codec::encode_json(&run)?.as_slice())?;
                pipelines.insert(p.name.as_str(), codec::encode_json(&p)?.as_slice())?;
                Requeue::Queued(Box::new(run))
            };
            txn.commit()?;
            Ok(answer)
        })
    }

    /// Makes every commit before it durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.with_db(|db| {
            durable_write(db)?.commit()?;
            Ok(())
        })
    }

    /// Accepted events after `cursor` whose eventKey matches, oldest first, with bodies.
    pub fn events_after(
        &self,
        cursor: Uuid,
        pattern: &EventKeyPattern,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let mut out = Vec::new();
            let from = (
                std::ops::Bound::Excluded(cursor.as_u128()),
                std::ops::Bound::Unbounded,
            );
            for row in events.range::<u128>(from)? {
                let (k, v) = row?;
                let matched = codec::event_summary(v.value())
                    .map(|s| s.event_key.is_some_and(|key| pattern.matches(key)));
                match matched {
                    Ok(false) => continue,
                    Ok(true) => match codec::decode_event(v.value(), true) {
                        Ok(e) => out.push(e),
                        Err(e) => skip_unreadable(k.value(), e),
                    },
                    Err(e) => skip_unreadable(k.value(), e),
                }
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// Matching accepted events after `cursor`: how far a pipeline lags.
    pub fn lag(&self, cursor: Uuid, pattern: &EventKeyPattern) -> Result<u64, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let from = (
                std::ops::Bound::Excluded(cursor.as_u128()),
                std::ops::Bound::Unbounded,
            );
            let mut n = 0;
            for row in events.range::<u128>(from)? {
                let (_, v) = row?;
                if codec::event_summary(v.value())
                    .is_ok_and(|s| s.event_key.is_some_and(|key| pattern.matches(key)))
                {
                    n += 1;
                }
            }
            Ok(n)
        })
    }
}

/// Removes up to `max` runs whose events are older than every stored event. Returns how many.
pub(super) fn prune_runs(txn: &WriteTransaction, max: u64) -> Result<u64, StoreError> {
    let oldest_event = txn
        .open_table(EVENTS)?
        .first()?
        .map_or(u128::MAX, |(k, _)| k.value());
    let mut index = txn.open_table(RUNS_BY_EVENT)?;
    let mut runs = txn.open_table(RUNS)?;
    let mut removed = 0;
    while removed < max {
        let Some((event, run)) = index.first()?.map(|(k, _)| k.value()) else {
            break;
        };
        if event >= oldest_event {
            break;
        }
        index.remove((event, run))?;
        runs.remove(run)?;
        removed += 1;
    }
    Ok(removed)
}

fn count(stats: &mut RunStats, status: RunStatus, by: i64) {
    let slot = match status {
        RunStatus::Ok => &mut stats.ok,
        RunStatus::Failed => &mut stats.failed,
        RunStatus::Dead => &mut stats.dead,
        RunStatus::Queued | RunStatus::Running => return,
    };
    *slot = slot.saturating_add_signed(by);
}

fn durable_write(db: &redb::Database) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    Ok(txn)
}

fn skip_unreadable(id: u128, e: StoreError) {
    tracing::warn!(id = %Uuid::from_u128(id), "skipping an unreadable record: {e}");
}
