//! Drawing the whole screen, a pure function of the core's state: the header, each pane in
//! its place, the hint bar, the toast and the open popup. Every string that came from a
//! caller passes through `esc` before it reaches the terminal.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::keymap::{self, PaneId};
use super::layout::{MIN_HEIGHT, MIN_WIDTH, areas};
use super::panes::DrawCx;
use super::state::Dashboard;
use super::text::{compact, group, plural};
use super::theme::Theme;
use crate::domain::escape::escape_control as esc;

pub fn draw(f: &mut Frame, d: &Dashboard) {
    let theme = Theme {
        color: d.config.color,
    };
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "Terminal too small: {}x{}. hooktail needs {MIN_WIDTH}x{MIN_HEIGHT}. q quits.",
            area.width, area.height
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let a = areas(area);
    header(f, d, theme, a.header);
    for id in PaneId::ALL {
        let cx = DrawCx {
            config: &d.config,
            theme,
            focused: d.focus == id,
            now_ms: d.now_ms,
            times: d.times,
        };
        // While Webhooks has focus, Detail's place shows the selected webhook whole.
        if id == PaneId::Detail && d.focus == PaneId::Webhooks {
            d.panes.webhooks.draw_selected(f, a.pane(id), &cx);
        } else {
            d.panes.get(id).draw(f, a.pane(id), &cx);
        }
    }
    if !d.popup.as_ref().is_some_and(|p| p.covers_hints()) {
        hints(f, d, theme, a.hints);
    }
    if let Some((text, _)) = &d.toast {
        toast(f, theme, text, a.pane(PaneId::Detail));
    }
    if let Some(p) = &d.popup {
        p.draw(f, a.hints, theme, &d.config);
    }
}

fn header(f: &mut Frame, d: &Dashboard, theme: Theme, area: Rect) {
    let events = &d.panes.events;
    let status = if events.follow {
        Span::styled(
            " LIVE ",
            theme
                .fg(Color::Green)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    } else {
        Span::styled(
            format!(" PAUSED +{} ", events.missed),
            theme
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    };
    // Long labels when they fit, short ones on narrow terminals, then fewer: the state and
    // the rate always show.
    let (a, r) = d.counts;
    let n = d.panes.webhooks.count();
    let rate = d.rate();
    let url = d.config.listen_url.clone();
    let long = [
        url.clone(),
        plural(n, "webhook"),
        format!("{} events", group(a)),
        format!("{} rejected", group(r)),
        format!("{rate:.1} ev/s"),
    ];
    let short = [
        url,
        format!("{n} wh"),
        format!("{} ev", compact(a)),
        format!("{} rej", compact(r)),
        format!("{rate:.1}/s"),
    ];
    let read_only = if d.config.read_only { " RO" } else { "" };
    let fixed = 10 + status.width() + read_only.len();
    let width = |parts: &[String]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.chars().count() + 3)
            .sum::<usize>()
    };
    let mut parts = if fixed + width(&long) <= area.width as usize {
        long.to_vec()
    } else {
        short.to_vec()
    };
    // Dropped first: the URL (in the help and README), the webhook count (in its pane's
    // title), the rejected count, the event count.
    for drop in [0, 1, 3, 2] {
        if fixed + width(&parts) <= area.width as usize {
            break;
        }
        parts[drop].clear();
    }
    let sep = Span::styled(" │ ", theme.dim());
    let mut spans = vec![
        Span::styled(" hooktail ", Style::new().add_modifier(Modifier::BOLD)),
        status,
        Span::styled(read_only, theme.fg(Color::Magenta)),
    ];
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        spans.push(sep.clone());
        spans.push(Span::raw(p));
    }
    f.render_widget(Line::from(spans), area);
}

/// The keys of the current scopes that fit, read from the keymap: each with its first key
/// only, and a later short one still shown when a long one does not fit.
fn hints(f: &mut Frame, d: &Dashboard, theme: Theme, area: Rect) {
    let mut spans = Vec::new();
    let mut used = 0;
    let width = area.width as usize;
    let offered = keymap::effective(&d.scopes(), d.config.access());
    for b in offered.iter().filter(|b| b.hint && d.applies(b.action)) {
        let Some(key) = b.keys.first() else { continue };
        let key = key.to_string();
        // " key label", and a space before the next.
        let len = key.chars().count() + b.label.chars().count() + 2;
        if used + len > width {
            continue;
        }
        used += len + 1;
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::raw(format!(" {} ", b.label)));
    }
    f.render_widget(Line::from(spans), area);
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
