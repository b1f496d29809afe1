//! Issue 11's HTTP papercuts (M, N): JSON answers end with a newline, and a pasted
//! placeholder in a command's query gets the API's JSON error, not an empty 400.

mod common;

use common::*;

#[tokio::test]
async fn json_answers_end_with_a_newline() {
    let server = TestServer::start().await;
    let ok = server.cmd("webhook.get", "").await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.ends_with(b"]\n"), "{:?}", ok.text());
    let err = server.cmd("event.get", "id=nope").await;
    assert_eq!(err.status, 400);
    assert!(err.body.ends_with(b"}\n"), "{:?}", err.text());
    server.stop().await;
}

#[tokio::test]
async fn a_pasted_placeholder_gets_the_json_error() {
    let server = TestServer::start().await;
    let req = format!(
        "GET /api/v3/command/event.get?id=<correlationId> HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.key
    );
    let r = send(server.addr, req.as_bytes()).await;
    assert_eq!(r.status, 400, "{}", r.head);
    assert_eq!(r.json()["status"], "error");
    assert!(r.text().contains("<correlationId>"), "{}", r.text());
    // A body that holds the same bytes is stored exactly as sent.
    let hook = server.put("webhook.quotes").await;
    let body = br#"{"q":"<a> \"b\""}"#;
    let r = send(
        server.addr,
        &post(
            RECEIVE,
            &format!(
                "token: {}\r\nContent-Type: application/json\r\n",
                uuid_of(&hook)
            ),
            body,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["correlationId"].as_str().unwrap().to_string();
    let e = server.event(&id).await;
    assert_eq!(b64(e["origin"].as_str().unwrap()), body);
    server.stop().await;
}

#[test]
fn command_help_lists_only_the_options_that_apply() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hooktail"))
        .args(["command", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for shown in ["--data", "--listen", "--insecure", "--public-url"] {
        assert!(help.contains(shown), "{shown} missing:\n{help}");
    }
    for hidden in [
        "--smtp-url",
        "--allow-exec",
        "--forward-to",
        "--max-body-memory",
        "--read-only",
    ] {
        assert!(!help.contains(hidden), "{hidden} listed:\n{help}");
    }
    // The server's own help still lists them.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hooktail"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--smtp-url"));
}
