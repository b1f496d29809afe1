//! The one keymap. Key handling, the `?` help overlay and the hint bar are all read from
//! `KEYMAP`, so they cannot disagree.

use super::key::{Code, Key};
pub use super::msg::EventAct;

/// The panes, in focus order (Tab, and the digit keys). Adding a pane takes a variant here,
/// its bindings in `KEYMAP`, its file in `panes/` registered in `Panes`, and its place in
/// `layout`; nothing else names panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Webhooks,
    Events,
    Detail,
    Pipelines,
}

impl PaneId {
    /// Focus order follows the number keys, so §5's `1` `2` `3` keep their meaning.
    pub const ALL: [PaneId; 4] = [
        PaneId::Webhooks,
        PaneId::Events,
        PaneId::Detail,
        PaneId::Pipelines,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Webhooks => "Webhooks",
            PaneId::Events => "Events",
            PaneId::Detail => "Detail",
            PaneId::Pipelines => "Pipelines",
        }
    }

    /// Its place in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The pane `by` places further in focus order, wrapping around.
    pub fn step(self, by: isize) -> PaneId {
        cycle(&PaneId::ALL, self, by)
    }
}

/// The item `by` places from `current` in `all`, wrapping around.
pub fn cycle<T: Copy + PartialEq>(all: &[T], current: T, by: isize) -> T {
    let i = all.iter().position(|x| *x == current).unwrap_or(0) as isize;
    all[(i + by).rem_euclid(all.len() as isize) as usize]
}

/// Whether keys that change webhooks, pipelines or runs are offered (`--read-only` takes them
/// away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Help,
    Quit,
    FocusNext,
    FocusPrev,
    Focus(PaneId),
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Open,
    Filter,
    Clear,
    Follow,
    /// Times in UTC, local time or as ages.
    Times,
    New,
    Edit,
    Delete,
    Copy,
    PrevTab,
    NextTab,
    /// Queue the selected failed or dead run again.
    Retry,
    /// On an event: run it again through its pipelines, forward it, copy it as curl, copy
    /// its body, save its body or a file.
    Act(EventAct),
    Submit,
    Cancel,
    NextField,
    PrevField,
    Choose,
    SwitchButton,
    Press,
    CloseHelp,
    /// Empties the filter's text (Ctrl-U).
    ClearInput,
    /// Looks for text in the stored events' bodies.
    SearchBodies,
}

/// Where a binding applies: everywhere when no popup is open, in one pane, or in one popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Pane(PaneId),
    FilterInput,
    Form,
    Editor,
    Dialog,
    Help,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Pane(p) => p.title(),
            Scope::FilterInput => "Filter",
            Scope::Form => "Forms",
            Scope::Editor => "Pipeline editor",
            Scope::Dialog => "Confirm dialog",
            Scope::Help => "Help",
        }
    }

    /// The scopes the help overlay lists, in its order (help's own keys are in its title).
    pub fn listed() -> Vec<Scope> {
        let mut scopes = vec![Scope::Global];
        scopes.extend(PaneId::ALL.map(Scope::Pane));
        scopes.extend([
            Scope::FilterInput,
            Scope::Form,
            Scope::Editor,
            Scope::Dialog,
        ]);
        scopes
    }
}

pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [Key],
    pub action: Action,
    pub label: &'static str,
    /// Shown in the hint bar (everything is in the help overlay).
    pub hint: bool,
    /// Changes webhooks, pipelines or runs: gone in `--read-only`.
    pub writes: bool,
}

const fn b(
    scope: Scope,
    keys: &'static [Key],
    action: Action,
    label: &'static str,
    hint: bool,
) -> Binding {
    Binding {
        scope,
        keys,
        action,
        label,
        hint,
        writes: false,
    }
}

const fn w(scope: Scope, keys: &'static [Key], action: Action, label: &'static str) -> Binding {
    Binding {
        scope,
        keys,
        action,
        label,
        hint: true,
        writes: true,
    }
}

/// A writing binding listed in help but not in the hint bar, which has no room for it.
const fn wq(scope: Scope, keys: &'static [Key], action: Action, label: &'static str) -> Binding {
    Binding {
        hint: false,
        ..w(scope, keys, action, label)
    }
}

use Action as A;
use Scope as S;

const WEBHOOKS: Scope = Scope::Pane(PaneId::Webhooks);
const EVENTS: Scope = Scope::Pane(PaneId::Events);
const DETAIL: Scope = Scope::Pane(PaneId::Detail);
const PIPELINES: Scope = Scope::Pane(PaneId::Pipelines);

#[rustfmt::skip]
pub const KEYMAP: &[Binding] = &[
    b(S::Global, &[Key::char('?')], A::Help, "help", true),
    b(S::Global, &[Key::char('q'), Key::ctrl('c')], A::Quit, "quit", true),
    b(S::Global, &[Key::new(Code::Tab)], A::FocusNext, "next pane", false),
    b(S::Global, &[Key::new(Code::BackTab)], A::FocusPrev, "previous pane", false),
    b(S::Global, &[Key::char('1')], A::Focus(PaneId::Webhooks), "focus Webhooks", false),
    b(S::Global, &[Key::char('2')], A::Focus(PaneId::Events), "focus Events", false),
    b(S::Global, &[Key::char('3')], A::Focus(PaneId::Detail), "focus Detail", false),
    b(S::Global, &[Key::char('4')], A::Focus(PaneId::Pipelines), "focus Pipelines", false),
    b(S::Global, &[Key::char('j'), Key::new(Code::Down)], A::Down, "down", false),
    b(S::Global, &[Key::char('k'), Key::new(Code::Up)], A::Up, "up", false),
    b(S::Global, &[Key::char('g'), Key::new(Code::Home)], A::Top, "top", false),
    b(S::Global, &[Key::char('G'), Key::new(Code::End)], A::Bottom, "bottom; Events: resume", false),
    b(S::Global, &[Key::new(Code::PageUp)], A::PageUp, "page up", false),
    b(S::Global, &[Key::new(Code::PageDown)], A::PageDown, "page down", false),
    b(S::Global, &[Key::char('f')], A::Follow, "follow / pause", true),
    b(S::Global, &[Key::char('t')], A::Times, "times: UTC / local / age", false),
    w(S::Global, &[Key::char('n')], A::New, "new webhook"),
    // On the event in Detail when it has focus, else on the Events selection.
    wq(S::Global, &[Key::char('r')], A::Act(EventAct::Replay), "replay event"),
    wq(S::Global, &[Key::char('F')], A::Act(EventAct::Forward), "forward event"),
    b(S::Global, &[Key::char('c')], A::Act(EventAct::CopyCurl), "copy event as curl", false),
    b(S::Global, &[Key::char('Y')], A::Act(EventAct::CopyBody), "copy event body", false),
    b(S::Global, &[Key::char('s')], A::Act(EventAct::Save), "save event body/file", false),
    b(S::Global, &[Key::char('[')], A::PrevTab, "Detail: previous tab", false),
    b(S::Global, &[Key::char(']')], A::NextTab, "Detail: next tab", false),
    b(WEBHOOKS, &[Key::new(Code::Enter)], A::Open, "show its events", true),
    b(WEBHOOKS, &[Key::char('/')], A::Filter, "filter", true),
    b(WEBHOOKS, &[Key::new(Code::Esc)], A::Clear, "clear filter", false),
    w(WEBHOOKS, &[Key::char('e')], A::Edit, "edit"),
    w(WEBHOOKS, &[Key::char('d')], A::Delete, "delete"),
    b(WEBHOOKS, &[Key::char('y')], A::Copy, "copy URL", true),
    b(EVENTS, &[Key::new(Code::Enter)], A::Open, "open in Detail", true),
    b(EVENTS, &[Key::char('/')], A::Filter, "filter", true),
    b(EVENTS, &[Key::new(Code::Esc)], A::Clear, "clear filter; stop a search", false),
    b(EVENTS, &[Key::char('b')], A::SearchBodies, "search bodies", false),
    b(DETAIL, &[Key::char('[')], A::PrevTab, "previous tab", true),
    b(DETAIL, &[Key::char(']')], A::NextTab, "next tab", true),
    b(DETAIL, &[Key::new(Code::Esc)], A::Clear, "close, back to Events", false),
    // Hinted only on a duplicate.
    b(DETAIL, &[Key::new(Code::Enter)], A::Open, "open the original", true),
    // Hinted only on the Runs tab with a failed or dead run selected.
    w(DETAIL, &[Key::char('R')], A::Retry, "retry run"),
    w(PIPELINES, &[Key::char('n')], A::New, "new pipeline"),
    w(PIPELINES, &[Key::char('e')], A::Edit, "edit"),
    w(PIPELINES, &[Key::char('d')], A::Delete, "delete"),
    b(S::FilterInput, &[Key::new(Code::Enter)], A::Submit, "keep filter", true),
    b(S::FilterInput, &[Key::new(Code::Esc)], A::Cancel, "clear filter", true),
    b(S::FilterInput, &[Key::ctrl('u')], A::ClearInput, "erase the text (Ctrl-W: a word)", false),
    // Ctrl-c quits from anywhere, popups included.
    b(S::FilterInput, &[Key::ctrl('c')], A::Quit, "quit", false),
    b(S::Form, &[Key::new(Code::Enter), Key::ctrl('s')], A::Submit, "save", true),
    b(S::Form, &[Key::new(Code::Esc)], A::Cancel, "cancel", true),
    b(S::Form, &[Key::new(Code::Tab), Key::new(Code::Down)], A::NextField, "next field", true),
    b(S::Form, &[Key::new(Code::BackTab), Key::new(Code::Up)], A::PrevField, "previous field", false),
    b(S::Form, &[Key::new(Code::Left), Key::new(Code::Right), Key::char(' ')], A::Choose, "payload type", true),
    b(S::Form, &[Key::ctrl('c')], A::Quit, "quit", false),
    b(S::Editor, &[Key::ctrl('s')], A::Submit, "save", true),
    b(S::Editor, &[Key::new(Code::Esc)], A::Cancel, "cancel", true),
    b(S::Editor, &[Key::new(Code::Tab), Key::new(Code::BackTab)], A::NextField, "name / document", true),
    b(S::Editor, &[Key::ctrl('c')], A::Quit, "quit", false),
    b(S::Dialog, &[Key::new(Code::Tab), Key::new(Code::Left), Key::new(Code::Right)], A::SwitchButton, "switch button", true),
    b(S::Dialog, &[Key::new(Code::Enter)], A::Press, "press", true),
    b(S::Dialog, &[Key::new(Code::Esc), Key::char('q')], A::Cancel, "cancel", true),
    b(S::Dialog, &[Key::ctrl('c')], A::Quit, "quit", false),
    b(S::Help, &[Key::new(Code::Esc), Key::char('?'), Key::char('q')], A::CloseHelp, "close help", true),
    b(S::Help, &[Key::char('j'), Key::new(Code::Down)], A::Down, "scroll", false),
    b(S::Help, &[Key::ctrl('c')], A::Quit, "quit", false),
    b(S::Help, &[Key::char('k'), Key::new(Code::Up)], A::Up, "scroll", false),
];

/// The action bound to `key` in the first scope of `scopes` that binds it.
pub fn lookup(scopes: &[Scope], key: Key, access: Access) -> Option<Action> {
    find(scopes, key, access).map(|b| b.action)
}

/// The binding of `key` in the first scope of `scopes` that binds it.
pub fn find(scopes: &[Scope], key: Key, access: Access) -> Option<&'static Binding> {
    bindings(scopes, access).find(|b| b.keys.contains(&key))
}

/// Bindings offered in these scopes, without those whose every key an earlier scope takes
/// (a pane's `n` hides the global one).
pub fn effective(scopes: &[Scope], access: Access) -> Vec<&'static Binding> {
    let mut out: Vec<&'static Binding> = Vec::new();
    for b in bindings(scopes, access) {
        let shadowed = b.keys.iter().all(|k| {
            out.iter()
                .any(|earlier| earlier.scope != b.scope && earlier.keys.contains(k))
        });
        if !shadowed {
            out.push(b);
        }
    }
    out
}

/// Bindings offered in these scopes, in keymap order.
pub fn bindings(scopes: &[Scope], access: Access) -> impl Iterator<Item = &'static Binding> + '_ {
    scopes.iter().flat_map(move |scope| {
        KEYMAP
            .iter()
            .filter(move |b| b.scope == *scope && (access == Access::ReadWrite || !b.writes))
    })
}

/// `q/Ctrl-c`
pub fn keys_label(b: &Binding) -> String {
    b.keys
        .iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: fn(char) -> Key = Key::char;

    #[test]
    fn a_key_binds_once_per_scope() {
        for (i, a) in KEYMAP.iter().enumerate() {
            for b in &KEYMAP[i + 1..] {
                if a.scope == b.scope {
                    for k in a.keys {
                        assert!(!b.keys.contains(k), "{k} bound twice in {:?}", a.scope);
                    }
                }
            }
        }
    }

    #[test]
    fn a_pane_index_is_its_place_in_focus_order() {
        for (i, p) in PaneId::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
        }
    }

    #[test]
    fn read_only_drops_writing_keys() {
        let scopes = [WEBHOOKS, Scope::Global];
        assert_eq!(
            lookup(&scopes, K('n'), Access::ReadWrite),
            Some(Action::New)
        );
        assert_eq!(lookup(&scopes, K('n'), Access::ReadOnly), None);
        assert_eq!(
            lookup(&scopes, K('y'), Access::ReadOnly),
            Some(Action::Copy)
        );
        let scopes = [PIPELINES, Scope::Global];
        for k in ['n', 'e', 'd'] {
            assert!(lookup(&scopes, K(k), Access::ReadWrite).is_some());
            assert_eq!(lookup(&scopes, K(k), Access::ReadOnly), None);
        }
        assert_eq!(lookup(&[DETAIL], K('R'), Access::ReadOnly), None);
    }

    #[test]
    fn a_pane_key_hides_the_global_one_it_shadows() {
        let scopes = [PIPELINES, Scope::Global];
        let labels: Vec<&str> = effective(&scopes, Access::ReadWrite)
            .iter()
            .map(|b| b.label)
            .collect();
        assert!(labels.contains(&"new pipeline"));
        assert!(!labels.contains(&"new webhook"), "{labels:?}");
        let scopes = [WEBHOOKS, Scope::Global];
        let labels: Vec<&str> = effective(&scopes, Access::ReadWrite)
            .iter()
            .map(|b| b.label)
            .collect();
        assert!(labels.contains(&"new webhook"), "{labels:?}");
    }
}
