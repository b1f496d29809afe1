//! The dashboard's pure core: `Dashboard::update(msg) -> effects`. It never touches the
//! terminal, the store or the clock; the driver feeds it messages and performs the effects
//! it returns. Keys go to the open popup, else to the focused pane when the binding is that
//! pane's own, else to the core's global actions, which hand movement and the rest on to the
//! focused pane.

use std::sync::Arc;

use super::clipboard;
use super::curl;
use super::key::Key;
use super::keymap::{self, Access, Action, PaneId, Scope};
use super::layout;
use super::list::PageKind;
use super::msg::{Config, Effect, EventAct, Link, Msg, PutFailure, SaveFailure};
use super::panes::{Cx, Notice, Panes, Reply};
use super::popups::{Confirm, Form, Help, Popup, Prompt, Purpose};
use super::text::Times;
use crate::domain::{Event, Record, WebhookView};
use crate::service::PipelineView;
use crate::service::replay::{Replay, Replayed};

/// Seconds between reloads of the stored counts.
const COUNTS_EVERY_S: i64 = 10;
/// How long a toast stays, in ms.
const TOAST_MS: i64 = 3000;

pub struct Dashboard {
    pub config: Config,
    pub now_ms: i64,
    pub size: (u16, u16),
    pub focus: PaneId,
    pub popup: Option<Popup>,
    pub panes: Panes,
    /// Accepted and rejected records stored.
    pub counts: (u64, u64),
    /// Arrivals since the last tick, and when that tick was, in ms.
    arrivals_now: u64,
    last_tick_ms: i64,
    /// Events per second over the last tick's interval.
    rate: f64,
    /// How times show, and the local offset from UTC in seconds (the driver reads it).
    pub times: Times,
    pub utc_offset_s: i32,
    /// A short message and when it goes, in ms.
    pub toast: Option<(String, i64)>,
    /// This process's store, or an attached server and whether it answers.
    pub link: Link,
    /// The URL an event was last forwarded to, offered again by `F`.
    pub last_forward_url: String,
}

impl Dashboard {
    pub fn new(config: Config, now_ms: i64) -> Dashboard {
        Dashboard {
            config,
            now_ms,
            size: (80, 24),
            focus: PaneId::Events,
            popup: None,
            panes: Panes::default(),
            counts: (0, 0),
            arrivals_now: 0,
            last_tick_ms: now_ms,
            rate: 0.0,
            times: Times::Utc,
            utc_offset_s: 0,
            toast: None,
            link: Link::Local,
            last_forward_url: String::new(),
        }
    }

    /// What to load at start.
    pub fn init(&mut self) -> Vec<Effect> {
        let mut fx = vec![
            Effect::LoadWebhooks,
            Effect::LoadCounts,
            self.panes.events.load(PageKind::Newest),
        ];
        fx.extend(self.panes.pipelines.load(self.now_ms));
        fx
    }

    /// Events per second over the last second: it follows a burst within a tick and is 0
    /// one tick after calls stop (a longer average lagged and lingered).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Scopes whose keys apply now, most specific first.
    pub fn scopes(&self) -> Vec<Scope> {
        match &self.popup {
            None => vec![Scope::Pane(self.focus), Scope::Global],
            Some(p) => vec![p.scope()],
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut fx = self.handle(msg);
        // Once an event is open, Detail follows the selection, whatever moved it: a key, a
        // page that loaded, or a record that arrived while following.
        if let Some(id) = self.panes.events.selected_id() {
            fx.extend(self.panes.detail.follow(id));
        }
        fx
    }

    fn handle(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                vec![]
            }
            Msg::Tick(now) => self.tick(now),
            Msg::Record(r) => {
                self.arrived(r);
                vec![]
            }
            Msg::Lagged => {
                let mut fx = vec![Effect::LoadCounts, Effect::LoadWebhooks];
                fx.extend(self.panes.pipelines.load(self.now_ms));
                if self.panes.events.follow {
                    fx.push(self.panes.events.load(PageKind::Newest));
                }
                fx
            }
            Msg::WebhooksChanged => vec![Effect::LoadWebhooks],
            Msg::Link(link) => {
                self.link = link;
                // Back from a gap: what the feed does not carry may have changed meanwhile.
                // Not the counts: the gap's records came through the feed and counted
                // themselves, and counts read now would also hold the records committed since
                // the gap was read, which the feed brings next and would count again.
                if link == Link::Attached {
                    let mut fx = vec![Effect::LoadWebhooks];
                    fx.extend(self.panes.pipelines.load(self.now_ms));
                    return fx;
                }
                vec![]
            }
            Msg::Webhooks(list, stats) => {
                self.panes.webhooks.loaded(list, stats);
                vec![]
            }
            Msg::Counts(a, r) => {
                self.counts = (a, r);
                self.panes.events.stored = a + r;
                vec![]
            }
            Msg::Page {
                generation,
                kind,
                records,
            } => {
                self.panes.events.page_loaded(generation, kind, records);
                vec![]
            }
            Msg::Detail(opened) => {
                if opened.is_none() {
                    self.toast("That event is no longer stored (pruned)");
                }
                self.panes.detail.loaded(opened.map(|o| *o))
            }
            Msg::PutDone(result) => self.put_done(result),
            Msg::DeleteDone(Ok(deleted)) => {
                self.toast(if deleted {
                    "Webhook deleted"
                } else {
                    "That webhook was already gone"
                });
                vec![Effect::LoadWebhooks]
            }
            Msg::Pipelines(result) => {
                if let Err(e) = self.panes.pipelines.loaded(result, self.now_ms) {
                    self.toast(&format!("Error: {e}"));
                }
                vec![]
            }
            Msg::PipelineSaved(result) => self.pipeline_saved(result),
            Msg::PipelineDeleted(result) => {
                match result {
                    Ok((name, true)) => self.toast(&format!("Pipeline {name} deleted")),
                    Ok((name, false)) => self.toast(&format!("Pipeline {name} was already gone")),
                    Err(e) => self.toast(&format!("Error: {e}")),
                }
                self.panes.pipelines.load(self.now_ms)
            }
            Msg::Runs(event, result) => match self.panes.detail.runs_loaded(event, result) {
                Ok(fx) => fx,
                Err(e) => {
                    self.toast(&format!("Error: {e}"));
                    vec![]
                }
            },
            Msg::SearchStep(step) => self.panes.events.search_step(step),
            Msg::Retried(result) => {
                match result {
                    Ok(run) => self.toast(&format!("Run of {} queued again", run.pipeline)),
                    Err(e) => self.toast(&format!("Error: {e}")),
                }
                let mut fx = self.panes.detail.load_runs();
                fx.extend(self.panes.pipelines.load(self.now_ms));
                fx
            }
            Msg::Fetched(act, result) => self.fetched(act, result),
            Msg::Replayed(result) => {
                match result {
                    Ok(done) => self.toast(&replayed_toast(&done)),
                    Err(e) => self.toast(&format!("Error: {e}")),
                }
                let mut fx = self.panes.detail.load_runs();
                fx.extend(self.panes.pipelines.load(self.now_ms));
                fx
            }
            Msg::Saved(result) => {
                match result {
                    Ok((path, n)) => {
                        if matches!(self.popup, Some(Popup::Prompt(_))) {
                            self.popup = None;
                        }
                        self.toast(&format!("Saved {} to {path}", clipboard::kib(n)));
                    }
                    Err(failure) => {
                        if let Some(Popup::Prompt(p)) = &mut self.popup {
                            match failure {
                                SaveFailure::Exists(path) => p.exists(&path),
                                SaveFailure::Other(e) => p.error = Some(e),
                            }
                        }
                    }
                }
                vec![]
            }
            Msg::DeleteDone(Err(e)) | Msg::Error(e) => {
                // A failed load must not leave anything "Loading…" for ever.
                self.panes.events.list.load_failed();
                self.panes.detail.read_failed();
                self.toast(&format!("Error: {e}"));
                vec![]
            }
        }
    }

    fn tick(&mut self, now: i64) -> Vec<Effect> {
        self.now_ms = now;
        // Ticks come about once a second; a late one divides by the time it really took.
        let seconds = (now - self.last_tick_ms).max(1000) as f64 / 1000.0;
        self.rate = self.arrivals_now as f64 / seconds;
        self.arrivals_now = 0;
        self.last_tick_ms = now;
        if self.toast.as_ref().is_some_and(|(_, until)| *until <= now) {
            self.toast = None;
        }
        // Lag, run counts and runs move as events come and runs finish.
        let mut fx = self.panes.pipelines.refresh(now);
        fx.extend(self.panes.detail.load_runs());
        // Pruning lowers the stored counts; refresh them now and then.
        if (now / 1000) % COUNTS_EVERY_S == 0 {
            fx.push(Effect::LoadCounts);
        }
        fx
    }

    fn arrived(&mut self, r: Arc<Record>) {
        // The live feed and a page read at the same moment may both carry a record.
        if self.panes.events.holds(r.id()) {
            return;
        }
        self.arrivals_now += 1;
        self.panes.events.stored += 1;
        match r.as_ref() {
            Record::Accepted(e) => {
                self.counts.0 += 1;
                self.panes.webhooks.arrived(e);
            }
            Record::Rejected(_) => self.counts.1 += 1,
        }
        self.panes.events.arrived(r);
    }

    fn toast(&mut self, text: &str) {
        self.toast = Some((text.to_string(), self.now_ms + TOAST_MS));
    }

    fn put_done(&mut self, result: Result<WebhookView, PutFailure>) -> Vec<Effect> {
        match result {
            Ok(w) => {
                if matches!(self.popup, Some(Popup::Form(_))) {
                    self.popup = None;
                }
                self.toast(&format!("Saved {}", w.event_key));
                // The new or edited webhook is selected, its URL and token shown whole.
                self.panes.webhooks.select_next = Some(w.uuid);
                self.focus = PaneId::Webhooks;
                vec![Effect::LoadWebhooks]
            }
            Err(failure) => {
                if let Some(Popup::Form(form)) = &mut self.popup {
                    form.failed(failure);
                }
                vec![]
            }
        }
    }

    fn pipeline_saved(&mut self, result: Result<PipelineView, String>) -> Vec<Effect> {
        match result {
            Ok(p) => {
                if matches!(self.popup, Some(Popup::Editor(_))) {
                    self.popup = None;
                }
                self.toast(&format!("Saved pipeline {}", p.record.name));
                self.panes.pipelines.load(self.now_ms)
            }
            Err(e) => {
                if let Some(Popup::Editor(editor)) = &mut self.popup {
                    editor.failed(e);
                }
                vec![]
            }
        }
    }

    /// An action on the event in Detail when Detail has focus, else on the Events selection.
    fn act_on_selected(&mut self, act: EventAct) -> Vec<Effect> {
        let record = match (self.focus, &self.panes.detail.shown) {
            (PaneId::Detail, Some(shown)) => Some(Arc::new(shown.record.clone())),
            _ => self.panes.events.selected_record().cloned(),
        };
        match record {
            Some(r) => self.act_on(act, &r),
            None => {
                self.toast("Select an event first");
                vec![]
            }
        }
    }

    /// An action on an event: a confirm or a prompt first where it sends or
    /// writes, else a read of the event with its body.
    fn act_on(&mut self, act: EventAct, record: &Record) -> Vec<Effect> {
        let e = match record {
            Record::Accepted(e) => e,
            Record::Rejected(x) if x.duplicate.is_some() => {
                self.toast("A duplicate stored nothing: act on its original (Enter in Detail)");
                return vec![];
            }
            Record::Rejected(_) => {
                self.toast("A rejected call has no body: there is nothing to act on");
                return vec![];
            }
        };
        match act {
            EventAct::Replay => {
                self.popup = Some(Popup::Confirm(Box::new(Confirm::replay(
                    e.id,
                    &e.event_key,
                ))));
            }
            EventAct::Forward => {
                let prompt = Prompt::forward(e.id, &self.last_forward_url);
                self.popup = Some(Popup::Prompt(Box::new(prompt)));
            }
            EventAct::Save => {
                let mut choices = vec![format!("body {}", clipboard::kib(e.size as usize))];
                let mut paths = vec![format!("event-{}.{}", e.id, extension(e))];
                for f in &e.files {
                    let name = safe_file_name(&f.filename);
                    choices.push(format!("{name} {}", clipboard::kib(f.size as usize)));
                    paths.push(name);
                }
                let prompt = Prompt::save(e.id, choices, paths);
                self.popup = Some(Popup::Prompt(Box::new(prompt)));
            }
            EventAct::CopyCurl | EventAct::CopyBody => return vec![Effect::Fetch(e.id, act)],
        }
        vec![]
    }

    /// An event read for `c` or `Y`: copy it, or say why not.
    fn fetched(&mut self, act: EventAct, result: Result<Option<Record>, String>) -> Vec<Effect> {
        let e = match result {
            Ok(Some(Record::Accepted(e))) => e,
            Ok(_) => {
                self.toast("That event is no longer stored (pruned)");
                return vec![];
            }
            Err(e) => {
                self.toast(&format!("Error: {e}"));
                return vec![];
            }
        };
        let (what, text) = match act {
            EventAct::CopyCurl => match curl::curl(&e, &self.config.public_url) {
                Ok(cmd) => ("the curl command", cmd),
                Err(why) => {
                    self.toast(&format!("Not copied: {why}"));
                    return vec![];
                }
            },
            _ => match String::from_utf8(e.body) {
                Ok(body) if !body.is_empty() => ("the body", body),
                Ok(_) => {
                    self.toast("The body is empty: nothing sent");
                    return vec![];
                }
                Err(_) => {
                    self.toast("The body is binary: save it with s instead");
                    return vec![];
                }
            },
        };
        self.toast(&clipboard::toast(what, text.len()));
        if text.len() > clipboard::MAX_COPY {
            return vec![];
        }
        vec![Effect::Copy(text)]
    }

    /// Whether a binding's action applies now, for the hint bar: `R` only on a failed or
    /// dead run, Tab in the editor only when there is a name to switch to.
    pub fn applies(&self, action: Action) -> bool {
        match (action, &self.popup) {
            (Action::Retry, None) => self.panes.detail.can_retry(),
            (Action::Open, None) if self.focus == PaneId::Detail => {
                self.panes.detail.original().is_some()
            }
            (Action::NextField, Some(Popup::Editor(e))) => e.has_name_field(),
            // The prompt shares the form's keys: Tab chooses what to save, and the arrows
            // and Space edit its text.
            (Action::Choose, Some(Popup::Prompt(_))) => false,
            (Action::NextField | Action::PrevField, Some(Popup::Prompt(p))) => {
                matches!(p.purpose, Purpose::Save { .. })
            }
            _ => true,
        }
    }

    fn key(&mut self, key: Key) -> Vec<Effect> {
        let binding = keymap::find(&self.scopes(), key, self.config.access());
        let action = binding.map(|b| b.action);
        if action == Some(Action::Quit) {
            return vec![Effect::Quit];
        }
        match &mut self.popup {
            Some(popup) => {
                let reply = popup.key(key, action, &self.config);
                let filtered = match popup {
                    Popup::Filter(fl) => Some((fl.pane, fl.bodies)),
                    _ => None,
                };
                if reply.close {
                    self.popup = None;
                }
                let mut fx = reply.effects;
                for e in &fx {
                    if let Effect::Replay(_, Replay::Forward(url)) = e {
                        self.last_forward_url = url.clone();
                    }
                }
                match (filtered, reply.filter) {
                    (Some((_, true)), Some(text)) if !text.is_empty() => {
                        fx.extend(self.panes.events.search_bodies(&text));
                    }
                    (Some((pane, false)), Some(text)) => {
                        fx.extend(self.panes.get_mut(pane).set_filter(text));
                    }
                    _ => {}
                }
                fx
            }
            None => match binding {
                // A pane's own binding goes to it, even where a global one has its key.
                Some(b) if matches!(b.scope, Scope::Pane(_)) => self.pane_act(b.action),
                Some(b) => self.act(b.action),
                None => {
                    if let Some(b) = keymap::find(&self.scopes(), key, Access::ReadWrite) {
                        self.toast(&format!("Read-only (--read-only): {} is off", b.label));
                    }
                    vec![]
                }
            },
        }
    }

    /// An action with no popup open: global ones here, the rest to the focused pane.
    fn act(&mut self, action: Action) -> Vec<Effect> {
        use Action as A;
        match action {
            A::Help => self.popup = Some(Popup::Help(Help::default())),
            A::Quit => return vec![Effect::Quit],
            A::FocusNext => self.focus = self.focus.step(1),
            A::FocusPrev => self.focus = self.focus.step(-1),
            A::Focus(p) => self.focus = p,
            A::Follow => return self.panes.events.toggle_follow(),
            A::Times => self.times = self.times.next(self.utc_offset_s),
            A::New => self.popup = Some(Popup::Form(Box::new(Form::new(None)))),
            // Bound everywhere: the tabs are Detail's wherever the focus is.
            A::PrevTab => return self.panes.detail.step_tab(-1),
            A::Act(act) => return self.act_on_selected(act),
            A::NextTab => return self.panes.detail.step_tab(1),
            _ => return self.pane_act(action),
        }
        vec![]
    }

    /// An action for the focused pane.
    fn pane_act(&mut self, action: Action) -> Vec<Effect> {
        let cx = Cx {
            config: &self.config,
            page_rows: layout::list_rows(self.size).max(1),
            height: self.size.1,
        };
        let reply = self.panes.get_mut(self.focus).act(action, &cx);
        self.apply(reply)
    }

    /// Carries out what a pane's action asked of the rest of the dashboard.
    fn apply(&mut self, reply: Reply) -> Vec<Effect> {
        let Reply {
            mut effects,
            popup,
            toast,
            notice,
        } = reply;
        if let Some(p) = popup {
            self.popup = Some(p);
        }
        if let Some(t) = toast {
            self.toast(&t);
        }
        match notice {
            Some(Notice::ShowEventsOf(key)) => {
                self.focus = PaneId::Events;
                effects.extend(self.panes.events.show_only(key));
            }
            Some(Notice::OpenEvent(id)) => effects.extend(self.panes.detail.open(id)),
            Some(Notice::Focus(pane)) => self.focus = pane,
            None => {}
        }
        effects
    }
}

/// What a replay did, in a line.
fn replayed_toast(done: &Replayed) -> String {
    match done {
        Replayed::Runs(runs) if runs.is_empty() => {
            "No enabled pipeline listens to this event: nothing ran".into()
        }
        Replayed::Runs(runs) => {
            let ok = runs
                .iter()
                .filter(|r| r.status == crate::domain::pipeline::RunStatus::Ok)
                .count();
            let s = if runs.len() == 1 { "" } else { "s" };
            format!("Replayed: {} run{s}, {ok} ok", runs.len())
        }
        Replayed::Forwarded(f) => format!(
            "Forwarded: HTTP {}, {} answered",
            f.status,
            clipboard::kib(f.size)
        ),
    }
}

/// A file name a caller sent, made safe to offer as a path: its last component, escaped.
fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    match clean.as_str() {
        "" | "." | ".." => "file.bin".into(),
        _ => clean,
    }
}

/// A file extension for a saved body, by its content type.
fn extension(e: &Event) -> &'static str {
    let ct = e.content_type.as_deref().unwrap_or("").to_ascii_lowercase();
    if ct.contains("json") {
        "json"
    } else if ct.starts_with("text/") || ct.contains("x-www-form-urlencoded") {
        "txt"
    } else {
        "bin"
    }
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn a_sent_file_name_is_offered_as_a_bare_name() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\x\\y.pdf"), "y.pdf");
        assert_eq!(safe_file_name("a\x1b[2Jb.txt"), "a[2Jb.txt");
        assert_eq!(safe_file_name("dir/.."), "file.bin");
        assert_eq!(safe_file_name(""), "file.bin");
    }
}
