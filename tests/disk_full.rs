//! A full disk: writes fail for a while. Calls made meanwhile are refused with an error, no
//! acked event is lost, nothing panics, and once space is back the store takes events again.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hooktail::domain::Record;
use hooktail::domain::{WebhookFields, WebhookInput};
use hooktail::store::wal::FileLog;
use hooktail::store::{LogConfig, PutError, Store, StoreError, Writer, WriterConfig};

#[path = "common/fixtures.rs"]
mod fixtures;

#[derive(Debug, Clone)]
struct Disk {
    data: Arc<Mutex<Vec<u8>>>,
    full: Arc<AtomicBool>,
}

fn no_space() -> io::Error {
    io::Error::from_raw_os_error(28) // ENOSPC
}

impl redb::StorageBackend for Disk {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.data.lock().unwrap().len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let d = self.data.lock().unwrap();
        let start = offset as usize;
        out.copy_from_slice(
            d.get(start..start + out.len())
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "past the end"))?,
        );
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut d = self.data.lock().unwrap();
        if self.full.load(Ordering::SeqCst) && len as usize > d.len() {
            return Err(no_space());
        }
        d.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        if self.full.load(Ordering::SeqCst) {
            return Err(no_space());
        }
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        if self.full.load(Ordering::SeqCst) {
            return Err(no_space());
        }
        let mut d = self.data.lock().unwrap();
        let end = offset as usize + data.len();
        if d.len() < end {
            d.resize(end, 0);
        }
        d[offset as usize..end].copy_from_slice(data);
        Ok(())
    }
}

/// A store on an empty disk that is not full yet.
fn store_on_empty_disk() -> (Disk, Arc<Store>) {
    let disk = Disk {
        data: Arc::new(Mutex::new(Vec::new())),
        full: Arc::new(AtomicBool::new(false)),
    };
    let backend = disk.clone();
    let store = Store::open_backend(move || backend.clone()).unwrap();
    (disk, store)
}

fn event(n: u64) -> Record {
    fixtures::event("webhook.full", n, b"full")
}

#[tokio::test]
async fn a_full_disk_refuses_calls_and_recovers() {
    let (disk, store) = store_on_empty_disk();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit: true,
    };
    let (writer, thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
    let mut acked = Vec::new();
    for n in 0..20 {
        let r = event(n);
        let id = r.id();
        writer.append(r, None).await.unwrap();
        acked.push(id);
    }
    disk.full.store(true, Ordering::SeqCst);
    for n in 20..30 {
        assert!(
            writer.append(event(n), None).await.is_err(),
            "a commit on a full disk must fail"
        );
    }
    disk.full.store(false, Ordering::SeqCst);
    // Space is back: new calls are stored again within moments, without a restart.
    let mut recovered = false;
    for n in 30..100 {
        let r = event(n);
        let id = r.id();
        if writer.append(r, None).await.is_ok() {
            acked.push(id);
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        recovered,
        "the store never took events again after the disk had space"
    );
    for id in &acked {
        assert!(store.record(id).unwrap().is_some(), "acked event {id} lost");
    }
    writer.stop().await;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
}

/// After a failed commit redb refuses reads too until the store is reopened. Once the disk
/// has room, reads come back by themselves: without another write to set off the reopen.
#[tokio::test]
async fn reads_come_back_after_a_full_disk_without_another_write() {
    let (disk, store) = store_on_empty_disk();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit: true,
    };
    let (writer, thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
    let r = event(0);
    let id = r.id();
    writer.append(r, None).await.unwrap();
    disk.full.store(true, Ordering::SeqCst);
    // The first failure reopens the store; the second poisons it until the next reopen.
    assert!(writer.append(event(1), None).await.is_err());
    assert!(writer.append(event(2), None).await.is_err());
    assert!(
        store.record(&id).is_err(),
        "redb still reads after the failure"
    );
    disk.full.store(false, Ordering::SeqCst);
    let mut read = None;
    for _ in 0..60 {
        if let Ok(r) = store.record(&id) {
            read = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        matches!(read, Some(Some(_))),
        "reads never came back: {read:?}"
    );
    writer.stop().await;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
}

/// With the log, a reopen on a full disk cannot replay it: the reopened store lacks the
/// events only the log holds. Reads are refused until the replay succeeds rather than
/// answered without them (acked events read as missing), and come back with them after.
#[tokio::test]
async fn reads_wait_for_the_log_replay_rather_than_miss_acked_events() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, store) = store_on_empty_disk();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit: false,
    };
    let log = FileLog::open(&dir.path().join("hooktail.wal")).unwrap();
    let log_config = LogConfig {
        segment_bytes: 1 << 20,
        // A checkpoint after each batch: logged batches do not write redb's file, its
        // checkpoints do, and one fails on the full disk.
        checkpoint_every: std::time::Duration::ZERO,
        direct_batch: usize::MAX,
    };
    let (writer, thread) = Writer::start_logged(
        store.clone(),
        config,
        Box::new(log),
        log_config,
        Box::new(|_, _| {}),
    )
    .unwrap();
    let mut acked = Vec::new();
    for n in 0..5 {
        let r = event(n);
        acked.push(r.id());
        writer.append(r, None).await.unwrap();
    }
    disk.full.store(true, Ordering::SeqCst);
    // The checkpoint after the last batch, or after this one, fails on the full disk; this
    // call is acked by its log record if it comes first.
    let r = event(5);
    let id = r.id();
    if writer.append(r, None).await.is_ok() {
        acked.push(id);
    }
    // The writer reopens and tries to replay, on a timer; reads meanwhile are refused.
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        match store.record(&acked[0]) {
            Err(_) => {}
            Ok(r) => panic!("a read answered while the log could not be replayed: {r:?}"),
        }
    }
    disk.full.store(false, Ordering::SeqCst);
    let mut back = false;
    for _ in 0..400 {
        if store.record(&acked[0]).is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(back, "reads never came back");
    for id in &acked {
        assert!(
            store.record(id).unwrap().is_some(),
            "acked event {id} missing"
        );
    }
    writer.stop().await;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
}

/// After a failed commit redb refuses every write until the store is reopened, and reopens
/// are spaced out: an admin write in that window is refused as unavailable (503), not as a
/// failed commit (500).
#[tokio::test]
async fn an_admin_write_before_the_reopen_is_unavailable() {
    let (disk, store) = store_on_empty_disk();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit: true,
    };
    let (writer, thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
    writer.append(event(0), None).await.unwrap();
    disk.full.store(true, Ordering::SeqCst);
    // The first failure reopens the store; the second poisons it until the next reopen.
    assert!(writer.append(event(1), None).await.is_err());
    assert!(writer.append(event(2), None).await.is_err());
    let input = WebhookInput::parse(
        WebhookFields {
            event_key: Some("shop.order"),
            ..Default::default()
        },
        100,
    )
    .unwrap();
    let refused = writer.put_webhook(input).await.unwrap_err();
    assert!(
        matches!(refused, PutError::Store(StoreError::Unavailable)),
        "{refused:?}"
    );
    disk.full.store(false, Ordering::SeqCst);
    writer.stop().await;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
}
