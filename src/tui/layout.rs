//! Where everything goes on screen: the header, one rectangle per pane and the hint bar.

use ratatui::layout::{Constraint, Layout, Rect};

use super::keymap::PaneId;

/// Below this the dashboard shows only a request to enlarge the terminal.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;
/// From this width on, Events sits beside the Webhooks and Pipelines column.
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
        // Webhooks above Pipelines on the left, Events on the right, Detail below.
        let [top, detail] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        let [left, events] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
        let [webhooks, pipelines] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(left);
        [webhooks, events, detail, pipelines]
    } else {
        // Narrow terminals stack the rows, Webhooks and Pipelines side by side in the first,
        // so that eventKeys keep most of the width.
        let [top, events, detail] = Layout::vertical([
            Constraint::Percentage(30),
            Constraint::Percentage(37),
            Constraint::Percentage(33),
        ])
        .areas(body);
        let [webhooks, pipelines] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
        [webhooks, events, detail, pipelines]
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
