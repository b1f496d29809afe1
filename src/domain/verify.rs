//! Sender verification (SPEC §7): a webhook's `verify` config, parsed and validated at
//! `webhook.put`, and the check of a call's signature over the exact raw body bytes.
//! Secrets are write-only: they are stored with the webhook, but never shown, logged or
//! put in an error; `Debug` redacts them.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

/// Tolerance of signed timestamps when none is given, in seconds.
pub const DEFAULT_TOLERANCE: u64 = 300;
/// Largest tolerance accepted: a day.
pub const MAX_TOLERANCE: u64 = 86_400;
/// Longest secret accepted, in bytes.
const MAX_SECRET: usize = 1024;
/// Longest header name, prefix or template accepted.
const MAX_FIELD: usize = 256;
/// Longest delivery id indexed as it is; a longer one is indexed by its SHA-256.
pub const MAX_DELIVERY_ID: usize = 256;

/// A secret: stored with its webhook, never shown. `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// Whether `other` is this secret, compared in constant time.
    pub fn is(&self, other: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.as_bytes()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Github,
    Stripe,
    Standard,
    Slack,
    Shopify,
    Hmac,
}

impl Scheme {
    pub const ALL: [Scheme; 6] = [
        Scheme::Github,
        Scheme::Stripe,
        Scheme::Standard,
        Scheme::Slack,
        Scheme::Shopify,
        Scheme::Hmac,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Github => "github",
            Scheme::Stripe => "stripe",
            Scheme::Standard => "standard",
            Scheme::Slack => "slack",
            Scheme::Shopify => "shopify",
            Scheme::Hmac => "hmac",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "verify.scheme must be github, stripe, standard, slack, shopify, hmac \
                     or none, not {s:?}"
                )
            })
    }

    /// Whether the scheme signs a timestamp (and so has a tolerance).
    fn timed(self) -> bool {
        matches!(self, Scheme::Stripe | Scheme::Standard | Scheme::Slack)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha1,
    #[default]
    Sha256,
    Sha512,
}

impl Algorithm {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "sha1" => Ok(Algorithm::Sha1),
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            _ => Err(format!(
                "verify.algorithm must be sha1, sha256 or sha512, not {s:?}"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Hex,
    Base64,
}

impl Encoding {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "hex" => Ok(Encoding::Hex),
            "base64" => Ok(Encoding::Base64),
            _ => Err(format!("verify.encoding must be hex or base64, not {s:?}")),
        }
    }

    fn decode(self, s: &str) -> Option<Vec<u8>> {
        match self {
            // The generic scheme takes either case; the named ones send lowercase only.
            Encoding::Hex => hex_decode(&s.to_ascii_lowercase()),
            Encoding::Base64 => B64.decode(s).ok(),
        }
    }
}

/// A webhook's verification config, as stored. `Debug` redacts the secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verify {
    pub scheme: Scheme,
    secret: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_secret: Option<Secret>,
    /// Seconds a signed timestamp may be off, either way; `None` when nothing is timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<u64>,
    /// The generic scheme's fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default)]
    pub algorithm: Algorithm,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// A header carrying a delivery id, for any scheme; overrides the scheme's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_header: Option<String>,
}

/// What a `verify` parameter asks for at `webhook.put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyChange {
    /// `none`: the webhook stops verifying.
    Remove,
    /// A config; secrets left out are kept from the webhook's current config.
    Set(VerifyInput),
    /// Only `secret` and/or `previousSecret`, without a scheme: new secrets for the current
    /// config (a rotation), which stays as it is otherwise.
    Rotate(Rotation),
}

/// New secrets for the current config; `previous` empty removes the previous secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Rotation {
    secret: Option<String>,
    previous: Option<String>,
}

impl std::fmt::Debug for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rotation(<redacted>)")
    }
}

impl Rotation {
    /// Whether the new secrets suit `scheme`, before a config to apply them to is at hand
    /// (the dashboard's form knows only the scheme). Errors never hold a secret.
    pub fn check(&self, scheme: Scheme) -> Result<(), String> {
        if let Some(s) = &self.secret {
            check_secret(scheme, "secret", s)?;
        }
        match self.previous.as_deref() {
            None | Some("") => Ok(()),
            Some(p) => check_secret(scheme, "previousSecret", p),
        }
    }

    /// The current config with the new secrets. Errors never hold a secret.
    pub fn apply(&self, current: Option<&Verify>) -> Result<Box<Verify>, String> {
        let Some(current) = current else {
            return Err("verify.scheme is required: this webhook does not verify yet".into());
        };
        let mut v = Box::new(current.clone());
        if let Some(s) = &self.secret {
            check_secret(v.scheme, "secret", s)?;
            v.secret = Secret::new(s.clone());
        }
        match self.previous.as_deref() {
            None => {}
            Some("") => v.previous_secret = None,
            Some(p) => {
                check_secret(v.scheme, "previousSecret", p)?;
                v.previous_secret = Some(Secret::new(p.to_string()));
            }
        }
        Ok(v)
    }
}

/// A parsed `verify` object, before the secrets it leaves out are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyInput {
    config: Box<Verify>,
    /// No `secret` was given: keep the current one.
    keep_secret: bool,
    /// No `previousSecret` was given: keep the current one (an empty one removes it).
    keep_previous: bool,
}

impl VerifyChange {
    /// Reads `verify` from the parameters: a JSON object in `verify`, or `verify.field`
    /// parameters (which win), or the word `none` to remove it. `None` when neither is given.
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let Some(mut fields) = structured(params, "verify", "scheme")? else {
            return Ok(None);
        };
        // What `webhook.get` shows in place of the secret: a listed webhook sent back keeps it.
        if fields.remove("secretSet").is_some() && fields.is_empty() {
            return Ok(None);
        }
        // Secrets are kept byte for byte: whitespace around one is refused rather than
        // trimmed, since the sender signs with the exact secret.
        for k in ["secret", "previousSecret"] {
            if let Some(Value::String(v)) = fields.get(k)
                && v.trim() != v
            {
                return Err(format!(
                    "verify.{k} begins or ends with whitespace; give the secret exactly"
                ));
            }
        }
        let text = |k: &str| -> Result<Option<String>, String> {
            match fields.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(format!("verify.{k} must be text")),
            }
        };
        let scheme = text("scheme")?.unwrap_or_default();
        // Only `verify=none`, `verify=` or an empty scheme alone turns verification off:
        // never a field given without its scheme.
        if scheme == "none" || (scheme.is_empty() && fields.keys().all(|k| k == "scheme")) {
            return Ok(Some(VerifyChange::Remove));
        }
        if let Some(k) = fields.keys().find(|k| !VERIFY_FIELDS.contains(&k.as_str())) {
            return Err(format!(
                "verify has no field {k:?}; it takes {}",
                VERIFY_FIELDS.join(", ")
            ));
        }
        let scheme = if scheme.is_empty() {
            let rotation = fields
                .keys()
                .all(|k| k == "scheme" || k == "secret" || k == "previousSecret");
            if !rotation {
                return Err(
                    "verify.scheme is required, except to change only secret or previousSecret"
                        .into(),
                );
            }
            return Ok(Some(VerifyChange::Rotate(Rotation {
                secret: text("secret")?.filter(|s| !s.is_empty()),
                previous: text("previousSecret")?,
            })));
        } else {
            Scheme::parse(&scheme)?
        };
        let secret = text("secret")?.filter(|s| !s.is_empty());
        let previous = text("previousSecret")?;
        let generic = scheme == Scheme::Hmac;
        let only_generic = |k: &str, v: Option<String>| match v {
            Some(_) if !generic => Err(format!("verify.{k} is only for the hmac scheme")),
            v => Ok(v),
        };
        let header = only_generic("header", text("header")?)?;
        let algorithm = only_generic("algorithm", text("algorithm")?)?;
        let encoding = only_generic("encoding", text("encoding")?)?;
        let prefix = only_generic("prefix", text("prefix")?)?;
        let timestamp_header = only_generic("timestampHeader", text("timestampHeader")?)?;
        let template = only_generic("template", text("template")?)?;
        let timed = scheme.timed() || timestamp_header.is_some();
        let tolerance = match text("tolerance")? {
            Some(t) if !timed => {
                return Err(format!(
                    "verify.tolerance {t:?} has nothing to apply to: scheme {} signs no \
                     timestamp",
                    scheme.as_str()
                ));
            }
            Some(t) => Some(
                t.parse::<u64>()
                    .ok()
                    .filter(|t| *t <= MAX_TOLERANCE)
                    .ok_or_else(|| {
                        format!(
                            "verify.tolerance must be a whole number of seconds from 0 to \
                             {MAX_TOLERANCE}, not {t:?}"
                        )
                    })?,
            ),
            None => timed.then_some(DEFAULT_TOLERANCE),
        };
        let config = Verify {
            scheme,
            secret: Secret::new(secret.clone().unwrap_or_default()),
            previous_secret: previous.clone().filter(|p| !p.is_empty()).map(Secret::new),
            tolerance,
            header: header.map(|h| header_name("header", &h)).transpose()?,
            algorithm: algorithm
                .map(|a| Algorithm::parse(&a))
                .transpose()?
                .unwrap_or_default(),
            encoding: encoding
                .map(|e| Encoding::parse(&e))
                .transpose()?
                .unwrap_or_default(),
            prefix: prefix.filter(|p| !p.is_empty()),
            timestamp_header: timestamp_header
                .map(|h| header_name("timestampHeader", &h))
                .transpose()?,
            template,
            dedup_header: text("dedupHeader")?
                .filter(|h| !h.is_empty())
                .map(|h| header_name("dedupHeader", &h))
                .transpose()?,
        };
        if generic {
            if config.header.is_none() {
                return Err("verify.header is required for the hmac scheme".into());
            }
            if let Some(p) = &config.prefix
                && p.len() > MAX_FIELD
            {
                return Err(format!("verify.prefix is longer than {MAX_FIELD} bytes"));
            }
            if let Some(t) = &config.template {
                let timed = config.timestamp_header.is_some();
                // A timestamp the template leaves unsigned could be changed at will, so its
                // tolerance would stop no replay.
                let pieces = parse_template(t, timed)?;
                if timed && !pieces.contains(&Piece::Timestamp) {
                    return Err("verify.template must hold {timestamp} when \
                                verify.timestampHeader is set, or the timestamp is not signed"
                        .into());
                }
            }
        }
        Ok(Some(VerifyChange::Set(VerifyInput {
            config: Box::new(config),
            keep_secret: secret.is_none(),
            keep_previous: previous.is_none(),
        })))
    }
}

/// The fields a `verify` object may hold.
const VERIFY_FIELDS: [&str; 11] = [
    "scheme",
    "secret",
    "previousSecret",
    "tolerance",
    "header",
    "algorithm",
    "encoding",
    "prefix",
    "timestampHeader",
    "template",
    "dedupHeader",
];

impl VerifyInput {
    /// The config to store: secrets left out come from `current`. Errors never hold a secret.
    pub fn apply(&self, current: Option<&Verify>) -> Result<Box<Verify>, String> {
        let mut v = self.config.clone();
        if self.keep_secret {
            v.secret = current
                .map(|c| c.secret.clone())
                .ok_or("verify.secret is required")?;
        }
        if self.keep_previous {
            v.previous_secret = current.and_then(|c| c.previous_secret.clone());
        }
        for (name, s, kept) in [
            ("secret", Some(&v.secret), self.keep_secret),
            (
                "previousSecret",
                v.previous_secret.as_ref(),
                self.keep_previous,
            ),
        ] {
            if let Some(s) = s {
                // A stored secret the new scheme cannot use: say it is the kept one.
                check_secret(v.scheme, name, &s.0).map_err(|e| match kept {
                    true => format!("{e} (the stored one, kept as none was given: give a new one)"),
                    false => e,
                })?;
            }
        }
        Ok(v)
    }
}

/// A secret must be usable by its scheme; the message names the field, never the value.
fn check_secret(scheme: Scheme, name: &str, secret: &str) -> Result<(), String> {
    if secret.is_empty() {
        return Err(format!("verify.{name} is empty"));
    }
    if secret.len() > MAX_SECRET {
        return Err(format!("verify.{name} is longer than {MAX_SECRET} bytes"));
    }
    if scheme == Scheme::Standard && standard_key(secret).is_none() {
        return Err(format!(
            "verify.{name} must be a Standard Webhooks secret: whsec_ followed by base64"
        ));
    }
    Ok(())
}

/// A Standard Webhooks secret's key: the base64 after `whsec_`.
fn standard_key(secret: &str) -> Option<Vec<u8>> {
    let mut buf = [0u8; MAX_SECRET];
    standard_key_into(secret, &mut buf).map(<[u8]>::to_vec)
}

/// [`standard_key`] into `buf`, which holds any secret's (at most `MAX_SECRET` bytes).
fn standard_key_into<'b>(secret: &str, buf: &'b mut [u8; MAX_SECRET]) -> Option<&'b [u8]> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    let n = B64.decode_slice(b64, buf).ok()?;
    buf.get(..n).filter(|k| !k.is_empty())
}

/// A header name as HTTP allows it, lowercased.
fn header_name(field: &str, name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_FIELD
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(format!("verify.{field} {name:?} is not a header name"))
    }
}

/// One piece of a generic template: literal text, the timestamp or the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Timestamp,
    Body,
}

/// `{timestamp}` and `{body}` in literal text; `{body}` exactly once.
fn parse_template(t: &str, timed: bool) -> Result<Vec<Piece<'_>>, String> {
    if t.len() > MAX_FIELD {
        return Err(format!("verify.template is longer than {MAX_FIELD} bytes"));
    }
    let mut pieces = Vec::new();
    let mut rest = t;
    while let Some(at) = rest.find('{') {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        rest = &rest[at..];
        if let Some(r) = rest.strip_prefix("{timestamp}") {
            if !timed {
                return Err(
                    "verify.template uses {timestamp} but no verify.timestampHeader is set".into(),
                );
            }
            pieces.push(Piece::Timestamp);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("{body}") {
            pieces.push(Piece::Body);
            rest = r;
        } else {
            return Err("verify.template may hold only {timestamp} and {body}".into());
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    if pieces.iter().filter(|p| **p == Piece::Body).count() != 1 {
        return Err("verify.template must hold {body} exactly once".into());
    }
    Ok(pieces)
}

/// Collects a structured parameter (`verify`, `handshake`, `response`): a JSON object in
/// `name`, or a bare word there taken as its `word` field, overlaid by `name.field`
/// parameters. `None` when neither is given.
pub fn structured(
    params: &BTreeMap<String, String>,
    name: &str,
    word: &str,
) -> Result<Option<Map<String, Value>>, String> {
    let mut fields = Map::new();
    let mut given = false;
    if let Some(v) = params.get(name) {
        given = true;
        let v = v.trim();
        if v.starts_with('{') {
            match serde_json::from_str::<Value>(v) {
                Ok(Value::Object(m)) => fields = m,
                // serde's message may quote the text, which may hold a secret.
                _ => return Err(format!("{name} must be a JSON object")),
            }
        } else if !v.is_empty() {
            fields.insert(word.into(), Value::String(v.into()));
        }
    }
    let prefix = format!("{name}.");
    for (k, v) in params.range(prefix.clone()..) {
        let Some(field) = k.strip_prefix(&prefix) else {
            break;
        };
        given = true;
        fields.insert(field.into(), Value::String(v.clone()));
    }
    Ok(given.then_some(fields))
}

/// Why a call failed verification: what the rejection record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Missing(String),
    Malformed {
        header: String,
        why: &'static str,
    },
    /// Seconds past the tolerance; `future` when the timestamp is ahead of the clock.
    Timestamp {
        by: u64,
        future: bool,
    },
    NoMatch,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Missing(h) => write!(f, "header {h} is missing"),
            Failure::Malformed { header, why } => write!(f, "header {header} is malformed: {why}"),
            Failure::Timestamp { by, future } => write!(
                f,
                "timestamp outside the tolerance by {by} s ({})",
                if *future { "in the future" } else { "too old" }
            ),
            Failure::NoMatch => f.write_str("no signature matched"),
        }
    }
}

/// A call that passed: its delivery id (for duplicates), and whether the previous secret
/// signed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checked {
    pub delivery_id: Option<String>,
    pub by_previous: bool,
}

/// What is signed and what signatures were sent, before any MAC is computed.
struct Signed<'a> {
    timestamp: Option<(&'a str, &'a str)>,
    message: Vec<&'a [u8]>,
    signatures: Vec<Vec<u8>>,
    algorithm: Algorithm,
}

impl Verify {
    /// The API form: every field but the secrets, which show only as set.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"scheme": self.scheme, "secretSet": true});
        let Value::Object(m) = &mut v else {
            return v;
        };
        if self.previous_secret.is_some() {
            m.insert("previousSecretSet".into(), true.into());
        }
        if let Some(t) = self.tolerance {
            m.insert("tolerance".into(), t.into());
        }
        if self.scheme == Scheme::Hmac {
            m.insert("header".into(), json!(self.header));
            m.insert("algorithm".into(), json!(self.algorithm));
            m.insert("encoding".into(), json!(self.encoding));
            for (k, f) in [
                ("prefix", &self.prefix),
                ("timestampHeader", &self.timestamp_header),
                ("template", &self.template),
            ] {
                if let Some(f) = f {
                    m.insert(k.into(), f.clone().into());
                }
            }
        }
        if let Some(h) = &self.dedup_header {
            m.insert("dedupHeader".into(), h.clone().into());
        }
        v
    }

    /// Checks a call's signature over the exact body bytes, comparing in constant time,
    /// with the secret then the previous one. `header` reads a header by lowercase name;
    /// `now` is the clock in seconds.
    pub fn check<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h [u8]>,
        body: &[u8],
        now: i64,
    ) -> Result<Checked, Failure> {
        let text = |name: &'static str| -> Result<&'h str, Failure> {
            let v = header(name).ok_or_else(|| Failure::Missing(name.into()))?;
            std::str::from_utf8(v).map_err(|_| Failure::Malformed {
                header: name.into(),
                why: "not text",
            })
        };
        let signed = self.signed(&header, &text, body)?;
        if let (Some((name, ts)), Some(tolerance)) = (signed.timestamp, self.tolerance) {
            check_time(name, ts, tolerance, now)?;
        }
        let keys = std::iter::once(&self.secret).chain(&self.previous_secret);
        let mut matched = None;
        // On the stack: this runs for every call.
        let (mut decoded, mut out) = ([0u8; MAX_SECRET], [0u8; 64]);
        for (i, secret) in keys.enumerate() {
            let key = match self.scheme {
                Scheme::Standard => standard_key_into(&secret.0, &mut decoded).unwrap_or_default(),
                _ => secret.0.as_bytes(),
            };
            let mac = mac(signed.algorithm, key, &signed.message, &mut out);
            // Every candidate is compared, so the time taken does not tell which matched.
            let hit = signed
                .signatures
                .iter()
                .fold(subtle::Choice::from(0), |acc, s| acc | s.ct_eq(mac));
            if matched.is_none() && !mac.is_empty() && bool::from(hit) {
                matched = Some(i);
            }
        }
        let by_previous = matched.ok_or(Failure::NoMatch)? > 0;
        Ok(Checked {
            delivery_id: self.delivery_id(&header, body),
            by_previous,
        })
    }

    fn signed<'s, 'h: 's>(
        &'s self,
        header: &impl Fn(&str) -> Option<&'h [u8]>,
        text: &impl Fn(&'static str) -> Result<&'h str, Failure>,
        body: &'s [u8],
    ) -> Result<Signed<'s>, Failure> {
        let malformed = |header: &str, why| Failure::Malformed {
            header: header.into(),
            why,
        };
        let sha256 = |timestamp, message, signatures| Signed {
            timestamp,
            message,
            signatures,
            algorithm: Algorithm::Sha256,
        };
        match self.scheme {
            Scheme::Github => {
                let h = "x-hub-signature-256";
                let sig = text(h)?
                    .trim()
                    .strip_prefix("sha256=")
                    .and_then(hex_decode)
                    .ok_or_else(|| malformed(h, "expected sha256=<hex>"))?;
                Ok(sha256(None, vec![body], vec![sig]))
            }
            Scheme::Shopify => {
                let h = "x-shopify-hmac-sha256";
                let sig = B64
                    .decode(text(h)?.trim())
                    .map_err(|_| malformed(h, "expected base64"))?;
                Ok(sha256(None, vec![body], vec![sig]))
            }
            Scheme::Slack => {
                let (h, th) = ("x-slack-signature", "x-slack-request-timestamp");
                let sig = text(h)?
                    .trim()
                    .strip_prefix("v0=")
                    .and_then(hex_decode)
                    .ok_or_else(|| malformed(h, "expected v0=<hex>"))?;
                let ts = text(th)?.trim();
                let message = vec![b"v0:".as_slice(), ts.as_bytes(), b":", body];
                Ok(sha256(Some((th, ts)), message, vec![sig]))
            }
            Scheme::Stripe => {
                let h = "stripe-signature";
                let (mut ts, mut sigs) = (None, Vec::new());
                for item in text(h)?.split(',') {
                    match item.trim().split_once('=') {
                        Some(("t", t)) => ts = Some(t),
                        Some(("v1", s)) => {
                            sigs.push(hex_decode(s).ok_or_else(|| malformed(h, "v1 is not hex"))?)
                        }
                        _ => {}
                    }
                }
                let ts = ts.ok_or_else(|| malformed(h, "no t= timestamp"))?;
                if sigs.is_empty() {
                    return Err(malformed(h, "no v1= signature"));
                }
                let message = vec![ts.as_bytes(), b".", body];
                Ok(sha256(Some((h, ts)), message, sigs))
            }
            Scheme::Standard => {
                // The svix- names when the webhook- ones are absent.
                let svix = header("webhook-id").is_none() && header("svix-id").is_some();
                let [id_h, ts_h, sig_h] = if svix {
                    ["svix-id", "svix-timestamp", "svix-signature"]
                } else {
                    ["webhook-id", "webhook-timestamp", "webhook-signature"]
                };
                let id = text(id_h)?;
                let ts = text(ts_h)?.trim();
                let mut sigs = Vec::new();
                for s in text(sig_h)?.split_ascii_whitespace() {
                    if let Some(b64) = s.strip_prefix("v1,") {
                        sigs.push(
                            B64.decode(b64)
                                .map_err(|_| malformed(sig_h, "v1 is not base64"))?,
                        );
                    }
                }
                if sigs.is_empty() {
                    return Err(malformed(sig_h, "no v1,<base64> signature"));
                }
                let message = vec![id.as_bytes(), b".", ts.as_bytes(), b".", body];
                Ok(sha256(Some((ts_h, ts)), message, sigs))
            }
            Scheme::Hmac => self.signed_generic(header, body),
        }
    }

    fn signed_generic<'s, 'h: 's>(
        &'s self,
        header: &impl Fn(&str) -> Option<&'h [u8]>,
        body: &'s [u8],
    ) -> Result<Signed<'s>, Failure> {
        let read = |name: &str| -> Result<&'h str, Failure> {
            let v = header(name).ok_or_else(|| Failure::Missing(name.into()))?;
            std::str::from_utf8(v).map_err(|_| Failure::Malformed {
                header: name.into(),
                why: "not text",
            })
        };
        let h = self.header.as_deref().unwrap_or_default();
        let mut sig = read(h)?.trim();
        if let Some(p) = &self.prefix {
            sig = sig.strip_prefix(p.as_str()).ok_or(Failure::Malformed {
                header: h.into(),
                why: "the configured prefix is missing",
            })?;
        }
        let sig = self.encoding.decode(sig).ok_or(Failure::Malformed {
            header: h.into(),
            why: match self.encoding {
                Encoding::Hex => "expected hex",
                Encoding::Base64 => "expected base64",
            },
        })?;
        let timestamp = match &self.timestamp_header {
            Some(th) => Some((th.as_str(), read(th)?.trim())),
            None => None,
        };
        let default = if timestamp.is_some() {
            "{timestamp}.{body}"
        } else {
            "{body}"
        };
        let template = self.template.as_deref().unwrap_or(default);
        // Validated at webhook.put; a stored template that no longer parses matches nothing.
        let pieces = parse_template(template, timestamp.is_some()).map_err(|_| Failure::NoMatch)?;
        let message = pieces
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => t.as_bytes(),
                Piece::Timestamp => timestamp.map(|(_, t)| t.as_bytes()).unwrap_or_default(),
                Piece::Body => body,
            })
            .collect();
        Ok(Signed {
            timestamp,
            message,
            signatures: vec![sig],
            algorithm: self.algorithm,
        })
    }

    /// The sender's id for this delivery, when the scheme (or `dedupHeader`) has one.
    fn delivery_id<'h>(
        &self,
        header: &impl Fn(&str) -> Option<&'h [u8]>,
        body: &[u8],
    ) -> Option<String> {
        let from = |name: &str| header(name).and_then(|v| std::str::from_utf8(v).ok());
        let id = match (&self.dedup_header, self.scheme) {
            (Some(h), _) => from(h).map(str::to_string),
            (None, Scheme::Github) => from("x-github-delivery").map(str::to_string),
            (None, Scheme::Shopify) => from("x-shopify-webhook-id").map(str::to_string),
            (None, Scheme::Standard) => from("webhook-id").or(from("svix-id")).map(str::to_string),
            (None, Scheme::Stripe) => {
                #[derive(Deserialize)]
                struct StripeEvent {
                    id: Option<String>,
                }
                serde_json::from_slice::<StripeEvent>(body).ok()?.id
            }
            (None, Scheme::Slack | Scheme::Hmac) => None,
        }?;
        // Only HTTP's own blanks are trimmed: a Unicode space is part of the sender's id, and
        // trimming it made distinct ids one (the later calls answered as duplicates).
        let id = id.trim_matches([' ', '\t']);
        if id.is_empty() {
            return None;
        }
        // A longer id is still detected, by its SHA-256, so that the index stays bounded. So
        // is an id that looks like such a digest, so that no id can stand for a longer one.
        Some(
            if id.len() <= MAX_DELIVERY_ID && !id.starts_with("sha256:") {
                id.to_string()
            } else {
                use sha2::Digest;
                format!(
                    "sha256:{}",
                    hex_encode(&sha2::Sha256::digest(id.as_bytes()))
                )
            },
        )
    }
}

/// A signed timestamp must be within `tolerance` seconds of `now`, either way.
fn check_time(header: &str, ts: &str, tolerance: u64, now: i64) -> Result<(), Failure> {
    let ts: i64 = ts.parse().map_err(|_| Failure::Malformed {
        header: header.into(),
        why: "the timestamp is not a whole number of seconds",
    })?;
    let off = i128::from(now) - i128::from(ts);
    let by = off.unsigned_abs().saturating_sub(u128::from(tolerance));
    if by > 0 {
        return Err(Failure::Timestamp {
            by: u64::try_from(by).unwrap_or(u64::MAX),
            future: off < 0,
        });
    }
    Ok(())
}

/// The HMAC of the message's parts, fed in order without joining them, written into `out`.
fn mac<'o>(algorithm: Algorithm, key: &[u8], parts: &[&[u8]], out: &'o mut [u8; 64]) -> &'o [u8] {
    fn run<'o, M: Mac + hmac::digest::KeyInit>(
        key: &[u8],
        parts: &[&[u8]],
        out: &'o mut [u8; 64],
    ) -> &'o [u8] {
        // HMAC takes keys of any length; an error here would be a bug, and matches nothing.
        let Ok(mut m) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
            return &[];
        };
        for p in parts {
            m.update(p);
        }
        let tag = m.finalize().into_bytes();
        let n = tag.len().min(out.len());
        out[..n].copy_from_slice(&tag[..n]);
        &out[..n]
    }
    match algorithm {
        Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts, out),
        Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts, out),
        Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts, out),
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase hex digits into bytes. Strict, so that a changed character is a changed
/// signature.
fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests;
