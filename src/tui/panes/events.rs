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
use crate::domain::{EventFilter, EventKeyPattern, Record};
use crate::store::{Cursor, PageQuery};
use crate::tui::keymap::{Action, PaneId};
use crate::tui::list::{PageKind, PagedList};
use crate::tui::msg::Effect;
use crate::tui::popups::{Filter, Popup};
use crate::tui::text::{clock, filter_title, fit, size_label};
use crate::tui::theme::Theme;

/// Most records held in memory.
pub const WINDOW: usize = 600;
/// Records fetched per page from the store.
pub const PAGE: usize = 200;

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
}

impl Default for Events {
    fn default() -> Self {
        Events {
            list: PagedList::new(WINDOW),
            follow: true,
            missed: 0,
            filter: String::new(),
            event_key: None,
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

    /// Follow again from the newest record.
    pub fn resume(&mut self) -> Vec<Effect> {
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
            Action::Clear => {
                if self.filter.is_empty() && self.event_key.is_none() {
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
        let title = filter_title("2 Events (UTC)", &self.filter, self.event_key.as_deref());
        let block = theme.pane_block(Line::from(title), cx.focused);
        let inner = block.inner(area);
        f.render_widget(block, area);
        if self.list.is_empty() {
            let msg = if self.list.is_loading() {
                "Loading…"
            } else if self.filter.is_empty() && self.event_key.is_none() {
                "No events yet. Send one to a webhook's URL."
            } else {
                "No event matches."
            };
            f.render_widget(Paragraph::new(msg).style(theme.dim()), inner);
            return;
        }
        let w = inner.width as usize;
        self.list
            .render(f, inner, theme, |r| event_line(r, theme, w));
    }
}

fn short_type(ct: Option<&str>) -> &'static str {
    let Some(ct) = ct else { return "-" };
    let ct = ct.to_ascii_lowercase();
    if ct.contains("json") {
        "json"
    } else if ct.contains("x-www-form-urlencoded") {
        "form"
    } else if ct.contains("multipart") {
        "multi"
    } else if ct.contains("xml") {
        "xml"
    } else if ct.starts_with("text/") {
        "text"
    } else {
        "bin"
    }
}

fn event_line(r: &Record, theme: Theme, w: usize) -> Line<'static> {
    match r {
        Record::Accepted(e) => {
            // A verified sender is said in a word, not colour alone (§7).
            let verified = if e.verified.is_some() {
                " verified"
            } else {
                ""
            };
            let fixed = 8 + 4 + 5 + 7 + 6 + verified.len();
            Line::from(vec![
                Span::styled(clock(e.received_at), theme.dim()),
                Span::styled(" ok ", theme.fg(Color::Green)),
                Span::raw(format!("{:<4} ", fit(&e.method, 4))),
                Span::raw(format!("{:>6} ", size_label(e.size))),
                Span::styled(
                    format!("{:<5} ", short_type(e.content_type.as_deref())),
                    theme.dim(),
                ),
                Span::raw(fit(&e.event_key, w.saturating_sub(fixed))),
                Span::styled(verified, theme.fg(Color::Green)),
            ])
        }
        Record::Rejected(x) => {
            let fixed = 8 + 4 + 4 + 5;
            let what = match &x.event_key {
                Some(k) => format!("{} {}", k, x.reason),
                None => x.reason.clone(),
            };
            Line::from(vec![
                Span::styled(clock(x.received_at), theme.dim()),
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
