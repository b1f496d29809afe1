//! End to end: the real binary in a pseudo-terminal, its screen read through a vt100 parser.
//! A webhook is created through the form, an HTTP call to it shows up on screen, the webhook
//! is deleted through the dialog, and `q` quits cleanly and restores the terminal.

#[path = "common/child.rs"]
mod child;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Screen(Arc<Mutex<vt100::Parser>>);

impl Screen {
    fn text(&self) -> String {
        self.0.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if text.contains(what) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{what:?} never appeared; the screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn dashboard_shows_calls_creates_webhooks_and_quits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = child::free_addr();
    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(child::BIN);
    cmd.args(["--listen", &addr.to_string()]);
    cmd.arg("--data");
    cmd.arg(&data);
    cmd.env("TERM", "xterm-256color");
    let mut proc = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(30).unwrap(),
        std::num::NonZeroU16::new(100).unwrap(),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let feed = parser.clone();
    let raw = Arc::new(Mutex::new(Vec::new()));
    let raw_feed = raw.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
            raw_feed.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    let screen = Screen(parser);
    screen.wait_for("LIVE");
    screen.wait_for("No webhooks yet");

    // Create a webhook through the form: n, type, Ctrl-s.
    keys.write_all(b"n").unwrap();
    screen.wait_for("New webhook");
    keys.write_all(b"e2e.hook").unwrap();
    screen.wait_for("webhook.e2e.hook");
    keys.write_all(b"\x13").unwrap();
    screen.wait_for("Saved webhook.e2e.hook");

    // Fire a webhook at it over HTTP; it appears in the stream.
    let (code, out, err) = child::command(&data, addr, &["webhook.get"]);
    assert_eq!(code, 0, "{err}");
    let hooks: serde_json::Value = serde_json::from_str(&out).unwrap();
    let token = hooks[0]["uuid"].as_str().unwrap().to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = "{\"hello\":\"pty\"}";
    write!(
        s,
        "POST /api/v3/webhook.receive HTTP/1.1\r\nHost: x\r\nConnection: close\r\ntoken: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let text = screen.wait_for("ok POST");
    assert!(text.contains("1 events") || text.contains("1 ev"), "{text}");

    // Open it in Detail (saving the webhook left the focus on Webhooks, with it selected).
    keys.write_all(b"2\r").unwrap();
    screen.wait_for("\"hello\": \"pty\"");

    // Delete the webhook: focus Webhooks, d, Tab to Delete, Enter.
    keys.write_all(b"1d").unwrap();
    screen.wait_for("Delete webhook");
    keys.write_all(b"\t\r").unwrap();
    screen.wait_for("Webhook deleted");

    // q quits: the process exits 0 and leaves the alternate screen.
    keys.write_all(b"q").unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = proc.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "hooktail did not quit on q");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    // The reader thread may still be draining the pty.
    let deadline = Instant::now() + Duration::from_secs(10);
    let raw = loop {
        let raw = String::from_utf8_lossy(&raw.lock().unwrap()).into_owned();
        if raw.contains("\x1b[?1049l") || Instant::now() > deadline {
            break raw;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(raw.contains("\x1b[?1049h"), "entered the alternate screen");
    assert!(raw.contains("\x1b[?1049l"), "left the alternate screen");
    // Logs went to the file, never to the terminal, and hold no full token.
    let log = std::fs::read_to_string(data.join("hooktail.log")).unwrap();
    assert!(log.contains("dashboard started"));
    // Changes made in the dashboard are logged as the API logs them.
    assert!(
        log.contains("webhook put") && log.contains("webhook.e2e.hook"),
        "{log}"
    );
    assert!(log.contains("webhook deleted"), "{log}");
    assert!(!log.contains(&token));
    assert!(!raw.contains("dashboard started"));
}
