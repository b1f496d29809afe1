//! The service: route a request to its handler, with timing and metrics around it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::reply::{self, Reply};
use super::{State, api, receive};

const COMMAND_PREFIX: &str = "/api/v3/command/";

pub async fn handle(state: Arc<State>, req: Request<Incoming>, remote: SocketAddr) -> Reply {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/api/v3/webhook.receive" | "/api/v3/command/webhook.receive" => {
            let (reply, outcome) = receive::handle(&state, req, remote).await;
            state.metrics.receive(outcome, started.elapsed());
            reply
        }
        "/healthz" => {
            only_get(&req).unwrap_or_else(|| reply::text(StatusCode::OK, "text/plain", "ok"))
        }
        "/metrics" => only_get(&req).unwrap_or_else(|| {
            let stored = state.ctx.store.counts().unwrap_or((0, 0));
            let mut text = state.metrics.render(stored);
            text.push_str(
                &state
                    .metrics
                    .render_pipelines(&pipeline_lags(&state.ctx.store)),
            );
            reply::text(StatusCode::OK, "text/plain; version=0.0.4", text)
        }),
        p => match p.strip_prefix(COMMAND_PREFIX) {
            Some(name) => {
                let name = name.to_string();
                api::handle(&state, &name, req).await
            }
            None => reply::error(StatusCode::NOT_FOUND, format!("no such path {p:?}")),
        },
    }
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
