//! The real binary: `hooktail command` with and without a server, usage errors, the terminal
//! check, and graceful SIGTERM.

#[path = "common/child.rs"]
mod child;

use child::*;
use serde_json::Value;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// put, get, edit and delete through `hooktail command`, wherever it runs them.
fn put_get_delete(data: &std::path::Path, listen: std::net::SocketAddr) -> String {
    let (code, out, err) = command(data, listen, &["webhook.put", "eventKey=webhook.cli.test"]);
    assert_eq!(code, 0, "{err}");
    let w = json(&out);
    let uuid = w["uuid"].as_str().unwrap().to_string();
    assert_eq!(w["eventKey"], "webhook.cli.test");
    let (code, out, _) = command(
        data,
        listen,
        &["webhook.put", &format!("uuid={uuid}"), "payloadType=raw"],
    );
    assert_eq!(code, 0);
    assert_eq!(json(&out)["uuid"], uuid.as_str());
    assert_eq!(json(&out)["payloadType"], "raw");
    let (code, out, _) = command(data, listen, &["webhook.get"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    let (code, out, _) = command(data, listen, &["webhook.get", &format!("uuid={uuid}")]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["eventKey"], "webhook.cli.test");
    let (code, out, _) = command(data, listen, &["webhook.delete", &format!("uuid={uuid}")]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["deleted"], true);
    let (code, out, _) = command(data, listen, &["webhook.get"]);
    assert_eq!(code, 0);
    assert!(json(&out).as_array().unwrap().is_empty());
    uuid
}

#[test]
fn command_without_a_server_opens_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    put_get_delete(&data, free_addr());
    assert!(data.join("hooktail.redb").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[test]
fn command_talks_to_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let (code, out, err) = command(
        &data,
        server.addr,
        &["webhook.put", "eventKey=webhook.live"],
    );
    assert_eq!(code, 0, "{err}");
    let uuid = json(&out)["uuid"].as_str().unwrap().to_string();
    // The server itself knows the webhook at once: it was created through it.
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "GET /api/v3/webhook.receive?token={uuid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let (code, out, _) = command(&data, server.addr, &["event.list"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    let (code, _, _) = command(
        &data,
        server.addr,
        &["webhook.delete", &format!("uuid={uuid}")],
    );
    assert_eq!(code, 0);
    put_get_delete(&data, server.addr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("admin.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let status = server.terminate();
    assert!(status.success(), "SIGTERM gives a clean exit: {status:?}");
}

#[test]
fn failed_and_misused_commands_exit_1_and_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = free_addr();
    let (code, out, err) = command(&data, addr, &["webhook.delete"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("uuid is required"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    let (code, _, err) = command(&data, addr, &["webhook.put", "eventKey"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = command(&data, addr, &["webhook.nope"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = command(&data, addr, &["webhook.put", "eventKey=Bad Key"]);
    assert_eq!(code, 1);
    assert!(err.contains("eventKey"), "{err}");
}

#[test]
fn a_locked_store_without_a_reachable_server_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _server = Serve::start(&data, free_addr());
    let (code, _, err) = command(&data, free_addr(), &["webhook.get"]);
    assert_eq!(code, 1);
    assert!(err.contains("in use by another hooktail process"), "{err}");
    assert!(err.contains("--listen"), "{err}");
}

#[test]
fn dashboard_without_a_terminal_points_to_serve() {
    let out = std::process::Command::new(BIN)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hooktail serve"));
}

#[test]
fn help_names_every_environment_variable() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "HOOKTAIL_DATA",
        "HOOKTAIL_LISTEN",
        "HOOKTAIL_PUBLIC_URL",
        "HOOKTAIL_MAX_PAYLOAD",
        "HOOKTAIL_RETAIN_EVENTS",
    ] {
        assert!(help.contains(var), "{var} missing from --help");
    }
    assert!(help.contains("--read-only"));
}

#[test]
fn sigterm_finishes_a_request_in_flight_and_commits_it() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let (code, out, _) = command(
        &data,
        server.addr,
        &["webhook.put", "eventKey=webhook.term"],
    );
    assert_eq!(code, 0);
    let token = json(&out)["uuid"].as_str().unwrap().to_string();
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    write!(
        s,
        "POST /api/v3/webhook.receive HTTP/1.1\r\nHost: x\r\ntoken: {token}\r\nContent-Length: 10\r\n\r\nhello"
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = server.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    // New connections are refused while the request in flight is finished.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(server.addr).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still accepting after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    s.write_all(b"world").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let (code, out, err) = command(&data, free_addr(), &["event.list"]);
    assert_eq!(code, 0, "{err}");
    let events = json(&out);
    assert_eq!(events.as_array().unwrap().len(), 1);
    assert_eq!(events[0]["size"], 10);
}

#[test]
fn a_bad_public_url_is_a_usage_error() {
    let out = std::process::Command::new(BIN)
        .args(["serve", "--public-url", "hooks.example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http:// or https://"));
}

#[test]
fn sigterm_does_not_wait_for_a_connection_that_sent_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("data"), free_addr());
    let _idle = std::net::TcpStream::connect(server.addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let start = std::time::Instant::now();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    // The header timeout is 10 s; shutting down must not sit it out.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn command_event_listen_prints_one_json_event_per_line() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let (_, out, _) = command(
        &data,
        server.addr,
        &["webhook.put", "eventKey=webhook.listen"],
    );
    let token = json(&out)["uuid"].as_str().unwrap().to_string();
    let mut listen = std::process::Command::new(BIN)
        .args(["command", "event.listen", "eventKey=webhook.#"])
        .arg("--data")
        .arg(&data)
        .args(["--listen", &server.addr.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(listen.stdout.take().unwrap()).lines();
    // The subscription starts when the server answers; send until a line comes back.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
    });
    let line = (0..50)
        .find_map(|_| {
            let mut s = std::net::TcpStream::connect(server.addr).unwrap();
            write!(s, "POST /api/v3/webhook.receive HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {token}\r\nContent-Length: 2\r\n\r\n{{}}").unwrap();
            s.read_to_end(&mut Vec::new()).unwrap();
            rx.recv_timeout(std::time::Duration::from_millis(100)).ok()
        })
        .expect("event.listen printed nothing");
    let event = json(&line);
    assert_eq!(event["eventKey"], "webhook.listen");
    assert_eq!(event["origin"], "e30=");
    let _ = listen.kill();
    let _ = listen.wait();
}
