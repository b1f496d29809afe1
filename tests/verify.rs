//! Sender verification, duplicates, handshakes and custom responses (SPEC §7), against a
//! real server on 127.0.0.1:0 over a real redb file.

mod common;

#[path = "common/child.rs"]
mod child;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An admin command with a JSON body.
async fn cmd_json(addr: SocketAddr, key: &str, name: &str, body: &Value) -> Response {
    let body = body.to_string();
    let req = format!(
        "POST /api/v3/command/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send(addr, req.as_bytes()).await
}

/// A webhook with these §7 settings; returns its token.
async fn webhook(s: &TestServer, key: &str, settings: Value) -> String {
    let mut body = json!({"eventKey": key});
    body.as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    let r = cmd_json(s.addr, &s.key, "webhook.put", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    uuid_of(&r.json())
}

/// A Standard Webhooks delivery signed with `secret` at `ts`.
fn standard_call(token: &str, secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<u8> {
    let key = B64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let t = ts.to_string();
    let sig = B64.encode(hmac256(
        &key,
        &[id.as_bytes(), b".", t.as_bytes(), b".", body],
    ));
    post(
        RECEIVE,
        &format!(
            "token: {token}\r\nContent-Type: application/json\r\nwebhook-id: {id}\r\nwebhook-timestamp: {t}\r\nwebhook-signature: v1,{sig}\r\n"
        ),
        body,
    )
}

/// The rejection records' reasons, newest first, once `n` are stored.
async fn reasons(s: &TestServer, n: usize) -> Vec<String> {
    s.wait_for_events("status=rejected", n)
        .await
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_verified_call_is_stored_with_its_result_and_a_failed_one_gets_401() {
    let s = TestServer::start().await;
    let settings = json!({"verify": {"scheme": "standard", "secret": STANDARD_SECRET}});
    let token = webhook(&s, "webhook.std", settings).await;
    let body = br#"{"test": 2432232314}"#;
    let r = send(
        s.addr,
        &standard_call(&token, STANDARD_SECRET, "msg_1", now(), body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = s.event(r.json()["correlationId"].as_str().unwrap()).await;
    assert_eq!(
        event["verify"],
        json!({"result": "verified", "scheme": "standard", "deliveryId": "msg_1"})
    );
    assert_eq!(b64(event["origin"].as_str().unwrap()), body);

    // One changed byte of the body.
    let mut call = standard_call(&token, STANDARD_SECRET, "msg_2", now(), body);
    *call.last_mut().unwrap() = b']';
    let r = send(s.addr, &call).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"status": "error", "message": "signature verification failed"})
    );
    // No signature header; a timestamp 100 s past the tolerance; a wrong secret.
    let unsigned = post(RECEIVE, &format!("token: {token}\r\n"), body);
    assert_eq!(send(s.addr, &unsigned).await.status, 401);
    let old = standard_call(&token, STANDARD_SECRET, "msg_3", now() - 400, body);
    assert_eq!(send(s.addr, &old).await.status, 401);
    let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let wrong = standard_call(&token, other, "msg_4", now(), body);
    assert_eq!(send(s.addr, &wrong).await.status, 401);
    let got = reasons(&s, 4).await;
    assert_eq!(
        got[0],
        "signature verification failed: no signature matched"
    );
    // The clock may tick between signing and checking: 100 or 101 s.
    assert!(
        got[1].starts_with("signature verification failed: timestamp outside the tolerance by 10")
            && got[1].ends_with("s (too old)"),
        "{}",
        got[1]
    );
    assert_eq!(
        got[2],
        "signature verification failed: header webhook-id is missing"
    );
    assert_eq!(
        got[3],
        "signature verification failed: no signature matched"
    );
    let rejected = s.events("status=rejected&limit=1").await;
    assert_eq!(rejected[0]["httpStatus"], 401);
    assert_eq!(rejected[0]["eventKey"], "webhook.std");
    assert_eq!(s.events("status=accepted").await.len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn each_scheme_accepts_its_signature_and_refuses_a_changed_byte() {
    let s = TestServer::start().await;
    let body = br#"{"id":"evt_1","object":"event"}"#;
    let t = now().to_string();
    let secret = "It's a Secret to Everybody";
    let mac = |parts: &[&[u8]]| hmac256(secret.as_bytes(), parts);
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "github",
            json!({"scheme": "github"}),
            format!(
                "X-Hub-Signature-256: sha256={}\r\nX-GitHub-Delivery: gh-1\r\n",
                hex(&mac(&[body]))
            ),
        ),
        (
            "stripe",
            json!({"scheme": "stripe"}),
            format!(
                "Stripe-Signature: t={t},v1={}\r\n",
                hex(&mac(&[t.as_bytes(), b".", body]))
            ),
        ),
        (
            "slack",
            json!({"scheme": "slack"}),
            format!(
                "X-Slack-Request-Timestamp: {t}\r\nX-Slack-Signature: v0={}\r\n",
                hex(&mac(&[b"v0:", t.as_bytes(), b":", body]))
            ),
        ),
        (
            "shopify",
            json!({"scheme": "shopify"}),
            format!(
                "X-Shopify-Hmac-Sha256: {}\r\nX-Shopify-Webhook-Id: sh-1\r\n",
                B64.encode(mac(&[body]))
            ),
        ),
        (
            "hmac",
            json!({"scheme": "hmac", "header": "X-Signature", "prefix": "sha256=",
                   "timestampHeader": "X-Timestamp", "template": "{timestamp}:{body}"}),
            format!(
                "X-Timestamp: {t}\r\nX-Signature: sha256={}\r\n",
                hex(&mac(&[t.as_bytes(), b":", body]))
            ),
        ),
    ];
    for (scheme, mut verify, headers) in cases {
        verify["secret"] = secret.into();
        let token = webhook(&s, &format!("webhook.{scheme}"), json!({"verify": verify})).await;
        let head = format!("token: {token}\r\n{headers}");
        let r = send(s.addr, &post(RECEIVE, &head, body)).await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.text());
        let mut changed = body.to_vec();
        changed[2] = b'j';
        let r = send(s.addr, &post(RECEIVE, &head, &changed)).await;
        assert_eq!(r.status, 401, "{scheme}: a changed byte passed");
    }
    let reasons = reasons(&s, 5).await;
    assert!(
        reasons
            .iter()
            .all(|r| r == "signature verification failed: no signature matched"),
        "{reasons:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn parallel_duplicates_store_one_event_and_answer_its_id() {
    let s = TestServer::start().await;
    let settings = json!({"verify": {"scheme": "standard", "secret": STANDARD_SECRET}});
    let token = webhook(&s, "webhook.dup", settings).await;
    let call = standard_call(&token, STANDARD_SECRET, "msg_dup", now(), b"{}");
    let answers = futures_util::future::join_all((0..32).map(|_| send(s.addr, &call))).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut firsts = 0;
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        ids.insert(v["correlationId"].as_str().unwrap().to_string());
        if v.get("duplicate").is_none() {
            firsts += 1;
        } else {
            assert_eq!(v["duplicate"], true);
        }
    }
    assert_eq!(ids.len(), 1, "every answer names the one stored event");
    assert_eq!(firsts, 1, "exactly one call stored the event");
    // Each repeat is recorded, in its own commit (so already there), naming the event.
    let stored = s.events("eventKey=webhook.dup&status=accepted").await;
    assert_eq!(stored.len(), 1);
    let repeats = s.events("eventKey=webhook.dup&status=rejected").await;
    assert_eq!(repeats.len(), 31);
    for r in &repeats {
        assert_eq!(r["duplicateOf"], stored[0]["id"], "{r}");
        assert_eq!(
            (&r["deliveryId"], &r["httpStatus"]),
            (&json!("msg_dup"), &json!(200))
        );
    }
    // Another delivery id is another event; the same id on another webhook is too.
    let r = send(
        s.addr,
        &standard_call(&token, STANDARD_SECRET, "msg_2", now(), b"{}"),
    )
    .await;
    assert!(r.json().get("duplicate").is_none());
    let settings = json!({"verify": {"scheme": "standard", "secret": STANDARD_SECRET}});
    let other = webhook(&s, "webhook.dup2", settings).await;
    let r = send(
        s.addr,
        &standard_call(&other, STANDARD_SECRET, "msg_dup", now(), b"{}"),
    )
    .await;
    assert!(r.json().get("duplicate").is_none());
    let metrics = send(s.addr, &get("/metrics")).await.text();
    assert!(
        metrics.contains("outcome=\"duplicate\"} 31"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("duplicate"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    s.stop().await;
}

/// A repeated delivery shows in event.list and event.get as a rejection record answered
/// with the webhook's success status, naming the original and the delivery id.
#[tokio::test]
async fn a_duplicate_is_listed_with_its_original_and_its_delivery_id() {
    let s = TestServer::start().await;
    let settings = json!({"verify": {"scheme": "standard", "secret": STANDARD_SECRET},
                          "response": {"status": 202, "body": "thanks"}});
    let token = webhook(&s, "webhook.retry", settings).await;
    let call = standard_call(&token, STANDARD_SECRET, "msg_retry", now(), b"{\"a\":1}");
    let first = send(s.addr, &call).await;
    let again = send(s.addr, &call).await;
    assert_eq!((first.status, again.status), (202, 202));
    assert!(
        again
            .head
            .to_ascii_lowercase()
            .contains("x-duplicate: true")
    );
    let original = s.events("status=accepted").await;
    assert_eq!(original.len(), 1);
    let listed = s.events("status=rejected").await;
    let [dup] = listed.as_slice() else {
        panic!("{listed:?}")
    };
    assert_eq!(dup["duplicateOf"], original[0]["id"]);
    assert_eq!(dup["deliveryId"], "msg_retry");
    assert_eq!(dup["httpStatus"], 202);
    assert_eq!(dup["eventKey"], "webhook.retry");
    assert_eq!(dup["size"], 7);
    let reason = dup["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("duplicate: delivery msg_retry"),
        "{reason}"
    );
    assert_eq!(s.event(dup["id"].as_str().unwrap()).await, *dup);
    // Listed newest first, after the original; no event of its own.
    let all = s.events("").await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["id"], dup["id"]);
    s.stop().await;
}

#[tokio::test]
async fn a_delivery_id_is_forgotten_with_its_pruned_event() {
    let s = TestServer::start_with(|o| o.retain_events = 1, Default::default()).await;
    let settings = json!({"verify": {"scheme": "github", "secret": "s"}});
    let token = webhook(&s, "webhook.gh", settings).await;
    let call = |delivery: &str| {
        let sig = hex(&hmac256(b"s", &[b"{}"]));
        post(
            RECEIVE,
            &format!(
                "token: {token}\r\nX-Hub-Signature-256: sha256={sig}\r\nX-GitHub-Delivery: {delivery}\r\n"
            ),
            b"{}",
        )
    };
    let first = send(s.addr, &call("d-1")).await.json();
    send(s.addr, &call("d-2")).await;
    // Pruning runs between batches; d-1's event goes, and its delivery id with it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = s.events("status=accepted").await;
        if left.len() == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not pruned");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let again = send(s.addr, &call("d-1")).await.json();
    assert!(again.get("duplicate").is_none(), "{again}");
    assert_ne!(again["correlationId"], first["correlationId"]);
    s.stop().await;
}

#[tokio::test]
async fn secrets_are_write_only_and_rotation_keeps_both() {
    let s = TestServer::start().await;
    let settings = json!({"verify": {"scheme": "github", "secret": "old-secret-123"}});
    let token = webhook(&s, "webhook.rot", settings).await;
    let w = s.cmd("webhook.get", &format!("uuid={token}")).await.text();
    assert!(!w.contains("old-secret-123"), "{w}");
    let shown: Value = serde_json::from_str(&w).unwrap();
    assert_eq!(
        shown["verify"],
        json!({"scheme": "github", "secretSet": true})
    );
    // Rotate: the new secret, the old one as previousSecret.
    let r = s
        .cmd(
            "webhook.put",
            &format!(
                "uuid={token}&verify.scheme=github&verify.secret=new-secret-456&verify.previousSecret=old-secret-123"
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("secret-"), "{}", r.text());
    assert_eq!(r.json()["verify"]["previousSecretSet"], true);
    let signed = |secret: &str| {
        let sig = hex(&hmac256(secret.as_bytes(), &[b"x"]));
        post(
            RECEIVE,
            &format!("token: {token}\r\nX-Hub-Signature-256: sha256={sig}\r\n"),
            b"x",
        )
    };
    for secret in ["new-secret-456", "old-secret-123"] {
        assert_eq!(send(s.addr, &signed(secret)).await.status, 200, "{secret}");
    }
    let id = s.events("status=accepted&limit=1").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.event(&id).await["verify"]["previousSecret"], true);
    // An edit that leaves the secrets out keeps them; an empty previousSecret drops it.
    let r = s
        .cmd(
            "webhook.put",
            &format!("uuid={token}&verify.scheme=github&verify.previousSecret="),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(send(s.addr, &signed("new-secret-456")).await.status, 200);
    assert_eq!(send(s.addr, &signed("old-secret-123")).await.status, 401);
    // Removing verification.
    let r = s
        .cmd("webhook.put", &format!("uuid={token}&verify=none"))
        .await;
    assert!(r.json().get("verify").is_none());
    let plain = post(RECEIVE, &format!("token: {token}\r\n"), b"x");
    assert_eq!(send(s.addr, &plain).await.status, 200);
    // Bad configs are refused with a message that names the field, not the secret.
    let r = s
        .cmd(
            "webhook.put",
            "eventKey=webhook.bad&verify.scheme=standard&verify.secret=not-base64-zzz!",
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("whsec_") && !r.text().contains("zzz"),
        "{}",
        r.text()
    );
    s.stop().await;
}

/// README's rotation without repeating the scheme: `verify.secret`/`verify.previousSecret`
/// alone change the secrets and never turn verification off.
#[tokio::test]
async fn rotation_without_the_scheme_keeps_verification_on() {
    let s = TestServer::start().await;
    let settings = json!({"verify": {"scheme": "github", "secret": "old-secret-123"}});
    let token = webhook(&s, "webhook.rot2", settings).await;
    let signed = |secret: &str| {
        let sig = hex(&hmac256(secret.as_bytes(), &[b"x"]));
        post(
            RECEIVE,
            &format!("token: {token}\r\nX-Hub-Signature-256: sha256={sig}\r\n"),
            b"x",
        )
    };
    let unsigned = post(RECEIVE, &format!("token: {token}\r\n"), b"x");
    let put = |q: String| {
        let s = &s;
        async move { s.cmd("webhook.put", &q).await }
    };
    let r = put(format!(
        "uuid={token}&verify.secret=new-secret-456&verify.previousSecret=old-secret-123"
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["verify"]["scheme"], "github", "{}", r.text());
    for secret in ["new-secret-456", "old-secret-123"] {
        assert_eq!(send(s.addr, &signed(secret)).await.status, 200, "{secret}");
    }
    // Dropping the old secret, as README says: only it goes.
    let r = put(format!("uuid={token}&verify.previousSecret=")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["verify"]["scheme"], "github", "{}", r.text());
    assert_eq!(send(s.addr, &signed("new-secret-456")).await.status, 200);
    assert_eq!(send(s.addr, &signed("old-secret-123")).await.status, 401);
    assert_eq!(send(s.addr, &unsigned).await.status, 401);
    // A secret alone keeps the scheme too; other fields need it.
    let r = put(format!("uuid={token}&verify.secret=third-secret-789")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(send(s.addr, &signed("third-secret-789")).await.status, 200);
    assert_eq!(send(s.addr, &unsigned).await.status, 401);
    let r = put(format!("uuid={token}&verify.tolerance=10")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    // A webhook that does not verify cannot rotate.
    let plain = webhook(&s, "webhook.rot3", json!({})).await;
    let r = put(format!("uuid={plain}&verify.secret=abc-secret-000")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!r.text().contains("abc-secret"), "{}", r.text());
    s.stop().await;
}

/// A new scheme that cannot use the stored secret says the secret at fault is the kept one.
#[tokio::test]
async fn a_new_scheme_that_cannot_use_the_kept_secret_says_so() {
    let s = TestServer::start().await;
    let settings = json!({"verify": {"scheme": "github", "secret": "gh-secret-123"}});
    let token = webhook(&s, "webhook.switch", settings).await;
    let r = s
        .cmd(
            "webhook.put",
            &format!("uuid={token}&verify.scheme=standard"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("the stored one"), "{}", r.text());
    assert!(!r.text().contains("gh-secret"), "{}", r.text());
    s.stop().await;
}

/// A misspelt field is refused, not ignored: `verfy` would make a webhook that checks
/// nothing. A webhook as `webhook.get` lists it can still be sent back changed.
#[tokio::test]
async fn an_unknown_parameter_is_refused_and_a_listed_webhook_can_be_sent_back() {
    let s = TestServer::start().await;
    let put = |body: Value| {
        let s = &s;
        async move { cmd_json(s.addr, &s.key, "webhook.put", &body).await }
    };
    let verify = json!({"scheme": "github", "secret": "typo-secret-123"});
    let r = put(json!({"eventKey": "webhook.typo", "verfy": verify})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("verfy"), "{}", r.text());
    assert!(!r.text().contains("typo-secret"), "{}", r.text());
    let r = s
        .cmd("webhook.put", "eventKey=webhook.typo&payloadtype=json")
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s
        .cmd("webhook.put", "eventKey=webhook.typo&allowFrom.x=1")
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s.cmd("webhook.get", "").await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(0), "{}", r.text());

    // Verify and a meta handshake included: their secrets show as set, and are kept.
    let settings = json!({
        "verify": {"scheme": "github", "secret": "listed-secret-123"},
        "handshake": {"type": "meta", "verifyToken": "listed-token"}
    });
    let token = webhook(&s, "webhook.typo", settings).await;
    let listed = s.cmd("webhook.get", &format!("uuid={token}")).await.json();
    let mut changed = listed.clone();
    changed["eventKey"] = json!("webhook.typo.renamed");
    let r = put(changed).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["eventKey"], "webhook.typo.renamed", "{}", r.text());
    assert_eq!(r.json()["verify"], listed["verify"], "{}", r.text());
    assert_eq!(r.json()["handshake"], listed["handshake"], "{}", r.text());
    let sig = hex(&hmac256(b"listed-secret-123", &[b"x"]));
    let call = post(
        RECEIVE,
        &format!("token: {token}\r\nX-Hub-Signature-256: sha256={sig}\r\n"),
        b"x",
    );
    assert_eq!(
        send(s.addr, &call).await.status,
        200,
        "the kept secret no longer checks"
    );
    // Only the set markers, alone: nothing changes (never read as turning them off).
    let r = put(json!({"uuid": token, "verify": {"secretSet": true}, "handshake": {"verifyTokenSet": true}})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["verify"], listed["verify"], "{}", r.text());
    assert_eq!(r.json()["handshake"], listed["handshake"], "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn handshakes_are_answered_and_not_stored() {
    let s = TestServer::start().await;
    let slack = webhook(&s, "webhook.slack", json!({"handshake": "slack"})).await;
    let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            &format!("token: {slack}\r\nContent-Type: application/json\r\n"),
            body,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("content-type: text/plain")
    );

    let meta = webhook(
        &s,
        "webhook.meta",
        json!({"handshake": {"type": "meta", "verifyToken": "meta-token-789"}}),
    )
    .await;
    let w = s.cmd("webhook.get", &format!("uuid={meta}")).await.text();
    assert!(
        !w.contains("meta-token-789") && w.contains("verifyTokenSet"),
        "{w}"
    );
    let ask = |t: &str| {
        get(&format!(
            "{RECEIVE}?token={meta}&hub.mode=subscribe&hub.verify_token={t}&hub.challenge=1158201444"
        ))
    };
    let r = send(s.addr, &ask("meta-token-789")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "1158201444"));
    let r = send(s.addr, &ask("guess")).await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("meta-token-789"));

    let graph = webhook(&s, "webhook.graph", json!({"handshake": "graph"})).await;
    let r = send(
        s.addr,
        &post(
            &format!("{RECEIVE}?token={graph}&validationToken=Validation%3A%20abc"),
            "",
            b"",
        ),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "Validation: abc"));

    // Handshakes are not events: no pipeline runs on them. The refused one is recorded.
    assert!(s.events("status=accepted").await.is_empty());
    let rejected = reasons(&s, 1).await;
    assert_eq!(rejected, ["handshake: hub.verify_token did not match"]);
    // A delivery to a handshake webhook is stored as usual.
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            &format!("token: {slack}\r\n"),
            br#"{"type":"event_callback"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    s.stop().await;
}

/// Issue 10, finding 2: a call carrying the meta verify token without `hub.mode` is refused
/// like a wrong token, so that the token never lands in an event's query.
#[tokio::test]
async fn a_meta_verify_token_without_hub_mode_is_refused_not_stored() {
    let s = TestServer::start().await;
    let meta = webhook(
        &s,
        "webhook.meta",
        json!({"handshake": {"type": "meta", "verifyToken": "meta-token-789"}}),
    )
    .await;
    let r = send(
        s.addr,
        &get(&format!(
            "{RECEIVE}?token={meta}&hub.verify_token=meta-token-789&hub.challenge=2"
        )),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let rejected = reasons(&s, 1).await;
    assert_eq!(
        rejected,
        ["handshake: hub.verify_token sent without hub.mode=subscribe"]
    );
    // A delivery without the token is stored as usual.
    let r = send(s.addr, &get(&format!("{RECEIVE}?token={meta}&a=1"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = s.wait_for_events("status=accepted", 1).await;
    assert_eq!(stored.len(), 1);
    let all = s.cmd("event.list", "").await.text();
    assert!(!all.contains("meta-token-789"), "{all}");
    s.stop().await;
}

#[tokio::test]
async fn a_custom_response_carries_the_correlation_id_in_a_header() {
    let s = TestServer::start().await;
    let settings =
        json!({"response": {"status": 202, "contentType": "application/xml", "body": "<ok/>"}});
    let token = webhook(&s, "webhook.resp", settings).await;
    let r = send(
        s.addr,
        &post(RECEIVE, &format!("token: {token}\r\n"), b"hi"),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (202, "<ok/>"));
    let head = r.head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/xml"), "{head}");
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-correlation-id: "))
        .expect("X-Correlation-Id");
    assert_eq!(s.event(id).await["id"], id);
    for bad in [
        json!({"status": 302}),
        json!({"status": 200, "body": "x".repeat(20_000)}),
        json!({"status": 200, "contentType": "a\r\nb"}),
    ] {
        let body = json!({"eventKey": "webhook.bad", "response": bad});
        let r = cmd_json(s.addr, &s.key, "webhook.put", &body).await;
        assert_eq!(r.status, 400, "{}", r.text());
    }
    s.stop().await;
}

/// A server child at RUST_LOG=trace: its log, and every answer, never hold a secret.
#[tokio::test]
async fn secrets_never_appear_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = child::free_addr();
    let log = dir.path().join("trace.log");
    let mut server = std::process::Command::new(child::BIN)
        .args(["serve", "--listen", &addr.to_string()])
        .arg("--data")
        .arg(&data)
        .env("RUST_LOG", "trace")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let key = std::fs::read_to_string(data.join("admin.key")).unwrap();
    let secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==";
    let previous = "whsec_cHJldmlvdXMtc2VjcmV0LW5vdC1sZWFraW5n";
    let verify_token = "meta-verify-token-not-leaking";
    let mut answers = String::new();
    let body = json!({"eventKey": "webhook.trace",
        "verify": {"scheme": "standard", "secret": secret, "previousSecret": previous},
        "handshake": {"type": "meta", "verifyToken": verify_token}});
    let r = cmd_json(addr, &key, "webhook.put", &body).await;
    answers.push_str(&r.text());
    let token = uuid_of(&r.json());
    let ok = send(addr, &standard_call(&token, secret, "msg_t", now(), b"{}")).await;
    answers.push_str(&ok.text());
    let dup = send(addr, &standard_call(&token, secret, "msg_t", now(), b"{}")).await;
    answers.push_str(&dup.text());
    let bad = send(
        addr,
        &standard_call(&token, STANDARD_SECRET, "msg_u", now(), b"{}"),
    )
    .await;
    answers.push_str(&bad.text());
    let hs =
        format!("{RECEIVE}?token={token}&hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1");
    answers.push_str(&send(addr, &get(&hs)).await.text());
    // A bad edit's error.
    let bad_edit =
        json!({"uuid": token, "verify": {"scheme": "standard", "secret": "whsec_!!not-base64"}});
    answers.push_str(&cmd_json(addr, &key, "webhook.put", &bad_edit).await.text());
    for (name, query) in [
        ("webhook.get", String::new()),
        ("webhook.get", format!("uuid={token}")),
        ("event.list", String::new()),
        ("event.list", "status=rejected".to_string()),
        (
            "event.get",
            format!("id={}", ok.json()["correlationId"].as_str().unwrap()),
        ),
    ] {
        let req = format!(
            "GET /api/v3/command/{name}?{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        );
        answers.push_str(&send(addr, req.as_bytes()).await.text());
    }
    answers.push_str(&send(addr, &get("/metrics")).await.text());
    let pid = server.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    server.wait().unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("TRACE") || log.contains("trace"),
        "not a trace log"
    );
    assert!(answers.contains("signature verification failed") && answers.contains("secretSet"));
    for s in [secret, previous, verify_token, "!!not-base64"] {
        // The base64 inside a whsec_ secret, too.
        let core = s.trim_start_matches("whsec_");
        assert!(!log.contains(core), "{s} in the log");
        assert!(!answers.contains(core), "{s} in an answer");
    }
}

/// Where `.ci/run` installs the providers' libraries: a Python venv and node_modules.
fn providers() -> std::path::PathBuf {
    std::env::var_os("HOOKTAIL_PROVIDERS")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/providers")
        })
}

/// Runs a provider's signer over `body`; its output is header lines. `None` (with a note)
/// when the library is not installed here.
fn provider_headers(program: &str, args: &[&str], body: &[u8]) -> Option<String> {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(body).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        eprintln!(
            "SKIP {program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).replace('\n', "\r\n"))
}

/// Each scheme against a signature made by the provider's own library: standardwebhooks,
/// stripe and slack_sdk from PyPI, @octokit/webhooks-methods and @shopify/shopify-api from
/// npm (`.ci/run` installs them). Shopify's library signs with the helper its own tests use
/// and checks the call with its `webhooks.validate` first.
#[tokio::test]
async fn providers_own_libraries_sign_and_hooktail_verifies() {
    let dir = providers();
    let python = dir.join("bin/python");
    let modules = dir.join("node/node_modules");
    let script = |name: &str| format!("{}/tests/providers/{name}", env!("CARGO_MANIFEST_DIR"));
    let s = TestServer::start().await;
    let body = br#"{"id":"evt_lib","type":"test","text":"h\u00e9llo"}"#;
    let t = now().to_string();
    let cases: [(&str, &str); 5] = [
        ("standard", STANDARD_SECRET),
        ("stripe", "whsec_stripe_test_secret"),
        ("slack", "8f742231b10e8888abcd99yyyzzz85a5"),
        ("github", "It's a Secret to Everybody"),
        ("shopify", "shpss_hooktail_test_secret"),
    ];
    let mut ran = Vec::new();
    for (scheme, secret) in cases {
        let headers = match scheme {
            "github" | "shopify" => provider_headers(
                "node",
                &[
                    &script(&format!("sign-{scheme}.mjs")),
                    &modules.to_string_lossy(),
                    secret,
                ],
                body,
            ),
            _ => provider_headers(
                &python.to_string_lossy(),
                &[&script("sign.py"), scheme, secret, &t, "msg_lib"],
                body,
            ),
        };
        let Some(headers) = headers else {
            eprintln!(
                "SKIP {scheme}: its provider library is not installed under {} (.ci/run installs it)",
                dir.display()
            );
            continue;
        };
        let settings = json!({"verify": {"scheme": scheme, "secret": secret}});
        let token = webhook(&s, &format!("webhook.lib.{scheme}"), settings).await;
        let head = format!("token: {token}\r\n{headers}");
        let r = send(s.addr, &post(RECEIVE, &head, body)).await;
        assert_eq!(r.status, 200, "{scheme}: {} with {headers}", r.text());
        let mut changed = body.to_vec();
        changed[8] ^= 1;
        let r = send(s.addr, &post(RECEIVE, &head, &changed)).await;
        assert_eq!(r.status, 401, "{scheme}: a changed byte passed");
        ran.push(scheme);
    }
    eprintln!("provider libraries run: {ran:?}");
    s.stop().await;
}
