//! What a run carries from step to step, what it records, and how a failed step is retried.
//! All of it serializable, so that a runner with a durable store can resume a run at the step
//! that failed, after a restart, without running the earlier steps again.

use std::io::{self, Write};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{Event, PayloadType};

/// Bytes of a step's output kept in its log entry.
pub const MAX_OUTPUT_BYTES: usize = 4096;
/// Longest wait between two attempts, whatever `wait` and the attempt number say.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The state between two steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    /// Index in [`super::Pipeline::steps`] of the next step to run.
    pub next_step: usize,
    /// The next step's input: the previous step's output.
    pub body: Value,
    /// The pipeline's `vars`, as `var.set` left them.
    pub vars: Value,
    /// How often the step at `next_step` has failed so far (for RETRY).
    pub failures: u32,
    /// Every step run so far, across resumes.
    pub steps: Vec<StepLog>,
}

impl RunState {
    /// The state before the first step: the event as the body, the document's `vars`.
    pub fn new(body: Value, vars: Value) -> Self {
        Self {
            next_step: 0,
            body,
            vars,
            failures: 0,
            steps: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Ok,
    /// Its `if` was false.
    Skipped,
    Failed,
}

/// One entry of a run's step log (SPEC §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepLog {
    /// The step's name as the document writes it (`mail`, `http.post`…).
    pub step: String,
    pub status: StepStatus,
    pub duration_ms: u64,
    /// The output as JSON text, at most [`MAX_OUTPUT_BYTES`].
    pub output: Option<String>,
    pub error: Option<String>,
}

/// What a step does when it fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OnError {
    /// The run fails (and is dead until retried by hand).
    Throw,
    /// The run goes on with the failed step's input as the next body.
    Ignore,
    /// As `Ignore`, and the error goes to hooktail's log.
    Log,
    /// Try the step again later; when the retries are spent, do `then`.
    Retry(RetryPolicy),
}

/// `{action: RETRY, times, wait, then}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first failure: the step runs at most `times + 1` times.
    pub times: u32,
    /// The wait before the first retry; it doubles on each further retry.
    pub wait: Duration,
    /// What to do when the retries are spent: `Throw`, `Ignore` or `Log`.
    pub then: Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    Throw,
    Ignore,
    Log,
}

impl RetryPolicy {
    /// The wait before the next attempt after `failures` failures, or `None` when the retries
    /// are spent. `jitter` is a random number in `[0, 1)` supplied by the caller.
    pub fn next_delay(&self, failures: u32, jitter: f64) -> Option<Duration> {
        (failures >= 1 && failures <= self.times).then(|| backoff(self.wait, failures, jitter))
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every step ran, was skipped, or failed with IGNORE/LOG. `body` is the last output.
    Ok(RunState),
    /// The `if` of `event.listen` was false (or could not be evaluated, as its log says).
    Filtered(RunState),
    /// A step failed with THROW or RETRY.
    Failed(Failure),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Index in [`super::Pipeline::steps`] of the step that failed.
    pub step: usize,
    pub error: String,
    /// `Some` when the step's onError is RETRY.
    pub retry: Option<RetryPolicy>,
    /// The state to resume from: `next_step` is the failed step, `failures` counts its failures.
    pub state: RunState,
}

/// What the runner does after a failure.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Run the failed step again after `after`, from `state`.
    Retry { after: Duration, state: RunState },
    /// Go on with the step after the failed one (RETRY's `then: IGNORE` or `LOG`, with the
    /// error already logged for LOG).
    Continue { state: RunState },
    /// The run is dead: THROW, or retries spent with `then: THROW`.
    Dead,
}

impl Failure {
    /// The decision for this failure; `jitter` is a random number in `[0, 1)`. Pure: the run
    /// already logged the error when its retries were spent with `then: LOG`.
    pub fn next(&self, jitter: f64) -> Next {
        let Some(policy) = self.retry else {
            return Next::Dead;
        };
        if let Some(after) = policy.next_delay(self.state.failures, jitter) {
            return Next::Retry {
                after,
                state: self.state.clone(),
            };
        }
        match policy.then {
            Fallback::Throw => Next::Dead,
            Fallback::Ignore | Fallback::Log => {
                let mut state = self.state.clone();
                state.next_step += 1;
                state.failures = 0;
                Next::Continue { state }
            }
        }
    }
}

/// `wait` doubled for each failure after the first, within ±20 % of jitter, capped at
/// [`MAX_BACKOFF`]. Pure: the caller supplies the random `jitter` in `[0, 1)`.
pub fn backoff(wait: Duration, failures: u32, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    let base = wait
        .checked_mul(1u32 << doublings)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    base.mul_f64(factor).min(MAX_BACKOFF)
}

/// The first step's body: the event of §4 with its `origin` (the exact body, base64), and
/// `payload.origin` the same value, as PIPEFORCE's newer documents read it. A `raw` webhook's
/// `payload` is its parsed body, so there only `origin` is added. An `ignore` webhook keeps no
/// body, so it has neither.
pub fn first_body(event: &Event) -> Value {
    let mut v = event.to_json(true);
    if event.payload_type == PayloadType::Ignore {
        return v;
    }
    if let Value::Object(map) = &mut v {
        let origin = Value::String(B64.encode(&event.body));
        if !map.contains_key("payload") {
            let mut payload = Map::new();
            payload.insert("origin".into(), origin.clone());
            map.insert("payload".into(), Value::Object(payload));
        }
        map.insert("origin".into(), origin);
    }
    v
}

/// A value as JSON text for a step log, cut at [`MAX_OUTPUT_BYTES`] with a marker. The value
/// is written through a bounded buffer, so a large body costs no more than the cap.
pub fn capped_json(v: &Value) -> String {
    const MARKER: &str = "…[truncated]";
    let mut w = Capped {
        buf: Vec::with_capacity(256),
        cap: MAX_OUTPUT_BYTES,
        full: false,
    };
    // The only error is the cap being reached, which is what `full` records.
    let _ = serde_json::to_writer(&mut w, v);
    if !w.full {
        return String::from_utf8_lossy(&w.buf).into_owned();
    }
    let mut end = MAX_OUTPUT_BYTES - MARKER.len();
    while end > 0 && (w.buf[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    let mut s = String::from_utf8_lossy(&w.buf[..end]).into_owned();
    s.push_str(MARKER);
    s
}

/// Text cut at `max` bytes (on a character boundary), with a marker when it was cut.
pub fn capped_text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[truncated, {} bytes]", &s[..end], s.len())
}

/// A writer that keeps at most `cap` bytes and then refuses more.
struct Capped {
    buf: Vec<u8>,
    cap: usize,
    full: bool,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.cap - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.full = true;
            return Err(io::Error::other("output cap reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::sample;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let wait = Duration::from_secs(2);
        // Without jitter the factor is 0.8; with the largest jitter it approaches 1.2.
        assert_eq!(backoff(wait, 1, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(wait, 2, 0.5), Duration::from_secs(4));
        assert_eq!(backoff(wait, 3, 0.5), Duration::from_secs(8));
        assert_eq!(backoff(wait, 1, 0.0), Duration::from_millis(1600));
        assert!(backoff(wait, 1, 0.999) < Duration::from_millis(2400));
        assert_eq!(backoff(wait, 40, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(wait, u32::MAX, 1.0), MAX_BACKOFF);
    }

    #[test]
    fn retries_are_counted() {
        let p = RetryPolicy {
            times: 2,
            wait: Duration::from_secs(1),
            then: Fallback::Throw,
        };
        assert_eq!(p.next_delay(1, 0.5), Some(Duration::from_secs(1)));
        assert_eq!(p.next_delay(2, 0.5), Some(Duration::from_secs(2)));
        assert_eq!(p.next_delay(3, 0.5), None);
    }

    fn failed(retry: Option<RetryPolicy>, failures: u32) -> Failure {
        let mut state = RunState::new(Value::Null, Value::Null);
        state.next_step = 2;
        state.failures = failures;
        Failure {
            step: 2,
            error: "boom".into(),
            retry,
            state,
        }
    }

    #[test]
    fn what_follows_a_failure() {
        assert_eq!(failed(None, 1).next(0.5), Next::Dead);
        let policy = |then| RetryPolicy {
            times: 2,
            wait: Duration::from_secs(1),
            then,
        };
        let f = failed(Some(policy(Fallback::Throw)), 2);
        assert_eq!(
            f.next(0.5),
            Next::Retry {
                after: Duration::from_secs(2),
                state: f.state.clone()
            }
        );
        assert_eq!(
            failed(Some(policy(Fallback::Throw)), 3).next(0.5),
            Next::Dead
        );
        for then in [Fallback::Ignore, Fallback::Log] {
            let Next::Continue { state } = failed(Some(policy(then)), 3).next(0.5) else {
                panic!("{then:?} goes on");
            };
            assert_eq!((state.next_step, state.failures), (3, 0));
        }
    }

    #[test]
    fn first_body_has_origin_twice() {
        let e = sample("webhook.a", 0, b"{\"lead\":\"ACME\"}");
        let v = first_body(&e);
        assert_eq!(v["origin"], "eyJsZWFkIjoiQUNNRSJ9");
        assert_eq!(v["payload"]["origin"], v["origin"]);
        let raw = Event {
            payload_type: PayloadType::Raw,
            ..e.clone()
        };
        let v = first_body(&raw);
        assert_eq!(v["payload"]["lead"], "ACME");
        assert_eq!(v["origin"], "eyJsZWFkIjoiQUNNRSJ9");
        let ignore = Event {
            payload_type: PayloadType::Ignore,
            ..e
        };
        assert!(first_body(&ignore).get("origin").is_none());
    }

    #[test]
    fn output_is_capped_with_a_marker() {
        assert_eq!(capped_json(&serde_json::json!({"a": 1})), r#"{"a":1}"#);
        let big = Value::String("é".repeat(10_000));
        let s = capped_json(&big);
        assert!(s.len() <= MAX_OUTPUT_BYTES, "{}", s.len());
        assert!(s.ends_with("…[truncated]"));
        assert!(s.starts_with("\"éé"));
        assert_eq!(capped_text("abc", 2), "ab…[truncated, 3 bytes]");
        assert_eq!(capped_text("abc", 3), "abc");
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut s = RunState::new(serde_json::json!({"a": 1}), serde_json::json!({}));
        s.steps.push(StepLog {
            step: "log".into(),
            status: StepStatus::Ok,
            duration_ms: 3,
            output: Some("1".into()),
            error: None,
        });
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"nextStep\":0") && text.contains("\"durationMs\":3"));
        assert_eq!(serde_json::from_str::<RunState>(&text).unwrap(), s);
    }
}
