//! hooktail's own key type, so that any input front end (crossterm today, an SSH channel
//! later) can drive the same App.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
}

/// A key press. Shift is folded into the character (`G`) or the code (`BackTab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: Code,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn new(code: Code) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn char(c: char) -> Key {
        Key::new(Code::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: Code::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// Converts a crossterm key event; `None` for releases and keys hooktail does not use.
    pub fn from_crossterm(e: crossterm::event::KeyEvent) -> Option<Key> {
        use crossterm::event::{KeyCode as C, KeyEventKind, KeyModifiers as M};
        if e.kind == KeyEventKind::Release {
            return None;
        }
        let code = match e.code {
            C::Char(c) => Code::Char(c),
            C::Enter => Code::Enter,
            C::Esc => Code::Esc,
            C::Tab if e.modifiers.contains(M::SHIFT) => Code::BackTab,
            C::Tab => Code::Tab,
            C::BackTab => Code::BackTab,
            C::Backspace => Code::Backspace,
            C::Delete => Code::Delete,
            C::Up => Code::Up,
            C::Down => Code::Down,
            C::Left => Code::Left,
            C::Right => Code::Right,
            C::Home => Code::Home,
            C::End => Code::End,
            C::PageUp => Code::PageUp,
            C::PageDown => Code::PageDown,
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: e.modifiers.contains(M::CONTROL),
            alt: e.modifiers.contains(M::ALT),
        })
    }

    /// The same key for a text field.
    pub fn to_input(self) -> ratatui_textarea::Input {
        use ratatui_textarea::Key as T;
        let key = match self.code {
            Code::Char(c) => T::Char(c),
            Code::Enter => T::Enter,
            Code::Esc => T::Esc,
            Code::Tab | Code::BackTab => T::Tab,
            Code::Backspace => T::Backspace,
            Code::Delete => T::Delete,
            Code::Up => T::Up,
            Code::Down => T::Down,
            Code::Left => T::Left,
            Code::Right => T::Right,
            Code::Home => T::Home,
            Code::End => T::End,
            Code::PageUp => T::PageUp,
            Code::PageDown => T::PageDown,
        };
        ratatui_textarea::Input {
            key,
            ctrl: self.ctrl,
            alt: self.alt,
            shift: false,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            Code::Char(' ') => f.write_str("Space"),
            Code::Char(c) => write!(f, "{c}"),
            Code::Enter => f.write_str("Enter"),
            Code::Esc => f.write_str("Esc"),
            Code::Tab => f.write_str("Tab"),
            Code::BackTab => f.write_str("S-Tab"),
            Code::Backspace => f.write_str("Bksp"),
            Code::Delete => f.write_str("Del"),
            Code::Up => f.write_str("↑"),
            Code::Down => f.write_str("↓"),
            Code::Left => f.write_str("←"),
            Code::Right => f.write_str("→"),
            Code::Home => f.write_str("Home"),
            Code::End => f.write_str("End"),
            Code::PageUp => f.write_str("PgUp"),
            Code::PageDown => f.write_str("PgDn"),
        }
    }
}
