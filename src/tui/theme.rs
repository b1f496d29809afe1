//! Colours, or none at all under `NO_COLOR`, and the pieces every pane and popup draws with.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders};

use crate::domain::decode::Token;

/// Selection is always reverse video, so that it shows without colour.
#[derive(Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A list's selected row: reverse video in the focused pane, so that only one row on
    /// screen is reversed; underlined in the others.
    pub fn selection(self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn token(self, t: Token) -> Style {
        match t {
            Token::Key => self.fg(Color::Cyan),
            Token::Str => self.fg(Color::Green),
            Token::Num => self.fg(Color::Yellow),
            Token::Bool | Token::Null => self.fg(Color::Magenta),
            Token::Punct | Token::Plain => Style::new(),
        }
    }

    /// A pane's border: thick and bright when it has focus.
    pub fn pane_block(self, title: Line<'static>, focused: bool) -> Block<'static> {
        let b = Block::new().borders(Borders::ALL).title(title);
        if focused {
            b.border_type(BorderType::Thick)
                .border_style(self.fg(Color::Cyan).add_modifier(Modifier::BOLD))
        } else {
            b.border_style(self.dim())
        }
    }
}

/// A `w` by `h` rectangle in the middle of `area`, cut to fit.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
