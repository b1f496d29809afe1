//! The API's JSON (§3, §4, §6) read back into the domain's types. The API writes times as
//! RFC 3339 and leaves out what only the store needs (a pipeline's cursor, an event's
//! payloadType); these readers turn the times back into milliseconds and fill in the rest.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::pipeline::{PipelineRecord, Run};
use crate::domain::verify::Scheme;
use crate::domain::{Event, PayloadType, Record, Rejection, Webhook, WebhookView};
use crate::service::PipelineView;
use crate::service::replay::{Forwarded, Replayed, ReplayedRun};

/// An event or rejection of `event.list` or `event.get`. With `with_body`, the body comes
/// from `origin` (base64) or `payload` (JSON or text), and an event with neither kept none.
pub fn record(v: Value, with_body: bool) -> Result<Record, String> {
    let mut map = object(v, "an event")?;
    ms_fields(&mut map, &["receivedAt"])?;
    match map.get("status").and_then(Value::as_str) {
        Some("rejected") => Ok(Record::Rejected(from_map::<Rejection>(map, "a rejection")?)),
        Some("accepted") => {
            let (payload_type, body) = match (map.remove("origin"), map.remove("payload")) {
                (Some(Value::String(b64)), _) => (
                    PayloadType::Base64,
                    B64.decode(b64)
                        .map_err(|e| format!("an event's origin is not base64: {e}"))?,
                ),
                (_, Some(Value::String(text))) => (PayloadType::Raw, text.into_bytes()),
                (_, Some(json)) => (
                    PayloadType::Raw,
                    serde_json::to_vec(&json).map_err(|e| e.to_string())?,
                ),
                _ if with_body => (PayloadType::Ignore, Vec::new()),
                _ => (PayloadType::Base64, Vec::new()),
            };
            map.insert(
                "payloadType".into(),
                serde_json::to_value(payload_type).unwrap_or_default(),
            );
            // The API writes how the sender was verified as `verify`; the event keeps it
            // as `verified`.
            if let Some(Value::Object(v)) = map.remove("verify") {
                let verified = serde_json::json!({
                    "scheme": v.get("scheme"),
                    "deliveryId": v.get("deliveryId"),
                    "byPreviousSecret": v.get("previousSecret").and_then(Value::as_bool).unwrap_or(false),
                });
                map.insert("verified".into(), verified);
            }
            let mut event = from_map::<Event>(map, "an event")?;
            event.body = body;
            Ok(Record::Accepted(event))
        }
        other => Err(format!("an event with status {other:?}")),
    }
}

/// A webhook of §3 and §7. Its `verify` and `handshake` show no secret (`secretSet`), so
/// they are read as names only, into a view that cannot verify anything.
pub fn webhook(v: Value) -> Result<WebhookView, String> {
    let mut map = object(v, "a webhook")?;
    ms_fields(&mut map, &["createdAt", "updatedAt"])?;
    let scheme = match map.remove("verify") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Scheme>(v["scheme"].clone())
                .map_err(|e| format!("a webhook's verify.scheme: {e}"))?,
        ),
    };
    let handshake = match map.remove("handshake") {
        None | Some(Value::Null) => None,
        Some(v) => Some(match v["type"].as_str() {
            Some("slack") => "slack",
            Some("graph") => "graph",
            Some("meta") => "meta",
            other => return Err(format!("a webhook's handshake type {other:?}")),
        }),
    };
    let webhook: Webhook = from_map(map, "a webhook")?;
    Ok(WebhookView {
        webhook,
        scheme,
        handshake,
    })
}

/// A pipeline of §6 with its lag. Its cursor stays on the server: nil here.
pub fn pipeline(v: Value) -> Result<PipelineView, String> {
    let mut map = object(v, "a pipeline")?;
    ms_fields(&mut map, &["createdAt", "updatedAt"])?;
    let lag = map.get("lag").and_then(Value::as_u64).unwrap_or(0);
    if let Some(Value::Object(last)) = map.get_mut("lastRun") {
        ms_fields(last, &["finishedAt"])?;
    }
    map.insert("cursor".into(), Value::String(Uuid::nil().to_string()));
    let record = from_map::<PipelineRecord>(map, "a pipeline")?;
    Ok(PipelineView { record, lag })
}

/// A run of §6 with its step log.
pub fn run(v: Value) -> Result<Run, String> {
    let mut map = object(v, "a run")?;
    ms_fields(
        &mut map,
        &["queuedAt", "startedAt", "finishedAt", "nextAttemptAt"],
    )?;
    from_map(map, "a run")
}

/// The answer of `event.replay`: the runs it made, or the forward's response.
pub fn replayed(v: Value) -> Result<Replayed, String> {
    let map = object(v, "a replay")?;
    if let Some(runs) = map.get("runs") {
        let runs = array(runs.clone(), |r| {
            let r = object(r, "a replayed run")?;
            Ok(ReplayedRun {
                id: from_map_field(&r, "id")?,
                pipeline: from_map_field(&r, "pipeline")?,
                status: from_map_field(&r, "status")?,
                error: from_map_field(&r, "error")?,
            })
        })?;
        return Ok(Replayed::Runs(runs));
    }
    Ok(Replayed::Forwarded(Forwarded {
        status: from_map_field(&map, "status")?,
        content_type: from_map_field(&map, "contentType")?,
        size: from_map_field(&map, "size")?,
        excerpt: from_map_field(&map, "body")?,
        truncated: from_map_field(&map, "truncated")?,
    }))
}

/// One field of an answer, as `T`; a missing field reads as JSON null.
fn from_map_field<T: DeserializeOwned>(map: &Map<String, Value>, name: &str) -> Result<T, String> {
    let v = map.get(name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| format!("{name}: {e}"))
}

/// An array answer, each item read by `item`.
pub fn array<T>(v: Value, item: impl Fn(Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    match v {
        Value::Array(items) => items.into_iter().map(item).collect(),
        _ => Err("the server answered with something other than a list".into()),
    }
}

fn object(v: Value, what: &str) -> Result<Map<String, Value>, String> {
    match v {
        Value::Object(map) => Ok(map),
        _ => Err(format!("the server sent {what} that is not an object")),
    }
}

fn from_map<T: DeserializeOwned>(map: Map<String, Value>, what: &str) -> Result<T, String> {
    serde_json::from_value(Value::Object(map))
        .map_err(|e| format!("the server sent {what} that hooktail cannot read: {e}"))
}

/// Turns the named RFC 3339 fields into Unix milliseconds; nulls stay null.
fn ms_fields(map: &mut Map<String, Value>, names: &[&str]) -> Result<(), String> {
    for name in names {
        if let Some(v) = map.get_mut(*name)
            && let Value::String(s) = v
        {
            let ms = parse_rfc3339_ms(s).ok_or_else(|| format!("{name} {s:?} is not a time"))?;
            *v = Value::from(ms);
        }
    }
    Ok(())
}

/// `2026-11-28T15:00:01.234Z`, the form `rfc3339_ms` writes, as Unix milliseconds.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[23] != b'Z' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || b[19] != b'.' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
}

/// Howard Hinnant's civil-to-days algorithm, the inverse of the one `rfc3339_ms` uses.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::rfc3339_ms;

    #[test]
    fn times_read_back_as_written() {
        for ms in [0, 1_795_878_001_234, 951_782_400_000, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339_ms(&rfc3339_ms(ms)), Some(ms), "{ms}");
        }
        for bad in [
            "",
            "2026-11-28",
            "2026-13-28T15:00:01.234Z",
            "2026-11-28T15:00:01.2x4Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn events_read_back_with_their_bodies() {
        let mut e = crate::domain::event::sample("webhook.a", 1_795_878_001_234, b"{\"a\":1}");
        e.content_type = Some("application/json".into());
        let back = record(e.to_json(true), true).unwrap();
        assert_eq!(back, Record::Accepted(e.clone()));
        // Listings leave the body out.
        let Record::Accepted(listed) = record(e.to_json(false), false).unwrap() else {
            panic!("not an event")
        };
        assert!(listed.body.is_empty());
        assert_eq!(listed.event_key, "webhook.a");
        let raw = Event {
            payload_type: PayloadType::Raw,
            ..e
        };
        let Record::Accepted(back) = record(raw.to_json(true), true).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(
            (back.payload_type, back.body),
            (PayloadType::Raw, b"{\"a\":1}".to_vec())
        );
        assert!(record(serde_json::json!({"status": "odd"}), false).is_err());
        assert!(record(serde_json::json!([1]), false).is_err());
    }

    #[test]
    fn a_duplicate_reads_back_with_its_original() {
        let e = crate::domain::event::sample("webhook.a", 1_795_878_001_234, b"{}");
        let dup = Rejection::duplicate(&e, Uuid::now_v7(), "msg_1", 202);
        let back = record(dup.to_json(), false).unwrap();
        assert_eq!(back, Record::Rejected(dup));
    }

    #[test]
    fn a_verified_event_and_a_verifying_webhook_read_back_without_secrets() {
        let mut e = crate::domain::event::sample("webhook.a", 1_795_878_001_234, b"{}");
        e.verified = Some(crate::domain::event::Verified {
            scheme: Scheme::Standard,
            delivery_id: Some("msg_1".into()),
            by_previous_secret: true,
        });
        let back = record(e.to_json(false), false).unwrap();
        let Record::Accepted(back) = back else {
            panic!("not an event")
        };
        assert_eq!(back.verified, e.verified);
        let w = serde_json::json!({
            "uuid": Uuid::nil(), "eventKey": "webhook.a", "webhookUrl": "x",
            "payloadType": "raw", "maxPayloadLength": 10,
            "createdAt": "2026-11-28T15:00:01.234Z", "updatedAt": "2026-11-28T15:00:01.234Z",
            "allowFrom": ["10.0.0.0/8"],
            "verify": {"scheme": "github", "secretSet": true},
            "handshake": {"type": "meta", "verifyTokenSet": true},
            "response": {"status": 202, "contentType": "text/plain", "body": "ok"},
        });
        let v = webhook(w).unwrap();
        assert_eq!(v.scheme, Some(Scheme::Github));
        assert_eq!(v.handshake, Some("meta"));
        assert!(v.webhook.verify.is_none() && v.webhook.handshake.is_none());
        assert_eq!(v.allow_from.len(), 1);
        assert_eq!(v.response.as_ref().map(|r| r.status), Some(202));
    }
}
