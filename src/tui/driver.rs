//! The driver: owns the terminal, feeds the App messages from crossterm, the event bus, the
//! effects it ran and a clock, performs the App's effects, and redraws at most ~30 times a
//! second, only when something changed.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::app::{App, Config, Effect, Msg, PutFailure};
use super::key::Key;
use crate::app::{LOG_FILE, Running, prepare_data_dir, shutdown_signal};
use crate::cli::Options;
use crate::domain::time::now_ms;
use crate::http::Limits;
use crate::store::{PutError, Store, StoreError};

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);

pub async fn run(opts: &Options) -> Result<()> {
    prepare_data_dir(&opts.data)?;
    crate::logging::to_file(&opts.data.join(LOG_FILE))
        .with_context(|| format!("cannot open the log in {}", opts.data.display()))?;
    let running = Running::start(opts, Limits::default()).await?;
    let config = Config {
        listen_url: format!("http://{}", running.addr),
        public_url: running.ctx.public_url.clone(),
        read_only: opts.read_only,
        max_payload: opts.max_payload,
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    tracing::info!("dashboard started");

    // try_init also installs a panic hook that restores the terminal.
    let result = match ratatui::try_init() {
        Ok(mut terminal) => event_loop(&mut terminal, config, &running.ctx).await,
        Err(e) => Err(anyhow::Error::new(e).context("cannot set up the terminal")),
    };
    ratatui::restore();

    running.stop().await;
    tracing::info!("dashboard stopped");
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    config: Config,
    ctx: &crate::commands::Ctx,
) -> Result<()> {
    let mut app = App::new(config, now_ms());
    let size = terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    let (tx, mut results) = mpsc::unbounded_channel::<Msg>();
    let mut bus = ctx.writer.subscribe();
    let mut webhooks_changed = ctx.writer.watch_webhooks();
    let mut keys = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signal = std::pin::pin!(shutdown_signal());
    let effects = app.init();
    perform(effects, ctx, &tx, terminal)?;
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
            r = bus.recv() => match r {
                Ok(record) => Msg::Record(record),
                Err(RecvError::Lagged(_)) => Msg::Lagged,
                Err(RecvError::Closed) => break,
            },
            Some(m) = results.recv() => m,
            Ok(()) = webhooks_changed.changed() => Msg::WebhooksChanged,
            _ = clock.tick() => Msg::Tick(now_ms()),
            _ = frames.tick(), if dirty => {
                terminal.draw(|f| super::view::draw(f, &app))?;
                dirty = false;
                continue;
            }
            _ = &mut signal => break,
        };
        let fx = app.update(msg);
        dirty = true;
        if perform(fx, ctx, &tx, terminal)? == Flow::Quit {
            break;
        }
    }
    Ok(())
}

#[derive(PartialEq)]
enum Flow {
    Go,
    Quit,
}

/// Runs each effect; store work runs off the loop and answers with a message.
fn perform(
    effects: Vec<Effect>,
    ctx: &crate::commands::Ctx,
    tx: &mpsc::UnboundedSender<Msg>,
    terminal: &mut ratatui::DefaultTerminal,
) -> Result<Flow> {
    let mut flow = Flow::Go;
    for effect in effects {
        let store = ctx.store.clone();
        let writer = ctx.writer.clone();
        let tx = tx.clone();
        match effect {
            Effect::Quit => flow = Flow::Quit,
            Effect::Copy(text) => {
                let seq = osc52(&text, std::env::var_os("TMUX").is_some());
                terminal.backend_mut().write_all(seq.as_bytes())?;
                terminal.backend_mut().flush()?;
            }
            Effect::LoadWebhooks
            | Effect::LoadCounts
            | Effect::LoadPage { .. }
            | Effect::LoadRecord(_) => {
                tokio::task::spawn_blocking(move || {
                    if let Some(msg) = read(&effect, &store) {
                        let _ = tx.send(msg.unwrap_or_else(|e| Msg::Error(e.to_string())));
                    }
                });
            }
            Effect::Put(input) => {
                tokio::spawn(async move {
                    let r = writer.put_webhook(input).await.map_err(|e| match e {
                        PutError::Conflict(_) => PutFailure::Conflict(e.to_string()),
                        e => PutFailure::Other(e.to_string()),
                    });
                    let _ = tx.send(Msg::PutDone(r));
                });
            }
            Effect::Delete(uuid) => {
                tokio::spawn(async move {
                    let r = writer.delete_webhook(uuid).await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::DeleteDone(r));
                });
            }
        }
    }
    Ok(flow)
}

/// Performs a read effect on the store (blocking); `None` for effects that are not reads.
pub fn read(effect: &Effect, store: &Store) -> Option<Result<Msg, StoreError>> {
    let msg = match effect {
        Effect::LoadWebhooks => store
            .webhook_stats()
            .map(|stats| Msg::Webhooks(store.webhooks(), stats)),
        Effect::LoadCounts => store.counts().map(|(a, r)| Msg::Counts(a, r)),
        Effect::LoadPage {
            generation,
            kind,
            query,
        } => store.page(query).map(|records| Msg::Page {
            generation: *generation,
            kind: *kind,
            records,
        }),
        Effect::LoadRecord(id) => store.record(id).map(|r| Msg::Detail(r.map(Box::new))),
        _ => return None,
    };
    Some(msg)
}

/// The OSC 52 "set clipboard" sequence, wrapped for tmux's passthrough when inside tmux.
pub fn osc52(text: &str, in_tmux: bool) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text);
    let seq = format!("\x1b]52;c;{b64}\x07");
    if in_tmux {
        format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
    } else {
        seq
    }
}

#[cfg(test)]
mod tests {
    use super::osc52;

    #[test]
    fn osc52_sets_the_clipboard_and_passes_through_tmux() {
        assert_eq!(osc52("hi", false), "\x1b]52;c;aGk=\x07");
        assert_eq!(osc52("hi", true), "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
    }
}
