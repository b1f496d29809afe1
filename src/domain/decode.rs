//! Decoding a stored body for display, by content type: JSON (pretty, as tokens for colour),
//! form fields, multipart parts, text, or a hex dump. Every string is control-escaped.

use memchr::memmem;
use serde_json::Value;

use super::escape::escape_control;

/// Most body bytes decoded for display; the rest is summarised, to keep the view fast.
pub const DISPLAY_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Key,
    Str,
    Num,
    Bool,
    Null,
    Punct,
    Plain,
}

/// One display line as styled pieces.
pub type Line = Vec<(Token, String)>;

#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Empty,
    Json(Vec<Line>),
    Form(Vec<(String, String)>),
    Multipart(Vec<Part>),
    Text(Vec<String>),
    Hex(Vec<String>),
}

impl Decoded {
    pub fn kind(&self) -> &'static str {
        match self {
            Decoded::Empty => "empty",
            Decoded::Json(_) => "JSON",
            Decoded::Form(_) => "form",
            Decoded::Multipart(_) => "multipart",
            Decoded::Text(_) => "text",
            Decoded::Hex(_) => "binary",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size: usize,
    /// The first line of a text part without a filename.
    pub preview: Option<String>,
}

pub fn decode(content_type: Option<&str>, body: &[u8]) -> Decoded {
    if body.is_empty() {
        return Decoded::Empty;
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    let shown = &body[..body.len().min(DISPLAY_LIMIT)];
    // Only what is shown is decoded: a JSON body past the limit shows as its first bytes.
    if (mime.contains("json") || mime.is_empty() || mime.starts_with("text/"))
        && body.len() <= DISPLAY_LIMIT
        && let Ok(v) = serde_json::from_slice::<Value>(body)
    {
        return Decoded::Json(json_lines(&v));
    }
    if mime == "application/x-www-form-urlencoded" && std::str::from_utf8(body).is_ok() {
        return Decoded::Form(
            form_urlencoded::parse(shown)
                .map(|(k, v)| {
                    (
                        escape_control(&k).into_owned(),
                        escape_control(&v).into_owned(),
                    )
                })
                .collect(),
        );
    }
    if mime == "multipart/form-data"
        && let Some(b) = boundary(&ct, content_type.unwrap_or(""))
    {
        return Decoded::Multipart(parts(shown, &b));
    }
    match std::str::from_utf8(shown) {
        Ok(text) => Decoded::Text(text_lines(text)),
        // A cut through a multi-byte character is still text.
        Err(e) if e.valid_up_to() + 4 > shown.len() && shown.len() < body.len() => Decoded::Text(
            text_lines(&String::from_utf8_lossy(&shown[..e.valid_up_to()])),
        ),
        Err(_) => Decoded::Hex(hex_dump(shown)),
    }
}

fn text_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| escape_control(l).into_owned())
        .collect()
}

fn boundary(lower: &str, original: &str) -> Option<String> {
    let i = lower.find("boundary=")?;
    let b = original
        .get(i + 9..)?
        .split(';')
        .next()?
        .trim()
        .trim_matches('"');
    (!b.is_empty()).then(|| b.to_string())
}

/// The bytes of the `n`-th part that has a filename (the event's `files`, in order), for
/// saving it.
pub fn file_bytes<'a>(content_type: Option<&str>, body: &'a [u8], n: usize) -> Option<&'a [u8]> {
    let ct = content_type?;
    let b = boundary(&ct.to_ascii_lowercase(), ct)?;
    split_parts(body, &b)
        .into_iter()
        .filter(|(head, _)| {
            head.lines().any(|l| {
                l.to_ascii_lowercase().starts_with("content-disposition:")
                    && param(l, "filename").is_some()
            })
        })
        .nth(n)
        .map(|(_, content)| content)
}

/// Each part's head and content, split tolerantly (the receiver validates strictly).
fn split_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<(String, &'a [u8])> {
    let delim = format!("--{boundary}");
    let starts: Vec<usize> = memmem::find_iter(body, delim.as_bytes())
        .filter(|&p| p == 0 || body[..p].ends_with(b"\r\n"))
        .collect();
    let mut out = Vec::new();
    for w in starts.windows(2) {
        let start = w[0] + delim.len();
        let end = w[1].saturating_sub(2).max(start);
        let chunk = &body[start..end];
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let Some(split) = memmem::find(chunk, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&chunk[..split]).into_owned();
        out.push((head, &chunk[split + 4..]));
    }
    out
}

/// A tolerant, synchronous multipart split for display only.
fn parts(body: &[u8], boundary: &str) -> Vec<Part> {
    let mut out = Vec::new();
    for (head, content) in split_parts(body, boundary) {
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            size: content.len(),
            preview: None,
        };
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                part.name = param(line, "name").unwrap_or_default();
                part.filename = param(line, "filename");
            } else if let Some(v) = lower.strip_prefix("content-type:") {
                part.content_type = Some(escape_control(v.trim()).into_owned());
            }
        }
        if part.filename.is_none() {
            part.preview = std::str::from_utf8(content)
                .ok()
                .map(|t| escape_control(t.lines().next().unwrap_or("")).into_owned());
        }
        out.push(part);
    }
    out
}

/// A `key="value"` parameter of a header line, control-escaped.
fn param(line: &str, key: &str) -> Option<String> {
    line.split(';').map(str::trim).find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key))
            .then(|| escape_control(v.trim().trim_matches('"')).into_owned())
    })
}

/// `00000000  7b 22 61 22 3a 31 7d 00  …  |{"a":1}.|`
pub fn hex_dump(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let mut hex = String::with_capacity(50);
            for (j, b) in row.iter().enumerate() {
                if j == 8 {
                    hex.push(' ');
                }
                hex.push_str(&format!("{b:02x} "));
            }
            let ascii: String = row
                .iter()
                .map(|&b| {
                    if (0x20..0x7f).contains(&b) {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {hex:<49} |{ascii}|", i * 16)
        })
        .collect()
}

/// Pretty-printed JSON as lines of tokens, two-space indented.
pub fn json_lines(v: &Value) -> Vec<Line> {
    let mut lines = vec![Vec::new()];
    write_json(v, 0, &mut lines);
    lines
}

fn write_json(v: &Value, indent: usize, lines: &mut Vec<Line>) {
    let push = |lines: &mut Vec<Line>, t: Token, s: String| {
        if let Some(l) = lines.last_mut() {
            l.push((t, s));
        }
    };
    let newline = |lines: &mut Vec<Line>, indent: usize| {
        lines.push(vec![(Token::Plain, "  ".repeat(indent))]);
    };
    match v {
        Value::Null => push(lines, Token::Null, "null".into()),
        Value::Bool(b) => push(lines, Token::Bool, b.to_string()),
        Value::Number(n) => push(lines, Token::Num, n.to_string()),
        Value::String(s) => push(lines, Token::Str, quoted(s)),
        Value::Array(items) if items.is_empty() => push(lines, Token::Punct, "[]".into()),
        Value::Object(map) if map.is_empty() => push(lines, Token::Punct, "{}".into()),
        Value::Array(items) => {
            push(lines, Token::Punct, "[".into());
            for (i, item) in items.iter().enumerate() {
                newline(lines, indent + 1);
                write_json(item, indent + 1, lines);
                if i + 1 < items.len() {
                    push(lines, Token::Punct, ",".into());
                }
            }
            newline(lines, indent);
            push(lines, Token::Punct, "]".into());
        }
        Value::Object(map) => {
            push(lines, Token::Punct, "{".into());
            for (i, (k, item)) in map.iter().enumerate() {
                newline(lines, indent + 1);
                push(lines, Token::Key, quoted(k));
                push(lines, Token::Punct, ": ".into());
                write_json(item, indent + 1, lines);
                if i + 1 < map.len() {
                    push(lines, Token::Punct, ",".into());
                }
            }
            newline(lines, indent);
            push(lines, Token::Punct, "}".into());
        }
    }
}

/// A JSON string as JSON writes it, then control-escaped (JSON already escapes C0; this
/// catches DEL and C1, which JSON leaves raw).
fn quoted(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap_or_default();
    escape_control(&json).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.iter().map(|(_, s)| s.as_str()).collect())
            .collect()
    }

    #[test]
    fn json_is_pretty_printed_in_order() {
        let Decoded::Json(lines) = decode(
            Some("application/json"),
            br#"{"b":1,"a":[true,null],"c":{}}"#,
        ) else {
            panic!()
        };
        assert_eq!(
            text(&lines),
            [
                "{",
                "  \"b\": 1,",
                "  \"a\": [",
                "    true,",
                "    null",
                "  ],",
                "  \"c\": {}",
                "}"
            ]
        );
        assert_eq!(lines[1][1], (Token::Key, "\"b\"".to_string()));
    }

    #[test]
    fn only_the_first_256_kib_are_decoded() {
        let mut json = b"[".to_vec();
        while json.len() <= DISPLAY_LIMIT {
            json.extend_from_slice(b"1,");
        }
        json.extend_from_slice(b"1]");
        assert!(matches!(
            decode(Some("application/json"), &json),
            Decoded::Text(_)
        ));
        let part = |name: &str, len: usize| {
            format!(
                "--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{}\r\n",
                "x".repeat(len)
            )
        };
        let body = format!(
            "{}{}--b--\r\n",
            part("first", 10),
            part("past", DISPLAY_LIMIT)
        );
        let Decoded::Multipart(parts) =
            decode(Some("multipart/form-data; boundary=b"), body.as_bytes())
        else {
            panic!("not multipart");
        };
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "first");
    }

    #[test]
    fn hostile_strings_are_escaped_in_every_decoding() {
        let Decoded::Json(lines) = decode(None, "{\"x\":\"\u{7f}\u{9b}\"}".as_bytes()) else {
            panic!()
        };
        assert_eq!(text(&lines)[1], "  \"x\": \"^?\\x9b\"");
        let Decoded::Text(t) = decode(Some("text/plain"), b"\x1b[2J\x1b]52;c;aGk=\x07 hi\0") else {
            panic!()
        };
        assert_eq!(t, ["^[[2J^[]52;c;aGk=^G hi^@"]);
        let Decoded::Form(f) = decode(Some("application/x-www-form-urlencoded"), b"a=%1B%5B2J")
        else {
            panic!()
        };
        assert_eq!(f, [("a".to_string(), "^[[2J".to_string())]);
    }

    #[test]
    fn multipart_lists_parts_and_files() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\x00\r\n--b--\r\n";
        let Decoded::Multipart(p) = decode(Some("multipart/form-data; boundary=b"), body) else {
            panic!()
        };
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].name.as_str(), p[0].preview.as_deref()),
            ("note", Some("hello"))
        );
        assert_eq!(p[1].filename.as_deref(), Some("a.pdf"));
        assert_eq!(p[1].size, 5);
        assert_eq!(p[1].content_type.as_deref(), Some("application/pdf"));
    }

    #[test]
    fn binary_is_a_hex_dump() {
        let Decoded::Hex(h) = decode(Some("application/octet-stream"), b"\x00\x01{\"a\xff") else {
            panic!()
        };
        assert_eq!(
            h[0],
            format!("00000000  {:<49} |..{{\"a.|", "00 01 7b 22 61 ff ")
        );
        assert_eq!(decode(None, b""), Decoded::Empty);
    }
}
