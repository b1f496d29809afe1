//! The driver: owns the terminal, feeds the core messages from crossterm, the backend's live
//! feed, the effects it ran and a clock, performs the core's effects through the backend,
//! and redraws at most ~30 times a second, only when something changed.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::backend::{Backend, Live, LiveFeed, Local};
use super::clipboard;
use super::key::Key;
use super::msg::{Config, Effect, Link, Msg, Opened, PutFailure, SaveFailure, SearchStep};
use super::remote::Remote;
use super::state::Dashboard;
use crate::app::{
    ADDR_FILE, LOG_FILE, Running, prepare_data_dir, read_addr_file, shutdown_signal, store_locked,
};
use crate::cli::Options;
use crate::domain::Record;
use crate::domain::decode;
use crate::domain::time::now_ms;
use crate::domain::{EventFilter, Status};
use crate::remote::Api;
use crate::service::ServiceError;
use crate::store::{Cursor, PageQuery};

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);

/// Runs the dashboard: over this process's own receiver and store, or attached to the
/// server at `--remote`, or to the one that holds the data dir's store (§8).
pub async fn run(opts: &Options) -> Result<()> {
    if let Some(url) = &opts.remote {
        return attach(opts, url, opts.insecure).await;
    }
    prepare_data_dir(&opts.data)?;
    crate::logging::to_file(&opts.data.join(LOG_FILE))
        .with_context(|| format!("cannot open the log in {}", opts.data.display()))?;
    // The receiver's default limits.
    let running = match Running::start(opts, Default::default()).await {
        Ok(running) => running,
        Err(e) if store_locked(&e) => {
            let Some(url) = read_addr_file(&opts.data) else {
                return Err(e.context(format!(
                    "no {ADDR_FILE} in {} says where that process listens; attach with --remote URL",
                    opts.data.display()
                )));
            };
            tracing::info!(url, "dashboard attaching");
            // The server of this data dir listens on this machine.
            let insecure = opts.insecure || crate::remote::on_this_host(&url);
            return attach(opts, &url, insecure).await;
        }
        Err(e) => return Err(e),
    };
    let config = Config {
        listen_url: format!("http://{}", running.addr),
        public_url: running.ctx.public_url.clone(),
        read_only: opts.read_only,
        max_payload: opts.max_payload,
        color: color(),
    };
    tracing::info!("dashboard started");
    let backend = Local::new(running.ctx.clone());
    let result = on_terminal(config, backend, Link::Local).await;
    running.stop().await;
    tracing::info!("dashboard stopped");
    result
}

/// The dashboard over a running server's API; quitting leaves the server running.
async fn attach(opts: &Options, url: &str, insecure: bool) -> Result<()> {
    let key = crate::remote::admin_key(&opts.data)?;
    // Trusted as `hooktail command` trusts it: --cacert, else the server's own --tls-cert.
    let trusted = opts.cacert.as_deref().or(opts.tls_cert.as_deref());
    let api = Api::trusting(url, &key, insecure, trusted).map_err(anyhow::Error::msg)?;
    let backend = Remote::new(api);
    // Fails here, before the terminal is taken, when the server is down or refuses the key.
    let config = backend
        .config(opts.read_only, color())
        .await
        .with_context(|| format!("cannot attach to {url}"))?;
    on_terminal(config, backend, Link::Attached).await
}

/// Colour unless `NO_COLOR` is set to something.
fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

async fn on_terminal<B: Backend>(config: Config, backend: B, link: Link) -> Result<()> {
    // try_init also installs a panic hook that restores the terminal.
    let result = match ratatui::try_init() {
        Ok(mut terminal) => event_loop(&mut terminal, config, backend, link).await,
        Err(e) => Err(anyhow::Error::new(e).context("cannot set up the terminal")),
    };
    ratatui::restore();
    result
}

async fn event_loop<B: Backend>(
    terminal: &mut ratatui::DefaultTerminal,
    config: Config,
    backend: B,
    link: Link,
) -> Result<()> {
    let mut dashboard = Dashboard::new(config, now_ms());
    dashboard.utc_offset_s = local_offset_s();
    dashboard.link = link;
    let size = terminal.size()?;
    dashboard.update(Msg::Resize(size.width, size.height));
    let (tx, mut results) = mpsc::unbounded_channel::<Msg>();
    let mut live = backend.live();
    let mut keys = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signal = std::pin::pin!(shutdown_signal());
    let effects = dashboard.init();
    perform(effects, &backend, &tx, terminal)?;
    let mut dirty = true;
    loop {
        let msg = tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(TermEvent::Key(k))) => match Key::from_crossterm(k) {
                    Some(key) => Msg::Key(key),
                    None => continue,
                },
                Some(Ok(TermEvent::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            l = live.next() => match l {
                Some(l) => message(l),
                None => break,
            },
            Some(m) = results.recv() => m,
            _ = clock.tick() => Msg::Tick(now_ms()),
            _ = frames.tick(), if dirty => {
                terminal.draw(|f| super::view::draw(f, &dashboard))?;
                dirty = false;
                continue;
            }
            _ = &mut signal => break,
        };
        let fx = dashboard.update(msg);
        dirty = true;
        if perform(fx, &backend, &tx, terminal)? == Flow::Quit {
            break;
        }
    }
    Ok(())
}

/// The core's message for what the live feed said.
pub fn message(live: Live) -> Msg {
    match live {
        Live::Record(record) => Msg::Record(record),
        Live::Lagged => Msg::Lagged,
        Live::WebhooksChanged => Msg::WebhooksChanged,
        Live::Disconnected => Msg::Link(Link::Reconnecting),
        Live::Reconnected => Msg::Link(Link::Attached),
    }
}

#[derive(PartialEq)]
enum Flow {
    Go,
    Quit,
}

/// Runs each effect; backend calls run off the loop and answer with a message.
fn perform<B: Backend>(
    effects: Vec<Effect>,
    backend: &B,
    tx: &mpsc::UnboundedSender<Msg>,
    terminal: &mut ratatui::DefaultTerminal,
) -> Result<Flow> {
    let mut flow = Flow::Go;
    for effect in effects {
        match effect {
            Effect::Quit => flow = Flow::Quit,
            Effect::Copy(text) => {
                let seq = clipboard::osc52(&text, std::env::var_os("TMUX").is_some());
                terminal.backend_mut().write_all(&seq)?;
                terminal.backend_mut().flush()?;
            }
            effect => {
                let backend = backend.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(msg) = answer(&backend, effect).await {
                        let _ = tx.send(msg);
                    }
                });
            }
        }
    }
    Ok(flow)
}

/// Performs an effect that asks the backend something, and returns the core's message for
/// its answer; `None` for effects the driver performs itself (copy, quit). Bodies are
/// decoded here, on a blocking thread, so that the UI loop never does it.
pub async fn answer<B: Backend>(backend: &B, effect: Effect) -> Option<Msg> {
    let failed = |e: ServiceError| Msg::Error(e.to_string());
    let msg = match effect {
        Effect::LoadWebhooks => match backend.webhooks().await {
            Ok(list) => Msg::Webhooks(list.webhooks, list.stats),
            Err(e) => failed(e),
        },
        Effect::LoadCounts => match backend.counts().await {
            Ok(c) => Msg::Counts(c.accepted, c.rejected),
            Err(e) => failed(e),
        },
        Effect::LoadPage {
            generation,
            kind,
            query,
        } => match backend.page(query).await {
            Ok(records) => Msg::Page {
                generation,
                kind,
                records,
            },
            Err(e) => failed(e),
        },
        Effect::LoadRecord(id) => match backend.event(id).await {
            Ok(Some(record)) => {
                match tokio::task::spawn_blocking(move || Opened::decode(record)).await {
                    Ok(opened) => Msg::Detail(Some(Box::new(opened))),
                    Err(e) => Msg::Error(format!("cannot decode the event: {e}")),
                }
            }
            Ok(None) => Msg::Detail(None),
            Err(e) => failed(e),
        },
        Effect::Put(params) => {
            Msg::PutDone(backend.put_webhook(params.0).await.map_err(|e| match e {
                ServiceError::Conflict(m) => PutFailure::Conflict(m),
                e => PutFailure::Other(e.to_string()),
            }))
        }
        Effect::Delete(uuid) => Msg::DeleteDone(
            backend
                .delete_webhook(uuid)
                .await
                .map_err(|e| e.to_string()),
        ),
        Effect::LoadPipelines => Msg::Pipelines(backend.pipelines().await.map_err(text)),
        Effect::PutPipeline {
            name,
            yaml,
            enabled,
        } => Msg::PipelineSaved(
            backend
                .put_pipeline(name, yaml, enabled)
                .await
                .map_err(text),
        ),
        Effect::DeletePipeline(name) => Msg::PipelineDeleted(
            backend
                .delete_pipeline(name.clone())
                .await
                .map(|deleted| (name, deleted))
                .map_err(text),
        ),
        Effect::LoadRuns(event) => Msg::Runs(event, backend.runs_of(event).await.map_err(text)),
        Effect::RetryRun(id) => Msg::Retried(backend.retry_run(id).await.map_err(text)),
        Effect::SearchBodies {
            generation,
            text,
            before,
            limit,
        } => {
            let query = PageQuery {
                cursor: before.map_or(Cursor::Newest, Cursor::Before),
                filter: EventFilter::new(Some(Status::Accepted), None),
                limit,
                with_body: true,
            };
            match backend.page(query).await {
                Ok(records) => {
                    let step = move || SearchStep::run(generation, records, &text);
                    match tokio::task::spawn_blocking(step).await {
                        Ok(step) => Msg::SearchStep(step),
                        Err(e) => Msg::Error(format!("cannot search the bodies: {e}")),
                    }
                }
                Err(e) => failed(e),
            }
        }
        Effect::Fetch(id, act) => Msg::Fetched(act, backend.event(id).await.map_err(text)),
        Effect::Replay(id, how) => Msg::Replayed(backend.replay(id, how).await.map_err(text)),
        Effect::Save {
            id,
            file,
            path,
            overwrite,
        } => Msg::Saved(save(backend, id, file, path, overwrite).await),
        Effect::Copy(_) | Effect::Quit => return None,
    };
    Some(msg)
}

/// This machine's offset from UTC now, in seconds east, for `t`'s local times; 0 when the
/// C library cannot tell.
fn local_offset_s() -> i32 {
    // SAFETY: localtime_r writes only into the tm we pass, and is thread-safe.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            0
        } else {
            i32::try_from(tm.tm_gmtoff).unwrap_or(0)
        }
    }
}

fn text(e: ServiceError) -> String {
    e.to_string()
}

/// Writes an event's body, or its `file`-th multipart file, to `path`; an existing file only
/// when `overwrite`. Answers with the path and the bytes written.
async fn save<B: Backend>(
    backend: &B,
    id: uuid::Uuid,
    file: Option<usize>,
    path: String,
    overwrite: bool,
) -> Result<(String, usize), SaveFailure> {
    let other = |e: String| SaveFailure::Other(e);
    let record = backend.event(id).await.map_err(|e| other(e.to_string()))?;
    let Some(Record::Accepted(event)) = record else {
        return Err(other("that event is no longer stored".into()));
    };
    tokio::task::spawn_blocking(move || {
        let bytes = match file {
            None => &event.body[..],
            Some(n) => decode::file_bytes(event.content_type.as_deref(), &event.body, n)
                .ok_or_else(|| other("that file is not in the stored body".into()))?,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        let written = options.open(&path).and_then(|mut f| f.write_all(bytes));
        match written {
            Ok(()) => Ok((path, bytes.len())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(SaveFailure::Exists(path))
            }
            Err(e) => Err(other(format!("cannot write {path}: {e}"))),
        }
    })
    .await
    .map_err(|e| other(e.to_string()))?
}
