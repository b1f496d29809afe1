//! The dashboard's pure core: `App::update(msg) -> effects`. It never touches the terminal,
//! the store or the clock; the driver feeds it messages and performs the effects it returns.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ratatui_textarea::TextArea;
use uuid::Uuid;

use super::key::Key;
use super::keymap::{self, Action, Pane, Scope};
use crate::domain::decode::{self, Decoded};
use crate::domain::webhook::InputErrors;
use crate::domain::{EventKeyPattern, PayloadType, Record, Webhook, WebhookInput};
use crate::store::{Cursor, PageQuery, WebhookStats};

/// Most records held in memory for the Events pane.
pub const WINDOW: usize = 600;
/// Records fetched per page from the store.
pub const PAGE: usize = 200;
/// Seconds the events/s figure averages over.
const RATE_SECONDS: usize = 5;
/// Seconds between reloads of the stored counts.
const COUNTS_EVERY_S: i64 = 10;
/// How long a toast stays, in ms.
const TOAST_MS: i64 = 3000;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen_url: String,
    pub public_url: String,
    pub read_only: bool,
    pub max_payload: u64,
    /// False under `NO_COLOR`.
    pub color: bool,
}

/// What the driver does for the App.
#[derive(Debug, Clone)]
pub enum Effect {
    LoadWebhooks,
    LoadCounts,
    LoadPage {
        generation: u64,
        kind: PageKind,
        query: PageQuery,
    },
    LoadRecord(Uuid),
    Put(WebhookInput),
    Delete(Uuid),
    Copy(String),
    Quit,
}

/// Where a loaded page goes in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Newest,
    Oldest,
    Older,
    Newer,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(Key),
    /// The terminal's size.
    Resize(u16, u16),
    /// Once a second, with the wall clock in ms.
    Tick(i64),
    /// A record committed just now.
    Record(Arc<Record>),
    /// The bus dropped records: reload.
    Lagged,
    /// Someone (this dashboard, the API or the CLI) changed the webhooks.
    WebhooksChanged,
    Webhooks(Vec<Webhook>, HashMap<Uuid, WebhookStats>),
    Counts(u64, u64),
    Page {
        generation: u64,
        kind: PageKind,
        records: Vec<Record>,
    },
    Detail(Option<Box<Record>>),
    PutDone(Result<Webhook, PutFailure>),
    DeleteDone(Result<bool, String>),
    Error(String),
}

#[derive(Debug, Clone)]
pub enum PutFailure {
    Conflict(String),
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Body,
    Headers,
    Raw,
    Meta,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Body, Tab::Headers, Tab::Raw, Tab::Meta];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Body => "Body",
            Tab::Headers => "Headers",
            Tab::Raw => "Raw",
            Tab::Meta => "Meta",
        }
    }

    fn step(self, by: isize) -> Tab {
        cycle(&Tab::ALL, self, by)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    EventKey,
    PayloadType,
    MaxPayloadLength,
}

impl Field {
    const ALL: [Field; 3] = [Field::EventKey, Field::PayloadType, Field::MaxPayloadLength];

    fn step(self, by: isize) -> Field {
        cycle(&Field::ALL, self, by)
    }
}

/// The item `by` places from `current` in `all`, wrapping around.
fn cycle<T: Copy + PartialEq>(all: &[T], current: T, by: isize) -> T {
    let i = all.iter().position(|x| *x == current).unwrap_or(0) as isize;
    all[(i + by).rem_euclid(all.len() as isize) as usize]
}

/// The new/edit webhook form.
#[derive(Debug, Clone)]
pub struct Form {
    /// The webhook being edited; its uuid is shown but cannot change.
    pub editing: Option<Uuid>,
    pub event_key: TextArea<'static>,
    pub payload_type: PayloadType,
    pub max_payload_length: TextArea<'static>,
    pub field: Field,
    pub errors: InputErrors,
    /// A failure that belongs to no field.
    pub error: Option<String>,
    pub saving: bool,
}

/// The delete confirmation; Cancel is focused when it opens.
#[derive(Debug, Clone)]
pub struct Confirm {
    pub uuid: Uuid,
    pub event_key: String,
    pub delete_focused: bool,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Help { scroll: u16 },
    Filter(Box<TextArea<'static>>),
    Form(Box<Form>),
    Confirm(Confirm),
}

#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub webhook: Webhook,
    pub stats: WebhookStats,
}

/// The live stream: a bounded window of records, oldest first, paged from the store.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub window: VecDeque<Arc<Record>>,
    pub selected: usize,
    pub follow: bool,
    /// Records that arrived while paused and matched the filter.
    pub missed: u64,
    pub filter: String,
    /// Shown only this webhook's events (Enter on a webhook).
    pub narrow: Option<String>,
    pub at_oldest: bool,
    pub at_newest: bool,
    pub loading: bool,
    generation: u64,
}

impl Stream {
    pub fn selected_record(&self) -> Option<&Arc<Record>> {
        self.window.get(self.selected)
    }

    fn matches(&self, r: &Record) -> bool {
        if let Some(k) = &self.narrow
            && r.event_key() != Some(k.as_str())
        {
            return false;
        }
        r.matches_text(&self.filter)
    }
}

#[derive(Debug, Clone)]
pub struct Detail {
    pub record: Record,
    pub body: Decoded,
    pub tab: Tab,
    pub scroll: u16,
}

pub struct App {
    pub config: Config,
    pub now_ms: i64,
    pub size: (u16, u16),
    pub focus: Pane,
    pub mode: Mode,
    pub webhooks: Vec<WebhookRow>,
    pub webhook_filter: String,
    pub webhook_selected: usize,
    pub stream: Stream,
    pub detail: Option<Detail>,
    pub counts: (u64, u64),
    /// Arrivals per second, newest last; the current second is `arrivals_now`.
    rate: VecDeque<u64>,
    arrivals_now: u64,
    pub toast: Option<(String, i64)>,
}

impl App {
    pub fn new(config: Config, now_ms: i64) -> App {
        App {
            config,
            now_ms,
            size: (80, 24),
            focus: Pane::Events,
            mode: Mode::Normal,
            webhooks: Vec::new(),
            webhook_filter: String::new(),
            webhook_selected: 0,
            stream: Stream {
                follow: true,
                at_newest: true,
                ..Stream::default()
            },
            detail: None,
            counts: (0, 0),
            rate: VecDeque::from(vec![0; RATE_SECONDS]),
            arrivals_now: 0,
            toast: None,
        }
    }

    /// What to load at start.
    pub fn init(&mut self) -> Vec<Effect> {
        vec![
            Effect::LoadWebhooks,
            Effect::LoadCounts,
            self.load(PageKind::Newest),
        ]
    }

    /// Events per second over the last few seconds.
    pub fn rate(&self) -> f64 {
        self.rate.iter().sum::<u64>() as f64 / RATE_SECONDS as f64
    }

    /// The webhooks the filter lets through, in order.
    pub fn visible_webhooks(&self) -> Vec<&WebhookRow> {
        let f = self.webhook_filter.to_lowercase();
        self.webhooks
            .iter()
            .filter(|w| f.is_empty() || w.webhook.event_key.contains(&f))
            .collect()
    }

    pub fn selected_webhook(&self) -> Option<&WebhookRow> {
        self.visible_webhooks().get(self.webhook_selected).copied()
    }

    /// Scopes whose keys apply now, most specific first.
    pub fn scopes(&self) -> Vec<Scope> {
        match &self.mode {
            Mode::Normal => vec![Scope::of(self.focus), Scope::Global],
            Mode::Help { .. } => vec![Scope::Help],
            Mode::Filter(_) => vec![Scope::FilterInput],
            Mode::Form(_) => vec![Scope::Form],
            Mode::Confirm(_) => vec![Scope::Dialog],
        }
    }

    /// Rows of the Events list on screen, for paging.
    fn page_rows(&self) -> usize {
        super::view::events_rows(self.size).max(1)
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                vec![]
            }
            Msg::Tick(now) => {
                self.now_ms = now;
                self.rate.push_back(self.arrivals_now);
                self.arrivals_now = 0;
                while self.rate.len() > RATE_SECONDS {
                    self.rate.pop_front();
                }
                if self.toast.as_ref().is_some_and(|(_, until)| *until <= now) {
                    self.toast = None;
                }
                // Pruning lowers the stored counts; refresh them now and then.
                if (now / 1000) % COUNTS_EVERY_S == 0 {
                    vec![Effect::LoadCounts]
                } else {
                    vec![]
                }
            }
            Msg::Record(r) => self.arrived(r),
            Msg::Lagged => {
                let mut fx = vec![Effect::LoadCounts, Effect::LoadWebhooks];
                if self.stream.follow {
                    fx.push(self.load(PageKind::Newest));
                }
                fx
            }
            Msg::WebhooksChanged => vec![Effect::LoadWebhooks],
            Msg::Webhooks(mut list, stats) => {
                list.sort_by(|a, b| a.event_key.cmp(&b.event_key));
                self.webhooks = list
                    .into_iter()
                    .map(|w| WebhookRow {
                        stats: stats.get(&w.uuid).copied().unwrap_or_default(),
                        webhook: w,
                    })
                    .collect();
                self.clamp_webhooks();
                vec![]
            }
            Msg::Counts(a, r) => {
                self.counts = (a, r);
                vec![]
            }
            Msg::Page {
                generation,
                kind,
                records,
            } => {
                if generation == self.stream.generation {
                    self.page_loaded(kind, records);
                }
                vec![]
            }
            Msg::Detail(Some(record)) => {
                let record = *record;
                let body = match &record {
                    Record::Accepted(e) => decode::decode(e.content_type.as_deref(), &e.body),
                    Record::Rejected(_) => Decoded::Empty,
                };
                let tab = self.detail.as_ref().map_or(Tab::Body, |d| d.tab);
                self.detail = Some(Detail {
                    record,
                    body,
                    tab,
                    scroll: 0,
                });
                vec![]
            }
            Msg::Detail(None) => {
                self.toast("That event is no longer stored (pruned)");
                vec![]
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
            Msg::DeleteDone(Err(e)) | Msg::Error(e) => {
                // A failed load must not leave the stream "Loading…" for ever.
                self.stream.loading = false;
                self.toast(&format!("Error: {e}"));
                vec![]
            }
        }
    }

    fn toast(&mut self, text: &str) {
        self.toast = Some((text.to_string(), self.now_ms + TOAST_MS));
    }

    fn arrived(&mut self, r: Arc<Record>) -> Vec<Effect> {
        self.arrivals_now += 1;
        match r.as_ref() {
            Record::Accepted(e) => {
                self.counts.0 += 1;
                if let Some(row) = self
                    .webhooks
                    .iter_mut()
                    .find(|w| w.webhook.event_key == e.event_key)
                {
                    row.stats.events += 1;
                    row.stats.last_at = Some(e.received_at);
                }
            }
            Record::Rejected(_) => self.counts.1 += 1,
        }
        if !self.stream.matches(&r) {
            return vec![];
        }
        if !self.stream.follow || !self.stream.at_newest {
            self.stream.missed += 1;
            return vec![];
        }
        self.stream.window.push_back(r);
        while self.stream.window.len() > WINDOW {
            self.stream.window.pop_front();
            self.stream.at_oldest = false;
        }
        self.stream.selected = self.stream.window.len() - 1;
        vec![]
    }

    /// A load of the Events window; newer requests make older answers stale.
    fn load(&mut self, kind: PageKind) -> Effect {
        self.stream.generation += 1;
        self.stream.loading = true;
        let cursor = match kind {
            PageKind::Newest => Cursor::Newest,
            PageKind::Oldest => Cursor::Oldest,
            PageKind::Older => self
                .stream
                .window
                .front()
                .map_or(Cursor::Newest, |r| Cursor::Before(r.id())),
            PageKind::Newer => self
                .stream
                .window
                .back()
                .map_or(Cursor::Oldest, |r| Cursor::After(r.id())),
        };
        Effect::LoadPage {
            generation: self.stream.generation,
            kind,
            query: PageQuery {
                cursor,
                status: None,
                pattern: self
                    .stream
                    .narrow
                    .as_deref()
                    .and_then(|k| EventKeyPattern::parse(k).ok()),
                text: (!self.stream.filter.is_empty()).then(|| self.stream.filter.clone()),
                limit: PAGE,
                with_body: false,
            },
        }
    }

    fn page_loaded(&mut self, kind: PageKind, records: Vec<Record>) {
        let s = &mut self.stream;
        s.loading = false;
        let full = records.len() == PAGE;
        let mut records: Vec<Arc<Record>> = records.into_iter().map(Arc::new).collect();
        match kind {
            PageKind::Newest => {
                records.reverse();
                s.window = records.into();
                s.at_newest = true;
                s.at_oldest = !full;
                s.selected = s.window.len().saturating_sub(1);
            }
            PageKind::Oldest => {
                s.window = records.into();
                s.at_oldest = true;
                s.at_newest = !full;
                s.selected = 0;
            }
            PageKind::Older => {
                let n = records.len();
                for r in records {
                    s.window.push_front(r);
                }
                s.selected += n;
                s.at_oldest = !full;
                while s.window.len() > WINDOW {
                    s.window.pop_back();
                    s.at_newest = false;
                }
                s.selected = s.selected.saturating_sub(1);
            }
            PageKind::Newer => {
                s.window.extend(records);
                s.at_newest = !full;
                let mut dropped = 0;
                while s.window.len() > WINDOW {
                    s.window.pop_front();
                    s.at_oldest = false;
                    dropped += 1;
                }
                s.selected = (s.selected + 1).saturating_sub(dropped);
            }
        }
        s.selected = s.selected.min(s.window.len().saturating_sub(1));
    }

    fn put_done(&mut self, result: Result<Webhook, PutFailure>) -> Vec<Effect> {
        match result {
            Ok(w) => {
                if matches!(self.mode, Mode::Form(_)) {
                    self.mode = Mode::Normal;
                }
                self.toast(&format!("Saved {}", w.event_key));
                vec![Effect::LoadWebhooks]
            }
            Err(failure) => {
                if let Mode::Form(form) = &mut self.mode {
                    form.saving = false;
                    match failure {
                        PutFailure::Conflict(m) => form.errors.event_key = Some(m),
                        PutFailure::Other(m) => form.error = Some(m),
                    }
                }
                vec![]
            }
        }
    }

    fn clamp_webhooks(&mut self) {
        let n = self.visible_webhooks().len();
        self.webhook_selected = self.webhook_selected.min(n.saturating_sub(1));
    }

    fn key(&mut self, key: Key) -> Vec<Effect> {
        let scopes = self.scopes();
        let action = keymap::lookup(&scopes, key, self.config.read_only);
        if action == Some(Action::Quit) {
            return vec![Effect::Quit];
        }
        match &mut self.mode {
            Mode::Normal => match action {
                Some(a) => self.act(a),
                None => vec![],
            },
            Mode::Help { scroll } => {
                match action {
                    Some(Action::CloseHelp) => self.mode = Mode::Normal,
                    // The overlay never has more lines than the keymap has bindings and groups.
                    Some(Action::Down) => {
                        *scroll = scroll.saturating_add(1).min(keymap::KEYMAP.len() as u16)
                    }
                    Some(Action::Up) => *scroll = scroll.saturating_sub(1),
                    _ => {}
                }
                vec![]
            }
            Mode::Filter(input) => match action {
                Some(Action::Submit) => {
                    let text = input.lines().join("").trim().to_string();
                    self.mode = Mode::Normal;
                    self.set_filter(text)
                }
                Some(Action::Cancel) => {
                    self.mode = Mode::Normal;
                    self.set_filter(String::new())
                }
                _ => {
                    input.input(key.to_input());
                    // Webhooks filter as you type; the Events filter queries the store on Enter.
                    if self.focus == Pane::Webhooks {
                        self.webhook_filter = input.lines().join("").trim().to_string();
                        self.clamp_webhooks();
                    }
                    vec![]
                }
            },
            Mode::Form(_) => self.form_key(key, action),
            Mode::Confirm(c) => match action {
                Some(Action::SwitchButton) => {
                    c.delete_focused = !c.delete_focused;
                    vec![]
                }
                Some(Action::Press) => {
                    let fx = if c.delete_focused {
                        vec![Effect::Delete(c.uuid)]
                    } else {
                        vec![]
                    };
                    self.mode = Mode::Normal;
                    fx
                }
                Some(Action::Cancel) => {
                    self.mode = Mode::Normal;
                    vec![]
                }
                _ => vec![],
            },
        }
    }

    fn set_filter(&mut self, text: String) -> Vec<Effect> {
        match self.focus {
            Pane::Webhooks => {
                self.webhook_filter = text;
                self.clamp_webhooks();
                vec![]
            }
            _ => {
                if self.stream.filter == text {
                    return vec![];
                }
                self.stream.filter = text;
                self.resume()
            }
        }
    }

    /// Follow again from the newest record.
    fn resume(&mut self) -> Vec<Effect> {
        self.stream.follow = true;
        self.stream.missed = 0;
        vec![self.load(PageKind::Newest)]
    }

    fn pause(&mut self) {
        self.stream.follow = false;
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        use Action as A;
        match action {
            A::Help => self.mode = Mode::Help { scroll: 0 },
            A::Quit => {
                return vec![Effect::Quit];
            }
            A::FocusNext => self.focus = next_pane(self.focus, 1),
            A::FocusPrev => self.focus = next_pane(self.focus, -1),
            A::Focus(p) => self.focus = p,
            A::Follow => {
                if self.stream.follow {
                    self.pause();
                } else {
                    return self.resume();
                }
            }
            A::Up | A::Down | A::Top | A::Bottom | A::PageUp | A::PageDown => {
                return self.movement(action);
            }
            A::PrevTab | A::NextTab => {
                if let Some(d) = &mut self.detail {
                    d.tab = d.tab.step(if action == A::NextTab { 1 } else { -1 });
                    d.scroll = 0;
                }
            }
            A::Open => match self.focus {
                Pane::Webhooks => {
                    if let Some(key) = self.selected_webhook().map(|w| w.webhook.event_key.clone())
                    {
                        self.stream.narrow = Some(key);
                        self.focus = Pane::Events;
                        return self.resume();
                    }
                }
                Pane::Events => {
                    if let Some(r) = self.stream.selected_record() {
                        return vec![Effect::LoadRecord(r.id())];
                    }
                }
                Pane::Detail => {}
            },
            A::Filter => {
                let current = match self.focus {
                    Pane::Webhooks => self.webhook_filter.clone(),
                    _ => self.stream.filter.clone(),
                };
                self.mode = Mode::Filter(Box::new(single_line(&current)));
            }
            A::Clear => match self.focus {
                Pane::Webhooks => {
                    self.webhook_filter.clear();
                    self.clamp_webhooks();
                }
                Pane::Events => {
                    if !self.stream.filter.is_empty() || self.stream.narrow.is_some() {
                        self.stream.filter.clear();
                        self.stream.narrow = None;
                        return self.resume();
                    }
                }
                Pane::Detail => self.detail = None,
            },
            A::New => self.mode = Mode::Form(Box::new(new_form(None))),
            A::Edit => {
                if let Some(w) = self.selected_webhook().map(|w| w.webhook.clone()) {
                    self.mode = Mode::Form(Box::new(new_form(Some(&w))));
                }
            }
            A::Delete => {
                if let Some(w) = self.selected_webhook() {
                    self.mode = Mode::Confirm(Confirm {
                        uuid: w.webhook.uuid,
                        event_key: w.webhook.event_key.clone(),
                        delete_focused: false,
                    });
                }
            }
            A::Copy => {
                if let Some(w) = self.selected_webhook() {
                    let url = w.webhook.url(&self.config.public_url);
                    let key = w.webhook.event_key.clone();
                    self.toast(&format!("Copied the URL of {key} (OSC 52)"));
                    return vec![Effect::Copy(url)];
                }
            }
            A::Submit
            | A::Cancel
            | A::NextField
            | A::PrevField
            | A::Choose
            | A::SwitchButton
            | A::Press
            | A::CloseHelp => {}
        }
        vec![]
    }

    fn movement(&mut self, action: Action) -> Vec<Effect> {
        use Action as A;
        match self.focus {
            Pane::Webhooks => {
                let n = self.visible_webhooks().len();
                let page = self.page_rows();
                self.webhook_selected = moved(self.webhook_selected, n, action, page);
                vec![]
            }
            Pane::Detail => {
                if let Some(d) = &mut self.detail {
                    let page = self.size.1 / 3;
                    d.scroll = match action {
                        A::Up => d.scroll.saturating_sub(1),
                        A::Down => d.scroll.saturating_add(1),
                        A::PageUp => d.scroll.saturating_sub(page),
                        A::PageDown => d.scroll.saturating_add(page),
                        A::Top => 0,
                        _ => u16::MAX,
                    };
                }
                vec![]
            }
            Pane::Events => {
                let s = &self.stream;
                let n = s.window.len();
                match action {
                    A::Top => {
                        self.pause();
                        return vec![self.load(PageKind::Oldest)];
                    }
                    A::Bottom => return self.resume(),
                    _ => {}
                }
                let target = moved(s.selected, n, action, self.page_rows());
                if matches!(action, A::Up | A::PageUp) && n > 0 {
                    // Looking back freezes the view.
                    self.pause();
                }
                let mut fx = vec![];
                let s = &mut self.stream;
                s.selected = target;
                if !s.loading && n > 0 {
                    if s.selected == 0 && !s.at_oldest && matches!(action, A::Up | A::PageUp) {
                        fx.push(self.load(PageKind::Older));
                    } else if s.selected + 1 == n
                        && !s.at_newest
                        && matches!(action, A::Down | A::PageDown)
                    {
                        fx.push(self.load(PageKind::Newer));
                    }
                }
                // Once an event is open, Detail follows the selection.
                let selected = self.stream.selected_record().map(|r| r.id());
                let shown = self.detail.as_ref().map(|d| d.record.id());
                if let (Some(id), Some(open)) = (selected, shown)
                    && id != open
                {
                    fx.push(Effect::LoadRecord(id));
                }
                fx
            }
        }
    }

    fn form_key(&mut self, key: Key, action: Option<Action>) -> Vec<Effect> {
        let ceiling = self.config.max_payload;
        let Mode::Form(form) = &mut self.mode else {
            return vec![];
        };
        match action {
            Some(Action::Cancel) => {
                self.mode = Mode::Normal;
                vec![]
            }
            Some(Action::Submit) if !form.saving => {
                let uuid = form.editing.map(|u| u.to_string());
                let key = form.event_key.lines().join("");
                let max = form.max_payload_length.lines().join("");
                match WebhookInput::parse(
                    uuid.as_deref(),
                    Some(&key),
                    Some(form.payload_type.as_str()),
                    Some(&max),
                    ceiling,
                ) {
                    Ok(input) => {
                        form.errors = InputErrors::default();
                        form.error = None;
                        form.saving = true;
                        vec![Effect::Put(input)]
                    }
                    Err(errors) => {
                        form.errors = errors;
                        vec![]
                    }
                }
            }
            Some(Action::NextField) => {
                form.field = form.field.step(1);
                vec![]
            }
            Some(Action::PrevField) => {
                form.field = form.field.step(-1);
                vec![]
            }
            Some(Action::Choose) if form.field == Field::PayloadType => {
                let by = if key == Key::new(super::key::Code::Left) {
                    -1
                } else {
                    1
                };
                form.payload_type = cycle(&PayloadType::ALL, form.payload_type, by);
                vec![]
            }
            _ => {
                let input = key.to_input();
                match form.field {
                    Field::EventKey => {
                        form.event_key.input(input);
                    }
                    Field::MaxPayloadLength => {
                        form.max_payload_length.input(input);
                    }
                    Field::PayloadType => {}
                }
                vec![]
            }
        }
    }
}

fn next_pane(p: Pane, by: isize) -> Pane {
    cycle(&[Pane::Webhooks, Pane::Events, Pane::Detail], p, by)
}

fn moved(current: usize, n: usize, action: Action, page: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let last = n - 1;
    match action {
        Action::Up => current.saturating_sub(1),
        Action::Down => (current + 1).min(last),
        Action::PageUp => current.saturating_sub(page),
        Action::PageDown => (current + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => current,
    }
}

fn single_line(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}

fn new_form(editing: Option<&Webhook>) -> Form {
    Form {
        editing: editing.map(|w| w.uuid),
        event_key: single_line(editing.map_or("webhook.", |w| w.event_key.as_str())),
        payload_type: editing.map_or(PayloadType::Base64, |w| w.payload_type),
        max_payload_length: single_line(
            &editing
                .map_or(crate::domain::webhook::DEFAULT_MAX_PAYLOAD_LENGTH, |w| {
                    w.max_payload_length
                })
                .to_string(),
        ),
        field: Field::EventKey,
        errors: InputErrors::default(),
        error: None,
        saving: false,
    }
}
