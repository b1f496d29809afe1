//! How a webhook answers its sender (SPEC §7): the handshakes some providers require before
//! they send anything, and a custom success response.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::verify::{Secret, structured};

/// Longest challenge echoed back, in bytes.
pub const MAX_CHALLENGE: usize = 4096;
/// Longest custom response body, in bytes.
pub const MAX_RESPONSE_BODY: usize = 16 * 1024;

/// A provider's endpoint check. Handshake calls are answered, never stored: they are not
/// deliveries, so no pipeline runs on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Handshake {
    /// Slack Events API: a `url_verification` body is answered with its `challenge`.
    Slack,
    /// Meta (WhatsApp, Messenger, Instagram): `hub.mode=subscribe` with the configured
    /// `hub.verify_token` is answered with `hub.challenge`.
    Meta {
        #[serde(rename = "verifyToken")]
        verify_token: Secret,
    },
    /// Microsoft Graph: a `validationToken` query parameter is echoed as text.
    Graph,
}

/// What a handshake call gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeAnswer {
    /// 200 text/plain with this text.
    Echo(String),
    /// Refused, with the reason for the rejection record.
    Refused(String),
}

/// A change to one of a webhook's optional settings at `webhook.put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Remove,
    Set(T),
}

impl Handshake {
    /// Reads `handshake` (`slack`, `meta`, `graph`, `none`, or an object with `type` and,
    /// for meta, `verifyToken`). A meta handshake without a token keeps the current one when
    /// applied ([`Handshake::keep_token`]).
    pub fn from_params(
        params: &BTreeMap<String, String>,
    ) -> Result<Option<Change<Handshake>>, String> {
        let Some(mut fields) = structured(params, "handshake", "type")? else {
            return Ok(None);
        };
        // What `webhook.get` shows in place of the token: a listed webhook sent back keeps it.
        if fields.remove("verifyTokenSet").is_some() && fields.is_empty() {
            return Ok(None);
        }
        if let Some(k) = fields
            .keys()
            .find(|k| !["type", "verifyToken"].contains(&k.as_str()))
        {
            return Err(format!(
                "handshake has no field {k:?}; it takes type and verifyToken"
            ));
        }
        // Like a secret, the token is kept exactly: Meta compares it byte for byte.
        if let Some(Value::String(t)) = fields.get("verifyToken")
            && t.trim() != t
        {
            return Err(
                "handshake.verifyToken begins or ends with whitespace; give the token exactly"
                    .into(),
            );
        }
        let text = |k: &str| match fields.get(k) {
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(format!("handshake.{k} must be text")),
        };
        let token = text("verifyToken")?.unwrap_or_default();
        let kind = text("type")?.unwrap_or_default();
        if !token.is_empty() && kind != "meta" {
            return Err("handshake.verifyToken is only for the meta handshake".into());
        }
        if token.len() > MAX_CHALLENGE {
            return Err(format!(
                "handshake.verifyToken is longer than {MAX_CHALLENGE} bytes"
            ));
        }
        let handshake = match kind.as_str() {
            "" | "none" => return Ok(Some(Change::Remove)),
            "slack" => Handshake::Slack,
            "graph" => Handshake::Graph,
            "meta" => Handshake::Meta {
                verify_token: Secret::new(token),
            },
            other => {
                return Err(format!(
                    "handshake must be slack, meta, graph or none, not {other:?}"
                ));
            }
        };
        Ok(Some(Change::Set(handshake)))
    }

    /// A meta handshake given without a token keeps the current one; a new one needs one.
    pub fn keep_token(self, current: Option<&Handshake>) -> Result<Handshake, String> {
        match (self, current) {
            (Handshake::Meta { verify_token }, Some(Handshake::Meta { verify_token: kept }))
                if verify_token.is("") =>
            {
                Ok(Handshake::Meta {
                    verify_token: kept.clone(),
                })
            }
            (Handshake::Meta { verify_token }, _) if verify_token.is("") => {
                Err("handshake.verifyToken is required for meta".into())
            }
            (h, _) => Ok(h),
        }
    }

    /// The API form: the verify token shows only as set.
    pub fn to_json(&self) -> Value {
        match self {
            Handshake::Slack => json!({"type": "slack"}),
            Handshake::Graph => json!({"type": "graph"}),
            Handshake::Meta { .. } => json!({"type": "meta", "verifyTokenSet": true}),
        }
    }

    /// The answer when this call is the provider's handshake, `None` when it is a delivery.
    pub fn answer(&self, query: &[(String, String)], body: &[u8]) -> Option<HandshakeAnswer> {
        let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let challenge = match self {
            Handshake::Slack => {
                // Cheap test first: most calls are events, not the handshake.
                memchr::memmem::find(body, b"url_verification")?;
                #[derive(Deserialize)]
                struct Challenge {
                    r#type: String,
                    challenge: String,
                }
                let c: Challenge = serde_json::from_slice(body).ok()?;
                if c.r#type != "url_verification" {
                    return None;
                }
                c.challenge
            }
            Handshake::Meta { verify_token } => {
                // A call carrying the token is a handshake or refused, never stored: the
                // token would be in the event's query for anyone who reads it.
                let Some(mode) = q("hub.mode") else {
                    return q("hub.verify_token").map(|_| {
                        HandshakeAnswer::Refused(
                            "handshake: hub.verify_token sent without hub.mode=subscribe".into(),
                        )
                    });
                };
                if mode != "subscribe" {
                    return Some(HandshakeAnswer::Refused(
                        "handshake: hub.mode is not subscribe".into(),
                    ));
                }
                if !q("hub.verify_token").is_some_and(|t| verify_token.is(t)) {
                    return Some(HandshakeAnswer::Refused(
                        "handshake: hub.verify_token did not match".into(),
                    ));
                }
                q("hub.challenge").unwrap_or_default().to_string()
            }
            Handshake::Graph => q("validationToken")?.to_string(),
        };
        Some(if challenge.len() > MAX_CHALLENGE {
            HandshakeAnswer::Refused(format!(
                "handshake: the challenge is longer than {MAX_CHALLENGE} bytes"
            ))
        } else {
            HandshakeAnswer::Echo(challenge)
        })
    }
}

/// What a caller gets on success instead of the JSON answer; the correlation id then
/// travels in `X-Correlation-Id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl CustomResponse {
    /// Reads `response`: a JSON object, or `response.status`, `response.contentType` and
    /// `response.body` parameters; `none` removes it.
    pub fn from_params(
        params: &BTreeMap<String, String>,
    ) -> Result<Option<Change<CustomResponse>>, String> {
        let Some(fields) = structured(params, "response", "status")? else {
            return Ok(None);
        };
        if fields.get("status").and_then(Value::as_str) == Some("none")
            || (fields.is_empty() && params.get("response").is_some())
        {
            return Ok(Some(Change::Remove));
        }
        parse_response(&fields).map(|r| Some(Change::Set(r)))
    }

    pub fn to_json(&self) -> Value {
        json!({"status": self.status, "contentType": self.content_type, "body": self.body})
    }
}

fn parse_response(fields: &Map<String, Value>) -> Result<CustomResponse, String> {
    if let Some(k) = fields
        .keys()
        .find(|k| !["status", "contentType", "body"].contains(&k.as_str()))
    {
        return Err(format!(
            "response has no field {k:?}; it takes status, contentType and body"
        ));
    }
    let status = match fields.get("status") {
        None | Some(Value::Null) => 200,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        Some(_) => 0,
    };
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (200..=299).contains(s))
        .ok_or("response.status must be a 2xx status, from 200 to 299")?;
    let text = |k: &str| match fields.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("response.{k} must be text")),
    };
    let body = text("body")?.unwrap_or_default();
    if body.len() > MAX_RESPONSE_BODY {
        return Err(format!(
            "response.body is longer than {MAX_RESPONSE_BODY} bytes"
        ));
    }
    if matches!(status, 204 | 205) && !body.is_empty() {
        return Err(format!(
            "response.body must be empty: a {status} response has none"
        ));
    }
    let content_type = text("contentType")?
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "text/plain; charset=utf-8".into());
    if content_type.len() > 256 || !content_type.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err("response.contentType must be printable ASCII, at most 256 bytes".into());
    }
    Ok(CustomResponse {
        status,
        content_type,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn handshakes_answer_their_challenge() {
        let slack = Handshake::Slack;
        let body = br#"{"token":"x","challenge":"3eZbrw1aB","type":"url_verification"}"#;
        assert_eq!(
            slack.answer(&[], body),
            Some(HandshakeAnswer::Echo("3eZbrw1aB".into()))
        );
        assert_eq!(slack.answer(&[], br#"{"type":"event_callback"}"#), None);
        let graph = Handshake::Graph;
        let asked = q(&[("validationToken", "Validation: Token <x>")]);
        assert_eq!(
            graph.answer(&asked, b""),
            Some(HandshakeAnswer::Echo("Validation: Token <x>".into()))
        );
        assert_eq!(graph.answer(&[], b"{}"), None);
    }

    #[test]
    fn meta_needs_its_verify_token() {
        let Some(Change::Set(meta)) = Handshake::from_params(&params(&[(
            "handshake",
            r#"{"type":"meta","verifyToken":"tok-123"}"#,
        )]))
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            meta.to_json(),
            json!({"type": "meta", "verifyTokenSet": true})
        );
        assert!(!format!("{meta:?}").contains("tok-123"));
        let call = |token: &str| {
            q(&[
                ("hub.mode", "subscribe"),
                ("hub.verify_token", token),
                ("hub.challenge", "1158201444"),
            ])
        };
        assert_eq!(
            meta.answer(&call("tok-123"), b""),
            Some(HandshakeAnswer::Echo("1158201444".into()))
        );
        assert!(matches!(
            meta.answer(&call("tok-124"), b""),
            Some(HandshakeAnswer::Refused(_))
        ));
        assert_eq!(meta.answer(&[], b"{}"), None);
        // The token without hub.mode is refused, so that it is never stored in an event.
        let Some(HandshakeAnswer::Refused(why)) = meta.answer(
            &q(&[("hub.verify_token", "tok-123"), ("hub.challenge", "2")]),
            b"",
        ) else {
            panic!("a call carrying the verify token is refused")
        };
        assert!(!why.contains("tok-123"), "{why}");
        // An edit that leaves the token out keeps it; a new meta handshake needs one.
        let edit = params(&[("handshake.type", "meta")]);
        let Some(Change::Set(edit)) = Handshake::from_params(&edit).unwrap() else {
            panic!()
        };
        assert_eq!(edit.clone().keep_token(Some(&meta)).unwrap(), meta);
        assert!(edit.keep_token(Some(&Handshake::Slack)).is_err());
        let none = Handshake::from_params(&params(&[("handshake", "none")]));
        assert_eq!(none.unwrap(), Some(Change::Remove));
        assert!(Handshake::from_params(&params(&[("handshake", "zoom")])).is_err());
        // Issue 10, finding 4: whitespace around the token is refused, as around a secret.
        for padded in [" tok-123", "tok-123\t", "\ntok-123"] {
            let given = params(&[
                ("handshake.type", "meta"),
                ("handshake.verifyToken", padded),
            ]);
            let e = Handshake::from_params(&given).unwrap_err();
            assert!(e.contains("whitespace") && !e.contains("tok-123"), "{e}");
        }
    }

    #[test]
    fn responses_are_2xx_and_bounded() {
        let ok = CustomResponse::from_params(&params(&[
            ("response.status", "202"),
            ("response.body", "thanks"),
        ]))
        .unwrap();
        assert_eq!(
            ok,
            Some(Change::Set(CustomResponse {
                status: 202,
                content_type: "text/plain; charset=utf-8".into(),
                body: "thanks".into()
            }))
        );
        let json = params(&[(
            "response",
            r#"{"status":200,"contentType":"application/json","body":"{}"}"#,
        )]);
        assert!(CustomResponse::from_params(&json).is_ok());
        for bad in [
            params(&[("response.status", "302")]),
            params(&[("response.status", "ok")]),
            params(&[("response.status", "204"), ("response.body", "x")]),
            params(&[("response.contentType", "a\nb")]),
            params(&[("response.colour", "red")]),
            params(&[("response.body", &"x".repeat(MAX_RESPONSE_BODY + 1))]),
        ] {
            assert!(CustomResponse::from_params(&bad).is_err(), "{bad:?}");
        }
        let none = CustomResponse::from_params(&params(&[("response", "none")]));
        assert_eq!(none.unwrap(), Some(Change::Remove));
    }
}
