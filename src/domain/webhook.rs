//! Webhooks, their validation, and eventKey patterns.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::handshake::{Change, CustomResponse, Handshake};
use super::verify::{Scheme, Verify, VerifyChange};

/// Longest eventKey accepted, in characters.
pub const MAX_EVENT_KEY_LEN: usize = 200;
/// `maxPayloadLength` when none is given.
pub const DEFAULT_MAX_PAYLOAD_LENGTH: u64 = 512_000;

/// How a received body is kept in its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PayloadType {
    /// The exact body goes into `origin`, base64-encoded.
    #[default]
    Base64,
    /// The body goes into `payload`: JSON when it parses, else text, else base64 in `origin`.
    Raw,
    /// Only the body's size is kept.
    Ignore,
}

impl PayloadType {
    pub const ALL: [PayloadType; 3] = [PayloadType::Base64, PayloadType::Raw, PayloadType::Ignore];

    pub fn as_str(self) -> &'static str {
        match self {
            PayloadType::Base64 => "base64",
            PayloadType::Raw => "raw",
            PayloadType::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("payloadType must be base64, raw or ignore, not {s:?}"))
    }
}

/// A stored webhook. Its uuid is also its secret token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub uuid: Uuid,
    pub event_key: String,
    pub payload_type: PayloadType,
    pub max_payload_length: u64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Networks calls may come from; empty lets any address call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_from: Vec<IpNet>,
    /// Sender verification (§7); its secrets are never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Box<Verify>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<Handshake>,
    /// What a caller gets on success instead of the JSON answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<CustomResponse>,
}

impl Webhook {
    /// The URL an external service calls, with the token in the query.
    pub fn url(&self, public_url: &str) -> String {
        format!(
            "{}/api/v3/command/webhook.receive?token={}",
            public_url.trim_end_matches('/'),
            self.uuid
        )
    }

    /// The API form of §3.
    pub fn to_json(&self, public_url: &str) -> serde_json::Value {
        let mut v = serde_json::json!({
            "uuid": self.uuid,
            "eventKey": self.event_key,
            "webhookUrl": self.url(public_url),
            "payloadType": self.payload_type,
            "maxPayloadLength": self.max_payload_length,
            "createdAt": super::time::rfc3339_ms(self.created_at),
            "updatedAt": super::time::rfc3339_ms(self.updated_at),
            "allowFrom": self.allow_from.iter().map(IpNet::to_string).collect::<Vec<_>>(),
        });
        if let serde_json::Value::Object(m) = &mut v {
            if let Some(verify) = &self.verify {
                m.insert("verify".into(), verify.to_json());
            }
            if let Some(h) = &self.handshake {
                m.insert("handshake".into(), h.to_json());
            }
            if let Some(r) = &self.response {
                m.insert("response".into(), r.to_json());
            }
        }
        v
    }

    /// The token as logs may show it: the first 8 characters.
    pub fn token_prefix(&self) -> String {
        token_prefix(&self.uuid.to_string())
    }
}

/// A webhook as the dashboard holds it: its settings with `verify` and `handshake` left
/// out, since they hold secrets, and only named. The API shows no secret, so an attached
/// dashboard could not rebuild them; this way no copy exists that could check a signature
/// with a missing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookView {
    /// The webhook with `verify` and `handshake` set to `None`.
    pub webhook: Webhook,
    pub scheme: Option<Scheme>,
    /// `slack`, `graph` or `meta`; `None` when it answers no handshake.
    pub handshake: Option<&'static str>,
}

impl WebhookView {
    /// The name of a handshake type as the API writes it.
    pub fn handshake_word(h: &Handshake) -> &'static str {
        match h {
            Handshake::Slack => "slack",
            Handshake::Graph => "graph",
            Handshake::Meta { .. } => "meta",
        }
    }
}

impl From<Webhook> for WebhookView {
    fn from(mut webhook: Webhook) -> WebhookView {
        let scheme = webhook.verify.take().map(|v| v.scheme);
        let handshake = webhook
            .handshake
            .take()
            .as_ref()
            .map(WebhookView::handshake_word);
        WebhookView {
            webhook,
            scheme,
            handshake,
        }
    }
}

impl std::ops::Deref for WebhookView {
    type Target = Webhook;
    fn deref(&self) -> &Webhook {
        &self.webhook
    }
}

/// At most the first 8 characters of a token, for logs and the dashboard.
pub fn token_prefix(token: &str) -> String {
    token.chars().take(8).collect()
}

/// The text fields of `webhook.put` as the API and the dashboard's form receive them, before
/// validation; `None` is a field left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookFields<'a> {
    pub uuid: Option<&'a str>,
    pub event_key: Option<&'a str>,
    pub payload_type: Option<&'a str>,
    pub max_payload_length: Option<&'a str>,
}

/// A validated request to create or edit a webhook (`webhook.put`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookInput {
    pub uuid: Option<Uuid>,
    /// Required to create; kept as it was when an edit leaves it out.
    pub event_key: Option<String>,
    pub payload_type: Option<PayloadType>,
    pub max_payload_length: Option<u64>,
    /// `allowFrom`, from `parse_allow_from`; an empty list lets any address call again.
    pub allow_from: Option<Vec<IpNet>>,
    /// `None` leaves each of these as it is.
    pub verify: Option<VerifyChange>,
    pub handshake: Option<Change<Handshake>>,
    pub response: Option<Change<Box<CustomResponse>>>,
}

/// Most networks one webhook's `allowFrom` may list.
pub const MAX_ALLOW_FROM: usize = 64;

/// A CIDR such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a network of one.
/// Host bits are cleared, so `10.1.2.3/8` means `10.0.0.0/8`. An IPv4-mapped network
/// (`::ffff:10.0.0.0/104`) becomes the IPv4 one (`10.0.0.0/8`): callers' addresses are
/// checked as IPv4 (see [`allowed`]), so the mapped form would never match.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    let net = match s.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => s
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("{s:?} is not a CIDR such as 203.0.113.0/24 or 2001:db8::/32"))?,
    };
    Ok(unmapped(net).trunc())
}

/// The IPv4 network an IPv4-mapped IPv6 one stands for; any other network as it is.
fn unmapped(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && let Some(prefix) = v6.prefix_len().checked_sub(96)
        && let Ok(v4) = ipnet::Ipv4Net::new(v4, prefix)
    {
        return IpNet::V4(v4);
    }
    net
}

/// `allowFrom`: CIDRs separated by commas (or a JSON array of them); empty for none.
pub fn parse_allow_from(text: &str) -> Result<Vec<IpNet>, String> {
    let text = text.trim();
    let items: Vec<String> = if text.starts_with('[') {
        serde_json::from_str(text)
            .map_err(|_| "allowFrom must be CIDRs separated by commas, or a JSON array of them")?
    } else {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    if items.len() > MAX_ALLOW_FROM {
        return Err(format!(
            "allowFrom lists {} networks; at most {MAX_ALLOW_FROM} are allowed",
            items.len()
        ));
    }
    let mut nets = Vec::with_capacity(items.len());
    for item in &items {
        let net = parse_cidr(item).map_err(|e| format!("allowFrom: {e}"))?;
        if !nets.contains(&net) {
            nets.push(net);
        }
    }
    Ok(nets)
}

/// Whether `ip` may call a webhook that allows `allow_from` (empty allows everyone). An
/// IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`, as a dual-stack socket reports it) is
/// checked as the IPv4 address it is.
pub fn allowed(allow_from: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    allow_from.is_empty() || allow_from.iter().any(|net| net.contains(&ip))
}

/// Field-level validation errors, so that forms can show them beside the field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputErrors {
    pub uuid: Option<String>,
    pub event_key: Option<String>,
    pub payload_type: Option<String>,
    pub max_payload_length: Option<String>,
    /// `verify`, `handshake` or `response` (§7).
    pub sender: Option<String>,
}

impl InputErrors {
    pub fn is_empty(&self) -> bool {
        self.message().is_empty()
    }

    /// One line naming every problem, for the API.
    pub fn message(&self) -> String {
        [
            &self.uuid,
            &self.event_key,
            &self.payload_type,
            &self.max_payload_length,
            &self.sender,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("; ")
    }
}

impl WebhookInput {
    /// Validates raw text fields the way both the API and the dashboard's forms receive them.
    /// `ceiling` is the server's `--max-payload`.
    pub fn parse(fields: WebhookFields<'_>, ceiling: u64) -> Result<Self, InputErrors> {
        let WebhookFields {
            uuid,
            event_key,
            payload_type,
            max_payload_length,
        } = fields;
        let mut errors = InputErrors::default();
        let mut input = WebhookInput::default();
        if let Some(u) = uuid.map(str::trim).filter(|u| !u.is_empty()) {
            match Uuid::parse_str(u) {
                Ok(u) => input.uuid = Some(u),
                Err(_) => errors.uuid = Some(format!("uuid {u:?} is not a well-formed uuid")),
            }
        }
        match event_key.map(str::trim) {
            Some(k) => match validate_event_key(k) {
                Ok(()) => input.event_key = Some(k.to_string()),
                Err(e) => errors.event_key = Some(e),
            },
            None if input.uuid.is_none() => errors.event_key = validate_event_key("").err(),
            None => {}
        }
        if let Some(t) = payload_type.map(str::trim).filter(|t| !t.is_empty()) {
            match PayloadType::parse(t) {
                Ok(t) => input.payload_type = Some(t),
                Err(e) => errors.payload_type = Some(e),
            }
        }
        if let Some(m) = max_payload_length.map(str::trim).filter(|m| !m.is_empty()) {
            match m.parse::<u64>() {
                Ok(n) if n > ceiling => {
                    errors.max_payload_length = Some(format!(
                        "maxPayloadLength {n} exceeds the server's limit of {ceiling} bytes"
                    ))
                }
                Ok(n) => input.max_payload_length = Some(n),
                Err(_) => {
                    errors.max_payload_length = Some(format!(
                        "maxPayloadLength must be a whole number of bytes, not {m:?}"
                    ))
                }
            }
        }
        if errors.is_empty() {
            Ok(input)
        } else {
            Err(errors)
        }
    }

    /// Adds the sender settings of §7 (`verify`, `handshake`, `response`) from the
    /// parameters, each a JSON object or flattened `name.field` parameters.
    pub fn with_sender(mut self, params: &BTreeMap<String, String>) -> Result<Self, InputErrors> {
        let sender = |e| InputErrors {
            sender: Some(e),
            ..Default::default()
        };
        self.verify = VerifyChange::from_params(params).map_err(sender)?;
        self.handshake = Handshake::from_params(params).map_err(sender)?;
        self.response = CustomResponse::from_params(params)
            .map_err(sender)?
            .map(|c| match c {
                Change::Remove => Change::Remove,
                Change::Set(r) => Change::Set(Box::new(r)),
            });
        Ok(self)
    }

    /// The sender settings after this input: changed where given, else kept.
    fn sender(&self, existing: Option<&Webhook>) -> Result<Sender, String> {
        let verify = match &self.verify {
            None => existing.and_then(|w| w.verify.clone()),
            Some(VerifyChange::Remove) => None,
            Some(VerifyChange::Set(v)) => {
                Some(v.apply(existing.and_then(|w| w.verify.as_deref()))?)
            }
            Some(VerifyChange::Rotate(r)) => {
                Some(r.apply(existing.and_then(|w| w.verify.as_deref()))?)
            }
        };
        let current = existing.and_then(|w| w.handshake.as_ref());
        let handshake = match &self.handshake {
            None => current.cloned(),
            Some(Change::Remove) => None,
            Some(Change::Set(h)) => Some(h.clone().keep_token(current)?),
        };
        let response = match &self.response {
            None => existing.and_then(|w| w.response.clone()),
            Some(Change::Remove) => None,
            Some(Change::Set(r)) => Some(CustomResponse::clone(r)),
        };
        Ok((verify, handshake, response))
    }

    /// Applies this input to the webhook it edits, or builds a new one under `uuid`. A new
    /// webhook needs an eventKey and a random (version 4) uuid: the uuid is its secret token.
    pub fn apply(
        &self,
        existing: Option<&Webhook>,
        uuid: Uuid,
        now: i64,
    ) -> Result<Webhook, String> {
        // A mistyped uuid would otherwise be told that its eventKey or scheme is missing.
        if existing.is_none() && self.uuid.is_some() && self.event_key.is_none() {
            return Err(
                "no webhook has this uuid (webhook.get lists them); to create one \
                        under it, give its eventKey"
                    .into(),
            );
        }
        let (verify, handshake, response) = self.sender(existing)?;
        match existing {
            Some(w) => Ok(Webhook {
                uuid: w.uuid,
                event_key: self
                    .event_key
                    .clone()
                    .unwrap_or_else(|| w.event_key.clone()),
                payload_type: self.payload_type.unwrap_or(w.payload_type),
                max_payload_length: self.max_payload_length.unwrap_or(w.max_payload_length),
                created_at: w.created_at,
                updated_at: now,
                allow_from: self
                    .allow_from
                    .clone()
                    .unwrap_or_else(|| w.allow_from.clone()),
                verify,
                handshake,
                response,
            }),
            None => {
                if !is_random_uuid(&uuid) {
                    return Err(format!(
                        "uuid {uuid} is not a random (version 4) uuid; leave it out to get one"
                    ));
                }
                let event_key = self.event_key.clone().unwrap_or_default();
                validate_event_key(&event_key)?;
                Ok(Webhook {
                    uuid,
                    event_key,
                    payload_type: self.payload_type.unwrap_or_default(),
                    max_payload_length: self
                        .max_payload_length
                        .unwrap_or(DEFAULT_MAX_PAYLOAD_LENGTH),
                    created_at: now,
                    updated_at: now,
                    allow_from: self.allow_from.clone().unwrap_or_default(),
                    verify,
                    handshake,
                    response,
                })
            }
        }
    }
}

/// A webhook's `verify`, `handshake` and `response`.
type Sender = (
    Option<Box<Verify>>,
    Option<Handshake>,
    Option<CustomResponse>,
);

/// Whether a uuid is random (version 4 of RFC 9562), the only kind fit to be a token: the
/// nil and max uuids, and time-based ones, are guessable.
pub fn is_random_uuid(uuid: &Uuid) -> bool {
    uuid.get_version() == Some(uuid::Version::Random)
        && uuid.get_variant() == uuid::Variant::RFC4122
}

/// Lowercase letters, digits, `-` and `_` in non-empty segments joined by `.`, at most 200 chars.
/// The one place that says an eventKey is required: a missing key is checked as `""`.
pub fn validate_event_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("eventKey is required".to_string());
    }
    if key.chars().count() > MAX_EVENT_KEY_LEN {
        return Err(format!(
            "eventKey is longer than {MAX_EVENT_KEY_LEN} characters"
        ));
    }
    if key.split('.').any(str::is_empty) {
        return Err(format!("eventKey {key:?} has an empty segment"));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "eventKey may hold only a-z, 0-9, '-', '_' and '.', not {c:?}"
        ));
    }
    Ok(())
}

/// Longest eventKey pattern accepted, in characters.
pub const MAX_PATTERN_LEN: usize = 255;

/// An eventKey pattern: `*` matches exactly one segment, `#` any number (zero included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKeyPattern {
    segments: Vec<String>,
}

impl EventKeyPattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.chars().count() > MAX_PATTERN_LEN {
            return Err(format!(
                "an eventKey pattern is at most {MAX_PATTERN_LEN} characters long"
            ));
        }
        let segments: Vec<String> = pattern.split('.').map(str::to_string).collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(format!("eventKey pattern {pattern:?} has an empty segment"));
        }
        Ok(Self { segments })
    }

    pub fn matches(&self, key: &str) -> bool {
        let pattern: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        match_segments(&pattern, key.split('.'))
    }
}

/// The pattern as written, so that a client can send it on.
impl std::fmt::Display for EventKeyPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

/// Runs the pattern as an automaton over the key's segments: `live[i]` says whether the first
/// `i` pattern segments can match the segments read so far. Each key segment costs one pass
/// over the pattern, so matching takes pattern length times key length steps, never the
/// exponential time of backtracking over the ways `#`s can split a key.
fn match_segments<'a>(pattern: &[&str], key: impl Iterator<Item = &'a str>) -> bool {
    let mut live = vec![false; pattern.len() + 1];
    live[0] = true;
    close_over_hashes(pattern, &mut live);
    for segment in key {
        let mut next = vec![false; pattern.len() + 1];
        for (i, p) in pattern.iter().enumerate() {
            if !live[i] {
                continue;
            }
            match *p {
                // `#` takes this segment and may take more.
                "#" => next[i] = true,
                "*" => next[i + 1] = true,
                p if p == segment => next[i + 1] = true,
                _ => {}
            }
        }
        close_over_hashes(pattern, &mut next);
        if !next.contains(&true) {
            return false;
        }
        live = next;
    }
    live[pattern.len()]
}

/// A `#` may match no segment at all, so whatever reaches it also reaches what follows it.
fn close_over_hashes(pattern: &[&str], live: &mut [bool]) {
    for (i, p) in pattern.iter().enumerate() {
        if live[i] && *p == "#" {
            live[i + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys() {
        assert!(validate_event_key("webhook.lead.created").is_ok());
        assert!(validate_event_key("a-b_c.9").is_ok());
        for bad in ["", "webhook..x", ".x", "x.", "Webhook.x", "a b", "ä", "x/y"] {
            assert!(
                validate_event_key(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(validate_event_key(&"a".repeat(200)).is_ok());
        assert!(validate_event_key(&"a".repeat(201)).is_err());
    }

    #[test]
    fn patterns() {
        let m = |p: &str, k: &str| EventKeyPattern::parse(p).unwrap().matches(k);
        assert!(m("webhook.#", "webhook.lead.created"));
        assert!(m("webhook.#", "webhook"));
        assert!(m("webhook.*.created", "webhook.lead.created"));
        assert!(!m("webhook.*", "webhook.lead.created"));
        assert!(!m("webhook.*", "webhook"));
        assert!(m("#", "anything.at.all"));
        assert!(m("#.created", "webhook.lead.created"));
        assert!(!m("#.created", "webhook.lead.updated"));
        assert!(m("webhook.lead.created", "webhook.lead.created"));
        assert!(m("#.#", "a"));
        assert!(m("a.#.#.b", "a.b"));
        assert!(m("a.#.b.#", "a.x.b.y.b"));
        assert!(!m("a.#.b", "a.x.c"));
        assert!(m("*.#.*", "a.b"));
        assert!(!m("*.#.*", "a"));
        assert!(EventKeyPattern::parse("a..b").is_err());
    }

    #[test]
    fn patterns_are_capped_at_255_characters() {
        let long = format!("{}.x", "#".repeat(253));
        assert_eq!(long.len(), 255);
        assert!(EventKeyPattern::parse(&long).is_ok());
        assert!(EventKeyPattern::parse(&format!("a{long}")).is_err());
    }

    /// `#.#.….#.zzz` against a key it cannot match: backtracking tries every way the `#`s can
    /// share out the key's segments, which never ends at this size. The watchdog turns a hang
    /// into a failure instead of a stuck test run.
    #[test]
    fn a_worst_case_pattern_is_matched_in_linear_time() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut pattern = vec!["#"; 30_000];
            pattern.push("zzz");
            let key = vec!["a"; 100].join(".");
            let _ = done.send(match_segments(&pattern, key.split('.')));
        });
        let matched = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("matching a 30,000-segment pattern did not finish");
        assert!(!matched);
    }

    #[test]
    fn input_validation_names_each_field() {
        let e = WebhookInput::parse(
            WebhookFields {
                uuid: Some("nope"),
                event_key: Some("Bad"),
                payload_type: Some("xml"),
                max_payload_length: Some("9"),
            },
            5,
        )
        .unwrap_err();
        assert!(e.uuid.is_some() && e.event_key.is_some());
        assert!(e.payload_type.is_some() && e.max_payload_length.is_some());
        assert!(
            WebhookInput::parse(
                WebhookFields {
                    ..Default::default()
                },
                5,
            )
            .is_err()
        );
        let ok = WebhookInput::parse(
            WebhookFields {
                event_key: Some("webhook.a"),
                payload_type: Some("raw"),
                max_payload_length: Some("5"),
                ..Default::default()
            },
            5,
        )
        .unwrap();
        assert_eq!(ok.payload_type, Some(PayloadType::Raw));
    }

    #[test]
    fn edit_keeps_uuid_and_unset_fields() {
        let w = WebhookInput::parse(
            WebhookFields {
                event_key: Some("webhook.a"),
                ..Default::default()
            },
            10,
        )
        .unwrap()
        .apply(None, Uuid::new_v4(), 1)
        .unwrap();
        let edit = WebhookInput::parse(
            WebhookFields {
                uuid: Some(&w.uuid.to_string()),
                payload_type: Some("raw"),
                ..Default::default()
            },
            10,
        )
        .unwrap()
        .apply(Some(&w), Uuid::max(), 2)
        .unwrap();
        assert_eq!(edit.uuid, w.uuid);
        assert_eq!(edit.event_key, "webhook.a");
        assert_eq!(edit.payload_type, PayloadType::Raw);
        assert_eq!((edit.created_at, edit.updated_at), (1, 2));
    }

    #[test]
    fn allow_from_takes_cidrs_and_bare_addresses_and_is_bounded() {
        let nets = parse_allow_from(" 10.1.2.3/8, 2001:db8::1/32,203.0.113.9 ,10.0.0.0/8").unwrap();
        let shown: Vec<String> = nets.iter().map(IpNet::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "2001:db8::/32", "203.0.113.9/32"]);
        assert_eq!(
            parse_allow_from(r#"["::1", "192.168.0.0/16"]"#)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_allow_from("").unwrap(), []);
        for bad in [
            "10.0.0.0/33",
            "example.com",
            "10.0.0.0/8;",
            "[1]",
            "::1/129",
        ] {
            assert!(parse_allow_from(bad).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_ALLOW_FROM)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect();
        assert!(parse_allow_from(&many.join(",")).is_err());
        assert!(parse_allow_from(&many[1..].join(",")).is_ok());
    }

    #[test]
    fn allowed_checks_mapped_ipv4_as_ipv4() {
        let nets = parse_allow_from("10.0.0.0/8,2001:db8::/32").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(allowed(&nets, ip("10.2.3.4")));
        assert!(allowed(&nets, ip("::ffff:10.2.3.4")));
        assert!(allowed(&nets, ip("2001:db8::7")));
        assert!(!allowed(&nets, ip("11.0.0.1")));
        assert!(!allowed(&nets, ip("::1")));
        assert!(allowed(&[], ip("::1")));
    }

    /// Issue 10, finding 6: an IPv4-mapped entry is stored as the IPv4 network it means,
    /// so that it matches the callers it names.
    #[test]
    fn mapped_ipv4_entries_become_ipv4() {
        let nets =
            parse_allow_from("::ffff:127.0.0.1/128, ::ffff:10.1.0.0/112, 2001:db8::/32").unwrap();
        let shown: Vec<String> = nets.iter().map(IpNet::to_string).collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.1.0.0/16", "2001:db8::/32"]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(allowed(&nets[..1], ip("127.0.0.1")));
        assert!(allowed(&nets[..1], ip("::ffff:127.0.0.1")));
        assert!(allowed(&nets[1..2], ip("10.1.200.3")));
        assert!(!allowed(&nets[..2], ip("10.2.0.1")));
    }

    #[test]
    fn only_random_uuids_make_new_webhooks() {
        let input = WebhookInput::parse(
            WebhookFields {
                event_key: Some("webhook.a"),
                ..Default::default()
            },
            10,
        )
        .unwrap();
        for guessable in [
            Uuid::nil(),
            Uuid::max(),
            Uuid::now_v7(),
            Uuid::parse_str("a29a4f16-989d-18c8-ab54-7b6150733ba1").unwrap(),
        ] {
            let e = input.apply(None, guessable, 1).unwrap_err();
            assert!(e.contains("version 4"), "{e}");
        }
        assert!(input.apply(None, Uuid::new_v4(), 1).is_ok());
    }
}
