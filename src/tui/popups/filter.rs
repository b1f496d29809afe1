//! The `/` filter of a list pane, typed in the hint bar.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui_textarea::TextArea;

use super::Reply;
use crate::tui::key::{Code, Key};
use crate::tui::keymap::{Action, PaneId};
use crate::tui::theme::Theme;

#[derive(Debug, Clone)]
pub struct Filter {
    /// The pane it filters.
    pub pane: PaneId,
    pub input: TextArea<'static>,
    /// Shown before the input.
    label: &'static str,
    /// Applied at each key (a list held in memory) rather than on Enter (one paged from the
    /// store).
    as_you_type: bool,
    /// Starts a search of the events' bodies rather than filtering the pane.
    pub bodies: bool,
}

impl Filter {
    pub fn new(pane: PaneId, current: &str, label: &'static str, as_you_type: bool) -> Filter {
        // The current text starts selected: typing replaces it, a move keeps it to edit.
        let mut input = super::single_line(current);
        if !current.is_empty() {
            input.move_cursor(ratatui_textarea::CursorMove::Head);
            input.start_selection();
            input.move_cursor(ratatui_textarea::CursorMove::End);
        }
        Filter {
            pane,
            input,
            label,
            as_you_type,
            bodies: false,
        }
    }

    /// The input for a search of the events' bodies.
    pub fn bodies() -> Filter {
        Filter {
            bodies: true,
            ..Filter::new(
                PaneId::Events,
                "",
                " Search bodies (Enter starts; Esc in Events stops): ",
                false,
            )
        }
    }

    fn text(&self) -> String {
        self.input.lines().join("").trim().to_string()
    }

    pub(super) fn key(&mut self, key: Key, action: Option<Action>) -> Reply {
        match action {
            Some(Action::Submit) => Reply {
                filter: Some(self.text()),
                ..Reply::close()
            },
            Some(Action::Cancel) => Reply {
                filter: Some(String::new()),
                ..Reply::close()
            },
            _ => {
                if action == Some(Action::ClearInput) {
                    self.input.move_cursor(ratatui_textarea::CursorMove::End);
                    self.input.delete_line_by_head();
                } else {
                    // A move ends the selection; typing or deleting replaces it.
                    if !matches!(key.code, Code::Char(_) | Code::Backspace | Code::Delete) {
                        self.input.cancel_selection();
                    }
                    self.input.input(key.to_input());
                }
                Reply {
                    filter: self.as_you_type.then(|| self.text()),
                    ..Reply::default()
                }
            }
        }
    }

    pub(super) fn draw(&self, f: &mut Frame, area: Rect, theme: Theme) {
        let [l, r] = Layout::horizontal([
            Constraint::Length(self.label.chars().count() as u16),
            Constraint::Min(1),
        ])
        .areas(area);
        f.render_widget(Span::styled(self.label, theme.key()), l);
        let mut input = self.input.clone();
        input.set_cursor_line_style(Style::new());
        input.set_selection_style(theme.selected());
        f.render_widget(&input, r);
    }
}
