//! A YAML document as a tree whose every node knows its `line:column`, so that validation can
//! point at the exact key or value that is wrong. Built from saphyr-parser's event stream with an
//! explicit stack: no recursion, a bounded depth, and no anchors or aliases (an alias can expand
//! a small document into a huge one, and pipelines have no use for them).

use std::fmt;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

/// Deepest nesting of maps and lists a document may have.
pub const MAX_DEPTH: usize = 64;

/// A place in the document, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn of(m: &Marker) -> Self {
        Pos {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A problem in a document, at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocError {
    pub pos: Pos,
    pub message: String,
}

impl DocError {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for DocError {}

/// A node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar that is not text: null, a boolean or a number (YAML 1.2 core schema).
    Scalar(Value),
    /// Text: a quoted, block, or plain scalar that is not null, a boolean or a number.
    Text(String),
    List(Vec<Node>),
    /// Keys in document order; a key given twice is an error.
    Map(Vec<(Key, Node)>),
}

/// A map key: always text.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub pos: Pos,
    pub text: String,
}

impl Node {
    /// What the node is, for messages such as "expected a map, found a list".
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar(Value::Null) => "nothing",
            Kind::Scalar(Value::Bool(_)) => "a boolean",
            Kind::Scalar(_) => "a number",
            Kind::Text(_) => "text",
            Kind::List(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }

    /// The node as plain data, for values that hold no expressions.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Scalar(v) => v.clone(),
            Kind::Text(s) => Value::String(s.clone()),
            Kind::List(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// A collection being built, with the key waiting for its value when it is a map.
enum Open {
    List(Pos, Vec<Node>),
    Map(Pos, Vec<(Key, Node)>, Option<Key>),
}

/// Parses one YAML document. An empty document is `None`.
pub fn parse(text: &str) -> Result<Option<Node>, DocError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| DocError::new(Pos::of(e.marker()), e.info()))?;
        let pos = Pos::of(&span.start);
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(DocError::new(
                        pos,
                        "a pipeline is one YAML document; remove the second `---`",
                    ));
                }
                continue;
            }
            Event::Alias(_) => {
                return Err(DocError::new(
                    pos,
                    "YAML aliases (`*name`) are not supported",
                ));
            }
            Event::SequenceStart(anchor, tag) => {
                refuse_anchor_and_tag(anchor, tag.as_deref(), pos, false)?;
                check_depth(stack.len(), pos)?;
                stack.push(Open::List(pos, Vec::new()));
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                refuse_anchor_and_tag(anchor, tag.as_deref(), pos, false)?;
                check_depth(stack.len(), pos)?;
                stack.push(Open::Map(pos, Vec::new(), None));
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let forced_text = refuse_anchor_and_tag(anchor, tag.as_deref(), pos, true)?;
                if let Some(Open::Map(_, entries, key @ None)) = stack.last_mut() {
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.text == *value) {
                        return Err(DocError::new(
                            pos,
                            format!(
                                "`{value}` is given twice (first at {}); a key may appear once",
                                first.pos
                            ),
                        ));
                    }
                    *key = Some(Key {
                        pos,
                        text: value.into_owned(),
                    });
                    continue;
                }
                let kind = if style == ScalarStyle::Plain && !forced_text {
                    resolve_plain(&value, pos)?
                } else {
                    Kind::Text(value.into_owned())
                };
                Node { pos, kind }
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::List(pos, items)) => Node {
                    pos,
                    kind: Kind::List(items),
                },
                _ => return Err(DocError::new(pos, "unbalanced list")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(pos, entries, None)) => Node {
                    pos,
                    kind: Kind::Map(entries),
                },
                _ => return Err(DocError::new(pos, "unbalanced map")),
            },
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::List(_, items)) => items.push(node),
            Some(Open::Map(_, entries, key)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    return Err(DocError::new(
                        node.pos,
                        format!("a map key must be text, not {}", node.describe()),
                    ));
                }
            },
        }
    }
    Ok(root)
}

fn check_depth(depth: usize, pos: Pos) -> Result<(), DocError> {
    if depth >= MAX_DEPTH {
        return Err(DocError::new(
            pos,
            format!("the document is nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(())
}

/// Anchors and tags other than `!!str` are refused. Returns whether `!!str` forces text.
fn refuse_anchor_and_tag(
    anchor: usize,
    tag: Option<&saphyr_parser::Tag>,
    pos: Pos,
    scalar: bool,
) -> Result<bool, DocError> {
    if anchor != 0 {
        return Err(DocError::new(
            pos,
            "YAML anchors (`&name`) are not supported",
        ));
    }
    match tag {
        None => Ok(false),
        Some(t) if scalar && t.is_yaml_core_schema() && t.suffix == "str" => Ok(true),
        Some(t) => Err(DocError::new(
            pos,
            format!("YAML tag `{t}` is not supported"),
        )),
    }
}

/// The YAML 1.2 core schema for plain scalars: null, booleans, integers, floats, else text.
fn resolve_plain(s: &str, pos: Pos) -> Result<Kind, DocError> {
    let value = match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            return Err(DocError::new(
                pos,
                format!("{s} is not a finite number; quote it to make it text"),
            ));
        }
        _ => match number(s) {
            Some(n) => Value::Number(n),
            None => return Ok(Kind::Text(s.to_string())),
        },
    };
    Ok(Kind::Scalar(value))
}

fn number(s: &str) -> Option<Number> {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(Number::from);
    }
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().map(Number::from);
    }
    let float_chars = unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if float_chars && unsigned.bytes().any(|b| b.is_ascii_digit()) {
        return s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(Number::from_f64);
    }
    None
}
