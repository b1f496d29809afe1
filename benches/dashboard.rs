//! `cargo bench --bench dashboard`: the dashboard over 1,000,000 stored events. Time from
//! opening the store to the first frame, frame time, jumping to the oldest event and paging
//! back, and RSS; against the same figures over an empty store, in the same run. Then the
//! same dashboard attached to a server over that store (§8), against local mode.
//!
//! It drives the real dashboard core and view through their keymap on ratatui's TestBackend,
//! and performs effects with the driver's own `answer` over the in-process backend, or over
//! the `Remote` backend and a server in the parent process.

use std::path::Path;
use std::time::{Duration, Instant};

use hooktail::app::Running;
use hooktail::cli::Options;
use hooktail::remote::Api;
use hooktail::service::Service;
use hooktail::store::{Store, Writer, WriterConfig};
use hooktail::tui::backend::{Backend, Local};
use hooktail::tui::driver::answer;
use hooktail::tui::key::{Code, Key};
use hooktail::tui::msg::{Config, Effect, Msg};
use hooktail::tui::remote::Remote;
use hooktail::tui::state::Dashboard;
use hooktail::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::runtime::Runtime;

#[path = "common/mod.rs"]
mod common;
use common::{million_store, rss_kib};

struct Figures {
    first_frame: Duration,
    frame_mean: Duration,
    frame_max: Duration,
    to_oldest: Duration,
    page_mean: Duration,
    page_max: Duration,
    flood: Duration,
    rss_kib: u64,
}

/// Performs effects until none are left, as the driver would.
fn settle<B: Backend>(rt: &Runtime, app: &mut Dashboard, backend: &B, mut fx: Vec<Effect>) {
    while let Some(e) = fx.pop() {
        if let Some(msg) = rt.block_on(answer(backend, e)) {
            if let Msg::Error(e) = &msg {
                panic!("{e}");
            }
            fx.extend(app.update(msg));
        }
    }
}

fn draw(t: &mut Terminal<TestBackend>, app: &Dashboard) -> Duration {
    let start = Instant::now();
    t.draw(|f| view::draw(f, app)).unwrap();
    start.elapsed()
}

/// The dashboard over the store at `path`, in this process.
fn measure_local(path: &Path) -> Figures {
    let rt = Runtime::new().unwrap();
    let start = Instant::now();
    let store = Store::open(path).unwrap();
    let writer_config = WriterConfig {
        retain_events: 0,
        two_phase_commit: true,
    };
    let (writer, writer_thread) =
        Writer::start(store.clone(), writer_config, Box::new(|_, _| {})).unwrap();
    let backend = Local::new(Service {
        store,
        writer: writer.clone(),
        public_url: "http://127.0.0.1:8080".into(),
        max_payload: 4_194_304,
        pipelines: None,
    });
    let config = Config {
        listen_url: "http://127.0.0.1:8080".into(),
        public_url: "http://127.0.0.1:8080".into(),
        read_only: false,
        max_payload: 4_194_304,
        color: true,
    };
    let figures = measure(&rt, &backend, config, start);
    // Close the store cleanly, or the next run would open it with a recovery.
    drop(backend);
    rt.block_on(writer.stop());
    drop(writer);
    writer_thread.join().unwrap();
    figures
}

/// The dashboard attached to the server at `url`.
fn measure_attached(url: &str, key: &str) -> Figures {
    let rt = Runtime::new().unwrap();
    let start = Instant::now();
    let backend = Remote::new(Api::new(url, key, false).unwrap());
    let config = rt.block_on(backend.config(false, true)).unwrap();
    measure(&rt, &backend, config, start)
}

fn measure<B: Backend>(rt: &Runtime, backend: &B, config: Config, start: Instant) -> Figures {
    let mut app = Dashboard::new(config, 0);
    app.update(Msg::Resize(120, 40));
    let fx = app.init();
    settle(rt, &mut app, backend, fx);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    draw(&mut term, &app);
    let first_frame = start.elapsed();

    let frames: Vec<Duration> = (0..300)
        .map(|i| {
            let k = if i % 2 == 0 { Code::Up } else { Code::Down };
            app.update(Msg::Key(Key::new(k)));
            draw(&mut term, &app)
        })
        .collect();

    // g on the paused view: to the oldest event.
    let start = Instant::now();
    let fx = app.update(Msg::Key(Key::char('g')));
    settle(rt, &mut app, backend, fx);
    draw(&mut term, &app);
    let to_oldest = start.elapsed();

    // Then page forward through 20 pages, each a key press, a load and a frame.
    let mut pages = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let fx = app.update(Msg::Key(Key::new(Code::PageDown)));
        settle(rt, &mut app, backend, fx);
        draw(&mut term, &app);
        pages.push(start.elapsed());
    }
    // A second's worth of a 5,000 events/s flood while following, then one frame.
    let fx = app.update(Msg::Key(Key::char('G')));
    settle(rt, &mut app, backend, fx);
    let arrivals: Vec<_> = (0..5000)
        .map(|n| std::sync::Arc::new(hooktail::domain::Record::Accepted(common::event(n, 200))))
        .collect();
    let start = Instant::now();
    for r in arrivals {
        app.update(Msg::Record(r));
    }
    draw(&mut term, &app);
    let flood = start.elapsed();
    Figures {
        flood,
        first_frame,
        frame_mean: frames.iter().sum::<Duration>() / frames.len() as u32,
        frame_max: frames.iter().max().copied().unwrap_or_default(),
        to_oldest,
        page_mean: pages.iter().sum::<Duration>() / pages.len() as u32,
        page_max: pages.iter().max().copied().unwrap_or_default(),
        rss_kib: rss_kib(),
    }
}

fn main() {
    let figures = if let Ok(path) = std::env::var("HOOKTAIL_BENCH_DASHBOARD") {
        Some(measure_local(Path::new(&path)))
    } else if let Ok(url) = std::env::var("HOOKTAIL_BENCH_ATTACH") {
        let key = std::env::var(hooktail::remote::KEY_VAR).unwrap();
        Some(measure_attached(&url, &key))
    } else {
        None
    };
    if let Some(f) = figures {
        println!(
            "{} {} {} {} {} {} {} {}",
            f.first_frame.as_nanos(),
            f.frame_mean.as_nanos(),
            f.frame_max.as_nanos(),
            f.to_oldest.as_nanos(),
            f.page_mean.as_nanos(),
            f.page_max.as_nanos(),
            f.flood.as_nanos(),
            f.rss_kib
        );
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let million = rt.block_on(million_store());
    let empty_dir = tempfile::tempdir().unwrap();
    let empty = empty_dir.path().join("empty.redb");
    drop(Store::open(&empty).unwrap());
    // Each measurement in a fresh process, so that RSS is its own.
    let run_with = |vars: &[(&str, &str)]| -> Vec<f64> {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect()
    };
    let run = |path: &Path| run_with(&[("HOOKTAIL_BENCH_DASHBOARD", path.to_str().unwrap())]);
    let base = run(&empty);
    let big = run(&million);
    // A server over the same store, in this process; the attached dashboard in a child.
    let server_dir = tempfile::tempdir().unwrap();
    let data = server_dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::symlink(&million, data.join("hooktail.redb")).unwrap();
    let mut opts = Options::for_data(&data, "127.0.0.1:0".parse().unwrap()).unwrap();
    opts.retain_events = 0;
    let running = rt
        .block_on(Running::start(&opts, Default::default()))
        .unwrap();
    let key = std::fs::read_to_string(data.join("admin.key")).unwrap();
    let url = format!("http://{}", running.addr);
    let attached = run_with(&[
        ("HOOKTAIL_BENCH_ATTACH", url.as_str()),
        (hooktail::remote::KEY_VAR, key.trim()),
    ]);
    rt.block_on(running.stop());
    let ms = |ns: f64| format!("{:.2} ms", ns / 1e6);
    println!(
        "# hooktail dashboard benchmark, 120x40, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| measure | empty store (baseline) | 1,000,000 events | ratio |");
    println!("|---|---|---|---|");
    let names = [
        "open store to first frame",
        "frame (mean of 300)",
        "frame (max of 300)",
        "g: jump to the oldest event",
        "PgDn through 20 pages (mean)",
        "PgDn through 20 pages (max)",
        "5,000 arriving events + 1 frame",
    ];
    for (i, name) in names.iter().enumerate() {
        println!(
            "| {name} | {} | {} | {:.2}x |",
            ms(base[i]),
            ms(big[i]),
            big[i] / base[i]
        );
    }
    println!(
        "| RSS at the end | {} KiB | {} KiB | {:.2}x |",
        base[7],
        big[7],
        big[7] / base[7]
    );
    println!();
    println!("# attached to a server over the same 1,000,000 events (§8), against local mode");
    println!("| measure | local | attached | ratio |");
    println!("|---|---|---|---|");
    let names = [
        "open (or connect) to first frame",
        "frame (mean of 300)",
        "frame (max of 300)",
        "g: jump to the oldest event",
        "PgDn through 20 pages (mean)",
        "PgDn through 20 pages (max)",
        "5,000 arriving events + 1 frame",
    ];
    for (i, name) in names.iter().enumerate() {
        println!(
            "| {name} | {} | {} | {:.2}x |",
            ms(big[i]),
            ms(attached[i]),
            attached[i] / big[i]
        );
    }
    println!(
        "| RSS at the end | {} KiB | {} KiB | {:.2}x |",
        big[7],
        attached[7],
        attached[7] / big[7]
    );
}
