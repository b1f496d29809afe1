//! The panes. Each owns its state, handles the keys of its scope while it has focus, and
//! draws itself; `Panes` is the registry the core dispatches through.

mod detail;
mod events;
mod pipelines;
mod webhooks;

pub use detail::{Detail, Runs, Shown, Tab};
pub use events::{Events, PAGE, WINDOW};
pub use pipelines::Pipelines;
pub use webhooks::{WebhookRow, Webhooks};

use ratatui::Frame;
use ratatui::layout::Rect;
use uuid::Uuid;

use super::keymap::{Action, PaneId};
use super::msg::{Config, Effect};
use super::popups::Popup;
use super::text::Times;
use super::theme::Theme;

pub trait Pane {
    /// An action of its scope, or a movement, while it has focus.
    fn act(&mut self, action: Action, cx: &Cx) -> Reply;
    /// New text for its `/` filter, from the filter popup it opened.
    fn set_filter(&mut self, text: String) -> Vec<Effect>;
    /// Draws it, border and all, into `area`.
    fn draw(&self, f: &mut Frame, area: Rect, cx: &DrawCx);
}

/// What a pane's action needs to know of the rest of the dashboard.
pub struct Cx<'a> {
    pub config: &'a Config,
    /// Rows of a page when paging a list.
    pub page_rows: usize,
    /// The terminal's height.
    pub height: u16,
}

pub struct DrawCx<'a> {
    pub config: &'a Config,
    pub theme: Theme,
    pub focused: bool,
    pub now_ms: i64,
    /// How times show (`t`).
    pub times: Times,
}

/// What a pane's action asks of the rest of the dashboard.
#[derive(Debug, Default)]
pub struct Reply {
    pub effects: Vec<Effect>,
    pub popup: Option<Popup>,
    pub toast: Option<String>,
    pub notice: Option<Notice>,
}

impl Reply {
    pub fn effects(effects: Vec<Effect>) -> Reply {
        Reply {
            effects,
            ..Reply::default()
        }
    }

    pub fn popup(popup: Popup) -> Reply {
        Reply {
            popup: Some(popup),
            ..Reply::default()
        }
    }
}

/// Something one pane's action means for another pane.
#[derive(Debug)]
pub enum Notice {
    /// Show only this eventKey's events, in Events.
    ShowEventsOf(String),
    /// Open this event in Detail.
    OpenEvent(Uuid),
    /// Move the focus to this pane.
    Focus(PaneId),
}

/// Every pane, by id.
#[derive(Default)]
pub struct Panes {
    pub webhooks: Webhooks,
    pub events: Events,
    pub detail: Detail,
    pub pipelines: Pipelines,
}

impl Panes {
    pub fn get(&self, id: PaneId) -> &dyn Pane {
        match id {
            PaneId::Webhooks => &self.webhooks,
            PaneId::Events => &self.events,
            PaneId::Detail => &self.detail,
            PaneId::Pipelines => &self.pipelines,
        }
    }

    pub fn get_mut(&mut self, id: PaneId) -> &mut dyn Pane {
        match id {
            PaneId::Webhooks => &mut self.webhooks,
            PaneId::Events => &mut self.events,
            PaneId::Detail => &mut self.detail,
            PaneId::Pipelines => &mut self.pipelines,
        }
    }
}
