//! The `?` overlay: every binding, read from the keymap. Each heading stays with its keys,
//! and when the keys do not all fit, the border says there is more and where.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::Reply;
use crate::tui::keymap::{self, Access, Action, Scope};
use crate::tui::theme::{Theme, centered};

#[derive(Debug, Clone, Default)]
pub struct Help {
    pub scroll: u16,
}

impl Help {
    pub(super) fn key(&mut self, action: Option<Action>) -> Reply {
        match action {
            Some(Action::CloseHelp) => return Reply::close(),
            // The overlay never has more lines than the keymap has bindings and groups;
            // drawing clamps the rest.
            Some(Action::Down) => {
                self.scroll = self
                    .scroll
                    .saturating_add(1)
                    .min(2 * keymap::KEYMAP.len() as u16)
            }
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
        Reply::default()
    }

    pub(super) fn draw(&self, f: &mut Frame, theme: Theme, access: Access) {
        let groups = groups(theme, access);
        let area = f.area();
        // As wide as the terminal allows, for up to three columns.
        let width = if area.width >= 100 {
            (area.width - 4).min(124)
        } else {
            area.width
        };
        let r = centered(area, width, area.height.saturating_sub(2));
        f.render_widget(Clear, r);
        let rows = r.height.saturating_sub(2) as usize;
        // Only as many columns as fit whole: a key's label is never cut to make room.
        let widest = groups.iter().flatten().map(Line::width).max().unwrap_or(0) + 2;
        let n = (r.width.saturating_sub(2) as usize / widest).clamp(1, 3);
        let columns = pack(groups, rows, n);
        let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
        let scroll = (self.scroll as usize).min(tallest.saturating_sub(rows));
        let mut block = Block::bordered()
            .title(" Keys (Esc closes) ")
            .border_style(theme.fg(ratatui::style::Color::Cyan));
        if scroll > 0 {
            block = block.title_top(Line::from(" ↑ k: more above ").right_aligned());
        }
        if scroll + rows < tallest {
            let below = tallest - rows - scroll;
            block = block
                .title_bottom(Line::from(format!(" ↓ j: {below} more lines ")).right_aligned());
        }
        let inner = block.inner(r);
        f.render_widget(block, r);
        let constraints = vec![Constraint::Length(widest as u16); columns.len()];
        let areas = Layout::horizontal(constraints).split(inner);
        for (lines, a) in columns.into_iter().zip(areas.iter()) {
            f.render_widget(Paragraph::new(lines).scroll((scroll as u16, 0)), *a);
        }
    }
}

/// Each listed scope's heading and keys.
fn groups(theme: Theme, access: Access) -> Vec<Vec<Line<'static>>> {
    let mut out = Vec::new();
    for scope in Scope::listed() {
        let one = [scope];
        let mut lines = vec![Line::styled(
            scope.title(),
            Style::new().add_modifier(Modifier::BOLD),
        )];
        lines.extend(keymap::bindings(&one, access).map(|b| {
            Line::from(vec![
                Span::styled(format!("  {:<13}", keymap::keys_label(b)), theme.key()),
                Span::raw(b.label),
            ])
        }));
        if lines.len() > 1 {
            out.push(lines);
        }
    }
    out
}

/// Lays whole groups out in `n` columns of `rows` lines, top to bottom then left to right;
/// a group that does not fit where a column has room starts the next one. What is left
/// goes in the last column, which then scrolls.
fn pack(groups: Vec<Vec<Line<'static>>>, rows: usize, n: usize) -> Vec<Vec<Line<'static>>> {
    let mut columns: Vec<Vec<Line>> = vec![Vec::new()];
    for g in groups {
        let col = columns.len() - 1;
        let gap = usize::from(!columns[col].is_empty());
        if columns[col].len() + gap + g.len() > rows && gap == 1 && columns.len() < n {
            columns.push(Vec::new());
        }
        let last = columns.len() - 1;
        if !columns[last].is_empty() {
            columns[last].push(Line::raw(""));
        }
        columns[last].extend(g);
    }
    columns
}
