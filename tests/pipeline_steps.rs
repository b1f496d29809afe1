//! Pipeline steps against real servers: mail over SMTP to a server speaking the protocol
//! through the `mailin` crate, HTTP steps and http.forward against a hyper server, and exec
//! with real programs. All on 127.0.0.1:0.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hooktail::domain::pipeline::{Failure, Level, Next, Outcome, Pipeline, RunState, StepStatus};
use hooktail::domain::{Event, PayloadType};
use hooktail::pipeline::{self, Env, HttpClient, LogSink, Mailer, SmtpConfig, Trigger};
use serde_json::json;
use uuid::Uuid;

#[path = "common/peers.rs"]
mod peers;

use peers::*;

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Log lines, kept so tests can read what steps logged.
#[derive(Default)]
struct Logs(Mutex<Vec<(Level, String, String)>>);

impl LogSink for Logs {
    fn log(&self, level: Level, pipeline: &str, message: &str) {
        self.0
            .lock()
            .unwrap()
            .push((level, pipeline.to_string(), message.to_string()));
    }
}

impl Logs {
    fn all(&self) -> Vec<(Level, String, String)> {
        self.0.lock().unwrap().clone()
    }
}

fn env(allow_exec: bool, mailer: Option<Mailer>) -> (Env, Arc<Logs>) {
    let logs = Arc::new(Logs::default());
    let env = Env {
        mailer,
        allow_exec,
        http: HttpClient::new().unwrap(),
        log: logs.clone(),
    };
    (env, logs)
}

fn event(body: &[u8]) -> Event {
    Event {
        id: Uuid::now_v7(),
        event_key: "webhook.lead.created".into(),
        received_at: 0,
        method: "POST".into(),
        path: "/api/v3/command/webhook.receive".into(),
        query: BTreeMap::from([("source".to_string(), "crm".to_string())]),
        headers: BTreeMap::from([("content-type".to_string(), "application/json".to_string())]),
        remote_addr: "127.0.0.1:1".into(),
        content_type: Some("application/json".into()),
        size: body.len() as u64,
        payload_type: PayloadType::Base64,
        files: vec![],
        form: BTreeMap::new(),
        verified: None,
        body: body.to_vec(),
    }
}

/// A pipeline listening on `webhook.#` with these steps (YAML list items).
fn pipeline(steps: &str) -> Pipeline {
    let doc = format!("pipeline:\n  - event.listen:\n      eventKey: 'webhook.#'\n{steps}");
    Pipeline::parse(&doc).unwrap_or_else(|e| panic!("{e}\n{doc}"))
}

async fn run(p: &Pipeline, trigger: &Trigger, env: &Env) -> Outcome {
    pipeline::start(p, "test", trigger, env).await
}

fn ok_state(o: Outcome) -> RunState {
    match o {
        Outcome::Ok(s) => s,
        other => panic!("expected ok, got {other:#?}"),
    }
}

fn failure(o: Outcome) -> Failure {
    match o {
        Outcome::Failed(f) => f,
        other => panic!("expected a failure, got {other:#?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// mail

/// The reference example of SPEC §6, exactly as written there.
const REFERENCE: &str = r##"pipeline:
 - event.listen:
     eventKey: webhook.lead.created
 - mail:
     to: name@company.tld
     subject: "New lead was created!"
     body: "#{@convert.fromBase64(body.origin)}"
"##;

#[tokio::test]
async fn reference_example_mails_the_exact_json_body() {
    let (addr, rx) = smtp_server(false, false);
    let config = SmtpConfig::parse(&format!("smtp://{addr}")).unwrap();
    let (env, _) = env(false, Some(Mailer::new(&config).unwrap()));
    let p = Pipeline::parse(REFERENCE).unwrap();
    // Non-ASCII text, a bare LF, a CRLF, a line starting with a dot, and a trailing newline:
    // all must arrive byte for byte.
    let json = "{\"lead\":\"ACME GmbH – Köln\",\n\"note\":\"a\r\n.b\",\"score\":90}\n".as_bytes();
    let trigger = Trigger::from_event(&event(json));

    let state = ok_state(run(&p, &trigger, &env).await);

    let mail = recv(&rx);
    assert_eq!(mail.to, ["name@company.tld"]);
    assert_eq!(mail.from, "hooktail@localhost");
    let (head, body) = decode_message(&mail.data);
    assert!(head.contains("\r\nTo: name@company.tld\r\n"), "{head}");
    assert!(
        head.contains("\r\nSubject: New lead was created!\r\n"),
        "{head}"
    );
    assert_eq!(body, json, "the decoded body is the webhook's exact body");
    // The mail step's output is its input: the event.
    assert_eq!(state.body, trigger.first_body);
    assert_eq!(state.steps.len(), 1);
    assert_eq!(state.steps[0].status, StepStatus::Ok);
}

#[tokio::test]
async fn mail_uses_the_url_credentials_and_never_logs_them() {
    let (addr, rx) = smtp_server(true, false);
    let config = SmtpConfig::parse(&format!("smtp://bot%40x.tld:s3cr%3At-pw@{addr}")).unwrap();
    let (env, logs) = env(false, Some(Mailer::new(&config).unwrap()));
    let p = pipeline(
        r##"  - mail.send:
      to: [a@x.tld, "B <b@x.tld>"]
      cc: c@x.tld
      bcc: d@x.tld
      fromName: Hook Tail
      subject: "#{body.eventKey}"
      message: "#{body.payload}"
  - log:
      message: sent
"##,
    );
    let state = ok_state(run(&p, &Trigger::from_event(&event(b"{}")), &env).await);
    let mail = recv(&rx);
    assert_eq!(
        mail.auth,
        Some(("bot@x.tld".to_string(), "s3cr:t-pw".to_string()))
    );
    assert_eq!(
        mail.from, "bot@x.tld",
        "the sender defaults to the SMTP user"
    );
    assert_eq!(mail.to, ["a@x.tld", "b@x.tld", "c@x.tld", "d@x.tld"]);
    let (head, body) = decode_message(&mail.data);
    assert!(head.contains("Subject: webhook.lead.created\r\n"), "{head}");
    assert!(head.contains("From: \"Hook Tail\" <bot@x.tld>"), "{head}");
    assert!(
        !head.contains("d@x.tld"),
        "bcc stays out of the headers: {head}"
    );
    assert_eq!(body, br#"{"origin":"e30="}"#);
    let everything = format!("{:?} {:?} {:?}", logs.all(), state, config);
    assert!(!everything.contains("s3cr"), "{everything}");
}

#[tokio::test]
async fn mail_failures_are_step_errors() {
    let p = pipeline("  - mail: {to: a@x.tld, subject: s, message: m}\n");
    let trigger = Trigger::from_event(&event(b"x"));
    let (no_smtp, _) = env(false, None);
    let f = failure(run(&p, &trigger, &no_smtp).await);
    assert!(f.error.contains("--smtp-url"), "{}", f.error);

    let (addr, _rx) = smtp_server(false, true);
    let config = SmtpConfig::parse(&format!("smtp://{addr}")).unwrap();
    let (env, _) = env(false, Some(Mailer::new(&config).unwrap()));
    let f = failure(run(&p, &trigger, &env).await);
    assert!(f.error.contains("SMTP server"), "{}", f.error);
    assert_eq!(f.step, 0);
}

// ---------------------------------------------------------------------------------------------
// http.*

#[tokio::test]
async fn http_steps_send_what_they_say_and_parse_json_answers() {
    let server = http_server().await;
    let (env, _) = env(false, None);
    let p = pipeline(&format!(
        r##"  - http.post:
      url: "{post}"
      headers: {{x-sig: "#{{@hash.sha256(body.origin)}}", x-n: 7}}
      body: {{lead: "#{{body.eventKey}}", n: 1}}
  - http.put:
      url: "{text}"
      body: "raw text"
      headers: {{content-type: application/x-custom}}
  - http.get:
      url: "{get}"
  - http.patch: {{url: "{patch}"}}
  - http.delete: {{url: "{delete}"}}
"##,
        post = server.url("/json?a=1"),
        text = server.url("/text"),
        get = server.url("/json"),
        patch = server.url("/patched"),
        delete = server.url("/deleted"),
    ));
    let trigger = Trigger::from_event(&event(b"{\"lead\":1}"));
    let state = ok_state(run(&p, &trigger, &env).await);

    let posts: Vec<_> = server
        .requests("/json")
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post.query.as_deref(), Some("a=1"));
    assert_eq!(post.body, r#"{"lead":"webhook.lead.created","n":1}"#);
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(post.header("x-n"), Some("7"));
    let expected_sig = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(B64.encode(b"{\"lead\":1}").as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(post.header("x-sig"), Some(expected_sig.as_str()));

    let put = &server.requests("/text")[0];
    assert_eq!(
        (put.method.as_str(), &put.body[..]),
        ("PUT", &b"raw text"[..])
    );
    assert_eq!(put.header("content-type"), Some("application/x-custom"));

    let get = server
        .requests("/json")
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert!(get.body.is_empty(), "GET sends no body unless given one");

    // PATCH sends the current body by default: the GET's parsed JSON answer.
    let patch = &server.requests("/patched")[0];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.body, r#"{"ok":true,"n":1}"#);
    assert_eq!(patch.header("content-type"), Some("application/json"));
    assert_eq!(server.requests("/deleted")[0].method, "DELETE");

    let outputs: Vec<_> = state
        .steps
        .iter()
        .map(|s| s.output.clone().unwrap())
        .collect();
    assert_eq!(
        outputs[0], r#"{"ok":true,"n":1}"#,
        "JSON answers are parsed"
    );
    assert_eq!(outputs[1], r#""plain""#, "text answers stay text");
    assert_eq!(state.body, json!("echo"));
}

#[tokio::test]
async fn http_error_status_timeout_and_size_limits() {
    let server = http_server().await;
    let (env, _) = env(false, None);
    let trigger = Trigger::from_event(&event(b"x"));

    let p = pipeline(&format!(
        "  - http.get: {{url: '{}'}}\n",
        server.url("/status/404")
    ));
    let f = failure(run(&p, &trigger, &env).await);
    assert!(f.error.contains("answered 404: status 404"), "{}", f.error);

    let p = pipeline(&format!(
        "  - http.get: {{url: '{}', ignoreErrorStatus: true}}\n",
        server.url("/status/500")
    ));
    assert_eq!(
        ok_state(run(&p, &trigger, &env).await).body,
        json!("status 500")
    );

    let p = pipeline(&format!(
        "  - http.get: {{url: '{}', timeout: 0.2}}\n",
        server.url("/hang")
    ));
    let f = failure(run(&p, &trigger, &env).await);
    assert!(
        f.error.contains("no complete answer within 0.2 s"),
        "{}",
        f.error
    );

    let p = pipeline(&format!(
        "  - http.get: {{url: '{}'}}\n",
        server.url("/big")
    ));
    let f = failure(run(&p, &trigger, &env).await);
    assert!(f.error.contains("at most 4194304 bytes"), "{}", f.error);

    let p = pipeline("  - http.get: {url: 'ftp://x/'}\n");
    let f = failure(run(&p, &trigger, &env).await);
    assert!(f.error.contains("http:// or https://"), "{}", f.error);
}

// ---------------------------------------------------------------------------------------------
// http.forward

#[tokio::test]
async fn forward_sends_the_exact_call_minus_the_token() {
    let server = http_server().await;
    let (env, _) = env(false, None);
    let body: Vec<u8> = (0..=255u8).chain(*b"\r\nend").collect();
    let trigger = Trigger {
        first_body: json!({}),
        body: Bytes::from(body.clone()),
        method: "POST".into(),
        query: vec![
            ("source".into(), "crm".into()),
            ("token".into(), "secret-token".into()),
            ("Uuid".into(), "secret-uuid".into()),
            ("multi".into(), "1".into()),
            ("multi".into(), "2".into()),
        ],
        headers: vec![
            ("content-type".into(), "application/octet-stream".into()),
            ("x-hub-signature-256".into(), "sha256=abc".into()),
            ("Token".into(), "secret-token".into()),
            ("connection".into(), "x-hop".into()),
            ("x-hop".into(), "1".into()),
            ("keep-alive".into(), "timeout=5".into()),
            ("host".into(), "original.example".into()),
            ("user-agent".into(), "GitHub-Hookshot/1".into()),
        ],
    };
    let p = pipeline(&format!(
        "  - http.forward: {{url: '{}'}}\n",
        server.url("/fwd?k=1")
    ));
    let state = ok_state(run(&p, &trigger, &env).await);

    let got = &server.requests("/fwd")[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.body, body, "the exact body bytes");
    assert_eq!(got.query.as_deref(), Some("k=1&source=crm&multi=1&multi=2"));
    let names: Vec<&str> = got.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(got.header("content-type"), Some("application/octet-stream"));
    assert_eq!(got.header("x-hub-signature-256"), Some("sha256=abc"));
    assert_eq!(got.header("user-agent"), Some("GitHub-Hookshot/1"));
    assert_eq!(got.header("content-length"), Some("261"));
    assert_eq!(got.header("host"), Some(server.addr.to_string().as_str()));
    for gone in ["token", "x-hop", "keep-alive", "connection"] {
        assert!(
            !names.contains(&gone),
            "{gone} must not be forwarded: {names:?}"
        );
    }
    assert!(
        !format!("{:?}", got).contains("secret"),
        "no token anywhere: {got:?}"
    );
    assert_eq!(state.body["status"], 200);
    assert_eq!(state.body["headers"]["x-reply"], "yes");
    assert_eq!(state.body["body"], "echo");

    // A stored event (token already dropped at ingest) forwards the same way; GET stays GET.
    let mut e = event(b"");
    e.method = "GET".into();
    let p = pipeline(&format!(
        "  - http.forward: {{url: '{}'}}\n",
        server.url("/fwd2")
    ));
    ok_state(run(&p, &Trigger::from_event(&e), &env).await);
    let got = &server.requests("/fwd2")[0];
    assert_eq!(
        (got.method.as_str(), got.query.as_deref()),
        ("GET", Some("source=crm"))
    );
    assert!(got.body.is_empty());

    let p = pipeline(&format!(
        "  - http.forward: {{url: '{}'}}\n",
        server.url("/status/502")
    ));
    let f = failure(run(&p, &trigger, &env).await);
    assert!(
        f.error.contains("http.forward: the server answered 502"),
        "{}",
        f.error
    );
}

// ---------------------------------------------------------------------------------------------
// exec

fn pid_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test]
async fn exec_is_refused_without_allow_exec() {
    let (env, _) = env(false, None);
    let p = pipeline("  - exec: {command: /bin/echo, args: [hi]}\n");
    let f = failure(run(&p, &Trigger::from_event(&event(b"")), &env).await);
    assert!(f.error.contains("--allow-exec"), "{}", f.error);
}

#[tokio::test]
async fn exec_runs_programs_without_a_shell() {
    let (env, _) = env(true, None);
    let body: &[u8] = b"exact \x00\xff bytes\n";
    let trigger = Trigger::from_event(&event(body));

    let p =
        pipeline("  - exec: {command: /bin/echo, args: ['a;b', '$HOME', '#{body.eventKey}']}\n");
    let state = ok_state(run(&p, &trigger, &env).await);
    assert_eq!(
        state.body,
        json!({"exitCode": 0, "stdout": "a;b $HOME webhook.lead.created\n", "stderr": ""})
    );

    // stdin defaults to the event's exact body bytes.
    let p = pipeline("  - exec: {command: /bin/cat}\n");
    let state = ok_state(run(&p, &trigger, &env).await);
    assert_eq!(state.body["stdout"]["base64"], B64.encode(body));

    let p = pipeline(
        "  - exec: {command: /bin/sh, args: [-c, 'cat; echo \" $GREETING\"'], stdin: '#{body.method}', env: {GREETING: hi}}\n",
    );
    let state = ok_state(run(&p, &trigger, &env).await);
    assert_eq!(state.body["stdout"], "POST hi\n");

    // The program sees only a few of hooktail's variables (never HOOKTAIL_*), and its own.
    let p = pipeline("  - exec: {command: /usr/bin/env, env: {GREETING: hi}}\n");
    let state = ok_state(run(&p, &trigger, &env).await);
    let names: Vec<&str> = state.body["stdout"]
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.split('=').next())
        .collect();
    let allowed = [
        "PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "GREETING",
    ];
    assert!(names.iter().all(|n| allowed.contains(n)), "{names:?}");
    assert!(names.contains(&"GREETING"), "{names:?}");

    let p = pipeline("  - exec: {command: /bin/sh, args: [-c, 'echo oops >&2; exit 3']}\n");
    let f = failure(run(&p, &trigger, &env).await);
    assert!(
        f.error.contains("exited with 3") && f.error.contains("oops"),
        "{}",
        f.error
    );

    let p = pipeline("  - exec: {command: /nonexistent/program}\n");
    let f = failure(run(&p, &trigger, &env).await);
    assert!(f.error.contains("cannot start"), "{}", f.error);
}

#[tokio::test]
async fn exec_output_is_capped_while_reading() {
    let (env, _) = env(true, None);
    let p = pipeline(
        "  - exec: {command: /bin/sh, args: [-c, 'head -c 10000000 /dev/zero; head -c 100000 /dev/zero >&2']}\n",
    );
    let state = ok_state(run(&p, &Trigger::from_event(&event(b"")), &env).await);
    assert_eq!(state.body["stdout"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(state.body["stderr"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(state.body["stdoutTruncated"], true);
    assert_eq!(state.body["stderrTruncated"], true);
    assert!(state.steps[0].output.as_ref().unwrap().len() <= 4096);
}

#[tokio::test]
async fn exec_timeout_kills_the_program_and_its_children() {
    let (env, _) = env(true, None);
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let p = pipeline(&format!(
        "  - exec: {{command: /bin/sh, args: [-c, 'sleep 300 & echo $$ $! > {}; wait'], timeout: 0.5}}\n",
        pids.display()
    ));
    let f = failure(run(&p, &Trigger::from_event(&event(b"")), &env).await);
    assert!(f.error.contains("was killed"), "{}", f.error);
    let text = std::fs::read_to_string(&pids).unwrap();
    let pids: Vec<i32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{text}");
    // Wait on the condition (bounded), not a fixed sleep.
    for _ in 0..500 {
        if pids.iter().all(|p| !pid_alive(*p)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("still running after the timeout: {pids:?}");
}

// ---------------------------------------------------------------------------------------------
// The engine: bodies, vars, if, onError, resuming

#[tokio::test]
async fn bodies_vars_and_conditions_flow_from_step_to_step() {
    let (env, logs) = env(false, None);
    let p = Pipeline::parse(
        r##"headers:
  description: demo
vars:
  greeting: hello
pipeline:
  - event.listen: {eventKey: 'webhook.#'}
  - var.set: {key: lead, value: "#{@convert.toJson(@convert.fromBase64(body.origin)).lead}"}
  - set: {key: n, value: 2}
  - body.set: {value: {who: "#{vars.lead}", n: "#{vars.n + 1}", d: "#{headers.description}"}}
  - log: {message: "#{vars.greeting} #{body.who}", level: DEBUG}
  - body.set: {value: never, if: "#{body.n < 3}"}
  - log
"##,
    )
    .unwrap();
    let state = ok_state(
        run(
            &p,
            &Trigger::from_event(&event(br#"{"lead":"ACME"}"#)),
            &env,
        )
        .await,
    );
    assert_eq!(state.body, json!({"who": "ACME", "n": 3, "d": "demo"}));
    assert_eq!(
        state.vars,
        json!({"greeting": "hello", "lead": "ACME", "n": 2})
    );
    let statuses: Vec<_> = state
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("var.set", StepStatus::Ok),
            ("set", StepStatus::Ok),
            ("body.set", StepStatus::Ok),
            ("log", StepStatus::Ok),
            ("body.set", StepStatus::Skipped),
            ("log", StepStatus::Ok),
        ]
    );
    assert_eq!(state.steps[3].output.as_deref(), Some(r#""hello ACME""#));
    let logs = logs.all();
    assert_eq!(logs[0], (Level::Debug, "test".into(), "hello ACME".into()));
    assert_eq!(logs[1].2, r#"{"who":"ACME","n":3,"d":"demo"}"#);
}

#[tokio::test]
async fn data_from_a_webhook_is_never_evaluated() {
    let (env, logs) = env(false, None);
    let hostile = br##"{"name":"#{@hash.sha256('x')}","n":"#{vars}"}"##;
    let p = pipeline(
        r##"  - body.set: {value: "#{@convert.fromBase64(body.origin)}"}
  - log: {message: "got #{body}"}
  - body.set: {value: "#{@convert.toJson(body).name}"}
"##,
    );
    let state = ok_state(run(&p, &Trigger::from_event(&event(hostile)), &env).await);
    assert_eq!(state.body, json!("#{@hash.sha256('x')}"));
    assert_eq!(
        logs.all()[0].2,
        format!("got {}", std::str::from_utf8(hostile).unwrap())
    );
}

#[tokio::test]
async fn listen_if_filters_events() {
    let (env, _) = env(false, None);
    let p = Pipeline::parse(
        "pipeline:\n  - event.listen: {eventKey: 'webhook.#', if: \"#{body.query.source == 'erp'}\"}\n  - log\n",
    )
    .unwrap();
    match run(&p, &Trigger::from_event(&event(b"")), &env).await {
        Outcome::Filtered(s) => {
            assert_eq!(s.steps.len(), 1);
            assert_eq!(s.steps[0].status, StepStatus::Skipped);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn on_error_throw_ignore_and_log() {
    let server = http_server().await;
    let (env, logs) = env(false, None);
    let trigger = Trigger::from_event(&event(b"x"));
    let bad = server.url("/status/500");

    let p = pipeline(&format!("  - http.get: {{url: '{bad}'}}\n  - log\n"));
    let f = failure(run(&p, &trigger, &env).await);
    assert_eq!((f.step, f.retry, f.next(0.5)), (0, None, Next::Dead));

    let p = pipeline(&format!(
        "  - http.get: {{url: '{bad}', onError: IGNORE}}\n  - body.set: {{value: after}}\n"
    ));
    let state = ok_state(run(&p, &trigger, &env).await);
    assert_eq!(state.body, json!("after"));
    assert_eq!(state.steps[0].status, StepStatus::Failed);
    assert!(state.steps[0].error.as_ref().unwrap().contains("500"));
    assert!(logs.all().is_empty(), "IGNORE logs nothing");

    let p = Pipeline::parse(&format!(
        "headers: {{onError: LOG}}\npipeline:\n  - event.listen: {{eventKey: a}}\n  - http.get: {{url: '{bad}'}}\n  - log: {{message: next}}\n"
    ))
    .unwrap();
    let state = ok_state(run(&p, &trigger, &env).await);
    // The failed step's input goes on: the event.
    assert_eq!(state.body, trigger.first_body);
    let logs = logs.all();
    assert_eq!(logs[0].0, Level::Warn);
    assert!(
        logs[0].2.contains("step 1 (http.get) failed"),
        "{:?}",
        logs[0]
    );
    assert_eq!(logs[1].2, "next");
}

/// A RETRY failure carries the state to resume from; serialized and read back (as a runner
/// would across a restart), it resumes at the failed step without running earlier ones again.
#[tokio::test]
async fn retry_resumes_at_the_failed_step_from_saved_state() {
    let server = http_server().await;
    let (env, _) = env(false, None);
    let trigger = Trigger::from_event(&event(b"x"));
    let p = pipeline(&format!(
        r##"  - http.post: {{url: '{once}', body: first}}
  - http.get:
      url: '{flaky}'
      onError: {{action: RETRY, times: 3, wait: 1}}
  - body.set: {{value: "#{{body.attempt}}"}}
"##,
        once = server.url("/json"),
        flaky = server.url("/flaky"),
    ));
    let mut outcome = run(&p, &trigger, &env).await;
    let mut waits = Vec::new();
    let state = loop {
        match outcome {
            Outcome::Failed(f) => {
                assert_eq!(f.step, 1);
                let Next::Retry { after, state } = f.next(0.5) else {
                    panic!("expected a retry: {f:?}")
                };
                waits.push(after);
                let saved = serde_json::to_string(&state).unwrap();
                let restored: RunState = serde_json::from_str(&saved).unwrap();
                outcome = pipeline::resume(&p, "test", &trigger, &env, restored).await;
            }
            other => break ok_state(other),
        }
    };
    assert_eq!(waits, [Duration::from_secs(1), Duration::from_secs(2)]);
    assert_eq!(server.requests("/json").len(), 1, "the first step ran once");
    assert_eq!(server.requests("/flaky").len(), 3);
    assert_eq!(state.body, json!(3));
    let statuses: Vec<_> = state.steps.iter().map(|s| s.status).collect();
    use StepStatus::{Failed, Ok};
    assert_eq!(statuses, [Ok, Failed, Failed, Ok, Ok]);
}

#[tokio::test]
async fn spent_retries_follow_then() {
    let server = http_server().await;
    let (env, logs) = env(false, None);
    let trigger = Trigger::from_event(&event(b"x"));
    let bad = server.url("/status/503");
    for (then, expect_dead) in [("THROW", true), ("IGNORE", false), ("LOG", false)] {
        let p = pipeline(&format!(
            "  - http.get: {{url: '{bad}', onError: {{action: RETRY, times: 2, wait: 0.1, then: {then}}}}}\n  - body.set: {{value: done}}\n"
        ));
        let mut outcome = run(&p, &trigger, &env).await;
        let mut attempts = 1;
        let next = loop {
            let f = failure(outcome);
            match f.next(0.0) {
                Next::Retry { state, .. } => {
                    attempts += 1;
                    outcome = pipeline::resume(&p, "test", &trigger, &env, state).await;
                }
                other => break other,
            }
        };
        assert_eq!(attempts, 3, "{then}: the step ran times + 1 = 3 times");
        match next {
            Next::Dead => assert!(expect_dead, "{then}"),
            Next::Continue { state } => {
                assert!(!expect_dead, "{then}");
                assert_eq!(state.next_step, 1);
                let done = ok_state(pipeline::resume(&p, "test", &trigger, &env, state).await);
                assert_eq!(done.body, json!("done"));
            }
            Next::Retry { .. } => unreachable!(),
        }
    }
    let warned: Vec<_> = logs
        .all()
        .into_iter()
        .filter(|l| l.0 == Level::Warn)
        .collect();
    assert_eq!(warned.len(), 1, "only then: LOG logs: {warned:?}");
    assert!(warned[0].2.contains("failed after 2 retries"), "{warned:?}");
}

#[tokio::test]
async fn step_log_output_is_capped() {
    let (env, _) = env(false, None);
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(100_000));
    let p = pipeline("  - body.set: {value: \"#{@convert.fromBase64(body.origin)}\"}\n");
    let state = ok_state(run(&p, &Trigger::from_event(&event(big.as_bytes())), &env).await);
    let out = state.steps[0].output.as_ref().unwrap();
    assert!(out.len() <= 4096, "{}", out.len());
    assert!(out.ends_with("…[truncated]"));
    assert_eq!(state.body, json!(big), "the body itself is not cut");
}
