//! Live listeners (`event.listen`). Each committed event is encoded once and shared by every
//! listener, which queues it up to a byte bound. A listener that falls that far behind drops
//! its queue, is told how many events it missed, and catches up from the store: no listener
//! pins more than its bound, however slowly its client reads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::domain::{Event, EventKeyPattern};

/// Bytes of encoded events one listener may hold before it counts as lagging. One event
/// larger than this is still queued when the queue is empty.
pub const LISTENER_BUFFER: usize = 1 << 20;

/// An accepted event as listeners get it: its §4 JSON, body included, encoded once.
#[derive(Debug)]
pub struct Encoded {
    pub id: Uuid,
    pub event_key: String,
    pub json: Bytes,
}

impl Encoded {
    pub fn of(e: &Event) -> Encoded {
        Encoded {
            id: e.id,
            event_key: e.event_key.clone(),
            json: Bytes::from(serde_json::to_vec(&e.to_json(true)).unwrap_or_default()),
        }
    }
}

/// What a listener gets next.
#[derive(Debug)]
pub enum Next {
    Event(Arc<Encoded>),
    /// This many events were dropped: catch up from the store after the last one received.
    Lagged(u64),
    /// The writer stopped.
    Closed,
}

/// Every listener, as the writer publishes to them.
#[derive(Default)]
pub(crate) struct Listeners {
    queues: Mutex<Vec<Arc<Queue>>>,
    count: AtomicUsize,
}

impl Listeners {
    /// Whether anyone listens, so that events are encoded only for someone.
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    pub fn add(self: &Arc<Self>, pattern: Option<EventKeyPattern>) -> Listener {
        let queue = Arc::new(Queue {
            pattern,
            state: Mutex::default(),
            ready: Notify::new(),
        });
        let mut queues = self.lock();
        queues.push(queue.clone());
        self.count.store(queues.len(), Ordering::Relaxed);
        Listener {
            queue,
            listeners: self.clone(),
        }
    }

    pub fn publish(&self, event: &Arc<Encoded>) {
        for q in self.lock().iter() {
            q.offer(event);
        }
    }

    /// Ends every listener: the writer stopped.
    pub fn close(&self) {
        for q in self.lock().iter() {
            q.state().closed = true;
            q.ready.notify_one();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Queue>>> {
        // A poisoned lock only means a panic elsewhere; the list itself is always whole.
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Queue {
    pattern: Option<EventKeyPattern>,
    state: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<Arc<Encoded>>,
    /// JSON bytes of `events`.
    bytes: usize,
    /// Events dropped since the listener last heard of it; while non-zero nothing is queued.
    skipped: u64,
    closed: bool,
}

impl Queue {
    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn offer(&self, event: &Arc<Encoded>) {
        if self
            .pattern
            .as_ref()
            .is_some_and(|p| !p.matches(&event.event_key))
        {
            return;
        }
        let mut s = self.state();
        if s.skipped > 0 {
            s.skipped += 1;
            return;
        }
        if s.bytes > 0 && s.bytes + event.json.len() > LISTENER_BUFFER {
            // What is queued is in the store too: free it now, the catch-up reads it again.
            s.skipped = s.events.len() as u64 + 1;
            s.events.clear();
            s.bytes = 0;
        } else {
            s.bytes += event.json.len();
            s.events.push_back(event.clone());
        }
        drop(s);
        self.ready.notify_one();
    }
}

/// One listener's queue; dropping it unsubscribes.
pub struct Listener {
    queue: Arc<Queue>,
    listeners: Arc<Listeners>,
}

impl Listener {
    /// The next event, or how many were skipped. After `Lagged`, events queue again at once,
    /// so a catch-up from the store that starts then misses nothing.
    pub async fn next(&self) -> Next {
        loop {
            if let Some(next) = self.try_next() {
                return next;
            }
            // A notification sent since `try_next` looked is kept, not lost.
            self.queue.ready.notified().await;
        }
    }

    /// `next` when it is ready now.
    pub fn try_next(&self) -> Option<Next> {
        let mut s = self.queue.state();
        if s.skipped > 0 {
            return Some(Next::Lagged(std::mem::take(&mut s.skipped)));
        }
        if let Some(e) = s.events.pop_front() {
            s.bytes -= e.json.len();
            return Some(Next::Event(e));
        }
        s.closed.then_some(Next::Closed)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut queues = self.listeners.lock();
        queues.retain(|q| !Arc::ptr_eq(q, &self.queue));
        self.listeners.count.store(queues.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::sample;

    fn encoded(key: &str, body: usize) -> Arc<Encoded> {
        Arc::new(Encoded::of(&sample(key, 0, &vec![b'x'; body])))
    }

    #[tokio::test]
    async fn a_listener_gets_matching_events_in_order() {
        let all = Arc::new(Listeners::default());
        let l = all.add(Some(EventKeyPattern::parse("webhook.a.#").unwrap()));
        assert!(all.any());
        let (a1, b, a2) = (
            encoded("webhook.a", 1),
            encoded("webhook.b", 1),
            encoded("webhook.a.x", 1),
        );
        for e in [&a1, &b, &a2] {
            all.publish(e);
        }
        for want in [&a1, &a2] {
            match l.next().await {
                Next::Event(e) => assert_eq!(e.id, want.id),
                other => panic!("{other:?}"),
            }
        }
        drop(l);
        assert!(!all.any());
    }

    #[tokio::test]
    async fn a_stalled_listener_holds_a_bounded_number_of_bytes_then_lags() {
        let all = Arc::new(Listeners::default());
        let stalled = all.add(None);
        let e = encoded("webhook.a", 100_000);
        for _ in 0..1000 {
            all.publish(&e);
            let s = stalled.queue.state();
            assert!(s.bytes <= LISTENER_BUFFER, "{} bytes held", s.bytes);
        }
        // What was queued was dropped at the overflow and counted with what came after:
        // none of the 1000 was delivered.
        let Next::Lagged(n) = stalled.next().await else {
            panic!("no lag reported")
        };
        assert_eq!(n, 1000);
        // Then it queues again.
        all.publish(&e);
        assert!(matches!(stalled.next().await, Next::Event(_)));
        all.close();
        assert!(matches!(stalled.next().await, Next::Closed));
    }
}
