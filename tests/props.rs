//! Property tests on the receive path, against a real server: random bodies, multipart
//! documents, header and query values and content types. Never a panic, never a 5xx for a
//! client's mistake, and whenever the answer is 200 the stored `origin` is exactly the body.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// A content type, sometimes well-formed, sometimes not.
fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_string())),
        Just(Some("application/x-www-form-urlencoded".to_string())),
        Just(Some("text/plain; charset=utf-8".to_string())),
        Just(Some("multipart/form-data".to_string())),
        Just(Some("multipart/form-data; boundary=".to_string())),
        "[ -~]{0,60}".prop_map(Some),
        "multipart/form-data; boundary=[ -~]{0,80}".prop_map(Some),
    ]
}

/// One part of a multipart document, with the ways parts go wrong.
fn part() -> impl Strategy<Value = Vec<u8>> {
    (
        "[a-z\"\\\\; =]{0,12}",
        proptest::option::of("[ -~]{0,20}"),
        proptest::collection::vec("[!-~]{1,12}: [ -~]{0,30}", 0..3),
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
    )
        .prop_map(|(name, filename, headers, content, terminated)| {
            let mut p = format!("Content-Disposition: form-data; name=\"{name}\"").into_bytes();
            if let Some(f) = filename {
                p.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
            }
            for h in headers {
                p.extend_from_slice(b"\r\n");
                p.extend_from_slice(h.as_bytes());
            }
            if terminated {
                p.extend_from_slice(b"\r\n\r\n");
            }
            p.extend_from_slice(&content);
            p
        })
}

/// A multipart document: (content type, body).
fn multipart() -> impl Strategy<Value = (Option<String>, Vec<u8>)> {
    (
        "[A-Za-z0-9'()+_,./:=?-]{1,40}",
        any::<bool>(),
        proptest::collection::vec(part(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(boundary, quoted, parts, closed)| {
            let mut body = Vec::new();
            for p in parts {
                body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                body.extend_from_slice(&p);
                body.extend_from_slice(b"\r\n");
            }
            if closed {
                body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            }
            let ct = if quoted {
                format!("multipart/form-data; boundary=\"{boundary}\"")
            } else {
                format!("multipart/form-data; boundary={boundary}")
            };
            (Some(ct), body)
        })
}

/// Random bytes, percent-encoded, plus raw characters that may form broken escapes.
fn query() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(any::<u8>(), 0..24),
        "[a-zA-Z0-9%&=+._~-]{0,30}",
    )
        .prop_map(|(bytes, raw)| {
            let enc: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
            format!("q={enc}&{raw}")
        })
}

fn case() -> impl Strategy<Value = (Option<String>, Vec<u8>, String, String)> {
    let body = prop_oneof![
        (
            content_type(),
            proptest::collection::vec(any::<u8>(), 0..2048)
        ),
        multipart(),
    ];
    (body, "[ -~]{0,64}", query()).prop_map(|((ct, body), header, query)| (ct, body, header, query))
}

#[test]
fn the_receive_path_holds_its_properties() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let token = rt.block_on(s.put("webhook.prop"))["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let accepted = std::cell::Cell::new(0);
    let refused = std::cell::Cell::new(0);
    runner
        .run(&case(), |(ct, body, header, query)| {
            let mut headers = format!("token: {token}\r\nX-Prop: {header}\r\n");
            if let Some(ct) = &ct {
                headers.push_str(&format!("Content-Type: {ct}\r\n"));
            }
            let r = rt.block_on(send(
                s.addr,
                &post(&format!("{RECEIVE}?{query}"), &headers, &body),
            ));
            prop_assert!(
                r.status < 500,
                "{} for a client's request: {}",
                r.status,
                r.text()
            );
            if r.status == 200 {
                accepted.set(accepted.get() + 1);
                let id = r.json()["correlationId"].as_str().unwrap().to_string();
                let e = rt.block_on(s.event(&id));
                let origin = b64(e["origin"].as_str().unwrap_or(""));
                prop_assert_eq!(origin, body, "origin is not the exact body");
                prop_assert!(
                    !e.to_string().contains(&token),
                    "the token leaked into the event"
                );
            } else {
                refused.set(refused.get() + 1);
                let v = r.json();
                prop_assert_eq!(v["status"].as_str(), Some("error"));
            }
            Ok::<(), TestCaseError>(())
        })
        .unwrap();
    // Both branches ran: the generators reach the accepting and the refusing paths.
    let (accepted, refused) = (accepted.get(), refused.get());
    eprintln!("accepted {accepted}, refused {refused}");
    assert!(
        accepted > 50 && refused > 10,
        "accepted {accepted}, refused {refused}"
    );
    rt.block_on(s.stop());
}
