//! Control characters from callers are shown escaped, never written raw to a terminal:
//! C0 as caret notation (`^[`, `^@`), DEL as `^?`, and C1 as `\x9b`-style hex.

use std::borrow::Cow;

/// Escapes every control character of `s`; borrows when there is none.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    let n = c as u32;
    n < 0x20 || n == 0x7f || (0x80..=0x9f).contains(&n)
}

fn push_escaped(out: &mut String, c: char) {
    let n = c as u32;
    match n {
        0x00..=0x1f => {
            out.push('^');
            out.push((n as u8 + 0x40) as char);
        }
        0x7f => out.push_str("^?"),
        0x80..=0x9f => out.push_str(&format!("\\x{n:02x}")),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_c0_del_and_c1() {
        assert_eq!(escape_control("plain"), "plain");
        assert_eq!(escape_control("\x1b[2J"), "^[[2J");
        assert_eq!(escape_control("\x1b]52;c;aGk=\x07"), "^[]52;c;aGk=^G");
        assert_eq!(escape_control("a\0b\x7fc"), "a^@b^?c");
        assert_eq!(escape_control("\u{9b}31m\u{85}"), "\\x9b31m\\x85");
        assert_eq!(escape_control("tab\there\r\n"), "tab^Ihere^M^J");
        assert_eq!(escape_control("ünïcödé ✓"), "ünïcödé ✓");
    }
}
