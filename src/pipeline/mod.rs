//! Running a validated pipeline on one event: each step in turn, each step's output the next
//! step's body. A failed step ends the run with the state to resume from, so that a runner
//! with a durable store can retry that step later, after a restart too, without running the
//! earlier steps again.

pub mod engine;
pub mod exec;
pub mod http;
pub mod mail;
pub mod runner;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::domain::Event;
use crate::domain::pipeline::expr::{Scope, to_text, truthy};
use crate::domain::pipeline::param::{self, Param};
use crate::domain::pipeline::run::{self, MAX_OUTPUT_BYTES, capped_json, capped_text};
use crate::domain::pipeline::{
    Action, Failure, Fallback, HttpMethod, Level, Mail, OnError, Outcome, Pipeline, RunState, Step,
    StepLog, StepStatus,
};
use crate::domain::time::now_ms;

pub use http::{ForwardError, HttpClient, check_url, forward_event, redact as redact_url};
pub use mail::{Mailer, SmtpConfig};

/// Default timeout of the HTTP steps.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default timeout of `exec`.
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Where `log` steps and `onError: LOG` write, besides the run's step log.
pub trait LogSink: Send + Sync {
    fn log(&self, level: Level, pipeline: &str, message: &str);
}

/// hooktail's own log, through `tracing`.
pub struct TracingLog;

impl LogSink for TracingLog {
    fn log(&self, level: Level, pipeline: &str, message: &str) {
        // A message often holds what a caller sent: a line break in it must not start a line
        // of its own in hooktail's log, where it could pass for one hooktail wrote.
        let message = crate::domain::escape::escape_control(message);
        let message = message.as_ref();
        match level {
            Level::Trace => tracing::trace!(target: "pipeline", pipeline, "{message}"),
            Level::Debug => tracing::debug!(target: "pipeline", pipeline, "{message}"),
            Level::Info => tracing::info!(target: "pipeline", pipeline, "{message}"),
            Level::Warn => tracing::warn!(target: "pipeline", pipeline, "{message}"),
            Level::Error => tracing::error!(target: "pipeline", pipeline, "{message}"),
        }
    }
}

/// What steps may reach: the mail server, the HTTP client, whether `exec` is allowed, the log.
#[derive(Clone)]
pub struct Env {
    /// From `--smtp-url`; without it the `mail` step fails with a message naming the flag.
    pub mailer: Option<Mailer>,
    /// `--allow-exec`.
    pub allow_exec: bool,
    pub http: HttpClient,
    pub log: Arc<dyn LogSink>,
}

/// The event a run acts on: its §4 form for expressions, and the original call for
/// `http.forward` and `exec`.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The first step's body (see [`run::first_body`]).
    pub first_body: Value,
    /// The exact body bytes.
    pub body: Bytes,
    pub method: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

impl Trigger {
    pub fn from_event(e: &Event) -> Self {
        Self {
            first_body: run::first_body(e),
            body: Bytes::copy_from_slice(&e.body),
            method: e.method.clone(),
            query: e
                .query
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            headers: e
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// Starts a run on `trigger`: checks `event.listen`'s `if`, then runs every step.
pub async fn start(p: &Pipeline, name: &str, trigger: &Trigger, env: &Env) -> Outcome {
    let mut state = RunState::new(trigger.first_body.clone(), p.vars.clone());
    if let Some(cond) = &p.listen.condition {
        let started = Instant::now();
        let scope = scope(p, &state);
        let (status, error) = match cond.eval(&scope) {
            Ok(v) if truthy(&v) => (None, None),
            Ok(_) => (Some(StepStatus::Skipped), None),
            Err(e) => (Some(StepStatus::Failed), Some(format!("if: {e}"))),
        };
        if let Some(status) = status {
            state.steps.push(StepLog {
                step: "event.listen".into(),
                status,
                duration_ms: elapsed_ms(started),
                output: None,
                error,
            });
            return Outcome::Filtered(state);
        }
    }
    resume(p, name, trigger, env, state).await
}

/// Runs the steps from `state.next_step` on.
pub async fn resume(
    p: &Pipeline,
    name: &str,
    trigger: &Trigger,
    env: &Env,
    mut state: RunState,
) -> Outcome {
    while let Some(step) = p.steps.get(state.next_step) {
        let started = Instant::now();
        let result = run_step(p, step, &mut state, trigger, env, name).await;
        let duration_ms = elapsed_ms(started);
        match result {
            Ok(Done::Skipped) => state.steps.push(StepLog {
                step: step.name.clone(),
                status: StepStatus::Skipped,
                duration_ms,
                output: None,
                error: None,
            }),
            Ok(Done::Ran { output, shown }) => {
                let shown = match (&shown, &output) {
                    (Some(s), _) => capped_json(s),
                    (None, Some(o)) => capped_json(o),
                    (None, None) => capped_json(&state.body),
                };
                if let Some(o) = output {
                    state.body = o;
                }
                state.steps.push(StepLog {
                    step: step.name.clone(),
                    status: StepStatus::Ok,
                    duration_ms,
                    output: Some(shown),
                    error: None,
                });
            }
            Err(error) => {
                state.steps.push(StepLog {
                    step: step.name.clone(),
                    status: StepStatus::Failed,
                    duration_ms,
                    output: None,
                    error: Some(error.clone()),
                });
                match step.on_error {
                    OnError::Ignore => {}
                    OnError::Log => env.log.log(
                        Level::Warn,
                        name,
                        &format!(
                            "step {} ({}) failed: {error}",
                            state.next_step + 1,
                            step.name
                        ),
                    ),
                    OnError::Throw | OnError::Retry(_) => {
                        state.failures += 1;
                        let retry = match step.on_error {
                            OnError::Retry(policy) => Some(policy),
                            _ => None,
                        };
                        if let Some(p) = retry
                            && p.then == Fallback::Log
                            && p.next_delay(state.failures, 0.5).is_none()
                        {
                            env.log.log(
                                Level::Warn,
                                name,
                                &format!(
                                    "step {} ({}) failed after {} retries: {error}",
                                    state.next_step + 1,
                                    step.name,
                                    p.times
                                ),
                            );
                        }
                        return Outcome::Failed(Failure {
                            step: state.next_step,
                            error,
                            retry,
                            state,
                        });
                    }
                }
            }
        }
        state.next_step += 1;
        state.failures = 0;
    }
    Outcome::Ok(state)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn scope<'a>(p: &'a Pipeline, state: &'a RunState) -> Scope<'a> {
    Scope {
        body: &state.body,
        vars: &state.vars,
        headers: &p.headers,
        now_ms: now_ms(),
    }
}

/// A step that ran: its new body (`None`: the input goes on unchanged) and what its log shows
/// when that is not the output.
enum Done {
    Skipped,
    Ran {
        output: Option<Value>,
        shown: Option<Value>,
    },
}

/// Evaluates a parameter and converts it; errors name the parameter.
fn arg<T>(
    scope: &Scope,
    p: &Param,
    name: &str,
    convert: impl Fn(&Value) -> Result<T, String>,
) -> Result<T, String> {
    let v = p.eval(scope).map_err(|e| format!("{name}: {e}"))?;
    convert(&v).map_err(|e| format!("`{name}` {e}"))
}

fn opt_arg<T>(
    scope: &Scope,
    p: &Option<Param>,
    name: &str,
    convert: impl Fn(&Value) -> Result<T, String>,
) -> Result<Option<T>, String> {
    p.as_ref().map(|p| arg(scope, p, name, convert)).transpose()
}

fn value(v: &Value) -> Result<Value, String> {
    Ok(v.clone())
}

async fn run_step(
    p: &Pipeline,
    step: &Step,
    state: &mut RunState,
    trigger: &Trigger,
    env: &Env,
    name: &str,
) -> Result<Done, String> {
    let scope = scope(p, state);
    if let Some(cond) = &step.condition
        && !truthy(&cond.eval(&scope).map_err(|e| format!("if: {e}"))?)
    {
        return Ok(Done::Skipped);
    }
    match &step.action {
        Action::Log { message, level } => {
            let text = message
                .as_ref()
                .map(|m| arg(&scope, m, "message", value))
                .transpose()?;
            // Written within the cap, so a large body costs no more than 4 KiB here.
            let line = match text.as_ref().unwrap_or(&state.body) {
                Value::String(s) => capped_text(s, MAX_OUTPUT_BYTES),
                other => capped_json(other),
            };
            env.log.log(*level, name, &line);
            Ok(Done::Ran {
                output: None,
                shown: text,
            })
        }
        Action::SetVar { key, value: v } => {
            let key = arg(&scope, key, "key", param::text)?;
            let v = arg(&scope, v, "value", value)?;
            if let Value::Object(vars) = &mut state.vars {
                vars.insert(key, v.clone());
            } else {
                let mut vars = Map::new();
                vars.insert(key, v.clone());
                state.vars = Value::Object(vars);
            }
            Ok(Done::Ran {
                output: None,
                shown: Some(v),
            })
        }
        Action::SetBody { value: v } => Ok(Done::Ran {
            output: Some(arg(&scope, v, "value", value)?),
            shown: None,
        }),
        Action::Mail(m) => {
            let outgoing = mail_of(&scope, m)?;
            let mailer = env.mailer.as_ref().ok_or(
                "the mail step needs an SMTP server: start hooktail with --smtp-url (or HOOKTAIL_SMTP_URL)",
            )?;
            mailer.send(&outgoing).await?;
            Ok(Done::Ran {
                output: None,
                shown: None,
            })
        }
        Action::Http {
            method,
            url,
            headers,
            body,
            timeout,
            ignore_error_status,
        } => {
            let url = arg(&scope, url, "url", param::text)?;
            let mut headers =
                opt_arg(&scope, headers, "headers", param::text_map)?.unwrap_or_default();
            let body = match body {
                Some(b) => Some(arg(&scope, b, "body", value)?),
                None if method.sends_body_by_default() => Some(state.body.clone()),
                None => None,
            };
            let bytes = match &body {
                None => Bytes::new(),
                Some(b) => {
                    let has_type = headers
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
                    let (bytes, content_type) = request_body(b);
                    if !has_type && let Some(t) = content_type {
                        headers.push(("content-type".into(), t.into()));
                    }
                    bytes
                }
            };
            let timeout =
                opt_arg(&scope, timeout, "timeout", param::seconds)?.unwrap_or(HTTP_TIMEOUT);
            let ignore = opt_arg(
                &scope,
                ignore_error_status,
                "ignoreErrorStatus",
                param::boolean,
            )?
            .unwrap_or(false);
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(http::HOP_HEADER));
            headers.push(http::next_hop(&trigger.headers)?);
            let res = env
                .http
                .send(method.as_str(), &url, &headers, bytes, timeout)
                .await?;
            check_status(&res, ignore, method_label(*method))?;
            Ok(Done::Ran {
                output: Some(http::body_value(&res.headers, &res.body)),
                shown: None,
            })
        }
        Action::Forward {
            url,
            timeout,
            ignore_error_status,
        } => {
            let url = arg(&scope, url, "url", param::text)?;
            let timeout =
                opt_arg(&scope, timeout, "timeout", param::seconds)?.unwrap_or(HTTP_TIMEOUT);
            let ignore = opt_arg(
                &scope,
                ignore_error_status,
                "ignoreErrorStatus",
                param::boolean,
            )?
            .unwrap_or(false);
            let mut headers = http::forward_headers(&trigger.headers);
            headers.push(http::next_hop(&trigger.headers)?);
            let res = env
                .http
                .send(
                    &trigger.method,
                    &http::forward_url(&url, &trigger.query),
                    &headers,
                    trigger.body.clone(),
                    timeout,
                )
                .await?;
            check_status(&res, ignore, "http.forward")?;
            Ok(Done::Ran {
                output: Some(json!({
                    "status": res.status,
                    "headers": http::headers_value(&res.headers),
                    "body": http::body_value(&res.headers, &res.body),
                })),
                shown: None,
            })
        }
        Action::Exec {
            command,
            args,
            stdin,
            env: vars,
            timeout,
        } => {
            if !env.allow_exec {
                return Err(
                    "exec is off: start hooktail with --allow-exec (or HOOKTAIL_ALLOW_EXEC) to permit it"
                        .into(),
                );
            }
            let inv = exec::Invocation {
                command: arg(&scope, command, "command", param::text)?,
                args: opt_arg(&scope, args, "args", param::arg_list)?.unwrap_or_default(),
                stdin: match stdin {
                    Some(s) => request_body(&arg(&scope, s, "stdin", value)?).0.to_vec(),
                    None => trigger.body.to_vec(),
                },
                env: opt_arg(&scope, vars, "env", param::text_map)?.unwrap_or_default(),
                timeout: opt_arg(&scope, timeout, "timeout", param::seconds)?
                    .unwrap_or(EXEC_TIMEOUT),
            };
            let done = exec::run(&inv).await?;
            let output = exec_output(&done);
            match done.code {
                Some(0) => Ok(Done::Ran {
                    output: Some(output),
                    shown: None,
                }),
                code => Err(format!(
                    "{:?} {}: {}",
                    inv.command,
                    code.map_or("was ended by a signal".to_string(), |c| format!(
                        "exited with {c}"
                    )),
                    capped_json(&output)
                )),
            }
        }
    }
}

fn method_label(m: HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "http.get",
        HttpMethod::Post => "http.post",
        HttpMethod::Put => "http.put",
        HttpMethod::Patch => "http.patch",
        HttpMethod::Delete => "http.delete",
    }
}

/// A status of 400 or more fails the step unless `ignoreErrorStatus` is true.
fn check_status(res: &http::Response, ignore: bool, step: &str) -> Result<(), String> {
    if res.status < 400 || ignore {
        return Ok(());
    }
    let body = capped_text(&String::from_utf8_lossy(&res.body), 512);
    Err(format!(
        "{step}: the server answered {}: {body}",
        res.status
    ))
}

/// A value as a request body: text as its UTF-8 bytes, null as nothing, anything else as JSON.
fn request_body(v: &Value) -> (Bytes, Option<&'static str>) {
    match v {
        Value::String(s) => (
            Bytes::copy_from_slice(s.as_bytes()),
            Some("text/plain; charset=utf-8"),
        ),
        Value::Null => (Bytes::new(), None),
        other => (Bytes::from(other.to_string()), Some("application/json")),
    }
}

fn mail_of(scope: &Scope, m: &Mail) -> Result<mail::Outgoing, String> {
    let text_of = |v: &Value| Ok(to_text(v).into_owned());
    Ok(mail::Outgoing {
        to: arg(scope, &m.to, "to", param::text_list)?,
        subject: arg(scope, &m.subject, "subject", text_of)?,
        text: arg(scope, &m.message, "message", text_of)?,
        from: opt_arg(scope, &m.from, "from", param::text)?,
        from_name: opt_arg(scope, &m.from_name, "fromName", text_of)?,
        reply_to: opt_arg(scope, &m.reply_to, "replyTo", param::text_list)?.unwrap_or_default(),
        cc: opt_arg(scope, &m.cc, "cc", param::text_list)?.unwrap_or_default(),
        bcc: opt_arg(scope, &m.bcc, "bcc", param::text_list)?.unwrap_or_default(),
    })
}

/// `{exitCode, stdout, stderr}`: each stream as text when it is UTF-8, else
/// `{"base64": …}`; `stdoutTruncated`/`stderrTruncated` say when the 64 KiB cap cut it.
fn exec_output(done: &exec::Finished) -> Value {
    let stream = |c: &exec::Captured| match std::str::from_utf8(&c.bytes) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => json!({"base64": B64.encode(&c.bytes)}),
    };
    let mut out = Map::new();
    out.insert("exitCode".into(), json!(done.code));
    out.insert("stdout".into(), stream(&done.stdout));
    out.insert("stderr".into(), stream(&done.stderr));
    if done.stdout.truncated {
        out.insert("stdoutTruncated".into(), Value::Bool(true));
    }
    if done.stderr.truncated {
        out.insert("stderrTruncated".into(), Value::Bool(true));
    }
    Value::Object(out)
}

#[cfg(test)]
mod log_tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A caller's line break cannot forge a line of hooktail's log.
    #[test]
    fn log_messages_stay_on_one_line() {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || SharedWriter(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            TracingLog.log(
                Level::Info,
                "p",
                "got x\n2026-11-28T22:47:00Z  INFO audit: pipeline delete",
            );
        });
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("got x^J2026"), "{text}");
    }

    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedWriter {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
