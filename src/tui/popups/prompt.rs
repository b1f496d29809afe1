//! A one-line prompt for an action on an event: the URL to forward it to (the last one
//! offered again), or the path to save its body or one of its files to. Errors show inside
//! it; saving over an existing file takes a second Enter.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui_textarea::TextArea;
use uuid::Uuid;

use super::Reply;
use crate::service::replay::Replay;
use crate::tui::key::Key;
use crate::tui::keymap::{Action, cycle};
use crate::tui::msg::Effect;
use crate::tui::theme::{Theme, centered};

#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: Uuid,
    pub input: TextArea<'static>,
    pub purpose: Purpose,
    /// The last failure, shown under the input.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Forward,
    /// `choices[0]` is the body, then each multipart file; `default_paths` match them.
    Save {
        choices: Vec<String>,
        default_paths: Vec<String>,
        chosen: usize,
        /// The path was found to exist: Enter again overwrites it.
        overwrite: bool,
    },
}

impl Prompt {
    pub fn forward(id: Uuid, last_url: &str) -> Prompt {
        Prompt {
            id,
            input: super::single_line(last_url),
            purpose: Purpose::Forward,
            error: None,
        }
    }

    /// `choices` and `default_paths` pair up; the first is the body.
    pub fn save(id: Uuid, choices: Vec<String>, default_paths: Vec<String>) -> Prompt {
        let first = default_paths.first().cloned().unwrap_or_default();
        Prompt {
            id,
            input: super::single_line(&first),
            purpose: Purpose::Save {
                choices,
                default_paths,
                chosen: 0,
                overwrite: false,
            },
            error: None,
        }
    }

    pub fn text(&self) -> String {
        self.input.lines().join("").trim().to_string()
    }

    /// The save failed because the path exists: say so, and let Enter overwrite.
    pub fn exists(&mut self, path: &str) {
        if let Purpose::Save { overwrite, .. } = &mut self.purpose {
            *overwrite = true;
        }
        self.error = Some(format!("{path} exists: Enter overwrites it, Esc cancels"));
    }

    pub(super) fn key(&mut self, key: Key, action: Option<Action>) -> Reply {
        match action {
            Some(Action::Cancel) => Reply::close(),
            Some(Action::Submit) => self.submit(),
            Some(action @ (Action::NextField | Action::PrevField)) => {
                if let Purpose::Save {
                    choices,
                    default_paths,
                    chosen,
                    overwrite,
                } = &mut self.purpose
                {
                    let all: Vec<usize> = (0..choices.len()).collect();
                    let by = if action == Action::NextField { 1 } else { -1 };
                    *chosen = cycle(&all, *chosen, by);
                    *overwrite = false;
                    self.error = None;
                    let path = default_paths.get(*chosen).cloned().unwrap_or_default();
                    self.input = super::single_line(&path);
                }
                Reply::default()
            }
            // Left, Right and Space edit the text here; they choose only in the webhook form.
            _ => {
                if self.input.input(key.to_input()) {
                    self.error = None;
                    if let Purpose::Save { overwrite, .. } = &mut self.purpose {
                        *overwrite = false;
                    }
                }
                Reply::default()
            }
        }
    }

    fn submit(&mut self) -> Reply {
        let text = self.text();
        match &self.purpose {
            Purpose::Forward => {
                if !(text.starts_with("http://") || text.starts_with("https://")) {
                    self.error = Some("type an http:// or https:// URL".into());
                    return Reply::default();
                }
                Reply {
                    effects: vec![Effect::Replay(self.id, Replay::Forward(text))],
                    ..Reply::close()
                }
            }
            Purpose::Save {
                chosen, overwrite, ..
            } => {
                if text.is_empty() {
                    self.error = Some("type a path to save to".into());
                    return Reply::default();
                }
                // Stays open until the answer: a failure shows here.
                Reply {
                    effects: vec![Effect::Save {
                        id: self.id,
                        file: chosen.checked_sub(1),
                        path: text,
                        overwrite: *overwrite,
                    }],
                    ..Reply::default()
                }
            }
        }
    }

    pub(super) fn draw(&self, f: &mut Frame, theme: Theme) {
        let (title, label) = match &self.purpose {
            Purpose::Forward => (" Forward event ", "Send it on, as http.forward does, to:"),
            Purpose::Save { .. } => (" Save event ", "Save to (no overwrite without asking):"),
        };
        let r = centered(f.area(), 70, 9);
        f.render_widget(Clear, r);
        let block = Block::bordered().title(title).border_style(theme.key());
        let inner = block.inner(r);
        f.render_widget(block, r);
        let [what, input, error] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .areas(inner);
        let mut lines = vec![Line::raw(label)];
        if let Purpose::Save {
            choices, chosen, ..
        } = &self.purpose
        {
            let mut spans = vec![Span::styled("Tab: ", theme.dim())];
            for (i, c) in choices.iter().enumerate() {
                if i == *chosen {
                    spans.push(Span::styled(format!("[{c}]"), theme.selected()));
                } else {
                    spans.push(Span::raw(format!(" {c} ")));
                }
            }
            lines.push(Line::from(spans));
        }
        f.render_widget(Paragraph::new(lines), what);
        let mut field = self.input.clone();
        field.set_cursor_line_style(Style::new());
        f.render_widget(&field, input);
        if let Some(e) = &self.error {
            f.render_widget(
                Paragraph::new(Line::styled(e.clone(), theme.error())).wrap(Wrap { trim: true }),
                error,
            );
        }
    }
}
