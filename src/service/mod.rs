//! The one place where operations live: webhooks, events, pipelines and runs. The HTTP
//! commands, `hooktail command` without a server, and the dashboard all call these typed
//! functions, so they share one validation and one audit log. `command` turns text
//! parameters into these calls and their results into JSON.

pub mod command;
pub mod pipelines;
pub mod replay;

use std::sync::Arc;

use uuid::Uuid;

use crate::domain::{Record, Webhook, WebhookInput};
use crate::store::{PageQuery, PutError, Store, StoreError, Writer};

pub use pipelines::PipelineView;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// A target hooktail sent a call on to did not answer (`event.replay` with a `url`).
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::BadRequest(_) => 400,
            ServiceError::NotFound(_) => 404,
            ServiceError::Conflict(_) => 409,
            ServiceError::Unavailable(_) => 503,
            ServiceError::BadGateway(_) => 502,
            ServiceError::Internal(_) => 500,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed | StoreError::Unavailable | StoreError::WriterFailed => {
                ServiceError::Unavailable(e.to_string())
            }
            e => ServiceError::Internal(e.to_string()),
        }
    }
}

/// Which front end asked for a change, named in its audit line. Each front end passes its
/// own; a command sent over HTTP names it in [`Source::HEADER`] (the CLI and an attached
/// dashboard do), else it is `api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Cli,
    Dashboard,
}

impl Source {
    /// The request header in which a command's sender names itself.
    pub const HEADER: &'static str = "x-hooktail-source";

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Cli => "cli",
            Source::Dashboard => "dashboard",
        }
    }

    /// The source a header names; anything else is `api`.
    pub fn from_header(value: Option<&str>) -> Source {
        match value.map(str::trim) {
            Some("cli") => Source::Cli,
            Some("dashboard") => Source::Dashboard,
            _ => Source::Api,
        }
    }
}

/// What the operations run against.
#[derive(Clone)]
pub struct Service {
    pub store: Arc<Store>,
    pub writer: Writer,
    pub public_url: String,
    /// The server's `--max-payload`: no webhook may accept more.
    pub max_payload: u64,
    /// Pipeline delivery; only a server runs it (`hooktail command` alone does not).
    pub pipelines: Option<crate::pipeline::engine::Pipelines>,
}

impl Service {
    /// Runs a store read or write off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| {
                // A panic's text is for the log (redb panics on some damaged files), not
                // for whoever asked.
                tracing::error!("reading the store failed: {e}");
                ServiceError::Internal("reading the store failed; the log says why".into())
            })?
            .map_err(ServiceError::from)
    }

    /// Creates or edits a webhook from validated input, and logs the change.
    pub async fn put_webhook(
        &self,
        input: WebhookInput,
        source: Source,
    ) -> Result<Webhook, ServiceError> {
        let w = self.writer.put_webhook(input).await.map_err(|e| match e {
            PutError::Invalid(m) => ServiceError::BadRequest(m),
            PutError::Conflict(..) => ServiceError::Conflict(e.to_string()),
            PutError::Store(e) => e.into(),
        })?;
        tracing::info!(
            target: "audit",
            change = "webhook.put",
            event_key = %w.event_key,
            token = %w.token_prefix(),
            source = source.as_str(),
            "webhook put"
        );
        Ok(w)
    }

    /// One webhook; `None` when there is none.
    pub fn webhook(&self, uuid: &Uuid) -> Option<Webhook> {
        self.store.webhook(uuid).map(Arc::unwrap_or_clone)
    }

    /// Every webhook.
    pub fn webhooks(&self) -> Vec<Webhook> {
        self.store.webhooks()
    }

    /// Deletes a webhook and logs it; `false` when there was none.
    pub async fn delete_webhook(&self, uuid: Uuid, source: Source) -> Result<bool, ServiceError> {
        let deleted = self.writer.delete_webhook(uuid).await?;
        if deleted {
            let token = crate::domain::webhook::token_prefix(&uuid.to_string());
            tracing::info!(
                target: "audit",
                change = "webhook.delete",
                token = %token,
                source = source.as_str(),
                "webhook deleted"
            );
        }
        Ok(deleted)
    }

    /// A page of records.
    pub async fn events(&self, query: PageQuery) -> Result<Vec<Record>, ServiceError> {
        self.blocking(move |s| s.page(&query)).await
    }

    /// One record with its body; `None` when it is not (or no longer) stored.
    pub async fn event(&self, id: Uuid) -> Result<Option<Record>, ServiceError> {
        self.blocking(move |s| s.record(&id)).await
    }
}
