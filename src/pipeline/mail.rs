//! The `mail` step's transport: `--smtp-url` parsed once, and lettre's pooled async SMTP client
//! over tokio and rustls. The URL's password goes to the SMTP server and nowhere else: the
//! config's `Debug` hides it and no error repeats the URL.

use std::fmt;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, Mailboxes, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Time allowed for each SMTP command.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain, upgraded with STARTTLS when the server offers it.
    StartTlsWhenOffered,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// `--smtp-url`: `smtp://[user:pass@]host[:port]` or `smtps://…`, optional `?from=address`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    password: Option<String>,
    /// The sender when a step gives no `from`.
    pub from: String,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("from", &self.from)
            .finish()
    }
}

impl SmtpConfig {
    /// Parses the URL. Errors never repeat it, since it may hold a password.
    pub fn parse(url: &str) -> Result<Self, String> {
        let u = url::Url::parse(url).map_err(|e| format!("--smtp-url is not a valid URL ({e})"))?;
        let (security, default_port) = match u.scheme() {
            "smtp" => (Security::StartTlsWhenOffered, 25),
            "smtps" => (Security::Tls, 465),
            other => {
                return Err(format!(
                    "--smtp-url must start with smtp:// or smtps://, not {other}://"
                ));
            }
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("--smtp-url has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "--smtp-url: the user or password is not UTF-8")
        };
        let user = Some(u.username())
            .filter(|s| !s.is_empty())
            .map(decode)
            .transpose()?;
        let password = u.password().map(decode).transpose()?;
        if password.is_some() && user.is_none() {
            return Err("--smtp-url has a password but no user".into());
        }
        let mut from = None;
        for (k, v) in u.query_pairs() {
            match k.as_ref() {
                "from" => from = Some(v.into_owned()),
                other => {
                    return Err(format!(
                        "--smtp-url: unknown parameter {other:?}; only `from` is known"
                    ));
                }
            }
        }
        let from = from
            .or_else(|| user.clone().filter(|u| u.contains('@')))
            .unwrap_or_else(|| "hooktail@localhost".to_string());
        from.parse::<Mailbox>()
            .map_err(|e| format!("--smtp-url: sender {from:?} is not a mail address: {e}"))?;
        Ok(Self {
            host,
            port: u.port().unwrap_or(default_port),
            security,
            user,
            password,
            from,
        })
    }
}

/// A message as the step evaluated it.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

/// Sends mail through the configured server; clones share one connection pool.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, String> {
        let tls = TlsParameters::new(config.host.clone())
            .map_err(|e| format!("cannot set up TLS for {}: {e}", config.host))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(SMTP_TIMEOUT))
            .tls(match config.security {
                Security::StartTlsWhenOffered => Tls::Opportunistic(tls),
                Security::Tls => Tls::Wrapper(tls),
            });
        if let (Some(user), Some(password)) = (&config.user, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from: config.from.clone(),
        })
    }

    pub async fn send(&self, mail: &Outgoing) -> Result<(), String> {
        let message = build(mail, &self.from)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("the SMTP server refused or failed: {e}"))
    }
}

/// The message: text/plain in UTF-8, base64-encoded so its bytes arrive exactly as given (line
/// endings included; a 7bit or quoted-printable body would have them rewritten to CRLF).
fn build(mail: &Outgoing, default_from: &str) -> Result<Message, String> {
    let address = mail.from.as_deref().unwrap_or(default_from);
    let mut from: Mailbox = address
        .parse()
        .map_err(|e| format!("from: {address:?} is not a mail address: {e}"))?;
    if let Some(name) = &mail.from_name {
        from.name = Some(one_line(name));
    }
    let mut builder = Message::builder()
        .from(from)
        .subject(one_line(&mail.subject));
    for (field, list) in [
        ("to", &mail.to),
        ("replyTo", &mail.reply_to),
        ("cc", &mail.cc),
        ("bcc", &mail.bcc),
    ] {
        for address in list {
            let parsed: Mailboxes = address
                .parse()
                .map_err(|e| format!("{field}: {address:?} is not a mail address: {e}"))?;
            for mbox in parsed {
                builder = match field {
                    "to" => builder.to(mbox),
                    "replyTo" => builder.reply_to(mbox),
                    "cc" => builder.cc(mbox),
                    _ => builder.bcc(mbox),
                };
            }
        }
    }
    let body = Body::new_with_encoding(
        mail.text.as_bytes().to_vec(),
        ContentTransferEncoding::Base64,
    )
    .map_err(|_| "cannot encode the message text".to_string())?;
    let part = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body);
    builder
        .singlepart(part)
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// Header text on one line: a line break in a subject must not start a new header.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = SmtpConfig::parse("smtp://mail.example.com").unwrap();
        assert_eq!((c.port, c.security), (25, Security::StartTlsWhenOffered));
        assert_eq!((c.user, c.from.as_str()), (None, "hooktail@localhost"));
        let c = SmtpConfig::parse("smtps://bot%40x.tld:p%40ss+w@mail.x.tld:2465").unwrap();
        assert_eq!((c.port, c.security), (2465, Security::Tls));
        assert_eq!(c.user.as_deref(), Some("bot@x.tld"));
        assert_eq!(c.password.as_deref(), Some("p@ss+w"));
        assert_eq!(c.from, "bot@x.tld");
        let c = SmtpConfig::parse("smtp://u:p@[::1]:2525?from=me@x.tld").unwrap();
        assert_eq!((c.host.as_str(), c.from.as_str()), ("::1", "me@x.tld"));
        for bad in [
            "http://h",
            "smtp://",
            "nonsense",
            "smtp://:pw@h",
            "smtp://h?tls=yes",
            "smtp://h?from=nobody",
        ] {
            assert!(SmtpConfig::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_password_is_never_shown() {
        let url = "smtp://user:hunter2secret@h:25";
        let c = SmtpConfig::parse(url).unwrap();
        assert!(!format!("{c:?}").contains("hunter2secret"));
        for bad in [
            "smtp://user:hunter2secret@h:99999",
            "smtp://user:hunter2secret@h?x=1",
            "ftp://user:hunter2secret@h",
        ] {
            let e = SmtpConfig::parse(bad).unwrap_err();
            assert!(!e.contains("hunter2secret"), "{e}");
        }
    }

    #[test]
    fn messages_keep_their_bytes_and_headers_stay_on_one_line() {
        let m = build(
            &Outgoing {
                to: vec!["a@x.tld, B <b@x.tld>".into()],
                subject: "hi\r\nBcc: evil@x.tld".into(),
                text: "line1\nline2".into(),
                from_name: Some("Hook Tail".into()),
                ..Default::default()
            },
            "hooktail@localhost",
        )
        .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Subject: hi  Bcc: evil@x.tld\r\n"), "{raw}");
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(
            raw.contains("From: \"Hook Tail\" <hooktail@localhost>"),
            "{raw}"
        );
        assert!(raw.contains("Content-Transfer-Encoding: base64"), "{raw}");
        assert!(raw.contains("bGluZTEKbGluZTI="), "{raw}");
        assert_eq!(m.envelope().to().len(), 2);
        let e = build(
            &Outgoing {
                to: vec!["not an address".into()],
                ..Default::default()
            },
            "hooktail@localhost",
        )
        .unwrap_err();
        assert!(e.starts_with("to: "), "{e}");
    }
}
