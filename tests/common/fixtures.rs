//! Records for tests that drive the store directly.
#![allow(dead_code)]

use std::collections::BTreeMap;

use hooktail::domain::{Event, PayloadType, Record};
use uuid::Uuid;

/// An accepted event of `event_key` with this body, received at `n` ms.
pub fn event(event_key: &str, n: u64, body: &[u8]) -> Record {
    Record::Accepted(Event {
        id: Uuid::now_v7(),
        event_key: event_key.into(),
        received_at: n as i64,
        method: "POST".into(),
        path: "/".into(),
        query: BTreeMap::new(),
        headers: BTreeMap::new(),
        remote_addr: "127.0.0.1:1".into(),
        content_type: None,
        size: body.len() as u64,
        payload_type: PayloadType::Base64,
        files: vec![],
        form: BTreeMap::new(),
        verified: None,
        body: body.to_vec(),
    })
}
