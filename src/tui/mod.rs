//! The terminal dashboard (§5): a pure core (`state`) that dispatches to panes and popups,
//! drawing (`view`), one keymap, a `Backend` for everything it reads and writes, and a
//! driver that owns the terminal.

pub mod backend;
pub mod clipboard;
pub mod curl;
pub mod driver;
pub mod key;
pub mod keymap;
pub mod layout;
pub mod list;
pub mod msg;
pub mod panes;
pub mod popups;
pub mod remote;
pub mod state;
pub mod text;
pub mod theme;
pub mod view;

pub use driver::run;
