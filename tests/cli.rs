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
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        // The store holds every token.
        assert_eq!(mode(&data.join("hooktail.redb")), 0o600);
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
        "HOOKTAIL_MAX_BODY_MEMORY",
        "HOOKTAIL_RETAIN_EVENTS",
    ] {
        assert!(help.contains(var), "{var} missing from --help");
    }
    assert!(help.contains("--read-only") && help.contains("--insecure"));
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

/// Runs `hooktail serve` on a free port and returns its exit code and stderr, or fails the
/// test when it is still serving after 20 s (as it did with an unsafe key).
fn serve_exit(data: &std::path::Path) -> (i32, String) {
    let log = data.with_extension("serve.log");
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--listen", &free_addr().to_string()])
        .arg("--data")
        .arg(data)
        .stdin(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (
                status.code().unwrap_or(-1),
                std::fs::read_to_string(&log).unwrap(),
            );
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hooktail serve started with an unsafe admin.key");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn an_unsafe_admin_key_is_refused_at_start_with_a_fix() {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let good = "0123456789abcdef0123456789abcdef";
    let cases: [(&str, Option<&str>, u32, &str); 5] = [
        ("empty", Some(""), 0o600, "is empty"),
        ("blank", Some(" \n"), 0o600, "is empty"),
        (
            "short",
            Some("0123456789abcdef0123456789abcde"),
            0o600,
            "at least 32",
        ),
        ("open", Some(good), 0o644, "chmod 600"),
        ("dir", None, 0o700, "not a regular file"),
    ];
    for (name, key, mode, says) in cases {
        let data = dir.path().join(name);
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = data.join("admin.key");
        match key {
            Some(k) => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&path)
                    .unwrap();
                std::io::Write::write_all(&mut f, k.as_bytes()).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            None => std::fs::create_dir(&path).unwrap(),
        }
        let (code, err) = serve_exit(&data);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(
            err.contains("admin.key") && err.contains(says),
            "{name}: {err}"
        );
    }
}

#[test]
fn the_admin_key_is_made_once_whole_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let key = server.key();
    assert_eq!(key.len(), 64, "{key:?}");
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    let names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");
    assert!(server.terminate().success());
    // A second start keeps it.
    let server = Serve::start(&data, free_addr());
    assert_eq!(server.key(), key);
}

#[test]
fn command_refuses_to_send_the_key_to_another_host_over_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // TEST-NET-3: never this host.
    let remote: std::net::SocketAddr = "203.0.113.9:8080".parse().unwrap();
    let (code, out, err) = command(&data, remote, &["webhook.get"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("--insecure") && err.contains("203.0.113.9"),
        "{err}"
    );
    // Allowed with --insecure: then it tries that address (what answers depends on the
    // network; nothing may, or a proxy may).
    let (_, _, err) = command(&data, remote, &["webhook.get", "--insecure"]);
    assert!(!err.contains("refusing"), "{err}");
    // Loopback needs no flag.
    let (code, _, err) = command(&data, free_addr(), &["webhook.get"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn command_event_listen_prints_1_mb_events_as_whole_json_lines() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let (_, out, _) = command(
        &data,
        server.addr,
        &[
            "webhook.put",
            "eventKey=webhook.big",
            "maxPayloadLength=2000000",
        ],
    );
    let token = json(&out)["uuid"].as_str().unwrap().to_string();
    let mut listen = std::process::Command::new(BIN)
        .args(["command", "event.listen"])
        .arg("--data")
        .arg(&data)
        .args(["--listen", &server.addr.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(listen.stdout.take().unwrap()).lines();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let post = |body: &[u8]| {
        let mut s = std::net::TcpStream::connect(server.addr).unwrap();
        write!(s, "POST /api/v3/webhook.receive HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {token}\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
        s.write_all(body).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    };
    // The subscription starts when the server answers; post small events until one shows.
    (0..50)
        .find_map(|_| {
            post(b"{}");
            rx.recv_timeout(std::time::Duration::from_millis(100)).ok()
        })
        .expect("event.listen printed nothing");
    let bodies: Vec<Vec<u8>> = (0..3u8)
        .map(|n| (0..1_000_000u32).map(|i| (i % 251) as u8 ^ n).collect())
        .collect();
    for body in &bodies {
        post(body);
    }
    use base64::Engine;
    for body in &bodies {
        // Skip the small events that were still on their way.
        let event = std::iter::from_fn(|| rx.recv_timeout(std::time::Duration::from_secs(20)).ok())
            .map(|line| json(&line))
            .find(|e| e["origin"] != "e30=")
            .expect("a 1 MB event never arrived");
        let origin = base64::engine::general_purpose::STANDARD
            .decode(event["origin"].as_str().unwrap())
            .unwrap();
        assert!(origin == *body, "an event arrived altered");
    }
    let _ = listen.kill();
    let _ = listen.wait();
}

/// `command --remote URL` works against that server (§1), with the key from
/// HOOKTAIL_ADMIN_KEY, and never falls back to a local store; the key goes only to
/// loopback or HTTPS.
#[test]
fn command_with_remote_works_against_that_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(&dir.path().join("served"), free_addr());
    let elsewhere = dir.path().join("elsewhere");
    let remote = |args: &[&str], url: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hooktail"))
            .arg("command")
            .args(args)
            .arg("--data")
            .arg(&elsewhere)
            // Nothing listens here: the old code fell back to a local store.
            .args(["--listen", &free_addr().to_string(), "--remote", url])
            .env("HOOKTAIL_ADMIN_KEY", server.key())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let url = format!("http://{}", server.addr);
    let (code, out, err) = remote(&["webhook.put", "eventKey=webhook.remote"], &url);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["eventKey"], "webhook.remote", "{out}");
    let (code, out, err) = remote(&["webhook.get"], &url);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out).as_array().unwrap().len(), 1, "{out}");
    assert!(
        !elsewhere.join("hooktail.redb").exists(),
        "a local store was made"
    );
    // Not to another host over plain HTTP.
    let (code, _, err) = remote(&["webhook.get"], "http://10.1.2.3:8080");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("10.1.2.3"), "{err}");
    // The server's errors come back as errors.
    let (code, _, err) = remote(&["webhook.delete"], &url);
    assert_eq!(code, 1, "{err}");
    server.terminate();
}

/// Runs `hooktail command` with `stdin` and no `--listen` or `HOOKTAIL_*` address, as a user
/// who types only `--data`.
fn command_unaddressed(
    data: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(BIN)
        .arg("command")
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("HOOKTAIL_LISTEN")
        .env_remove("HOOKTAIL_REMOTE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One HTTP/1.1 request over a fresh connection; the whole answer.
fn http(addr: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// Issue 10, finding 7: without `--listen`, `hooktail command` finds the server of its data
/// dir by the `serve.addr` it wrote, on a port that is not the default, as the dashboard does.
#[test]
fn command_without_listen_finds_the_server_by_serve_addr() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let (code, out, err) =
        command_unaddressed(&data, &["webhook.put", "eventKey=webhook.found"], "");
    assert_eq!(code, 0, "{err}");
    let uuid = json(&out)["uuid"].as_str().unwrap().to_string();
    // The server itself has it: the command went through it, not around it.
    let answer = http(
        server.addr,
        &format!(
            "GET /api/v3/webhook.receive?token={uuid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.terminate().success());
}

/// Issue 10, finding 8: `verify.secret=@-` reads the secret from stdin and
/// `handshake.verifyToken=@FILE` the token from a file (each without its trailing newline),
/// so that neither is on the command line; the server checks with what was read.
#[test]
fn secrets_are_read_from_stdin_and_files() {
    use hmac::Mac;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let token_file = dir.path().join("verify-token");
    std::fs::write(&token_file, "file-token-2\n").unwrap();
    let token_arg = format!("handshake.verifyToken=@{}", token_file.display());
    let (code, out, err) = command_unaddressed(
        &data,
        &[
            "webhook.put",
            "eventKey=webhook.piped",
            "verify.scheme=github",
            "verify.secret=@-",
            "handshake.type=meta",
            &token_arg,
        ],
        "stdin-secret-1\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("stdin-secret-1") && !out.contains("file-token-2"),
        "{out}"
    );
    let uuid = json(&out)["uuid"].as_str().unwrap().to_string();
    let body = r#"{"piped":true}"#;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"stdin-secret-1").unwrap();
    mac.update(body.as_bytes());
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let answer = http(
        server.addr,
        &format!(
            "POST /api/v3/command/webhook.receive HTTP/1.1\r\nHost: x\r\nToken: {uuid}\r\nX-Hub-Signature-256: sha256={sig}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = http(
        server.addr,
        &format!(
            "GET /api/v3/command/webhook.receive?token={uuid}&hub.mode=subscribe&hub.verify_token=file-token-2&hub.challenge=77 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("77"),
        "{answer}"
    );
    // stdin can be read once only.
    let (code, _, err) = command_unaddressed(
        &data,
        &[
            "webhook.put",
            &format!("uuid={uuid}"),
            "verify.secret=@-",
            "verify.previousSecret=@-",
        ],
        "a\nb\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only one parameter can read stdin"), "{err}");
    assert!(server.terminate().success());
}

/// SIGHUP (`systemctl reload`, a shared `ExecReload`) does not stop a plain-HTTP serve: there
/// is nothing to reload, and it goes on serving until SIGTERM.
#[test]
fn sighup_leaves_a_plain_http_serve_running() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, free_addr());
    let pid = server.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    // A command still answers after it: the server handled the signal and lives.
    let (code, out, err) = command(&data, server.addr, &["webhook.get"]);
    assert_eq!((code, out.trim()), (0, "[]"), "{err}");
    assert!(
        server.terminate().success(),
        "not a clean exit after SIGHUP"
    );
}

/// Without `--listen` and without a `serve.addr` (a copied data dir, say), `hooktail command`
/// runs on that data dir's store, never on a server that happens to listen at the default
/// address, even one that would take the same admin key: its answers are another store's.
#[test]
fn command_without_listen_or_serve_addr_runs_on_its_own_store() {
    let default: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
    drop(std::net::TcpListener::bind(default).expect("this test needs 127.0.0.1:8080 free"));
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let server = Serve::start(&live, default);
    let (code, _, err) = command(&live, default, &["webhook.put", "eventKey=webhook.live"]);
    assert_eq!(code, 0, "{err}");
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(live.join("admin.key"), copy.join("admin.key")).unwrap();
    let (code, out, err) = command_unaddressed(&copy, &["webhook.get"], "");
    assert_eq!((code, out.trim()), (0, "[]"), "{err}");
    assert!(server.terminate().success());
}

/// A copy of a running server's data dir, its `serve.addr` included (a backup made with
/// `cp -a`), is not the live dir: a command on the copy runs on the copy's store, never
/// through the server whose address the copied file names.
#[test]
fn a_copied_serve_addr_does_not_lead_to_the_live_server() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let server = Serve::start(&live, free_addr());
    let (code, _, err) = command(
        &live,
        server.addr,
        &["webhook.put", "eventKey=webhook.live"],
    );
    assert_eq!(code, 0, "{err}");
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for file in ["admin.key", "serve.addr"] {
        std::fs::copy(live.join(file), copy.join(file)).unwrap();
    }
    let (code, out, err) = command_unaddressed(&copy, &["webhook.get"], "");
    assert_eq!((code, out.trim()), (0, "[]"), "{err}");
    // The live dir still finds its server.
    let (code, out, err) = command_unaddressed(&live, &["webhook.get"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("webhook.live"), "{out}");
    assert!(server.terminate().success());
}

/// `event.listen` without a server for its data dir and without `--listen` says where it
/// looked, not the default address it never tried.
#[test]
fn listen_without_a_server_says_none_runs_on_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, err) = command_unaddressed(&data, &["event.listen"], "");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("none runs on") && err.contains("serve.addr") && !err.contains(":8080"),
        "{err}"
    );
}

/// A server whose stderr cannot be written (a full disk; here `/dev/full`) drops its log
/// lines and serves on: tracing reported the failed write with `eprintln!`, which panicked
/// when stderr failed too, and took the server down at its first log line.
#[test]
fn a_server_whose_stderr_is_full_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = free_addr();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(&data)
        .env("RUST_LOG", "debug")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(full)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() || !data.join("serve.addr").exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("hooktail serve exited: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "hooktail serve did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Logged calls (an admin command, a refused receive) are answered.
    let (code, out, err) = command(&data, addr, &["webhook.get"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = command(&data, addr, &["server.stats"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(child.try_wait().unwrap().is_none(), "the server died");
    let _ = child.kill();
    let _ = child.wait();
}

/// A port that another program holds: `serve` says so and how to listen elsewhere.
#[test]
fn serve_on_a_busy_port_suggests_another() {
    let dir = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(dir.path().join("data"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot listen on {addr}"))
            && err.contains("--listen 127.0.0.1:PORT"),
        "{err}"
    );
}
