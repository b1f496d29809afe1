//! The Pipelines pane: every pipeline with its pattern, whether it is on, its lag, its run
//! counts and its last run. The editor and the delete dialog start here. It is read whole,
//! and again every second, since lag and counts move as events come and runs finish; but
//! counting lag reads every event a pipeline has not run yet, so a slow read spaces the
//! next ones out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Cx, DrawCx, Pane, Reply};
use crate::domain::escape::escape_control as esc;
use crate::domain::pipeline::RunStatus;
use crate::service::PipelineView;
use crate::tui::keymap::{Access, Action};
use crate::tui::list::PagedList;
use crate::tui::msg::Effect;
use crate::tui::popups::{Confirm, Editor, Popup};
use crate::tui::text::{compact as short, fit};
use crate::tui::theme::Theme;

/// Columns after the name (and pattern): on, lag, ok, fail, dead, last.
const FIXED: usize = 4 + 5 + 5 + 5 + 5 + 8;
/// The same without the counts (lag, ok, fail, dead), when names would be cut otherwise.
const FIXED_COMPACT: usize = 4 + 8;
/// Time between two reads of the list, at the least.
const REFRESH_MS: i64 = 1000;
/// A read that took t waits SLOW_FACTOR × t before the next, so reading stays under a fifth
/// of the time however long lag takes to count.
const SLOW_FACTOR: i64 = 4;
/// The pattern gets a column only when it has this many cells beside whole names; else the
/// selected pipeline's pattern is in the bottom border, and names keep the room.
const PATTERN_MIN: usize = 12;

#[derive(Debug, Clone)]
pub struct Pipelines {
    pub list: PagedList<PipelineView>,
    /// A read is on its way: the next one waits for it.
    loading: bool,
    /// The first answer came.
    loaded: bool,
    /// When the read on its way started, in ms.
    started_ms: i64,
    /// When the next periodic read is due, in ms.
    due_ms: i64,
}

impl Default for Pipelines {
    fn default() -> Self {
        Pipelines {
            list: PagedList::new(usize::MAX),
            loading: false,
            loaded: false,
            started_ms: 0,
            due_ms: 0,
        }
    }
}

impl Pipelines {
    pub fn selected(&self) -> Option<&PipelineView> {
        self.list.selected_item()
    }

    /// Reads the pipelines again now, unless a read is already on its way.
    pub fn load(&mut self, now_ms: i64) -> Vec<Effect> {
        if self.loading {
            return vec![];
        }
        self.loading = true;
        self.started_ms = now_ms;
        vec![Effect::LoadPipelines]
    }

    /// The periodic read, once it is due.
    pub fn refresh(&mut self, now_ms: i64) -> Vec<Effect> {
        if now_ms < self.due_ms {
            return vec![];
        }
        self.load(now_ms)
    }

    /// The answer to a read; the selection stays on the same pipeline.
    pub fn loaded(
        &mut self,
        result: Result<Vec<PipelineView>, String>,
        now_ms: i64,
    ) -> Result<(), String> {
        self.loading = false;
        let took = now_ms.saturating_sub(self.started_ms);
        self.due_ms = now_ms.saturating_add(REFRESH_MS.max(took.saturating_mul(SLOW_FACTOR)));
        let rows = result?;
        self.loaded = true;
        let name = self.selected().map(|p| p.record.name.clone());
        self.list.replace(rows);
        if let Some(i) =
            name.and_then(|n| self.list.items().iter().position(|p| p.record.name == n))
        {
            self.list.select(i);
        }
        Ok(())
    }
}

impl Pane for Pipelines {
    fn act(&mut self, action: Action, cx: &Cx) -> Reply {
        match action {
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => self.list.step(action, cx.page_rows),
            Action::New => return Reply::popup(Popup::Editor(Box::new(Editor::for_new()))),
            Action::Edit => {
                if let Some(p) = self.selected() {
                    return Reply::popup(Popup::Editor(Box::new(Editor::for_edit(&p.record))));
                }
            }
            Action::Delete => {
                if let Some(p) = self.selected() {
                    return Reply::popup(Popup::Confirm(Box::new(Confirm::pipeline(
                        &p.record.name,
                    ))));
                }
            }
            // Not bound in this pane's scope.
            _ => {}
        }
        Reply::default()
    }

    /// Pipelines has no filter and never opens the filter popup.
    fn set_filter(&mut self, _text: String) -> Vec<Effect> {
        vec![]
    }

    fn draw(&self, f: &mut Frame, area: Rect, cx: &DrawCx) {
        let theme = cx.theme;
        let title = format!(" 4 Pipelines ({}) ", self.list.len());
        let mut block = theme.pane_block(Line::from(title), cx.focused);
        let inner_w = area.width.saturating_sub(2) as usize;
        let longest = self
            .list
            .items()
            .iter()
            .map(|p| p.record.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        // Names stay whole: the counts go before a name is cut.
        let compact = inner_w < FIXED + longest.min(20);
        let flex = inner_w.saturating_sub(if compact { FIXED_COMPACT } else { FIXED });
        let pattern_column = flex >= longest + 1 + PATTERN_MIN;
        if !pattern_column && let Some(p) = self.selected() {
            let pattern = fit(&p.record.event_key, inner_w.saturating_sub(12));
            block = block.title_bottom(Line::styled(
                format!(" pattern {} ", pattern.trim_end()),
                theme.dim(),
            ));
        }
        let inner = block.inner(area);
        f.render_widget(block, area);
        if self.list.is_empty() {
            let msg = if !self.loaded {
                "Loading…"
            } else {
                match cx.config.access() {
                    Access::ReadOnly => "No pipelines yet.",
                    Access::ReadWrite => "No pipelines yet. Press 4, then n, to create one.",
                }
            };
            f.render_widget(
                Paragraph::new(msg)
                    .style(theme.dim())
                    .wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
        let (name_w, pattern_w) = if pattern_column {
            (longest, flex.saturating_sub(longest + 1))
        } else {
            (flex, 0)
        };
        let [head, rows] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let mut header = fit("name", name_w);
        if pattern_column {
            header.push(' ');
            header.push_str(&fit("pattern", pattern_w));
        }
        if compact {
            header.push_str(&format!(" {:<3} {:<7}", "on", "last"));
        } else {
            header.push_str(&format!(
                " {:<3} {:>4} {:>4} {:>4} {:>4} {:<7}",
                "on", "lag", "ok", "fail", "dead", "last"
            ));
        }
        f.render_widget(Span::styled(header, theme.dim()), head);
        self.list.render(f, rows, theme, cx.focused, |p| {
            row(
                p,
                theme,
                name_w,
                pattern_column.then_some(pattern_w),
                compact,
            )
        });
    }
}

/// One pipeline's row: words for every state, so that it reads without colour.
fn row(
    p: &PipelineView,
    theme: Theme,
    name_w: usize,
    pattern_w: Option<usize>,
    compact: bool,
) -> Line<'static> {
    let r = &p.record;
    let count = |n: u64, c: Color| {
        let style = if n > 0 { theme.fg(c) } else { Style::new() };
        Span::styled(format!(" {:>4}", short(n)), style)
    };
    let mut spans = vec![Span::raw(fit(&esc(&r.name), name_w))];
    if let Some(w) = pattern_w {
        spans.push(Span::styled(
            format!(" {}", fit(&esc(&r.event_key), w)),
            theme.dim(),
        ));
    }
    spans.push(if r.enabled {
        Span::raw(" on ")
    } else {
        Span::styled(" off", theme.fg(Color::Yellow))
    });
    if !compact {
        spans.push(Span::raw(format!(" {:>4}", short(p.lag))));
        spans.push(count(r.stats.ok, Color::Green));
        spans.push(count(r.stats.failed, Color::Yellow));
        spans.push(count(r.stats.dead, Color::Red));
    }
    spans.push(match &r.last_run {
        Some(last) => Span::styled(
            format!(" {:<7}", last.status.as_str()),
            status_style(theme, last.status),
        ),
        None => Span::styled(format!(" {:<7}", "—"), theme.dim()),
    });
    Line::from(spans)
}

/// A run status's colour; the status is always written out too.
pub fn status_style(theme: Theme, s: RunStatus) -> Style {
    match s {
        RunStatus::Ok => theme.fg(Color::Green),
        RunStatus::Failed => theme.fg(Color::Yellow),
        RunStatus::Dead => theme.error(),
        RunStatus::Queued | RunStatus::Running => theme.fg(Color::Cyan),
    }
}
