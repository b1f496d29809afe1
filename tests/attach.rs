//! The dashboard attached to a running server (§8): the command API it pages with
//! (`event.list` both ways, `server.stats`), the `Remote` backend driven through the
//! dashboard's keymap, and a real `hooktail serve` killed and restarted under an attached
//! dashboard, which must list every event exactly once. Also the start-up wiring, in a pty.

#[path = "common/child.rs"]
mod child;
mod common;
#[path = "common/tui.rs"]
mod fixtures;

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{RECEIVE, TestServer, get, post, send};
use hooktail::domain::Record;
use hooktail::remote::Api;
use hooktail::tui::backend::{Backend, LiveFeed};
use hooktail::tui::driver::{answer, message};
use hooktail::tui::key::{Code, Key};
use hooktail::tui::msg::{Effect, Link, Msg};
use hooktail::tui::remote::{Remote, RemoteFeed};
use hooktail::tui::state::Dashboard;
use serde_json::Value;
use uuid::Uuid;

/// Posts a JSON body to a webhook and returns the event's id.
async fn fire(addr: SocketAddr, token: &str, body: &str) -> String {
    let headers = format!("token: {token}\r\nContent-Type: application/json\r\n");
    let r = send(addr, &post(RECEIVE, &headers, body.as_bytes())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["correlationId"].as_str().unwrap().to_string()
}

fn ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn event_list_pages_both_ways_and_filters_by_text() {
    let s = TestServer::start().await;
    let lead = s.put("webhook.lead.created").await;
    let order = s.put("webhook.order.paid").await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(
            fire(
                s.addr,
                common::uuid_of(&lead).as_str(),
                &format!("{{\"i\":{i}}}"),
            )
            .await,
        );
        sent.push(fire(s.addr, common::uuid_of(&order).as_str(), "{}").await);
    }
    // Oldest first, from the oldest or after an id.
    assert_eq!(ids(&s.events("oldest=true&limit=4").await), sent[..4]);
    assert_eq!(
        ids(&s.events(&format!("after={}&limit=10", sent[3])).await),
        sent[4..]
    );
    // Newest first before an id, as before.
    let before = ids(&s.events(&format!("before={}&limit=2", sent[3])).await);
    assert_eq!(before, [sent[2].clone(), sent[1].clone()]);
    // The dashboard's text filter, with a cursor.
    let leads = ids(&s.events(&format!("text=LEAD&after={}", sent[0])).await);
    assert_eq!(leads, [sent[2].clone(), sent[4].clone()]);
    for bad in [
        format!("before={}&after={}", sent[0], sent[1]),
        format!("oldest=true&after={}", sent[0]),
        "oldest=maybe".to_string(),
        "after=nope".to_string(),
        "withBody=maybe".to_string(),
    ] {
        let r = s.cmd("event.list", &bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert_eq!(r.json()["status"], "error");
    }
}

#[tokio::test]
async fn server_stats_counts_and_needs_the_key() {
    let s = TestServer::start().await;
    let w = s.put("webhook.a").await;
    fire(s.addr, &common::uuid_of(&w), "{}").await;
    let r = send(s.addr, &common::get("/api/v3/command/server.stats")).await;
    assert_eq!(r.status, 401);
    let stats = s.cmd("server.stats", "").await.json();
    assert_eq!(stats["accepted"], 1);
    assert_eq!(stats["rejected"], 0);
    assert_eq!(stats["webhooks"][common::uuid_of(&w)]["events"], 1);
    assert!(stats["webhooks"][common::uuid_of(&w)]["lastAt"].is_string());
    assert_eq!(stats["publicUrl"], format!("http://{}", s.addr));
    assert_eq!(stats["maxPayload"], 4_194_304);
}

#[test]
fn a_record_both_paged_and_live_is_listed_once() {
    let mut app = Dashboard::new(fixtures::config(false, false), fixtures::NOW);
    let generation = app
        .init()
        .into_iter()
        .find_map(|e| match e {
            Effect::LoadPage { generation, .. } => Some(generation),
            _ => None,
        })
        .unwrap();
    let record = Record::Rejected(hooktail::domain::Rejection {
        id: Uuid::now_v7(),
        reason: "unknown token".into(),
        http_status: 404,
        received_at: fixtures::NOW,
        method: "POST".into(),
        remote_addr: "127.0.0.1:1".into(),
        size: 0,
        event_key: None,
        duplicate: None,
    });
    app.update(Msg::Counts(0, 1));
    app.update(Msg::Page {
        generation,
        kind: hooktail::tui::list::PageKind::Newest,
        records: vec![record.clone()],
    });
    // The feed, started before the page was read, carries it too.
    app.update(Msg::Record(Arc::new(record.clone())));
    assert_eq!(listed(&app), [record.id()]);
    assert_eq!(app.counts, (0, 1));
}

/// The header's first row at a size.
fn header(app: &Dashboard, w: u16, h: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    t.draw(|f| hooktail::tui::view::draw(f, app)).unwrap();
    let buf = t.backend().buffer();
    (0..w).map(|x| buf[(x, 0)].symbol()).collect()
}

#[test]
fn the_header_says_attached_and_reconnecting_at_80x24() {
    let mut app = Dashboard::new(fixtures::config(false, false), fixtures::NOW);
    app.update(Msg::Resize(80, 24));
    assert!(!header(&app, 80, 24).contains("attached"));
    app.update(Msg::Link(Link::Attached));
    let top = header(&app, 120, 40);
    assert!(top.contains("attached to http://127.0.0.1:8080"), "{top}");
    assert!(!top.contains("reconnecting"), "{top}");
    // At 80 columns the scheme gives way, and the rate still shows.
    let top = header(&app, 80, 24);
    assert!(top.contains("attached to 127.0.0.1:8080"), "{top}");
    assert!(top.trim_end().ends_with("/s"), "{top}");
    app.update(Msg::Link(Link::Reconnecting));
    for (w, h) in [(80, 24), (60, 16), (40, 12)] {
        app.update(Msg::Resize(w, h));
        let top = header(&app, w, h);
        assert!(top.contains("reconnecting…"), "{w}x{h}: {top}");
    }
    // Back: the webhooks and pipelines are read again; the counts are not, as the gap's
    // records counted themselves (see every_event_is_listed_once_across_a_server_restart).
    let fx = app.update(Msg::Link(Link::Attached));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LoadCounts)),
        "{fx:?}"
    );
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadWebhooks)),
        "{fx:?}"
    );
}

/// Performs effects through the backend, in order, feeding each answer to the core, until
/// none remain.
async fn settle(app: &mut Dashboard, backend: &Remote, fx: Vec<Effect>) {
    let mut queue: VecDeque<Effect> = fx.into();
    while let Some(effect) = queue.pop_front() {
        if let Some(msg) = answer(backend, effect).await {
            queue.extend(app.update(msg));
        }
    }
}

fn press(app: &mut Dashboard, key: Key) -> Vec<Effect> {
    app.update(Msg::Key(key))
}

fn typed(app: &mut Dashboard, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| press(app, Key::new(Code::Char(c))))
        .collect()
}

/// Feeds the live feed's messages to the core until `done` holds.
async fn pump(
    app: &mut Dashboard,
    backend: &Remote,
    feed: &mut RemoteFeed,
    what: &str,
    done: impl Fn(&Dashboard) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(app) {
        let left = deadline.saturating_duration_since(Instant::now());
        let live = tokio::time::timeout(left, feed.next())
            .await
            .unwrap_or_else(|_| panic!("waiting for {what}: {:?}", listed(app)))
            .expect("the feed ended");
        let fx = app.update(message(live));
        settle(app, backend, fx).await;
    }
}

/// The ids of the Events rows, oldest first.
fn listed(app: &Dashboard) -> Vec<Uuid> {
    app.panes
        .events
        .list
        .items()
        .iter()
        .map(|r| r.id())
        .collect()
}

async fn attached(url: &str, key: &str) -> (Dashboard, Remote, RemoteFeed) {
    let backend = Remote::new(Api::new(url, key.trim(), false).unwrap());
    let config = backend.config(false, false).await.unwrap();
    let mut app = Dashboard::new(config, hooktail::domain::time::now_ms());
    app.link = Link::Attached;
    let feed = backend.live();
    let fx = app.init();
    settle(&mut app, &backend, fx).await;
    (app, backend, feed)
}

#[tokio::test]
async fn attached_dashboard_lists_opens_writes_and_follows() {
    let s = TestServer::start().await;
    let w = s.put("webhook.lead.created").await;
    let token = common::uuid_of(&w);
    let first = fire(s.addr, &token, r#"{"lead":"ACME"}"#).await;
    let (mut app, backend, mut feed) = attached(&format!("http://{}", s.addr), &s.key).await;
    assert_eq!(app.config.public_url, format!("http://{}", s.addr));
    assert_eq!(listed(&app), [Uuid::parse_str(&first).unwrap()]);
    assert_eq!(app.counts, (1, 0));
    assert_eq!(app.panes.webhooks.count(), 1);
    // Pages carry no bodies: Enter fetches the body with event.get.
    let Record::Accepted(row) = app.panes.events.list.items()[0].as_ref() else {
        panic!("not an event")
    };
    assert!(row.body.is_empty());
    let fx = press(&mut app, Key::new(Code::Enter));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadRecord(_))),
        "{fx:?}"
    );
    settle(&mut app, &backend, fx).await;
    let shown = app
        .panes
        .detail
        .shown
        .as_ref()
        .expect("Detail shows the event");
    let Record::Accepted(opened) = &shown.record else {
        panic!("not an event")
    };
    assert_eq!(opened.body, br#"{"lead":"ACME"}"#);

    // Live: a call and a refusal arrive, in order, each once.
    let second = fire(s.addr, &token, "{}").await;
    let r = send(s.addr, &post(RECEIVE, "token: nope\r\n", b"")).await;
    assert_eq!(r.status, 404);
    pump(&mut app, &backend, &mut feed, "the live records", |a| {
        listed(a).len() == 3
    })
    .await;
    let rows = app.panes.events.list.items();
    assert_eq!(rows[1].id().to_string(), second);
    assert!(matches!(rows[2].as_ref(), Record::Rejected(_)));
    assert_eq!(app.counts, (2, 1));

    // A webhook made with the form is made on the server; a taken key shows in the form.
    let fx = press(&mut app, Key::new(Code::Char('n')));
    assert!(fx.is_empty());
    typed(&mut app, "attach.made");
    let fx = press(&mut app, Key::ctrl('s'));
    settle(&mut app, &backend, fx).await;
    let made = s.cmd("webhook.get", "").await.json();
    let made: Vec<&Value> = made
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["eventKey"] == "webhook.attach.made")
        .collect();
    assert_eq!(made.len(), 1);
    assert!(app.popup.is_none(), "the form closed on success");
    press(&mut app, Key::new(Code::Char('n')));
    typed(&mut app, "attach.made");
    let fx = press(&mut app, Key::ctrl('s'));
    settle(&mut app, &backend, fx).await;
    assert!(app.popup.is_some(), "a conflict keeps the form open");
    press(&mut app, Key::new(Code::Esc));

    // Deleting goes through webhook.delete.
    let uuid = Uuid::parse_str(made[0]["uuid"].as_str().unwrap()).unwrap();
    let fx = answer(&backend, Effect::Delete(uuid)).await.unwrap();
    assert!(matches!(fx, Msg::DeleteDone(Ok(true))), "{fx:?}");
    let r = s.cmd("webhook.get", &format!("uuid={uuid}")).await;
    assert_eq!(r.status, 404);
    // Unknown events read as gone, as in-process.
    assert!(backend.event(Uuid::now_v7()).await.unwrap().is_none());
}

#[tokio::test]
async fn pipelines_and_runs_go_through_the_commands() {
    let s = TestServer::start().await;
    let w = s.put("webhook.lead.created").await;
    let backend = Remote::new(Api::new(&format!("http://{}", s.addr), &s.key, false).unwrap());
    let yaml =
        "pipeline:\n  - event.listen:\n      eventKey: webhook.#\n  - log:\n      message: hi\n";
    let bad = backend
        .put_pipeline("leads".into(), "pipeline: [".into(), true)
        .await
        .unwrap_err();
    assert!(
        matches!(&bad, hooktail::service::ServiceError::BadRequest(m) if m.contains("invalid pipeline")),
        "{bad:?}"
    );
    let p = backend
        .put_pipeline("leads".into(), yaml.into(), true)
        .await
        .unwrap();
    assert_eq!(
        (p.record.name.as_str(), p.record.event_key.as_str()),
        ("leads", "webhook.#")
    );
    let id = Uuid::parse_str(&fire(s.addr, &common::uuid_of(&w), "{}").await).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let run = loop {
        let runs = backend.runs_of(id).await.unwrap();
        if let Some(r) = runs.into_iter().find(|r| r.finished_at.is_some()) {
            break r;
        }
        assert!(Instant::now() < deadline, "the pipeline never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((run.pipeline.as_str(), run.event_id), ("leads", id));
    assert_eq!(run.steps.len(), 1, "{run:?}");
    assert_eq!(run.steps[0].step, "log");
    let listed = backend.pipelines().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].record.stats.ok, 1);
    assert_eq!(
        listed[0].record.last_run.as_ref().map(|r| r.id),
        Some(run.id)
    );
    // Only a failed or dead run is retried: the server's refusal comes back as it is.
    assert!(backend.retry_run(run.id).await.is_err());
    assert!(backend.delete_pipeline("leads".into()).await.unwrap());
    assert!(!backend.delete_pipeline("leads".into()).await.unwrap());
}

#[tokio::test]
async fn a_wrong_key_or_address_fails_before_the_terminal() {
    let s = TestServer::start().await;
    let backend =
        Remote::new(Api::new(&format!("http://{}", s.addr), &"x".repeat(40), false).unwrap());
    let e = backend.config(false, false).await.unwrap_err().to_string();
    assert!(e.contains("refused the admin key"), "{e}");
    let down = child::free_addr();
    let backend = Remote::new(Api::new(&format!("http://{down}"), &s.key, false).unwrap());
    let e = backend.config(false, false).await.unwrap_err().to_string();
    assert!(e.contains("cannot reach"), "{e}");
}

#[tokio::test]
async fn every_event_is_listed_once_across_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = child::free_addr();
    let mut server = child::Serve::start(&data, addr);
    let url = addr_file(&data);
    assert_eq!(url.trim(), format!("http://{addr}"));
    let key = server.key();
    let (code, out, err) =
        child::command(&data, addr, &["webhook.put", "eventKey=webhook.restart"]);
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<Value>(&out).unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(fire(addr, &token, &format!("{{\"before\":{i}}}")).await);
    }
    let (mut app, backend, mut feed) = attached(url.trim(), &key).await;
    assert_eq!(listed(&app).len(), 3);
    for i in 0..2 {
        sent.push(fire(addr, &token, &format!("{{\"live\":{i}}}")).await);
    }
    pump(&mut app, &backend, &mut feed, "live events", |a| {
        listed(a).len() == 5
    })
    .await;

    server.kill9();
    pump(&mut app, &backend, &mut feed, "the header to say so", |a| {
        a.link == Link::Reconnecting
    })
    .await;
    let server = child::Serve::start(&data, addr);
    for i in 0..3 {
        sent.push(fire(addr, &token, &format!("{{\"after\":{i}}}")).await);
    }
    // Back: one more event is stored between the feed's read of the gap and the dashboard's
    // handling of the reconnect, as a fast server may do. The feed brings it next; counts
    // read on the reconnect would hold it too, and it would be counted twice (issue 11 E).
    loop {
        let live = tokio::time::timeout(Duration::from_secs(30), feed.next())
            .await
            .expect("waiting for the reconnect")
            .expect("the feed ended");
        let back = matches!(live, hooktail::tui::backend::Live::Reconnected);
        if back {
            sent.push(fire(addr, &token, "{\"racing\":true}").await);
        }
        let fx = app.update(message(live));
        settle(&mut app, &backend, fx).await;
        if back {
            break;
        }
    }
    // One more, as a barrier: anything listed twice would be listed by now.
    sent.push(fire(addr, &token, "{\"last\":true}").await);
    pump(&mut app, &backend, &mut feed, "the last event", |a| {
        listed(a).len() >= 10
    })
    .await;
    let want: Vec<Uuid> = sent.iter().map(|i| Uuid::parse_str(i).unwrap()).collect();
    assert_eq!(listed(&app), want, "every event once, in order");
    let unique: HashSet<Uuid> = listed(&app).into_iter().collect();
    assert_eq!(unique.len(), 10);
    assert_eq!(app.counts, (10, 0), "the header's count");

    // Quitting the dashboard leaves the server running; a clean stop removes serve.addr.
    drop(feed);
    drop(backend);
    let r = send(addr, &common::get("/healthz")).await;
    assert_eq!(r.status, 200);
    assert!(server.terminate().success());
    assert!(!data.join("serve.addr").exists());
}

/// The URL in the server's `serve.addr` (its first line; the data dir's path follows), once
/// written: the port takes connections a moment before.
fn addr_file(data: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(data.join("serve.addr")) {
            return text.lines().next().unwrap_or_default().to_string();
        }
        assert!(Instant::now() < deadline, "no serve.addr");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The vt100 screen of a pty.
struct Screen(Arc<Mutex<vt100::Parser>>);

impl Screen {
    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.0.lock().unwrap().screen().contents();
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
fn hooktail_on_a_held_data_dir_attaches_and_quits_leaving_the_server() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = child::free_addr();
    let server = child::Serve::start(&data, addr);
    addr_file(&data);
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(child::BIN);
    // Another --listen than the server's: the dashboard finds it through serve.addr.
    cmd.args(["--listen", "127.0.0.1:1"]);
    cmd.arg("--data");
    cmd.arg(&data);
    cmd.env("TERM", "xterm-256color");
    let mut proc = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(24).unwrap(),
        std::num::NonZeroU16::new(80).unwrap(),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let feed = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    let screen = Screen(parser);
    screen.wait_for(&format!("attached to {addr}"));
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
    let (code, _, err) = child::command(&data, addr, &["server.stats"]);
    assert_eq!(code, 0, "the server still answers: {err}");
    assert!(server.terminate().success());
}

/// HMAC-SHA256 of `body` under `secret`, in hex, as GitHub signs.
fn github_signature(secret: &[u8], body: &[u8]) -> String {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    m.update(body);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Issue 11 A and B: attached, a webhook with verify, a handshake, a response and allowFrom is
/// listed with them named, its verified events say so, an edit through the form keeps them
/// all, and a webhook made with the form verifies.
#[tokio::test]
async fn attached_webhooks_keep_their_sender_settings_through_the_form() {
    use hooktail::domain::verify::Scheme;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = child::free_addr();
    let server = child::Serve::start(&data, addr);
    let url = addr_file(&data);
    let (code, out, err) = child::command(
        &data,
        addr,
        &[
            "webhook.put",
            "eventKey=webhook.gh",
            "verify.scheme=github",
            "verify.secret=s3cret",
            "handshake=slack",
            "allowFrom=127.0.0.0/8",
            "response.status=202",
            "response.body=ok",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<Value>(&out).unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let body = br#"{"signed":true}"#;
    let headers = format!(
        "token: {token}\r\nContent-Type: application/json\r\nX-Hub-Signature-256: sha256={}\r\n",
        github_signature(b"s3cret", body)
    );
    let r = send(addr, &post(RECEIVE, &headers, body)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    // A delivery sent twice: the repeat is answered as the first and recorded as a duplicate.
    let delivered = format!("{headers}X-GitHub-Delivery: d-7\r\n");
    let first = send(addr, &post(RECEIVE, &delivered, body)).await;
    let again = send(addr, &post(RECEIVE, &delivered, body)).await;
    assert_eq!((first.status, again.status), (202, 202));
    let correlation = |r: &common::Response| {
        r.head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("x-correlation-id: ")
                    .map(str::to_string)
            })
            .expect("X-Correlation-Id")
    };
    let original = correlation(&first);
    assert_eq!(correlation(&again), original);

    let (mut app, backend, _feed) = attached(url.trim(), &server.key()).await;
    // Attached, the stream holds the duplicate naming its original, from event.list.
    let dup = app
        .panes
        .events
        .list
        .items()
        .iter()
        .find_map(|r| match r.as_ref() {
            Record::Rejected(x) => x.duplicate.clone(),
            _ => None,
        })
        .expect("the duplicate is listed attached");
    assert_eq!(
        (dup.duplicate_of.to_string(), dup.delivery_id.as_str()),
        (original, "d-7")
    );
    assert_eq!(
        app.panes.webhooks.count(),
        1,
        "the verifying webhook is listed"
    );
    let shown = app.panes.webhooks.visible()[0].webhook.clone();
    assert_eq!(shown.scheme, Some(Scheme::Github));
    assert_eq!(shown.handshake, Some("slack"));
    assert_eq!(shown.allow_from.len(), 1);
    assert_eq!(shown.response.as_ref().map(|r| r.status), Some(202));
    let Record::Accepted(event) = app.panes.events.list.items()[0].as_ref() else {
        panic!("not an event")
    };
    assert_eq!(
        event.verified.as_ref().map(|v| v.scheme),
        Some(Scheme::Github),
        "the stream can say verified"
    );

    // An edit through the form keeps what it does not show.
    press(&mut app, Key::new(Code::Char('1')));
    press(&mut app, Key::new(Code::Char('e')));
    typed(&mut app, "-v2");
    let fx = press(&mut app, Key::ctrl('s'));
    settle(&mut app, &backend, fx).await;
    assert!(app.popup.is_none(), "the form closed on success");
    let (code, out, err) = child::command(&data, addr, &["webhook.get", &format!("uuid={token}")]);
    assert_eq!(code, 0, "{err}");
    let got: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["eventKey"], "webhook.gh-v2");
    assert_eq!(got["verify"]["scheme"], "github", "{got}");
    assert_eq!(got["verify"]["secretSet"], true, "{got}");
    assert_eq!(got["handshake"]["type"], "slack", "{got}");
    assert_eq!(
        got["allowFrom"],
        serde_json::json!(["127.0.0.0/8"]),
        "{got}"
    );
    assert_eq!(got["response"]["status"], 202, "{got}");

    // A new one with a scheme and a secret typed in the form verifies on the server.
    press(&mut app, Key::new(Code::Char('n')));
    typed(&mut app, "made");
    // eventKey → payloadType → maxPayloadLength → allowFrom → verify
    for _ in 0..4 {
        press(&mut app, Key::new(Code::Tab));
    }
    press(&mut app, Key::new(Code::Right));
    press(&mut app, Key::new(Code::Tab));
    typed(&mut app, "form-secret");
    let fx = press(&mut app, Key::ctrl('s'));
    settle(&mut app, &backend, fx).await;
    assert!(app.popup.is_none(), "the form closed on success");
    let (_, out, _) = child::command(&data, addr, &["webhook.get"]);
    let all: Value = serde_json::from_str(&out).unwrap();
    let made = all
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["eventKey"] == "webhook.made")
        .expect("made on the server");
    assert_eq!(made["verify"]["scheme"], "github", "{made}");
    assert_eq!(app.panes.webhooks.count(), 2);

    // A meta handshake with its token (masked) and a custom response, set in the form,
    // answer on the server; the answer shows only that a token is set.
    press(&mut app, Key::new(Code::Char('n')));
    typed(&mut app, "hub");
    // eventKey → payloadType → maxPayloadLength → allowFrom → verify → secret → handshake
    for _ in 0..6 {
        press(&mut app, Key::new(Code::Tab));
    }
    for _ in 0..3 {
        press(&mut app, Key::new(Code::Right));
    }
    press(&mut app, Key::new(Code::Tab));
    typed(&mut app, "hub-token");
    press(&mut app, Key::new(Code::Tab));
    typed(&mut app, "202");
    press(&mut app, Key::new(Code::Tab));
    press(&mut app, Key::new(Code::Tab));
    typed(&mut app, "thanks");
    let fx = press(&mut app, Key::ctrl('s'));
    settle(&mut app, &backend, fx).await;
    assert!(app.popup.is_none(), "the form closed on success");
    let (_, out, _) = child::command(&data, addr, &["webhook.get"]);
    assert!(!out.contains("hub-token"), "{out}");
    let all: Value = serde_json::from_str(&out).unwrap();
    let hub = all
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["eventKey"] == "webhook.hub")
        .expect("made on the server");
    assert_eq!(
        hub["handshake"],
        serde_json::json!({"type": "meta", "verifyTokenSet": true})
    );
    assert_eq!(hub["response"]["status"], 202, "{hub}");
    let hub_token = hub["uuid"].as_str().unwrap();
    let check = |token: &str| {
        format!(
            "{RECEIVE}?token={hub_token}&hub.mode=subscribe&hub.verify_token={token}&hub.challenge=c-42"
        )
    };
    let r = send(addr, &get(&check("hub-token"))).await;
    assert_eq!((r.status, r.text().as_str()), (200, "c-42"));
    let r = send(addr, &get(&check("wrong"))).await;
    assert_eq!(r.status, 403);
    let r = send(
        addr,
        &post(RECEIVE, &format!("token: {hub_token}\r\n"), b"{}"),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (202, "thanks"));
    let shown = app
        .panes
        .webhooks
        .visible()
        .iter()
        .find(|w| w.webhook.event_key == "webhook.hub")
        .map(|w| w.webhook.clone())
        .expect("listed attached");
    assert_eq!(shown.handshake, Some("meta"));
    assert_eq!(
        shown.response.as_ref().map(|r| r.body.as_str()),
        Some("thanks")
    );
    assert!(server.terminate().success());
}

/// A self-signed certificate for `names`, written as PEM; (certificate, key).
fn self_signed(dir: &std::path::Path, stem: &str, names: &[&str]) -> (String, String) {
    let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let made = rcgen::generate_simple_self_signed(names).unwrap();
    let cert = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

/// Issue 11 C: a server with TLS writes an https:// serve.addr, and the dashboard attaches
/// trusting the certificate file it is given, checked for the host it connects to.
#[tokio::test]
async fn attached_over_https_trusts_the_given_certificate_for_its_host() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (cert, key) = self_signed(dir.path(), "server", &["127.0.0.1"]);
    let addr = child::free_addr();
    let server = child::Serve::start_with(&data, addr, &["--tls-cert", &cert, "--tls-key", &key]);
    let url = addr_file(&data);
    assert_eq!(url.trim(), format!("https://{addr}"));
    let admin = server.key();
    let api = Api::trusting(
        url.trim(),
        admin.trim(),
        false,
        Some(std::path::Path::new(&cert)),
    )
    .unwrap();
    let backend = Remote::new(api);
    backend
        .config(false, false)
        .await
        .expect("attached over HTTPS");
    assert!(backend.webhooks().await.unwrap().webhooks.is_empty());
    // The public roots do not vouch for a self-signed certificate.
    let public = Remote::new(Api::new(url.trim(), admin.trim(), false).unwrap());
    let e = public.config(false, false).await.unwrap_err().to_string();
    assert!(e.contains("cannot reach"), "{e}");
    // The trusted certificate names 127.0.0.1, not localhost: reached as localhost, refused.
    let as_localhost = format!("https://localhost:{}", addr.port());
    let api = Api::trusting(
        &as_localhost,
        admin.trim(),
        false,
        Some(std::path::Path::new(&cert)),
    )
    .unwrap();
    let e = Remote::new(api)
        .config(false, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid for name"), "{e}");
    // A file that holds no certificate is a clear error, before any connection.
    let e = Api::trusting(
        url.trim(),
        admin.trim(),
        false,
        Some(&data.join("admin.key")),
    )
    .unwrap_err();
    assert!(e.contains("no certificate"), "{e}");
    assert!(server.terminate().success());
}

/// The whole screen at a size, as text.
fn screen(app: &Dashboard, w: u16, h: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    t.draw(|f| hooktail::tui::view::draw(f, app)).unwrap();
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

/// Issue 11 D: attached, `b` searches the bodies (event.list with `withBody`), and a search
/// that finds nothing says so rather than "No events yet".
#[tokio::test]
async fn attached_body_search_finds_what_the_bodies_hold() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let addr = child::free_addr();
    let server = child::Serve::start(&data, addr);
    let url = addr_file(&data);
    let (code, out, err) = child::command(&data, addr, &["webhook.put", "eventKey=webhook.s"]);
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<Value>(&out).unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut wanted = Vec::new();
    for i in 0..5 {
        let body = if i % 2 == 0 {
            format!("{{\"i\":{i},\"who\":\"the NEEDLE co\"}}")
        } else {
            format!("{{\"i\":{i}}}")
        };
        let id = fire(addr, &token, &body).await;
        if i % 2 == 0 {
            wanted.push(Uuid::parse_str(&id).unwrap());
        }
    }
    let (mut app, backend, _feed) = attached(url.trim(), &server.key()).await;
    app.update(Msg::Resize(120, 40));
    press(&mut app, Key::new(Code::Char('2')));
    press(&mut app, Key::new(Code::Char('b')));
    typed(&mut app, "needle");
    let fx = press(&mut app, Key::new(Code::Enter));
    settle(&mut app, &backend, fx).await;
    let mut found = listed(&app);
    found.sort();
    assert_eq!(found, wanted, "{}", screen(&app, 120, 40));

    let fx = press(&mut app, Key::new(Code::Esc));
    settle(&mut app, &backend, fx).await;
    press(&mut app, Key::new(Code::Char('b')));
    typed(&mut app, "absent");
    let fx = press(&mut app, Key::new(Code::Enter));
    settle(&mut app, &backend, fx).await;
    assert!(listed(&app).is_empty());
    let text = screen(&app, 120, 40);
    assert!(!text.contains("No events yet"), "{text}");
    assert!(text.contains("No event's body holds that text."), "{text}");
    assert!(server.terminate().success());
}

/// Issue 10, finding 1, attached: a secret typed in the edit form is the only change the
/// server makes; a stripe config keeps its tolerance and dedupHeader, an hmac one its header,
/// and the hmac one then verifies with the new secret.
#[tokio::test]
async fn attached_a_secret_typed_in_the_form_keeps_the_rest_of_verify() {
    let s = TestServer::start().await;
    let made = |query: &'static str| {
        let s = &s;
        async move {
            let r = s.cmd("webhook.put", query).await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()
        }
    };
    let stripe = made(
        "eventKey=webhook.stripe&verify.scheme=stripe&verify.secret=whsec_old&verify.tolerance=900&verify.dedupHeader=X-Id",
    )
    .await;
    let hmac = made(
        "eventKey=webhook.hmac&verify.scheme=hmac&verify.secret=old-secret&verify.header=X-Signature&verify.encoding=base64",
    )
    .await;
    let token = hmac["uuid"].as_str().unwrap().to_string();
    let (mut app, backend, _feed) = attached(&format!("http://{}", s.addr), &s.key).await;
    press(&mut app, Key::new(Code::Char('1')));
    for before in [stripe, hmac] {
        let uuid = before["uuid"].as_str().unwrap().to_string();
        for _ in 0..app.panes.webhooks.count() {
            press(&mut app, Key::new(Code::Char('k')));
        }
        for _ in 0..app.panes.webhooks.count() {
            if app
                .panes
                .webhooks
                .selected()
                .unwrap()
                .webhook
                .uuid
                .to_string()
                == uuid
            {
                break;
            }
            press(&mut app, Key::new(Code::Char('j')));
        }
        let selected = app.panes.webhooks.selected().unwrap().webhook.uuid;
        assert_eq!(
            selected.to_string(),
            uuid,
            "the webhook to edit is selected"
        );
        press(&mut app, Key::new(Code::Char('e')));
        // eventKey → payloadType → maxPayloadLength → allowFrom → verify → secret
        for _ in 0..5 {
            press(&mut app, Key::new(Code::Tab));
        }
        typed(&mut app, "new-secret");
        let fx = press(&mut app, Key::ctrl('s'));
        settle(&mut app, &backend, fx).await;
        assert!(app.popup.is_none(), "the form closed on success");
        let after = s.cmd("webhook.get", &format!("uuid={uuid}")).await.json();
        assert_eq!(after["verify"], before["verify"], "only the secret changed");
    }
    // The hmac webhook checks with the typed secret now.
    use base64::Engine;
    use hmac::Mac;
    let body = b"{}";
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"new-secret").unwrap();
    mac.update(body);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let headers = format!("token: {token}\r\nX-Signature: {sig}\r\n");
    let r = send(s.addr, &post(RECEIVE, &headers, body)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    s.stop().await;
}
