//! The steps of this module behind the runner's [`Execute`]: one attempt runs the steps and
//! turns a failure into a retry, a continuation or a dead run, as its `onError` says.

use super::runner::{Attempt, BoxFuture, Execute, Runner};
use super::{Env, Trigger, resume, start};
use crate::domain::pipeline::{Next, Outcome, Pipeline, RunState};
use crate::domain::{Event, EventKeyPattern};

/// The delivery that hooktail runs.
pub type Pipelines = Runner<Engine>;

pub struct Engine {
    pub env: Env,
}

impl Engine {
    /// The pooled client of the HTTP steps, for forwards by hand (`event.replay`).
    pub fn client(&self) -> super::HttpClient {
        self.env.http.clone()
    }
}

impl Execute for Engine {
    type Program = Pipeline;

    fn compile(&self, yaml: &str) -> Result<(Pipeline, EventKeyPattern), String> {
        let p = Pipeline::parse(yaml).map_err(|e| e.to_string())?;
        let pattern = p.listen.pattern.clone();
        Ok((p, pattern))
    }

    fn attempt<'a>(
        &'a self,
        program: &'a Pipeline,
        pipeline: &'a str,
        event: &'a Event,
        from: Option<&'a RunState>,
        _attempt: u32,
    ) -> BoxFuture<'a, Attempt> {
        Box::pin(async move {
            let trigger = Trigger::from_event(event);
            let mut outcome = match from {
                Some(state) => resume(program, pipeline, &trigger, &self.env, state.clone()).await,
                None => start(program, pipeline, &trigger, &self.env).await,
            };
            loop {
                let failure = match outcome {
                    Outcome::Ok(state) | Outcome::Filtered(state) => {
                        return Attempt::Ok { steps: state.steps };
                    }
                    Outcome::Failed(f) => f,
                };
                match failure.next(jitter()) {
                    Next::Retry { after, state } => {
                        return Attempt::Retry {
                            steps: failure.state.steps,
                            error: failure.error,
                            delay: after,
                            resume: state,
                        };
                    }
                    Next::Continue { state } => {
                        outcome = resume(program, pipeline, &trigger, &self.env, state).await;
                    }
                    Next::Dead => {
                        // A retry by hand starts at the failed step, with a fresh count.
                        let mut state = failure.state;
                        let steps = state.steps.clone();
                        state.failures = 0;
                        return Attempt::Dead {
                            steps,
                            error: failure.error,
                            resume: Some(state),
                        };
                    }
                }
            }
        })
    }
}

/// A random number in `[0, 1)` for the backoff's jitter.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
}
