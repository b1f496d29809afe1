//! Counters for `/metrics`, in Prometheus text format. Lock-free on the hot path.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::domain::pipeline::{RunStatus, StepLog};
use crate::pipeline::runner::Observe;

/// Upper bounds of the latency histogram, in seconds.
const LATENCY_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Upper bounds of the commit batch size histogram.
const BATCH_BOUNDS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 256.0, 1024.0];

/// How a receive call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    NoToken,
    UnknownToken,
    TooLarge,
    BadBody,
    BadMethod,
    AmbiguousToken,
    Timeout,
    Busy,
    Error,
    /// The caller's address is not in the webhook's `allowFrom`.
    Forbidden,
    /// Failed sender verification or a handshake's check (§7).
    Unverified,
    /// A delivery id already stored: answered, nothing new stored.
    Duplicate,
    /// A provider's handshake, answered and not stored.
    Handshake,
}

impl Outcome {
    const ALL: [Outcome; 14] = [
        Outcome::Accepted,
        Outcome::NoToken,
        Outcome::UnknownToken,
        Outcome::TooLarge,
        Outcome::BadBody,
        Outcome::BadMethod,
        Outcome::AmbiguousToken,
        Outcome::Timeout,
        Outcome::Busy,
        Outcome::Error,
        Outcome::Forbidden,
        Outcome::Unverified,
        Outcome::Duplicate,
        Outcome::Handshake,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::NoToken => "no_token",
            Outcome::UnknownToken => "unknown_token",
            Outcome::TooLarge => "too_large",
            Outcome::BadBody => "bad_body",
            Outcome::BadMethod => "bad_method",
            Outcome::AmbiguousToken => "ambiguous_token",
            Outcome::Timeout => "timeout",
            Outcome::Busy => "busy",
            Outcome::Error => "error",
            Outcome::Forbidden => "forbidden",
            Outcome::Unverified => "unverified",
            Outcome::Duplicate => "duplicate",
            Outcome::Handshake => "handshake",
        }
    }
}

struct Histogram<const N: usize> {
    bounds: [f64; N],
    buckets: [AtomicU64; N],
    count: AtomicU64,
    /// Sum in millionths, to stay an integer.
    sum_micro: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: [f64; N]) -> Self {
        Self {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micro: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micro.fetch_add((v * 1e6) as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, n) in self.bounds.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micro.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

pub struct Metrics {
    /// Finished runs by pipeline and final status. Pipelines are few (an admin makes them).
    runs: Mutex<BTreeMap<(String, RunStatus), u64>>,
    steps: Histogram<{ LATENCY_BOUNDS.len() }>,
    outcomes: [AtomicU64; Outcome::ALL.len()],
    /// Rejection records not stored because the writer's queue was full.
    rejections_dropped: AtomicU64,
    latency: Histogram<{ LATENCY_BOUNDS.len() }>,
    batches: Histogram<{ BATCH_BOUNDS.len() }>,
    commits: Histogram<{ LATENCY_BOUNDS.len() }>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            runs: Mutex::new(BTreeMap::new()),
            steps: Histogram::new(LATENCY_BOUNDS),
            outcomes: std::array::from_fn(|_| AtomicU64::new(0)),
            rejections_dropped: AtomicU64::new(0),
            latency: Histogram::new(LATENCY_BOUNDS),
            batches: Histogram::new(BATCH_BOUNDS),
            commits: Histogram::new(LATENCY_BOUNDS),
        }
    }
}

impl Metrics {
    pub fn receive(&self, outcome: Outcome, took: Duration) {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome) {
            self.outcomes[i].fetch_add(1, Relaxed);
        }
        self.latency.observe(took.as_secs_f64());
    }

    /// A rejection record dropped because the writer's queue was full.
    pub fn rejection_dropped(&self) {
        self.rejections_dropped.fetch_add(1, Relaxed);
    }

    /// One durable commit: its batch size and how long it took (mostly the disk's sync).
    pub fn commit(&self, size: usize, took: Duration) {
        self.batches.observe(size as f64);
        self.commits.observe(took.as_secs_f64());
    }

    /// (commits, operations committed) so far; their ratio is the mean batch size.
    pub fn batch_totals(&self) -> (u64, u64) {
        let sum = self.batches.sum_micro.load(Relaxed) / 1_000_000;
        (self.batches.count.load(Relaxed), sum)
    }

    /// The pipelines' part of `/metrics`: runs by pipeline and status, step durations, and
    /// each pipeline's lag (given, since it is counted in the store).
    pub fn render_pipelines(&self, lags: &[(String, u64)]) -> String {
        let mut out = String::new();
        let name = "hooktail_pipeline_runs_total";
        let _ = writeln!(
            out,
            "# HELP {name} Finished pipeline runs by pipeline and status.\n# TYPE {name} counter"
        );
        for ((pipeline, status), n) in self.runs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "{name}{{pipeline=\"{pipeline}\",status=\"{}\"}} {n}",
                status.as_str()
            );
        }
        self.steps.render(
            &mut out,
            "hooktail_pipeline_step_seconds",
            "Time a pipeline step took.",
        );
        let name = "hooktail_pipeline_lag";
        let _ = writeln!(
            out,
            "# HELP {name} Matching events a pipeline has not run yet.\n# TYPE {name} gauge"
        );
        for (pipeline, lag) in lags {
            let _ = writeln!(out, "{name}{{pipeline=\"{pipeline}\"}} {lag}");
        }
        out
    }

    /// The write-ahead log's checkpoints so far: how many, their total and longest time. Each
    /// holds ingest while redb syncs, so they explain stalls in the receive latency.
    pub fn render_checkpoints(count: u64, total: Duration, longest: Duration) -> String {
        let mut out = String::new();
        let name = "hooktail_wal_checkpoints";
        let _ = writeln!(
            out,
            "# HELP {name}_total Write-ahead log checkpoints (durable redb commits).\n# TYPE {name}_total counter\n{name}_total {count}"
        );
        let name = "hooktail_wal_checkpoint_seconds";
        let _ = writeln!(
            out,
            "# HELP {name}_total Time spent in checkpoints, ingest waiting.\n# TYPE {name}_total counter\n{name}_total {}",
            total.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP {name}_max The longest checkpoint.\n# TYPE {name}_max gauge\n{name}_max {}",
            longest.as_secs_f64()
        );
        out
    }

    /// The text of `/metrics`; `stored` is (events, rejections) in the store now.
    pub fn render(&self, stored: (u64, u64)) -> String {
        let mut out = String::new();
        let name = "hooktail_receive_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} webhook.receive calls by outcome.\n# TYPE {name} counter"
        );
        for (o, n) in Outcome::ALL.iter().zip(&self.outcomes) {
            let _ = writeln!(
                out,
                "{name}{{outcome=\"{}\"}} {}",
                o.label(),
                n.load(Relaxed)
            );
        }
        let name = "hooktail_rejections_dropped_total";
        let _ = writeln!(
            out,
            "# HELP {name} Rejection records not stored: the writer's queue was full.\n# TYPE {name} counter\n{name} {}",
            self.rejections_dropped.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP hooktail_events_stored Records in the store now.\n# TYPE hooktail_events_stored gauge"
        );
        let _ = writeln!(
            out,
            "hooktail_events_stored{{status=\"accepted\"}} {}",
            stored.0
        );
        let _ = writeln!(
            out,
            "hooktail_events_stored{{status=\"rejected\"}} {}",
            stored.1
        );
        self.batches.render(
            &mut out,
            "hooktail_commit_batch_size",
            "Operations per durable commit.",
        );
        self.commits.render(
            &mut out,
            "hooktail_commit_seconds",
            "Time to commit a batch durably.",
        );
        self.latency.render(
            &mut out,
            "hooktail_receive_latency_seconds",
            "webhook.receive latency, from request to answer.",
        );
        out
    }
}

impl Observe for Arc<Metrics> {
    fn run_finished(&self, pipeline: &str, status: RunStatus, steps: &[StepLog]) {
        *self
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((pipeline.to_string(), status))
            .or_default() += 1;
        for s in steps {
            self.steps.observe(s.duration_ms as f64 / 1000.0);
        }
    }
}
