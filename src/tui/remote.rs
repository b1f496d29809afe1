//! The dashboard attached to a running server (§8): the same `Backend` over its command API.
//! Pages come from `event.list`, bodies from `event.get` only when an event is opened, and
//! writes go through the commands.
//!
//! Live: `event.listen` only says *when* to read. The feed then reads `event.list` after the
//! last record it handed on, oldest first, so records come in id order, rejections (which
//! the stream does not carry) included, and each once. A dropped stream shows in the header;
//! the feed retries with capped backoff, and on reconnect the same read fills the gap
//! before the feed says it is back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::backend::{Backend, Counts, Live, LiveFeed, RUNS_PER_EVENT, WebhookList};
use super::msg::Config;
use crate::domain::pipeline::Run;
use crate::domain::{Record, Status, WebhookView};
use crate::remote::{Api, MAX_ANSWER, MAX_BODY_PAGE_ANSWER, MAX_EVENT_ANSWER, json};
use crate::service::command::{CommandName, MAX_LIST_LIMIT, Params};
use crate::service::replay::{Replay, Replayed};
use crate::service::{PipelineView, ServiceError};
use crate::store::{Cursor, PageQuery, WebhookStats};

/// Records read per `event.list` when following.
const FOLLOW_PAGE: usize = 200;
/// Most records one catch-up hands on one by one; past it the dashboard reloads instead.
const FOLLOW_MAX: usize = 1000;
/// How often the feed reads even without a word from the stream: rejections are not streamed.
const POLL: Duration = Duration::from_secs(1);
/// How often the webhooks are read again: the server sends no word when they change.
const WEBHOOKS_EVERY: u32 = 10;
/// The stream sends a keep-alive every 15 s: silence this long means the connection is dead.
const SILENCE: Duration = Duration::from_secs(40);
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// Live items waiting for the dashboard; the feed waits when it is full.
const QUEUE: usize = 256;

/// A running server, reached over its API.
#[derive(Clone, Debug)]
pub struct Remote {
    api: Api,
}

impl Remote {
    pub fn new(api: Api) -> Remote {
        Remote { api }
    }

    pub fn url(&self) -> &str {
        self.api.url()
    }

    /// The dashboard's configuration for this server: its public URL and payload ceiling
    /// from `server.stats`. Fails when the server does not answer or refuses the key.
    pub async fn config(&self, read_only: bool, color: bool) -> Result<Config, ServiceError> {
        let stats = self.call(CommandName::ServerStats, &[]).await?;
        Ok(Config {
            listen_url: self.url().to_string(),
            public_url: stats["publicUrl"]
                .as_str()
                .unwrap_or(self.url())
                .to_string(),
            read_only,
            max_payload: stats["maxPayload"].as_u64().unwrap_or(u64::MAX),
            color,
        })
    }

    async fn call(
        &self,
        name: CommandName,
        params: &[(&str, String)],
    ) -> Result<Value, ServiceError> {
        self.api.call(name, params).await
    }
}

/// A malformed answer.
fn unreadable(e: String) -> ServiceError {
    ServiceError::Internal(e)
}

impl Backend for Remote {
    type Feed = RemoteFeed;

    async fn webhooks(&self) -> Result<WebhookList, ServiceError> {
        let list = self.call(CommandName::WebhookGet, &[]).await?;
        // One webhook the dashboard cannot read fails the whole list, with the reason, rather
        // than leaving the pane silently empty.
        let webhooks = json::array(list, json::webhook).map_err(unreadable)?;
        let stats = self.call(CommandName::ServerStats, &[]).await?;
        Ok(WebhookList {
            webhooks,
            stats: webhook_stats(&stats),
        })
    }

    async fn counts(&self) -> Result<Counts, ServiceError> {
        let stats = self.call(CommandName::ServerStats, &[]).await?;
        Ok(Counts {
            accepted: stats["accepted"].as_u64().unwrap_or(0),
            rejected: stats["rejected"].as_u64().unwrap_or(0),
        })
    }

    async fn page(&self, query: PageQuery) -> Result<Vec<Record>, ServiceError> {
        let mut params = list_params(&query);
        // The body search asks for pages with bodies; the dashboard sizes those steps to
        // about 8 MiB of bodies, and the answer is read within `MAX_BODY_PAGE_ANSWER`.
        let cap = if query.with_body {
            params.push(("withBody", "true".into()));
            MAX_BODY_PAGE_ANSWER
        } else {
            MAX_ANSWER
        };
        let page = self
            .api
            .call_within(CommandName::EventList, &params, cap)
            .await?;
        json::array(page, |v| json::record(v, query.with_body)).map_err(unreadable)
    }

    async fn event(&self, id: Uuid) -> Result<Option<Record>, ServiceError> {
        let params = [("id", id.to_string())];
        match self
            .api
            .call_within(CommandName::EventGet, &params, MAX_EVENT_ANSWER)
            .await
        {
            Ok(v) => json::record(v, true).map(Some).map_err(unreadable),
            Err(ServiceError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put_webhook(&self, params: Params) -> Result<WebhookView, ServiceError> {
        let params: Vec<(&str, String)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let w = self.call(CommandName::WebhookPut, &params).await?;
        json::webhook(w).map_err(unreadable)
    }

    async fn delete_webhook(&self, uuid: Uuid) -> Result<bool, ServiceError> {
        let v = self
            .call(CommandName::WebhookDelete, &[("uuid", uuid.to_string())])
            .await?;
        Ok(v["deleted"].as_bool().unwrap_or(false))
    }

    async fn pipelines(&self) -> Result<Vec<PipelineView>, ServiceError> {
        let list = self.call(CommandName::PipelineGet, &[]).await?;
        json::array(list, json::pipeline).map_err(unreadable)
    }

    async fn put_pipeline(
        &self,
        name: String,
        yaml: String,
        enabled: bool,
    ) -> Result<PipelineView, ServiceError> {
        let params = [
            ("name", name),
            ("yaml", yaml),
            ("enabled", enabled.to_string()),
        ];
        let p = self.call(CommandName::PipelinePut, &params).await?;
        json::pipeline(p).map_err(unreadable)
    }

    async fn delete_pipeline(&self, name: String) -> Result<bool, ServiceError> {
        let v = self
            .call(CommandName::PipelineDelete, &[("name", name)])
            .await?;
        Ok(v["deleted"].as_bool().unwrap_or(false))
    }

    async fn runs_of(&self, event: Uuid) -> Result<Vec<Run>, ServiceError> {
        let params = [
            ("eventId", event.to_string()),
            ("limit", RUNS_PER_EVENT.to_string()),
        ];
        let runs = self.call(CommandName::RunList, &params).await?;
        json::array(runs, json::run).map_err(unreadable)
    }

    async fn retry_run(&self, id: Uuid) -> Result<Run, ServiceError> {
        let run = self
            .call(CommandName::RunRetry, &[("id", id.to_string())])
            .await?;
        json::run(run).map_err(unreadable)
    }

    async fn replay(&self, id: Uuid, how: Replay) -> Result<Replayed, ServiceError> {
        let mut params = vec![("id", id.to_string())];
        match how {
            Replay::Pipelines(Some(name)) => params.push(("pipeline", name)),
            Replay::Pipelines(None) => {}
            Replay::Forward(url) => params.push(("url", url)),
        }
        let answer = self.call(CommandName::EventReplay, &params).await?;
        json::replayed(answer).map_err(unreadable)
    }

    fn live(&self) -> RemoteFeed {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(follow(self.api.clone(), tx));
        RemoteFeed { rx, task }
    }
}

/// `event.list`'s parameters for a page query.
fn list_params(q: &PageQuery) -> Vec<(&'static str, String)> {
    let mut p = vec![("limit", q.limit.clamp(1, MAX_LIST_LIMIT).to_string())];
    match q.cursor {
        Cursor::Newest => {}
        Cursor::Before(id) => p.push(("before", id.to_string())),
        Cursor::Oldest => p.push(("oldest", "true".into())),
        Cursor::After(id) => p.push(("after", id.to_string())),
    }
    match q.filter.status {
        Some(Status::Accepted) => p.push(("status", "accepted".into())),
        Some(Status::Rejected) => p.push(("status", "rejected".into())),
        None => {}
    }
    if let Some(pattern) = &q.filter.pattern {
        p.push(("eventKey", pattern.to_string()));
    }
    if !q.filter.text().is_empty() {
        p.push(("text", q.filter.text().to_string()));
    }
    p
}

/// The per-webhook figures of an `event.stats` answer.
fn webhook_stats(stats: &Value) -> HashMap<Uuid, WebhookStats> {
    let Some(map) = stats["webhooks"].as_object() else {
        return HashMap::new();
    };
    map.iter()
        .filter_map(|(uuid, s)| {
            let uuid = Uuid::parse_str(uuid).ok()?;
            let last_at = s["lastAt"].as_str().and_then(json::parse_rfc3339_ms);
            let events = s["events"].as_u64().unwrap_or(0);
            Some((uuid, WebhookStats { events, last_at }))
        })
        .collect()
}

/// What the follow task hands the dashboard.
pub struct RemoteFeed {
    rx: mpsc::Receiver<Live>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RemoteFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LiveFeed for RemoteFeed {
    async fn next(&mut self) -> Option<Live> {
        self.rx.recv().await
    }
}

/// Why following stopped.
enum Stop {
    /// The connection failed: retry.
    Lost,
    /// The dashboard is gone.
    Closed,
}

/// Follows the server for as long as the feed lives: reads after the newest record stored
/// now, wakes on the stream and the poll, and reconnects with capped backoff.
async fn follow(api: Api, tx: mpsc::Sender<Live>) {
    let mut last: Option<Option<Uuid>> = None;
    let mut up = true;
    let mut wait = FIRST_RETRY;
    loop {
        let stop = match connect(&api, &mut last).await {
            Ok(body) => {
                wait = FIRST_RETRY;
                let back = !std::mem::replace(&mut up, true);
                watch(&api, &tx, body, &mut last, back).await
            }
            Err(_) => Stop::Lost,
        };
        if let Stop::Closed = stop {
            return;
        }
        if up {
            up = false;
            if tx.send(Live::Disconnected).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RETRY);
    }
}

/// Opens the stream; the first time, also learns where following starts (the newest
/// record stored, `None` for an empty store), before the stream opens, so nothing is lost
/// in between.
async fn connect(
    api: &Api,
    last: &mut Option<Option<Uuid>>,
) -> Result<hyper::body::Incoming, ServiceError> {
    if last.is_none() {
        *last = Some(newest(api).await?);
    }
    api.listen(None).await
}

async fn newest(api: &Api) -> Result<Option<Uuid>, ServiceError> {
    let page = api
        .call(CommandName::EventList, &[("limit", "1".to_string())])
        .await?;
    let page = json::array(page, |v| json::record(v, false)).map_err(unreadable)?;
    Ok(page.first().map(Record::id))
}

/// Reads what came after `last` whenever the stream says something or the poll is due,
/// until the stream ends, falls silent, or a read fails. `back` after a drop: `Reconnected`
/// follows the records that fill the gap, which the dashboard counts as they come.
async fn watch(
    api: &Api,
    tx: &mpsc::Sender<Live>,
    mut body: hyper::body::Incoming,
    last: &mut Option<Option<Uuid>>,
    mut back: bool,
) -> Stop {
    let mut poll = tokio::time::interval(POLL);
    let mut polls = 0u32;
    // The first read fills the gap since `last`, whatever its age.
    let mut due = true;
    loop {
        if std::mem::take(&mut due)
            && let Err(stop) = catch_up(api, tx, last).await
        {
            return stop;
        }
        if std::mem::take(&mut back) && tx.send(Live::Reconnected).await.is_err() {
            return Stop::Closed;
        }
        tokio::select! {
            frame = tokio::time::timeout(SILENCE, body.frame()) => match frame {
                // What the stream says does not matter, only that it spoke; its bytes go
                // at once, so a large event costs no memory here.
                Ok(Some(Ok(_))) => due = true,
                _ => return Stop::Lost,
            },
            _ = poll.tick() => {
                due = true;
                polls += 1;
                if polls.is_multiple_of(WEBHOOKS_EVERY) && tx.send(Live::WebhooksChanged).await.is_err() {
                    return Stop::Closed;
                }
            }
            _ = tx.closed() => return Stop::Closed,
        }
    }
}

/// Hands on every record after `last`, oldest first, and moves `last` along; after more
/// than `FOLLOW_MAX`, asks the dashboard to reload instead and starts again from the newest.
async fn catch_up(
    api: &Api,
    tx: &mpsc::Sender<Live>,
    last: &mut Option<Option<Uuid>>,
) -> Result<(), Stop> {
    let mut handed = 0;
    loop {
        let from = match last {
            Some(Some(id)) => ("after", id.to_string()),
            _ => ("oldest", "true".to_string()),
        };
        let params = [from, ("limit", FOLLOW_PAGE.to_string())];
        let page = api
            .call(CommandName::EventList, &params)
            .await
            .map_err(|_| Stop::Lost)?;
        let page = json::array(page, |v| json::record(v, false)).map_err(|_| Stop::Lost)?;
        let full = page.len() == FOLLOW_PAGE;
        if handed + page.len() > FOLLOW_MAX {
            *last = Some(newest(api).await.map_err(|_| Stop::Lost)?);
            return tx.send(Live::Lagged).await.map_err(|_| Stop::Closed);
        }
        for record in page {
            *last = Some(Some(record.id()));
            handed += 1;
            tx.send(Live::Record(Arc::new(record)))
                .await
                .map_err(|_| Stop::Closed)?;
        }
        if !full {
            return Ok(());
        }
    }
}
