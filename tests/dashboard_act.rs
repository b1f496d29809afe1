//! Acting on an event from the dashboard (§8): the popups through the keymap (snapshots at
//! 80x24), and each action end to end through the `Local` backend of a real server: replay
//! (with its audit line), forward, the curl command run by `sh` against the server, the body
//! copied, and a multipart file saved.

mod common;
#[path = "common/tui.rs"]
mod fixtures;
#[path = "common/peers.rs"]
mod peers;

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};

use fixtures::{NOW, config, render, screen};
use hooktail::app::Running;
use hooktail::domain::time::now_ms;
use hooktail::domain::{Event, FileInfo, PayloadType, Record};
use hooktail::http::Limits;
use hooktail::service::Source;
use hooktail::tui::backend::{Backend, Local};
use hooktail::tui::driver::answer;
use hooktail::tui::key::{Code, Key};
use hooktail::tui::msg::{Effect, Msg};
use hooktail::tui::popups::Popup;
use hooktail::tui::state::Dashboard;
use uuid::Uuid;

fn key(app: &mut Dashboard, k: Key) -> Vec<Effect> {
    app.update(Msg::Key(k))
}

fn toast(app: &Dashboard) -> String {
    app.toast.clone().map(|(t, _)| t).unwrap_or_default()
}

/// A multipart event with two files, as the dashboard lists it.
fn multipart_event() -> Record {
    let (ct, body) = common::seed_multipart();
    let file = |name: &str, size| FileInfo {
        field: "file".into(),
        filename: name.into(),
        content_type: Some("application/pdf".into()),
        size,
    };
    Record::Accepted(Event {
        id: Uuid::from_u128(0x0193a7d0_5e2b_7c41_9a0e_4b1d2c3e4f01),
        event_key: "webhook.lead.created".into(),
        received_at: NOW - 1000,
        method: "POST".into(),
        path: "/api/v3/command/webhook.receive".into(),
        query: BTreeMap::new(),
        headers: BTreeMap::new(),
        remote_addr: "127.0.0.1:50432".into(),
        content_type: Some(ct),
        size: body.len() as u64,
        payload_type: PayloadType::Base64,
        files: vec![file("fileA.pdf", 13), file("fileB.pdf", 12)],
        form: BTreeMap::new(),
        body,
        verified: None,
    })
}

/// A dashboard listing one event, selected.
fn with_event(read_only: bool) -> Dashboard {
    let mut app = Dashboard::new(config(read_only, true), NOW);
    for e in app.init() {
        if let Effect::LoadPage {
            generation, kind, ..
        } = e
        {
            app.update(Msg::Page {
                generation,
                kind,
                records: vec![multipart_event()],
            });
        }
    }
    app.update(Msg::Pipelines(Ok(vec![])));
    app
}

fn snap(name: &str, app: &mut Dashboard) {
    let t = render(app, 80, 24);
    insta::assert_snapshot!(format!("{name}_80x24"), t.backend());
}

#[test]
fn r_asks_before_replaying() {
    let mut app = with_event(false);
    assert!(key(&mut app, Key::char('r')).is_empty());
    snap("replay_confirm", &mut app);
    // Cancel is focused: Enter replays nothing.
    assert!(key(&mut app, Key::new(Code::Enter)).is_empty());
    assert!(app.popup.is_none());
    key(&mut app, Key::char('r'));
    key(&mut app, Key::new(Code::Tab));
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Replay(id, hooktail::service::replay::Replay::Pipelines(None))] if id.as_u128() & 0xff == 1),
        "{fx:?}"
    );
}

#[test]
fn f_prompts_for_a_url_and_offers_the_last_one_again() {
    let mut app = with_event(false);
    key(&mut app, Key::char('F'));
    for c in "example.test".chars() {
        key(&mut app, Key::char(c));
    }
    // Not a URL: said inside the prompt, which stays.
    assert!(key(&mut app, Key::new(Code::Enter)).is_empty());
    snap("forward_prompt_error", &mut app);
    for _ in 0.."example.test".len() {
        key(&mut app, Key::new(Code::Backspace));
    }
    for c in "http://example.test/hook".chars() {
        key(&mut app, Key::char(c));
    }
    snap("forward_prompt", &mut app);
    let fx = key(&mut app, Key::new(Code::Enter));
    let [Effect::Replay(_, hooktail::service::replay::Replay::Forward(url))] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(url, "http://example.test/hook");
    assert!(app.popup.is_none());
    key(&mut app, Key::char('F'));
    let Some(Popup::Prompt(p)) = &app.popup else {
        panic!("no prompt")
    };
    assert_eq!(p.text(), "http://example.test/hook");
}

#[test]
fn s_offers_the_body_and_each_file() {
    let mut app = with_event(false);
    key(&mut app, Key::char('s'));
    snap("save_prompt", &mut app);
    key(&mut app, Key::new(Code::Tab));
    let Some(Popup::Prompt(p)) = &app.popup else {
        panic!("no prompt")
    };
    assert_eq!(p.text(), "fileA.pdf");
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Save { file: Some(0), path, overwrite: false, .. }] if path == "fileA.pdf"),
        "{fx:?}"
    );
    // The path exists: the prompt says so, and the next Enter overwrites.
    app.update(Msg::Saved(Err(hooktail::tui::msg::SaveFailure::Exists(
        "fileA.pdf".into(),
    ))));
    snap("save_prompt_exists", &mut app);
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Save {
                overwrite: true,
                ..
            }]
        ),
        "{fx:?}"
    );
    // Typing another path asks again.
    key(&mut app, Key::char('x'));
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Save {
                overwrite: false,
                ..
            }]
        ),
        "{fx:?}"
    );
}

#[test]
fn read_only_offers_no_replay_or_forward() {
    let mut app = with_event(true);
    assert!(key(&mut app, Key::char('r')).is_empty());
    assert!(key(&mut app, Key::char('F')).is_empty());
    assert!(app.popup.is_none());
    // Copying and saving change nothing on the server.
    assert!(matches!(
        key(&mut app, Key::char('c')).as_slice(),
        [Effect::Fetch(..)]
    ));
    key(&mut app, Key::char('s'));
    assert!(matches!(app.popup, Some(Popup::Prompt(_))));
}

// End to end, through the Local backend of a real server.

struct Live {
    running: Option<Running>,
    backend: Local,
    dir: tempfile::TempDir,
}

impl Live {
    async fn start() -> Live {
        let dir = tempfile::tempdir().unwrap();
        let opts = common::options(dir.path().join("data"));
        let running = Running::start(&opts, Limits::default()).await.unwrap();
        Live {
            backend: Local::new(running.ctx.clone()),
            running: Some(running),
            dir,
        }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    fn url(&self) -> String {
        format!("http://{}", self.running().addr)
    }

    async fn webhook(&self, event_key: &str) -> String {
        let params = [("eventKey".to_string(), event_key.to_string())].into();
        self.backend
            .put_webhook(params)
            .await
            .unwrap()
            .uuid
            .to_string()
    }

    /// A dashboard whose public URL is this server's, its start-up reads done.
    async fn dashboard(&self) -> Dashboard {
        let mut cfg = config(false, true);
        cfg.public_url = self.url();
        let mut app = Dashboard::new(cfg, now_ms());
        app.update(Msg::Resize(120, 40));
        let fx = app.init();
        self.settle(&mut app, fx).await;
        app
    }

    /// Performs effects and those their answers lead to; returns what was to be copied.
    async fn settle(&self, app: &mut Dashboard, fx: Vec<Effect>) -> Vec<String> {
        let mut copied = Vec::new();
        let mut queue = VecDeque::from(fx);
        while let Some(e) = queue.pop_front() {
            if let Effect::Copy(text) = &e {
                copied.push(text.clone());
            }
            if let Some(msg) = answer(&self.backend, e).await {
                queue.extend(app.update(msg));
            }
        }
        copied
    }

    async fn press(&self, app: &mut Dashboard, k: Key) -> Vec<String> {
        let fx = key(app, k);
        self.settle(app, fx).await
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// Posts `body` with the token header and returns the event id.
async fn call(
    addr: std::net::SocketAddr,
    token: &str,
    query: &str,
    ct: &str,
    body: &[u8],
) -> String {
    let r = common::send(
        addr,
        &common::post(
            &format!("{}{query}", common::RECEIVE),
            &format!("token: {token}\r\nContent-Type: {ct}\r\n"),
            body,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["correlationId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn c_copies_a_curl_command_that_sends_the_same_call() {
    let live = Live::start().await;
    let token = live.webhook("webhook.lead.created").await;
    let body = "{\"note\":\"it's $HOME `id` \\\\ \\\"q\\\" 100%\",\n \"city\":\"Köln\"}\n\n";
    let first = call(
        live.running().addr,
        &token,
        "?source=crm&a=b%20c",
        "application/json; charset=utf-8",
        body.as_bytes(),
    )
    .await;
    let mut app = live.dashboard().await;
    let copied = live.press(&mut app, Key::char('c')).await;
    let [cmd] = copied.as_slice() else {
        panic!("{copied:?} {}", toast(&app))
    };
    assert!(
        toast(&app).starts_with("Sent the curl command ("),
        "{}",
        toast(&app)
    );
    assert!(cmd.contains("\"token: $TOKEN\""), "{cmd}");
    assert!(!cmd.contains(&token), "{cmd}");
    // Quiet when piped: no progress meter, but errors still shown.
    assert!(cmd.contains("curl -sS "), "{cmd}");
    // Run by sh, with the token from the environment.
    let (script, tok) = (format!("{cmd} --max-time 20"), token.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .args(["-c", &script])
            .env("TOKEN", tok)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{:?}", out);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let second = answer["correlationId"].as_str().unwrap();
    let events = live.backend.event(Uuid::parse_str(second).unwrap()).await;
    let Ok(Some(Record::Accepted(again))) = events else {
        panic!("{events:?}")
    };
    let Ok(Some(Record::Accepted(original))) =
        live.backend.event(Uuid::parse_str(&first).unwrap()).await
    else {
        panic!("the first event")
    };
    assert_eq!(again.body, original.body, "the body, byte for byte");
    assert_eq!(again.method, original.method);
    assert_eq!(again.query, original.query);
    assert_eq!(again.content_type, original.content_type);
    live.stop().await;
}

#[tokio::test]
async fn y_copies_the_body_and_refuses_a_binary_one() {
    let live = Live::start().await;
    let token = live.webhook("webhook.lead.created").await;
    call(
        live.running().addr,
        &token,
        "",
        "text/plain",
        b"hello\nworld",
    )
    .await;
    let mut app = live.dashboard().await;
    let copied = live.press(&mut app, Key::char('Y')).await;
    assert_eq!(copied, ["hello\nworld"]);
    assert_eq!(
        toast(&app),
        "Sent the body (11 B) to the terminal clipboard (OSC 52)"
    );
    call(
        live.running().addr,
        &token,
        "",
        "application/octet-stream",
        b"\xff\x00",
    )
    .await;
    let fx = app.init();
    live.settle(&mut app, fx).await;
    assert!(live.press(&mut app, Key::char('Y')).await.is_empty());
    assert!(toast(&app).contains("binary"), "{}", toast(&app));
    assert!(live.press(&mut app, Key::char('c')).await.is_empty());
    assert!(toast(&app).contains("binary"), "{}", toast(&app));
    live.stop().await;
}

#[tokio::test]
async fn s_saves_a_file_of_a_multipart_call_and_asks_before_overwriting() {
    let live = Live::start().await;
    let token = live.webhook("webhook.lead.created").await;
    let (ct, body) = common::seed_multipart();
    call(live.running().addr, &token, "", &ct, &body).await;
    let mut app = live.dashboard().await;
    let path = live.dir.path().join("saved.pdf");
    let path_text = path.to_str().unwrap().to_string();
    live.press(&mut app, Key::char('s')).await;
    live.press(&mut app, Key::new(Code::Tab)).await;
    for _ in 0.."fileA.pdf".len() {
        live.press(&mut app, Key::new(Code::Backspace)).await;
    }
    for c in path_text.chars() {
        live.press(&mut app, Key::char(c)).await;
    }
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.4 A\x00\x01\x02");
    assert!(app.popup.is_none());
    assert_eq!(toast(&app), format!("Saved 13 B to {path_text}"));

    // Again onto the same path, the second file: asked first, then overwritten.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"mine")
        .unwrap();
    live.press(&mut app, Key::char('s')).await;
    live.press(&mut app, Key::new(Code::Tab)).await;
    live.press(&mut app, Key::new(Code::Tab)).await;
    for _ in 0.."fileB.pdf".len() {
        live.press(&mut app, Key::new(Code::Backspace)).await;
    }
    for c in path_text.chars() {
        live.press(&mut app, Key::char(c)).await;
    }
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert!(screen(&mut app, 120, 40).contains("exists: Enter overwrites it"));
    assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.4 A\x00\x01\x02mine");
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.4 BB\xff");

    // A path that cannot be written: the error shows in the prompt.
    live.press(&mut app, Key::char('s')).await;
    for c in "/nonexistent-dir/x".chars() {
        live.press(&mut app, Key::char(c)).await;
    }
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert!(
        screen(&mut app, 120, 40).contains("cannot write"),
        "{}",
        screen(&mut app, 120, 40)
    );
    live.stop().await;
}

/// Collects what tracing writes, for the audit lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn r_and_f_from_the_dashboard_replay_and_forward_with_audit_lines() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let target = peers::http_server().await;
    let live = Live::start().await;
    let token = live.webhook("webhook.order.paid").await;
    let yaml = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.order.*\n  - http.post:\n      url: {}\n",
        target.url("/run")
    );
    live.running()
        .ctx
        .put_pipeline("orders", yaml, true, Source::Dashboard)
        .await
        .unwrap();
    let id = call(
        live.running().addr,
        &token,
        "",
        "application/json",
        b"{\"n\":1}",
    )
    .await;
    let id = Uuid::parse_str(&id).unwrap();
    let mut app = live.dashboard().await;
    live.press(&mut app, Key::char('r')).await;
    live.press(&mut app, Key::new(Code::Tab)).await;
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert_eq!(toast(&app), "Replayed: 1 run, 1 ok");
    let runs = live.backend.runs_of(id).await.unwrap();
    assert!(runs.iter().any(|r| r.pipeline == "orders"), "{runs:?}");

    live.press(&mut app, Key::char('F')).await;
    for c in target.url("/json").chars() {
        live.press(&mut app, Key::char(c)).await;
    }
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert_eq!(toast(&app), "Forwarded: HTTP 200, 17 B answered");
    assert_eq!(target.requests("/json")[0].body, "{\"n\":1}");

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let audit: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" audit: ") && l.contains("event.replay"))
        .collect();
    assert_eq!(audit.len(), 2, "{text}");
    for line in &audit {
        assert!(line.contains("source=\"dashboard\""), "{line}");
        assert!(line.contains(&id.to_string()), "{line}");
    }
    assert!(!text.contains(&token), "a token in the log:\n{text}");
    live.stop().await;
}
