//! Pipelines in the dashboard, driven through the keymap: the Pipelines pane, the YAML
//! editor, deleting with a confirm, and the runs an event caused in Detail's Runs tab. The
//! first tests draw the pure core on ratatui's TestBackend (insta snapshots at 80x24 and
//! 120x40); the last ones run it against a real in-process server through the `Local`
//! backend, performing effects with the driver's own `answer`.

mod common;
#[path = "common/tui.rs"]
mod fixtures;
#[path = "common/peers.rs"]
mod peers;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fixtures::{NOW, config, render, screen};
use hooktail::app::Running;
use hooktail::domain::pipeline::{Run, RunStatus, StepLog, StepStatus};
use hooktail::domain::time::now_ms;
use hooktail::domain::{Event, PayloadType, Record};
use hooktail::http::Limits;
use hooktail::service::PipelineView;
use hooktail::service::{ServiceError, Source};
use hooktail::tui::backend::{Backend, Local};
use hooktail::tui::driver::answer;
use hooktail::tui::key::{Code, Key};
use hooktail::tui::keymap::PaneId;
use hooktail::tui::msg::{Effect, Msg, Opened};
use hooktail::tui::panes::Tab;
use hooktail::tui::popups::{EditorField, Popup, REFERENCE};
use hooktail::tui::state::Dashboard;
use ratatui::style::Color;
use uuid::Uuid;

/// A listed pipeline with 12 ok, 1 failed and 2 dead runs.
fn pipeline(name: &str, pattern: &str, enabled: bool, lag: u64, last: RunStatus) -> PipelineView {
    fixtures::pipeline(name, pattern, enabled, lag, (12, 1, 2), Some(last))
}

fn pipelines() -> Vec<PipelineView> {
    vec![
        pipeline("forward-to", "webhook.*", true, 3, RunStatus::Running),
        pipeline("lead-mail", "webhook.lead.created", true, 0, RunStatus::Ok),
        pipeline("orders", "webhook.order.*", false, 7, RunStatus::Dead),
    ]
}

const EVENT_ID: Uuid = Uuid::from_u128(0x0193a7d0_5e2b_7c41_9a0e_4b1d2c3e4f01);

fn event() -> Record {
    Record::Accepted(Event {
        id: EVENT_ID,
        event_key: "webhook.lead.created".into(),
        received_at: NOW - 60_000,
        method: "POST".into(),
        path: "/api/v3/command/webhook.receive".into(),
        query: BTreeMap::new(),
        headers: BTreeMap::new(),
        remote_addr: "127.0.0.1:50432".into(),
        content_type: Some("application/json".into()),
        size: 15,
        payload_type: PayloadType::Base64,
        files: vec![],
        form: BTreeMap::new(),
        verified: None,
        body: br#"{"lead":"ACME"}"#.to_vec(),
    })
}

fn step(step: &str, status: StepStatus, output: Option<&str>, error: Option<&str>) -> StepLog {
    StepLog {
        step: step.into(),
        status,
        duration_ms: 11,
        output: output.map(str::to_string),
        error: error.map(str::to_string),
    }
}

/// The runs of `event()`, newest first: a dead one whose target answered with control
/// characters, then an ok one.
fn runs() -> Vec<Run> {
    let run = |n: u128, pipeline: &str, status, attempts, error: Option<&str>, steps| Run {
        id: Uuid::from_u128(0x0193a7d0_0000_7000_8000_000000000000 + n),
        pipeline: pipeline.into(),
        version: 0,
        event_id: EVENT_ID,
        status,
        attempts,
        queued_at: NOW - 59_000,
        started_at: Some(NOW - 59_000),
        finished_at: Some(NOW - 58_000),
        duration_ms: Some(1_250),
        error: error.map(str::to_string),
        steps,
        next_attempt_at: None,
        resume: None,
    };
    vec![
        run(
            2,
            "orders",
            RunStatus::Dead,
            3,
            Some("http.post: the server answered 500: \x1b[2Jfailing"),
            vec![
                step("log", StepStatus::Ok, Some("\"order in\""), None),
                step(
                    "http.post",
                    StepStatus::Failed,
                    None,
                    Some("http.post: the server answered 500: \x1b[2Jfailing"),
                ),
            ],
        ),
        run(
            1,
            "lead-mail",
            RunStatus::Ok,
            1,
            None,
            vec![step(
                "mail",
                StepStatus::Ok,
                Some("{\"lead\":\"ACME\"}"),
                None,
            )],
        ),
    ]
}

fn key(app: &mut Dashboard, k: Key) -> Vec<Effect> {
    app.update(Msg::Key(k))
}

fn keys(app: &mut Dashboard, s: &str) {
    for c in s.chars() {
        key(app, Key::char(c));
    }
}

/// A dashboard with three pipelines listed and `event()` in the stream.
fn populated(read_only: bool, color: bool) -> Dashboard {
    let mut app = Dashboard::new(config(read_only, color), NOW);
    let fx = app.init();
    let generation = fx
        .iter()
        .find_map(|e| match e {
            Effect::LoadPage { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("a page load at start");
    app.update(Msg::Webhooks(vec![], Default::default()));
    app.update(Msg::Pipelines(Ok(pipelines())));
    app.update(Msg::Page {
        generation,
        kind: hooktail::tui::list::PageKind::Newest,
        records: vec![event()],
    });
    app
}

/// `populated`, with `event()` open on the Runs tab and its runs loaded, Detail focused.
fn on_runs_tab(read_only: bool, color: bool) -> Dashboard {
    let mut app = populated(read_only, color);
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(matches!(fx.as_slice(), [Effect::LoadRecord(id)] if *id == EVENT_ID));
    app.update(Msg::Detail(Some(Box::new(Opened::decode(event())))));
    for _ in 0..3 {
        assert!(key(&mut app, Key::char(']')).is_empty());
    }
    let fx = key(&mut app, Key::char(']'));
    assert!(
        matches!(fx.as_slice(), [Effect::LoadRuns(id)] if *id == EVENT_ID),
        "the Runs tab reads the event's runs: {fx:?}"
    );
    assert!(app.update(Msg::Runs(EVENT_ID, Ok(runs()))).is_empty());
    key(&mut app, Key::char('3'));
    app
}

/// The cells of a pipeline's row in the Pipelines pane, on the left of the screen.
fn pipeline_row(screen: &str, name: &str) -> Vec<String> {
    let border = |c: char| c == '│' || c == '┃';
    let line = screen
        .lines()
        .find(|l| {
            l.trim_start_matches(border)
                .starts_with(&format!("{name} "))
        })
        .unwrap_or_else(|| panic!("no row for {name}"));
    line.split(border)
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn hint_bar(app: &mut Dashboard) -> String {
    screen(app, 120, 40).lines().last().unwrap().to_string()
}

/// Snapshots the screen at 80x24 and 120x40.
fn snap(name: &str, mut make: impl FnMut() -> Dashboard) {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = make();
        let t = render(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

/// Opens the editor for a new pipeline from the Pipelines pane.
fn new_editor(app: &mut Dashboard) {
    key(app, Key::char('4'));
    assert_eq!(app.focus, PaneId::Pipelines);
    assert!(key(app, Key::char('n')).is_empty());
    assert!(
        matches!(app.popup, Some(Popup::Editor(_))),
        "n opens the editor"
    );
}

fn editor(app: &Dashboard) -> &hooktail::tui::popups::Editor {
    match &app.popup {
        Some(Popup::Editor(e)) => e,
        other => panic!("the editor is not open: {other:?}"),
    }
}

/// In a new editor: names the pipeline, then turns line 4's `mail` into `mail.sned`.
fn type_unknown_step(app: &mut Dashboard) {
    keys(app, "lead-mail");
    key(app, Key::new(Code::Tab));
    for _ in 0..3 {
        key(app, Key::new(Code::Down));
    }
    key(app, Key::new(Code::End));
    key(app, Key::new(Code::Left));
    keys(app, ".sned");
}

#[test]
fn snapshot_pipelines_pane() {
    snap("pipelines", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('4'));
        key(&mut app, Key::char('j'));
        app
    });
    let mut app = populated(false, true);
    key(&mut app, Key::char('4'));
    let text = screen(&mut app, 80, 24);
    for word in [
        "forward-to",
        "running",
        "lead-mail",
        "orders",
        "off",
        "dead",
    ] {
        assert!(text.contains(word), "{word} missing:\n{text}");
    }
    // Narrow: the selected pipeline's pattern is in the border. Wide: it has a column.
    assert!(text.contains("pattern webhook.*"), "{text}");
    let text = screen(&mut app, 200, 50);
    assert!(text.contains("webhook.order.*"), "{text}");
}

#[test]
fn snapshot_new_pipeline_editor() {
    snap("editor_new", || {
        let mut app = populated(false, true);
        new_editor(&mut app);
        keys(&mut app, "lead-mail");
        app
    });
}

#[test]
fn snapshot_editor_error_at_line_and_column() {
    snap("editor_error", || {
        let mut app = populated(false, true);
        new_editor(&mut app);
        type_unknown_step(&mut app);
        assert!(key(&mut app, Key::ctrl('s')).is_empty(), "nothing is sent");
        app
    });
}

#[test]
fn snapshot_delete_pipeline_dialog() {
    snap("delete_pipeline", || {
        let mut app = populated(false, true);
        key(&mut app, Key::char('4'));
        key(&mut app, Key::char('j'));
        key(&mut app, Key::char('d'));
        app
    });
}

#[test]
fn snapshot_runs_tab() {
    snap("runs", || on_runs_tab(false, true));
}

#[test]
fn the_runs_tab_reads_without_colour_and_escapes_control_characters() {
    snap("runs_no_color", || on_runs_tab(false, false));
    let mut app = on_runs_tab(false, false);
    let t = render(&mut app, 80, 24);
    for cell in t.backend().buffer().content() {
        assert_eq!(cell.fg, Color::Reset, "no colour under NO_COLOR");
    }
    let text = screen(&mut app, 120, 40);
    for words in [
        "orders dead  3 attempts  1.2 s",
        "lead-mail ok  1 attempt  1.2 s",
        "http.post failed",
        "log       ok",
        "error: http.post: the server answered 500: ^[[2Jfailing",
        "✗ http.post: the server answered 500: ^[[2Jfailing",
        "{\"lead\":\"ACME\"}",
    ] {
        assert!(text.contains(words), "{words:?} missing:\n{text}");
    }
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a raw control character reached the screen"
    );
}

#[test]
fn number_keys_and_tab_reach_the_pipelines_pane() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('4'));
    assert_eq!(app.focus, PaneId::Pipelines);
    key(&mut app, Key::new(Code::Tab));
    assert_eq!(app.focus, PaneId::Webhooks, "Tab wraps after Pipelines");
    key(&mut app, Key::new(Code::BackTab));
    assert_eq!(app.focus, PaneId::Pipelines);
    key(&mut app, Key::new(Code::BackTab));
    assert_eq!(app.focus, PaneId::Detail);
}

#[test]
fn n_makes_a_pipeline_in_pipelines_and_a_webhook_elsewhere() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('1'));
    key(&mut app, Key::char('n'));
    assert!(matches!(app.popup, Some(Popup::Form(_))));
    key(&mut app, Key::new(Code::Esc));
    new_editor(&mut app);
    let e = editor(&app);
    assert_eq!(e.field, EditorField::Name);
    assert_eq!(e.texts(), (String::new(), REFERENCE.to_string()));
    // The pane's n hides the global one in the hint bar.
    key(&mut app, Key::new(Code::Esc));
    let hints = hint_bar(&mut app);
    assert!(hints.contains("n new pipeline"), "{hints}");
    assert!(!hints.contains("new webhook"), "{hints}");
}

#[test]
fn a_new_pipeline_is_sent_with_its_name_and_exact_text() {
    let mut app = populated(false, true);
    new_editor(&mut app);
    keys(&mut app, "lead-mail");
    let fx = key(&mut app, Key::ctrl('s'));
    let [
        Effect::PutPipeline {
            name,
            yaml,
            enabled,
        },
    ] = fx.as_slice()
    else {
        panic!("{fx:?}")
    };
    assert_eq!(
        (name.as_str(), yaml.as_str(), *enabled),
        ("lead-mail", REFERENCE, true)
    );
    assert!(editor(&app).saving);
    // Saving twice sends nothing more.
    assert!(key(&mut app, Key::ctrl('s')).is_empty());
}

#[test]
fn an_invalid_document_shows_its_line_and_column_and_keeps_the_text() {
    let mut app = populated(false, true);
    new_editor(&mut app);
    type_unknown_step(&mut app);
    assert!(key(&mut app, Key::ctrl('s')).is_empty());
    let e = editor(&app);
    let error = e.error.as_deref().unwrap();
    assert!(error.starts_with("4:4: "), "{error}");
    assert!(error.contains("mail.sned"), "{error}");
    assert_eq!(e.field, EditorField::Document);
    assert_eq!(e.document.cursor(), (3, 3), "the cursor is at 4:4");
    assert_eq!(e.document.lines()[3], " - mail.sned:");
    assert_eq!(e.texts().0, "lead-mail");
    // The error is under the text on screen.
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("✗ 4:4: "), "{text}");
    // Fixing it and saving sends it.
    for _ in 0.."mail".len() {
        key(&mut app, Key::new(Code::Right));
    }
    for _ in 0..".sned".len() {
        key(&mut app, Key::new(Code::Delete));
    }
    let fx = key(&mut app, Key::ctrl('s'));
    assert!(matches!(fx.as_slice(), [Effect::PutPipeline { yaml, .. }] if yaml == REFERENCE));
}

#[test]
fn a_bad_name_is_refused_before_anything_is_sent() {
    let mut app = populated(false, true);
    new_editor(&mut app);
    keys(&mut app, "Lead Mail");
    assert!(key(&mut app, Key::ctrl('s')).is_empty());
    let e = editor(&app);
    assert!(e.error.as_deref().unwrap().contains("a-z"), "{:?}", e.error);
    assert_eq!(e.field, EditorField::Name);
    assert_eq!(e.texts().0, "Lead Mail");
}

#[test]
fn a_failed_save_keeps_the_editor_and_its_text() {
    let mut app = populated(false, true);
    new_editor(&mut app);
    keys(&mut app, "lead-mail");
    key(&mut app, Key::ctrl('s'));
    app.update(Msg::PipelineSaved(Err("the store is closed".into())));
    let e = editor(&app);
    assert!(!e.saving);
    assert_eq!(e.error.as_deref(), Some("the store is closed"));
    assert_eq!(e.texts(), ("lead-mail".to_string(), REFERENCE.to_string()));
    // Saved: the editor closes and the list is read again.
    key(&mut app, Key::ctrl('s'));
    let fx = app.update(Msg::PipelineSaved(Ok(pipelines().remove(1))));
    assert!(app.popup.is_none());
    assert!(matches!(fx.as_slice(), [Effect::LoadPipelines]), "{fx:?}");
}

#[test]
fn esc_asks_again_before_losing_changes() {
    let mut app = populated(false, true);
    new_editor(&mut app);
    key(&mut app, Key::new(Code::Esc));
    assert!(app.popup.is_none(), "nothing typed: Esc closes at once");
    new_editor(&mut app);
    keys(&mut app, "x");
    key(&mut app, Key::new(Code::Esc));
    assert!(app.popup.is_some(), "the first Esc only warns");
    assert!(screen(&mut app, 80, 24).contains("Esc again discards"));
    keys(&mut app, "y");
    key(&mut app, Key::new(Code::Esc));
    assert!(app.popup.is_some(), "typing again cancels the warning");
    key(&mut app, Key::new(Code::Esc));
    assert!(app.popup.is_none());
}

#[test]
fn edit_keeps_the_name_and_a_new_line_keeps_the_indentation() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('4'));
    key(&mut app, Key::char('j'));
    key(&mut app, Key::char('e'));
    let e = editor(&app);
    assert_eq!(e.editing.as_deref(), Some("lead-mail"));
    assert_eq!(e.field, EditorField::Document);
    assert!(
        !hint_bar(&mut app).contains("name / document"),
        "no name field to switch to"
    );
    key(&mut app, Key::new(Code::Tab));
    assert_eq!(editor(&app).field, EditorField::Document);
    // Line 5 is "      message: hi": a new line after it starts at the same indentation.
    for _ in 0..4 {
        key(&mut app, Key::new(Code::Down));
    }
    key(&mut app, Key::new(Code::End));
    key(&mut app, Key::new(Code::Enter));
    keys(&mut app, "level: WARN");
    let fx = key(&mut app, Key::ctrl('s'));
    let [Effect::PutPipeline { name, yaml, .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(name, "lead-mail");
    assert!(
        yaml.ends_with("      message: hi\n      level: WARN\n"),
        "{yaml}"
    );
}

#[test]
fn delete_asks_with_cancel_focused_and_names_the_pipeline() {
    let mut app = populated(false, true);
    key(&mut app, Key::char('4'));
    key(&mut app, Key::char('G'));
    key(&mut app, Key::char('d'));
    let Some(Popup::Confirm(c)) = &app.popup else {
        panic!("a dialog opens")
    };
    assert!(!c.delete_focused, "Cancel is focused");
    assert!(screen(&mut app, 80, 24).contains("Delete orders?"));
    assert!(key(&mut app, Key::new(Code::Enter)).is_empty());
    assert!(app.popup.is_none());
    key(&mut app, Key::char('d'));
    key(&mut app, Key::new(Code::Tab));
    let fx = key(&mut app, Key::new(Code::Enter));
    assert!(matches!(fx.as_slice(), [Effect::DeletePipeline(n)] if n == "orders"));
}

#[test]
fn read_only_offers_no_pipeline_changes_and_no_retry() {
    let mut app = on_runs_tab(true, true);
    assert!(key(&mut app, Key::char('R')).is_empty());
    assert!(!hint_bar(&mut app).contains("retry"));
    key(&mut app, Key::char('4'));
    for k in ['n', 'e', 'd'] {
        assert!(key(&mut app, Key::char(k)).is_empty());
        assert!(app.popup.is_none(), "{k} opened something");
    }
    let hints = hint_bar(&mut app);
    assert!(!hints.contains("edit") && !hints.contains("new"), "{hints}");
}

#[test]
fn r_retries_only_a_failed_or_dead_run_and_is_hinted_only_there() {
    let mut app = on_runs_tab(false, true);
    assert_eq!(app.panes.detail.shown.as_ref().unwrap().tab, Tab::Runs);
    // The dead run is selected: R is offered and asks the backend.
    assert!(hint_bar(&mut app).contains("R retry run"));
    let dead = runs()[0].id;
    let fx = key(&mut app, Key::char('R'));
    assert!(matches!(fx.as_slice(), [Effect::RetryRun(id)] if *id == dead));
    // The ok run: no hint, and R only explains.
    key(&mut app, Key::char('j'));
    assert!(!hint_bar(&mut app).contains("retry run"));
    assert!(key(&mut app, Key::char('R')).is_empty());
    assert!(screen(&mut app, 120, 40).contains("Only a failed or dead run can be retried"));
    // The answer reads the runs again.
    let mut retried = runs()[0].clone();
    retried.status = RunStatus::Queued;
    let fx = app.update(Msg::Retried(Ok(retried)));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::LoadRuns(id) if *id == EVENT_ID))
    );
}

#[test]
fn runs_are_read_one_at_a_time_and_stale_answers_ask_again() {
    let mut app = on_runs_tab(false, true);
    // The tick reads the runs again while the tab shows.
    let fx = app.update(Msg::Tick(NOW + 1000));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadRuns(_))),
        "{fx:?}"
    );
    let fx = app.update(Msg::Tick(NOW + 2000));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LoadRuns(_))),
        "a second read while one is on its way: {fx:?}"
    );
    // An answer for an event no longer shown is dropped, and the shown one is asked for.
    let other = Uuid::from_u128(99);
    let fx = app.update(Msg::Runs(other, Ok(vec![])));
    assert!(matches!(fx.as_slice(), [Effect::LoadRuns(id)] if *id == EVENT_ID));
    assert_eq!(app.panes.detail.runs.as_ref().unwrap().list.len(), 2);
    // Other tabs read no runs. (`[` works with Detail focused, through its own binding.)
    app.update(Msg::Runs(EVENT_ID, Ok(runs())));
    key(&mut app, Key::char('['));
    assert_eq!(app.panes.detail.shown.as_ref().unwrap().tab, Tab::Meta);
    let fx = app.update(Msg::Tick(NOW + 3000));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::LoadRuns(_))),
        "{fx:?}"
    );
}

#[test]
fn pipelines_are_read_every_second_one_at_a_time_and_less_often_when_slow() {
    // Answered at NOW: the next read is due a second later.
    let mut app = populated(false, true);
    assert!(!app.update(Msg::Tick(NOW + 500)).contains_load_pipelines());
    assert!(app.update(Msg::Tick(NOW + 1000)).contains_load_pipelines());
    assert!(
        !app.update(Msg::Tick(NOW + 2000)).contains_load_pipelines(),
        "a second read while one is on its way"
    );
    assert!(!app.update(Msg::Tick(NOW + 3000)).contains_load_pipelines());
    // The answer came 2 s after the read started: the next waits 4 × 2 s.
    app.update(Msg::Pipelines(Err("disk on fire".into())));
    assert!(screen(&mut app, 80, 24).contains("Error: disk on fire"));
    assert_eq!(
        app.panes.pipelines.list.len(),
        3,
        "a failed read keeps the list"
    );
    assert!(
        !app.update(Msg::Tick(NOW + 10_000))
            .contains_load_pipelines()
    );
    assert!(
        app.update(Msg::Tick(NOW + 11_000))
            .contains_load_pipelines()
    );
    // A save or a delete reads at once, whatever is due.
    app.update(Msg::Pipelines(Ok(pipelines())));
    let fx = app.update(Msg::PipelineDeleted(Ok(("orders".into(), true))));
    assert!(fx.contains_load_pipelines());
}

trait Effects {
    fn contains_load_pipelines(&self) -> bool;
}

impl Effects for Vec<Effect> {
    fn contains_load_pipelines(&self) -> bool {
        self.iter().any(|e| matches!(e, Effect::LoadPipelines))
    }
}

// Against a real in-process server, through `Local` and the driver's `answer`.

struct Live {
    running: Option<Running>,
    backend: Option<Local>,
    _dir: tempfile::TempDir,
}

impl Live {
    async fn start() -> Live {
        let dir = tempfile::tempdir().unwrap();
        let opts = common::options(dir.path().join("data"));
        let running = Running::start(&opts, Limits::default()).await.unwrap();
        assert!(
            running.ctx.pipelines.is_some(),
            "a server runs its pipelines"
        );
        Live {
            backend: Some(Local::new(running.ctx.clone())),
            running: Some(running),
            _dir: dir,
        }
    }

    fn backend(&self) -> &Local {
        self.backend.as_ref().unwrap()
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().unwrap().addr
    }

    fn ctx(&self) -> &hooktail::service::Service {
        &self.running.as_ref().unwrap().ctx
    }

    /// A dashboard with its start-up reads done.
    async fn dashboard(&self) -> Dashboard {
        let mut app = Dashboard::new(config(false, true), now_ms());
        app.update(Msg::Resize(120, 40));
        let fx = app.init();
        self.settle(&mut app, fx).await;
        app
    }

    /// Performs effects, and the effects their answers lead to, until none are left.
    async fn settle(&self, app: &mut Dashboard, fx: Vec<Effect>) {
        let mut queue = VecDeque::from(fx);
        while let Some(e) = queue.pop_front() {
            if let Some(msg) = answer(self.backend(), e).await {
                if let Msg::Error(e) = &msg {
                    panic!("{e}");
                }
                queue.extend(app.update(msg));
            }
        }
    }

    async fn press(&self, app: &mut Dashboard, k: Key) {
        let fx = key(app, k);
        self.settle(app, fx).await;
    }

    /// A webhook for `event_key`; its token.
    async fn webhook(&self, event_key: &str) -> Uuid {
        let params = [("eventKey".to_string(), event_key.to_string())].into();
        self.backend().put_webhook(params).await.unwrap().uuid
    }

    /// Calls a webhook over HTTP; the event's id.
    async fn call(&self, token: Uuid, body: &str) -> Uuid {
        let r = common::send(
            self.addr(),
            &common::post(
                common::RECEIVE,
                &format!("token: {token}\r\nContent-Type: application/json\r\n"),
                body.as_bytes(),
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["correlationId"].as_str().unwrap().parse().unwrap()
    }

    /// The event's run once it is in `status`.
    async fn run_in(&self, event: Uuid, status: RunStatus) -> Run {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let runs = self.backend().runs_of(event).await.unwrap();
            if let Some(r) = runs.into_iter().find(|r| r.status == status) {
                return r;
            }
            assert!(Instant::now() < deadline, "no {status:?} run for {event}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Loads the newest events, opens the newest and shows its Runs tab.
    async fn open_runs(&self, app: &mut Dashboard) {
        self.press(app, Key::char('G')).await;
        self.press(app, Key::new(Code::Enter)).await;
        while app.panes.detail.shown.as_ref().unwrap().tab != Tab::Runs {
            self.press(app, Key::char(']')).await;
        }
        self.press(app, Key::char('3')).await;
    }

    async fn stop(mut self) {
        // Our handle on the store must go first, or closing it would wait for it.
        drop(self.backend.take());
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

#[tokio::test]
async fn a_pipeline_made_in_the_editor_is_stored_and_listed() {
    let live = Live::start().await;
    let mut app = live.dashboard().await;
    assert!(screen(&mut app, 120, 40).contains("No pipelines yet"));
    new_editor(&mut app);
    keys(&mut app, "lead-mail");
    live.press(&mut app, Key::ctrl('s')).await;
    assert!(app.popup.is_none(), "saved: the editor closed");
    let stored = live.ctx().pipeline("lead-mail").await.unwrap();
    assert_eq!(stored.record.yaml, REFERENCE);
    assert_eq!(stored.record.event_key, "webhook.lead.created");
    assert!(stored.record.enabled);
    let listed = &app.panes.pipelines.list;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed.items()[0].record.name, "lead-mail");
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("Saved pipeline lead-mail"), "{text}");
    assert_eq!(
        pipeline_row(&text, "lead-mail"),
        ["lead-mail", "on", "0", "0", "0", "0", "—"],
        "{text}"
    );
    live.stop().await;
}

#[tokio::test]
async fn the_editor_and_the_api_refuse_the_same_document_at_the_same_place() {
    let live = Live::start().await;
    let mut app = live.dashboard().await;
    new_editor(&mut app);
    type_unknown_step(&mut app);
    live.press(&mut app, Key::ctrl('s')).await;
    let (name, yaml) = editor(&app).texts();
    let shown = editor(&app).error.clone().unwrap();
    let Err(ServiceError::BadRequest(refused)) = live
        .ctx()
        .put_pipeline(&name, yaml, true, Source::Dashboard)
        .await
    else {
        panic!("the API takes it")
    };
    assert_eq!(refused, format!("invalid pipeline: {shown}"));
    assert!(live.ctx().pipelines().await.unwrap().is_empty());
    live.stop().await;
}

#[tokio::test]
async fn delete_through_the_confirm_removes_the_pipeline() {
    let live = Live::start().await;
    live.ctx()
        .put_pipeline("lead-mail", REFERENCE.into(), true, Source::Dashboard)
        .await
        .unwrap();
    let mut app = live.dashboard().await;
    key(&mut app, Key::char('4'));
    live.press(&mut app, Key::char('d')).await;
    // Cancel is focused: Enter deletes nothing.
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert_eq!(live.ctx().pipelines().await.unwrap().len(), 1);
    live.press(&mut app, Key::char('d')).await;
    live.press(&mut app, Key::new(Code::Tab)).await;
    live.press(&mut app, Key::new(Code::Enter)).await;
    assert!(live.ctx().pipelines().await.unwrap().is_empty());
    assert!(app.panes.pipelines.list.is_empty());
    assert!(screen(&mut app, 120, 40).contains("Pipeline lead-mail deleted"));
    live.stop().await;
}

#[tokio::test]
async fn an_opened_event_shows_its_run_and_step_log() {
    let live = Live::start().await;
    let token = live.webhook("webhook.lead.created").await;
    let yaml = "pipeline:\n  - event.listen:\n      eventKey: webhook.lead.*\n  - log:\n      message: \"lead from #{body.eventKey}\"\n";
    live.ctx()
        .put_pipeline("lead-log", yaml.into(), true, Source::Dashboard)
        .await
        .unwrap();
    let event = live.call(token, r#"{"lead":"ACME"}"#).await;
    live.run_in(event, RunStatus::Ok).await;
    let mut app = live.dashboard().await;
    live.open_runs(&mut app).await;
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("lead-log ok  1 attempt"), "{text}");
    assert!(text.contains(" 1 log ok"), "{text}");
    assert!(
        text.contains("\"lead from webhook.lead.created\""),
        "{text}"
    );
    // The pane counts it.
    assert_eq!(
        pipeline_row(&text, "lead-log"),
        ["lead-log", "on", "0", "1", "0", "0", "ok"],
        "{text}"
    );
    live.stop().await;
}

#[tokio::test]
async fn a_dead_run_is_retried_from_the_runs_tab() {
    let live = Live::start().await;
    let target = peers::http_server().await;
    target.failing.store(true, Ordering::SeqCst);
    let token = live.webhook("webhook.order.paid").await;
    let yaml = format!(
        "pipeline:\n  - event.listen:\n      eventKey: webhook.order.paid\n  - http.post:\n      url: {}\n",
        target.url("/switch")
    );
    live.ctx()
        .put_pipeline("orders", yaml, true, Source::Dashboard)
        .await
        .unwrap();
    let event = live.call(token, r#"{"order":17}"#).await;
    let dead = live.run_in(event, RunStatus::Dead).await;
    let mut app = live.dashboard().await;
    live.open_runs(&mut app).await;
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("orders dead  1 attempt"), "{text}");
    assert!(text.contains("the server answered 500"), "{text}");
    assert!(hint_bar(&mut app).contains("R retry run"));

    target.failing.store(false, Ordering::SeqCst);
    live.press(&mut app, Key::char('R')).await;
    assert!(screen(&mut app, 120, 40).contains("Run of orders queued again"));
    let ok = live.run_in(event, RunStatus::Ok).await;
    assert_eq!((ok.id, ok.attempts), (dead.id, 2));
    // The next tick shows it.
    let fx = app.update(Msg::Tick(now_ms()));
    live.settle(&mut app, fx).await;
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("orders ok  2 attempts"), "{text}");
    assert!(!hint_bar(&mut app).contains("retry run"));
    live.stop().await;
}

#[test]
fn tiny_terminals_do_not_panic_in_the_editor_or_the_runs_tab() {
    let mut app = on_runs_tab(false, true);
    for (w, h) in [(1, 1), (10, 3), (40, 12), (41, 13), (99, 20)] {
        render(&mut app, w, h);
    }
    new_editor(&mut app);
    type_unknown_step(&mut app);
    key(&mut app, Key::ctrl('s'));
    for (w, h) in [(1, 1), (10, 3), (40, 12), (41, 13), (99, 20)] {
        render(&mut app, w, h);
    }
}
