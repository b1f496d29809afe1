//! A step parameter: any YAML value whose strings may hold `#{…}` expressions, parsed when the
//! pipeline is put, and the conversions a step applies to a parameter's value.

use std::time::Duration;

use serde_json::{Map, Value};

use super::expr::{EvalError, Scope, Template, to_text};
use super::yaml::{DocError, Kind, Node};

/// A parameter as the document gives it. Parts without expressions are kept as plain values.
#[derive(Debug, Clone)]
pub enum Param {
    Value(Value),
    Template(Template),
    List(Vec<Param>),
    Map(Vec<(String, Param)>),
}

impl Param {
    /// Parses every string of `node` as a template; the error points at the faulty string.
    pub fn parse(node: &Node) -> Result<Param, DocError> {
        let param = match &node.kind {
            Kind::Scalar(v) => Param::Value(v.clone()),
            Kind::Text(s) => match Template::parse(s) {
                Ok(Template::Text(t)) => Param::Value(Value::String(t)),
                Ok(t) => Param::Template(t),
                Err(e) => return Err(DocError::new(node.pos, format!("expression {e}"))),
            },
            Kind::List(items) => {
                let items = items
                    .iter()
                    .map(Param::parse)
                    .collect::<Result<Vec<_>, _>>()?;
                match items.iter().map(|p| p.literal().cloned()).collect() {
                    Some(values) => Param::Value(Value::Array(values)),
                    None => Param::List(items),
                }
            }
            Kind::Map(entries) => {
                let entries = entries
                    .iter()
                    .map(|(k, v)| Ok((k.text.clone(), Param::parse(v)?)))
                    .collect::<Result<Vec<_>, DocError>>()?;
                let values: Option<Map<_, _>> = entries
                    .iter()
                    .map(|(k, p)| Some((k.clone(), p.literal()?.clone())))
                    .collect();
                match values {
                    Some(map) => Param::Value(Value::Object(map)),
                    None => Param::Map(entries),
                }
            }
        };
        Ok(param)
    }

    /// The value when no expression is involved, so it can be checked when the pipeline is put.
    pub fn literal(&self) -> Option<&Value> {
        match self {
            Param::Value(v) => Some(v),
            _ => None,
        }
    }

    pub fn eval(&self, scope: &Scope) -> Result<Value, EvalError> {
        match self {
            Param::Value(v) => Ok(v.clone()),
            Param::Template(t) => t.eval(scope),
            Param::List(items) => items
                .iter()
                .map(|p| p.eval(scope))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Param::Map(entries) => entries
                .iter()
                .map(|(k, p)| Ok((k.clone(), p.eval(scope)?)))
                .collect::<Result<Map<_, _>, EvalError>>()
                .map(Value::Object),
        }
    }
}

/// Longest timeout a step may ask for.
pub const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// A timeout in seconds: a positive number up to an hour (text such as "30" is accepted).
pub fn seconds(v: &Value) -> Result<Duration, String> {
    let secs = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s > 0.0 && s <= MAX_TIMEOUT_SECS => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}, not {}",
            to_text(v)
        )),
    }
}

/// `true` or `false` (also as text).
pub fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("must be true or false, not {}", to_text(other))),
    }
}

/// Non-empty text; numbers and booleans are written as text.
pub fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
        Value::String(_) | Value::Null => Err("must not be empty".into()),
        _ => Err(format!("must be text, not {}", v)),
    }
}

/// A list of texts: a list, or one text with commas between items (`a@x.tld, b@y.tld`).
pub fn text_list(v: &Value) -> Result<Vec<String>, String> {
    let items: Vec<String> = match v {
        Value::Array(items) => items.iter().map(text).collect::<Result<_, _>>()?,
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        other => vec![text(other)?],
    };
    if items.is_empty() {
        return Err("must name at least one item".into());
    }
    Ok(items)
}

/// A program's arguments: a list of texts (numbers and booleans written as text).
pub fn arg_list(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Array(_) | Value::Object(_) => Err(format!("items must be text, not {i}")),
                other => Ok(to_text(other).into_owned()),
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(format!("must be a list, not {}", to_text(other))),
    }
}

/// A map of texts, such as HTTP headers or environment variables.
pub fn text_map(v: &Value) -> Result<Vec<(String, String)>, String> {
    match v {
        Value::Object(m) => Ok(m
            .iter()
            .map(|(k, v)| (k.clone(), to_text(v).into_owned()))
            .collect()),
        Value::Null => Ok(Vec::new()),
        other => Err(format!("must be a map, not {}", to_text(other))),
    }
}
