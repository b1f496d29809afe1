//! The HTTP API against a real server on 127.0.0.1:0 over a real redb file.

mod common;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn put_creates_and_put_with_uuid_edits_keeping_the_uuid() {
    let s = TestServer::start().await;
    let w = s.put("webhook.lead.created").await;
    let uuid = uuid_of(&w);
    assert_eq!(w["payloadType"], "base64");
    assert_eq!(w["maxPayloadLength"], 512000);
    assert_eq!(
        w["webhookUrl"],
        format!(
            "http://{}/api/v3/command/webhook.receive?token={uuid}",
            s.addr
        )
    );
    let r = s
        .cmd(
            "webhook.put",
            &format!("uuid={uuid}&eventKey=webhook.lead.updated&payloadType=raw"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let edited = r.json();
    assert_eq!(uuid_of(&edited), uuid);
    assert_eq!(edited["eventKey"], "webhook.lead.updated");
    assert_eq!(edited["payloadType"], "raw");
    assert_eq!(edited["createdAt"], w["createdAt"]);
    // The old key is free again, the new one is taken.
    s.put("webhook.lead.created").await;
    let r = s.cmd("webhook.put", "eventKey=webhook.lead.updated").await;
    assert_eq!(r.status, 409);
    // It names the webhook that has the key by its first 8 characters, never the whole token.
    let prefix = &uuid.to_string()[..8];
    assert!(r.text().contains(&format!("({prefix}…)")), "{}", r.text());
    assert!(!r.text().contains(&uuid.to_string()), "{}", r.text());
    // A well-formed unknown uuid creates under that uuid.
    let given = "a29a4f16-989d-48c8-ab54-7b6150733ba1";
    let r = s
        .cmd(
            "webhook.put",
            &format!("uuid={given}&eventKey=webhook.given"),
        )
        .await;
    assert_eq!(uuid_of(&r.json()), given);
    s.stop().await;
}

#[tokio::test]
async fn a_guessable_uuid_cannot_become_a_token() {
    let s = TestServer::start().await;
    for guessable in [
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "0193a7d0-5e2b-7c41-9a0e-4b1d2c3e4f50",
    ] {
        let r = s
            .cmd(
                "webhook.put",
                &format!("uuid={guessable}&eventKey=webhook.guess"),
            )
            .await;
        assert_eq!(r.status, 400, "{guessable}: {}", r.text());
        assert!(r.text().contains("version 4"), "{}", r.text());
        let r = send(s.addr, &get(&format!("{RECEIVE}?token={guessable}"))).await;
        assert_eq!(r.status, 404);
    }
    s.stop().await;
}

#[tokio::test]
async fn get_lists_all_sorted_or_one() {
    let s = TestServer::start().await;
    let b = s.put("webhook.b").await;
    s.put("webhook.a").await;
    let all = s.cmd("webhook.get", "").await.json();
    let keys: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["eventKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["webhook.a", "webhook.b"]);
    let one = s.cmd("webhook.get", &format!("uuid={}", uuid_of(&b))).await;
    assert_eq!(one.json()["eventKey"], "webhook.b");
    let none = s
        .cmd("webhook.get", "uuid=a29a4f16-989d-48c8-ab54-7b6150733ba1")
        .await;
    assert_eq!(none.status, 404);
    assert_eq!(none.json()["status"], "error");
    s.stop().await;
}

#[tokio::test]
async fn delete_then_receive_answers_404() {
    let s = TestServer::start().await;
    let uuid = uuid_of(&s.put("webhook.gone").await);
    assert_eq!(s.cmd("webhook.delete", "").await.status, 400);
    let r = s
        .cmd("webhook.delete", &format!("uuid={uuid}"))
        .await
        .json();
    assert_eq!(r["deleted"], true);
    let again = s
        .cmd("webhook.delete", &format!("uuid={uuid}"))
        .await
        .json();
    assert_eq!(again["deleted"], false);
    let r = send(s.addr, &get(&format!("{RECEIVE}?token={uuid}"))).await;
    assert_eq!(r.status, 404);
    // The key can be reused.
    s.put("webhook.gone").await;
    s.stop().await;
}

#[tokio::test]
async fn refuses_bad_event_keys_duplicates_and_missing_admin_key() {
    let s = TestServer::start().await;
    s.put("webhook.dup").await;
    assert_eq!(
        s.cmd("webhook.put", "eventKey=webhook.dup").await.status,
        409
    );
    for bad in ["Webhook.A", "webhook..a", "webhook.a%20b", ""] {
        let r = s.cmd("webhook.put", &format!("eventKey={bad}")).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text());
        assert_eq!(r.json()["status"], "error");
    }
    assert_eq!(
        s.cmd(
            "webhook.put",
            "eventKey=webhook.x&maxPayloadLength=999999999"
        )
        .await
        .status,
        400
    );
    let no_key = send(s.addr, &get("/api/v3/command/webhook.get")).await;
    assert_eq!(no_key.status, 401);
    let wrong = send(
        s.addr,
        b"GET /api/v3/command/webhook.get HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["status"], "error");
    // Each says what is wrong: no key, or a key that is not this server's.
    assert!(no_key.text().contains("need"), "{}", no_key.text());
    assert!(wrong.text().contains("does not match"), "{}", wrong.text());
    assert!(!wrong.text().contains("nope"), "{}", wrong.text());
    s.stop().await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_a_401_carries_a_challenge() {
    let s = TestServer::start().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let req = format!(
            "GET /api/v3/command/webhook.get HTTP/1.1\r\nHost: x\r\nAuthorization: {scheme} {}\r\nConnection: close\r\n\r\n",
            s.key
        );
        assert_eq!(send(s.addr, req.as_bytes()).await.status, 200, "{scheme}");
    }
    for auth in [
        "",
        "Authorization: Bearer \r\n",
        "Authorization: Bearer nope\r\n",
    ] {
        let req = format!(
            "GET /api/v3/command/webhook.get HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        );
        let r = send(s.addr, req.as_bytes()).await;
        assert_eq!(r.status, 401, "{auth:?}");
        assert!(
            r.head
                .to_ascii_lowercase()
                .contains("\r\nwww-authenticate: bearer"),
            "{}",
            r.head
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn a_read_only_server_refuses_admin_writes_with_405() {
    let s = TestServer::start_with(|o| o.read_only = true, Default::default()).await;
    let r = s.cmd("webhook.put", "eventKey=webhook.ro").await;
    assert_eq!(r.status, 405, "{}", r.text());
    assert!(r.text().contains("read-only"), "{}", r.text());
    let r = s
        .cmd(
            "webhook.delete",
            "uuid=a29a4f16-989d-48c8-ab54-7b6150733ba1",
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(s.cmd("webhook.get", "").await.status, 200);
    assert_eq!(s.cmd("event.list", "").await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn commands_take_json_and_form_bodies() {
    let s = TestServer::start().await;
    let auth = format!("Authorization: Bearer {}\r\n", s.key);
    let r = send(
        s.addr,
        &post(
            "/api/v3/command/webhook.put",
            &format!("{auth}Content-Type: application/json\r\n"),
            br#"{"eventKey":"webhook.json","maxPayloadLength":100}"#,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["maxPayloadLength"], 100);
    let r = send(
        s.addr,
        &post(
            "/api/v3/command/webhook.put",
            &format!("{auth}Content-Type: application/x-www-form-urlencoded\r\n"),
            b"eventKey=webhook.form",
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        s.addr,
        &post(
            "/api/v3/command/webhook.put",
            &format!("{auth}Content-Type: text/csv\r\n"),
            b"a,b",
        ),
    )
    .await;
    assert_eq!(r.status, 415);
    s.stop().await;
}

/// Asserts the newest event came from `id`, holds exactly `body`, and leaks no token.
async fn check_event(s: &TestServer, id: &str, body: &[u8], token: &str) -> Value {
    let e = s.event(id).await;
    assert_eq!(e["status"], "accepted");
    assert_eq!(b64(e["origin"].as_str().unwrap()), body);
    assert!(
        !e.to_string().contains(token) || body.windows(token.len()).any(|w| w == token.as_bytes())
    );
    e
}

#[tokio::test]
async fn receive_by_get_with_token_query() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.lead.created").await);
    let r = send(s.addr, &get(&format!("{RECEIVE}?token={t}&source=crm"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["correlationId"].as_str().unwrap().to_string();
    let e = check_event(&s, &id, b"", &t).await;
    assert_eq!(e["query"], serde_json::json!({"source": "crm"}));
    assert_eq!(e["method"], "GET");
    assert_eq!(e["eventKey"], "webhook.lead.created");
    assert!(!e.to_string().contains(&t));
    s.stop().await;
}

#[tokio::test]
async fn receive_by_get_with_old_uuid_query_on_short_path() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.lead.created").await);
    let r = send(s.addr, &get(&format!("/api/v3/webhook.receive?uuid={t}"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = check_event(&s, r.json()["correlationId"].as_str().unwrap(), b"", &t).await;
    assert!(!e.to_string().contains(&t));
    assert_eq!(e["path"], "/api/v3/webhook.receive");
    s.stop().await;
}

#[tokio::test]
async fn receive_by_post_with_token_header() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.lead.created").await);
    let body = br#"{"lead":"ACME","score":90}"#;
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            &format!("token: {t}\r\nContent-Type: application/json\r\nCookie: a=b\r\nAuthorization: Basic eA==\r\n"),
            body,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = check_event(&s, r.json()["correlationId"].as_str().unwrap(), body, &t).await;
    assert!(!e.to_string().contains(&t));
    let headers = e["headers"].as_object().unwrap();
    for h in ["token", "cookie", "authorization"] {
        assert!(!headers.contains_key(h), "{h} was stored");
    }
    assert_eq!(e["contentType"], "application/json");
    assert_eq!(e["size"], body.len());
    s.stop().await;
}

#[tokio::test]
async fn receive_by_post_form_with_token_field() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.lead.created").await);
    let body = format!("note=hello+world&token={t}");
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            "Content-Type: application/x-www-form-urlencoded\r\n",
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = check_event(
        &s,
        r.json()["correlationId"].as_str().unwrap(),
        body.as_bytes(),
        &t,
    )
    .await;
    // The body is never rewritten, but the parsed form drops the token.
    assert_eq!(e["form"], serde_json::json!({"note": "hello world"}));
    s.stop().await;
}

#[tokio::test]
async fn receive_multipart_with_two_files_and_token_header() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.files").await);
    let (ct, body) = seed_multipart();
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            &format!("token: {t}\r\nContent-Type: {ct}\r\n"),
            &body,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = check_event(&s, r.json()["correlationId"].as_str().unwrap(), &body, &t).await;
    assert!(!e.to_string().contains(&t));
    let files = e["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["field"], "file");
    assert_eq!(files[0]["filename"], "fileA.pdf");
    assert_eq!(files[0]["size"], 13);
    assert_eq!(files[1]["filename"], "fileB.pdf");
    assert_eq!(files[1]["size"], 12);
    assert_eq!(files[1]["contentType"], "application/pdf");
    assert_eq!(e["form"], serde_json::json!({"note": "hello"}));
    s.stop().await;
}

#[tokio::test]
async fn multipart_with_token_field_in_body() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.files").await);
    let body =
        format!("--b\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n{t}\r\n--b--\r\n");
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            "Content-Type: multipart/form-data; boundary=b\r\n",
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = s.event(r.json()["correlationId"].as_str().unwrap()).await;
    assert_eq!(e["form"], serde_json::json!({}));
    s.stop().await;
}

#[tokio::test]
async fn payload_types_raw_and_ignore() {
    let s = TestServer::start().await;
    let raw = uuid_of(
        &s.cmd("webhook.put", "eventKey=webhook.raw&payloadType=raw")
            .await
            .json(),
    );
    let ignore = uuid_of(
        &s.cmd("webhook.put", "eventKey=webhook.ignore&payloadType=ignore")
            .await
            .json(),
    );
    let r = send(
        s.addr,
        &post(RECEIVE, &format!("token: {raw}\r\n"), br#"{"a":[1,2]}"#),
    )
    .await;
    let e = s.event(r.json()["correlationId"].as_str().unwrap()).await;
    assert_eq!(e["payload"], serde_json::json!({"a": [1, 2]}));
    assert!(e.get("origin").is_none());
    let r = send(
        s.addr,
        &post(RECEIVE, &format!("token: {ignore}\r\n"), b"secret stuff"),
    )
    .await;
    let e = s.event(r.json()["correlationId"].as_str().unwrap()).await;
    assert!(e.get("origin").is_none() && e.get("payload").is_none());
    assert_eq!(e["size"], 12);
    s.stop().await;
}

#[tokio::test]
async fn ignore_keeps_nothing_of_the_body() {
    let s = TestServer::start().await;
    let t = uuid_of(
        &s.cmd("webhook.put", "eventKey=webhook.ignore&payloadType=ignore")
            .await
            .json(),
    );
    let (ct, multipart) = seed_multipart();
    for (ct, body) in [
        (
            "application/x-www-form-urlencoded".to_string(),
            b"secret=hunter2&card=4111111111111111".to_vec(),
        ),
        (ct, multipart),
    ] {
        let r = send(
            s.addr,
            &post(
                RECEIVE,
                &format!("token: {t}\r\nContent-Type: {ct}\r\n"),
                &body,
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let e = s.event(r.json()["correlationId"].as_str().unwrap()).await;
        for kept in ["origin", "payload"] {
            assert!(e.get(kept).is_none(), "{kept}: {e}");
        }
        assert_eq!(e["form"], serde_json::json!({}), "{e}");
        assert_eq!(e["files"], serde_json::json!([]), "{e}");
        assert!(!e.to_string().contains("hunter2") && !e.to_string().contains("fileA"));
        assert_eq!(
            (&e["size"], &e["contentType"]),
            (&body.len().into(), &ct.into())
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn form_values_are_text_or_base64_and_bounded_per_event() {
    let s = TestServer::start_with(|o| o.max_payload = 2 << 20, Default::default()).await;
    let t = uuid_of(
        &s.cmd(
            "webhook.put",
            &format!("eventKey=webhook.form&maxPayloadLength={}", 2 << 20),
        )
        .await
        .json(),
    );
    let part = |name: &str, value: &[u8]| {
        let mut p =
            format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").into_bytes();
        p.extend_from_slice(value);
        p.extend_from_slice(b"\r\n");
        p
    };
    let mut body = part("note", "héllo".as_bytes());
    body.extend(part("bin", b"\x00\x01\xff"));
    // A control byte is valid UTF-8, but as JSON text it would take six bytes.
    body.extend(part("big", &vec![1u8; 1 << 20]));
    body.extend_from_slice(b"--b--\r\n");
    let header = format!("token: {t}\r\nContent-Type: multipart/form-data; boundary=b\r\n");
    for _ in 0..3 {
        let r = send(s.addr, &post(RECEIVE, &header, &body)).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = s.cmd("event.list", "limit=3").await;
    assert_eq!(r.status, 200);
    // Three events of 1 MiB bodies, listed in far less than one body's size.
    assert!(r.body.len() < 3 * 70 * 1024, "{} bytes", r.body.len());
    let e = &r.json()[0];
    assert_eq!(e["form"]["note"], "héllo");
    assert_eq!(e["form"]["bin"], serde_json::json!({"base64": "AAH/"}));
    assert_eq!(
        e["form"]["big"],
        serde_json::json!({"omitted": true, "size": 1 << 20})
    );
    // Every byte is still in origin.
    let full = s.event(e["id"].as_str().unwrap()).await;
    assert_eq!(b64(full["origin"].as_str().unwrap()), body);
    s.stop().await;
}

#[tokio::test]
async fn a_token_given_twice_in_one_place_is_400_and_case_variants_are_not_stored() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.twice").await);
    let other = uuid_of(&s.put("webhook.other").await);
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    let twice = [
        post(RECEIVE, &format!("token: {t}\r\ntoken: {other}\r\n"), b""),
        get(&format!("{RECEIVE}?token={t}&token={other}")),
        get(&format!("{RECEIVE}?uuid={t}&uuid={t}")),
        post(RECEIVE, form, format!("token={t}&token={other}").as_bytes()),
        post(
            RECEIVE,
            &format!("token: {t}\r\n{form}"),
            format!("token={t}&token={other}").as_bytes(),
        ),
    ];
    for req in twice {
        let r = send(s.addr, &req).await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&req));
        assert!(r.text().contains("ambiguous"), "{}", r.text());
    }
    let r = send(
        s.addr,
        &post(
            &format!("{RECEIVE}?token={t}&TOKEN={other}&Uuid={other}&x=1"),
            form,
            format!("Token={other}&note=hi").as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let e = s.event(r.json()["correlationId"].as_str().unwrap()).await;
    assert_eq!(e["eventKey"], "webhook.twice");
    assert_eq!(e["query"], serde_json::json!({"x": "1"}));
    assert_eq!(e["form"], serde_json::json!({"note": "hi"}));
    s.stop().await;
}

/// Asserts that exactly one record was stored since `before`, a rejection with this status.
async fn only_one_rejection(s: &TestServer, status: u16, reason_part: &str) {
    let all = s.wait_for_events("limit=1000", 1).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let r = &all[0];
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["httpStatus"], status);
    assert!(r["reason"].as_str().unwrap().contains(reason_part), "{r}");
    assert!(r.get("origin").is_none());
    let by_status = s.events("status=rejected").await;
    assert_eq!(by_status.len(), 1);
    assert!(s.events("status=accepted").await.is_empty());
}

#[tokio::test]
async fn missing_token_is_401_with_one_rejection() {
    let s = TestServer::start().await;
    let r = send(
        s.addr,
        &post(RECEIVE, "Content-Type: application/json\r\n", b"{}"),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["status"], "error");
    only_one_rejection(&s, 401, "no token").await;
    s.stop().await;
}

#[tokio::test]
async fn unknown_token_is_404_with_one_rejection() {
    let s = TestServer::start().await;
    let r = send(
        s.addr,
        &get(&format!(
            "{RECEIVE}?token=a29a4f16-989d-48c8-ab54-7b6150733ba1"
        )),
    )
    .await;
    assert_eq!(r.status, 404);
    only_one_rejection(&s, 404, "unknown token").await;
    let r = send(s.addr, &get(&format!("{RECEIVE}?token=not-a-uuid"))).await;
    assert_eq!(r.status, 404);
    s.stop().await;
}

#[tokio::test]
async fn oversized_body_with_content_length_is_413() {
    let s = TestServer::start().await;
    let t = uuid_of(
        &s.cmd("webhook.put", "eventKey=webhook.small&maxPayloadLength=10")
            .await
            .json(),
    );
    let r = send(
        s.addr,
        &post(RECEIVE, &format!("token: {t}\r\n"), &[b'x'; 11]),
    )
    .await;
    assert_eq!(r.status, 413);
    only_one_rejection(&s, 413, "exceeds").await;
    let all = s.events("").await;
    assert_eq!(all[0]["eventKey"], "webhook.small");
    s.stop().await;
}

#[tokio::test]
async fn oversized_chunked_body_is_413() {
    let s = TestServer::start().await;
    let t = uuid_of(
        &s.cmd("webhook.put", "eventKey=webhook.small&maxPayloadLength=10")
            .await
            .json(),
    );
    let req = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {t}\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nxxxxxx\r\n6\r\nxxxxxx\r\n0\r\n\r\n"
    );
    let r = send(s.addr, req.as_bytes()).await;
    assert_eq!(r.status, 413);
    only_one_rejection(&s, 413, "exceeds").await;
    // Within the limit, chunked is fine and kept exactly.
    let req = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {t}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    );
    let r = send(s.addr, req.as_bytes()).await;
    assert_eq!(r.status, 200);
    let e = s.event(r.json()["correlationId"].as_str().unwrap()).await;
    assert_eq!(b64(e["origin"].as_str().unwrap()), b"abcde");
    s.stop().await;
}

#[tokio::test]
async fn broken_multipart_is_400() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.files").await);
    let body =
        b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nno end";
    let r = send(
        s.addr,
        &post(
            RECEIVE,
            &format!("token: {t}\r\nContent-Type: multipart/form-data; boundary=b\r\n"),
            body,
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    only_one_rejection(&s, 400, "multipart").await;
    s.stop().await;
}

#[tokio::test]
async fn put_method_is_405() {
    let s = TestServer::start().await;
    let t = uuid_of(&s.put("webhook.a").await);
    let req = format!(
        "PUT {RECEIVE}?token={t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    let r = send(s.addr, req.as_bytes()).await;
    assert_eq!(r.status, 405);
    only_one_rejection(&s, 405, "PUT").await;
    s.stop().await;
}

#[tokio::test]
async fn event_list_pages_filters_and_get_404s() {
    let s = TestServer::start().await;
    let a = uuid_of(&s.put("webhook.lead.created").await);
    let b = uuid_of(&s.put("webhook.order.paid").await);
    let mut ids = Vec::new();
    for i in 0..5 {
        let t = if i % 2 == 0 { &a } else { &b };
        let r = send(
            s.addr,
            &post(
                RECEIVE,
                &format!("token: {t}\r\n"),
                format!("{i}").as_bytes(),
            ),
        )
        .await;
        ids.push(r.json()["correlationId"].as_str().unwrap().to_string());
    }
    let all = s.events("").await;
    let got: Vec<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(got, newest_first);
    assert!(all.iter().all(|e| e.get("origin").is_none()));
    let page = s.events(&format!("limit=2&before={}", ids[3])).await;
    let got: Vec<&str> = page.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(s.events("eventKey=webhook.lead.*").await.len(), 3);
    assert_eq!(s.events("eventKey=webhook.%23").await.len(), 5);
    assert_eq!(s.events("eventKey=*.order.paid").await.len(), 2);
    assert_eq!(s.cmd("event.list", "limit=1001").await.status, 400);
    assert_eq!(s.cmd("event.list", "status=maybe").await.status, 400);
    assert_eq!(
        s.cmd("event.get", "id=a29a4f16-989d-48c8-ab54-7b6150733ba1")
            .await
            .status,
        404
    );
    s.stop().await;
}

#[tokio::test]
async fn event_listen_streams_committed_events_matching_the_pattern() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start().await;
    let a = uuid_of(&s.put("webhook.lead.created").await);
    let b = uuid_of(&s.put("webhook.order.paid").await);
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "GET /api/v3/command/event.listen?eventKey=webhook.lead.%23 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        s.key
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    // Wait for the response head, so the subscription exists before events arrive.
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("text/event-stream"));
    send(
        s.addr,
        &post(RECEIVE, &format!("token: {b}\r\n"), b"skip me"),
    )
    .await;
    let r = send(
        s.addr,
        &post(RECEIVE, &format!("token: {a}\r\n"), b"{\"x\":1}"),
    )
    .await;
    let id = r.json()["correlationId"].as_str().unwrap().to_string();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(text.contains(&format!("id: {id}")), "{text}");
    assert!(text.contains("event: webhook.lead.created"));
    assert!(!text.contains("skip me") && !text.contains("webhook.order.paid"));
    drop(stream);
    s.stop().await;
}

#[tokio::test]
async fn healthz_and_metrics() {
    let s = TestServer::start().await;
    let r = send(s.addr, &get("/healthz")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // Whole answers carry their length rather than being chunked.
    assert!(
        r.head.to_ascii_lowercase().contains("content-length: 2"),
        "{}",
        r.head
    );
    send(s.addr, &get(&format!("{RECEIVE}?token=x"))).await;
    s.wait_for_events("", 1).await;
    let m = send(s.addr, &get("/metrics")).await.text();
    assert!(
        m.contains("hooktail_receive_requests_total{outcome=\"unknown_token\"} 1"),
        "{m}"
    );
    assert!(m.contains("hooktail_events_stored{status=\"rejected\"} 1"));
    assert!(m.contains("hooktail_commit_batch_size_count"));
    assert!(
        m.contains("hooktail_commit_seconds_count 1"),
        "one commit, the rejection: {m}"
    );
    assert!(m.contains("hooktail_receive_latency_seconds_bucket"));
    // The log's checkpoints: none yet, the rejection is in the log only.
    assert!(m.contains("hooktail_wal_checkpoints_total 0"), "{m}");
    assert!(m.contains("hooktail_wal_checkpoint_seconds_max 0"), "{m}");
    assert_eq!(send(s.addr, &get("/nope")).await.status, 404);
    s.stop().await;
}

#[tokio::test]
async fn h2c_prior_knowledge_is_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start().await;
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    // The HTTP/2 connection preface, then an empty SETTINGS frame.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut head = [0u8; 9];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(
        head[3], 0x4,
        "the server answers with an HTTP/2 SETTINGS frame"
    );
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut settings = vec![0u8; len];
    stream.read_exact(&mut settings).await.unwrap();
    // Each setting: a 16-bit id, a 32-bit value. 0x3 is SETTINGS_MAX_CONCURRENT_STREAMS.
    let streams = settings
        .chunks(6)
        .find_map(|c| (c[..2] == [0, 3]).then(|| u32::from_be_bytes([c[2], c[3], c[4], c[5]])));
    assert_eq!(streams, Some(32), "a small stream limit per connection");
    drop(stream);
    s.stop().await;
}

#[tokio::test]
async fn a_call_beyond_the_body_budget_gets_503_with_retry_after() {
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start_with(
        |o| {
            o.max_payload = 1000;
            o.max_body_memory = 1000;
        },
        Default::default(),
    )
    .await;
    let t = uuid_of(&s.put("webhook.budget").await);
    // A first call holds the whole budget while its body trickles in…
    let mut first = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {t}\r\nContent-Length: 1000\r\n\r\n"
    );
    first.write_all(head.as_bytes()).await.unwrap();
    first.write_all(&[b'a'; 10]).await.unwrap();
    // …so a second one cannot be taken now (until the first call's headers are read, the
    // second may still fit).
    let mut tries = 0..200;
    let r = loop {
        let r = send(
            s.addr,
            &post(RECEIVE, &format!("token: {t}\r\n"), &[b'b'; 10]),
        )
        .await;
        if r.status != 200 || tries.next().is_none() {
            break r;
        }
    };
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.head.to_ascii_lowercase().contains("retry-after: 1"),
        "{}",
        r.head
    );
    first.write_all(&[b'a'; 990]).await.unwrap();
    assert_eq!(read_response(&mut first).await.status, 200);
    // The budget is back.
    let r = send(
        s.addr,
        &post(RECEIVE, &format!("token: {t}\r\n"), &[b'c'; 10]),
    )
    .await;
    assert_eq!(r.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_past_the_request_deadline_is_408() {
    use tokio::io::AsyncWriteExt;
    let limits = hooktail::http::Limits {
        request_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let s = TestServer::start_with(|_| {}, limits).await;
    let t = uuid_of(&s.put("webhook.slow").await);
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {t}\r\nContent-Length: 100\r\n\r\nabc"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let r = read_response(&mut stream).await;
    assert_eq!(r.status, 408, "{}", r.text());
    only_one_rejection(&s, 408, "too long").await;
    s.stop().await;
}

/// An in-memory store whose syncs wait while `hold` is set: a commit that takes as long as a
/// test likes.
#[derive(Debug, Clone)]
struct SlowDisk {
    data: std::sync::Arc<redb::backends::InMemoryBackend>,
    hold: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl redb::StorageBackend for SlowDisk {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.data.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.data.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.data.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        let (held, released) = &*self.hold;
        let mut held = held.lock().unwrap();
        while *held {
            held = released.wait(held).unwrap();
        }
        self.data.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.data.write(offset, data)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_answered_without_waiting_for_a_disk_sync() {
    use hooktail::http::{Budget, Limits, State};
    use hooktail::store::{Store, Writer, WriterConfig};
    use std::sync::Arc;
    let disk = SlowDisk {
        data: Arc::new(redb::backends::InMemoryBackend::new()),
        hold: Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new())),
    };
    let hold = |on: bool| {
        *disk.hold.0.lock().unwrap() = on;
        disk.hold.1.notify_all();
    };
    let backend = disk.clone();
    let store = Store::open_backend(move || backend.clone()).unwrap();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit: false,
    };
    let (writer, _thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_down, shutdown) = tokio::sync::watch::channel(false);
    let state = Arc::new(State {
        ctx: hooktail::service::Service {
            store: store.clone(),
            writer,
            public_url: format!("http://{addr}"),
            max_payload: 1 << 20,
            pipelines: None,
        },
        metrics: Default::default(),
        admin_key: "k".repeat(32),
        limits: Limits::default(),
        read_only: false,
        budget: Budget::new(1 << 20),
        shutdown,
        tls: None,
        trusted_proxies: Vec::new(),
        body_answers: Default::default(),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hooktail::http::serve(listener, state, async {
        let _ = stopped.await;
    }));
    hold(true);
    let unknown = "a29a4f16-989d-48c8-ab54-7b6150733ba1";
    for _ in 0..3 {
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            send(addr, &get(&format!("{RECEIVE}?token={unknown}"))),
        )
        .await
        .expect("the refusal waited for a disk sync");
        assert_eq!(r.status, 404);
    }
    hold(false);
    // The records ride in the next commits.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.counts().unwrap().1 < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the rejections were never stored"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    server.await.unwrap();
}

/// Connections that only declare large anonymous bodies (the token would be in the form)
/// and send nothing hold no memory, so they cannot take the budget from callers.
#[tokio::test]
async fn idle_anonymous_uploads_do_not_take_the_body_budget() {
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start_with(
        |o| {
            o.max_payload = 1 << 20;
            o.max_body_memory = 4 << 20;
        },
        Default::default(),
    )
    .await;
    let t = uuid_of(&s.put("webhook.budget").await);
    let mut idle = Vec::new();
    for _ in 0..8 {
        let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "POST {RECEIVE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            1 << 20
        );
        c.write_all(head.as_bytes()).await.unwrap();
        idle.push(c);
    }
    // Give the server every chance to read those heads before the real call.
    for _ in 0..20 {
        let r = send(s.addr, &get("/healthz")).await;
        assert_eq!(r.status, 200);
    }
    let r = send(
        s.addr,
        &post(RECEIVE, &format!("token: {t}\r\n"), &[b'x'; 1000]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    drop(idle);
    s.stop().await;
}

/// A mistyped or empty uuid in `webhook.put` is told so, not that an eventKey or a
/// verification scheme is missing.
#[tokio::test]
async fn webhook_put_names_a_wrong_or_empty_uuid() {
    let s = TestServer::start().await;
    let unknown = "a29a4f16-989d-48c8-ab54-7b6150733ba1";
    for query in [
        format!("uuid={unknown}&payloadType=raw"),
        format!("uuid={unknown}&verify.secret=new-secret-123"),
    ] {
        let r = s.cmd("webhook.put", &query).await;
        assert_eq!(r.status, 400, "{query}: {}", r.text());
        assert!(
            r.text().contains("no webhook has this uuid"),
            "{}",
            r.text()
        );
        assert!(!r.text().contains("new-secret"), "{}", r.text());
    }
    let r = s.cmd("webhook.put", "uuid=&eventKey=webhook.empty").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("uuid is empty"), "{}", r.text());
    let r = s.cmd("webhook.get", "").await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(0), "{}", r.text());
    s.stop().await;
}
