//! Cell text: numbers, sizes, ages and cuts that fit the columns they are given.

use crate::domain::escape::escape_control as esc;
use crate::domain::time::rfc3339_ms;

/// 1234567 → 1,234,567
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 123456 → 123k
pub fn compact(n: u64) -> String {
    match n {
        0..100_000 => n.to_string(),
        100_000..100_000_000 => format!("{}k", n / 1000),
        _ => format!("{}M", n / 1_000_000),
    }
}

pub fn size_label(n: u64) -> String {
    match n {
        0..1000 => format!("{n}B"),
        1000..1_000_000 => format!("{:.1}K", n as f64 / 1000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

/// How long ago `then` was, in its largest unit.
pub fn ago(now: i64, then: Option<i64>) -> String {
    let Some(then) = then else {
        return "—".into();
    };
    let s = ((now - then) / 1000).max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// The UTC time of day, `hh:mm:ss`.
pub fn clock(ms: i64) -> String {
    rfc3339_ms(ms).get(11..19).unwrap_or("--:--:--").to_string()
}

/// Fits `s` into `w` columns, marking a cut with `…`.
pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return format!("{s:<w$}");
    }
    if w == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(w - 1).collect();
    out.push('…');
    out
}

/// A list pane's title with what narrows it.
pub fn filter_title(base: &str, filter: &str, extra: Option<&str>) -> String {
    let mut t = format!(" {base} ");
    if let Some(x) = extra {
        t.push_str(&format!("· {} ", esc(x)));
    }
    if !filter.is_empty() {
        t.push_str(&format!("· /{} ", esc(filter)));
    }
    t
}

/// A duration in its largest sensible unit: `12 ms`, `1.5 s`, `3m 05s`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{}m {:02}s", ms / 60_000, ms / 1000 % 60),
    }
}

/// `s` cut into lines of at most `width` characters; at least one line.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_wrapping() {
        assert_eq!(duration(12), "12 ms");
        assert_eq!(duration(1500), "1.5 s");
        assert_eq!(duration(185_000), "3m 05s");
        assert_eq!(wrap("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(wrap("ab", 0), ["a", "b"]);
    }
}
