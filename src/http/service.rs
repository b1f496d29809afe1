//! The service: route a request to its handler, with timing and metrics around it.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::reply::{self, Reply};
use super::routes::Route;
use super::{Peer, State, api, receive};

pub async fn handle(state: Arc<State>, req: Request<Incoming>, remote: Peer) -> Reply {
    let started = Instant::now();
    // The route borrows the path; only the rare refusals below copy it.
    match Route::parse(req.uri().path()) {
        Route::Receive => {
            let (reply, outcome) = receive::handle(&state, req, remote).await;
            state.metrics.receive(outcome, started.elapsed());
            reply
        }
        Route::Health => only_get(&req).unwrap_or_else(|| {
            if state.ctx.writer.failed() {
                let why = "the store's writer failed; restart hooktail (its log says why)";
                return reply::text(StatusCode::SERVICE_UNAVAILABLE, "text/plain", why);
            }
            reply::text(StatusCode::OK, "text/plain", "ok")
        }),
        Route::Metrics => match only_get(&req) {
            Some(refused) => refused,
            None => metrics(&state).await,
        },
        Route::Command(name) => api::handle(&state, Ok(name), req).await,
        Route::UnknownCommand(name) => {
            let name = name.to_string();
            api::handle(&state, Err(&name), req).await
        }
        Route::NotFound => {
            let path = req.uri().path();
            reply::error(StatusCode::NOT_FOUND, format!("no such path {path:?}"))
        }
    }
}

/// `/metrics`; the store's counts come from a read transaction, run on a blocking thread.
async fn metrics(state: &State) -> Reply {
    let store = state.ctx.store.clone();
    let (stored, lags) =
        tokio::task::spawn_blocking(move || (store.counts().ok(), pipeline_lags(&store)))
            .await
            .unwrap_or_default();
    let mut text = state.metrics.render(stored.unwrap_or((0, 0)));
    text.push_str(&state.metrics.render_pipelines(&lags));
    let c = state.ctx.writer.checkpoints();
    text.push_str(&crate::metrics::Metrics::render_checkpoints(
        c.count, c.total, c.longest,
    ));
    reply::text(StatusCode::OK, "text/plain; version=0.0.4", text)
}

fn only_get(req: &Request<Incoming>) -> Option<Reply> {
    (req.method() != Method::GET && req.method() != Method::HEAD)
        .then(|| reply::error(StatusCode::METHOD_NOT_ALLOWED, "use GET"))
}

/// Each pipeline's lag, for `/metrics`.
fn pipeline_lags(store: &crate::store::Store) -> Vec<(String, u64)> {
    let pipelines = store.pipelines().unwrap_or_default();
    pipelines
        .into_iter()
        .filter_map(|p| {
            let pattern = crate::domain::EventKeyPattern::parse(&p.event_key).ok()?;
            Some((p.name, store.lag(p.cursor, &pattern).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, Writer, WriterConfig};

    #[tokio::test(flavor = "current_thread")]
    async fn metrics_read_the_store_off_the_async_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hooktail.redb")).unwrap();
        let config = WriterConfig {
            retain_events: 0,
            two_phase_commit: false,
        };
        let (writer, _thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
        let (_down, shutdown) = tokio::sync::watch::channel(false);
        let state = State {
            ctx: crate::service::Service {
                store,
                writer,
                public_url: String::new(),
                max_payload: 1,
                pipelines: None,
            },
            metrics: Default::default(),
            admin_key: String::new(),
            limits: Default::default(),
            read_only: false,
            budget: super::super::Budget::new(1),
            shutdown,
            tls: None,
            trusted_proxies: Vec::new(),
            body_answers: Default::default(),
        };
        let (reply, turns) = crate::http::turns_of_others_during(metrics(&state)).await;
        assert_eq!(reply.status(), StatusCode::OK);
        assert!(turns > 0, "the store was read on the async thread");
    }
}
