//! What flows into and out of the dashboard's core: its configuration, the messages the
//! driver feeds it and the effects it asks the driver to perform.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use super::key::Key;
use super::keymap::Access;
use super::list::PageKind;
use crate::domain::decode::{self, Decoded};
use crate::domain::pipeline::Run;
use crate::domain::{Record, WebhookView};
use crate::service::PipelineView;
use crate::service::command::Params;
use crate::service::replay::{Replay, Replayed};
use crate::store::{PageQuery, WebhookStats};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen_url: String,
    pub public_url: String,
    pub read_only: bool,
    pub max_payload: u64,
    /// False under `NO_COLOR`.
    pub color: bool,
}

impl Config {
    pub fn access(&self) -> Access {
        if self.read_only {
            Access::ReadOnly
        } else {
            Access::ReadWrite
        }
    }
}

/// Where the dashboard's data lives, for the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// This process's store.
    #[default]
    Local,
    /// A running server's API (§8), reachable.
    Attached,
    /// A running server's API, unreachable for now: the feed retries.
    Reconnecting,
}

/// The form's `webhook.put` parameters, as the API takes them. `Debug` shows their names
/// only: `verify.secret` is among them.
#[derive(Clone, PartialEq, Eq)]
pub struct PutParams(pub Params);

impl std::fmt::Debug for PutParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// What the driver does for the core.
#[derive(Debug, Clone)]
pub enum Effect {
    LoadWebhooks,
    LoadCounts,
    LoadPage {
        generation: u64,
        kind: PageKind,
        query: PageQuery,
    },
    LoadRecord(Uuid),
    Put(PutParams),
    Delete(Uuid),
    LoadPipelines,
    /// Creates or replaces a pipeline; the backend validates the document again.
    PutPipeline {
        name: String,
        yaml: String,
        enabled: bool,
    },
    DeletePipeline(String),
    /// The runs an event caused.
    LoadRuns(Uuid),
    RetryRun(Uuid),
    /// One bounded step of a body search: up to `limit` accepted events before `before`
    /// (from the newest when `None`), read with their bodies.
    SearchBodies {
        generation: u64,
        text: String,
        before: Option<Uuid>,
        limit: usize,
    },
    /// Reads an event with its body, to copy it.
    Fetch(Uuid, EventAct),
    Replay(Uuid, Replay),
    /// Writes an event's body, or its `file`-th multipart file, to `path`.
    Save {
        id: Uuid,
        file: Option<usize>,
        path: String,
        overwrite: bool,
    },
    Copy(String),
    Quit,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(Key),
    /// The terminal's size.
    Resize(u16, u16),
    /// Once a second, with the wall clock in ms.
    Tick(i64),
    /// A record committed just now.
    Record(Arc<Record>),
    /// The live feed dropped records: reload.
    Lagged,
    /// Someone (this dashboard, the API or the CLI) changed the webhooks.
    WebhooksChanged,
    /// The attached server went away or came back.
    Link(Link),
    Webhooks(Vec<WebhookView>, HashMap<Uuid, WebhookStats>),
    Counts(u64, u64),
    Page {
        generation: u64,
        kind: PageKind,
        records: Vec<Record>,
    },
    /// The event Detail asked for, decoded; `None` when it is no longer stored.
    Detail(Option<Box<Opened>>),
    PutDone(Result<WebhookView, PutFailure>),
    DeleteDone(Result<bool, String>),
    Pipelines(Result<Vec<PipelineView>, String>),
    PipelineSaved(Result<PipelineView, String>),
    /// The pipeline's name, and whether there was one.
    PipelineDeleted(Result<(String, bool), String>),
    /// The runs of this event, newest first.
    Runs(Uuid, Result<Vec<Run>, String>),
    Retried(Result<Run, String>),
    SearchStep(SearchStep),
    /// An event read for an action; `None` when it is no longer stored.
    Fetched(EventAct, Result<Option<Record>, String>),
    Replayed(Result<Replayed, String>),
    /// Where it was saved and how many bytes.
    Saved(Result<(String, usize), SaveFailure>),
    Error(String),
}

/// What can be done to the selected event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAct {
    Replay,
    Forward,
    CopyCurl,
    CopyBody,
    Save,
}

#[derive(Debug, Clone)]
pub enum SaveFailure {
    /// The path exists: saving again overwrites it.
    Exists(String),
    Other(String),
}

/// What one step of a body search found. The driver builds it off the UI loop; the bodies
/// it read are dropped here, so a search holds only the matches' summaries.
#[derive(Debug, Clone)]
pub struct SearchStep {
    pub generation: u64,
    /// Events read, and their bodies' bytes.
    pub scanned: usize,
    pub bytes: u64,
    /// The oldest event read: the next step starts before it.
    pub last: Option<Uuid>,
    /// The matches, newest first, without their bodies.
    pub found: Vec<Record>,
    /// No events were left to read: the oldest is reached. (A page may hold fewer events
    /// than asked for and still not be the last: pages with bodies are bounded in bytes.)
    pub done: bool,
}

impl SearchStep {
    /// Looks for `text` (lowercased) in the bodies of `records`, read newest first.
    pub fn run(generation: u64, records: Vec<Record>, text: &str) -> SearchStep {
        let needle = text.as_bytes();
        let mut step = SearchStep {
            generation,
            scanned: records.len(),
            bytes: 0,
            last: records.last().map(Record::id),
            found: Vec::new(),
            done: records.is_empty(),
        };
        for r in records {
            if let Record::Accepted(mut e) = r {
                step.bytes += e.body.len() as u64;
                if e.body_contains(needle) {
                    e.body = Vec::new();
                    step.found.push(Record::Accepted(e));
                }
            }
        }
        step
    }
}

#[derive(Debug, Clone)]
pub enum PutFailure {
    Conflict(String),
    Other(String),
}

/// A record with its body decoded for Detail. Decoding a large body takes a while, so the
/// driver does it off the UI loop and the core only stores the result.
#[derive(Debug, Clone)]
pub struct Opened {
    pub record: Record,
    pub body: Decoded,
}

impl Opened {
    pub fn decode(record: Record) -> Opened {
        let body = match &record {
            Record::Accepted(e) => decode::decode(e.content_type.as_deref(), &e.body),
            Record::Rejected(_) => Decoded::Empty,
        };
        Opened { record, body }
    }
}
