//! The list widget of the list panes and of Detail's runs: a selection over a bounded window of a
//! longer sequence, filled page by page. A generation number makes the answer to an older
//! load stale once a newer one has been asked for.

use std::cell::Cell;
use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::keymap::Action;
use super::theme::Theme;

/// Where a loaded page goes in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// The newest page, answered newest first; replaces the window.
    Newest,
    /// The oldest page, answered oldest first; replaces the window.
    Oldest,
    /// The page before the window, answered newest first.
    Older,
    /// The page after the window, answered oldest first.
    Newer,
}

#[derive(Debug, Clone)]
pub struct PagedList<T> {
    /// Oldest first.
    items: VecDeque<T>,
    selected: usize,
    /// Whether the window reaches the oldest item of the whole sequence.
    pub at_oldest: bool,
    /// Whether the window reaches the newest item of the whole sequence.
    pub at_newest: bool,
    loading: bool,
    generation: u64,
    /// Most items held.
    capacity: usize,
    /// How many items of the whole sequence lie before the window, and after it, when
    /// known: for the `812/21,553` position.
    before: Option<u64>,
    after: Option<u64>,
    /// The first row drawn last time: the view moves only when the selection would leave
    /// it, so that stepping moves the highlight rather than the rows.
    top: Cell<usize>,
}

impl<T> PagedList<T> {
    /// An empty list that holds at most `capacity` items and starts at the newest end.
    pub fn new(capacity: usize) -> Self {
        PagedList {
            items: VecDeque::new(),
            selected: 0,
            at_oldest: false,
            at_newest: true,
            loading: false,
            generation: 0,
            capacity,
            before: None,
            after: Some(0),
            top: Cell::new(0),
        }
    }

    pub fn items(&self) -> &VecDeque<T> {
        &self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn selected(&self) -> usize {
        self.selected
    }

    pub fn selected_item(&self) -> Option<&T> {
        self.items.get(self.selected)
    }

    pub fn is_loading(&self) -> bool {
        self.loading
    }

    /// Starts a load and returns its generation.
    pub fn start_load(&mut self) -> u64 {
        self.generation += 1;
        self.loading = true;
        self.generation
    }

    /// Whether an answer belongs to the latest load.
    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation
    }

    /// A load failed: the list must not stay "loading" for ever.
    pub fn load_failed(&mut self) {
        self.loading = false;
    }

    /// Puts a page where `kind` says. `full` tells whether the page was as long as asked,
    /// so that more may lie beyond it. The selection lands where the move that asked for
    /// the page was going.
    pub fn fill(&mut self, kind: PageKind, page: Vec<T>, full: bool) {
        self.loading = false;
        match kind {
            PageKind::Newest => {
                self.items = page.into_iter().rev().collect();
                self.top.set(usize::MAX);
                self.after = Some(0);
                self.before = (!full).then_some(0);
                self.at_newest = true;
                self.at_oldest = !full;
                self.selected = self.items.len().saturating_sub(1);
            }
            PageKind::Oldest => {
                self.items = page.into();
                self.top.set(0);
                self.before = Some(0);
                self.after = (!full).then_some(0);
                self.at_oldest = true;
                self.at_newest = !full;
                self.selected = 0;
            }
            PageKind::Older => {
                let n = page.len();
                for item in page {
                    self.items.push_front(item);
                }
                self.selected += n;
                self.top.set(self.top.get().saturating_add(n));
                self.at_oldest = !full;
                self.before = match full {
                    false => Some(0),
                    true => self.before.map(|b| b.saturating_sub(n as u64)),
                };
                while self.items.len() > self.capacity {
                    self.items.pop_back();
                    self.after = self.after.map(|a| a + 1);
                    self.at_newest = false;
                }
                self.selected = self.selected.saturating_sub(1);
            }
            PageKind::Newer => {
                let n = page.len() as u64;
                self.items.extend(page);
                self.at_newest = !full;
                self.after = match full {
                    false => Some(0),
                    true => self.after.map(|a| a.saturating_sub(n)),
                };
                let mut dropped = 0;
                while self.items.len() > self.capacity {
                    self.items.pop_front();
                    self.at_oldest = false;
                    self.before = self.before.map(|b| b + 1);
                    dropped += 1;
                }
                self.selected = (self.selected + 1).saturating_sub(dropped);
                self.top.set(self.top.get().saturating_sub(dropped));
            }
        }
        self.clamp();
    }

    /// Appends the newest item and selects it, dropping the oldest beyond the capacity.
    pub fn push_newest(&mut self, item: T) {
        self.items.push_back(item);
        while self.items.len() > self.capacity {
            self.items.pop_front();
            self.top.set(self.top.get().saturating_sub(1));
            self.before = self.before.map(|b| b + 1);
            self.at_oldest = false;
        }
        self.selected = self.items.len() - 1;
    }

    /// Replaces the whole sequence (a list loaded in one piece), keeping the selection's
    /// place where it can.
    pub fn replace(&mut self, items: impl IntoIterator<Item = T>) {
        self.items = items.into_iter().collect();
        self.at_oldest = true;
        self.at_newest = true;
        self.before = Some(0);
        self.after = Some(0);
        self.clamp();
    }

    /// The selection's place in the whole sequence, from 1, and the sequence's length:
    /// counted from the window's ends when they are known, else from `total`, the length
    /// the caller knows (the stored count of an unfiltered stream).
    pub fn position(&self, total: Option<u64>) -> Option<(u64, u64)> {
        let len = self.items.len() as u64;
        let sel = self.selected as u64;
        if len == 0 {
            return None;
        }
        let total = match (self.before, self.after) {
            (Some(b), Some(a)) => b + len + a,
            _ => total?,
        };
        let pos = match (self.before, self.after) {
            (Some(b), _) => b + sel + 1,
            (None, Some(a)) => total.checked_sub(a + len - 1 - sel)?,
            (None, None) => return None,
        };
        Some((pos.max(1), total.max(pos)))
    }

    /// Selects the item at `i`, or the last when there are fewer.
    pub fn select(&mut self, i: usize) {
        self.selected = i;
        self.clamp();
    }

    /// Moves the selection for a movement action; `page` is the rows of a page.
    pub fn step(&mut self, action: Action, page: usize) {
        self.selected = moved(self.selected, self.items.len(), action, page);
    }

    fn clamp(&mut self) {
        self.selected = self.selected.min(self.items.len().saturating_sub(1));
    }

    /// Draws the rows that fit in `area`, scrolled so that the selection shows, marked as
    /// `Theme::selection` says.
    pub fn render(
        &self,
        f: &mut Frame,
        area: Rect,
        theme: Theme,
        focused: bool,
        line: impl Fn(&T) -> Line,
    ) {
        let rows = (area.height as usize).max(1);
        let start = self
            .top
            .get()
            .min(self.selected)
            .max((self.selected + 1).saturating_sub(rows))
            .min(self.items.len().saturating_sub(rows));
        self.top.set(start);
        let lines: Vec<Line> = self
            .items
            .iter()
            .enumerate()
            .skip(start)
            .take(rows)
            .map(|(i, item)| {
                let l = line(item);
                if i == self.selected {
                    l.style(theme.selection(focused))
                } else {
                    l
                }
            })
            .collect();
        f.render_widget(Paragraph::new(lines), area);
    }
}

/// Where a movement action takes a selection in a list of `n`.
fn moved(current: usize, n: usize, action: Action, page: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let last = n - 1;
    match action {
        Action::Up => current.saturating_sub(1),
        Action::Down => (current + 1).min(last),
        Action::PageUp => current.saturating_sub(page),
        Action::PageDown => (current + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[u32]) -> PagedList<u32> {
        let mut l = PagedList::new(5);
        l.fill(
            PageKind::Newest,
            items.iter().rev().copied().collect(),
            false,
        );
        l
    }

    #[test]
    fn paging_keeps_the_window_bounded_and_the_selection_on_the_next_row() {
        let mut l = list(&[10, 11, 12]);
        assert_eq!(l.selected_item(), Some(&12));
        l.step(Action::Top, 1);
        // Up from the top loads the page before: the selection lands on its newest.
        l.fill(PageKind::Older, vec![9, 8, 7], true);
        assert_eq!(l.items(), &[7, 8, 9, 10, 11]);
        assert_eq!(l.selected_item(), Some(&9));
        assert!(!l.at_newest && !l.at_oldest);
        l.step(Action::Bottom, 1);
        // Down from the bottom loads the page after: the selection lands on its oldest.
        l.fill(PageKind::Newer, vec![12, 13], false);
        assert_eq!(l.items(), &[9, 10, 11, 12, 13]);
        assert_eq!(l.selected_item(), Some(&12));
        assert!(l.at_newest);
    }

    #[test]
    fn the_position_counts_from_the_known_end() {
        let mut l = PagedList::new(5);
        l.fill(PageKind::Newest, vec![9, 8, 7], true);
        // Only the newest end is known: the caller's total places it.
        assert_eq!(l.position(None), None);
        assert_eq!(l.position(Some(100)), Some((100, 100)));
        l.step(Action::Up, 1);
        assert_eq!(l.position(Some(100)), Some((99, 100)));
        l.fill(PageKind::Oldest, vec![0, 1, 2], true);
        assert_eq!(l.position(Some(100)), Some((1, 100)));
        l.step(Action::Bottom, 1);
        l.fill(PageKind::Newer, vec![3, 4, 5], true);
        // 0 dropped to keep 5: the selection is the fourth of the sequence.
        assert_eq!(l.items(), &[1, 2, 3, 4, 5]);
        assert_eq!(l.position(Some(100)), Some((4, 100)));
        l.fill(PageKind::Newest, vec![2, 1], false);
        assert_eq!(
            l.position(Some(100)),
            Some((2, 2)),
            "a short page is the whole"
        );
    }

    #[test]
    fn stepping_moves_the_highlight_not_the_rows() {
        let mut l = PagedList::new(100);
        l.fill(PageKind::Newest, (0..10u32).rev().collect(), false);
        let area = Rect::new(0, 0, 10, 4);
        let first_row = |l: &PagedList<u32>| {
            let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(10, 4)).unwrap();
            t.draw(|f| {
                l.render(f, area, Theme { color: false }, true, |n| {
                    Line::raw(n.to_string())
                })
            })
            .unwrap();
            t.backend().buffer()[(0, 0)].symbol().to_string()
        };
        assert_eq!(first_row(&l), "6");
        l.step(Action::Up, 1);
        assert_eq!(
            first_row(&l),
            "6",
            "k from the newest row keeps the rows still"
        );
        for _ in 0..3 {
            l.step(Action::Up, 1);
        }
        assert_eq!(
            first_row(&l),
            "5",
            "the view moves once the highlight reaches its top"
        );
    }

    #[test]
    fn a_newer_load_makes_the_older_answer_stale() {
        let mut l = list(&[]);
        let first = l.start_load();
        let second = l.start_load();
        assert!(!l.is_current(first));
        assert!(l.is_current(second));
        assert!(l.is_loading());
        l.load_failed();
        assert!(!l.is_loading());
    }
}
