//! The Detail pane: one event, decoded, in tabs, the last of which lists the runs it caused
//! with their step logs. Once open it follows the Events selection, reading at most one event
//! (and one list of runs) at a time however fast the selection moves.

use std::ops::Range;

use base64::Engine;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use uuid::Uuid;

use super::pipelines::status_style;
use super::{Cx, DrawCx, Notice, Pane, Reply};
use crate::domain::decode::Decoded;
use crate::domain::escape::escape_control as esc;
use crate::domain::pipeline::{Run, RunStatus, StepLog, StepStatus};
use crate::domain::time::rfc3339_ms;
use crate::domain::{PayloadType, Record};
use crate::tui::keymap::{self, Access, Action, PaneId, Scope, cycle};
use crate::tui::list::PagedList;
use crate::tui::msg::{Effect, Opened};
use crate::tui::text::{clock, duration, fit, wrap};
use crate::tui::theme::Theme;

/// Bodies of at most this many lines wrap; longer ones are cut at the pane's edge.
const WRAP_MAX: usize = 2000;
/// Most base64 characters the Raw tab shows.
const RAW_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Body,
    Headers,
    Raw,
    Meta,
    /// The runs the event caused.
    Runs,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Body, Tab::Headers, Tab::Raw, Tab::Meta, Tab::Runs];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Body => "Body",
            Tab::Headers => "Headers",
            Tab::Raw => "Raw",
            Tab::Meta => "Meta",
            Tab::Runs => "Runs",
        }
    }

    fn step(self, by: isize) -> Tab {
        cycle(&Tab::ALL, self, by)
    }
}

/// The event on screen.
#[derive(Debug, Clone)]
pub struct Shown {
    pub record: Record,
    pub body: Decoded,
    pub tab: Tab,
    /// Lines scrolled; on the Runs tab, from the selected run's first line.
    pub scroll: u16,
}

/// The runs of the event on screen, newest first.
#[derive(Debug, Clone)]
pub struct Runs {
    pub event: Uuid,
    pub list: PagedList<Run>,
}

#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub shown: Option<Shown>,
    /// The runs of the shown event, once read.
    pub runs: Option<Runs>,
    /// A read of runs is on its way: the next one waits for it.
    reading_runs: bool,
    /// The event Detail should show: set by Enter, then by the selection it follows;
    /// `None` while closed.
    wanted: Option<Uuid>,
    /// The Events selection Detail last followed: a jump to a duplicate's original stays
    /// until the selection moves.
    following: Option<Uuid>,
    /// The event being read.
    reading: Option<Uuid>,
}

impl Detail {
    /// Enter on an event.
    pub fn open(&mut self, id: Uuid) -> Vec<Effect> {
        self.wanted = Some(id);
        self.following = Some(id);
        self.read()
    }

    /// The Events selection is now `id`: once open, Detail follows it.
    pub fn follow(&mut self, id: Uuid) -> Vec<Effect> {
        if self.wanted.is_none() || self.following == Some(id) {
            return vec![];
        }
        self.following = Some(id);
        self.wanted = Some(id);
        self.read()
    }

    /// The event a duplicate on screen repeated, which Enter opens.
    pub fn original(&self) -> Option<Uuid> {
        match self.shown.as_ref().map(|d| &d.record) {
            Some(Record::Rejected(x)) => x.duplicate.as_ref().map(|d| d.duplicate_of),
            _ => None,
        }
    }

    /// Reads the wanted event unless a read is already on its way; its answer reads again
    /// if the wanted event changed meanwhile.
    fn read(&mut self) -> Vec<Effect> {
        match (self.reading, self.wanted) {
            (None, Some(id)) => {
                self.reading = Some(id);
                vec![Effect::LoadRecord(id)]
            }
            _ => vec![],
        }
    }

    /// The answer to a read; `None` when the event is no longer stored.
    pub fn loaded(&mut self, opened: Option<Opened>) -> Vec<Effect> {
        let asked = self.reading.take();
        let Some(Opened { record, body }) = opened else {
            // Not again for the same event, or it would be asked for ever.
            return if self.wanted == asked {
                vec![]
            } else {
                self.read()
            };
        };
        let id = record.id();
        let tab = self.shown.as_ref().map_or(Tab::Body, |d| d.tab);
        self.shown = Some(Shown {
            record,
            body,
            tab,
            scroll: 0,
        });
        if self.runs.as_ref().is_some_and(|r| r.event != id) {
            self.runs = None;
        }
        match self.wanted {
            None => {
                self.wanted = Some(id);
                self.load_runs()
            }
            Some(w) if w == id => self.load_runs(),
            Some(_) => self.read(),
        }
    }

    /// The accepted event on screen: only those cause runs.
    fn shown_event(&self) -> Option<Uuid> {
        match self.shown.as_ref().map(|d| &d.record) {
            Some(Record::Accepted(e)) => Some(e.id),
            _ => None,
        }
    }

    /// Reads the shown event's runs while the Runs tab is on screen, one read at a time.
    /// Called again every second, so that runs show as they finish.
    pub fn load_runs(&mut self) -> Vec<Effect> {
        let on_runs = self.shown.as_ref().is_some_and(|d| d.tab == Tab::Runs);
        match self.shown_event() {
            Some(id) if on_runs && !self.reading_runs => {
                self.reading_runs = true;
                vec![Effect::LoadRuns(id)]
            }
            _ => vec![],
        }
    }

    /// The answer to a read of runs; the selection stays on the same run.
    pub fn runs_loaded(
        &mut self,
        event: Uuid,
        result: Result<Vec<Run>, String>,
    ) -> Result<Vec<Effect>, String> {
        self.reading_runs = false;
        let runs = result?;
        if self.shown_event() != Some(event) {
            // Asked for an event no longer shown: ask for the one that is.
            return Ok(self.load_runs());
        }
        let selected = self
            .runs
            .as_ref()
            .filter(|r| r.event == event)
            .and_then(|r| r.list.selected_item().map(|run| run.id));
        let mut list = PagedList::new(usize::MAX);
        list.replace(runs);
        list.select(0);
        if let Some(i) = selected.and_then(|id| list.items().iter().position(|r| r.id == id)) {
            list.select(i);
        }
        self.runs = Some(Runs { event, list });
        Ok(vec![])
    }

    /// The run under the selection, on the Runs tab.
    fn selected_run(&self) -> Option<&Run> {
        if self.shown.as_ref().is_none_or(|d| d.tab != Tab::Runs) {
            return None;
        }
        self.runs.as_ref()?.list.selected_item()
    }

    /// Whether `R` applies: the Runs tab shows a failed or dead run selected.
    pub fn can_retry(&self) -> bool {
        self.selected_run()
            .is_some_and(|r| matches!(r.status, RunStatus::Failed | RunStatus::Dead))
    }

    /// A read failed; the next change of selection tries again.
    pub fn read_failed(&mut self) {
        self.reading = None;
    }

    /// `[` and `]`: bound everywhere, and in Detail itself.
    pub fn step_tab(&mut self, by: isize) -> Vec<Effect> {
        if let Some(d) = &mut self.shown {
            d.tab = d.tab.step(by);
            d.scroll = 0;
        }
        self.load_runs()
    }
}

impl Pane for Detail {
    fn act(&mut self, action: Action, cx: &Cx) -> Reply {
        let on_runs = self.shown.as_ref().is_some_and(|d| d.tab == Tab::Runs);
        match action {
            // On the Runs tab, moving selects a run; paging scrolls through its steps.
            Action::Up | Action::Down | Action::Top | Action::Bottom if on_runs => {
                if let (Some(runs), Some(d)) = (&mut self.runs, &mut self.shown) {
                    runs.list.step(action, 1);
                    d.scroll = 0;
                }
            }
            Action::PrevTab => return Reply::effects(self.step_tab(-1)),
            Action::NextTab => return Reply::effects(self.step_tab(1)),
            Action::Retry => {
                if let Some(run) = self.selected_run() {
                    if self.can_retry() {
                        return Reply::effects(vec![Effect::RetryRun(run.id)]);
                    }
                    return Reply {
                        toast: Some(format!(
                            "Only a failed or dead run can be retried; this one is {}",
                            run.status.as_str()
                        )),
                        ..Reply::default()
                    };
                }
            }
            Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => {
                if let Some(d) = &mut self.shown {
                    let page = cx.height / 3;
                    d.scroll = match action {
                        Action::Up => d.scroll.saturating_sub(1),
                        Action::Down => d.scroll.saturating_add(1),
                        Action::PageUp => d.scroll.saturating_sub(page),
                        Action::PageDown => d.scroll.saturating_add(page),
                        Action::Top => 0,
                        _ => u16::MAX,
                    };
                }
            }
            // On a duplicate: the event it repeated, until the selection moves.
            Action::Open => {
                if let Some(id) = self.original() {
                    self.wanted = Some(id);
                    return Reply::effects(self.read());
                }
            }
            // Closing hands the focus back to the list it was opened from.
            Action::Clear => {
                self.shown = None;
                self.wanted = None;
                self.following = None;
                self.runs = None;
                return Reply {
                    notice: Some(Notice::Focus(PaneId::Events)),
                    ..Reply::default()
                };
            }
            // Not bound in this pane's scope.
            _ => {}
        }
        Reply::default()
    }

    /// Detail has no filter and never opens the filter popup.
    fn set_filter(&mut self, _text: String) -> Vec<Effect> {
        vec![]
    }

    fn draw(&self, f: &mut Frame, area: Rect, cx: &DrawCx) {
        let theme = cx.theme;
        let mut title = vec![Span::raw(" 3 Detail ")];
        if let Some(d) = &self.shown {
            for t in Tab::ALL {
                let style = if t == d.tab {
                    theme.selection(cx.focused).add_modifier(Modifier::BOLD)
                } else {
                    theme.dim()
                };
                title.push(Span::styled(format!(" {} ", t.title()), style));
            }
            title.push(Span::raw(" "));
        }
        let block = theme.pane_block(Line::from(title), cx.focused);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let Some(d) = &self.shown else {
            f.render_widget(
                Paragraph::new("Select an event and press Enter to open it here.")
                    .style(theme.dim()),
                inner,
            );
            return;
        };
        let (width, height) = (inner.width as usize, inner.height as usize);
        if d.tab == Tab::Runs && matches!(d.record, Record::Accepted(_)) {
            let lines = match &self.runs {
                None => vec![Line::styled("Loading runs…", theme.dim())],
                Some(r) if r.list.is_empty() => vec![Line::styled(
                    "No runs: no pipeline has run on this event (yet).",
                    theme.dim(),
                )],
                Some(r) => runs_lines(r, theme, width, height, d.scroll as usize),
            };
            f.render_widget(Paragraph::new(lines), inner);
            return;
        }
        // Only the lines on screen are built, so a large body costs no more per frame than a
        // small one.
        let (total, _) = detail_lines(d, theme, width, 0..0);
        let scroll = (d.scroll as usize).min(total.saturating_sub(height));
        let (_, visible) = detail_lines(d, theme, width, scroll..scroll + height);
        f.render_widget(Paragraph::new(visible), inner);
    }
}

/// The part of `items` that falls in `range`.
fn window<'a, T>(items: &'a [T], range: &Range<usize>) -> &'a [T] {
    let start = range.start.min(items.len());
    &items[start..range.end.clamp(start, items.len())]
}

fn kv(theme: Theme, k: &str, v: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{k:<14}"), theme.fg(Color::Cyan)),
        Span::raw(esc(v).into_owned()),
    ])
}

/// Lines longer than `width` go on over the next rows, indented by `indent`, so that long
/// values (JWTs, signatures) show whole.
fn wrap_lines(lines: Vec<Line<'static>>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(indent + 1);
    let mut out = Vec::new();
    for line in lines {
        let mut row: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in line.spans {
            let mut chunk = String::new();
            for c in span.content.chars() {
                if used == width {
                    if !chunk.is_empty() {
                        row.push(Span::styled(std::mem::take(&mut chunk), span.style));
                    }
                    out.push(Line::from(std::mem::take(&mut row)).style(line.style));
                    row.push(Span::raw(" ".repeat(indent)));
                    used = indent;
                }
                chunk.push(c);
                used += 1;
            }
            if !chunk.is_empty() {
                row.push(Span::styled(chunk, span.style));
            }
        }
        out.push(Line::from(row).style(line.style));
    }
    out
}

/// The detail's line count, and its lines in `range`.
fn detail_lines(
    d: &Shown,
    theme: Theme,
    width: usize,
    range: Range<usize>,
) -> (usize, Vec<Line<'static>>) {
    let e = match &d.record {
        Record::Accepted(e) => e,
        Record::Rejected(x) => {
            let mut lines = match &x.duplicate {
                Some(dup) => vec![
                    Line::styled(
                        format!(
                            "duplicate: answered HTTP {} as the original; nothing new stored",
                            x.http_status
                        ),
                        theme.fg(Color::Yellow),
                    ),
                    kv(
                        theme,
                        "original",
                        &format!("{} ({})", dup.duplicate_of, open_original_hint()),
                    ),
                    kv(theme, "deliveryId", &dup.delivery_id),
                ],
                None => vec![
                    Line::styled(
                        format!("Rejected with HTTP {}", x.http_status),
                        theme.error(),
                    ),
                    kv(theme, "reason", &x.reason),
                ],
            };
            lines.extend([
                kv(theme, "id", &x.id.to_string()),
                kv(theme, "receivedAt", &rfc3339_ms(x.received_at)),
                kv(theme, "method", &x.method),
                kv(theme, "remoteAddr", &x.remote_addr),
                kv(theme, "size", &x.size.to_string()),
                kv(
                    theme,
                    "eventKey",
                    x.event_key.as_deref().unwrap_or("(unknown token)"),
                ),
            ]);
            let lines = wrap_lines(lines, width, 14);
            return (lines.len(), window(&lines, &range).to_vec());
        }
    };
    match d.tab {
        // Drawn from Detail's runs by `runs_lines`.
        Tab::Runs => (0, Vec::new()),
        Tab::Body => {
            // A body of a few screens wraps; a long one is cut at the edge, so that a frame
            // still builds only the lines on screen.
            let (total, _) = body_lines(d, e, theme, 0..0);
            if total > WRAP_MAX {
                return body_lines(d, e, theme, range);
            }
            let (_, all) = body_lines(d, e, theme, 0..total);
            let lines = wrap_lines(all, width, 2);
            (lines.len(), window(&lines, &range).to_vec())
        }
        Tab::Headers => {
            let lines: Vec<Line> = e
                .headers
                .iter()
                .map(|(k, v)| {
                    Line::from(vec![
                        Span::styled(format!("{}: ", esc(k)), theme.fg(Color::Cyan)),
                        Span::raw(esc(v).into_owned()),
                    ])
                })
                .collect();
            let lines = wrap_lines(lines, width, 2);
            (lines.len(), window(&lines, &range).to_vec())
        }
        Tab::Raw => raw_lines(&e.body, theme, width, range),
        Tab::Meta => {
            let mut lines = vec![
                kv(theme, "id", &e.id.to_string()),
                kv(theme, "eventKey", &e.event_key),
                kv(theme, "receivedAt", &rfc3339_ms(e.received_at)),
                kv(theme, "method", &e.method),
                kv(theme, "path", &e.path),
                kv(theme, "remoteAddr", &e.remote_addr),
                kv(
                    theme,
                    "contentType",
                    e.content_type.as_deref().unwrap_or("-"),
                ),
                kv(theme, "size", &e.size.to_string()),
                kv(theme, "payloadType", e.payload_type.as_str()),
            ];
            if let Some(v) = &e.verified {
                let mut how = format!("verified ({})", v.scheme.as_str());
                if let Some(id) = &v.delivery_id {
                    how.push_str(&format!(", delivery {id}"));
                }
                if v.by_previous_secret {
                    how.push_str(", by the previous secret");
                }
                lines.push(kv(theme, "verify", &how));
            }
            for (k, v) in &e.query {
                lines.push(kv(theme, &format!("query.{}", esc(k)), v));
            }
            for (k, v) in &e.form {
                lines.push(kv(theme, &format!("form.{}", esc(k)), &v.to_string()));
            }
            for file in &e.files {
                lines.push(kv(
                    theme,
                    "file",
                    &format!("{} {} ({} bytes)", file.field, file.filename, file.size),
                ));
            }
            let lines = wrap_lines(lines, width, 14);
            (lines.len(), window(&lines, &range).to_vec())
        }
    }
}

/// How to open a duplicate's original, from the keymap: `3 then Enter opens it`.
fn open_original_hint() -> String {
    let key = |scopes: &[Scope], action| {
        keymap::bindings(scopes, Access::ReadOnly)
            .find(|b| b.action == action)
            .map(keymap::keys_label)
            .unwrap_or_default()
    };
    format!(
        "{} then {} opens it",
        key(&[Scope::Global], Action::Focus(PaneId::Detail)),
        key(&[Scope::Pane(PaneId::Detail)], Action::Open)
    )
}

/// The Body tab: a summary line, then the decoded body.
fn body_lines(
    d: &Shown,
    e: &crate::domain::Event,
    theme: Theme,
    range: Range<usize>,
) -> (usize, Vec<Line<'static>>) {
    if e.payload_type == PayloadType::Ignore {
        let line = Line::styled(
            format!(
                "Body not kept (payloadType ignore); it was {} bytes.",
                e.size
            ),
            theme.dim(),
        );
        return (1, window(&[line], &range).to_vec());
    }
    let mut lines = Vec::new();
    if range.start == 0 && range.end > 0 {
        lines.push(Line::styled(
            format!("{} · {} bytes", d.body.kind(), e.size),
            theme.dim(),
        ));
    }
    // Ranges over the decoded items, which follow the summary line.
    let items = range.start.saturating_sub(1)..range.end.saturating_sub(1);
    let count = match &d.body {
        Decoded::Empty => {
            let empty = [Line::styled("(empty body)", theme.dim())];
            lines.extend(window(&empty, &items).iter().cloned());
            1
        }
        Decoded::Json(json) => {
            lines.extend(window(json, &items).iter().map(|l| {
                Line::from(
                    l.iter()
                        .map(|(t, s)| Span::styled(s.clone(), theme.token(*t)))
                        .collect::<Vec<_>>(),
                )
            }));
            json.len()
        }
        Decoded::Form(fields) => {
            let w = fields
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0)
                .min(24);
            lines.extend(window(fields, &items).iter().map(|(k, v)| {
                Line::from(vec![
                    Span::styled(format!("{:<w$} ", fit(k, w)), theme.fg(Color::Cyan)),
                    Span::raw(format!("= {v}")),
                ])
            }));
            fields.len()
        }
        Decoded::Multipart(parts) => {
            lines.extend(window(parts, &items).iter().map(|p| match &p.filename {
                // The file's name first; the form field it came in is secondary.
                Some(name) => Line::from(vec![
                    Span::styled("file  ", theme.fg(Color::Yellow)),
                    Span::raw(format!("{name}  ")),
                    Span::styled(
                        format!(
                            "{}, {} bytes, field {}",
                            p.content_type.as_deref().unwrap_or("-"),
                            p.size,
                            p.name
                        ),
                        theme.dim(),
                    ),
                ]),
                None => Line::from(vec![
                    Span::styled("field ", theme.fg(Color::Yellow)),
                    Span::styled(format!("{} ", p.name), theme.fg(Color::Cyan)),
                    Span::raw(format!("= {}", p.preview.as_deref().unwrap_or(""))),
                ]),
            }));
            parts.len()
        }
        Decoded::Text(t) | Decoded::Hex(t) => {
            lines.extend(window(t, &items).iter().map(|l| Line::raw(l.clone())));
            t.len()
        }
    };
    (1 + count, lines)
}

/// The Raw tab: the body as base64, wrapped; only the lines in `range` are encoded.
fn raw_lines(
    body: &[u8],
    theme: Theme,
    width: usize,
    range: Range<usize>,
) -> (usize, Vec<Line<'static>>) {
    if body.is_empty() {
        let empty = [Line::styled("(empty body)", theme.dim())];
        return (1, window(&empty, &range).to_vec());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    // Whole base64 quanta per line, so each line encodes on its own.
    let per_line = (width / 4).max(1) * 3;
    let shown = &body[..body.len().min(RAW_LIMIT / 4 * 3)];
    let full_len = body.len().div_ceil(3) * 4;
    let more = full_len - shown.len().div_ceil(3) * 4;
    let rows = shown.len().div_ceil(per_line);
    let mut lines: Vec<Line> = shown
        .chunks(per_line)
        .skip(range.start)
        .take(range.end.saturating_sub(range.start))
        .map(|c| Line::raw(b64.encode(c)))
        .collect();
    if more > 0 && (range.start..range.end).contains(&rows) {
        lines.push(Line::styled(
            format!("… {more} more characters (event.get has them all)"),
            theme.dim(),
        ));
    }
    (rows + usize::from(more > 0), lines)
}

/// The Runs tab: `height` lines from the selected run's first line on, `scroll` lines down.
/// An event has few runs (one per pipeline that matched it, and runs by hand), so their
/// lines are built whole.
fn runs_lines(
    runs: &Runs,
    theme: Theme,
    width: usize,
    height: usize,
    scroll: usize,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut top = 0;
    for (i, run) in runs.list.items().iter().enumerate() {
        let selected = i == runs.list.selected();
        if selected {
            top = lines.len();
        }
        run_lines(run, selected, theme, width, &mut lines);
    }
    let top = (top + scroll).min(lines.len().saturating_sub(height));
    lines.into_iter().skip(top).take(height).collect()
}

/// One run: a line with its pipeline, status, attempts and duration, its error, then each
/// step with its output or error. Everything from a run is escaped: outputs hold what
/// targets answered.
fn run_lines(run: &Run, selected: bool, theme: Theme, width: usize, out: &mut Vec<Line<'static>>) {
    if !out.is_empty() {
        out.push(Line::raw(""));
    }
    let attempts = match run.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let took = match (run.duration_ms, run.status) {
        (_, RunStatus::Queued | RunStatus::Running) => "…".to_string(),
        (Some(ms), _) => duration(ms),
        (None, _) => "—".to_string(),
    };
    let started = run.started_at.unwrap_or(run.queued_at);
    let mut header = Line::from(vec![
        Span::raw(format!("{} ", esc(&run.pipeline))),
        Span::styled(run.status.as_str(), status_style(theme, run.status)),
        Span::raw(format!("  {attempts}  {took}  ")),
        Span::styled(clock(started), theme.dim()),
    ]);
    if selected {
        header = header.style(theme.selection(true));
    }
    out.push(header);
    let indented = |text: &str, indent: usize, style| {
        wrap(&esc(text), width.saturating_sub(indent))
            .into_iter()
            .map(move |l| Line::styled(format!("{:indent$}{l}", ""), style))
    };
    if let Some(e) = &run.error {
        out.extend(indented(&format!("error: {e}"), 2, theme.error()));
    }
    if let (RunStatus::Failed, Some(at)) = (run.status, run.next_attempt_at) {
        out.push(Line::styled(
            format!("  next attempt at {} UTC", clock(at)),
            theme.dim(),
        ));
    }
    if run.steps.is_empty() {
        out.push(Line::styled("  (no step has run)", theme.dim()));
    }
    let name_w = run
        .steps
        .iter()
        .map(|s| s.step.chars().count())
        .max()
        .unwrap_or(0)
        .min(20);
    for (n, step) in run.steps.iter().enumerate() {
        out.push(step_line(n + 1, step, name_w, theme));
        if let Some(o) = &step.output {
            out.extend(indented(o, 6, Style::new()));
        }
        if let Some(e) = &step.error {
            out.extend(indented(&format!("✗ {e}"), 6, theme.error()));
        }
    }
}

fn step_line(n: usize, step: &StepLog, name_w: usize, theme: Theme) -> Line<'static> {
    let (word, style) = match step.status {
        StepStatus::Ok => ("ok", theme.fg(Color::Green)),
        StepStatus::Skipped => ("skipped", theme.dim()),
        StepStatus::Failed => ("failed", theme.error()),
    };
    Line::from(vec![
        Span::raw(format!("  {n:>2} {} ", fit(&esc(&step.step), name_w))),
        Span::styled(format!("{word:<7}"), style),
        Span::styled(format!(" {}", duration(step.duration_ms)), theme.dim()),
    ])
}
