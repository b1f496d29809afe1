//! Running pipelines (§6).
pub mod runner;
