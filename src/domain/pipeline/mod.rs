//! Pipelines (SPEC §6), the pure part: the YAML document and its validation, the `#{…}`
//! expression language, and the state a run carries from step to step. No IO here.

pub mod doc;
pub mod expr;
pub mod param;
pub mod record;
pub mod run;
pub mod yaml;

pub use doc::{Action, From, HttpMethod, Level, Listen, Mail, Pipeline, Step};
pub use record::{PipelineRecord, Run, RunStats, RunStatus, RunSummary, validate_pipeline_name};
pub use run::{
    Failure, Fallback, Next, OnError, Outcome, RetryPolicy, RunState, StepLog, StepStatus,
};
pub use yaml::{DocError, Pos};
