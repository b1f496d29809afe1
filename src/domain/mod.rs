//! The domain: webhooks, events, validation and payload decoding.
//! It knows nothing of tokio, hyper, redb or ratatui.

pub mod decode;
pub mod escape;
pub mod event;
pub mod filter;
pub mod handshake;
pub mod pipeline;
pub mod time;
pub mod verify;
pub mod webhook;

pub use event::{
    Duplicate, Event, FileInfo, FormValue, ParsedForm, Record, Rejection, Summary, Verified,
    content_kind,
};
pub use filter::{EventFilter, Status};
pub use webhook::{
    EventKeyPattern, PayloadType, Webhook, WebhookFields, WebhookInput, WebhookView,
};
