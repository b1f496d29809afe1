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

/// How the dashboard shows times; `t` switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Times {
    #[default]
    Utc,
    /// Local time, this many seconds east of UTC.
    Local(i32),
    /// How long ago.
    Ago,
}

impl Times {
    /// The next mode; `offset_s` is the local offset, read by the driver.
    pub fn next(self, offset_s: i32) -> Times {
        match self {
            Times::Utc => Times::Local(offset_s),
            Times::Local(_) => Times::Ago,
            Times::Ago => Times::Utc,
        }
    }

    /// For a pane's title: `UTC`, `UTC+01:00`, `age`.
    pub fn label(self) -> String {
        match self {
            Times::Utc => "UTC".into(),
            Times::Local(s) => {
                let sign = if s < 0 { '-' } else { '+' };
                let m = s.unsigned_abs() / 60;
                format!("local, UTC{sign}{:02}:{:02}", m / 60, m % 60)
            }
            Times::Ago => "age".into(),
        }
    }

    /// `ms` in eight columns: `hh:mm:ss`, or its age right-aligned.
    pub fn stamp(self, ms: i64, now_ms: i64) -> String {
        match self {
            Times::Utc => clock(ms),
            Times::Local(s) => clock(ms + i64::from(s) * 1000),
            Times::Ago => format!("{:>8}", format!("{} ago", ago(now_ms, Some(ms)))),
        }
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

/// Fits `s` into `w` columns keeping its end, which tells eventKeys apart
/// (`…lead.created`), and marking the cut with `…`.
pub fn fit_end(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        return format!("{s:<w$}");
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::from('…');
    out.extend(s.chars().skip(n - (w - 1)));
    out
}

/// `1 webhook`, `3 webhooks`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `s` in lines of at most `width` characters, broken after spaces where it can be and
/// inside long words (tokens, signatures) where it cannot; at least one line.
pub fn wrap_words(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in s.split_inclusive(' ') {
        let wlen = word.chars().count();
        if len + wlen > width && len > 0 {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            len = 0;
        }
        for c in word.chars() {
            if len == width {
                lines.push(std::mem::take(&mut line));
                len = 0;
            }
            line.push(c);
            len += 1;
        }
    }
    lines.push(line.trim_end().to_string());
    lines
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
        assert_eq!(
            wrap_words("exceeds the server's limit", 12),
            ["exceeds the", "server's", "limit"]
        );
        assert_eq!(wrap_words("eyJhbGciOi", 4), ["eyJh", "bGci", "Oi"]);
        assert_eq!(wrap_words("", 4), [""]);
        assert_eq!(fit_end("webhook.lead.created", 8), "…created");
        assert_eq!(fit_end("short", 8), "short   ");
        assert_eq!(plural(1, "webhook"), "1 webhook");
        let t = 1_795_878_000_000; // 15:00:00 UTC
        assert_eq!(Times::Utc.stamp(t, t), "15:00:00");
        assert_eq!(Times::Local(3600).stamp(t, t), "16:00:00");
        assert_eq!(Times::Local(-5400).label(), "local, UTC-01:30");
        assert_eq!(Times::Ago.stamp(t - 90_000, t), "  1m ago");
        assert_eq!(plural(0, "webhook"), "0 webhooks");
    }
}
