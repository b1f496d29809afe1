//! Fixtures shared by the dashboard tests: the clock, the config, a listed pipeline.
#![allow(dead_code)]

use hooktail::domain::pipeline::{PipelineRecord, RunStats, RunStatus, RunSummary};
use hooktail::service::PipelineView;
use hooktail::tui::msg::{Config, Msg};
use hooktail::tui::state::Dashboard;
use hooktail::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use uuid::Uuid;

/// 2026-11-28T15:00:00Z
pub const NOW: i64 = 1_795_878_000_000;

pub fn config(read_only: bool, color: bool) -> Config {
    Config {
        listen_url: "http://127.0.0.1:8080".into(),
        public_url: "http://127.0.0.1:8080".into(),
        read_only,
        max_payload: 4_194_304,
        color,
    }
}

/// A stored pipeline as the backend lists it.
pub fn pipeline(
    name: &str,
    pattern: &str,
    enabled: bool,
    lag: u64,
    (ok, failed, dead): (u64, u64, u64),
    last: Option<RunStatus>,
) -> PipelineView {
    PipelineView {
        record: PipelineRecord {
            name: name.into(),
            yaml: format!(
                "pipeline:\n  - event.listen:\n      eventKey: {pattern}\n  - log:\n      message: hi\n"
            ),
            event_key: pattern.into(),
            enabled,
            created_at: NOW - 3_600_000,
            updated_at: NOW - 3_600_000,
            cursor: Uuid::nil(),
            pending: None,
            queued: vec![],
            stats: RunStats { ok, failed, dead },
            last_run: last.map(|status| RunSummary {
                id: Uuid::from_u128(7),
                status,
                finished_at: Some(NOW - 10_000),
            }),
        },
        lag,
    }
}

/// Draws the dashboard at `w`x`h` on a TestBackend, as the terminal would after a resize.
pub fn render(app: &mut Dashboard, w: u16, h: u16) -> Terminal<TestBackend> {
    app.update(Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::draw(f, app)).unwrap();
    t
}

/// The drawn screen's text, a line per row.
pub fn screen(app: &mut Dashboard, w: u16, h: u16) -> String {
    let t = render(app, w, h);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
