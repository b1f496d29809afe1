//! Reading a request body under a byte limit and a deadline.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: u64, seen: u64 },
    #[error("the request took too long")]
    Timeout,
    #[error("the body could not be read: {0}")]
    Read(String),
}

/// Collects the body, refusing it as soon as it streams past `limit` bytes.
pub async fn read(mut body: Incoming, limit: u64, deadline: Instant) -> Result<Bytes, BodyError> {
    let mut buf = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::Timeout),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyError::Read(e.to_string())),
            Ok(Some(Ok(f))) => f,
        };
        if let Ok(data) = frame.into_data() {
            let seen = (buf.len() + data.len()) as u64;
            if seen > limit {
                return Err(BodyError::TooLarge { limit, seen });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}
