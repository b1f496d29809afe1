//! Events (accepted calls) and rejections, and their API form (§4).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::time::rfc3339_ms;
use super::verify::Scheme;
use super::webhook::PayloadType;

/// A file part of a multipart body. Its bytes stay in the event's raw body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    pub field: String,
    pub filename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub size: u64,
}

/// A form or multipart field's value as an event keeps it (§4): text when it is UTF-8 without
/// control characters (tab and line breaks aside), else base64, so that no byte is ever
/// expanded into a six-character JSON escape. A value that does not fit the event's
/// [`MAX_FORM_JSON`] is omitted, with its size; its bytes stay in `origin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FormValue {
    Text(String),
    Base64 { base64: String },
    Omitted { omitted: bool, size: u64 },
}

impl FormValue {
    /// The value of `bytes` if its JSON takes at most `room` bytes.
    fn fitting(bytes: &[u8], room: usize) -> Option<FormValue> {
        match std::str::from_utf8(bytes) {
            Ok(text)
                if !text
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
            {
                (json_len(text) <= room).then(|| FormValue::Text(text.to_string()))
            }
            _ => (bytes.len().div_ceil(3) * 4 + r#"{"base64":""}"#.len() <= room).then(|| {
                FormValue::Base64 {
                    base64: B64.encode(bytes),
                }
            }),
        }
    }
}

impl std::fmt::Display for FormValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormValue::Text(t) => f.write_str(t),
            FormValue::Base64 { base64 } => write!(f, "base64:{base64}"),
            FormValue::Omitted { size, .. } => write!(f, "({size} bytes, omitted)"),
        }
    }
}

/// Most bytes of JSON that one event's `form` and `files` take together, so that an
/// `event.list` answer stays bounded per event whatever a caller posts. Past it, field values
/// are omitted (with their size), then further fields and files are not listed.
pub const MAX_FORM_JSON: usize = 64 * 1024;

/// The `form` and `files` of an event, and the body's `token` field, parsed from a
/// form-encoded or multipart body.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ParsedForm {
    pub form: BTreeMap<String, FormValue>,
    pub files: Vec<FileInfo>,
    /// The last `token` field's value; never part of `form`.
    pub token: Option<String>,
    /// How many `token` fields the body held: more than one is ambiguous (§2).
    pub tokens: usize,
    /// JSON bytes `form` and `files` take.
    used: usize,
    /// Set once something did not fit: nothing more is listed.
    full: bool,
}

impl ParsedForm {
    /// Adds a field: the `token` field is taken apart and its case variants dropped (§4).
    pub fn field(&mut self, name: &str, value: &[u8]) {
        if name == "token" {
            self.tokens += 1;
            self.token = Some(String::from_utf8_lossy(value).into_owned());
            return;
        }
        if name.eq_ignore_ascii_case("token") || self.full {
            return;
        }
        // `"name":` and a comma.
        let room = MAX_FORM_JSON.saturating_sub(self.used + json_len(name) + 2);
        let value = FormValue::fitting(value, room).or_else(|| {
            let omitted = FormValue::Omitted {
                omitted: true,
                size: value.len() as u64,
            };
            (json_len(&omitted) <= room).then_some(omitted)
        });
        match value {
            Some(v) => {
                self.used += json_len(name) + 2 + json_len(&v);
                self.form.insert(name.to_string(), v);
            }
            None => self.full = true,
        }
    }

    pub fn file(&mut self, info: FileInfo) {
        let cost = json_len(&info) + 1;
        if self.full || self.used + cost > MAX_FORM_JSON {
            self.full = true;
            return;
        }
        self.used += cost;
        self.files.push(info);
    }
}

/// The length of `v` as JSON, without building the text.
fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// An accepted call. The body is kept as exact bytes; the API shows it per `payload_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: Uuid,
    pub event_key: String,
    pub received_at: i64,
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub remote_addr: String,
    pub content_type: Option<String>,
    pub size: u64,
    pub payload_type: PayloadType,
    pub files: Vec<FileInfo>,
    pub form: BTreeMap<String, FormValue>,
    /// How the sender was verified; `None` when the webhook does not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verified>,
    /// The exact body bytes; empty for `PayloadType::Ignore`. Stored apart from the rest.
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// A verified call: by which scheme, with which secret, and its delivery id if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub scheme: Scheme,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// Signed with `previousSecret`: the sender has not switched to the new secret yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_previous_secret: bool,
}

impl Verified {
    /// The word the dashboard's stream shows.
    pub fn word(v: Option<&Verified>) -> &'static str {
        match v {
            Some(_) => "verified",
            None => "unsigned",
        }
    }
}

/// A refused call: no body, just why. A repeated delivery is kept as one too (§7), answered
/// as its original and so not an event, but worth seeing: a sender retrying shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    pub id: Uuid,
    pub reason: String,
    pub http_status: u16,
    pub received_at: i64,
    pub method: String,
    pub remote_addr: String,
    pub size: u64,
    pub event_key: Option<String>,
    /// Set when the call repeated a delivery already stored.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Duplicate>,
}

/// A delivery id its webhook had stored already: the call was answered with the original
/// event's correlation id, and nothing new was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Duplicate {
    /// The event stored for this delivery id first.
    pub duplicate_of: Uuid,
    pub delivery_id: String,
}

impl Rejection {
    /// The record of `event`, a repeat of the delivery `delivery_id` stored as `original`,
    /// answered with `http_status`. It takes the repeat's id: that event is never stored.
    pub fn duplicate(event: &Event, original: Uuid, delivery_id: &str, http_status: u16) -> Self {
        Rejection {
            id: event.id,
            reason: format!("duplicate: delivery {delivery_id} is stored as event {original}"),
            http_status,
            received_at: event.received_at,
            method: event.method.clone(),
            remote_addr: event.remote_addr.clone(),
            size: event.size,
            event_key: Some(event.event_key.clone()),
            duplicate: Some(Duplicate {
                duplicate_of: original,
                delivery_id: delivery_id.to_string(),
            }),
        }
    }
}

/// The short word the Events pane shows for a content type.
pub fn content_kind(ct: Option<&str>) -> &'static str {
    let Some(ct) = ct else { return "-" };
    let ct = ct.to_ascii_lowercase();
    if ct.contains("json") {
        "json"
    } else if ct.contains("x-www-form-urlencoded") {
        "form"
    } else if ct.contains("multipart") {
        "multi"
    } else if ct.contains("xml") {
        "xml"
    } else if ct.starts_with("text/") {
        "text"
    } else {
        "bin"
    }
}

/// One entry of the stream: an accepted event or a rejection.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Accepted(Event),
    Rejected(Rejection),
}

impl Record {
    pub fn id(&self) -> Uuid {
        match self {
            Record::Accepted(e) => e.id,
            Record::Rejected(r) => r.id,
        }
    }

    pub fn event_key(&self) -> Option<&str> {
        self.summary().event_key
    }

    /// What the filters look at, without the rest of the record.
    pub fn summary(&self) -> Summary<'_> {
        match self {
            Record::Accepted(e) => e.summary(),
            Record::Rejected(r) => Summary {
                event_key: r.event_key.as_deref(),
                method: &r.method,
                content_type: None,
                rejection: Some((&r.reason, r.http_status)),
            },
        }
    }

    /// See [`Summary::matches_text`].
    pub fn matches_text(&self, text: &str) -> bool {
        self.summary().matches_text(text)
    }

    /// The API form of §4; `with_body` adds `origin` or `payload`.
    pub fn to_json(&self, with_body: bool) -> Value {
        match self {
            Record::Accepted(e) => e.to_json(with_body),
            Record::Rejected(r) => r.to_json(),
        }
    }
}

/// The fields the filters use. The store reads them from an event's value without decoding
/// the rest, so a filter over millions of events stays fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary<'a> {
    pub event_key: Option<&'a str>,
    pub method: &'a str,
    /// An accepted event's content type; `None` when the reader left it out (the store's
    /// scan reads it only when the rest does not match).
    pub content_type: Option<&'a str>,
    /// A rejection's reason and HTTP status.
    pub rejection: Option<(&'a str, u16)>,
}

impl Summary<'_> {
    /// The dashboard's Events filter: case-insensitive text in what a row shows: the
    /// eventKey, the status word, the method, the content type (`json`, or the full type),
    /// or a rejection's reason or HTTP status.
    pub fn matches_text(&self, text: &str) -> bool {
        self.matches_lowercase(&text.to_lowercase())
    }

    /// [`Summary::matches_text`] for text already lowercased, so that a scan over many
    /// records lowercases its filter once.
    pub fn matches_lowercase(&self, t: &str) -> bool {
        if t.is_empty() {
            return true;
        }
        if self.event_key.is_some_and(|k| k.contains(t)) || self.method.eq_ignore_ascii_case(t) {
            return true;
        }
        if let Some(ct) = self.content_type
            && (content_kind(Some(ct)).contains(t) || ct.to_lowercase().contains(t))
        {
            return true;
        }
        // The words the stream shows (`ok`, `REJ`) work as well as the full ones.
        match self.rejection {
            None => t == "accepted" || t == "ok",
            Some((reason, status)) => {
                t == "rejected"
                    || t == "rej"
                    || reason.to_lowercase().contains(t)
                    || status.to_string() == t
            }
        }
    }
}

impl Event {
    /// Whether the body holds `needle`, ignoring ASCII case; `needle` is lowercased already.
    pub fn body_contains(&self, needle: &[u8]) -> bool {
        needle.is_empty() || memchr::memmem::find(&self.body.to_ascii_lowercase(), needle).is_some()
    }

    /// What the filters look at.
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            event_key: Some(&self.event_key),
            method: &self.method,
            content_type: self.content_type.as_deref(),
            rejection: None,
        }
    }

    pub fn to_json(&self, with_body: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "status": "accepted",
            "eventKey": self.event_key,
            "receivedAt": rfc3339_ms(self.received_at),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "remoteAddr": self.remote_addr,
            "contentType": self.content_type,
            "size": self.size,
            "files": self.files,
            "form": self.form,
        });
        if let (Some(v), Value::Object(map)) = (&self.verified, &mut v) {
            let mut shown = json!({"result": "verified", "scheme": v.scheme});
            if let (Some(id), Value::Object(s)) = (&v.delivery_id, &mut shown) {
                s.insert("deliveryId".into(), id.clone().into());
            }
            if v.by_previous_secret {
                shown["previousSecret"] = true.into();
            }
            map.insert("verify".into(), shown);
        }
        if with_body && let Value::Object(map) = &mut v {
            match self.payload_type {
                PayloadType::Ignore => {}
                PayloadType::Base64 => {
                    map.insert("origin".into(), B64.encode(&self.body).into());
                }
                PayloadType::Raw => {
                    let (key, value) = raw_payload(&self.body);
                    map.insert(key.into(), value);
                }
            }
        }
        v
    }
}

/// `raw` payloads: JSON when the body parses, else text when it is UTF-8, else base64 `origin`.
fn raw_payload(body: &[u8]) -> (&'static str, Value) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return ("payload", v);
    }
    match std::str::from_utf8(body) {
        Ok(text) => ("payload", Value::String(text.to_string())),
        Err(_) => ("origin", B64.encode(body).into()),
    }
}

impl Rejection {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "status": "rejected",
            "reason": self.reason,
            "httpStatus": self.http_status,
            "receivedAt": rfc3339_ms(self.received_at),
            "method": self.method,
            "remoteAddr": self.remote_addr,
            "size": self.size,
        });
        if let Value::Object(map) = &mut v {
            if let Some(k) = &self.event_key {
                map.insert("eventKey".into(), k.clone().into());
            }
            if let Some(d) = &self.duplicate {
                map.insert("duplicateOf".into(), d.duplicate_of.to_string().into());
                map.insert("deliveryId".into(), d.delivery_id.clone().into());
            }
        }
        v
    }
}

/// A plain POSTed event, for the crate's unit tests.
#[cfg(test)]
pub(crate) fn sample(event_key: &str, received_at: i64, body: &[u8]) -> Event {
    Event {
        id: Uuid::now_v7(),
        event_key: event_key.into(),
        received_at,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(payload_type: PayloadType, body: &[u8]) -> Event {
        Event {
            payload_type,
            ..sample("webhook.a", 0, body)
        }
    }

    #[test]
    fn form_values_are_text_when_utf8_else_base64() {
        let mut f = ParsedForm::default();
        f.field("note", "héllo\tworld\r\n".as_bytes());
        f.field("bin", b"\x01\x02\xff");
        f.field("ctl", b"a\x01b");
        f.field("token", b"t1");
        f.field("TOKEN", b"t2");
        assert_eq!(f.form["note"], FormValue::Text("héllo\tworld\r\n".into()));
        assert_eq!(
            serde_json::to_value(&f.form).unwrap(),
            json!({"note": "héllo\tworld\r\n", "bin": {"base64": "AQL/"}, "ctl": {"base64": "YQFi"}})
        );
        assert_eq!((f.token.as_deref(), f.tokens), (Some("t1"), 1));
        // Stored events read back, old plain strings included.
        let back: BTreeMap<String, FormValue> =
            serde_json::from_value(json!({"a": "x", "b": {"base64": "AQL/"}})).unwrap();
        assert_eq!(back["a"], FormValue::Text("x".into()));
        assert_eq!(
            back["b"],
            FormValue::Base64 {
                base64: "AQL/".into()
            }
        );
    }

    #[test]
    fn form_and_files_are_bounded_per_event() {
        let mut f = ParsedForm::default();
        // Control bytes would take six times their size as JSON escapes.
        f.field("big", &vec![1u8; 4 << 20]);
        assert_eq!(
            f.form["big"],
            FormValue::Omitted {
                omitted: true,
                size: 4 << 20
            }
        );
        for i in 0..100_000 {
            f.field(&format!("f{i}"), &[b'x'; 100]);
            f.file(FileInfo {
                field: format!("file{i}"),
                filename: "a.bin".repeat(50),
                content_type: Some("application/octet-stream".into()),
                size: 1,
            });
        }
        let json = serde_json::to_string(&(&f.form, &f.files)).unwrap();
        assert!(json.len() <= MAX_FORM_JSON + 16, "{}", json.len());
        assert!(f.form.len() > 10 && !f.files.is_empty());
    }

    #[test]
    fn a_duplicate_names_its_original_and_old_rejections_read_back() {
        let e = sample("webhook.a", 5, b"{}");
        let original = Uuid::now_v7();
        let d = Rejection::duplicate(&e, original, "msg_1", 200);
        let v = d.to_json();
        assert_eq!(v["status"], "rejected");
        assert_eq!(v["httpStatus"], 200);
        assert_eq!(v["duplicateOf"], original.to_string());
        assert_eq!(v["deliveryId"], "msg_1");
        let stored = serde_json::to_value(&d).unwrap();
        assert_eq!(serde_json::from_value::<Rejection>(stored).unwrap(), d);
        // A rejection stored before duplicates were recorded has neither field.
        let old = json!({"id": original, "reason": "unknown token", "httpStatus": 404,
            "receivedAt": 1, "method": "GET", "remoteAddr": "x", "size": 0, "eventKey": null});
        let old: Rejection = serde_json::from_value(old).unwrap();
        assert_eq!(old.duplicate, None);
        assert!(old.to_json().get("duplicateOf").is_none());
    }

    #[test]
    fn body_shown_per_payload_type() {
        let v = event(PayloadType::Base64, b"{\"a\":1}").to_json(true);
        assert_eq!(v["origin"], "eyJhIjoxfQ==");
        let v = event(PayloadType::Raw, b"{\"a\":1}").to_json(true);
        assert_eq!(v["payload"]["a"], 1);
        let v = event(PayloadType::Raw, b"hi").to_json(true);
        assert_eq!(v["payload"], "hi");
        let v = event(PayloadType::Raw, b"\xff").to_json(true);
        assert_eq!(v["origin"], "/w==");
        let v = event(PayloadType::Ignore, b"").to_json(true);
        assert!(v.get("origin").is_none() && v.get("payload").is_none());
        assert!(
            event(PayloadType::Base64, b"x")
                .to_json(false)
                .get("origin")
                .is_none()
        );
    }
}
