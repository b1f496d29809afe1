//! The Events pane: the live stream, oldest at the top, paged from the store so that only a
//! window of it is held. It follows new records until the user looks back.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Cx, DrawCx, Notice, Pane, Reply};
use crate::domain::escape::escape_control as esc;
use crate::domain::{EventFilter, EventKeyPattern, Record, content_kind};
use crate::store::{Cursor, PageQuery};
use crate::tui::keymap::{Action, PaneId};
use crate::tui::list::{PageKind, PagedList};
use crate::tui::msg::{Effect, SearchStep};
use crate::tui::popups::{Filter, Popup};
use crate::tui::text::{filter_title, fit, fit_end, group, size_label};
use crate::tui::theme::Theme;

/// Most records held in memory.
pub const WINDOW: usize = 600;
/// Records fetched per page from the store.
pub const PAGE: usize = 200;
/// A body search's first step reads this many events, then as many as make about
/// `SEARCH_BYTES` of bodies (within `SEARCH_STEPS`), so a step holds a bounded amount.
const SEARCH_FIRST: usize = 16;
const SEARCH_STEPS: std::ops::RangeInclusive<usize> = 16..=1024;
const SEARCH_BYTES: u64 = 8 << 20;

/// A search of the stored bodies, newest first, in bounded steps off the UI loop. Its
/// matches (at most `WINDOW`, without bodies) replace the stream until Esc or G.
#[derive(Debug, Clone)]
pub struct Search {
    /// Lowercased.
    pub text: String,
    generation: u64,
    pub scanned: u64,
    pub done: bool,
    /// The oldest event read so far.
    last: Option<uuid::Uuid>,
    limit: usize,
    /// Newest first.
    found: Vec<Arc<Record>>,
}

#[derive(Debug, Clone)]
pub struct Events {
    pub list: PagedList<Arc<Record>>,
    /// New records are appended and selected as they come.
    pub follow: bool,
    /// Records that arrived while paused and matched the filter.
    pub missed: u64,
    /// Text the `/` filter looks for.
    pub filter: String,
    /// Only this webhook's events (Enter on a webhook), by its eventKey.
    pub event_key: Option<String>,
    /// Records stored, accepted and rejected: the length of the unfiltered stream.
    pub stored: u64,
    pub search: Option<Search>,
    /// Makes the answers of a stopped search stale.
    search_generation: u64,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            list: PagedList::new(WINDOW),
            follow: true,
            missed: 0,
            filter: String::new(),
            event_key: None,
            stored: 0,
            search: None,
            search_generation: 0,
        }
    }
}

impl Events {
    /// The id of the highlighted row.
    pub fn selected_id(&self) -> Option<uuid::Uuid> {
        self.selected_record().map(|r| r.id())
    }

    pub fn selected_record(&self) -> Option<&Arc<Record>> {
        self.list.selected_item()
    }

    /// Whether the window holds this record already: a page read while it arrived.
    pub fn holds(&self, id: uuid::Uuid) -> bool {
        self.list.items().iter().rev().any(|r| r.id() == id)
    }

    /// A record committed just now.
    pub fn arrived(&mut self, r: Arc<Record>) {
        if !self.matches(&r) {
            return;
        }
        if !self.follow || !self.list.at_newest {
            self.missed += 1;
            return;
        }
        self.list.push_newest(r);
    }

    fn matches(&self, r: &Record) -> bool {
        self.event_filter().matches(r.summary())
    }

    /// What the pane shows: the one filter for arrivals and for pages from the store.
    fn event_filter(&self) -> EventFilter {
        let pattern = self
            .event_key
            .as_deref()
            .and_then(|k| EventKeyPattern::parse(k).ok());
        EventFilter::new(None, pattern).with_text(&self.filter)
    }

    /// A load of the window; newer requests make older answers stale.
    pub fn load(&mut self, kind: PageKind) -> Effect {
        let cursor = match kind {
            PageKind::Newest => Cursor::Newest,
            PageKind::Oldest => Cursor::Oldest,
            PageKind::Older => self
                .list
                .items()
                .front()
                .map_or(Cursor::Newest, |r| Cursor::Before(r.id())),
            PageKind::Newer => self
                .list
                .items()
                .back()
                .map_or(Cursor::Oldest, |r| Cursor::After(r.id())),
        };
        Effect::LoadPage {
            generation: self.list.start_load(),
            kind,
            query: PageQuery {
                cursor,
                filter: self.event_filter(),
                limit: PAGE,
                with_body: false,
            },
        }
    }

    pub fn page_loaded(&mut self, generation: u64, kind: PageKind, records: Vec<Record>) {
        if self.list.is_current(generation) {
            let full = records.len() == PAGE;
            self.list
                .fill(kind, records.into_iter().map(Arc::new).collect(), full);
        }
    }

    /// `b`: looks for `text` in the bodies, from the newest event back.
    pub fn search_bodies(&mut self, text: &str) -> Vec<Effect> {
        self.search_generation += 1;
        self.follow = false;
        self.list.replace(Vec::new());
        self.search = Some(Search {
            text: text.to_lowercase(),
            generation: self.search_generation,
            scanned: 0,
            done: false,
            last: None,
            limit: SEARCH_FIRST,
            found: Vec::new(),
        });
        self.next_search_step()
    }

    fn next_search_step(&self) -> Vec<Effect> {
        match &self.search {
            Some(s) if !s.done => vec![Effect::SearchBodies {
                generation: s.generation,
                text: s.text.clone(),
                before: s.last,
                limit: s.limit,
            }],
            _ => vec![],
        }
    }

    /// One step of the search came back: show what it found and ask for the next.
    pub fn search_step(&mut self, step: SearchStep) -> Vec<Effect> {
        let Some(s) = &mut self.search else {
            return vec![];
        };
        if step.generation != s.generation {
            return vec![];
        }
        s.scanned += step.scanned as u64;
        let first = s.found.is_empty();
        s.found.extend(step.found.into_iter().map(Arc::new));
        s.found.truncate(WINDOW);
        s.done = step.done || step.last.is_none() || s.found.len() >= WINDOW;
        s.last = step.last;
        s.limit = (s.limit as u64 * SEARCH_BYTES / step.bytes.max(1))
            .clamp(*SEARCH_STEPS.start() as u64, *SEARCH_STEPS.end() as u64)
            as usize;
        let items: Vec<Arc<Record>> = s.found.iter().rev().cloned().collect();
        self.list.replace(items);
        if first {
            self.list.select(usize::MAX);
        }
        self.next_search_step()
    }

    /// Follow again from the newest record.
    pub fn resume(&mut self) -> Vec<Effect> {
        self.search = None;
        self.follow = true;
        self.missed = 0;
        vec![self.load(PageKind::Newest)]
    }

    /// `f`: pause, or resume from the newest.
    pub fn toggle_follow(&mut self) -> Vec<Effect> {
        if self.follow {
            self.follow = false;
            vec![]
        } else {
            self.resume()
        }
    }

    /// Only this eventKey's events, from the newest.
    pub fn show_only(&mut self, event_key: String) -> Vec<Effect> {
        self.event_key = Some(event_key);
        self.resume()
    }

    fn movement(&mut self, action: Action, page: usize) -> Vec<Effect> {
        let n = self.list.len();
        if self.search.is_some() {
            // The matches are all there is to move through.
            self.list.step(action, page);
            return vec![];
        }
        match action {
            Action::Top => {
                self.follow = false;
                return vec![self.load(PageKind::Oldest)];
            }
            Action::Bottom => return self.resume(),
            _ => {}
        }
        let back = matches!(action, Action::Up | Action::PageUp);
        if back && n > 0 {
            // Looking back freezes the view.
            self.follow = false;
        }
        self.list.step(action, page);
        let l = &self.list;
        if l.is_loading() || n == 0 {
            return vec![];
        }
        if l.selected() == 0 && !l.at_oldest && back {
            vec![self.load(PageKind::Older)]
        } else if l.selected() + 1 == n
            && !l.at_newest
            && matches!(action, Action::Down | Action::PageDown)
        {
            vec![self.load(PageKind::Newer)]
        } else {
            vec![]
        }
    }
}

impl Pane for Events {
    fn act(&mut self, action: Action, cx: &Cx) -> Reply {
        match action {
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => Reply::effects(self.movement(action, cx.page_rows)),
            Action::Open => Reply {
                notice: self.selected_record().map(|r| Notice::OpenEvent(r.id())),
                ..Reply::default()
            },
            Action::Filter => {
                let label = " Filter events (Enter applies): ";
                let filter = Filter::new(PaneId::Events, &self.filter, label, false);
                Reply::popup(Popup::Filter(Box::new(filter)))
            }
            Action::SearchBodies => Reply::popup(Popup::Filter(Box::new(Filter::bodies()))),
            Action::Clear => {
                if self.filter.is_empty() && self.event_key.is_none() && self.search.is_none() {
                    return Reply::default();
                }
                self.filter.clear();
                self.event_key = None;
                Reply::effects(self.resume())
            }
            // Not bound in this pane's scope.
            _ => Reply::default(),
        }
    }

    fn set_filter(&mut self, text: String) -> Vec<Effect> {
        if self.filter == text {
            return vec![];
        }
        self.filter = text;
        self.resume()
    }

    fn draw(&self, f: &mut Frame, area: Rect, cx: &DrawCx) {
        let theme = cx.theme;
        let unfiltered = self.filter.is_empty() && self.event_key.is_none();
        let base = format!("2 Events ({})", cx.times.label());
        let mut title = filter_title(&base, &self.filter, self.event_key.as_deref());
        if let Some(s) = &self.search {
            let state = if s.done { "searched" } else { "searching…" };
            title.push_str(&format!(
                "· body ~ {}: {state} {}/{}, {} found ",
                esc(&s.text),
                group(s.scanned),
                group(self.stored.max(s.scanned)),
                s.found.len()
            ));
        }
        if let Some((pos, total)) = self.list.position(unfiltered.then_some(self.stored)) {
            title.push_str(&format!("· {}/{} ", group(pos), group(total)));
        }
        let block = theme.pane_block(Line::from(title), cx.focused);
        let inner = block.inner(area);
        f.render_widget(block, area);
        if self.list.is_empty() {
            let msg = if self.list.is_loading() {
                "Loading…"
            } else if self.search.as_ref().is_some_and(|s| !s.done) {
                "Searching…"
            } else if self.search.is_some() {
                "No event's body holds that text."
            } else if unfiltered {
                "No events yet. Send one to a webhook's URL."
            } else {
                "No event matches."
            };
            f.render_widget(Paragraph::new(msg).style(theme.dim()), inner);
            return;
        }
        let w = inner.width as usize;
        self.list.render(f, inner, theme, cx.focused, |r| {
            event_line(r, theme, w, |ms| cx.times.stamp(ms, cx.now_ms))
        });
    }
}

/// Below this width rows leave out size and type, so the eventKey keeps its room (at 100x30
/// the side-by-side Events pane is 53 wide and keeps them).
const NARROW: usize = 50;

fn event_line(r: &Record, theme: Theme, w: usize, stamp: impl Fn(i64) -> String) -> Line<'static> {
    let narrow = w < NARROW;
    match r {
        Record::Accepted(e) => {
            // A verified sender is said in a word, not colour alone (§7).
            let verified = if e.verified.is_some() {
                " verified"
            } else {
                ""
            };
            let mut spans = vec![
                Span::styled(stamp(e.received_at), theme.dim()),
                Span::styled(" ok ", theme.fg(Color::Green)),
                Span::raw(format!("{:<4} ", fit(&e.method, 4))),
            ];
            let mut fixed = 8 + 4 + 5;
            if !narrow {
                spans.push(Span::raw(format!("{:>6} ", size_label(e.size))));
                spans.push(Span::styled(
                    format!("{:<5} ", content_kind(e.content_type.as_deref())),
                    theme.dim(),
                ));
                fixed += 7 + 6;
            }
            let key_w = w.saturating_sub(fixed + verified.len());
            spans.push(Span::raw(fit_end(&e.event_key, key_w)));
            spans.push(Span::styled(verified, theme.fg(Color::Green)));
            Line::from(spans)
        }
        // A repeat the sender was answered for: a word, since it was not refused (§7).
        Record::Rejected(x) if x.duplicate.is_some() => {
            let delivery = x.duplicate.as_ref().map_or("", |d| d.delivery_id.as_str());
            let fixed = 8 + 11 + 5;
            let what = format!(
                "{} delivery {}",
                x.event_key.as_deref().unwrap_or(""),
                delivery
            );
            Line::from(vec![
                Span::styled(stamp(x.received_at), theme.dim()),
                Span::styled(" duplicate ", theme.fg(Color::Yellow)),
                Span::raw(format!("{:<4} ", fit(&x.method, 4))),
                Span::raw(fit(&esc(&what), w.saturating_sub(fixed))),
            ])
        }
        Record::Rejected(x) => {
            let fixed = 8 + 4 + 4 + 5;
            let what = match &x.event_key {
                Some(k) => format!("{} {}", k, x.reason),
                None => x.reason.clone(),
            };
            Line::from(vec![
                Span::styled(stamp(x.received_at), theme.dim()),
                Span::styled(" REJ", theme.error()),
                Span::styled(format!(" {} ", x.http_status), theme.error()),
                Span::raw(format!("{:<4} ", fit(&x.method, 4))),
                Span::styled(
                    fit(&esc(&what), w.saturating_sub(fixed)),
                    theme.fg(Color::Red),
                ),
            ])
        }
    }
}
