//! An event as a curl command that sends it again: its method, the receive URL under the
//! public URL with its query, its content type and its exact body, with `$TOKEN` where the
//! token goes. Only POSIX `sh` quoting is used, so it runs in sh, bash and zsh alike.

use crate::domain::{Event, PayloadType};

/// Largest body put into a command; a bigger one is better saved and sent from a file.
pub const MAX_CURL_BODY: usize = 64 * 1024;

/// The command, or why there is none.
pub fn curl(e: &Event, public_url: &str) -> Result<String, String> {
    if e.payload_type == PayloadType::Ignore && e.size > 0 {
        return Err("its webhook keeps no body (payloadType ignore): nothing to send".into());
    }
    if e.body.len() > MAX_CURL_BODY {
        return Err(format!(
            "the body is {} bytes, too large for a command; save it with s and send it with \
             --data-binary @FILE",
            e.body.len()
        ));
    }
    let text = match std::str::from_utf8(&e.body) {
        Ok(t) if !t.contains('\0') => t,
        _ => {
            return Err(
                "the body is binary; save it with s and send it with --data-binary @FILE".into(),
            );
        }
    };
    let mut url = format!(
        "{}/api/v3/command/webhook.receive",
        public_url.trim_end_matches('/')
    );
    if !e.query.is_empty() {
        url.push('?');
        url.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(e.query.iter())
                .finish(),
        );
    }
    let mut cmd = String::new();
    if !text.is_empty() {
        // printf, not a heredoc: a heredoc would add a newline the caller never sent.
        cmd.push_str(&format!("printf '%s' {} | ", quote(text)));
    }
    cmd.push_str(&format!(
        "curl -sS -X {} {} -H \"token: $TOKEN\"",
        quote(&e.method),
        quote(&url)
    ));
    if let Some(ct) = &e.content_type {
        cmd.push_str(&format!(" -H {}", quote(&format!("content-type: {ct}"))));
    }
    if !text.is_empty() {
        cmd.push_str(" --data-binary @-");
    }
    Ok(cmd)
}

/// `s` in single quotes for sh: everything inside is literal, and a `'` becomes `'\''`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_single_quotes() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$TOKEN `x`"), "'$TOKEN `x`'");
    }
}
