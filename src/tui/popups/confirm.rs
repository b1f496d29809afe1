//! The delete confirmation; it names the webhook, and Cancel is focused when it opens.

use ratatui::Frame;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use uuid::Uuid;

use super::Reply;
use crate::tui::keymap::Action;
use crate::tui::msg::Effect;
use crate::tui::theme::{Theme, centered};

#[derive(Debug, Clone)]
pub struct Confirm {
    pub uuid: Uuid,
    pub event_key: String,
    pub delete_focused: bool,
}

impl Confirm {
    pub fn new(uuid: Uuid, event_key: String) -> Confirm {
        Confirm {
            uuid,
            event_key,
            delete_focused: false,
        }
    }

    pub(super) fn key(&mut self, action: Option<Action>) -> Reply {
        match action {
            Some(Action::SwitchButton) => {
                self.delete_focused = !self.delete_focused;
                Reply::default()
            }
            Some(Action::Press) => Reply {
                effects: if self.delete_focused {
                    vec![Effect::Delete(self.uuid)]
                } else {
                    vec![]
                },
                ..Reply::close()
            },
            Some(Action::Cancel) => Reply::close(),
            _ => Reply::default(),
        }
    }

    pub(super) fn draw(&self, f: &mut Frame, theme: Theme) {
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
                    self.event_key.clone(),
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
                button("Cancel", !self.delete_focused),
                Span::raw("     "),
                button("Delete", self.delete_focused),
            ]),
        ];
        f.render_widget(Paragraph::new(lines), inner);
    }
}
