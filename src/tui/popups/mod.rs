//! Popups: while one is open it takes every key (`Ctrl-c` still quits) and draws over the
//! panes, or over the hint bar for the filter.

mod confirm;
mod editor;
mod filter;
mod form;
mod help;
mod prompt;

pub use confirm::Confirm;
pub use editor::{Editor, EditorField, REFERENCE};
pub use filter::Filter;
pub use form::{Field, Form};
pub use help::Help;
pub use prompt::{Prompt, Purpose};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::key::Key;
use super::keymap::{Action, Scope};
use super::msg::{Config, Effect};
use super::theme::Theme;

#[derive(Debug, Clone)]
pub enum Popup {
    Help(Help),
    Filter(Box<Filter>),
    Form(Box<Form>),
    Editor(Box<Editor>),
    Confirm(Box<Confirm>),
    Prompt(Box<Prompt>),
}

/// What a key in a popup leads to.
#[derive(Debug, Default)]
pub struct Reply {
    pub close: bool,
    pub effects: Vec<Effect>,
    /// New filter text for the pane the filter belongs to.
    pub filter: Option<String>,
}

impl Reply {
    fn close() -> Reply {
        Reply {
            close: true,
            ..Reply::default()
        }
    }
}

impl Popup {
    /// The keymap scope of its keys.
    pub fn scope(&self) -> Scope {
        match self {
            Popup::Help(_) => Scope::Help,
            Popup::Filter(_) => Scope::FilterInput,
            Popup::Form(_) => Scope::Form,
            Popup::Editor(_) => Scope::Editor,
            Popup::Confirm(_) => Scope::Dialog,
            // A form of one field: the same keys, Tab choosing what to save.
            Popup::Prompt(_) => Scope::Form,
        }
    }

    /// A key, with the action the popup's scope binds it to.
    pub fn key(&mut self, key: Key, action: Option<Action>, config: &Config) -> Reply {
        match self {
            Popup::Help(h) => h.key(action),
            Popup::Filter(fl) => fl.key(key, action),
            Popup::Form(form) => form.key(key, action, config.max_payload),
            Popup::Editor(editor) => editor.key(key, action),
            Popup::Confirm(c) => c.key(action),
            Popup::Prompt(p) => p.key(key, action),
        }
    }

    /// Draws it; the filter goes in the hint bar, `hints`.
    pub fn draw(&self, f: &mut Frame, hints: Rect, theme: Theme, config: &Config) {
        match self {
            Popup::Help(h) => h.draw(f, theme, config.access()),
            Popup::Filter(fl) => fl.draw(f, hints, theme),
            Popup::Form(form) => form.draw(f, theme, config.max_payload),
            Popup::Editor(editor) => editor.draw(f, theme),
            Popup::Confirm(c) => c.draw(f, theme),
            Popup::Prompt(p) => p.draw(f, theme),
        }
    }

    /// Whether it takes the hint bar's place.
    pub fn covers_hints(&self) -> bool {
        matches!(self, Popup::Filter(_))
    }
}

/// A one-line text input holding `text`, with the cursor at its end.
fn single_line(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}
