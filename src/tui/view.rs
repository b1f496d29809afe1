//! Drawing: pure functions of the App's state. Every string that came from a caller passes
//! through `esc` before it reaches the terminal.

use std::ops::Range;

use base64::Engine;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::app::{App, Confirm, Detail, Field, Form, Mode, Tab};
use super::keymap::{self, Pane, Scope};
use crate::domain::decode::{Decoded, Token};
use crate::domain::escape::escape_control as esc;
use crate::domain::time::rfc3339_ms;
use crate::domain::{PayloadType, Record};

/// Below this the dashboard shows only a request to enlarge the terminal.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;
/// From this width on, Webhooks and Events sit side by side.
const SIDE_BY_SIDE: u16 = 100;
/// Most base64 characters the Raw tab shows.
const RAW_LIMIT: usize = 64 * 1024;

/// Colours, or none at all under `NO_COLOR`. Selection is always reverse video.
#[derive(Clone, Copy)]
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    fn token(self, t: Token) -> Style {
        match t {
            Token::Key => self.fg(Color::Cyan),
            Token::Str => self.fg(Color::Green),
            Token::Num => self.fg(Color::Yellow),
            Token::Bool | Token::Null => self.fg(Color::Magenta),
            Token::Punct | Token::Plain => Style::new(),
        }
    }
}

struct Areas {
    header: Rect,
    webhooks: Rect,
    events: Rect,
    detail: Rect,
    hints: Rect,
}

fn areas(area: Rect) -> Areas {
    let [header, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let (webhooks, events, detail) = if area.width >= SIDE_BY_SIDE {
        let [top, detail] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        let [webhooks, events] =
            Layout::horizontal([Constraint::Percentage(36), Constraint::Percentage(64)]).areas(top);
        (webhooks, events, detail)
    } else {
        // Narrow terminals stack the panes, so that eventKeys keep the full width.
        let [webhooks, events, detail] = Layout::vertical([
            Constraint::Percentage(25),
            Constraint::Percentage(40),
            Constraint::Percentage(35),
        ])
        .areas(body);
        (webhooks, events, detail)
    };
    Areas {
        header,
        webhooks,
        events,
        detail,
        hints,
    }
}

/// Rows of the Events list for a terminal of this size.
pub fn events_rows(size: (u16, u16)) -> usize {
    areas(Rect::new(0, 0, size.0, size.1))
        .events
        .height
        .saturating_sub(2) as usize
}

pub fn draw(f: &mut Frame, app: &App) {
    let theme = Theme {
        color: app.config.color,
    };
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "Terminal too small: {}x{}. hooktail needs {MIN_WIDTH}x{MIN_HEIGHT}. q quits.",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let a = areas(area);
    header(f, app, theme, a.header);
    webhooks(f, app, theme, a.webhooks);
    events(f, app, theme, a.events);
    detail(f, app, theme, a.detail);
    hints(f, app, theme, a.hints);
    if let Some((text, _)) = &app.toast {
        toast(f, theme, text, a.detail);
    }
    match &app.mode {
        Mode::Normal | Mode::Filter(_) => {}
        Mode::Help { scroll } => help(f, app, theme, *scroll),
        Mode::Form(form) => form_popup(f, app, theme, form),
        Mode::Confirm(c) => confirm(f, theme, c),
    }
}

fn pane_block(title: Line<'static>, focused: bool, theme: Theme) -> Block<'static> {
    let mut b = Block::new().borders(Borders::ALL).title(title);
    if focused {
        b = b
            .border_type(BorderType::Thick)
            .border_style(theme.fg(Color::Cyan).add_modifier(Modifier::BOLD));
    } else {
        b = b.border_style(theme.dim());
    }
    b
}

fn header(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let status = if app.stream.follow {
        Span::styled(
            " LIVE ",
            theme
                .fg(Color::Green)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    } else {
        Span::styled(
            format!(" PAUSED +{} ", app.stream.missed),
            theme
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    };
    // Long labels when they fit, short ones on narrow terminals; the state always shows.
    let (a, r) = app.counts;
    let n = app.webhooks.len();
    let long = [
        format!("{n} webhooks"),
        format!("{} events", group(a)),
        format!("{} rejected", group(r)),
        format!("{:.1} ev/s", app.rate()),
    ];
    let short = [
        format!("{n} wh"),
        format!("{} ev", compact(a)),
        format!("{} rej", compact(r)),
        format!("{:.1}/s", app.rate()),
    ];
    let read_only = if app.config.read_only { " RO" } else { "" };
    let fixed = 10 + status.width() + app.config.listen_url.len() + 3 + read_only.len();
    let width = |parts: &[String]| parts.iter().map(|p| p.chars().count() + 3).sum::<usize>();
    let parts = if fixed + width(&long) <= area.width as usize {
        long
    } else {
        short
    };
    let sep = Span::styled(" │ ", theme.dim());
    let mut spans = vec![
        Span::styled(" hooktail ", Style::new().add_modifier(Modifier::BOLD)),
        status,
        Span::styled(read_only, theme.fg(Color::Magenta)),
        sep.clone(),
        Span::raw(app.config.listen_url.clone()),
    ];
    for p in parts {
        spans.push(sep.clone());
        spans.push(Span::raw(p));
    }
    f.render_widget(Line::from(spans), area);
}

/// 1234567 → 1,234,567
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn size_label(n: u64) -> String {
    match n {
        0..1000 => format!("{n}B"),
        1000..1_000_000 => format!("{:.1}K", n as f64 / 1000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

fn ago(now: i64, then: Option<i64>) -> String {
    let Some(then) = then else {
        return "—".into();
    };
    let s = ((now - then) / 1000).max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// Fits `s` into `w` columns, marking a cut with `…`.
fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return format!("{s:<w$}");
    }
    if w == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(w - 1).collect();
    out.push('…');
    out
}

/// The first row shown so that `selected` is visible in `rows` rows.
fn offset(selected: usize, rows: usize) -> usize {
    (selected + 1).saturating_sub(rows.max(1))
}

fn filter_title(base: &str, filter: &str, extra: Option<&str>) -> String {
    let mut t = format!(" {base} ");
    if let Some(x) = extra {
        t.push_str(&format!("· {} ", esc(x)));
    }
    if !filter.is_empty() {
        t.push_str(&format!("· /{} ", esc(filter)));
    }
    t
}

fn webhooks(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let focused = app.focus == Pane::Webhooks;
    let list = app.visible_webhooks();
    let title = filter_title(
        &format!("1 Webhooks ({})", list.len()),
        &app.webhook_filter,
        None,
    );
    let block = pane_block(Line::from(title), focused, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if list.is_empty() {
        let msg = if app.webhooks.is_empty() {
            if app.config.read_only {
                "No webhooks yet."
            } else {
                "No webhooks yet. Press n to create one."
            }
        } else {
            "No webhook matches the filter."
        };
        f.render_widget(
            Paragraph::new(msg)
                .style(theme.dim())
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let w = inner.width as usize;
    let rows = inner.height as usize;
    // The token column goes first when eventKeys would be cut.
    let longest = list
        .iter()
        .map(|r| r.webhook.event_key.chars().count())
        .max()
        .unwrap_or(0);
    let wide = w >= longest + 20;
    let right = if wide { 20 } else { 11 };
    let key_w = w.saturating_sub(right);
    let start = offset(app.webhook_selected, rows);
    let lines: Vec<Line> = list
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(i, row)| {
            let wh = &row.webhook;
            let mut spans = vec![Span::raw(fit(&wh.event_key, key_w))];
            if wide {
                spans.push(Span::styled(format!(" {}", wh.token_prefix()), theme.dim()));
            }
            spans.push(Span::raw(format!(" {:>5}", compact(row.stats.events))));
            spans.push(Span::styled(
                format!(" {:>4}", ago(app.now_ms, row.stats.last_at)),
                theme.dim(),
            ));
            let mut line = Line::from(spans);
            if i == app.webhook_selected {
                line = line.style(theme.selected());
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn compact(n: u64) -> String {
    match n {
        0..100_000 => n.to_string(),
        100_000..100_000_000 => format!("{}k", n / 1000),
        _ => format!("{}M", n / 1_000_000),
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

fn clock(ms: i64) -> String {
    rfc3339_ms(ms).get(11..19).unwrap_or("--:--:--").to_string()
}

fn events(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let s = &app.stream;
    let focused = app.focus == Pane::Events;
    let title = filter_title("2 Events (UTC)", &s.filter, s.narrow.as_deref());
    let block = pane_block(Line::from(title), focused, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if s.window.is_empty() {
        let msg = if s.loading {
            "Loading…"
        } else if s.filter.is_empty() && s.narrow.is_none() {
            "No events yet. Send one to a webhook's URL."
        } else {
            "No event matches."
        };
        f.render_widget(Paragraph::new(msg).style(theme.dim()), inner);
        return;
    }
    let rows = inner.height as usize;
    let w = inner.width as usize;
    let start = offset(s.selected, rows);
    let lines: Vec<Line> = s
        .window
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(i, r)| {
            let mut line = event_line(r, theme, w);
            if i == s.selected {
                line = line.style(theme.selected());
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn event_line(r: &Record, theme: Theme, w: usize) -> Line<'static> {
    match r {
        Record::Accepted(e) => {
            let fixed = 8 + 4 + 5 + 7 + 6;
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

fn detail(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let focused = app.focus == Pane::Detail;
    let mut title = vec![Span::raw(" 3 Detail ")];
    if let Some(d) = &app.detail {
        for t in Tab::ALL {
            let style = if t == d.tab {
                theme.selected().add_modifier(Modifier::BOLD)
            } else {
                theme.dim()
            };
            title.push(Span::styled(format!(" {} ", t.title()), style));
        }
        title.push(Span::raw(" "));
    }
    let block = pane_block(Line::from(title), focused, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(d) = &app.detail else {
        f.render_widget(
            Paragraph::new("Select an event and press Enter to open it here.").style(theme.dim()),
            inner,
        );
        return;
    };
    let (width, height) = (inner.width as usize, inner.height as usize);
    // Only the lines on screen are built, so a large body costs no more per frame than a
    // small one.
    let (total, _) = detail_lines(d, theme, width, 0..0);
    let scroll = (d.scroll as usize).min(total.saturating_sub(height));
    let (_, visible) = detail_lines(d, theme, width, scroll..scroll + height);
    f.render_widget(Paragraph::new(visible), inner);
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

/// The detail's line count, and its lines in `range`.
fn detail_lines(
    d: &Detail,
    theme: Theme,
    width: usize,
    range: Range<usize>,
) -> (usize, Vec<Line<'static>>) {
    let e = match &d.record {
        Record::Accepted(e) => e,
        Record::Rejected(x) => {
            let lines = vec![
                Line::styled(
                    format!("Rejected with HTTP {}", x.http_status),
                    theme.error(),
                ),
                kv(theme, "reason", &x.reason),
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
            ];
            return (lines.len(), window(&lines, &range).to_vec());
        }
    };
    match d.tab {
        Tab::Body => body_lines(d, e, theme, range),
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
            (lines.len(), window(&lines, &range).to_vec())
        }
    }
}

/// The Body tab: a summary line, then the decoded body.
fn body_lines(
    d: &Detail,
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
                Some(name) => Line::from(vec![
                    Span::styled("file  ", theme.fg(Color::Yellow)),
                    Span::styled(format!("{} ", p.name), theme.fg(Color::Cyan)),
                    Span::raw(format!("{name}  ")),
                    Span::styled(
                        format!(
                            "{}  {} bytes",
                            p.content_type.as_deref().unwrap_or("-"),
                            p.size
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

fn hints(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    if let Mode::Filter(input) = &app.mode {
        let label = match app.focus {
            Pane::Webhooks => " Filter webhooks: ",
            _ => " Filter events (Enter applies): ",
        };
        let [l, r] = Layout::horizontal([
            Constraint::Length(label.chars().count() as u16),
            Constraint::Min(1),
        ])
        .areas(area);
        f.render_widget(Span::styled(label, theme.key()), l);
        let mut input = input.as_ref().clone();
        input.set_cursor_line_style(Style::new());
        f.render_widget(&input, r);
        return;
    }
    let mut spans = Vec::new();
    let mut used = 0;
    let width = area.width as usize;
    for b in keymap::bindings(&app.scopes(), app.config.read_only).filter(|b| b.hint) {
        let keys = keymap::keys_label(b);
        let len = keys.chars().count() + b.label.chars().count() + 3;
        if used + len > width {
            break;
        }
        used += len;
        spans.push(Span::styled(format!(" {keys}"), theme.key()));
        spans.push(Span::raw(format!(" {} ", b.label)));
    }
    f.render_widget(Line::from(spans), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn toast(f: &mut Frame, theme: Theme, text: &str, over: Rect) {
    let w = (text.chars().count() as u16 + 4).min(over.width);
    let r = Rect::new(
        over.x + over.width - w,
        over.y + over.height.saturating_sub(3),
        w,
        3,
    );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(esc(text).into_owned())
            .block(Block::bordered().border_style(theme.fg(Color::Green))),
        r,
    );
}

fn help(f: &mut Frame, app: &App, theme: Theme, scroll: u16) {
    let scopes = [
        Scope::Global,
        Scope::Webhooks,
        Scope::Events,
        Scope::Detail,
        Scope::FilterInput,
        Scope::Form,
        Scope::Dialog,
    ];
    let mut lines: Vec<Line> = Vec::new();
    for scope in scopes {
        let one = [scope];
        let mut group = keymap::bindings(&one, app.config.read_only).peekable();
        if group.peek().is_none() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(
            scope.title(),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for b in group {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<13}", keymap::keys_label(b)), theme.key()),
                Span::raw(b.label),
            ]));
        }
    }
    let area = f.area();
    let r = centered(area, 84.min(area.width), area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let block = Block::bordered()
        .title(" Keys (Esc closes, j/k scroll) ")
        .border_style(theme.fg(Color::Cyan));
    let inner = block.inner(r);
    f.render_widget(block, r);
    // Two columns when the list is taller than the popup.
    let rows = inner.height as usize;
    if lines.len() > rows && inner.width >= 70 {
        let half = lines.len().div_ceil(2);
        let right = lines.split_off(half);
        let [lc, rc] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(inner);
        f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), lc);
        f.render_widget(Paragraph::new(right).scroll((scroll, 0)), rc);
    } else {
        f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
    }
}

fn form_popup(f: &mut Frame, app: &App, theme: Theme, form: &Form) {
    let title = if form.editing.is_some() {
        " Edit webhook "
    } else {
        " New webhook "
    };
    let r = centered(f.area(), 64, 13);
    f.render_widget(Clear, r);
    let block = Block::bordered()
        .title(title)
        .border_style(theme.fg(Color::Cyan));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let rows = Layout::vertical([Constraint::Length(1); 11]).split(inner);
    let label = |text: &str, field: Option<Field>| {
        let style = if field == Some(form.field) {
            theme.key()
        } else {
            Style::new()
        };
        Span::styled(format!("{text:<18}"), style)
    };
    let split = |row: Rect| {
        Layout::horizontal([Constraint::Length(18), Constraint::Min(1)]).areas::<2>(row)
    };
    let uuid = match form.editing {
        Some(u) => u.to_string(),
        None => "(new, random)".into(),
    };
    f.render_widget(
        Line::from(vec![
            label("uuid (fixed)", None),
            Span::styled(uuid, theme.dim()),
        ]),
        rows[0],
    );
    let text_field = |f: &mut Frame,
                      row: Rect,
                      name: &str,
                      field: Field,
                      input: &ratatui_textarea::TextArea<'static>| {
        let [l, r] = split(row);
        f.render_widget(label(name, Some(field)), l);
        let mut input = input.clone();
        input.set_cursor_line_style(Style::new().add_modifier(Modifier::UNDERLINED));
        if form.field != field {
            input.set_cursor_style(Style::new());
        }
        f.render_widget(&input, r);
    };
    let error_row = |f: &mut Frame, row: Rect, e: &Option<String>| {
        if let Some(e) = e {
            let [_, r] = split(row);
            f.render_widget(Span::styled(format!("✗ {e}"), theme.error()), r);
        }
    };
    text_field(f, rows[2], "eventKey", Field::EventKey, &form.event_key);
    error_row(f, rows[3], &form.errors.event_key);
    let [l, rr] = split(rows[4]);
    f.render_widget(label("payloadType", Some(Field::PayloadType)), l);
    let choices: Vec<Span> = PayloadType::ALL
        .iter()
        .map(|t| {
            if *t == form.payload_type {
                Span::styled(format!("[{}] ", t.as_str()), theme.selected())
            } else {
                Span::raw(format!(" {}  ", t.as_str()))
            }
        })
        .collect();
    f.render_widget(Line::from(choices), rr);
    error_row(f, rows[5], &form.errors.payload_type);
    text_field(
        f,
        rows[6],
        "maxPayloadLength",
        Field::MaxPayloadLength,
        &form.max_payload_length,
    );
    error_row(f, rows[7], &form.errors.max_payload_length);
    if let Some(e) = &form.error {
        f.render_widget(Span::styled(format!("✗ {e}"), theme.error()), rows[8]);
    }
    let footer = if form.saving {
        "Saving…".to_string()
    } else {
        format!("limit: at most {} bytes", app.config.max_payload)
    };
    f.render_widget(Span::styled(footer, theme.dim()), rows[10]);
}

fn confirm(f: &mut Frame, theme: Theme, c: &Confirm) {
    let r = centered(f.area(), 56, 8);
    f.render_widget(Clear, r);
    let block = Block::bordered()
        .title(" Delete webhook ")
        .border_style(theme.error());
    let inner = block.inner(r);
    f.render_widget(block, r);
    let button = |text: &str, focused: bool| {
        if focused {
            Span::styled(
                format!("[ {text} ]"),
                theme.selected().add_modifier(Modifier::BOLD),
            )
        } else {
            Span::raw(format!("  {text}  "))
        }
    };
    let lines = vec![
        Line::from(vec![
            Span::raw("Delete "),
            Span::styled(
                c.event_key.clone(),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw("?"),
        ]),
        Line::styled(
            "Its URL stops working at once. Stored events stay.",
            theme.dim(),
        ),
        Line::raw(""),
        Line::from(vec![
            Span::raw("       "),
            button("Cancel", !c.delete_focused),
            Span::raw("     "),
            button("Delete", c.delete_focused),
        ]),
    ];
    f.render_widget(Paragraph::new(lines), inner);
}
