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
use super::msg::Link;
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
    let place = place(d);
    let long = [
        place.clone(),
        plural(n, "webhook"),
        format!("{} event{}", group(a), if a == 1 { "" } else { "s" }),
        format!("{} rejected", group(r)),
        format!("{rate:.1} ev/s"),
    ];
    // Narrow and attached: plain http:// goes (https:// stays: it says the link is
    // encrypted).
    let short = [
        match place.split_once("attached to http://") {
            Some((_, after)) => format!("attached to {after}"),
            None => place,
        },
        format!("{n} wh"),
        format!("{} ev", compact(a)),
        format!("{} rej", compact(r)),
        format!("{rate:.1}/s"),
    ];
    let read_only = if d.config.read_only { " RO" } else { "" };
    let state = link_state(d, theme);
    let fixed = 10 + status.width() + state.width() + read_only.len();
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
    // title), the rejected count, the event count. Attached, the server's address is kept
    // longer: which server it is matters more than counts.
    let order = match d.link {
        Link::Local => [0, 1, 3, 2],
        Link::Attached | Link::Reconnecting => [1, 3, 0, 2],
    };
    for drop in order {
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
        state,
    ];
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        spans.push(sep.clone());
        spans.push(Span::raw(p));
    }
    f.render_widget(Line::from(spans), area);
}

/// Where the data comes from: the listen URL, or the attached server.
fn place(d: &Dashboard) -> String {
    match d.link {
        Link::Local => d.config.listen_url.clone(),
        Link::Attached | Link::Reconnecting => format!("attached to {}", d.config.listen_url),
    }
}

/// ` reconnecting… ` while an attached server does not answer: a word, not colour alone,
/// placed early in the header so that it shows at any width.
fn link_state(d: &Dashboard, theme: Theme) -> Span<'static> {
    match d.link {
        Link::Reconnecting => Span::styled(
            " reconnecting… ",
            theme
                .fg(Color::Red)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ),
        Link::Local | Link::Attached => Span::raw(""),
    }
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
