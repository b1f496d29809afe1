//! Copying through the terminal with OSC 52, which works over SSH. Nothing tells hooktail
//! whether the terminal took it, so the toast says what was sent, not that it was copied.
//! Inside tmux both forms go out: the plain sequence, which tmux takes with `set-clipboard
//! on`, and the passthrough-wrapped one, which reaches the outer terminal with
//! `allow-passthrough on`. With tmux's defaults neither gets through.

use base64::Engine;

/// Most bytes of text sent: terminals cap OSC 52 (xterm and others at about 100,000
/// characters of base64), and a bigger sequence is dropped whole.
pub const MAX_COPY: usize = 74 * 1024;

/// The bytes that set the clipboard to `text`.
pub fn osc52(text: &str, in_tmux: bool) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text);
    let plain = format!("\x1b]52;c;{b64}\x07");
    if in_tmux {
        let wrapped = format!("\x1bPtmux;{}\x1b\\", plain.replace('\x1b', "\x1b\x1b"));
        format!("{plain}{wrapped}").into_bytes()
    } else {
        plain.into_bytes()
    }
}

/// The toast for `len` bytes of `what` sent, or why nothing was sent.
pub fn toast(what: &str, len: usize) -> String {
    if len > MAX_COPY {
        format!(
            "{what} is {}: more than the {} the terminal clipboard takes; nothing sent",
            kib(len),
            kib(MAX_COPY)
        )
    } else {
        format!(
            "Sent {what} ({}) to the terminal clipboard (OSC 52)",
            kib(len)
        )
    }
}

/// `812 B`, `1.2 KiB`.
pub fn kib(n: usize) -> String {
    if n < 1024 {
        format!("{n} B")
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_tmux_the_plain_sequence_goes() {
        assert_eq!(osc52("hi", false), b"\x1b]52;c;aGk=\x07");
    }

    #[test]
    fn inside_tmux_both_forms_go() {
        assert_eq!(
            osc52("hi", true),
            b"\x1b]52;c;aGk=\x07\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\"
        );
    }

    #[test]
    fn the_toast_says_what_was_sent() {
        assert_eq!(
            toast("the body", 1229),
            "Sent the body (1.2 KiB) to the terminal clipboard (OSC 52)"
        );
        assert!(toast("the body", MAX_COPY + 1).contains("nothing sent"));
    }
}
