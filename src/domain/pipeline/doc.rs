//! A pipeline document (SPEC §6): parsed and validated once, when it is put, so that a bad
//! document is refused with the `line:column` of the problem instead of failing at run time.

use std::time::Duration;

use serde_json::{Map, Value};

use super::param::{self, Param};
use super::run::{Fallback, OnError, RetryPolicy};
use super::yaml::{self, DocError, Key, Kind, Node, Pos};
use crate::domain::EventKeyPattern;

/// Largest document accepted, in bytes.
pub const MAX_DOC_BYTES: usize = 64 * 1024;
/// Most steps a pipeline may have, `event.listen` included.
pub const MAX_STEPS: usize = 100;
/// Most retries a RETRY may ask for.
pub const MAX_RETRY_TIMES: u32 = 100;
/// Longest eventKey pattern, in characters (SPEC §2).
pub const MAX_PATTERN_LEN: usize = 255;

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub listen: Listen,
    /// The `headers` section, readable as `headers` in expressions.
    pub headers: Value,
    /// The `vars` section: the vars every run starts with.
    pub vars: Value,
    /// The steps after `event.listen`.
    pub steps: Vec<Step>,
}

/// The `event.listen` step.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The pattern as written.
    pub event_key: String,
    pub pattern: EventKeyPattern,
    pub from: From,
    /// An `if` here filters events: when false, nothing runs.
    pub condition: Option<Param>,
}

/// Where a new pipeline starts reading events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    /// Events that arrive after the pipeline was created (the default).
    Now,
    /// Every stored event too.
    Earliest,
}

#[derive(Debug, Clone)]
pub struct Step {
    /// The name as the document writes it (`mail.send`, `set`…), for the step log.
    pub name: String,
    pub pos: Pos,
    pub condition: Option<Param>,
    pub on_error: OnError,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    Log {
        message: Option<Param>,
        level: Level,
    },
    Mail(Box<Mail>),
    Http {
        method: HttpMethod,
        url: Param,
        headers: Option<Param>,
        body: Option<Param>,
        timeout: Option<Param>,
        ignore_error_status: Option<Param>,
    },
    Forward {
        url: Param,
        timeout: Option<Param>,
        ignore_error_status: Option<Param>,
    },
    Exec {
        command: Param,
        args: Option<Param>,
        stdin: Option<Param>,
        env: Option<Param>,
        timeout: Option<Param>,
    },
    SetVar {
        key: Param,
        value: Param,
    },
    SetBody {
        value: Param,
    },
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Param,
    pub subject: Param,
    /// `message`, or `body` as the seed writes it.
    pub message: Param,
    pub from: Option<Param>,
    pub from_name: Option<Param>,
    pub reply_to: Option<Param>,
    pub cc: Option<Param>,
    pub bcc: Option<Param>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    const ALL: [(&'static str, Level); 5] = [
        ("TRACE", Level::Trace),
        ("DEBUG", Level::Debug),
        ("INFO", Level::Info),
        ("WARN", Level::Warn),
        ("ERROR", Level::Error),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// Whether the step sends the current body when its `body` parameter is left out.
    pub fn sends_body_by_default(self) -> bool {
        matches!(self, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch)
    }
}

/// Every step and the parameters it takes, besides `if` and `onError`.
const STEPS: &[(&str, &[&str])] = &[
    ("event.listen", &["eventKey", "key", "from"]),
    ("log", &["message", "level"]),
    (
        "mail",
        &[
            "to", "subject", "message", "body", "from", "fromName", "replyTo", "cc", "bcc",
        ],
    ),
    (
        "mail.send",
        &[
            "to", "subject", "message", "body", "from", "fromName", "replyTo", "cc", "bcc",
        ],
    ),
    ("http.get", HTTP_PARAMS),
    ("http.post", HTTP_PARAMS),
    ("http.put", HTTP_PARAMS),
    ("http.patch", HTTP_PARAMS),
    ("http.delete", HTTP_PARAMS),
    ("http.forward", &["url", "timeout", "ignoreErrorStatus"]),
    ("exec", &["command", "args", "stdin", "env", "timeout"]),
    ("var.set", &["key", "value"]),
    ("set", &["key", "value"]),
    ("body.set", &["value"]),
];

const HTTP_PARAMS: &[&str] = &["url", "headers", "body", "timeout", "ignoreErrorStatus"];

/// The names of every step, for messages and documentation.
pub fn step_names() -> impl Iterator<Item = &'static str> {
    STEPS.iter().map(|(n, _)| *n)
}

impl Pipeline {
    pub fn parse(text: &str) -> Result<Pipeline, DocError> {
        let top = Pos { line: 1, column: 1 };
        if text.len() > MAX_DOC_BYTES {
            return Err(DocError::new(
                top,
                format!(
                    "the document is {} bytes; at most {MAX_DOC_BYTES} are accepted",
                    text.len()
                ),
            ));
        }
        let root = yaml::parse(text)?
            .ok_or_else(|| DocError::new(top, "the document is empty; it needs a `pipeline`"))?;
        let Kind::Map(sections) = &root.kind else {
            return Err(DocError::new(
                root.pos,
                format!(
                    "a pipeline document is a map of sections (headers, vars, pipeline, body), not {}",
                    root.describe()
                ),
            ));
        };
        let mut headers = Map::new();
        let mut default_on_error = OnError::Throw;
        let mut vars = Map::new();
        let mut steps = None;
        for (key, node) in sections {
            match key.text.as_str() {
                "headers" => (headers, default_on_error) = parse_headers(node)?,
                "vars" => vars = parse_vars(node)?,
                "pipeline" => steps = Some(node),
                "body" => {}
                other => {
                    return Err(DocError::new(
                        key.pos,
                        format!(
                            "unknown section `{other}`; a document has headers, vars, pipeline and body"
                        ),
                    ));
                }
            }
        }
        let steps = steps
            .ok_or_else(|| DocError::new(root.pos, "the document has no `pipeline` section"))?;
        let Kind::List(items) = &steps.kind else {
            return Err(DocError::new(
                steps.pos,
                format!("`pipeline` is a list of steps, not {}", steps.describe()),
            ));
        };
        if items.len() > MAX_STEPS {
            return Err(DocError::new(
                items[MAX_STEPS].pos,
                format!("a pipeline has at most {MAX_STEPS} steps"),
            ));
        }
        let mut listen = None;
        let mut parsed = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let (name, params) = step_shape(item)?;
            if name.text == "event.listen" {
                if i != 0 {
                    return Err(DocError::new(
                        name.pos,
                        "`event.listen` must be the first step, and appear only once",
                    ));
                }
                listen = Some(parse_listen(name, params)?);
            } else {
                if i == 0 {
                    return Err(DocError::new(
                        name.pos,
                        format!("the first step must be `event.listen`, not `{}`", name.text),
                    ));
                }
                parsed.push(parse_step(name, params, default_on_error)?);
            }
        }
        let listen = listen.ok_or_else(|| {
            DocError::new(steps.pos, "the pipeline needs an `event.listen` step first")
        })?;
        Ok(Pipeline {
            listen,
            headers: Value::Object(headers),
            vars: Value::Object(vars),
            steps: parsed,
        })
    }
}

/// A step is a map with one key, its name, whose value holds its parameters (or nothing).
/// A bare name (`- log`) is a step without parameters.
fn step_shape(item: &Node) -> Result<(Key, Option<&Node>), DocError> {
    match &item.kind {
        Kind::Text(name) => Ok((
            Key {
                pos: item.pos,
                text: name.clone(),
            },
            None,
        )),
        Kind::Map(entries) => match entries.as_slice() {
            [(name, params)] => Ok((name.clone(), Some(params))),
            [(name, _), (extra, _), ..] => Err(DocError::new(
                extra.pos,
                format!(
                    "a step is a map with one key, its name; indent `{}` under `{}`",
                    extra.text, name.text
                ),
            )),
            [] => Err(DocError::new(item.pos, "a step needs a name")),
        },
        _ => Err(DocError::new(
            item.pos,
            format!(
                "a step is a name with its parameters, not {}",
                item.describe()
            ),
        )),
    }
}

/// A step's parameters, checked against the names the step knows.
struct Args<'a> {
    step: &'a Key,
    entries: &'a [(Key, Node)],
}

impl<'a> Args<'a> {
    fn new(step: &'a Key, params: Option<&'a Node>) -> Result<Self, DocError> {
        let Some(known) = STEPS.iter().find(|(n, _)| *n == step.text).map(|(_, p)| *p) else {
            return Err(DocError::new(
                step.pos,
                format!(
                    "unknown step `{}`; known steps: {}",
                    step.text,
                    step_names().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        let entries: &[(Key, Node)] = match params.map(|p| &p.kind) {
            None | Some(Kind::Scalar(Value::Null)) => &[],
            Some(Kind::Map(entries)) => entries,
            Some(_) => {
                let p = params.map_or(step.pos, |p| p.pos);
                return Err(DocError::new(
                    p,
                    format!("the parameters of `{}` must be a map", step.text),
                ));
            }
        };
        let on_error_ok = step.text != "event.listen";
        for (key, _) in entries {
            let k = key.text.as_str();
            if !(known.contains(&k) || k == "if" || (k == "onError" && on_error_ok)) {
                let mut names: Vec<&str> = known.to_vec();
                names.push("if");
                if on_error_ok {
                    names.push("onError");
                }
                return Err(DocError::new(
                    key.pos,
                    format!(
                        "unknown parameter `{k}` for `{}`; it takes: {}",
                        step.text,
                        names.join(", ")
                    ),
                ));
            }
        }
        Ok(Self { step, entries })
    }

    fn node(&self, name: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == name)
            .map(|(_, v)| v)
    }

    fn param(&self, name: &str) -> Result<Option<Param>, DocError> {
        self.node(name).map(Param::parse).transpose()
    }

    fn required(&self, name: &str) -> Result<Param, DocError> {
        self.param(name)?.ok_or_else(|| self.missing(name))
    }

    fn missing(&self, name: &str) -> DocError {
        DocError::new(
            self.step.pos,
            format!("`{}` needs the parameter `{name}`", self.step.text),
        )
    }

    /// A parameter whose value, when written without expressions, must pass `check` now.
    fn checked<T>(
        &self,
        name: &str,
        check: fn(&Value) -> Result<T, String>,
    ) -> Result<Option<Param>, DocError> {
        let Some(node) = self.node(name) else {
            return Ok(None);
        };
        let p = Param::parse(node)?;
        if let Some(v) = p.literal() {
            check(v).map_err(|e| DocError::new(node.pos, format!("`{name}` {e}")))?;
        }
        Ok(Some(p))
    }

    fn condition(&self) -> Result<Option<Param>, DocError> {
        self.param("if")
    }
}

fn parse_listen(name: Key, params: Option<&Node>) -> Result<Listen, DocError> {
    let args = Args::new(&name, params)?;
    let key_node = match (args.node("eventKey"), args.node("key")) {
        (Some(_), Some(k)) => {
            return Err(DocError::new(
                k.pos,
                "give `eventKey` or its old name `key`, not both",
            ));
        }
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => return Err(args.missing("eventKey")),
    };
    let Kind::Text(event_key) = &key_node.kind else {
        return Err(DocError::new(
            key_node.pos,
            format!(
                "`eventKey` is a pattern such as webhook.#, not {}",
                key_node.describe()
            ),
        ));
    };
    let pattern = parse_pattern(event_key).map_err(|e| DocError::new(key_node.pos, e))?;
    let from = match args.node("from") {
        None => From::Now,
        Some(n) => match &n.kind {
            Kind::Text(t) if t == "now" => From::Now,
            Kind::Text(t) if t == "earliest" => From::Earliest,
            _ => {
                return Err(DocError::new(n.pos, "`from` is `now` or `earliest`"));
            }
        },
    };
    Ok(Listen {
        event_key: event_key.clone(),
        pattern,
        from,
        condition: args.condition()?,
    })
}

/// An eventKey pattern (SPEC §2): segments of `a-z 0-9 - _`, `*` or `#`, at most 255 characters.
fn parse_pattern(p: &str) -> Result<EventKeyPattern, String> {
    if p.chars().count() > MAX_PATTERN_LEN {
        return Err(format!(
            "the eventKey pattern is longer than {MAX_PATTERN_LEN} characters"
        ));
    }
    for segment in p.split('.') {
        let wildcard = segment == "*" || segment == "#";
        let plain = segment
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !wildcard && !plain {
            return Err(format!(
                "eventKey pattern segment {segment:?} may hold only a-z, 0-9, '-' and '_', or be * or #"
            ));
        }
    }
    EventKeyPattern::parse(p)
}

fn parse_step(name: Key, params: Option<&Node>, default: OnError) -> Result<Step, DocError> {
    let args = Args::new(&name, params)?;
    let timeout = || args.checked("timeout", param::seconds);
    let ignore_status = || args.checked("ignoreErrorStatus", param::boolean);
    let action = match name.text.as_str() {
        "log" => Action::Log {
            message: args.param("message")?,
            level: match args.node("level") {
                None => Level::Info,
                Some(n) => parse_level(n)?,
            },
        },
        "mail" | "mail.send" => {
            let message = match (args.node("message"), args.node("body")) {
                (Some(_), Some(b)) => {
                    return Err(DocError::new(b.pos, "give `message` or `body`, not both"));
                }
                (Some(n), None) | (None, Some(n)) => Param::parse(n)?,
                (None, None) => return Err(args.missing("message")),
            };
            Action::Mail(Box::new(Mail {
                to: args
                    .checked("to", param::text_list)?
                    .ok_or_else(|| args.missing("to"))?,
                subject: args.required("subject")?,
                message,
                from: args.checked("from", param::text)?,
                from_name: args.param("fromName")?,
                reply_to: args.checked("replyTo", param::text_list)?,
                cc: args.checked("cc", param::text_list)?,
                bcc: args.checked("bcc", param::text_list)?,
            }))
        }
        "http.forward" => Action::Forward {
            url: args
                .checked("url", param::text)?
                .ok_or_else(|| args.missing("url"))?,
            timeout: timeout()?,
            ignore_error_status: ignore_status()?,
        },
        "exec" => Action::Exec {
            command: exec_command(&args)?,
            args: args.checked("args", param::arg_list)?,
            stdin: args.param("stdin")?,
            env: args.checked("env", param::text_map)?,
            timeout: timeout()?,
        },
        "var.set" | "set" => Action::SetVar {
            key: args
                .checked("key", param::text)?
                .ok_or_else(|| args.missing("key"))?,
            value: args.required("value")?,
        },
        "body.set" => Action::SetBody {
            value: args.required("value")?,
        },
        http => {
            let method = match http {
                "http.get" => HttpMethod::Get,
                "http.post" => HttpMethod::Post,
                "http.put" => HttpMethod::Put,
                "http.patch" => HttpMethod::Patch,
                _ => HttpMethod::Delete,
            };
            Action::Http {
                method,
                url: args
                    .checked("url", param::text)?
                    .ok_or_else(|| args.missing("url"))?,
                headers: args.checked("headers", param::text_map)?,
                body: args.param("body")?,
                timeout: timeout()?,
                ignore_error_status: ignore_status()?,
            }
        }
    };
    let on_error = match args.node("onError") {
        Some(n) => parse_on_error(n)?,
        None => default,
    };
    Ok(Step {
        condition: args.condition()?,
        on_error,
        action,
        pos: name.pos,
        name: name.text,
    })
}

/// The program of `exec` is written out in the document: an expression could let a webhook
/// choose which program runs.
fn exec_command(args: &Args) -> Result<Param, DocError> {
    let node = args
        .node("command")
        .ok_or_else(|| args.missing("command"))?;
    let command = args
        .checked("command", param::text)?
        .ok_or_else(|| args.missing("command"))?;
    if command.literal().is_none() {
        return Err(DocError::new(
            node.pos,
            "`command` of exec must be written out, not computed with #{…}, so that no event can choose the program",
        ));
    }
    Ok(command)
}

fn parse_level(n: &Node) -> Result<Level, DocError> {
    let names = || {
        Level::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &n.kind {
        Kind::Text(t) => Level::ALL
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(t))
            .map(|(_, l)| *l)
            .ok_or_else(|| DocError::new(n.pos, format!("`level` is one of {}, not {t}", names()))),
        _ => Err(DocError::new(
            n.pos,
            format!("`level` is one of {}", names()),
        )),
    }
}

/// `THROW`, `IGNORE`, `LOG`, `RETRY`, or `{action: RETRY, times, wait, then}`.
pub fn parse_on_error(n: &Node) -> Result<OnError, DocError> {
    const HELP: &str =
        "`onError` is THROW, IGNORE, LOG, or {action: RETRY, times: 3, wait: 2, then: THROW}";
    match &n.kind {
        Kind::Text(t) => match t.to_ascii_uppercase().as_str() {
            "THROW" => Ok(OnError::Throw),
            "IGNORE" => Ok(OnError::Ignore),
            "LOG" => Ok(OnError::Log),
            "RETRY" => Ok(OnError::Retry(default_retry())),
            _ => Err(DocError::new(n.pos, format!("{HELP}, not {t}"))),
        },
        Kind::Map(entries) => {
            let mut policy = default_retry();
            let mut action = None;
            for (key, value) in entries {
                let bad = |what: &str| DocError::new(value.pos, format!("`{}` {what}", key.text));
                match key.text.as_str() {
                    "action" => action = Some(value),
                    "times" => {
                        policy.times = match &value.kind {
                            Kind::Scalar(Value::Number(t)) => t
                                .as_u64()
                                .and_then(|t| u32::try_from(t).ok())
                                .filter(|t| (1..=MAX_RETRY_TIMES).contains(t))
                                .ok_or_else(|| {
                                    bad(&format!("is a whole number from 1 to {MAX_RETRY_TIMES}"))
                                })?,
                            _ => {
                                return Err(bad(&format!(
                                    "is a whole number from 1 to {MAX_RETRY_TIMES}"
                                )));
                            }
                        }
                    }
                    "wait" => {
                        policy.wait = param::seconds(&value.to_value()).map_err(|e| bad(&e))?;
                    }
                    "then" => {
                        policy.then = match parse_on_error(value)? {
                            OnError::Throw => Fallback::Throw,
                            OnError::Ignore => Fallback::Ignore,
                            OnError::Log => Fallback::Log,
                            OnError::Retry(_) => {
                                return Err(bad("is THROW, IGNORE or LOG"));
                            }
                        }
                    }
                    other => {
                        return Err(DocError::new(
                            key.pos,
                            format!("unknown key `{other}` in onError; {HELP}"),
                        ));
                    }
                }
            }
            match action.map(|a| &a.kind) {
                Some(Kind::Text(a)) if a.eq_ignore_ascii_case("RETRY") => {
                    Ok(OnError::Retry(policy))
                }
                Some(_) => Err(DocError::new(
                    action.map_or(n.pos, |a| a.pos),
                    format!("the only `action` of an onError map is RETRY; {HELP}"),
                )),
                None => Err(DocError::new(
                    n.pos,
                    format!("`action: RETRY` is missing; {HELP}"),
                )),
            }
        }
        _ => Err(DocError::new(n.pos, HELP)),
    }
}

fn default_retry() -> RetryPolicy {
    RetryPolicy {
        times: 3,
        wait: Duration::from_secs(2),
        then: Fallback::Throw,
    }
}

/// `headers`: text values, and `onError`, the default for every step.
fn parse_headers(node: &Node) -> Result<(Map<String, Value>, OnError), DocError> {
    let Kind::Map(entries) = &node.kind else {
        return Err(DocError::new(
            node.pos,
            format!("`headers` is a map of text values, not {}", node.describe()),
        ));
    };
    let mut headers = Map::new();
    let mut on_error = OnError::Throw;
    for (key, value) in entries {
        if key.text == "onError" {
            on_error = parse_on_error(value)?;
        } else if matches!(value.kind, Kind::List(_) | Kind::Map(_)) {
            return Err(DocError::new(
                value.pos,
                format!(
                    "header `{}` must be text, not {}",
                    key.text,
                    value.describe()
                ),
            ));
        }
        headers.insert(key.text.clone(), value.to_value());
    }
    Ok((headers, on_error))
}

/// `vars`: plain values. Computed values come from `var.set`, which runs in order.
fn parse_vars(node: &Node) -> Result<Map<String, Value>, DocError> {
    let Kind::Map(entries) = &node.kind else {
        return Err(DocError::new(
            node.pos,
            format!("`vars` is a map, not {}", node.describe()),
        ));
    };
    let mut vars = Map::new();
    for (key, value) in entries {
        let p = Param::parse(value)?;
        let Some(v) = p.literal() else {
            return Err(DocError::new(
                value.pos,
                format!(
                    "`vars` hold plain values; compute `{}` with a `var.set` step",
                    key.text
                ),
            ));
        };
        vars.insert(key.text.clone(), v.clone());
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference example of SPEC §6, exactly as written there.
    const REFERENCE: &str = r##"pipeline:
 - event.listen:
     eventKey: webhook.lead.created
 - mail:
     to: name@company.tld
     subject: "New lead was created!"
     body: "#{@convert.fromBase64(body.origin)}"
"##;

    fn err(doc: &str) -> DocError {
        match Pipeline::parse(doc) {
            Err(e) => e,
            Ok(p) => panic!("accepted: {p:?}"),
        }
    }

    /// Asserts the error's `line:column` and that its message holds `text`.
    fn assert_err(doc: &str, at: &str, text: &str) {
        let e = err(doc);
        assert_eq!(e.pos.to_string(), at, "{e}");
        assert!(e.message.contains(text), "{e}");
    }

    /// Asserts that the error points at the first occurrence of `needle`.
    fn assert_err_on(doc: &str, needle: &str, text: &str) {
        let at = doc
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in {doc}"));
        let line = doc[..at].matches('\n').count() + 1;
        let column = doc[..at]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
        assert_err(doc, &format!("{line}:{column}"), text);
    }

    fn listen(rest: &str) -> String {
        format!("pipeline:\n  - event.listen:\n      eventKey: webhook.a\n{rest}")
    }

    #[test]
    fn reference_example_validates() {
        let p = Pipeline::parse(REFERENCE).unwrap();
        assert_eq!(p.listen.event_key, "webhook.lead.created");
        assert!(p.listen.pattern.matches("webhook.lead.created"));
        assert_eq!(p.listen.from, From::Now);
        assert_eq!(p.steps.len(), 1);
        let step = &p.steps[0];
        assert_eq!(
            (step.name.as_str(), step.pos.to_string()),
            ("mail", "4:4".into())
        );
        assert_eq!(step.on_error, OnError::Throw);
        let Action::Mail(m) = &step.action else {
            panic!("{:?}", step.action)
        };
        assert!(matches!(m.message, Param::Template(_)));
        assert_eq!(
            m.to.literal(),
            Some(&Value::String("name@company.tld".into()))
        );
    }

    #[test]
    fn every_step_parses() {
        let doc = listen(
            r##"  - log:
      message: "got #{body.id}"
      level: warn
  - mail.send:
      to: [a@x.tld, b@x.tld]
      subject: s
      message: m
      from: me@x.tld
      fromName: Me
      replyTo: r@x.tld
      cc: c@x.tld
      bcc: d@x.tld
  - http.get: {url: "http://127.0.0.1/x", timeout: 5}
  - http.post:
      url: http://127.0.0.1/x
      headers: {x-sig: "#{@hash.sha256(body.origin)}"}
      body: {a: "#{body.id}"}
      ignoreErrorStatus: true
  - http.put: {url: "http://h/"}
  - http.patch: {url: "http://h/"}
  - http.delete: {url: "http://h/"}
  - http.forward: {url: "http://h/", timeout: 2.5}
  - exec: {command: /bin/echo, args: [a, 1], stdin: x, env: {A: b}, timeout: 1}
  - var.set: {key: k, value: {nested: [1, "#{body.id}"]}}
  - set: {key: k2, value: 1}
  - body.set: {value: "#{vars.k}"}
  - log
"##,
        );
        let p = Pipeline::parse(&doc).unwrap();
        let names: Vec<&str> = p.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "log",
                "mail.send",
                "http.get",
                "http.post",
                "http.put",
                "http.patch",
                "http.delete",
                "http.forward",
                "exec",
                "var.set",
                "set",
                "body.set",
                "log"
            ]
        );
        assert!(matches!(
            p.steps[0].action,
            Action::Log {
                level: Level::Warn,
                ..
            }
        ));
        assert!(matches!(
            p.steps[3].action,
            Action::Http {
                method: HttpMethod::Post,
                ..
            }
        ));
    }

    #[test]
    fn listen_options() {
        let p = Pipeline::parse(
            "pipeline:\n- event.listen: {key: 'webhook.#', from: earliest, if: '#{body.size > 0}'}\n",
        )
        .unwrap();
        assert_eq!(p.listen.from, From::Earliest);
        assert!(p.listen.pattern.matches("webhook.x.y"));
        assert!(p.listen.condition.is_some());
        assert_err_on(
            "pipeline:\n- event.listen: {eventKey: a, key: b}\n",
            "b}",
            "not both",
        );
        assert_err(
            "pipeline:\n- event.listen: {}\n",
            "2:3",
            "needs the parameter `eventKey`",
        );
        assert_err_on(
            "pipeline:\n- event.listen: {eventKey: a, from: later}\n",
            "later",
            "`now` or `earliest`",
        );
        assert_err_on(
            "pipeline:\n- event.listen: {eventKey: a, onError: LOG}\n",
            "onError",
            "unknown parameter `onError`",
        );
        assert_err_on(
            "pipeline:\n- event.listen: {eventKey: 'Web.x'}\n",
            "'Web",
            "may hold only",
        );
        assert_err_on(
            "pipeline:\n- event.listen: {eventKey: 'a..b'}\n",
            "'a..b",
            "empty segment",
        );
        let long = format!(
            "pipeline:\n- event.listen: {{eventKey: {}}}\n",
            "a".repeat(256)
        );
        assert_err_on(&long, "aaa", "longer than 255");
    }

    #[test]
    fn structure_errors_point_at_the_problem() {
        assert_err_on(
            &listen("  - mial:\n      to: x\n"),
            "mial",
            "unknown step `mial`",
        );
        assert_err_on(
            &listen("  - mail:\n      to: x\n      tooo: y\n      subject: s\n      body: b\n"),
            "tooo",
            "unknown parameter `tooo` for `mail`",
        );
        assert_err_on(
            &listen("  - mail:\n      to: x\n      body: b\n"),
            "mail",
            "`mail` needs the parameter `subject`",
        );
        assert_err_on(
            &listen("  - mail: {to: x, subject: s}\n"),
            "mail",
            "needs the parameter `message`",
        );
        assert_err_on(
            &listen("  - mail: {to: x, subject: s, body: a, message: b}\n"),
            "a, message",
            "not both",
        );
        assert_err_on(
            &listen("  - log:\n      onError: LATER\n"),
            "LATER",
            "`onError` is THROW, IGNORE, LOG",
        );
        assert_err_on(
            &listen("  - log\n  - event.listen:\n      eventKey: b\n"),
            "event.listen:\n      eventKey: b",
            "must be the first step",
        );
        assert_err_on(
            "pipeline:\n  - log: {}\n",
            "log",
            "the first step must be `event.listen`",
        );
        assert_err_on("pipeline: []\n", "[]", "needs an `event.listen`");
        assert_err_on(
            &listen("  - log: {message: 'x #{body.}'}\n"),
            "'x #",
            "name after `.`",
        );
        assert_err_on(
            &listen("  - log:\n    message: x\n"),
            "message",
            "indent `message` under `log`",
        );
        assert_err_on(&listen("  - [log]\n"), "[log]", "not a list");
        assert_err_on(&listen("  - log: [a]\n"), "[a]", "must be a map");
        assert_err("headers: {}\n", "1:1", "no `pipeline` section");
        assert_err("pipelines: []\n", "1:1", "unknown section `pipelines`");
        assert_err("- a\n", "1:1", "a map of sections");
        assert_err("", "1:1", "empty");
        assert_err_on("pipeline: {a: 1}\n", "{a", "a list of steps");
    }

    #[test]
    fn literal_values_are_checked_when_put() {
        assert_err_on(
            &listen("  - http.get: {url: 'http://h', timeout: soon}\n"),
            "soon",
            "`timeout` must be a number of seconds",
        );
        assert_err_on(
            &listen("  - http.get: {url: 'http://h', timeout: 0}\n"),
            "0}",
            "above 0",
        );
        assert_err_on(
            &listen("  - http.forward: {url: 'http://h', ignoreErrorStatus: maybe}\n"),
            "maybe",
            "true or false",
        );
        assert_err_on(
            &listen("  - log: {level: LOUD}\n"),
            "LOUD",
            "`level` is one of",
        );
        assert_err_on(
            &listen("  - http.get: {url: ''}\n"),
            "''",
            "`url` must not be empty",
        );
        assert_err_on(
            &listen("  - exec: {command: x, args: y}\n"),
            "y}",
            "must be a list",
        );
        assert_err_on(
            &listen("  - exec: {command: '#{body.cmd}'}\n"),
            "'#",
            "must be written out",
        );
        assert_err_on(
            &listen("  - exec: {command: x, env: [a]}\n"),
            "[a]",
            "must be a map",
        );
        assert_err_on(
            &listen("  - mail: {to: [], subject: s, body: b}\n"),
            "[]",
            "at least one",
        );
        // With an expression, the value is checked when the step runs.
        assert!(
            Pipeline::parse(&listen(
                "  - http.get: {url: 'http://h', timeout: '#{vars.t}'}\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn on_error_forms_and_the_headers_default() {
        let p = Pipeline::parse(&listen(
            "  - log: {onError: IGNORE}\n  - log: {onError: {action: RETRY, times: 5, wait: 0.5, then: LOG}}\n  - log\n  - log: {onError: RETRY}\n",
        ))
        .unwrap();
        assert_eq!(p.steps[0].on_error, OnError::Ignore);
        assert_eq!(
            p.steps[1].on_error,
            OnError::Retry(RetryPolicy {
                times: 5,
                wait: Duration::from_millis(500),
                then: Fallback::Log
            })
        );
        assert_eq!(p.steps[2].on_error, OnError::Throw);
        assert_eq!(p.steps[3].on_error, OnError::Retry(default_retry()));
        let p = Pipeline::parse(&format!(
            "headers:\n  description: d\n  onError: LOG\n{}",
            listen("  - log\n  - log: {onError: THROW}\n")
        ))
        .unwrap();
        assert_eq!(p.steps[0].on_error, OnError::Log);
        assert_eq!(p.steps[1].on_error, OnError::Throw);
        assert_eq!(p.headers["description"], "d");
        let retry = |m: &str| listen(&format!("  - log:\n      onError: {m}\n"));
        assert_err_on(
            &retry("{action: RETRY, times: 0}"),
            "0}",
            "whole number from 1",
        );
        assert_err_on(
            &retry("{action: RETRY, times: 101}"),
            "101",
            "whole number from 1",
        );
        assert_err_on(&retry("{action: RETRY, wait: -1}"), "-1", "`wait` must be");
        assert_err_on(
            &retry("{action: RETRY, then: RETRY}"),
            "RETRY}",
            "THROW, IGNORE or LOG",
        );
        assert_err_on(
            &retry("{action: RETRY, tries: 2}"),
            "tries",
            "unknown key `tries`",
        );
        assert_err_on(&retry("{action: WAIT}"), "WAIT", "only `action`");
        assert_err_on(&retry("{times: 2}"), "{times", "`action: RETRY` is missing");
        assert_err_on(&retry("[RETRY]"), "[RETRY]", "`onError` is THROW");
        assert_err_on(
            &format!("headers: {{onError: NEVER}}\n{}", listen("")),
            "NEVER",
            "`onError` is",
        );
        assert_err_on(
            &format!("headers: {{tags: [a]}}\n{}", listen("")),
            "[a]",
            "must be text",
        );
    }

    #[test]
    fn vars_and_body_sections() {
        let p = Pipeline::parse(&format!(
            "vars:\n  n: 1\n  list: [a]\nbody: {{anything: [goes]}}\n{}",
            listen("")
        ))
        .unwrap();
        assert_eq!(p.vars, serde_json::json!({"n": 1, "list": ["a"]}));
        assert_err_on(
            &format!("vars:\n  n: '#{{body.x}}'\n{}", listen("")),
            "'#",
            "compute `n` with a `var.set` step",
        );
        assert_err_on(
            &format!("vars: [1]\n{}", listen("")),
            "[1]",
            "`vars` is a map",
        );
    }

    #[test]
    fn yaml_level_problems() {
        assert_err("pipeline: [\n", "2:1", "");
        assert_err_on(
            &listen("  - log: {message: a, message: b}\n"),
            "message: b",
            "given twice (first at 4:11)",
        );
        assert_err_on(
            &listen("  - log: {message: &a x}\n  - log: {message: *a}\n"),
            "&a",
            "anchors",
        );
        assert_err_on(&listen("  - log: {message: *a}\n"), "*a", "unknown anchor");
        assert_err_on(
            &listen("  - log: {message: !!binary aGk=}\n"),
            "!!binary",
            "tag",
        );
        assert_err(
            "pipeline: []\n---\npipeline: []\n",
            "2:1",
            "one YAML document",
        );
        assert_err_on(
            &listen("  - log: {message: .inf}\n"),
            ".inf",
            "not a finite number",
        );
        assert_err_on(&listen("  - log: {{a: 1}: 2}\n"), "{a", "key must be text");
        // saphyr-parser stops very deep input itself; hooktail's own bound is 64 levels.
        let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
        let e = err(&format!("body: {deep}\n{}", listen("")));
        assert!(e.message.contains("recursion limit"), "{e}");
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        let e = err(&format!("body: {deep}\n{}", listen("")));
        assert!(e.message.contains("nested deeper than 64"), "{e}");
        let big = format!("{}\nbody: '{}'\n", listen(""), "x".repeat(MAX_DOC_BYTES));
        assert_err(&big, "1:1", "at most 65536");
        let many = listen(&"  - log\n".repeat(MAX_STEPS));
        assert_err(&many, "103:5", "at most 100 steps");
        assert!(Pipeline::parse(&listen(&"  - log\n".repeat(MAX_STEPS - 1))).is_ok());
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let p = Pipeline::parse(&format!(
            "vars: {{a: ~, b: True, c: 0x1f, d: 0o17, e: -3, f: 1.5e2, g: '12', h: !!str 7, i: 1_000, j: 12abc}}\n{}",
            listen("")
        ))
        .unwrap();
        assert_eq!(
            p.vars,
            serde_json::json!({"a": null, "b": true, "c": 31, "d": 15, "e": -3, "f": 150.0,
                "g": "12", "h": "7", "i": "1_000", "j": "12abc"})
        );
    }
}
