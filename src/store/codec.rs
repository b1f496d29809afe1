//! Value layouts. Events keep their body as raw bytes after a JSON header, rather than as
//! base64 inside JSON: it is smaller on disk and faster both ways (see benches/store.rs).
//! Their eventKey and method lead the value, for filters.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::domain::{Event, Summary};

/// `[u8 key length][eventKey][u8 method length][method][u32 LE meta length][meta JSON][body]`.
/// The eventKey and method come first so that filters read them without decoding the JSON.
pub fn encode_event(e: &Event) -> Result<Vec<u8>, StoreError> {
    let too_long = |what: &str| StoreError::Corrupt(format!("{what} too long to store"));
    let key_len = u8::try_from(e.event_key.len()).map_err(|_| too_long("eventKey"))?;
    let method_len = u8::try_from(e.method.len()).map_err(|_| too_long("method"))?;
    // One buffer for the whole value: the JSON is written in place, its length after it.
    let lead = 2 + e.event_key.len() + e.method.len();
    let mut out = Vec::with_capacity(lead + 4 + META_GUESS + e.body.len());
    out.push(key_len);
    out.extend_from_slice(e.event_key.as_bytes());
    out.push(method_len);
    out.extend_from_slice(e.method.as_bytes());
    out.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut out, e).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let meta_len = out.len() - lead - 4;
    let meta_len = u32::try_from(meta_len).map_err(|_| too_long("event"))?;
    out[lead..lead + 4].copy_from_slice(&meta_len.to_le_bytes());
    out.extend_from_slice(&e.body);
    Ok(out)
}

/// Room for an event's JSON header, so that a usual one is written without growing the
/// buffer.
const META_GUESS: usize = 512;

/// An event value split into its parts.
struct Parts<'a> {
    event_key: &'a str,
    method: &'a str,
    meta: &'a [u8],
    body: &'a [u8],
}

fn split_event(bytes: &[u8]) -> Result<Parts<'_>, StoreError> {
    let corrupt = || StoreError::Corrupt("event value is truncated or malformed".into());
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8], StoreError> {
        let (head, tail) = rest.split_at_checked(n).ok_or_else(corrupt)?;
        rest = tail;
        Ok(head)
    };
    let key_len = take(1)?[0] as usize;
    let key = std::str::from_utf8(take(key_len)?).map_err(|_| corrupt())?;
    let method_len = take(1)?[0] as usize;
    let method = std::str::from_utf8(take(method_len)?).map_err(|_| corrupt())?;
    let meta_len: [u8; 4] = take(4)?.try_into().map_err(|_| corrupt())?;
    let meta = take(u32::from_le_bytes(meta_len) as usize)?;
    Ok(Parts {
        event_key: key,
        method,
        meta,
        body: rest,
    })
}

/// What filters need, read from the front of the value.
pub fn event_summary(bytes: &[u8]) -> Result<Summary<'_>, StoreError> {
    let p = split_event(bytes)?;
    Ok(Summary {
        event_key: Some(p.event_key),
        method: p.method,
        // In the JSON after them: read only when the leading fields do not match.
        content_type: None,
        rejection: None,
    })
}

pub fn decode_event(bytes: &[u8], with_body: bool) -> Result<Event, StoreError> {
    let p = split_event(bytes)?;
    let mut event: Event = decode_json(p.meta)?;
    if with_body {
        event.body = p.body.to_vec();
    }
    Ok(event)
}

pub fn encode_json<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_value_is_its_lead_then_its_json_then_its_body() {
        let mut e: Event = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::now_v7(), "eventKey": "webhook.a", "receivedAt": 1,
            "method": "POST", "path": "/p", "query": {}, "headers": {"x": "y".repeat(600)},
            "remoteAddr": "127.0.0.1:1", "contentType": null, "size": 3,
            "payloadType": "raw", "files": [], "form": {}
        }))
        .unwrap();
        e.body = b"abc".to_vec();
        let meta = serde_json::to_vec(&e).unwrap();
        let mut want = vec![9];
        want.extend_from_slice(b"webhook.a");
        want.push(4);
        want.extend_from_slice(b"POST");
        want.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        want.extend_from_slice(&meta);
        want.extend_from_slice(b"abc");
        assert_eq!(encode_event(&e).unwrap(), want);
    }
}
