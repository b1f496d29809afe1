//! The terminal dashboard (§5): a pure core (`app`), drawing (`view`), one keymap, and a
//! driver that owns the terminal.

pub mod app;
pub mod driver;
pub mod key;
pub mod keymap;
pub mod view;

pub use driver::run;
