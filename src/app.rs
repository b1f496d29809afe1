//! Wiring: the data dir, the store and its writer, and the HTTP server, for `serve`, the
//! dashboard and `hooktail command` alike.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::Options;
use crate::domain::pipeline::Pipeline;
use crate::http::tls::Certificate;
use crate::http::{self, Limits, State};
use crate::metrics::Metrics;
use crate::pipeline::engine::{Engine, Pipelines};
use crate::pipeline::runner::Runner;
use crate::pipeline::{Env, HttpClient, Mailer, SmtpConfig, TracingLog};
use crate::service::Service;
use crate::store::wal::FileLog;
use crate::store::{LogConfig, PipelineInput, Store, StoreError, Writer, WriterConfig};

pub const STORE_FILE: &str = "hooktail.redb";
/// The write-ahead log, next to the store.
pub const WAL_FILE: &str = "hooktail.wal";
/// The log's size: a checkpoint makes redb durable and starts it over when it is full...
const LOG_SEGMENT: u64 = 64 << 20;
/// ...or after a batch this long after the last one, so that replay after a crash is short.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);
/// Batches this large commit straight to redb rather than through the log (measured in
/// `cargo bench --bench ingest`: README, Write path and recovery).
const DIRECT_BATCH: usize = 32;
pub const KEY_FILE: &str = "admin.key";
pub const LOG_FILE: &str = "hooktail.log";
/// The URL of the server that holds the store, for a dashboard that finds the store locked:
/// written when the receiver starts listening, removed when it stops.
pub const ADDR_FILE: &str = "serve.addr";

/// Creates the data dir (mode 0700) on first start.
pub fn prepare_data_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
        .with_context(|| format!("cannot create the data dir {}", dir.display()))
}

/// Shortest admin key accepted (§1).
pub const MIN_KEY_LEN: usize = 32;
/// Largest admin key file read; a key is a line of text.
const MAX_KEY_FILE: u64 = 4096;

/// Reads the admin key, creating it once when there is none.
pub fn admin_key(dir: &Path) -> Result<String> {
    match read_admin_key(dir)? {
        Some(key) => Ok(key),
        None => create_admin_key(dir),
    }
}

/// Reads the admin key without creating it: `None` when there is no key file. A key file that
/// is unsafe or unusable is refused with a message that says how to fix it, as `ssh` does for
/// private keys.
pub fn read_admin_key(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(KEY_FILE);
    let shown = path.display();
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {shown}")),
    };
    let make_new = "remove it, and hooktail makes a new key on its next start";
    if !meta.is_file() {
        anyhow::bail!("{shown} is not a regular file; {make_new}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{shown} is open to group or others (mode {mode:04o}); it is the admin key, so \
                 make it private: chmod 600 {shown}"
            );
        }
    }
    if meta.len() > MAX_KEY_FILE {
        anyhow::bail!("{shown} is too large to be an admin key; {make_new}");
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {shown}"))?;
    let key = text.trim();
    if key.is_empty() {
        anyhow::bail!("{shown} is empty; {make_new}");
    }
    if key.chars().count() < MIN_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        anyhow::bail!(
            "{shown} must hold at least {MIN_KEY_LEN} printable characters without spaces; \
             {make_new}, or write a longer random key into it"
        );
    }
    Ok(Some(key.to_string()))
}

/// Writes a new key of 256 random bits (hex) atomically: a temporary file (mode 0600) is
/// written and synced, then renamed into place, so a crash never leaves a partial key.
fn create_admin_key(dir: &Path) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the admin key: {e}"))?;
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(KEY_FILE);
    let tmp = dir.join(format!("{KEY_FILE}.tmp"));
    // A leftover of a start that crashed mid-write.
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(&tmp)?;
        f.write_all(key.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        // The rename is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    };
    write().with_context(|| format!("cannot create {}", path.display()))?;
    Ok(key)
}

/// The store, its writer and the metrics: everything but the network.
pub struct Core {
    pub ctx: Service,
    pub metrics: Arc<Metrics>,
    pub data: PathBuf,
    writer_thread: JoinHandle<()>,
}

impl Core {
    pub fn open(opts: &Options) -> Result<Core> {
        prepare_data_dir(&opts.data)?;
        let path = opts.data.join(STORE_FILE);
        let store = Store::open(&path).map_err(|e| match e {
            StoreError::Locked => anyhow::Error::new(StoreError::Locked).context(format!(
                "the store {} is in use by another hooktail process (a serve or a dashboard \
                 on {}; `hooktail --data {}` attaches to a serve)",
                path.display(),
                opts.data.display(),
                opts.data.display()
            )),
            e => anyhow::anyhow!("cannot open the store {}: {e}", path.display()),
        })?;
        let metrics = Arc::new(Metrics::default());
        let m = metrics.clone();
        let config = WriterConfig {
            retain_events: opts.retain_events,
            two_phase_commit: opts.two_phase_commit,
        };
        let observe: Box<dyn Fn(usize, Duration) + Send> =
            Box::new(move |n, took| m.commit(n, took));
        let (writer, writer_thread) = if opts.write_ahead_log {
            let log_path = opts.data.join(WAL_FILE);
            let log = FileLog::open(&log_path)
                .with_context(|| format!("cannot open the log {}", log_path.display()))?;
            let log_config = LogConfig {
                segment_bytes: LOG_SEGMENT,
                checkpoint_every: CHECKPOINT_EVERY,
                direct_batch: DIRECT_BATCH,
            };
            Writer::start_logged(store.clone(), config, Box::new(log), log_config, observe)
                .with_context(|| {
                    format!("cannot start the write-ahead log {}", log_path.display())
                })?
        } else {
            Writer::start(store.clone(), config, observe)
                .context("cannot start the store's writer thread")?
        };
        Ok(Core {
            ctx: Service {
                store,
                writer,
                public_url: opts.public_url(),
                max_payload: opts.max_payload,
                pipelines: None,
            },
            metrics,
            data: opts.data.clone(),
            writer_thread,
        })
    }

    /// Commits what is queued, stops the writer and closes the store.
    pub async fn close(self) {
        self.ctx.writer.stop().await;
        let thread = self.writer_thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        drop(self.ctx);
    }
}

/// A bound server ready to run.
struct Server {
    listener: TcpListener,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    /// Pipeline delivery; it stops when shutdown begins.
    delivery: tokio::task::JoinHandle<()>,
    /// The HTTPS certificate, reloaded on SIGHUP.
    certificate: Option<Arc<Certificate>>,
}

impl Server {
    async fn bind(core: &Core, opts: &Options, limits: Limits) -> Result<Server> {
        anyhow::ensure!(
            opts.max_body_memory >= opts.max_payload,
            "--max-body-memory ({}) must be at least --max-payload ({}), or no body of the \
             largest size could ever be taken",
            opts.max_body_memory,
            opts.max_payload
        );
        // Before listening: a client that can connect finds the key in place.
        let admin_key = admin_key(&core.data)?;
        let certificate = match (&opts.tls_cert, &opts.tls_key) {
            (Some(cert), Some(key)) => {
                Some(Certificate::load(cert, key).map_err(anyhow::Error::msg)?)
            }
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together: give both, or neither"),
        };
        let tls = match &certificate {
            Some(c) => Some(c.acceptor().map_err(anyhow::Error::msg)?),
            None => None,
        };
        let listener = TcpListener::bind(opts.listen)
            .await
            .map_err(|e| listen_error(opts.listen, &e))?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut ctx = core.ctx.clone();
        if opts.public_url.is_none() {
            // The bound address, which differs from --listen when it asks for port 0.
            ctx.public_url = format!("{}://{}", opts.scheme(), listener.local_addr()?);
        }
        let (pipelines, delivery) =
            start_pipelines(&ctx, opts, core.metrics.clone(), shutdown_rx.clone()).await?;
        ctx.pipelines = Some(pipelines);
        let state = Arc::new(State {
            ctx,
            metrics: core.metrics.clone(),
            admin_key,
            limits,
            read_only: opts.read_only,
            budget: http::Budget::new(opts.max_body_memory),
            shutdown: shutdown_rx,
            tls,
            trusted_proxies: opts.trusted_proxies.clone(),
            body_answers: Default::default(),
        });
        Ok(Server {
            listener,
            state,
            shutdown,
            delivery,
            certificate,
        })
    }

    /// Serves until `stop` resolves, then shuts down gracefully.
    async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let shutdown = self.shutdown;
        if let Some(cert) = self.certificate {
            tokio::spawn(reload_on_sighup(cert, shutdown.subscribe()));
        }
        let stop = async move {
            stop.await;
            let _ = shutdown.send(true);
        };
        http::serve(self.listener, self.state, stop).await;
        // Runs in hand finish; what they did not reach runs after the next start.
        let _ = self.delivery.await;
    }
}

/// The pipeline that `--forward-to` keeps. Its description marks it as the flag's own.
pub const FORWARD_TO_PIPELINE: &str = "forward-to";
const FORWARD_TO_MARK: &str = "kept by --forward-to";

/// Starts pipeline delivery for a server, with the steps' environment from the options, and
/// makes `--forward-to` a visible pipeline (disabled again when a later start drops the flag).
async fn start_pipelines(
    ctx: &Service,
    opts: &Options,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> Result<(Pipelines, tokio::task::JoinHandle<()>)> {
    let mailer = match &opts.smtp_url {
        Some(url) => {
            let config = SmtpConfig::parse(&url.0).map_err(anyhow::Error::msg)?;
            Some(Mailer::new(&config).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let env = Env {
        mailer,
        allow_exec: opts.allow_exec,
        http: HttpClient::new().map_err(anyhow::Error::msg)?,
        log: Arc::new(TracingLog),
    };
    let store = ctx.store.clone();
    let forward_to = opts.forward_to.clone();
    tokio::task::spawn_blocking(move || keep_forward_to(&store, forward_to.as_deref())).await??;
    let (pipelines, handle) = Runner::start(
        ctx.store.clone(),
        Engine { env },
        Box::new(metrics),
        ctx.writer.watch_events(),
        shutdown,
    );
    Ok((pipelines, handle))
}

fn keep_forward_to(store: &Store, url: Option<&str>) -> Result<()> {
    let existing = store.pipeline(FORWARD_TO_PIPELINE)?;
    let ours = existing
        .as_ref()
        .is_some_and(|p| p.yaml.contains(FORWARD_TO_MARK));
    let exists = existing.is_some();
    let yaml = match url {
        Some(url) => {
            // A JSON string is a valid YAML double-quoted scalar.
            let url = serde_json::to_string(url)?;
            format!(
                "headers:\n  description: \"{FORWARD_TO_MARK}\"\npipeline:\n  - event.listen:\n      eventKey: \"#\"\n  - http.forward:\n      url: {url}\n"
            )
        }
        None if ours => existing.map(|p| p.yaml).unwrap_or_default(),
        None => return Ok(()),
    };
    if exists && !ours {
        anyhow::bail!(
            "--forward-to keeps a pipeline named {FORWARD_TO_PIPELINE:?}, and one of yours has that name; rename it"
        );
    }
    let doc = Pipeline::parse(&yaml).map_err(|e| anyhow::anyhow!("--forward-to: {e}"))?;
    store.put_pipeline(PipelineInput {
        name: FORWARD_TO_PIPELINE.into(),
        event_key: doc.listen.event_key.clone(),
        from: doc.listen.from,
        yaml,
        enabled: url.is_some(),
    })?;
    Ok(())
}

/// Why the server cannot listen, with what to do about the usual causes.
fn listen_error(addr: std::net::SocketAddr, e: &std::io::Error) -> anyhow::Error {
    use std::io::ErrorKind;
    let hint = match e.kind() {
        ErrorKind::AddrInUse => format!(
            ": another program (another hooktail?) holds that port; stop it, or listen on \
             another with --listen {}:PORT",
            addr.ip()
        ),
        ErrorKind::PermissionDenied => {
            ": ports below 1024 need privileges; pick a higher one with --listen".into()
        }
        ErrorKind::AddrNotAvailable => {
            ": no interface of this machine has that address; use --listen 127.0.0.1:PORT, \
             or 0.0.0.0:PORT for every interface"
                .into()
        }
        _ => String::new(),
    };
    anyhow::anyhow!("cannot listen on {addr}: {e}{hint}")
}

/// Reads the certificate files again on each SIGHUP until shutdown. Open connections keep
/// their session; new ones get the new certificate. A failed reload keeps the old one.
async fn reload_on_sighup(cert: Arc<Certificate>, mut shutdown: watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP; the certificate will not reload: {e}");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = hangup.recv() => {}
                _ = shutdown.wait_for(|down| *down) => return,
            }
            let c = cert.clone();
            match tokio::task::spawn_blocking(move || c.reload()).await {
                Ok(Ok(())) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                Ok(Err(e)) => {
                    tracing::error!("SIGHUP: TLS certificate not reloaded, the old one stays: {e}")
                }
                Err(e) => tracing::error!("SIGHUP: the certificate reload failed: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (cert, shutdown.wait_for(|down| *down).await);
}

/// Over plain HTTP there is nothing to reload, but `systemctl reload` or a shared
/// `ExecReload` still sends SIGHUP, whose default action would kill the server: it is
/// logged instead. (Not in the dashboard, where SIGHUP means the terminal went away.)
fn ignore_sighup() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hangup) => {
                tokio::spawn(async move {
                    while hangup.recv().await.is_some() {
                        tracing::info!("SIGHUP: nothing to reload without --tls-cert");
                    }
                });
            }
            Err(e) => tracing::warn!("cannot listen for SIGHUP: {e}"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when
/// it is first awaited: call it before binding, so that a signal sent as soon as the port
/// answers still shuts down gracefully instead of killing the process.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::interrupt())
            .and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
        async move {
            match handlers {
                Ok((mut int, mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Writes where this server answers, for a dashboard or a command on the same data dir (§8):
/// a loopback URL when it listens on every address, `https://` when it serves TLS, then the
/// data dir's own path, so that a copy of the dir (a backup, with this file in it) is not
/// taken for the live one. Atomic (temporary file, rename), so that a reader never sees half
/// of it.
fn write_addr_file(dir: &Path, scheme: &str, addr: std::net::SocketAddr) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let mut text = format!(
        "{scheme}://{}\n",
        std::net::SocketAddr::new(ip, addr.port())
    )
    .into_bytes();
    text.extend_from_slice(std::fs::canonicalize(dir)?.as_os_str().as_bytes());
    text.push(b'\n');
    let tmp = dir.join(format!("{ADDR_FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join(ADDR_FILE))
}

/// The URL in the data dir's `serve.addr`, if a server of this very dir wrote one: a copy's
/// (its path names the dir it was copied from) or one without a path is not.
pub fn read_addr_file(dir: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let text = std::fs::read(dir.join(ADDR_FILE)).ok()?;
    let (url, path) = text.split_at(memchr::memchr(b'\n', &text)?);
    let path = path[1..].strip_suffix(b"\n")?;
    if path != std::fs::canonicalize(dir).ok()?.as_os_str().as_bytes() {
        tracing::debug!(
            "{ADDR_FILE} in {} was written for another dir",
            dir.display()
        );
        return None;
    }
    let url = std::str::from_utf8(url).ok()?.trim();
    (!url.is_empty() && url.len() < 256).then(|| url.to_string())
}

/// Whether `e` says the store is held by another process.
pub fn store_locked(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Locked))
}

/// A receiver running on this runtime, with its store, until `stop`.
pub struct Running {
    /// Where it listens (the real port when `--listen` asked for port 0).
    pub addr: std::net::SocketAddr,
    /// What its handlers run against, with the bound public URL.
    pub ctx: Service,
    pub metrics: Arc<Metrics>,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Opens the store, binds and starts serving.
    pub async fn start(opts: &Options, limits: Limits) -> Result<Running> {
        let core = Core::open(opts)?;
        let server = Server::bind(&core, opts, limits).await?;
        let addr = server.listener.local_addr()?;
        if let Err(e) = write_addr_file(&opts.data, opts.scheme(), addr) {
            tracing::warn!("cannot write {ADDR_FILE}, so a dashboard cannot find this server: {e}");
        }
        let ctx = server.state.ctx.clone();
        let metrics = core.metrics.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let addr_file = opts.data.join(ADDR_FILE);
        let done = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await;
            let _ = std::fs::remove_file(addr_file);
            core.close().await;
        });
        Ok(Running {
            addr,
            ctx,
            metrics,
            stop,
            done,
        })
    }

    /// Stops gracefully: requests in flight finish and commit, then the store closes.
    pub async fn stop(self) {
        let Running {
            ctx, stop, done, ..
        } = self;
        // Our handle on the writer must go too, or the store would wait for it.
        drop(ctx);
        let _ = stop.send(());
        let _ = done.await;
    }
}

/// `hooktail serve`: the receiver alone, logging to stderr.
pub async fn serve(opts: &Options) -> Result<()> {
    crate::logging::to_stderr();
    let stop = shutdown_signal();
    if opts.tls_cert.is_none() {
        ignore_sighup();
    }
    let running = Running::start(opts, Limits::default()).await?;
    tracing::info!(
        listen = %running.addr,
        scheme = opts.scheme(),
        data = %opts.data.display(),
        "hooktail receiver started"
    );
    // A writer that failed stores nothing more: stop, so that a supervisor restarts us.
    let writer = running.ctx.writer.clone();
    let failed = tokio::select! {
        _ = stop => false,
        _ = writer.wait_failed() => true,
    };
    drop(writer);
    running.stop().await;
    if failed {
        anyhow::bail!("the store's writer failed (see above); stopped");
    }
    tracing::info!("stopped");
    Ok(())
}
