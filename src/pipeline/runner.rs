//! Delivery (§6): one task per enabled pipeline runs the events its pattern matches, in
//! order, at least once. Its cursor and its runs are committed together after each batch,
//! so a restart resumes where the last commit left off, and a run cut off by a crash runs
//! again. A run waiting on a retry holds its pipeline (order) and survives a restart, since
//! it is stored as the pipeline's pending run with the time of its next attempt.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::domain::pipeline::{PipelineRecord, Run, RunState, RunStatus, StepLog};
use crate::domain::time::now_ms;
use crate::domain::{Event, EventKeyPattern, Record};
use crate::store::{Progress, Requeue, Store, StoreError};

/// Most events one batch runs before its runs and cursor are committed.
const BATCH: usize = 1024;
/// Longest a batch runs before it is committed, so that progress shows under load.
const BATCH_TIME: Duration = Duration::from_millis(250);
/// Batches of runs are committed without a disk sync unless the last sync is this old; the
/// runs of a crash's last second then run again (at least once), and pipelines do not add a
/// sync per batch to ingest's.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// How long a task waits before trying again after a storage error.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// What one attempt of a run came to.
#[derive(Debug, Clone)]
pub enum Attempt {
    Ok {
        steps: Vec<StepLog>,
    },
    /// It failed and a retry is due after `delay`, starting from `resume`.
    Retry {
        steps: Vec<StepLog>,
        error: String,
        delay: Duration,
        resume: RunState,
    },
    /// It failed for good; a retry by hand starts from `resume`.
    Dead {
        steps: Vec<StepLog>,
        error: String,
        resume: Option<RunState>,
    },
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs pipeline documents. The runner knows nothing of steps; this does.
pub trait Execute: Send + Sync + 'static {
    /// A document made ready to run.
    type Program: Send + Sync + 'static;

    /// Compiles a stored document (validated when it was put), with its listen pattern.
    fn compile(&self, yaml: &str) -> Result<(Self::Program, EventKeyPattern), String>;

    /// One attempt on one event, from the start or from where a failed attempt left off.
    /// `attempt` counts from 1.
    fn attempt<'a>(
        &'a self,
        program: &'a Self::Program,
        pipeline: &'a str,
        event: &'a Event,
        resume: Option<&'a RunState>,
        attempt: u32,
    ) -> BoxFuture<'a, Attempt>;
}

/// Run outcomes for `/metrics`.
pub trait Observe: Send + Sync + 'static {
    fn run_finished(&self, pipeline: &str, status: RunStatus, steps: &[StepLog]);
}

/// A handle to the running delivery. Cloning is cheap.
pub struct Runner<E: Execute> {
    inner: Arc<Inner<E>>,
}

impl<E: Execute> Clone for Runner<E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<E: Execute> {
    store: Arc<Store>,
    exec: E,
    observe: Box<dyn Observe>,
    /// Bumped whenever events were committed.
    events: watch::Receiver<u64>,
    /// Woken when pipelines were put or deleted.
    changed: Notify,
    shutdown: watch::Receiver<bool>,
    /// Bumped when a run was queued by hand, to wake its pipeline's task.
    kick: watch::Sender<u64>,
    /// When runs were last committed durably, and whether lazy commits came since.
    synced: std::sync::Mutex<(Instant, bool)>,
}

impl<E: Execute> Runner<E> {
    /// Starts delivery. `events` changes after every commit that stored events; `shutdown`
    /// turns true to stop (tasks finish the run in hand, then stop).
    pub fn start(
        store: Arc<Store>,
        exec: E,
        observe: Box<dyn Observe>,
        events: watch::Receiver<u64>,
        shutdown: watch::Receiver<bool>,
    ) -> (Runner<E>, tokio::task::JoinHandle<()>) {
        let inner = Arc::new(Inner {
            store,
            exec,
            observe,
            events,
            changed: Notify::new(),
            shutdown,
            kick: watch::Sender::new(0),
            synced: std::sync::Mutex::new((Instant::now(), false)),
        });
        let handle = tokio::spawn(supervise(inner.clone()));
        (Runner { inner }, handle)
    }

    /// Tells the runner that pipelines were put or deleted.
    pub fn pipelines_changed(&self) {
        self.inner.changed.notify_one();
    }

    pub fn executor(&self) -> &E {
        &self.inner.exec
    }

    /// Runs a pipeline once now on a stored event, outside its cursor, and stores the run.
    pub async fn run_once(&self, pipeline: &PipelineRecord, event: &Event) -> Result<Run, String> {
        let (program, _) = self.inner.exec.compile(&pipeline.yaml)?;
        let mut run = new_run(&pipeline.name, pipeline.updated_at, event.id);
        attempt(&self.inner, &program, &mut run, event, None).await;
        if run.status == RunStatus::Failed {
            // A run by hand is not retried on a timer: it waits for run.retry.
            run.status = RunStatus::Dead;
            run.next_attempt_at = None;
        }
        let store = self.inner.store.clone();
        let (name, stored) = (pipeline.name.clone(), run.clone());
        blocking(move || store.commit_runs(&name, &[stored], Progress::default()))
            .await
            .map_err(|e| e.to_string())?;
        self.inner
            .observe
            .run_finished(&run.pipeline, run.status, &run.steps);
        Ok(run)
    }

    /// Queues a failed or dead run again; its pipeline's task runs it next, ahead of new
    /// events. The queue is stored with the pipeline, so it survives a restart.
    pub async fn retry(&self, id: Uuid) -> Result<Run, RetryError> {
        let store = self.inner.store.clone();
        let run = match blocking(move || store.requeue(id))
            .await
            .map_err(RetryError::Store)?
        {
            Requeue::Queued(run) => *run,
            Requeue::NotFound => return Err(RetryError::NotFound),
            Requeue::NotRetryable(status) => return Err(RetryError::NotRetryable(status)),
            Requeue::PipelineGone => return Err(RetryError::PipelineGone),
        };
        self.inner.kick.send_modify(|k| *k += 1);
        Ok(run)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no such run")]
    NotFound,
    #[error("only a failed or dead run can be retried; this one is {}", .0.as_str())]
    NotRetryable(RunStatus),
    #[error("its pipeline is deleted or disabled")]
    PipelineGone,
    #[error(transparent)]
    Store(StoreError),
}

/// Keeps one task per enabled pipeline, restarting a task when its pipeline changes.
async fn supervise<E: Execute>(inner: Arc<Inner<E>>) {
    // name -> (updatedAt it runs, its stop switch, its task)
    let mut tasks: HashMap<String, (i64, watch::Sender<bool>, tokio::task::JoinHandle<()>)> =
        HashMap::new();
    let mut shutdown = inner.shutdown.clone();
    loop {
        let store = inner.store.clone();
        match blocking(move || store.pipelines()).await {
            Ok(pipelines) => {
                let wanted: HashMap<String, PipelineRecord> = pipelines
                    .into_iter()
                    .filter(|p| p.enabled)
                    .map(|p| (p.name.clone(), p))
                    .collect();
                tasks.retain(|name, (updated, stop, _)| {
                    let keep = wanted.get(name).is_some_and(|p| p.updated_at == *updated);
                    if !keep {
                        let _ = stop.send(true);
                    }
                    keep
                });
                for (name, p) in wanted {
                    if tasks.contains_key(&name) {
                        continue;
                    }
                    let (stop, stopped) = watch::channel(false);
                    let task = tokio::spawn(deliver(inner.clone(), p.clone(), stopped));
                    tasks.insert(name, (p.updated_at, stop, task));
                }
            }
            Err(e) => tracing::error!("cannot read the pipelines: {e}"),
        }
        tokio::select! {
            _ = inner.changed.notified() => {}
            _ = turns_true(&mut shutdown) => break,
        }
    }
    for (_, (_, stop, task)) in tasks {
        let _ = stop.send(true);
        let _ = task.await;
    }
}

/// One pipeline's delivery loop.
async fn deliver<E: Execute>(
    inner: Arc<Inner<E>>,
    pipeline: PipelineRecord,
    mut stopped: watch::Receiver<bool>,
) {
    let name = pipeline.name.clone();
    let (program, pattern) = match inner.exec.compile(&pipeline.yaml) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(pipeline = %name, "pipeline does not compile, not running it: {e}");
            return;
        }
    };
    let mut events = inner.events.clone();
    let mut kicks = inner.kick.subscribe();
    let mut shutdown = inner.shutdown.clone();
    loop {
        // Mark what has been committed so far as seen before reading, so that no wake-up
        // is missed between the read and the wait.
        let _ = events.borrow_and_update();
        let _ = kicks.borrow_and_update();
        // A stop cuts off the run in hand: it was not committed, so it runs again after the
        // next start (at least once), and a step that hangs cannot hold up a shutdown.
        let step = tokio::select! {
            step = step_once(&inner, &name, pipeline.updated_at, &program, &pattern) => step,
            _ = turns_true(&mut stopped) => break,
            _ = turns_true(&mut shutdown) => break,
        };
        let wait = match step {
            Ok(Next::Again) => continue,
            Ok(Next::Until(due)) => due,
            Ok(Next::Idle) => {
                if let Err(e) = sync(&inner).await {
                    tracing::error!(pipeline = %name, "cannot sync the runs: {e}");
                }
                Duration::MAX
            }
            Err(e) => {
                tracing::error!(pipeline = %name, "delivery paused by a storage error: {e}");
                STORE_RETRY
            }
        };
        let sleep = tokio::time::sleep(wait.min(Duration::from_secs(86_400)));
        tokio::select! {
            _ = sleep => {}
            _ = events.changed() => {}
            _ = kicks.changed() => {}
            _ = turns_true(&mut stopped) => break,
            _ = turns_true(&mut shutdown) => break,
        }
    }
}

enum Next {
    /// There may be more to do now.
    Again,
    /// A retry is due after this long.
    Until(Duration),
    /// Nothing to do until new events arrive.
    Idle,
}

async fn step_once<E: Execute>(
    inner: &Arc<Inner<E>>,
    name: &str,
    version: i64,
    program: &E::Program,
    pattern: &EventKeyPattern,
) -> Result<Next, StoreError> {
    let store = inner.store.clone();
    let owned = name.to_string();
    let Some(record) = blocking(move || store.pipeline(&owned)).await? else {
        return Ok(Next::Idle);
    };
    if let Some(&id) = record.queued.first() {
        retry_by_hand(inner, name, version, program, id).await?;
        return Ok(Next::Again);
    }
    if let Some(id) = record.pending {
        return pending(inner, name, version, program, id).await;
    }
    let store = inner.store.clone();
    let (cursor, p) = (record.cursor, pattern.clone());
    let events = blocking(move || store.events_after(cursor, &p, BATCH)).await?;
    if events.is_empty() {
        return Ok(Next::Idle);
    }
    let mut batch = Vec::new();
    let mut started = Instant::now();
    for event in &events {
        // Let ingest's tasks in between: steps such as `log` never wait, and a batch of them
        // would otherwise hold this worker thread for its whole length.
        tokio::task::yield_now().await;
        let mut run = new_run(name, version, event.id);
        attempt(inner, program, &mut run, event, None).await;
        let waits = run.status == RunStatus::Failed;
        batch.push(run);
        if waits || batch.len() >= BATCH || started.elapsed() >= BATCH_TIME {
            let pending = waits.then(|| batch.last().map(|r| r.id)).flatten();
            commit(inner, name, std::mem::take(&mut batch), event.id, pending).await?;
            started = Instant::now();
            if waits {
                return Ok(Next::Again);
            }
        }
    }
    if let Some(last) = batch.last().map(|r| r.event_id) {
        commit(inner, name, batch, last, None).await?;
    }
    Ok(Next::Again)
}

/// The pipeline's pending run: wait for its retry, or run it (again, if a crash cut it off).
async fn pending<E: Execute>(
    inner: &Arc<Inner<E>>,
    name: &str,
    version: i64,
    program: &E::Program,
    id: Uuid,
) -> Result<Next, StoreError> {
    let store = inner.store.clone();
    let run = blocking(move || store.run(&id)).await?;
    let Some(mut run) = run.filter(|r| !r.status.is_final()) else {
        // Finished meanwhile (say, retried by hand): the pipeline goes on.
        let store = inner.store.clone();
        let owned = name.to_string();
        blocking(move || {
            store.commit_runs(
                &owned,
                &[],
                Progress {
                    pending: Some(None),
                    ..Progress::default()
                },
            )
        })
        .await?;
        return Ok(Next::Again);
    };
    if let Some(due) = run.next_attempt_at {
        let wait = due - now_ms();
        if wait > 0 {
            return Ok(Next::Until(Duration::from_millis(wait as u64)));
        }
    }
    let store = inner.store.clone();
    let event_id = run.event_id;
    let event = match blocking(move || store.record(&event_id)).await? {
        Some(Record::Accepted(e)) => Some(e),
        _ => None,
    };
    match event {
        Some(event) => {
            let resume = resume_point(&mut run, version);
            attempt(inner, program, &mut run, &event, resume.as_ref()).await;
        }
        None => fail_for_good(&mut run, "its event is no longer stored".into()),
    }
    let still = (run.status == RunStatus::Failed).then_some(run.id);
    let store = inner.store.clone();
    let owned = name.to_string();
    let stored = run.clone();
    blocking(move || {
        store.commit_runs(
            &owned,
            &[stored],
            Progress {
                pending: Some(still),
                ..Progress::default()
            },
        )
    })
    .await?;
    if run.status.is_final() {
        inner
            .observe
            .run_finished(&run.pipeline, run.status, &run.steps);
    }
    Ok(Next::Again)
}

/// Runs a run queued by `run.retry`, outside the pipeline's order, and takes it off the
/// queue in the same commit.
async fn retry_by_hand<E: Execute>(
    inner: &Arc<Inner<E>>,
    name: &str,
    version: i64,
    program: &E::Program,
    id: Uuid,
) -> Result<(), StoreError> {
    let store = inner.store.clone();
    let run = blocking(move || store.run(&id)).await?;
    let mut batch = Vec::new();
    if let Some(mut run) = run.filter(|r| r.status == RunStatus::Queued) {
        let store = inner.store.clone();
        let event_id = run.event_id;
        match blocking(move || store.record(&event_id)).await? {
            Some(Record::Accepted(event)) => {
                let resume = resume_point(&mut run, version);
                attempt(inner, program, &mut run, &event, resume.as_ref()).await;
                if run.status == RunStatus::Failed {
                    // Retried by hand: one attempt, then it waits for the next retry by hand.
                    run.status = RunStatus::Dead;
                    run.next_attempt_at = None;
                }
            }
            _ => fail_for_good(&mut run, "its event is no longer stored".into()),
        }
        batch.push(run);
    }
    let store = inner.store.clone();
    let owned = name.to_string();
    let runs = batch.clone();
    blocking(move || {
        store.commit_runs(
            &owned,
            &runs,
            Progress {
                unqueue: Some(id),
                ..Progress::default()
            },
        )
    })
    .await?;
    for run in &batch {
        inner
            .observe
            .run_finished(&run.pipeline, run.status, &run.steps);
    }
    Ok(())
}

async fn commit<E: Execute>(
    inner: &Arc<Inner<E>>,
    name: &str,
    batch: Vec<Run>,
    cursor: Uuid,
    pending: Option<Uuid>,
) -> Result<(), StoreError> {
    let lazy = pending.is_none() && {
        let mut synced = inner.synced.lock().unwrap_or_else(|e| e.into_inner());
        let lazy = synced.0.elapsed() < SYNC_EVERY;
        *synced = if lazy {
            (synced.0, true)
        } else {
            (Instant::now(), false)
        };
        lazy
    };
    let store = inner.store.clone();
    let owned = name.to_string();
    let runs = batch.clone();
    blocking(move || {
        store.commit_runs(
            &owned,
            &runs,
            Progress {
                cursor: Some(cursor),
                pending: Some(pending),
                lazy,
                ..Progress::default()
            },
        )
    })
    .await?;
    for run in batch.iter().filter(|r| r.status.is_final()) {
        inner
            .observe
            .run_finished(&run.pipeline, run.status, &run.steps);
    }
    Ok(())
}

/// Makes lazily committed runs durable, when there are any; called when a task runs out of
/// work, so that an idle server holds nothing that a crash could take back.
async fn sync<E: Execute>(inner: &Arc<Inner<E>>) -> Result<(), StoreError> {
    let dirty = {
        let mut synced = inner.synced.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut synced.1, false)
    };
    if dirty {
        let store = inner.store.clone();
        blocking(move || store.sync()).await?;
        inner.synced.lock().unwrap_or_else(|e| e.into_inner()).0 = Instant::now();
    }
    Ok(())
}

/// Where a run's next attempt starts: where the last one failed, unless the pipeline was
/// edited since (its steps are counted by position), then from the start.
fn resume_point(run: &mut Run, version: i64) -> Option<RunState> {
    let resume = run.resume.take();
    if run.version == version {
        return resume;
    }
    run.version = version;
    None
}

fn new_run(pipeline: &str, version: i64, event: Uuid) -> Run {
    Run {
        id: Uuid::now_v7(),
        pipeline: pipeline.to_string(),
        version,
        event_id: event,
        status: RunStatus::Queued,
        attempts: 0,
        queued_at: now_ms(),
        started_at: None,
        finished_at: None,
        duration_ms: None,
        error: None,
        steps: Vec::new(),
        next_attempt_at: None,
        resume: None,
    }
}

/// One attempt, recorded on the run.
async fn attempt<E: Execute>(
    inner: &Inner<E>,
    program: &E::Program,
    run: &mut Run,
    event: &Event,
    resume: Option<&RunState>,
) {
    run.attempts += 1;
    run.status = RunStatus::Running;
    let started = Instant::now();
    run.started_at = Some(now_ms());
    let outcome = inner
        .exec
        .attempt(program, &run.pipeline, event, resume, run.attempts)
        .await;
    run.finished_at = Some(now_ms());
    run.duration_ms = Some(started.elapsed().as_millis() as u64);
    match outcome {
        Attempt::Ok { steps } => {
            run.steps = steps;
            run.status = RunStatus::Ok;
            run.error = None;
            run.resume = None;
            run.next_attempt_at = None;
        }
        Attempt::Retry {
            steps,
            error,
            delay,
            resume,
        } => {
            run.steps = steps;
            run.status = RunStatus::Failed;
            run.error = Some(error);
            run.resume = Some(resume);
            run.next_attempt_at = Some(now_ms() + delay.as_millis() as i64);
        }
        Attempt::Dead {
            steps,
            error,
            resume,
        } => {
            run.steps = steps;
            fail_for_good(run, error);
            run.resume = resume;
        }
    }
}

fn fail_for_good(run: &mut Run, error: String) {
    run.status = RunStatus::Dead;
    run.error = Some(error);
    run.next_attempt_at = None;
}

/// Runs store work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Corrupt(format!("a store task failed: {e}")))?
}

/// Resolves once the switch is on.
async fn turns_true(switch: &mut watch::Receiver<bool>) {
    let _ = switch.wait_for(|on| *on).await;
}
