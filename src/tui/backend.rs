//! Everything the dashboard reads and writes goes through a `Backend`: the store of this
//! process (`Local`), or a server's HTTP API when attached to one (`remote::Remote`, §8). Calls are async
//! and answer with data, failures included, so that the driver runs them off the UI loop
//! and any backend fits the same panes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use uuid::Uuid;

use crate::domain::pipeline::Run;
use crate::domain::{Record, WebhookView};
use crate::service::PipelineView;
use crate::service::command::{Params, webhook_input};
use crate::service::replay::{Replay, Replayed};
use crate::service::{Service, ServiceError, Source};
use crate::store::{PageQuery, RunQuery, WebhookStats};

/// Most runs Detail lists for one event: one per pipeline that matched it, plus the runs by
/// hand, so far more than any event has.
pub const RUNS_PER_EVENT: usize = 100;

/// Every webhook with its figures.
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
    pub stats: HashMap<Uuid, WebhookStats>,
}

/// Records stored.
pub struct Counts {
    pub accepted: u64,
    pub rejected: u64,
}

/// What happens while the dashboard watches.
pub enum Live {
    /// A record committed just now.
    Record(Arc<Record>),
    /// Records were missed: reload.
    Lagged,
    /// Someone changed the webhooks.
    WebhooksChanged,
    /// The connection to an attached server dropped; the feed retries.
    Disconnected,
    /// The connection is back; the records missed meanwhile came just before, as `Record`s.
    Reconnected,
}

pub trait Backend: Clone + Send + Sync + 'static {
    type Feed: LiveFeed;

    fn webhooks(&self) -> impl Future<Output = Result<WebhookList, ServiceError>> + Send;
    fn counts(&self) -> impl Future<Output = Result<Counts, ServiceError>> + Send;
    /// A page of records, without bodies.
    fn page(
        &self,
        query: PageQuery,
    ) -> impl Future<Output = Result<Vec<Record>, ServiceError>> + Send;
    /// One record with its body; `None` when it is no longer stored.
    fn event(&self, id: Uuid) -> impl Future<Output = Result<Option<Record>, ServiceError>> + Send;
    /// Creates or edits a webhook from `webhook.put`'s text parameters, read by the
    /// service's own parsing, so that both backends send the same thing.
    fn put_webhook(
        &self,
        params: Params,
    ) -> impl Future<Output = Result<WebhookView, ServiceError>> + Send;
    /// Whether there was such a webhook.
    fn delete_webhook(&self, uuid: Uuid)
    -> impl Future<Output = Result<bool, ServiceError>> + Send;
    /// Every pipeline, by name, with its lag.
    fn pipelines(&self) -> impl Future<Output = Result<Vec<PipelineView>, ServiceError>> + Send;
    /// Creates or replaces a pipeline; an invalid document is a `BadRequest` that names its
    /// line and column.
    fn put_pipeline(
        &self,
        name: String,
        yaml: String,
        enabled: bool,
    ) -> impl Future<Output = Result<PipelineView, ServiceError>> + Send;
    /// Whether there was such a pipeline.
    fn delete_pipeline(
        &self,
        name: String,
    ) -> impl Future<Output = Result<bool, ServiceError>> + Send;
    /// The runs an event caused, newest first, with their step logs.
    fn runs_of(&self, event: Uuid) -> impl Future<Output = Result<Vec<Run>, ServiceError>> + Send;
    /// Queues a failed or dead run again.
    fn retry_run(&self, id: Uuid) -> impl Future<Output = Result<Run, ServiceError>> + Send;
    /// Runs a stored event again through pipelines, or forwards it (`event.replay`).
    fn replay(
        &self,
        id: Uuid,
        how: Replay,
    ) -> impl Future<Output = Result<Replayed, ServiceError>> + Send;
    /// Starts watching.
    fn live(&self) -> Self::Feed;
}

pub trait LiveFeed: Send {
    /// The next thing that happened; `None` once the source is gone for good.
    /// Cancel safe: nothing is lost when the future is dropped unfinished.
    fn next(&mut self) -> impl Future<Output = Option<Live>> + Send;
}

/// The store and writer of this process.
#[derive(Clone)]
pub struct Local {
    service: Service,
}

impl Local {
    pub fn new(service: Service) -> Local {
        Local { service }
    }
}

impl Backend for Local {
    type Feed = LocalFeed;

    async fn webhooks(&self) -> Result<WebhookList, ServiceError> {
        self.service
            .blocking(|store| {
                let stats = store.webhook_stats()?;
                Ok(WebhookList {
                    webhooks: store
                        .webhooks()
                        .into_iter()
                        .map(WebhookView::from)
                        .collect(),
                    stats,
                })
            })
            .await
    }

    async fn counts(&self) -> Result<Counts, ServiceError> {
        self.service
            .blocking(|store| {
                let (accepted, rejected) = store.counts()?;
                Ok(Counts { accepted, rejected })
            })
            .await
    }

    async fn page(&self, query: PageQuery) -> Result<Vec<Record>, ServiceError> {
        self.service.events(query).await
    }

    async fn event(&self, id: Uuid) -> Result<Option<Record>, ServiceError> {
        self.service.event(id).await
    }

    async fn put_webhook(&self, params: Params) -> Result<WebhookView, ServiceError> {
        let input = webhook_input(&params, self.service.max_payload)?;
        let w = self.service.put_webhook(input, Source::Dashboard).await?;
        Ok(w.into())
    }

    async fn delete_webhook(&self, uuid: Uuid) -> Result<bool, ServiceError> {
        self.service.delete_webhook(uuid, Source::Dashboard).await
    }

    async fn pipelines(&self) -> Result<Vec<PipelineView>, ServiceError> {
        self.service.pipelines().await
    }

    async fn put_pipeline(
        &self,
        name: String,
        yaml: String,
        enabled: bool,
    ) -> Result<PipelineView, ServiceError> {
        self.service
            .put_pipeline(&name, yaml, enabled, Source::Dashboard)
            .await
    }

    async fn delete_pipeline(&self, name: String) -> Result<bool, ServiceError> {
        self.service.delete_pipeline(&name, Source::Dashboard).await
    }

    async fn runs_of(&self, event: Uuid) -> Result<Vec<Run>, ServiceError> {
        let q = RunQuery {
            event_id: Some(event),
            limit: RUNS_PER_EVENT,
            ..RunQuery::default()
        };
        let mut runs = self.service.runs(q).await?;
        // The state a retry resumes from holds the event's whole body: Detail needs none of it.
        for r in &mut runs {
            r.resume = None;
        }
        Ok(runs)
    }

    async fn retry_run(&self, id: Uuid) -> Result<Run, ServiceError> {
        self.service.retry_run(id, Source::Dashboard).await
    }

    async fn replay(&self, id: Uuid, how: Replay) -> Result<Replayed, ServiceError> {
        self.service.replay_event(id, how, Source::Dashboard).await
    }

    fn live(&self) -> LocalFeed {
        LocalFeed {
            bus: self.service.writer.subscribe(),
            webhooks_changed: self.service.writer.watch_webhooks(),
        }
    }
}

/// The writer's bus of committed records, and its signal that webhooks changed.
pub struct LocalFeed {
    bus: broadcast::Receiver<Arc<Record>>,
    webhooks_changed: watch::Receiver<u64>,
}

impl LiveFeed for LocalFeed {
    async fn next(&mut self) -> Option<Live> {
        tokio::select! {
            r = self.bus.recv() => match r {
                Ok(record) => Some(Live::Record(record)),
                Err(RecvError::Lagged(_)) => Some(Live::Lagged),
                Err(RecvError::Closed) => None,
            },
            Ok(()) = self.webhooks_changed.changed() => Some(Live::WebhooksChanged),
        }
    }
}
