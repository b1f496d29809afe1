//! Command-line options (§1). Every option also comes from an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hooktail",
    version,
    about = "tail -f for webhooks: receive, store durably, and watch them live",
    after_help = "Without a subcommand, hooktail runs the receiver and the dashboard in one process."
)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options only a server or the dashboard reads: `hooktail command --help` leaves them out
/// (they are still accepted there, like every global option).
const SERVER_ONLY: [&str; 6] = [
    "max_body_memory",
    "read_only",
    "smtp_url",
    "allow_exec",
    "forward_to",
    "trusted_proxies",
];

/// Options only a client reads (`hooktail command`, the attached dashboard): hidden in
/// `serve`'s help.
const CLIENT_ONLY: [&str; 3] = ["remote", "insecure", "cacert"];

/// The command line, with each subcommand's help listing the options that apply to it.
pub fn parse() -> Cli {
    let cli = Cli::command();
    // Hidden copies in `command`: global options are copied into a subcommand only where
    // it has none of that name, so these stay hidden there and are still accepted.
    let hidden = |names: &[&str]| -> Vec<clap::Arg> {
        cli.get_arguments()
            .filter(|a| names.contains(&a.get_id().as_str()))
            .map(|a| a.clone().hide(true))
            .collect()
    };
    let (in_command, in_serve) = (hidden(&SERVER_ONLY), hidden(&CLIENT_ONLY));
    let cli = cli
        .mut_subcommand("command", |sub| sub.args(in_command))
        .mut_subcommand("serve", |sub| sub.args(in_serve));
    let matches = cli.get_matches();
    let mut parsed = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    parsed.options.listen_given = listen_given(&matches);
    parsed
}

/// Whether `--listen` (or `HOOKTAIL_LISTEN`) was given, rather than left at its default,
/// before or after the subcommand.
fn listen_given(matches: &clap::ArgMatches) -> bool {
    let given = |m: &clap::ArgMatches| {
        matches!(
            m.value_source("listen"),
            Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
        )
    };
    given(matches) || matches.subcommand().is_some_and(|(_, sub)| given(sub))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the receiver only, without a dashboard (systemd, containers).
    Serve,
    /// Run one command and print its JSON result, e.g. `webhook.put eventKey=webhook.lead.created`.
    Command {
        /// webhook.put/get/delete, event.list/get/listen/replay, server.stats,
        /// pipeline.put/get/delete/run or run.list/get/retry.
        name: String,
        /// Parameters as KEY=VALUE.
        #[arg(value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Options {
    /// Holds the store hooktail.redb, the admin key admin.key, and the log hooktail.log.
    #[arg(
        long,
        value_name = "DIR",
        env = "HOOKTAIL_DATA",
        default_value = "./hooktail-data",
        global = true
    )]
    pub data: PathBuf,
    /// Where the receiver listens: IP:PORT (`localhost:PORT` is 127.0.0.1:PORT).
    #[arg(
        long,
        value_name = "ADDR",
        env = "HOOKTAIL_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true,
        value_parser = parse_listen
    )]
    pub listen: SocketAddr,
    /// `--listen` was given: `hooktail command` then does not look in the data dir's
    /// `serve.addr` for where the server listens.
    #[arg(skip)]
    pub listen_given: bool,
    /// Base of every webhookUrl (set it behind a proxy) [default: http://<listen>].
    #[arg(long, value_name = "URL", env = "HOOKTAIL_PUBLIC_URL", global = true, value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Hard ceiling in bytes for any request body.
    #[arg(
        long,
        value_name = "BYTES",
        env = "HOOKTAIL_MAX_PAYLOAD",
        default_value_t = 4_194_304,
        global = true
    )]
    pub max_payload: u64,
    /// Most bytes of request bodies held in memory at once, all requests together; calls
    /// beyond it get 503 with Retry-After.
    #[arg(
        long,
        value_name = "BYTES",
        env = "HOOKTAIL_MAX_BODY_MEMORY",
        default_value_t = 256 << 20,
        global = true
    )]
    pub max_body_memory: u64,
    /// Keep at most N accepted events, oldest pruned first (0 keeps all).
    #[arg(
        long,
        value_name = "N",
        env = "HOOKTAIL_RETAIN_EVENTS",
        default_value_t = 100_000,
        global = true
    )]
    pub retain_events: u64,
    /// The dashboard offers no put or delete, and the server refuses admin writes (405).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// The dashboard attaches to the hooktail server at URL, with the admin key from --data
    /// or HOOKTAIL_ADMIN_KEY (§8).
    #[arg(long, value_name = "URL", env = "HOOKTAIL_REMOTE", global = true)]
    pub remote: Option<String>,
    /// Mail server for the `mail` pipeline step: smtp://[user:pass@]host[:port] (STARTTLS when
    /// offered) or smtps://….
    /// Checked at start, by a parser that never repeats it (it may hold a password).
    #[arg(long, value_name = "URL", env = "HOOKTAIL_SMTP_URL", global = true, hide_env_values = true, value_parser = secret)]
    pub smtp_url: Option<Secret>,
    /// Permits the `exec` pipeline step.
    #[arg(long, env = "HOOKTAIL_ALLOW_EXEC", global = true)]
    pub allow_exec: bool,
    /// Forward every event to URL, as a pipeline named `forward-to` (like `stripe listen
    /// --forward-to`).
    #[arg(long, value_name = "URL", env = "HOOKTAIL_FORWARD_TO", global = true, value_parser = parse_forward_url)]
    pub forward_to: Option<String>,
    /// Let `hooktail command` and the attached dashboard send the admin key over plain HTTP to
    /// a server on another host.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// redb's two-phase commit (two syncs per commit) instead of one-phase with checksums
    /// (one sync). Not a command-line option: the benches compare the two.
    #[arg(skip = false)]
    pub two_phase_commit: bool,
    /// The write-ahead log, on (README, Write path and recovery): batches of events are
    /// answered once appended to it and synced, redb syncs only at checkpoints. Replayed on
    /// open only into the store it was written for. Not a command-line option: it is as
    /// durable as redb syncing every batch itself (the same crash and power-loss tests), and
    /// faster at 1 connection; only the ingest bench turns it off, to compare the two.
    #[arg(skip = true)]
    pub write_ahead_log: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key; reloaded on SIGHUP).
    /// `hooktail command` given it talks HTTPS and trusts this certificate.
    #[arg(long, value_name = "FILE", env = "HOOKTAIL_TLS_CERT", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", env = "HOOKTAIL_TLS_KEY", global = true)]
    pub tls_key: Option<PathBuf>,
    /// Proxies whose X-Forwarded-For names the client, for allowFrom: CIDRs, comma-separated.
    #[arg(long, value_name = "CIDR,...", env = "HOOKTAIL_TRUSTED_PROXIES", global = true, value_delimiter = ',', value_parser = parse_cidr)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `hooktail command` talks HTTPS and trusts the certificates in this PEM file (a
    /// self-signed certificate or a private CA), besides the usual public roots.
    #[arg(long, value_name = "FILE", env = "HOOKTAIL_CACERT", global = true)]
    pub cacert: Option<PathBuf>,
}

impl Options {
    /// The defaults (and `HOOKTAIL_*` variables) with this data dir and listen address, as
    /// the command line would give them; for tests and benchmarks.
    pub fn for_data(data: &std::path::Path, listen: SocketAddr) -> Result<Options, clap::Error> {
        let listen = listen.to_string();
        let args = [
            "hooktail".as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
            "--listen".as_ref(),
            listen.as_ref(),
        ];
        Cli::try_parse_from(args).map(|c| Options {
            listen_given: true,
            ..c.options
        })
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("{}://{}", self.scheme(), self.listen),
        }
    }

    /// `https` when the server has a certificate, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// A CIDR such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a network of one.
pub fn parse_cidr(s: &str) -> Result<ipnet::IpNet, String> {
    crate::domain::webhook::parse_cidr(s)
}

/// Text that may hold a password: its `Debug` does not show it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

fn secret(s: &str) -> Result<Secret, String> {
    Ok(Secret(s.to_string()))
}

/// An http(s) URL to forward events to.
fn parse_forward_url(s: &str) -> Result<String, String> {
    if !(s.starts_with("http://") || s.starts_with("https://")) {
        return Err("it must start with http:// or https://".into());
    }
    if s.contains(['\n', '\r', ' ', '"']) {
        return Err("it may not hold spaces, quotes or line breaks".into());
    }
    Ok(s.to_string())
}

/// An IP:PORT, or `localhost:PORT` for 127.0.0.1. Other names are not resolved: a server
/// must know which address it takes.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{port:?} is not a port number"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse().map_err(|_| {
        format!("{s:?} is not IP:PORT (for example 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080)")
    })
}

/// A base URL for webhook URLs: http(s), with a host, and no query or fragment.
fn parse_public_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("it must start with http:// or https://")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("it needs a host".into());
    }
    if rest.contains(['?', '#', ' ']) {
        return Err("it may not hold a query, a fragment or spaces".into());
    }
    Ok(s.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::{parse_listen, parse_public_url};

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("localhost:9000").unwrap().to_string(),
            "127.0.0.1:9000"
        );
        assert_eq!(parse_listen("[::1]:80").unwrap().to_string(), "[::1]:80");
        for bad in ["localhost", "localhost:x", "example.com:80", "8080", ""] {
            assert!(parse_listen(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn public_urls() {
        assert_eq!(
            parse_public_url("https://hooks.example.com/").unwrap(),
            "https://hooks.example.com"
        );
        assert_eq!(
            parse_public_url("http://10.0.0.1:8080/base").unwrap(),
            "http://10.0.0.1:8080/base"
        );
        for bad in [
            "hooks.example.com",
            "ftp://x",
            "https://",
            "https://x?y",
            "http:///p",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
