//! The module rules of ARCHITECTURE.md, checked from the sources so that the shape stays:
//! the domain knows no IO crate, the service layer knows neither front end, and neither
//! front end (HTTP server, dashboard) reaches into the other.

use std::path::{Path, PathBuf};

/// Crates that do IO or drive a terminal: none belongs in the domain.
const IO_CRATES: &[&str] = &[
    "tokio",
    "hyper",
    "hyper_util",
    "redb",
    "ratatui",
    "ratatui_textarea",
    "crossterm",
];

/// Every `.rs` file under `dir`, relative to the crate root.
fn sources(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    assert!(!out.is_empty(), "no sources under {dir}");
    out
}

/// The code of a Rust source without its comments, strings and character literals, so that
/// prose like "knows nothing of tokio" is not an import. Lines stay where they were.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    // Skips to `end`, keeping the line breaks in between.
    let skip = |out: &mut String, from: usize, end: usize| {
        let end = end.min(b.len());
        out.extend(b[from..end].iter().filter(|&&c| c == b'\n').map(|_| '\n'));
        end
    };
    let mut i = 0;
    while i < b.len() {
        let starts_word = !ident_byte(b, i.wrapping_sub(1));
        match (b[i], b.get(i + 1).copied()) {
            (b'/', Some(b'/')) => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p);
                i = skip(&mut out, i, end);
            }
            (b'/', Some(b'*')) => {
                let (mut j, mut depth) = (i, 0);
                while j < b.len() {
                    if b[j..].starts_with(b"/*") {
                        depth += 1;
                        j += 2;
                    } else if b[j..].starts_with(b"*/") {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                i = skip(&mut out, i, j);
            }
            // A raw string, r"…" or r#"…"# (br too), closed by as many # as it opened with.
            (b'r', Some(b'#' | b'"'))
                if starts_word || (b[i - 1] == b'b' && !ident_byte(b, i.wrapping_sub(2))) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                let open = i + 1 + hashes;
                if b.get(open) != Some(&b'"') {
                    // A raw identifier, r#type.
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let mut j = open + 1;
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = skip(&mut out, i, j + close.len());
                out.push_str("\"\"");
            }
            (b'"', _) => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                i = skip(&mut out, i, j + 1);
                out.push_str("\"\"");
            }
            (b'\'', Some(c)) => {
                // A character literal ('x', '\n', '\''), or else a lifetime ('a), kept.
                let end = if c == b'\\' {
                    b.get(i + 3..)
                        .and_then(|rest| rest.iter().position(|&c| c == b'\''))
                        .map(|p| i + 3 + p)
                } else {
                    let len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
                };
                match end {
                    Some(end) => {
                        out.push_str("' '");
                        i = end + 1;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            _ => {
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&src[i..i + len]);
                i += len;
            }
        }
    }
    out
}

/// Whether the byte at `i` can be part of an identifier.
fn ident_byte(b: &[u8], i: usize) -> bool {
    b.get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The identifiers of a source's code, with the line each is on.
fn identifiers(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code_only(src).lines().enumerate() {
        let mut word = String::new();
        for c in line.chars().chain([' ']) {
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
            } else if !word.is_empty() {
                if !word.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push((n + 1, std::mem::take(&mut word)));
                }
                word.clear();
            }
        }
    }
    out
}

/// Where the files under `dir` name any of `banned`, as `path:line: name`.
fn uses(dir: &str, banned: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in sources(dir) {
        let src = std::fs::read_to_string(&path).unwrap();
        for (line, id) in identifiers(&src) {
            if banned.contains(&id.as_str()) {
                found.push(format!("{}:{line}: {id}", path.display()));
            }
        }
    }
    found
}

#[test]
fn the_domain_imports_no_io_crate() {
    let found = uses("src/domain", IO_CRATES);
    assert!(
        found.is_empty(),
        "the domain must not use:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_dashboard_never_imports_the_http_server() {
    // The server module is `crate::http`; a path to it names `http` as an identifier.
    let found = uses("src/tui", &["http"]);
    assert!(
        found.is_empty(),
        "the dashboard must not use crate::http (go through service or a Backend):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_service_layer_imports_no_front_end() {
    // `crate::pipeline::http` (outbound steps) would match too; the service needs neither.
    let found = uses("src/service", &["http", "tui"]);
    assert!(
        found.is_empty(),
        "src/service must not use crate::http or crate::tui (they call it):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_http_server_never_imports_the_dashboard() {
    let found = uses("src/http", &["tui"]);
    assert!(
        found.is_empty(),
        "src/http must not use crate::tui:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_imports_and_ignores_prose() {
    let ids = |src: &str| -> Vec<String> { identifiers(src).into_iter().map(|(_, i)| i).collect() };
    for src in [
        "use tokio::sync::mpsc;",
        "fn f() { tokio::spawn(async {}); }",
        "use crate::{domain, http::Limits};",
        "let x = '\"'; use redb;",
        "let s = r#\"a \" b\"#; crossterm::terminal::size();",
        "let c = '\\''; let s = br\"\\\"; hyper::body::Incoming;",
    ] {
        let found = ids(src);
        assert!(
            found
                .iter()
                .any(|i| IO_CRATES.contains(&i.as_str()) || i == "http"),
            "missed the import in {src:?}: {found:?}"
        );
    }
    for src in [
        "// knows nothing of tokio",
        "/* hyper /* nested */ redb */ fn f() {}",
        "let s = \"tokio and http://x\";",
        "let s = r#\"ratatui \"quoted\"\"#;",
        "fn f<'a>(x: &'a str) -> char { 'h' }",
        "let c = '\\''; let s = br\"tokio\\\"; let r#type = 1;",
        "let status = x.http_status;",
    ] {
        let found = ids(src);
        assert!(
            !found
                .iter()
                .any(|i| IO_CRATES.contains(&i.as_str()) || i == "http"),
            "took prose for an import in {src:?}: {found:?}"
        );
    }
}
