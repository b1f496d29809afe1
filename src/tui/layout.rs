//! Where everything goes on screen: the header, one rectangle per pane and the hint bar.

use ratatui::layout::{Constraint, Layout, Rect};

use super::keymap::PaneId;

/// Below this the dashboard shows only a request to enlarge the terminal.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;
/// From this width on, Webhooks and Events sit side by side.
const SIDE_BY_SIDE: u16 = 100;

pub struct Areas {
    pub header: Rect,
    /// In `PaneId::ALL` order.
    panes: [Rect; PaneId::ALL.len()],
    pub hints: Rect,
}

impl Areas {
    pub fn pane(&self, id: PaneId) -> Rect {
        self.panes[id.index()]
    }
}

pub fn areas(area: Rect) -> Areas {
    let [header, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let panes = if area.width >= SIDE_BY_SIDE {
        let [top, detail] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        let [webhooks, events] =
            Layout::horizontal([Constraint::Percentage(36), Constraint::Percentage(64)]).areas(top);
        [webhooks, events, detail]
    } else {
        // Narrow terminals stack the panes, so that eventKeys keep the full width.
        Layout::vertical([
            Constraint::Percentage(25),
            Constraint::Percentage(40),
            Constraint::Percentage(35),
        ])
        .areas(body)
    };
    Areas {
        header,
        panes,
        hints,
    }
}

/// Rows of a page when paging a list: the Events list's height for a terminal of this size.
pub fn list_rows(size: (u16, u16)) -> usize {
    areas(Rect::new(0, 0, size.0, size.1))
        .pane(PaneId::Events)
        .height
        .saturating_sub(2) as usize
}
