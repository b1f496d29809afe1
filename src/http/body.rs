//! Reading a request body under a byte limit, a deadline, and the server's memory budget.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: u64, seen: u64 },
    #[error("the request took too long")]
    Timeout,
    #[error("the body could not be read: {0}")]
    Read(String),
    #[error("the server holds as many request bodies in memory as it may; retry shortly")]
    Busy,
}

/// One budget of body bytes held in memory at once, shared by every request whatever its
/// protocol or connection, so that memory stays bounded however many calls arrive at once.
#[derive(Debug, Clone)]
pub struct Budget(Arc<Semaphore>);

impl Budget {
    pub fn new(bytes: u64) -> Budget {
        let permits = usize::try_from(bytes).unwrap_or(usize::MAX);
        Budget(Arc::new(Semaphore::new(
            permits.min(Semaphore::MAX_PERMITS),
        )))
    }
}

/// A request's share of the budget, given back when it drops.
#[derive(Debug, Default)]
pub struct Charge(Option<OwnedSemaphorePermit>);

impl Charge {
    fn add(&mut self, budget: &Budget, bytes: usize) -> Result<(), BodyError> {
        if bytes == 0 {
            return Ok(());
        }
        let n = u32::try_from(bytes).map_err(|_| BodyError::Busy)?;
        let permit = budget
            .0
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| BodyError::Busy)?;
        match &mut self.0 {
            Some(held) => held.merge(permit),
            None => self.0 = Some(permit),
        }
        Ok(())
    }

    fn release(&mut self, bytes: usize) {
        if let Some(held) = &mut self.0 {
            drop(held.split(bytes));
        }
    }
}

/// Collects the body, refusing it as soon as it streams past `limit` bytes, or as soon as
/// its buffer cannot be charged to `budget`. The buffer is charged before it is allocated,
/// and the charge lasts as long as the returned `Charge`.
/// How a body is charged to the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserve {
    /// Its declared length, up front (the caller is known).
    Declared,
    /// What arrives, as it arrives (the caller is not known yet).
    AsSent,
}

pub async fn read(
    mut body: Incoming,
    limit: u64,
    deadline: Instant,
    budget: &Budget,
    reserve: Reserve,
) -> Result<(Bytes, Charge), BodyError> {
    let mut charge = Charge::default();
    // A known caller's declared length is charged at once: a call that cannot fit is refused
    // unread. An anonymous one is charged only for what it sends, so that idle connections
    // which merely declare large bodies cannot take the budget from everyone else.
    let declared = match reserve {
        Reserve::Declared => body
            .size_hint()
            .exact()
            .filter(|n| *n <= limit)
            .unwrap_or(0),
        Reserve::AsSent => 0,
    } as usize;
    charge.add(budget, declared)?;
    let mut buf = BytesMut::with_capacity(declared);
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::Timeout),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyError::Read(e.to_string())),
            Ok(Some(Ok(f))) => f,
        };
        if let Ok(data) = frame.into_data() {
            let seen = buf.len() + data.len();
            if seen as u64 > limit {
                return Err(BodyError::TooLarge {
                    limit,
                    seen: seen as u64,
                });
            }
            if seen > buf.capacity() {
                // Grow by doubling, into a buffer of exactly the size charged.
                let grown = (buf.capacity() * 2).clamp(seen, (limit as usize).max(seen));
                charge.add(budget, grown)?;
                let mut bigger = BytesMut::with_capacity(grown);
                bigger.extend_from_slice(&buf);
                let old = std::mem::replace(&mut buf, bigger).capacity();
                charge.release(old);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok((buf.freeze(), charge))
}
