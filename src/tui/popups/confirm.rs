//! The delete confirmation; it names what goes, and Cancel is focused when it opens.

use ratatui::Frame;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::Reply;
use uuid::Uuid;

use crate::domain::Webhook;
use crate::service::replay::Replay;
use crate::tui::keymap::Action;
use crate::tui::msg::Effect;
use crate::tui::theme::{Theme, centered};

#[derive(Debug, Clone)]
pub struct Confirm {
    /// The border's title.
    pub title: &'static str,
    /// What goes: an eventKey, a pipeline's name.
    pub name: String,
    /// What doing it means.
    pub note: &'static str,
    /// The question's verb and the button's word: Delete, Replay.
    pub verb: &'static str,
    /// Performed when Delete is pressed.
    pub effect: Effect,
    pub delete_focused: bool,
}

impl Confirm {
    pub fn webhook(w: &Webhook) -> Confirm {
        Confirm {
            title: " Delete webhook ",
            name: w.event_key.clone(),
            note: "Its URL stops working at once. Stored events stay.",
            verb: "Delete",
            effect: Effect::Delete(w.uuid),
            delete_focused: false,
        }
    }

    pub fn pipeline(name: &str) -> Confirm {
        Confirm {
            title: " Delete pipeline ",
            name: name.to_string(),
            note: "It stops running at once. Its runs stay till pruned.",
            verb: "Delete",
            effect: Effect::DeletePipeline(name.to_string()),
            delete_focused: false,
        }
    }

    /// Running an event again through the pipelines that listen to it.
    pub fn replay(id: Uuid, event_key: &str) -> Confirm {
        Confirm {
            title: " Replay event ",
            name: event_key.to_string(),
            note: "Every enabled pipeline that listens runs it again.",
            verb: "Replay",
            effect: Effect::Replay(id, Replay::Pipelines(None)),
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
                    vec![self.effect.clone()]
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
            .title(self.title)
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
                Span::raw(format!("{} ", self.verb)),
                Span::styled(self.name.clone(), Style::new().add_modifier(Modifier::BOLD)),
                Span::raw("?"),
            ]),
            Line::styled(self.note, theme.dim()),
            Line::raw(""),
            Line::from(vec![
                Span::raw("       "),
                button("Cancel", !self.delete_focused),
                Span::raw("     "),
                button(self.verb, self.delete_focused),
            ]),
        ];
        f.render_widget(Paragraph::new(lines), inner);
    }
}
