//! The `?` overlay: every binding, read from the keymap.

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
            // The overlay never has more lines than the keymap has bindings and groups.
            Some(Action::Down) => {
                self.scroll = self
                    .scroll
                    .saturating_add(1)
                    .min(keymap::KEYMAP.len() as u16)
            }
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
        Reply::default()
    }

    pub(super) fn draw(&self, f: &mut Frame, theme: Theme, access: Access) {
        let mut lines: Vec<Line> = Vec::new();
        for scope in Scope::listed() {
            let one = [scope];
            let mut group = keymap::bindings(&one, access).peekable();
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
            .border_style(theme.fg(ratatui::style::Color::Cyan));
        let inner = block.inner(r);
        f.render_widget(block, r);
        // Two columns when the list is taller than the popup.
        let rows = inner.height as usize;
        let scroll = (self.scroll, 0);
        if lines.len() > rows && inner.width >= 70 {
            let half = lines.len().div_ceil(2);
            let right = lines.split_off(half);
            let [lc, rc] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(inner);
            f.render_widget(Paragraph::new(lines).scroll(scroll), lc);
            f.render_widget(Paragraph::new(right).scroll(scroll), rc);
        } else {
            f.render_widget(Paragraph::new(lines).scroll(scroll), inner);
        }
    }
}
