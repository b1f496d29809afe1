//! The dashboard through its keymap and its pure drawing: insta snapshots of the whole
//! screen at 80x24 and 120x40 on ratatui's TestBackend, and update tests.

#[path = "common/tui.rs"]
mod fixtures;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fixtures::{NOW, config, pipeline, render};
use hooktail::domain::pipeline::RunStatus;
use hooktail::domain::{Event, PayloadType, Record, Rejection, Webhook};
use hooktail::service::PipelineView;
use hooktail::store::WebhookStats;
use hooktail::tui::key::{Code, Key};
use hooktail::tui::layout;
use hooktail::tui::list::PageKind;
use hooktail::tui::msg::{Effect, Msg, Opened};
use hooktail::tui::popups::Popup;
use hooktail::tui::state::Dashboard;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use uuid::Uuid;

/// The webhook the form's parameters ask for, read as the API reads them.
fn put_input(p: &hooktail::tui::msg::PutParams) -> hooktail::domain::WebhookInput {
    hooktail::service::command::webhook_input(&p.0, 4_194_304).expect("valid parameters")
}

fn webhook(n: u128, key: &str) -> Webhook {
    Webhook {
        uuid: Uuid::from_u128(0xa29a4f16_989d_48c8_ab54_7b6150733ba0 + n),
        event_key: key.into(),
        payload_type: PayloadType::Base64,
        max_payload_length: 512_000,
        created_at: NOW - 3_600_000,
        updated_at: NOW - 3_600_000,
        allow_from: Vec::new(),
        verify: None,
        handshake: None,
        response: None,
    }
}

fn event(n: u128, key: &str, body: &[u8], content_type: &str) -> Record {
    let mut headers = BTreeMap::new();
    headers.insert("content-type".to_string(), content_type.to_string());
    headers.insert("user-agent".to_string(), "curl/8.5.0".to_string());
    Record::Accepted(Event {
        id: Uuid::from_u128(0x0193a7d0_5e2b_7c41_9a0e_4b1d2c3e4f00 + n),
        event_key: key.into(),
        received_at: NOW - 60_000 + n as i64 * 1000,
        method: "POST".into(),
        path: "/api/v3/command/webhook.receive".into(),
        query: BTreeMap::new(),
        headers,
        remote_addr: "127.0.0.1:50432".into(),
        content_type: Some(content_type.into()),
        size: body.len() as u64,
        payload_type: PayloadType::Base64,
        files: vec![],
        form: BTreeMap::new(),
        verified: None,
        body: body.to_vec(),
    })
}

fn rejection(n: u128) -> Record {
    Record::Rejected(Rejection {
        id: Uuid::from_u128(0x0193a7d0_5e2b_7c41_9a0e_4b1d2c3e4f00 + n),
        reason: "unknown token".into(),
        http_status: 404,
        received_at: NOW - 60_000 + n as i64 * 1000,
        method: "GET".into(),
        remote_addr: "10.0.0.7:41000".into(),
        size: 0,
        event_key: None,
        duplicate: None,
    })
}

/// A dashboard over an empty store: its start-up reads asked for, and no pipelines answered.
fn app_with(read_only: bool, color: bool) -> Dashboard {
    let mut app = Dashboard::new(config(read_only, color), NOW);
    let fx = app.init();
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadPipelines)));
    app.update(Msg::Pipelines(Ok(vec![])));
    app
}

/// The pipelines `populated` lists, by name as the store answers.
fn pipelines() -> Vec<PipelineView> {
    vec![
        pipeline(
            "forward-to",
            "webhook.*",
            true,
            3,
            (40, 0, 0),
            Some(RunStatus::Running),
        ),
        pipeline(
            "lead-mail",
            "webhook.lead.created",
            true,
            0,
            (12, 0, 1),
            Some(RunStatus::Ok),
        ),
        pipeline(
            "orders",
            "webhook.order.*",
            false,
            7,
            (2, 1, 2),
            Some(RunStatus::Dead),
        ),
    ]
}

/// The events `populated` loads, newest first as the store answers.
fn stored() -> Vec<Record> {
    let mut records = vec![
        event(
            1,
            "webhook.lead.created",
            br#"{"lead":"ACME","score":90}"#,
            "application/json",
        ),
        event(
            2,
            "webhook.order.paid",
            b"order=17&total=9.90",
            "application/x-www-form-urlencoded",
        ),
        rejection(3),
        event(4, "webhook.lead.created", b"plain text body", "text/plain"),
        event(
            5,
            "webhook.lead.created",
            &[0, 1, 2, 0xff],
            "application/octet-stream",
        ),
    ];
    records.reverse();
    records
}

/// An app with three webhooks, three pipelines and a stream of events, as if loaded from the
/// store.
fn populated(read_only: bool, color: bool) -> Dashboard {
    let mut app = app_with(read_only, color);
    let hooks = vec![
        webhook(1, "webhook.lead.created"),
        webhook(2, "webhook.order.paid"),
        webhook(3, "webhook.github.push"),
    ];
    let mut stats = HashMap::new();
    stats.insert(
        hooks[0].uuid,
        WebhookStats {
            events: 12,
            last_at: Some(NOW - 5_000),
        },
    );
    stats.insert(
        hooks[1].uuid,
        WebhookStats {
            events: 3,
            last_at: Some(NOW - 7_200_000),
        },
    );
    app.update(Msg::Webhooks(
        hooks.into_iter().map(Into::into).collect(),
        stats,
    ));
    app.update(Msg::Pipelines(Ok(pipelines())));
    app.update(Msg::Counts(15, 1));
    let records = stored();
    let generation = page_generation(&mut app);
    app.update(Msg::Page {
        generation,
        kind: PageKind::Newest,
        records,
    });
    app
}

/// The generation of the newest-page load the app asks for on (re)start.
fn page_generation(app: &mut Dashboard) -> u64 {
    // A fresh load request tells the current generation.
    let fx = app.update(Msg::Key(Key::char('G')));
    match fx.as_slice() {
        [Effect::LoadPage { generation, .. }] => *generation,
        other => panic!("expected a page load, got {other:?}"),
    }
}

/// The answer to a read of `rec` for Detail, decoded as the driver does.
fn opened(rec: Record) -> Msg {
    Msg::Detail(Some(Box::new(Opened::decode(rec))))
}

fn key(app: &mut Dashboard, k: Key) -> Vec<Effect> {
    app.update(Msg::Key(k))
}

fn keys(app: &mut Dashboard, s: &str) {
    for c in s.chars() {
        key(app, Key::char(c));
    }
}

/// Snapshots the screen at 80x24 and 120x40.
fn snap(name: &str, mut make: impl FnMut() -> Dashboard) {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = make();
        let t = render(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn snapshot_empty_store() {
    snap("empty", || app_with(false, true));
}

#[test]
fn snapshot_webhooks_and_stream() {
    snap("stream", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('k'));
        key(&mut app, Key::new(Code::Enter));
        let Some(Record::Accepted(_)) = app.panes.events.selected_record().map(|r| r.as_ref())
        else {
            panic!("the selected row is an event");
        };
        let id = app.panes.events.selected_record().unwrap().id();
        let rec = app
            .panes
            .events
            .list
            .items()
            .iter()
            .find(|r| r.id() == id)
            .unwrap()
            .as_ref()
            .clone();
        app.update(opened(rec));
        app
    });
}

#[test]
fn snapshot_paused_with_new_events() {
    snap("paused", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('f'));
        for n in 10..13 {
            app.update(Msg::Record(Arc::new(event(
                n,
                "webhook.order.paid",
                b"{}",
                "application/json",
            ))));
        }
        assert_eq!(app.panes.events.missed, 3);
        app
    });
}

#[test]
fn snapshot_active_filter() {
    snap("filter", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('1'));
        key(&mut app, Key::char('/'));
        keys(&mut app, "lead");
        key(&mut app, Key::new(Code::Enter));
        assert_eq!(app.panes.webhooks.filter, "lead");
        assert_eq!(app.panes.webhooks.visible().len(), 1);
        app
    });
}

#[test]
fn snapshot_form_with_validation_error() {
    snap("form_error", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('n'));
        keys(&mut app, "Bad Key");
        let fx = key(&mut app, Key::ctrl('s'));
        assert!(fx.is_empty(), "an invalid form is not submitted");
        let Some(Popup::Form(form)) = &app.popup else {
            panic!("the form stays open")
        };
        assert!(form.errors.event_key.is_some());
        assert_eq!(
            form.event_key.lines()[0],
            "webhook.Bad Key",
            "typed input survives"
        );
        app
    });
}

#[test]
fn snapshot_delete_dialog() {
    snap("delete_dialog", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('1'));
        key(&mut app, Key::char('d'));
        app
    });
}

#[test]
fn snapshot_help_overlay() {
    snap("help", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('?'));
        app
    });
}

#[test]
fn snapshot_read_only_hints() {
    snap("read_only", || {
        let mut app = populated(true, true);
        key(&mut app, Key::char('1'));
        app
    });
}

#[test]
fn snapshot_no_color() {
    snap("no_color", || {
        let mut app = populated(false, false);
        key(&mut app, Key::char('1'));
        app
    });
    let mut app = populated(false, false);
    key(&mut app, Key::char('1'));
    let t = render(&mut app, 80, 24);
    let buf = t.backend().buffer();
    let mut reversed = 0;
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "no colour under NO_COLOR");
        assert_eq!(cell.bg, Color::Reset, "no colour under NO_COLOR");
        if cell.modifier.contains(Modifier::REVERSED) {
            reversed += 1;
        }
    }
    assert!(reversed > 0, "the selection still shows, in reverse video");
}

#[test]
fn new_form_typed_and_saved_gives_a_put_effect() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('n'));
    keys(&mut app, "lead.updated");
    key(&mut app, Key::new(Code::Tab));
    key(&mut app, Key::new(Code::Right));
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::Put(input)] = fx.as_slice() else {
        panic!("expected a put, got {fx:?}")
    };
    let input = put_input(input);
    assert_eq!(input.event_key.as_deref(), Some("webhook.lead.updated"));
    assert_eq!(input.payload_type, Some(PayloadType::Raw));
    assert_eq!(input.max_payload_length, Some(512_000));
    assert_eq!(input.uuid, None);
    // The answer closes the form and reloads the list.
    let fx = app.update(Msg::PutDone(Ok(webhook(9, "webhook.lead.updated").into())));
    assert!(app.popup.is_none());
    assert!(matches!(fx.as_slice(), [Effect::LoadWebhooks]));
}

#[test]
fn the_form_takes_allow_from_and_refuses_a_bad_cidr() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('n'));
    keys(&mut app, "office");
    for _ in 0..3 {
        key(&mut app, Key::new(Code::Tab));
    }
    keys(&mut app, "10.0.0.0/8, 300.1.1.1");
    assert!(
        key(&mut app, Key::ctrl('s')).is_empty(),
        "a bad CIDR is not sent"
    );
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("the form stays open")
    };
    let e = form.allow_from_error.as_deref().unwrap_or_default();
    assert!(e.contains("300.1.1.1"), "{e}");
    for _ in 0.." 300.1.1.1".len() {
        key(&mut app, Key::new(Code::Backspace));
    }
    keys(&mut app, " 2001:db8::/32");
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::Put(input)] = fx.as_slice() else {
        panic!("expected a put, got {fx:?}")
    };
    let input = put_input(input);
    let nets: Vec<String> = input
        .allow_from
        .iter()
        .flatten()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(nets, ["10.0.0.0/8", "2001:db8::/32"]);
    // Editing shows the list as it is stored.
    let mut w = webhook(9, "webhook.office");
    w.allow_from = input.allow_from.clone().unwrap();
    let form = hooktail::tui::popups::Form::new(Some(&w.into()));
    assert_eq!(form.allow_from.lines()[0], "10.0.0.0/8, 2001:db8::/32");
}

#[test]
fn edit_form_keeps_the_uuid() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('1'));
    key(&mut app, Key::char('j'));
    let uuid = app.panes.webhooks.selected().unwrap().webhook.uuid;
    key(&mut app, Key::char('e'));
    keys(&mut app, "-v2");
    let fx = key(&mut app, Key::new(Code::Enter));
    let [Effect::Put(input)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let input = put_input(input);
    assert_eq!(input.uuid, Some(uuid));
    assert_eq!(input.event_key.as_deref(), Some("webhook.lead.created-v2"));
}

#[test]
fn a_conflict_is_shown_on_the_field_and_input_survives() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('n'));
    keys(&mut app, "order.paid");
    key(&mut app, Key::ctrl('s'));
    app.update(Msg::PutDone(Err(hooktail::tui::msg::PutFailure::Conflict(
        "taken".into(),
    ))));
    let Some(Popup::Form(form)) = &app.popup else {
        panic!()
    };
    assert_eq!(form.errors.event_key.as_deref(), Some("taken"));
    assert_eq!(form.event_key.lines()[0], "webhook.order.paid");
    assert!(key(&mut app, Key::new(Code::Esc)).is_empty());
    assert!(app.popup.is_none());
}

#[test]
fn delete_then_enter_on_cancel_deletes_nothing() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('1'));
    key(&mut app, Key::char('d'));
    let Some(Popup::Confirm(c)) = &app.popup else {
        panic!("a dialog opens")
    };
    assert!(!c.delete_focused, "Cancel is focused");
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(fx.is_empty());
    assert!(app.popup.is_none());
}

#[test]
fn delete_tab_to_ok_then_enter_deletes() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('1'));
    let uuid = app.panes.webhooks.selected().unwrap().webhook.uuid;
    key(&mut app, Key::char('d'));
    key(&mut app, Key::new(Code::Tab));
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(matches!(fx.as_slice(), [Effect::Delete(u)] if *u == uuid));
}

#[test]
fn read_only_offers_no_put_or_delete() {
    let mut app = populated(true, true);
    key(&mut app, Key::char('1'));
    for k in ['n', 'e', 'd'] {
        assert!(key(&mut app, Key::char(k)).is_empty());
        assert!(app.popup.is_none(), "{k} opened something");
    }
    let text = screen_text(&render(&mut app, 120, 40));
    let hints = text.lines().last().unwrap();
    assert!(
        !hints.contains("delete") && !hints.contains("new webhook"),
        "{hints}"
    );
    assert!(hints.contains("copy URL"));
}

#[test]
fn moving_up_pauses_and_g_resumes() {
    let mut app = populated(false, true);
    assert!(app.panes.events.follow);
    key(&mut app, Key::char('k'));
    assert!(!app.panes.events.follow, "looking back pauses");
    let before = app.panes.events.list.len();
    app.update(Msg::Record(Arc::new(event(
        20,
        "webhook.lead.created",
        b"{}",
        "application/json",
    ))));
    assert_eq!(
        app.panes.events.list.len(),
        before,
        "the paused view is frozen"
    );
    assert_eq!(app.panes.events.missed, 1);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("PAUSED +1"));
    let fx = key(&mut app, Key::char('G'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::LoadPage {
            kind: PageKind::Newest,
            ..
        }]
    ));
    assert!(app.panes.events.follow);
    assert_eq!(app.panes.events.missed, 0);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("LIVE"));
}

#[test]
fn following_appends_and_keeps_the_window_bounded() {
    let mut app = populated(false, true);
    for n in 100..(100 + hooktail::tui::panes::WINDOW as u128 + 50) {
        app.update(Msg::Record(Arc::new(event(
            n,
            "webhook.a",
            b"",
            "text/plain",
        ))));
    }
    assert_eq!(app.panes.events.list.len(), hooktail::tui::panes::WINDOW);
    assert_eq!(
        app.panes.events.list.selected(),
        hooktail::tui::panes::WINDOW - 1
    );
    assert_eq!(app.counts.0, 15 + hooktail::tui::panes::WINDOW as u64 + 50);
}

#[test]
fn enter_on_a_webhook_narrows_the_stream() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('1'));
    let fx = key(&mut app, Key::new(Code::Enter));
    let [Effect::LoadPage { query, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(
        query
            .filter
            .pattern
            .as_ref()
            .unwrap()
            .matches("webhook.github.push")
    );
    assert_eq!(
        app.panes.events.event_key.as_deref(),
        Some("webhook.github.push")
    );
    // Records of other webhooks no longer enter the stream.
    app.update(Msg::Record(Arc::new(event(
        30,
        "webhook.lead.created",
        b"",
        "text/plain",
    ))));
    assert!(
        app.panes
            .events
            .list
            .items()
            .iter()
            .all(|r| r.id() != event(30, "x", b"", "").id())
    );
    // Esc in Events clears it.
    let fx = key(&mut app, Key::new(Code::Esc));
    assert!(matches!(fx.as_slice(), [Effect::LoadPage { .. }]));
    assert_eq!(app.panes.events.event_key, None);
}

#[test]
fn copy_sends_the_url_and_says_so() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('1'));
    let fx = key(&mut app, Key::char('y'));
    let [Effect::Copy(url)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(url.ends_with("webhook.receive?token=a29a4f16-989d-48c8-ab54-7b6150733ba3"));
    // It says what was sent, not that the terminal took it.
    let (toast, _) = app.toast.clone().unwrap();
    assert!(
        toast.starts_with("Sent the URL of webhook.github.push ("),
        "{toast}"
    );
    assert!(
        toast.ends_with("to the terminal clipboard (OSC 52)"),
        "{toast}"
    );
    let text = screen_text(&render(&mut app, 120, 30));
    assert!(
        text.contains("Sent the URL of webhook.github.push"),
        "{text}"
    );
}

#[test]
fn hostile_bytes_are_escaped_on_screen() {
    let mut app = populated(false, true);
    let mut rec = event(
        40,
        "webhook.lead.created",
        b"\x1b[2J\x1b]52;c;aGk=\x07 nul:\0 del:\x7f c1:\xc2\x9b",
        "text/plain",
    );
    if let Record::Accepted(e) = &mut rec {
        e.headers
            .insert("x-evil".into(), "\x1b[2J\x1b]52;c;aGk=\x07\0\x7f".into());
        e.query.insert("q\x1b".into(), "\u{9b}31m".into());
    }
    app.update(opened(rec));
    for tab in ["Body", "Headers", "Raw", "Meta"] {
        let t = render(&mut app, 120, 40);
        let text = screen_text(&t);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n')
            .collect();
        assert!(
            bad.is_empty(),
            "{tab}: raw control characters reached the screen: {bad:?}"
        );
        match tab {
            "Body" => {
                assert!(
                    text.contains("^[[2J^[]52;c;aGk=^G nul:^@ del:^? c1:\\x9b"),
                    "{text}"
                );
            }
            "Headers" => assert!(text.contains("x-evil: ^[[2J^[]52;c;aGk=^G^@^?"), "{text}"),
            "Raw" => assert!(text.contains("G1syShtdNTI7YzthR2s9By"), "{text}"),
            _ => assert!(
                text.contains("query.q^[") && text.contains("\\x9b31m"),
                "{text}"
            ),
        }
        key(&mut app, Key::char(']'));
    }
}

#[test]
fn tiny_terminals_do_not_panic() {
    let mut app = populated(false, true);
    for (w, h) in [(1, 1), (10, 3), (39, 11), (40, 12), (200, 12)] {
        let text = screen_text(&render(&mut app, w, h));
        if w < layout::MIN_WIDTH || h < layout::MIN_HEIGHT {
            assert!(text.contains("Term") || w < 10, "{w}x{h}: {text}");
        }
    }
    key(&mut app, Key::char('?'));
    render(&mut app, 40, 12);
    key(&mut app, Key::new(Code::Esc));
    key(&mut app, Key::char('n'));
    render(&mut app, 40, 12);
}

#[test]
fn help_and_hints_come_from_the_keymap() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('?'));
    // Help scrolls when it does not fit: read every screen of it.
    let mut text = screen_text(&render(&mut app, 120, 40));
    for _ in 0..40 {
        key(&mut app, Key::char('j'));
        text.push_str(&screen_text(&render(&mut app, 120, 40)));
    }
    for b in hooktail::tui::keymap::KEYMAP
        .iter()
        .filter(|b| b.scope != hooktail::tui::keymap::Scope::Help)
    {
        assert!(text.contains(b.label), "help lacks {:?}", b.label);
    }
}

#[test]
fn webhooks_changed_elsewhere_are_reloaded() {
    let mut app = populated(false, true);
    let fx = app.update(Msg::WebhooksChanged);
    assert!(matches!(fx.as_slice(), [Effect::LoadWebhooks]));
}

#[test]
fn readme_lists_every_key() {
    use hooktail::tui::keymap::{KEYMAP, Scope, keys_label};
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut table = String::from("| where | key | action |\n|---|---|---|\n");
    for b in KEYMAP.iter().filter(|b| b.scope != Scope::Help) {
        let ro = if b.writes {
            " (not with `--read-only`)"
        } else {
            ""
        };
        table.push_str(&format!(
            "| {} | `{}` | {}{ro} |\n",
            b.scope.title(),
            keys_label(b),
            b.label
        ));
    }
    assert!(
        readme.contains(&table),
        "README's key table is out of date; it should read:\n{table}"
    );
}

#[test]
fn once_open_detail_follows_the_selection() {
    let mut app = populated(false, true);
    // Nothing is open yet: moving loads nothing.
    assert!(key(&mut app, Key::char('k')).is_empty());
    let fx = key(&mut app, Key::new(Code::Enter));
    let [Effect::LoadRecord(id)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let rec = app
        .panes
        .events
        .list
        .items()
        .iter()
        .find(|r| r.id() == *id)
        .unwrap()
        .as_ref()
        .clone();
    app.update(opened(rec));
    let fx = key(&mut app, Key::char('k'));
    let [Effect::LoadRecord(next)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        Some(*next),
        app.panes.events.selected_record().map(|r| r.id())
    );
}

#[test]
fn a_failed_load_does_not_leave_the_stream_loading() {
    let mut app = app_with(false, true);
    assert!(app.panes.events.list.is_loading());
    app.update(Msg::Error("stored data is unreadable".into()));
    assert!(!app.panes.events.list.is_loading());
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(!text.contains("Loading"), "{text}");
    assert!(text.contains("Error: stored data is unreadable"), "{text}");
}

/// Opens `rec` in Detail on its `tab`-th tab, scrolled by `scroll`, and renders 100x30.
fn detail_screen(rec: Record, tab: usize, scroll: usize) -> String {
    let mut app = populated(false, true);
    app.update(opened(rec));
    for _ in 0..tab {
        key(&mut app, Key::char(']'));
    }
    key(&mut app, Key::char('3'));
    for _ in 0..scroll {
        key(&mut app, Key::new(Code::PageDown));
    }
    screen_text(&render(&mut app, 100, 30))
}

/// The Detail pane's inner text, one string per row.
fn detail_rows(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines.iter().position(|l| l.contains("3 Detail")).unwrap();
    lines[top + 1..lines.len() - 2]
        .iter()
        .map(|l| {
            l.trim_start_matches('┃')
                .trim_end_matches('┃')
                .trim_end()
                .to_string()
        })
        .collect()
}

#[test]
fn the_raw_tab_is_the_exact_base64_and_big_bodies_page() {
    use base64::Engine;
    let body: Vec<u8> = (0..600u32).map(|i| (i * 7 % 251) as u8).collect();
    let rows = detail_rows(&detail_screen(
        event(50, "webhook.a", &body, "application/octet-stream"),
        2,
        0,
    ));
    let shown: String = rows.concat();
    assert_eq!(
        shown,
        base64::engine::general_purpose::STANDARD.encode(&body)
    );
    // A 4 MiB body: the Raw tab stops at its cap and says how much is left.
    let big = vec![b'x'; 4 << 20];
    let screen = detail_screen(
        event(51, "webhook.a", &big, "application/octet-stream"),
        2,
        2000,
    );
    assert!(
        screen.contains("more characters (event.get has them all)"),
        "{screen}"
    );
    // A big JSON body scrolls to its end without building every line each frame.
    let json = format!(
        "[{}]",
        (0..20_000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let screen = detail_screen(
        event(52, "webhook.a", json.as_bytes(), "application/json"),
        0,
        5000,
    );
    assert!(screen.contains("19999") && screen.contains(']'), "{screen}");
}

#[test]
fn q_and_ctrl_c_quit_but_not_inside_a_form() {
    let mut app = populated(false, true);
    assert!(matches!(
        key(&mut app, Key::char('q')).as_slice(),
        [Effect::Quit]
    ));
    assert!(matches!(
        key(&mut app, Key::ctrl('c')).as_slice(),
        [Effect::Quit]
    ));
    key(&mut app, Key::char('n'));
    assert!(
        key(&mut app, Key::char('q')).is_empty(),
        "q is typed into the form"
    );
    let Some(Popup::Form(form)) = &app.popup else {
        panic!()
    };
    assert_eq!(form.event_key.lines()[0], "webhook.q");
}

/// Performs the one Detail read `fx` asks for, from the records a test knows.
fn answer_read(app: &mut Dashboard, fx: &[Effect], known: &[Record]) -> Vec<Effect> {
    let [Effect::LoadRecord(id)] = fx else {
        panic!("expected one read for Detail, got {fx:?}")
    };
    let rec = known.iter().find(|r| r.id() == *id).unwrap().clone();
    app.update(opened(rec))
}

/// The ids of the event Detail shows and of the highlighted row.
fn shown_and_selected(app: &Dashboard) -> (Option<Uuid>, Option<Uuid>) {
    let shown = app.panes.detail.shown.as_ref().map(|s| s.record.id());
    (shown, app.panes.events.selected_id())
}

#[test]
fn detail_follows_the_selection_through_k_g_and_live_arrivals() {
    let mut app = populated(false, true);
    let mut known = stored();
    let newest = known[0].id();
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(answer_read(&mut app, &fx, &known).is_empty());
    assert_eq!(shown_and_selected(&app), (Some(newest), Some(newest)));

    // k: the row above.
    let fx = key(&mut app, Key::char('k'));
    assert!(answer_read(&mut app, &fx, &known).is_empty());
    let (shown, selected) = shown_and_selected(&app);
    assert_eq!(shown, selected);
    assert_eq!(shown, Some(known[1].id()));

    // G: the newest page reloads; once it is in, Detail reads the newest row.
    let fx = key(&mut app, Key::char('G'));
    let [
        Effect::LoadPage {
            generation,
            kind: PageKind::Newest,
            ..
        },
    ] = fx.as_slice()
    else {
        panic!("{fx:?}")
    };
    let fx = app.update(Msg::Page {
        generation: *generation,
        kind: PageKind::Newest,
        records: stored(),
    });
    assert!(answer_read(&mut app, &fx, &known).is_empty());
    assert_eq!(shown_and_selected(&app), (Some(newest), Some(newest)));

    // A record arriving while LIVE is highlighted, and Detail shows it.
    assert!(app.panes.events.follow);
    let live = event(
        6,
        "webhook.lead.created",
        br#"{"live":1}"#,
        "application/json",
    );
    known.push(live.clone());
    let fx = app.update(Msg::Record(Arc::new(live.clone())));
    assert!(answer_read(&mut app, &fx, &known).is_empty());
    assert_eq!(shown_and_selected(&app), (Some(live.id()), Some(live.id())));
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("\"live\": 1"), "{text}");
}

#[test]
fn detail_reads_one_event_at_a_time_however_fast_records_arrive() {
    let mut app = populated(false, true);
    let mut known = stored();
    let fx = key(&mut app, Key::new(Code::Enter));
    answer_read(&mut app, &fx, &known);
    let flood: Vec<Record> = (6..9)
        .map(|n| event(n, "webhook.lead.created", b"{}", "application/json"))
        .collect();
    known.extend(flood.iter().cloned());
    let first = app.update(Msg::Record(Arc::new(flood[0].clone())));
    for r in &flood[1..] {
        let fx = app.update(Msg::Record(Arc::new(r.clone())));
        assert!(
            fx.is_empty(),
            "a second read while one is on its way: {fx:?}"
        );
    }
    // The first answer comes back: Detail shows it, then reads the newest.
    let fx = answer_read(&mut app, &first, &known);
    assert!(matches!(fx.as_slice(), [Effect::LoadRecord(id)] if *id == flood[2].id()));
    assert!(answer_read(&mut app, &fx, &known).is_empty());
    assert_eq!(
        shown_and_selected(&app),
        (Some(flood[2].id()), Some(flood[2].id()))
    );
}

#[test]
fn a_pruned_event_is_not_asked_for_again() {
    let mut app = populated(false, true);
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(matches!(fx.as_slice(), [Effect::LoadRecord(_)]));
    assert!(app.update(Msg::Detail(None)).is_empty());
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("no longer stored"), "{text}");
}

/// §7: a verified event says so in a word in the stream, and how in Detail's Meta tab.
#[test]
fn verified_events_say_so_in_the_stream_and_in_detail() {
    let verified = |rec: Record| match rec {
        Record::Accepted(mut e) => {
            e.verified = Some(hooktail::domain::Verified {
                scheme: hooktail::domain::verify::Scheme::Github,
                delivery_id: Some("72d3162e-cc78-11e3-81ab-4c9367dc0958".into()),
                by_previous_secret: true,
            });
            Record::Accepted(e)
        }
        other => other,
    };
    let make = || {
        let mut app = app_with(false, true);
        let records = vec![
            verified(event(3, "webhook.github.push", b"{}", "application/json")),
            event(2, "webhook.order.paid", b"a=1", "text/plain"),
        ];
        let generation = page_generation(&mut app);
        app.update(Msg::Page {
            generation,
            kind: PageKind::Newest,
            records,
        });
        app
    };
    let mut app = make();
    let text = screen_text(&render(&mut app, 80, 24));
    let line = text.lines().find(|l| l.contains("github.push")).unwrap();
    assert!(line.contains("verified"), "{line}");
    let plain = text.lines().find(|l| l.contains("order.paid")).unwrap();
    assert!(!plain.contains("verified"), "{plain}");
    let t = render(&mut app, 80, 24);
    insta::assert_snapshot!("verified_stream_80x24", t.backend());
    app.update(opened(verified(event(
        3,
        "webhook.github.push",
        b"{}",
        "application/json",
    ))));
    for _ in 0..3 {
        key(&mut app, Key::char(']'));
    }
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(
        text.contains(
            "verified (github), delivery 72d3162e-cc78-11e3-81ab-4c9367dc0958, by the previous secret"
        ),
        "{text}"
    );
}

/// §7: the form sets a verify scheme and a secret that never shows; an edit that leaves the
/// secret empty sends no secret (the stored one is kept).
#[test]
fn the_form_sets_verify_with_a_masked_write_only_secret() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('n'));
    keys(&mut app, "gh");
    // eventKey → payloadType → maxPayloadLength → allowFrom → verify
    for _ in 0..4 {
        key(&mut app, Key::new(Code::Tab));
    }
    key(&mut app, Key::new(Code::Right));
    key(&mut app, Key::new(Code::Tab));
    keys(&mut app, "hunter2-secret");
    key(&mut app, Key::new(Code::Tab));
    key(&mut app, Key::new(Code::Right));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(!text.contains("hunter2"), "the secret shows:\n{text}");
    assert!(
        text.contains("[github]") && text.contains("[slack]"),
        "{text}"
    );
    let t = render(&mut app, 80, 24);
    insta::assert_snapshot!("form_verify_80x24", t.backend());
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::Put(input)] = fx.as_slice() else {
        panic!("expected a put, got {fx:?}")
    };
    let input = put_input(input);
    let w = input
        .apply(None, Uuid::new_v4(), NOW)
        .expect("a valid webhook");
    let shown = w.to_json("http://x").to_string();
    assert!(
        shown.contains(r#""verify":{"scheme":"github","secretSet":true}"#),
        "{shown}"
    );
    assert!(shown.contains(r#""handshake":{"type":"slack"}"#), "{shown}");
    assert!(!format!("{w:?}").contains("hunter2"));
    // Editing it: the choices start from what it has, and nothing typed sends no secret.
    let mut edit = hooktail::tui::popups::Form::new(Some(&w.clone().into()));
    assert_eq!(edit.scheme, Some(hooktail::domain::verify::Scheme::Github));
    assert_eq!(edit.handshake, "slack");
    edit.secret = Default::default();
    app.popup = Some(hooktail::tui::popups::Popup::Form(Box::new(edit)));
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::Put(input)] = fx.as_slice() else {
        panic!("expected a put, got {fx:?}")
    };
    let input = put_input(input);
    assert!(input.verify.is_none() && input.handshake.is_none());
}

/// §7: a repeat of a stored delivery, as the writer records it.
fn duplicate_of(n: u128, original: &Record) -> Record {
    let Record::Accepted(e) = original else {
        panic!("not an event")
    };
    let repeat = Event {
        id: Uuid::from_u128(0x0193a7d0_5e2b_7c41_9a0e_4b1d2c3e4f00 + n),
        received_at: NOW - 60_000 + n as i64 * 1000,
        ..e.clone()
    };
    Record::Rejected(Rejection::duplicate(
        &repeat,
        e.id,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        200,
    ))
}

/// §7: a duplicate the sender was answered for shows in the stream as the word `duplicate`,
/// Detail names the original and the delivery id, and Enter there opens the original until
/// the selection moves.
#[test]
fn duplicates_show_in_the_stream_and_open_their_original() {
    let original = event(
        1,
        "webhook.lead.created",
        br#"{"lead":"ACME"}"#,
        "application/json",
    );
    let dup = duplicate_of(6, &original);
    let make = || {
        let mut app = populated(false, true);
        app.update(Msg::Record(Arc::new(dup.clone())));
        // Enter opens the newest row, the duplicate, in Detail; 3 focuses Detail.
        let fx = key(&mut app, Key::new(Code::Enter));
        assert!(
            matches!(fx.as_slice(), [Effect::LoadRecord(id)] if *id == dup.id()),
            "{fx:?}"
        );
        app.update(opened(dup.clone()));
        key(&mut app, Key::char('3'));
        app
    };
    snap("duplicate", make);
    let mut app = make();
    let text = screen_text(&render(&mut app, 80, 24));
    let row = text
        .lines()
        .find(|l| l.contains("msg_p5j") && l.contains("POST"))
        .expect("the duplicate's row");
    assert!(
        row.contains(" duplicate POST webhook.lead.created"),
        "{row}"
    );
    assert!(!row.contains("REJ"), "{row}");
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(
        text.contains("duplicate: answered HTTP 200 as the original"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "original      {} (3 then Enter opens it)",
            original.id()
        )),
        "{text}"
    );
    assert!(
        text.contains("deliveryId    msg_p5jXN8AQM9LWM0D4loKWxJek"),
        "{text}"
    );
    let hints = text.lines().last().unwrap();
    assert!(hints.contains("Enter open the original"), "{hints}");
    // The header counts it with the rejected records, and the filter finds it by its word.
    assert_eq!(app.counts, (15, 2));

    // Enter in Detail opens the original; the selection stays on the duplicate.
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::LoadRecord(id)] if *id == original.id()),
        "{fx:?}"
    );
    assert!(app.update(opened(original.clone())).is_empty());
    assert_eq!(
        app.panes.detail.shown.as_ref().map(|d| d.record.id()),
        Some(original.id())
    );
    assert_eq!(app.panes.events.selected_id(), Some(dup.id()));
    // Other keys leave it there; the original is no duplicate, so Enter offers nothing more.
    assert!(key(&mut app, Key::char(']')).is_empty());
    assert!(key(&mut app, Key::new(Code::Enter)).is_empty());
    let text = screen_text(&render(&mut app, 120, 40));
    let hints = text.lines().last().unwrap();
    assert!(!hints.contains("original"), "{hints}");
    // Moving the selection: Detail follows it again.
    key(&mut app, Key::char('2'));
    let fx = key(&mut app, Key::char('k'));
    assert!(
        matches!(fx.as_slice(), [Effect::LoadRecord(id)] if *id != original.id()),
        "{fx:?}"
    );
    // Acting on the duplicate points at the original.
    key(&mut app, Key::char('j'));
    key(&mut app, Key::char('c'));
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("A duplicate stored nothing"), "{text}");
    // The Events filter finds duplicates by their word.
    key(&mut app, Key::char('/'));
    keys(&mut app, "duplicate");
    let fx = key(&mut app, Key::new(Code::Enter));
    let Some(Effect::LoadPage { query, .. }) = fx.first() else {
        panic!("{fx:?}")
    };
    assert!(query.filter.matches(dup.summary()));
    assert!(!query.filter.matches(original.summary()));
}

fn form(app: &Dashboard) -> &hooktail::tui::popups::Form {
    match &app.popup {
        Some(Popup::Form(f)) => f,
        other => panic!("no form: {other:?}"),
    }
}

fn tab(app: &mut Dashboard, n: usize) {
    for _ in 0..n {
        key(app, Key::new(Code::Tab));
    }
}

/// The new-webhook form filled through the keymap: a meta handshake with its token typed in
/// the masked field, and a response whose status is not 2xx.
fn form_with_bad_response() -> Dashboard {
    let mut app = populated(false, true);
    key(&mut app, Key::char('n'));
    keys(&mut app, "meta");
    // eventKey → payloadType → maxPayloadLength → allowFrom → verify → secret → handshake
    tab(&mut app, 6);
    for _ in 0..3 {
        key(&mut app, Key::new(Code::Right));
    }
    tab(&mut app, 1);
    keys(&mut app, "tok-sekrit");
    tab(&mut app, 1);
    keys(&mut app, "302");
    tab(&mut app, 1);
    keys(&mut app, "application/xml");
    tab(&mut app, 1);
    keys(&mut app, "<ok/>");
    let fx = key(&mut app, Key::ctrl('s'));
    assert!(fx.is_empty(), "an invalid form is not submitted: {fx:?}");
    app
}

/// §7: the form edits `response` and the meta handshake's verify token (write-only, masked);
/// an error shows beside its field with the text kept, and goes once fixed.
#[test]
fn the_form_edits_the_response_and_a_masked_meta_token() {
    snap("form_response_error", form_with_bad_response);
    let mut app = form_with_bad_response();
    let f = form(&app);
    assert_eq!(
        f.response_error.as_deref(),
        Some("response.status must be a 2xx status, from 200 to 299")
    );
    assert!(f.handshake_error.is_none() && f.errors.is_empty());
    assert_eq!(f.response_status.lines()[0], "302", "typed input survives");
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(!text.contains("tok-sekrit"), "the token shows:\n{text}");
    assert!(
        text.contains("✗ response.status must be a 2xx status"),
        "{text}"
    );
    assert!(text.contains("[meta]") && text.contains("<ok/>"), "{text}");
    // Fixed: the error goes and the put carries both settings.
    key(&mut app, Key::new(Code::BackTab));
    key(&mut app, Key::new(Code::BackTab));
    for _ in 0..3 {
        key(&mut app, Key::new(Code::Backspace));
    }
    keys(&mut app, "202");
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::Put(params)] = fx.as_slice() else {
        panic!("expected a put, got {fx:?}")
    };
    assert!(form(&app).response_error.is_none());
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(!text.contains('✗'), "{text}");
    let w = put_input(params)
        .apply(None, Uuid::new_v4(), NOW)
        .expect("a valid webhook");
    let shown = w.to_json("http://x").to_string();
    assert!(
        shown.contains(r#""handshake":{"type":"meta","verifyTokenSet":true}"#),
        "{shown}"
    );
    assert!(
        shown.contains(
            r#""response":{"status":202,"contentType":"application/xml","body":"<ok/>"}"#
        ),
        "{shown}"
    );
    assert!(!shown.contains("tok-sekrit") && !format!("{w:?}").contains("tok-sekrit"));

    // Editing it: the response is filled in, the token is kept unless typed, and an untouched
    // form sends neither.
    let view: hooktail::domain::WebhookView = w.clone().into();
    app.popup = Some(Popup::Form(Box::new(hooktail::tui::popups::Form::new(
        Some(&view),
    ))));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("(kept)") && text.contains("application/xml"),
        "{text}"
    );
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::Put(params)] = fx.as_slice() else {
        panic!("expected a put, got {fx:?}")
    };
    let input = put_input(params);
    assert!(
        input.handshake.is_none() && input.response.is_none(),
        "{input:?}"
    );
    // Emptying the three response fields removes the response.
    app.popup = Some(Popup::Form(Box::new(hooktail::tui::popups::Form::new(
        Some(&view),
    ))));
    tab(&mut app, 8);
    for _ in 0..3 {
        for _ in 0..20 {
            key(&mut app, Key::new(Code::Backspace));
        }
        tab(&mut app, 1);
    }
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::Put(params)] = fx.as_slice() else {
        panic!("expected a put, got {fx:?}")
    };
    let edited = put_input(params).apply(Some(&w), w.uuid, NOW).unwrap();
    assert_eq!(edited.response, None);
    assert_eq!(edited.handshake, w.handshake, "the token is kept");
}

/// A new meta handshake needs its token: the error shows beside it, before any put.
#[test]
fn a_meta_handshake_without_a_token_is_refused_beside_the_field() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('n'));
    keys(&mut app, "m");
    tab(&mut app, 6);
    key(&mut app, Key::new(Code::Left));
    assert_eq!(form(&app).handshake, "meta");
    assert!(key(&mut app, Key::ctrl('s')).is_empty());
    assert_eq!(
        form(&app).handshake_error.as_deref(),
        Some("handshake.verifyToken is required for meta")
    );
    // A token for another handshake is refused too.
    key(&mut app, Key::new(Code::Right));
    tab(&mut app, 1);
    keys(&mut app, "t");
    assert!(key(&mut app, Key::ctrl('s')).is_empty());
    assert_eq!(
        form(&app).handshake_error.as_deref(),
        Some("handshake.verifyToken is only for the meta handshake")
    );
}

/// §7: the selected webhook's Detail names its sender settings, never a secret or token.
#[test]
fn a_webhooks_sender_settings_show_by_name_only() {
    let mut app = populated(false, true);
    let params: BTreeMap<String, String> = [
        ("eventKey", "webhook.hub"),
        ("allowFrom", "10.0.0.0/8"),
        ("verify.scheme", "github"),
        ("verify.secret", "gh-sekrit"),
        ("handshake.type", "meta"),
        ("handshake.verifyToken", "tok-sekrit"),
        ("response.status", "202"),
        ("response.body", "thanks"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let w = hooktail::service::command::webhook_input(&params, 4_194_304)
        .unwrap()
        .apply(None, Uuid::new_v4(), NOW)
        .unwrap();
    app.update(Msg::Webhooks(vec![w.into()], HashMap::new()));
    key(&mut app, Key::char('1'));
    let text = screen_text(&render(&mut app, 120, 40));
    for shown in [
        "allowFrom   10.0.0.0/8",
        "verify      github (secret set)",
        "handshake   meta (verify token set)",
        "response    202 text/plain; charset=utf-8, 6 bytes",
    ] {
        assert!(text.contains(shown), "{shown} missing:\n{text}");
    }
    assert!(!text.contains("sekrit"), "{text}");
}

/// A webhook made by the API from these parameters.
fn made(pairs: &[(&str, &str)]) -> Webhook {
    let params: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    hooktail::service::command::webhook_input(&params, 4_194_304)
        .unwrap()
        .apply(None, Uuid::new_v4(), NOW)
        .unwrap()
}

/// Issue 10, finding 1: a secret typed in the edit form changes only the secret; the rest of
/// the verify config (tolerance, dedupHeader, a generic hmac config) stays as it is.
#[test]
fn a_secret_typed_in_the_form_keeps_the_rest_of_verify() {
    let stripe = made(&[
        ("eventKey", "webhook.stripe"),
        ("verify.scheme", "stripe"),
        ("verify.secret", "whsec_old"),
        ("verify.tolerance", "900"),
        ("verify.dedupHeader", "X-Id"),
    ]);
    let hmac = made(&[
        ("eventKey", "webhook.hmac"),
        ("verify.scheme", "hmac"),
        ("verify.secret", "old-secret"),
        ("verify.header", "X-Signature"),
        ("verify.encoding", "base64"),
    ]);
    for w in [stripe, hmac] {
        let mut app = populated(false, true);
        app.popup = Some(Popup::Form(Box::new(hooktail::tui::popups::Form::new(
            Some(&w.clone().into()),
        ))));
        // eventKey → payloadType → maxPayloadLength → allowFrom → verify → secret
        tab(&mut app, 5);
        keys(&mut app, "new-secret");
        let fx = key(&mut app, Key::ctrl('s'));
        let [Effect::Put(params)] = fx.as_slice() else {
            panic!("expected a put, got {fx:?}")
        };
        assert!(
            !params.0.contains_key("verify.scheme"),
            "{:?}",
            params.0.keys()
        );
        let edited = put_input(params).apply(Some(&w), w.uuid, NOW).unwrap();
        let (before, after) = (
            w.verify.unwrap().to_json(),
            edited.verify.unwrap().to_json(),
        );
        assert_eq!(after, before, "only the secret changed");
    }
}

/// Issue 10, finding 5: one submit shows every error at once, each beside its field: a bad
/// eventKey, a new stripe config without its secret, and a status that is not 2xx.
#[test]
fn every_error_of_one_submit_shows_beside_its_field() {
    let make = || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('n'));
        keys(&mut app, "Bad Key");
        // eventKey → payloadType → maxPayloadLength → allowFrom → verify
        tab(&mut app, 4);
        key(&mut app, Key::new(Code::Right));
        key(&mut app, Key::new(Code::Right));
        assert_eq!(
            form(&app).scheme,
            Some(hooktail::domain::verify::Scheme::Stripe)
        );
        // → secret → handshake → verifyToken → response status
        tab(&mut app, 4);
        keys(&mut app, "302");
        let fx = key(&mut app, Key::ctrl('s'));
        assert!(fx.is_empty(), "an invalid form is not submitted: {fx:?}");
        app
    };
    snap("form_all_errors", make);
    let mut app = make();
    let f = form(&app);
    assert!(f.errors.event_key.is_some());
    assert_eq!(f.verify_error.as_deref(), Some("verify.secret is required"));
    assert!(f.response_error.is_some() && f.error.is_none());
    // An error only the server finds shows beside the field it names too.
    app.update(Msg::PutDone(Err(hooktail::tui::msg::PutFailure::Other(
        "handshake.verifyToken is required for meta".into(),
    ))));
    assert!(form(&app).handshake_error.is_some() && form(&app).error.is_none());
    let text = screen_text(&render(&mut app, 120, 40));
    let lines: Vec<&str> = text.lines().collect();
    let below = |label: &str, error: &str| {
        let at = lines.iter().position(|l| l.contains(label)).unwrap();
        assert!(
            lines[at + 1].contains(error),
            "{error} not under {label}:\n{text}"
        );
    };
    below("secret", "✗ verify.secret is required");
    below("meta verifyToken", "✗ handshake.verifyToken is required");
}
