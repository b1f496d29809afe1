//! The operator's papercuts of issue 11 (A–K, M, N), each driven through the keymap and
//! drawn on ratatui's TestBackend. A is `detail_follows_the_selection_through_k_g_and_live_arrivals`
//! in dashboard.rs.

#[path = "common/tui.rs"]
mod fixtures;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fixtures::{NOW, config, pipeline, render, screen};
use hooktail::domain::{Event, PayloadType, Record, Webhook};
use hooktail::store::WebhookStats;
use hooktail::tui::key::{Code, Key};
use hooktail::tui::keymap::PaneId;
use hooktail::tui::list::PageKind;
use hooktail::tui::msg::{Effect, Msg, Opened, PutFailure, SearchStep};
use hooktail::tui::popups::Popup;
use hooktail::tui::state::Dashboard;
use ratatui::style::Modifier;
use uuid::Uuid;

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
        body: body.to_vec(),
        verified: None,
    })
}

/// A dashboard with `hooks` loaded and `records` (oldest first) as its newest page.
fn app(read_only: bool, hooks: Vec<Webhook>, records: Vec<Record>) -> Dashboard {
    let mut app = Dashboard::new(config(read_only, true), NOW);
    app.init();
    app.update(Msg::Pipelines(Ok(vec![])));
    app.update(Msg::Webhooks(
        hooks.into_iter().map(Into::into).collect(),
        HashMap::<Uuid, WebhookStats>::new(),
    ));
    app.update(Msg::Counts(records.len() as u64, 0));
    let fx = key(&mut app, Key::char('G'));
    let [Effect::LoadPage { generation, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let generation = *generation;
    app.update(Msg::Page {
        generation,
        kind: PageKind::Newest,
        records: records.into_iter().rev().collect(),
    });
    app
}

fn populated() -> Dashboard {
    app(
        false,
        vec![
            webhook(1, "webhook.lead.created"),
            webhook(2, "webhook.order.paid"),
        ],
        vec![
            event(1, "webhook.lead.created", br#"{"a":1}"#, "application/json"),
            event(
                2,
                "webhook.order.paid",
                b"x=1",
                "application/x-www-form-urlencoded",
            ),
            event(3, "webhook.lead.created", b"hi", "text/plain"),
        ],
    )
}

fn key(app: &mut Dashboard, k: Key) -> Vec<Effect> {
    app.update(Msg::Key(k))
}

fn keys(app: &mut Dashboard, s: &str) {
    for c in s.chars() {
        key(app, Key::char(c));
    }
}

/// The screen's text with borders, padding and line breaks taken out, so that wrapped text
/// reads as one.
fn flat(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_matches(|c: char| "│┃ ".contains(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn b_form_errors_wrap_inside_the_box() {
    let mut app = populated();
    key(&mut app, Key::char('n'));
    keys(&mut app, "big");
    key(&mut app, Key::ctrl('s'));
    let message = "maxPayloadLength 9999999999 exceeds the server's --max-payload of 4194304 bytes";
    app.update(Msg::PutDone(Err(PutFailure::Other(message.into()))));
    let text = screen(&mut app, 80, 24);
    for word in message.split(' ') {
        assert!(text.contains(word), "{word:?} is cut off:\n{text}");
    }
}

#[test]
fn c_help_keeps_headings_with_their_keys_and_says_there_is_more() {
    let mut app = populated();
    key(&mut app, Key::char('?'));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("more lines"), "{text}");
    // Scrolling to the end shows the last group whole, and the marker goes.
    for _ in 0..80 {
        key(&mut app, Key::char('j'));
    }
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("switch button"), "{text}");
    assert!(!text.contains("more lines"), "{text}");
    // At 120x40 every heading has its keys on the rows below it, in the same column.
    let mut app = populated();
    key(&mut app, Key::char('?'));
    let text = screen(&mut app, 120, 40);
    let rows: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    for title in [
        "Everywhere",
        "Webhooks",
        "Events",
        "Detail",
        "Filter",
        "Forms",
    ] {
        let t: Vec<char> = title.chars().collect();
        let found = rows.iter().enumerate().find_map(|(y, r)| {
            (1..r.len().saturating_sub(t.len())).find_map(|x| {
                let here = r[x..x + t.len()] == t[..] && r[x - 1] == '│';
                let heading = here
                    || (r[x..x + t.len()] == t[..]
                        && r[x - 1] == ' '
                        && r[x - 2] == ' '
                        && r[x + t.len()] == ' ');
                heading.then_some((x, y))
            })
        });
        let (x, y) = found.unwrap_or_else(|| panic!("no heading {title}:\n{text}"));
        let below: String = rows[y + 1][x..x + 4].iter().collect();
        assert!(
            below.starts_with("  ") && !below.trim().is_empty(),
            "{title} is cut off from its keys:\n{text}"
        );
    }
}

#[test]
fn d_a_new_webhook_is_selected_with_its_url_and_token_shown() {
    let mut app = populated();
    key(&mut app, Key::char('n'));
    keys(&mut app, "zz.new");
    key(&mut app, Key::ctrl('s'));
    let new = webhook(9, "webhook.zz.new");
    let fx = app.update(Msg::PutDone(Ok(new.clone().into())));
    assert!(matches!(fx.as_slice(), [Effect::LoadWebhooks]));
    app.update(Msg::Webhooks(
        vec![
            webhook(1, "webhook.lead.created").into(),
            new.clone().into(),
            webhook(2, "webhook.order.paid").into(),
        ],
        HashMap::new(),
    ));
    assert_eq!(app.focus, PaneId::Webhooks);
    assert_eq!(
        app.panes.webhooks.selected().map(|r| r.webhook.uuid),
        Some(new.uuid)
    );
    let text = flat(&screen(&mut app, 80, 24));
    let token = new.uuid.to_string();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(
        words.windows(2).any(|w| w == ["token", token.as_str()]),
        "{text}"
    );
    let url = new.url("http://127.0.0.1:8080");
    let shown: String = text.split_whitespace().collect();
    assert!(shown.contains(&url), "{text}");
}

#[test]
fn e_a_long_event_key_is_cut_not_the_token_column() {
    let mut app = app(
        false,
        vec![
            webhook(1, "webhook.a"),
            webhook(2, "webhook.lead.created.v22"),
        ],
        vec![],
    );
    key(&mut app, Key::char('1'));
    let text = screen(&mut app, 120, 40);
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("┃webhook.a ")).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows.iter().all(|r| r.contains("a29a4f16")), "{text}");
    assert!(text.contains("lead.created.v22"), "{text}");
}

#[test]
fn f_long_values_wrap_in_detail() {
    let jwt = format!("Bearer eyJ{}.sig", "A".repeat(300));
    let mut rec = event(5, "webhook.a", b"", "text/plain");
    if let Record::Accepted(e) = &mut rec {
        e.headers.insert("authorization".into(), jwt.clone());
        e.body = format!("token={jwt}").into_bytes();
        e.size = e.body.len() as u64;
    }
    let mut app = populated();
    app.update(Msg::Detail(Some(Box::new(Opened::decode(rec)))));
    // Body (text), then Headers.
    for _ in 0..2 {
        let text = screen(&mut app, 100, 40);
        let shown: String = text
            .lines()
            .flat_map(|l| {
                l.trim_matches(|c: char| "│┃".contains(c))
                    .split_whitespace()
            })
            .collect();
        let want: String = jwt.split_whitespace().collect();
        assert!(shown.contains(&want), "the value is cut:\n{text}");
        key(&mut app, Key::char(']'));
    }
}

#[test]
fn g_the_events_filter_matches_the_content_type_shown() {
    let mut app = populated();
    key(&mut app, Key::char('2'));
    key(&mut app, Key::char('/'));
    keys(&mut app, "json");
    let fx = key(&mut app, Key::new(Code::Enter));
    let [Effect::LoadPage { query, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let json = event(7, "webhook.x", b"{}", "application/json");
    let form = event(8, "webhook.x", b"a=1", "application/x-www-form-urlencoded");
    assert!(query.filter.matches(json.summary()));
    assert!(!query.filter.matches(form.summary()));
    // Arrivals are matched the same way.
    app.update(Msg::Record(Arc::new(form.clone())));
    app.update(Msg::Record(Arc::new(json.clone())));
    let ids: Vec<Uuid> = app
        .panes
        .events
        .list
        .items()
        .iter()
        .map(|r| r.id())
        .collect();
    assert!(ids.contains(&json.id()) && !ids.contains(&form.id()));
}

#[test]
fn h_a_second_slash_starts_from_the_text_selected_and_ctrl_u_w_erase() {
    let mut app = populated();
    key(&mut app, Key::char('1'));
    key(&mut app, Key::char('/'));
    keys(&mut app, "lead");
    key(&mut app, Key::new(Code::Enter));
    assert_eq!(app.panes.webhooks.filter, "lead");
    // Typing replaces the old text rather than appending to it.
    key(&mut app, Key::char('/'));
    keys(&mut app, "order");
    assert_eq!(app.panes.webhooks.filter, "order");
    // Ctrl-W takes a word, Ctrl-U all of it.
    keys(&mut app, " paid");
    key(&mut app, Key::ctrl('w'));
    assert_eq!(app.panes.webhooks.filter, "order");
    key(&mut app, Key::ctrl('u'));
    assert_eq!(app.panes.webhooks.filter, "");
    let Some(Popup::Filter(_)) = &app.popup else {
        panic!("the filter stays open")
    };
}

#[test]
fn i_esc_in_detail_returns_focus_to_events() {
    let mut app = populated();
    key(&mut app, Key::new(Code::Enter));
    key(&mut app, Key::char('3'));
    key(&mut app, Key::new(Code::Esc));
    assert_eq!(app.focus, PaneId::Events);
    let text = screen(&mut app, 120, 40);
    let hints = text.lines().last().unwrap();
    assert!(hints.contains("open in Detail"), "{hints}");
    assert!(!hints.contains("next tab"), "{hints}");
}

#[test]
fn j_small_terminals_keep_the_rate_and_the_end_of_keys() {
    let mut app = populated();
    let text = screen(&mut app, 60, 16);
    let header = text.lines().next().unwrap();
    assert!(header.contains("/s"), "{header}");
    assert!(header.contains("LIVE"), "{header}");
    let text = screen(&mut app, 40, 12);
    assert!(text.lines().next().unwrap().contains("/s"), "{text}");
    assert!(!text.contains("webhook…"), "{text}");
    assert!(text.contains("created") && text.contains("paid"), "{text}");
    // At 100x30 (README's picture) the side-by-side Events pane keeps size and type.
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("json") && text.contains("B "), "{text}");
}

#[test]
fn k_the_rate_follows_within_a_second_and_falls_to_zero() {
    let mut app = populated();
    for n in 10..60 {
        app.update(Msg::Record(Arc::new(event(
            n,
            "webhook.a",
            b"",
            "text/plain",
        ))));
    }
    app.update(Msg::Tick(NOW + 1000));
    assert_eq!(app.rate(), 50.0);
    assert!(screen(&mut app, 120, 40).contains("50.0 ev/s"));
    // Calls stop: one tick later the rate is 0, not an average that lingers.
    app.update(Msg::Tick(NOW + 2000));
    assert_eq!(app.rate(), 0.0);
    // A late tick divides by the time it really took.
    for n in 60..70 {
        app.update(Msg::Record(Arc::new(event(
            n,
            "webhook.a",
            b"",
            "text/plain",
        ))));
    }
    app.update(Msg::Tick(NOW + 4000));
    assert_eq!(app.rate(), 5.0);
}

#[test]
fn n_one_webhook_and_the_position_in_events() {
    // A full page of the newest: the stored count places it.
    let page: Vec<Record> = (1..=hooktail::tui::panes::PAGE as u128)
        .map(|n| event(n, "webhook.a", b"", "text/plain"))
        .collect();
    let mut app = app(false, vec![webhook(1, "webhook.a")], page);
    app.update(Msg::Counts(21_553, 0));
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("│ 1 webhook │"), "{text}");
    assert!(text.contains("21,553/21,553"), "{text}");
    app.update(Msg::Counts(1, 0));
    let one = screen(&mut app, 120, 40);
    assert!(one.contains("│ 1 event │"), "{one}");
    app.update(Msg::Counts(21_553, 0));
    key(&mut app, Key::char('k'));
    assert!(screen(&mut app, 120, 40).contains("21,552/21,553"));
}

#[test]
fn n_read_only_keys_say_why_and_help_leaves_them_out() {
    let mut app = populated_read_only();
    key(&mut app, Key::char('1'));
    for k in ['n', 'e', 'd'] {
        assert!(key(&mut app, Key::char(k)).is_empty());
        assert!(app.popup.is_none());
        let (toast, _) = app.toast.clone().expect("feedback");
        assert!(toast.contains("Read-only"), "{toast}");
    }
    key(&mut app, Key::char('?'));
    let text = screen(&mut app, 120, 40);
    assert!(
        !text.contains("new webhook") && !text.contains("delete"),
        "{text}"
    );
}

fn populated_read_only() -> Dashboard {
    app(true, vec![webhook(1, "webhook.a")], vec![])
}

#[test]
fn n_multipart_rows_name_the_file_first() {
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fileA.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 A\r\n--XyZ--\r\n";
    let rec = event(9, "webhook.a", body, "multipart/form-data; boundary=XyZ");
    let mut app = populated();
    app.update(Msg::Detail(Some(Box::new(Opened::decode(rec)))));
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("file  fileA.pdf  application/pdf, 10 bytes, field file"),
        "{text}"
    );
}

#[test]
fn n_t_switches_times_between_utc_local_and_age() {
    let mut app = populated();
    app.utc_offset_s = 3600;
    assert!(screen(&mut app, 120, 40).contains("14:59:03 ok"));
    key(&mut app, Key::char('t'));
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("local, UTC+01:00") && text.contains("15:59:03 ok"),
        "{text}"
    );
    key(&mut app, Key::char('t'));
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("(age)") && text.contains("57s ago ok"),
        "{text}"
    );
    key(&mut app, Key::char('t'));
    assert!(screen(&mut app, 120, 40).contains("(UTC)"));
}

#[test]
fn n_only_the_focused_pane_shows_its_selection_in_reverse_video() {
    let mut app = populated();
    key(&mut app, Key::char('1'));
    let t = render(&mut app, 120, 40);
    let buf = t.backend().buffer();
    let reversed_rows: std::collections::BTreeSet<u16> = (0..buf.area.height)
        .filter(|&y| (0..buf.area.width).any(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED)))
        .collect();
    // The header's LIVE badge, and the one selected row.
    assert_eq!(reversed_rows.len(), 2, "{reversed_rows:?}");
}

#[test]
fn k_from_the_newest_row_moves_the_highlight_not_the_rows() {
    let records: Vec<Record> = (1..=30)
        .map(|n| event(n, "webhook.a", b"", "text/plain"))
        .collect();
    let mut app = app(false, vec![], records);
    let before = screen(&mut app, 120, 40);
    key(&mut app, Key::char('k'));
    let after = screen(&mut app, 120, 40);
    let first_row = |t: &str| {
        t.lines()
            .nth(2)
            .unwrap()
            .chars()
            .skip(54)
            .take(20)
            .collect::<String>()
    };
    assert_eq!(first_row(&before), first_row(&after));
}

#[test]
fn pipeline_names_stay_whole_from_59_to_75_columns() {
    for w in 59..=75 {
        let mut app = populated();
        app.update(Msg::Pipelines(Ok(vec![
            pipeline(
                "lead-mail-to-sales",
                "webhook.lead.*",
                true,
                0,
                (1, 0, 0),
                None,
            ),
            pipeline("orders", "webhook.order.*", false, 0, (0, 0, 0), None),
        ])));
        let text = screen(&mut app, w, 24);
        assert!(text.contains("lead-mail-to-sales"), "{w} columns:\n{text}");
    }
}

#[test]
fn the_hint_bar_at_80_columns_keeps_n() {
    let mut app = populated();
    let text = screen(&mut app, 80, 24);
    let hints = text.lines().last().unwrap();
    assert!(hints.contains("n new webhook"), "{hints}");
}

/// `n` JSON events, every `every`-th with "ACME" in its body.
fn bodies(range: std::ops::Range<u128>, every: u128) -> Vec<Record> {
    range
        .rev()
        .map(|n| {
            let body = if n % every == 0 {
                format!(r#"{{"lead":"AcMe {n}"}}"#)
            } else {
                format!(r#"{{"lead":"other {n}"}}"#)
            };
            event(n, "webhook.a", body.as_bytes(), "application/json")
        })
        .collect()
}

#[test]
fn g_b_searches_bodies_in_bounded_steps_with_progress_and_esc_stops() {
    let mut app = populated();
    app.update(Msg::Counts(1_000_000, 0));
    key(&mut app, Key::char('2'));
    key(&mut app, Key::char('b'));
    keys(&mut app, "acme");
    let fx = key(&mut app, Key::new(Code::Enter));
    let [
        Effect::SearchBodies {
            generation,
            text,
            before: None,
            limit,
        },
    ] = fx.as_slice()
    else {
        panic!("{fx:?}")
    };
    assert_eq!((text.as_str(), *limit), ("acme", 16));
    let generation = *generation;
    // The driver's step: 16 events read, 2 match, bodies dropped.
    let step = SearchStep::run(generation, bodies(100..116, 8), "acme");
    assert_eq!((step.scanned, step.found.len(), step.done), (16, 2, false));
    assert!(
        step.found
            .iter()
            .all(|r| matches!(r, Record::Accepted(e) if e.body.is_empty()))
    );
    let last = step.last;
    let fx = app.update(Msg::SearchStep(step));
    // Small bodies: the next step reads more, from before the oldest read.
    let [Effect::SearchBodies { before, limit, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(*before, last);
    assert!(*limit > 16 && *limit <= 1024, "{limit}");
    assert_eq!(app.panes.events.list.len(), 2);
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("body ~ acme: searching… 16/1,000,000, 2 found"),
        "{text}"
    );
    // Esc stops it: back to the stream, and a late answer is dropped.
    let fx = key(&mut app, Key::new(Code::Esc));
    assert!(matches!(fx.as_slice(), [Effect::LoadPage { .. }]), "{fx:?}");
    assert!(app.panes.events.search.is_none());
    let late = SearchStep::run(generation, bodies(50..60, 1), "acme");
    assert!(app.update(Msg::SearchStep(late)).is_empty());
}

#[test]
fn g_a_body_search_ends_at_the_oldest_and_keeps_at_most_a_window() {
    let mut app = populated();
    key(&mut app, Key::char('b'));
    keys(&mut app, "acme");
    let fx = key(&mut app, Key::new(Code::Enter));
    let [Effect::SearchBodies { generation, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let generation = *generation;
    // Big bodies keep steps small.
    let mut big = bodies(0..16, 1);
    for r in &mut big {
        if let Record::Accepted(e) = r {
            e.body.extend(std::iter::repeat_n(b' ', 4 << 20));
        }
    }
    let fx = app.update(Msg::SearchStep(SearchStep::run(generation, big, "acme")));
    let [Effect::SearchBodies { limit, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(*limit, 16);
    // Everything matches: the search stops once a window is full.
    let many = bodies(1000..2000, 1);
    let fx = app.update(Msg::SearchStep(SearchStep::run(generation, many, "acme")));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(app.panes.events.list.len(), hooktail::tui::panes::WINDOW);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("searched"), "{text}");
}
