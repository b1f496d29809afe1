//! hooktail: `tail -f` for webhooks. A hyper receiver that stores every call durably in redb,
//! a command API to manage webhooks, and a terminal dashboard to watch them.

pub mod app;
pub mod cli;
pub mod client;
pub mod domain;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod pipeline;
pub mod remote;
pub mod service;
pub mod store;
pub mod tui;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
