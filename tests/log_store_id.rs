//! The write-ahead log is tied to its store (issue 12): each store has an id, written in the
//! log's header, and a log is replayed only into the store it was written for. Real files: a
//! redb store and a log file in a temp dir, "crashes" made by copying the log while events
//! are in it only (a clean stop checkpoints them into redb).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hooktail::app::{STORE_FILE, WAL_FILE};
use hooktail::store::wal::FileLog;
use hooktail::store::{LogConfig, Store, Writer, WriterConfig};
use uuid::Uuid;

#[path = "common/fixtures.rs"]
mod fixtures;

const CONFIG: WriterConfig = WriterConfig {
    retain_events: 0,
    two_phase_commit: false,
};

/// No checkpoint while a test runs: what is appended stays in the log until the clean stop.
const LOG: LogConfig = LogConfig {
    segment_bytes: 1 << 20,
    checkpoint_every: Duration::from_secs(3600),
    direct_batch: usize::MAX,
};

struct Open {
    store: Arc<Store>,
    writer: Writer,
    thread: JoinHandle<()>,
}

fn store_path(dir: &Path) -> PathBuf {
    dir.join(STORE_FILE)
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join(WAL_FILE)
}

/// Opens the store with its log, as serve does (replaying what the log holds for it).
fn open(dir: &Path) -> Open {
    let store = Store::open(&store_path(dir)).unwrap();
    let log = FileLog::open(&log_path(dir)).unwrap();
    let (writer, thread) = Writer::start_logged(
        store.clone(),
        CONFIG,
        Box::new(log),
        LOG,
        Box::new(|_, _| {}),
    )
    .unwrap();
    Open {
        store,
        writer,
        thread,
    }
}

/// Stops cleanly and closes the store, so that its file can be copied.
async fn close(o: Open) {
    o.writer.stop().await;
    drop(o.writer);
    tokio::task::spawn_blocking(move || o.thread.join().unwrap())
        .await
        .unwrap();
    assert_eq!(Arc::strong_count(&o.store), 1, "the store is still in use");
}

async fn append(writer: &Writer, n: u64) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let e = fixtures::event("webhook.id", i, b"{}");
        ids.push(writer.append(e, None).await.unwrap());
    }
    ids
}

/// Appends `n` events to the store in `dir` and returns the log as it was before the clean
/// stop: those events are in it only, as after a kill -9.
async fn log_with_events(dir: &Path, n: u64) -> Vec<u8> {
    let o = open(dir);
    append(&o.writer, n).await;
    let log = std::fs::read(log_path(dir)).unwrap();
    close(o).await;
    log
}

fn stored(store: &Store) -> u64 {
    store.counts().unwrap().0
}

/// Runs `f` with warnings captured, and returns them.
fn warnings<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let out = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || out.clone())
        .finish();
    let t = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (t, text)
}

/// The control: the store's own log, left by a crash, is replayed. The store keeps its id
/// across opens, so the log written after the first open still matches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stores_own_log_is_replayed_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    close(open(dir.path())).await;
    let before = std::fs::read(store_path(dir.path())).unwrap();
    let log = log_with_events(dir.path(), 5).await;
    // The crash: redb as it was before the events, the log with them.
    std::fs::write(store_path(dir.path()), before).unwrap();
    std::fs::write(log_path(dir.path()), log).unwrap();
    let o = open(dir.path());
    assert_eq!(stored(&o.store), 5, "the store's own log was not replayed");
    close(o).await;
}

/// A log left beside a deleted store is reset, with a warning naming it, not replayed into
/// the new store, then or at any later open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_beside_a_new_store_is_reset_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with_events(dir.path(), 5).await;
    std::fs::remove_file(store_path(dir.path())).unwrap();
    std::fs::write(log_path(dir.path()), log).unwrap();
    let (o, warned) = warnings(|| open(dir.path()));
    assert_eq!(stored(&o.store), 0, "another store's log was replayed");
    let name = log_path(dir.path()).display().to_string();
    assert!(
        warned.contains(&name) && warned.contains("another store"),
        "no warning naming the log: {warned:?}"
    );
    close(o).await;
    let o = open(dir.path());
    assert_eq!(stored(&o.store), 0, "the reset log was replayed later");
    close(o).await;
}

/// A store replaced by another one (with an id of its own) does not take the log that was
/// beside the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_is_not_replayed_into_another_store() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let log = log_with_events(a.path(), 5).await;
    let o = open(b.path());
    append(&o.writer, 2).await;
    close(o).await;
    std::fs::write(log_path(b.path()), log).unwrap();
    let o = open(b.path());
    assert_eq!(stored(&o.store), 2, "another store's log was replayed");
    close(o).await;
}

/// A store from before ids (never opened with a log) gets an id of its own; it never adopts
/// the id of a log found beside it, which was necessarily written for another store (a store
/// has its id committed before any header carries it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_an_id_does_not_adopt_a_log() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let log = log_with_events(a.path(), 5).await;
    {
        let store = Store::open(&store_path(b.path())).unwrap();
        let (writer, thread) = Writer::start(store.clone(), CONFIG, Box::new(|_, _| {})).unwrap();
        append(&writer, 2).await;
        writer.stop().await;
        drop(writer);
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
    }
    std::fs::write(log_path(b.path()), log).unwrap();
    let o = open(b.path());
    assert_eq!(stored(&o.store), 2, "a store without an id adopted a log");
    close(o).await;
    // Its new id holds from then on: its own log is replayed after a crash.
    let before = std::fs::read(store_path(b.path())).unwrap();
    let log = log_with_events(b.path(), 3).await;
    std::fs::write(store_path(b.path()), before).unwrap();
    std::fs::write(log_path(b.path()), log).unwrap();
    let o = open(b.path());
    assert_eq!(stored(&o.store), 5);
    close(o).await;
}

/// A store whose log was deleted opens, with a warning, keeps its events and its id, and the
/// new log is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_whose_log_is_gone_starts_a_new_log_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    append(&o.writer, 3).await;
    close(o).await;
    let before = std::fs::read(store_path(dir.path())).unwrap();
    std::fs::remove_file(log_path(dir.path())).unwrap();
    let (o, warned) = warnings(|| open(dir.path()));
    assert!(warned.contains("missing"), "{warned:?}");
    assert_eq!(stored(&o.store), 3);
    close(o).await;
    let log = log_with_events(dir.path(), 4).await;
    std::fs::write(store_path(dir.path()), before).unwrap();
    std::fs::write(log_path(dir.path()), log).unwrap();
    let o = open(dir.path());
    assert_eq!(stored(&o.store), 7, "the new log is not tied to the store");
    close(o).await;
}

/// A log whose header this version does not read (the format before store ids, or damage) is
/// reset with a warning; the store opens with what it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_without_a_readable_header_is_reset_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    append(&o.writer, 2).await;
    close(o).await;
    let mut old = vec![0u8; 8192];
    old[..16].copy_from_slice(b"hooktail-wal-v1\0");
    old[16..32].fill(7);
    std::fs::write(log_path(dir.path()), old).unwrap();
    let (o, warned) = warnings(|| open(dir.path()));
    let name = log_path(dir.path()).display().to_string();
    assert!(
        warned.contains(&name) && warned.contains("no header"),
        "{warned:?}"
    );
    assert_eq!(stored(&o.store), 2);
    close(o).await;
}

/// Opens the store with its log and returns why it refused; the log file is left as it was.
fn refused(dir: &Path) -> String {
    let before = std::fs::read(log_path(dir)).unwrap();
    let store = Store::open(&store_path(dir)).unwrap();
    let log = FileLog::open(&log_path(dir)).unwrap();
    let opened = Writer::start_logged(store, CONFIG, Box::new(log), LOG, Box::new(|_, _| {}));
    let Err(e) = opened else {
        panic!("the damaged log was taken")
    };
    assert!(
        std::fs::read(log_path(dir)).unwrap() == before,
        "the refused log was written over"
    );
    e.to_string()
}

/// The store as before the events, and the log holding them: a kill -9.
async fn crashed(dir: &Path, n: u64) -> Vec<u8> {
    close(open(dir)).await;
    let before = std::fs::read(store_path(dir)).unwrap();
    let log = log_with_events(dir, n).await;
    std::fs::write(store_path(dir), before).unwrap();
    log
}

/// A log damaged in its middle (not torn at its tail: whole records follow the damage) is
/// refused, not replayed up to the damage and written over: the records past it were acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_damaged_in_its_middle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = crashed(dir.path(), 6).await;
    // The third record's payload: past the header and two records of a small event each.
    let used = log.iter().rposition(|b| *b != 0).unwrap();
    let middle = 4096 + (used - 4096) / 2;
    log[middle] ^= 0xff;
    std::fs::write(log_path(dir.path()), &log).unwrap();
    let why = refused(dir.path());
    assert!(
        why.contains("damaged at byte") && why.contains(".damaged"),
        "{why}"
    );
    // Moved aside as the message says, the store opens without the log's events.
    std::fs::rename(log_path(dir.path()), dir.path().join("log.damaged")).unwrap();
    let o = open(dir.path());
    assert_eq!(stored(&o.store), 0);
    close(o).await;
}

/// A log cut shorter than the segment it was filled to is refused: what was cut off was acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_cut_short_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = crashed(dir.path(), 6).await;
    let used = log.iter().rposition(|b| *b != 0).unwrap();
    std::fs::write(log_path(dir.path()), &log[..used / 2 + 2048]).unwrap();
    let why = refused(dir.path());
    assert!(why.contains("cut short"), "{why}");
}

/// A store older than its log (restored from a backup beside a newer log) is refused rather
/// than replayed past the hole between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_older_than_its_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    close(open(dir.path())).await;
    let backup = std::fs::read(store_path(dir.path())).unwrap();
    // Events checkpointed into the store by a clean stop, then more in the log only.
    close({
        let o = open(dir.path());
        append(&o.writer, 3).await;
        o
    })
    .await;
    let log = log_with_events(dir.path(), 4).await;
    std::fs::write(store_path(dir.path()), backup).unwrap();
    std::fs::write(log_path(dir.path()), log).unwrap();
    let why = refused(dir.path());
    assert!(why.contains("older than its log"), "{why}");
}

/// A log whose header is damaged but which holds more than a header may hold acked records
/// of this store: it is refused, not reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_with_a_damaged_header_and_records_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = crashed(dir.path(), 3).await;
    log[20] ^= 0xff;
    std::fs::write(log_path(dir.path()), &log).unwrap();
    let why = refused(dir.path());
    assert!(why.contains("header does not read"), "{why}");
}

/// A log file that a full disk cannot fill: writes past `room` bytes fail with ENOSPC.
struct FullDisk {
    bytes: Vec<u8>,
    room: usize,
}

impl hooktail::store::wal::LogFile for FullDisk {
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        Ok(self.bytes.clone())
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let end = offset as usize + bytes.len();
        if end > self.room {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        self.bytes.resize(self.bytes.len().max(end), 0);
        self.bytes[offset as usize..end].copy_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn size(&mut self) -> std::io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn name(&self) -> String {
        "full.wal".into()
    }
}

/// With too little room for the log's segment, the open says so, naming the file and its
/// size, rather than that a commit or a replay failed.
#[test]
fn a_disk_too_full_for_the_log_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_path(dir.path())).unwrap();
    let log = FullDisk {
        bytes: Vec::new(),
        room: 64 << 10,
    };
    let opened = Writer::start_logged(store, CONFIG, Box::new(log), LOG, Box::new(|_, _| {}));
    let Err(e) = opened else {
        panic!("a log with no room was taken")
    };
    let why = e.to_string();
    assert!(
        why.contains("cannot fill the write-ahead log full.wal to its 1 MiB")
            && why.contains("No space left"),
        "{why}"
    );
}
