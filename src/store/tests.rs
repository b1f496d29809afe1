//! Store tests on a real redb file in a temp dir.

use super::*;
use crate::domain::{Event, EventFilter, EventKeyPattern, Rejection, WebhookFields, WebhookInput};

fn event(key: &str, n: usize) -> Event {
    crate::domain::event::sample(key, n as i64, &[0, 255, n as u8])
}

fn rejection() -> Rejection {
    Rejection {
        id: Uuid::now_v7(),
        reason: "unknown token".into(),
        http_status: 404,
        received_at: 0,
        method: "GET".into(),
        remote_addr: "127.0.0.1:1".into(),
        size: 0,
        event_key: None,
        duplicate: None,
    }
}

fn open(
    retain_events: u64,
) -> (
    tempfile::TempDir,
    Arc<Store>,
    Writer,
    std::thread::JoinHandle<()>,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb")).unwrap();
    let config = WriterConfig {
        retain_events,
        two_phase_commit: true,
    };
    let (writer, thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
    (dir, store, writer, thread)
}

/// Appends all at once, so the writer folds them into few transactions.
async fn append_all(writer: &Writer, records: Vec<Record>) {
    let futures = records.into_iter().map(|r| writer.append(r, None));
    for r in futures_util::future::join_all(futures).await {
        r.unwrap();
    }
}

fn ids(records: &[Record]) -> Vec<Uuid> {
    records.iter().map(Record::id).collect()
}

#[tokio::test]
async fn pages_merge_events_and_rejections_from_any_cursor() {
    let (_dir, store, writer, _t) = open(0);
    let mut all = Vec::new();
    for i in 0..30 {
        let r = if i % 3 == 0 {
            Record::Rejected(rejection())
        } else {
            Record::Accepted(event(if i % 2 == 0 { "webhook.a" } else { "webhook.b" }, i))
        };
        all.push(r.id());
        writer.append(r, None).await.unwrap();
    }
    let newest = store.page(&PageQuery::newest(10)).unwrap();
    assert_eq!(
        ids(&newest),
        all.iter().rev().take(10).copied().collect::<Vec<_>>()
    );
    let before = store
        .page(&PageQuery {
            cursor: Cursor::Before(all[20]),
            ..PageQuery::newest(5)
        })
        .unwrap();
    assert_eq!(
        ids(&before),
        all[15..20].iter().rev().copied().collect::<Vec<_>>()
    );
    let oldest = store
        .page(&PageQuery {
            cursor: Cursor::Oldest,
            ..PageQuery::newest(4)
        })
        .unwrap();
    assert_eq!(ids(&oldest), all[..4].to_vec());
    let after = store
        .page(&PageQuery {
            cursor: Cursor::After(all[27]),
            ..PageQuery::newest(10)
        })
        .unwrap();
    assert_eq!(ids(&after), all[28..].to_vec());
    let rejected = store
        .page(&PageQuery {
            filter: EventFilter::new(Some(Status::Rejected), None),
            ..PageQuery::newest(100)
        })
        .unwrap();
    assert_eq!(rejected.len(), 10);
    let only_a = store
        .page(&PageQuery {
            filter: EventFilter::new(
                Some(Status::Accepted),
                Some(EventKeyPattern::parse("webhook.a").unwrap()),
            ),
            ..PageQuery::newest(100)
        })
        .unwrap();
    assert!(only_a.iter().all(|r| r.event_key() == Some("webhook.a")));
    assert_eq!(only_a.len(), 10);
    // Listings leave bodies out; a single record has its body.
    let Record::Accepted(listed) = &newest[0] else {
        panic!()
    };
    assert!(listed.body.is_empty());
    let Some(Record::Accepted(full)) = store.record(&listed.id).unwrap() else {
        panic!()
    };
    assert_eq!(full.body, vec![0, 255, 29]);
}

#[tokio::test]
async fn retention_prunes_the_oldest_events_in_the_background() {
    let (_dir, store, writer, _t) = open(5);
    let events: Vec<Event> = (0..40).map(|i| event("webhook.a", i)).collect();
    let newest: Vec<Uuid> = events[35..].iter().map(|e| e.id).collect();
    for e in events {
        writer.append(Record::Accepted(e), None).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.counts().unwrap().0 > 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "pruning did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let left = store
        .page(&PageQuery {
            cursor: Cursor::Oldest,
            ..PageQuery::newest(100)
        })
        .unwrap();
    assert_eq!(ids(&left), newest);
}

#[tokio::test]
async fn rejections_are_capped_at_the_newest_10000() {
    let (_dir, store, writer, _t) = open(0);
    let records: Vec<Record> = (0..writer::MAX_REJECTIONS + 25)
        .map(|_| Record::Rejected(rejection()))
        .collect();
    let newest = records.last().unwrap().id();
    let oldest_kept = records[25].id();
    append_all(&writer, records).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while store.counts().unwrap().1 > writer::MAX_REJECTIONS {
        assert!(
            std::time::Instant::now() < deadline,
            "capping did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let first = store
        .page(&PageQuery {
            cursor: Cursor::Oldest,
            ..PageQuery::newest(1)
        })
        .unwrap();
    assert_eq!(ids(&first), vec![oldest_kept]);
    assert_eq!(
        ids(&store.page(&PageQuery::newest(1)).unwrap()),
        vec![newest]
    );
}

#[tokio::test]
async fn webhooks_survive_reopen_and_keys_stay_unique() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let uuid;
    {
        let store = Store::open(&path).unwrap();
        let config = WriterConfig {
            retain_events: 0,
            two_phase_commit: true,
        };
        let (writer, thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
        let input = |k: &str| {
            WebhookInput::parse(
                WebhookFields {
                    event_key: Some(k),
                    ..Default::default()
                },
                100,
            )
            .unwrap()
        };
        let mut changed = writer.watch_webhooks();
        let w = writer.put_webhook(input("webhook.a")).await.unwrap();
        assert!(changed.has_changed().unwrap(), "a put announces the change");
        changed.mark_unchanged();
        uuid = w.uuid;
        assert!(matches!(
            writer.put_webhook(input("webhook.a")).await,
            Err(PutError::Conflict(..))
        ));
        writer
            .append(Record::Accepted(event("webhook.a", 7)), Some(uuid))
            .await
            .unwrap();
        writer.stop().await;
        thread.join().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.webhook(&uuid).unwrap().event_key, "webhook.a");
    let stats = store.webhook_stats().unwrap();
    assert_eq!(
        stats[&uuid],
        WebhookStats {
            events: 1,
            last_at: Some(7)
        }
    );
    assert!(matches!(Store::open(&path), Err(StoreError::Locked)));
}

#[test]
fn codec_round_trips_and_refuses_truncation() {
    let e = event("webhook.a", 1);
    let bytes = codec::encode_event(&e).unwrap();
    assert_eq!(codec::decode_event(&bytes, true).unwrap(), e);
    let summary = codec::event_summary(&bytes).unwrap();
    assert_eq!(summary, Record::Accepted(e.clone()).summary());
    assert_eq!(
        (summary.event_key, summary.method),
        (Some("webhook.a"), "POST")
    );
    assert!(codec::decode_event(&bytes[..3], true).is_err());
    assert!(codec::decode_event(&bytes[..10], true).is_err());
}

#[tokio::test]
async fn an_unreadable_record_is_skipped_not_fatal() {
    let (_dir, store, writer, _t) = open(0);
    for i in 0..3 {
        writer
            .append(Record::Accepted(event("webhook.a", i)), None)
            .await
            .unwrap();
    }
    let bad = Uuid::now_v7();
    store
        .with_db(|db| {
            let txn = db.begin_write()?;
            txn.open_table(EVENTS)?
                .insert(bad.as_u128(), &b"\xff\x00garbage"[..])?;
            txn.commit()?;
            Ok(())
        })
        .unwrap();
    let page = store.page(&PageQuery::newest(10)).unwrap();
    assert_eq!(
        page.len(),
        3,
        "the damaged record is skipped, the others listed"
    );
    assert!(matches!(store.record(&bad), Err(StoreError::Corrupt(_))));
}

mod pipelines {
    use super::*;
    use crate::domain::pipeline::From as StartFrom;
    use crate::domain::pipeline::{Run, RunStatus};
    use crate::store::{PipelineInput, Progress, RunQuery};

    fn input(name: &str, from: StartFrom) -> PipelineInput {
        PipelineInput {
            name: name.into(),
            yaml: "pipeline: []".into(),
            event_key: "webhook.a".into(),
            enabled: true,
            from,
        }
    }

    fn run(pipeline: &str, event: Uuid, status: RunStatus) -> Run {
        Run {
            id: Uuid::now_v7(),
            pipeline: pipeline.into(),
            version: 0,
            event_id: event,
            status,
            attempts: 1,
            queued_at: 0,
            started_at: Some(0),
            finished_at: Some(1),
            duration_ms: Some(1),
            error: None,
            steps: Vec::new(),
            next_attempt_at: None,
            resume: None,
        }
    }

    #[tokio::test]
    async fn cursors_start_now_or_earliest_and_count_the_lag() {
        let (_dir, store, writer, _t) = open(0);
        let pattern = EventKeyPattern::parse("webhook.a").unwrap();
        let before: Vec<Record> = (0..3)
            .map(|i| Record::Accepted(event("webhook.a", i)))
            .collect();
        append_all(&writer, before.clone()).await;
        let now = store.put_pipeline(input("p.now", StartFrom::Now)).unwrap();
        let all = store
            .put_pipeline(input("p.all", StartFrom::Earliest))
            .unwrap();
        assert_eq!(store.lag(now.cursor, &pattern).unwrap(), 0);
        assert_eq!(store.lag(all.cursor, &pattern).unwrap(), 3);
        append_all(
            &writer,
            vec![
                Record::Accepted(event("webhook.a", 9)),
                Record::Accepted(event("webhook.b", 9)),
            ],
        )
        .await;
        assert_eq!(store.lag(now.cursor, &pattern).unwrap(), 1);
        let pending = store.events_after(all.cursor, &pattern, 2).unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].id, before[0].id());
        // Bodies come with them: the runner needs the exact bytes.
        assert_eq!(pending[0].body, vec![0, 255, 0]);
        // Replacing a pipeline keeps where it stands.
        store
            .commit_runs(
                "p.all",
                &[run("p.all", pending[1].id, RunStatus::Ok)],
                Progress {
                    cursor: Some(pending[1].id),
                    ..Progress::default()
                },
            )
            .unwrap();
        let replaced = store
            .put_pipeline(input("p.all", StartFrom::Earliest))
            .unwrap();
        assert_eq!(replaced.cursor, pending[1].id);
        assert_eq!(replaced.stats.ok, 1);
        assert_eq!(store.lag(replaced.cursor, &pattern).unwrap(), 2);
    }

    #[tokio::test]
    async fn runs_are_listed_found_by_event_and_counted_by_their_last_status() {
        let (_dir, store, _writer, _t) = open(0);
        store.put_pipeline(input("p", StartFrom::Now)).unwrap();
        let e1 = Uuid::now_v7();
        let e2 = Uuid::now_v7();
        let mut dead = run("p", e1, RunStatus::Dead);
        let ok = run("p", e2, RunStatus::Ok);
        store
            .commit_runs(
                "p",
                &[dead.clone(), ok.clone()],
                Progress {
                    cursor: Some(e2),
                    pending: Some(None),
                    ..Progress::default()
                },
            )
            .unwrap();
        let p = store.pipeline("p").unwrap().unwrap();
        assert_eq!((p.stats.ok, p.stats.dead), (1, 1));
        assert_eq!(p.cursor, e2);
        // Retried by hand, the dead run turns ok: counted once, under its new status.
        dead.status = RunStatus::Ok;
        dead.attempts = 2;
        store
            .commit_runs("p", &[dead.clone()], Progress::default())
            .unwrap();
        let p = store.pipeline("p").unwrap().unwrap();
        assert_eq!((p.stats.ok, p.stats.dead), (2, 0));
        let all = store
            .runs(&RunQuery {
                limit: 10,
                ..RunQuery::default()
            })
            .unwrap();
        assert_eq!(
            all.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![ok.id, dead.id]
        );
        let by_event = store
            .runs(&RunQuery {
                event_id: Some(e1),
                limit: 10,
                ..RunQuery::default()
            })
            .unwrap();
        assert_eq!(by_event, vec![dead.clone()]);
        assert_eq!(store.run(&dead.id).unwrap(), Some(dead));
        assert!(store.delete_pipeline("p").unwrap());
        assert!(!store.delete_pipeline("p").unwrap());
        assert!(store.pipeline("p").unwrap().is_none());
    }

    #[tokio::test]
    async fn runs_are_pruned_with_their_events() {
        let (_dir, store, writer, thread) = open(2);
        store.put_pipeline(input("p", StartFrom::Earliest)).unwrap();
        let records: Vec<Record> = (0..4)
            .map(|i| Record::Accepted(event("webhook.a", i)))
            .collect();
        let runs: Vec<Run> = records
            .iter()
            .map(|r| run("p", r.id(), RunStatus::Ok))
            .collect();
        store.commit_runs("p", &runs, Progress::default()).unwrap();
        append_all(&writer, records).await;
        // The writer prunes between batches: wait for it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let left = loop {
            let left = store
                .runs(&RunQuery {
                    limit: 10,
                    ..RunQuery::default()
                })
                .unwrap();
            if left.len() <= 2 || std::time::Instant::now() > deadline {
                break left;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        drop((writer, thread));
        assert_eq!(
            left.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![runs[3].id, runs[2].id]
        );
    }
}

/// An event whose id was made before one already committed (its request lost the race to
/// the queue) is stored under a newer id, so that readers after a cursor never miss it.
#[tokio::test]
async fn event_ids_follow_commit_order() {
    let (_dir, store, writer, _t) = open(0);
    let late = event("webhook.a", 1);
    let early = event("webhook.a", 2);
    assert!(late.id < early.id);
    let first = writer.append(Record::Accepted(early), None).await.unwrap();
    let late_id = late.id;
    let second = writer.append(Record::Accepted(late), None).await.unwrap();
    assert_ne!(second, late_id, "re-keyed");
    assert!(second > first);
    let Some(Record::Accepted(stored)) = store.record(&second).unwrap() else {
        panic!("stored under its new id")
    };
    assert_eq!(stored.id, second);
    assert_eq!(stored.body, vec![0, 255, 1]);
    assert!(store.record(&late_id).unwrap().is_none());
    // In order already: kept as it is.
    let third = event("webhook.a", 3);
    let third_id = third.id;
    assert_eq!(
        writer.append(Record::Accepted(third), None).await.unwrap(),
        third_id
    );
}

/// An admin write while the store is closed for a reopen (after a failed commit) is refused
/// as unavailable, which the API answers 503, not as a failed commit (500).
#[tokio::test]
async fn a_put_while_the_store_reopens_is_unavailable() {
    let (_dir, store, writer, thread) = open(0);
    // What `reopen` does between closing the database and opening it again.
    drop(store.db.write().unwrap().take());
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
    let status = crate::service::ServiceError::from(StoreError::Unavailable).status();
    assert_eq!(status, 503);
    writer.stop().await;
    drop(writer);
    thread.join().unwrap();
}

/// A page read with bodies stops once it holds `MAX_PAGE_BODY_BYTES` of them, whatever the
/// limit asked: a body search step (local, or over `event.list withBody`) stays bounded.
#[tokio::test]
async fn pages_with_bodies_are_bounded_in_bytes() {
    let (_dir, store, writer, _t) = open(0);
    let big = |i: usize| {
        let mut e = event("webhook.a", i);
        e.body = vec![b'x'; 1 << 20];
        Record::Accepted(e)
    };
    append_all(&writer, (0..20).map(big).collect()).await;
    let mut q = PageQuery::newest(100);
    q.with_body = true;
    let page = store.page(&q).unwrap();
    assert_eq!(page.len(), MAX_PAGE_BODY_BYTES >> 20, "{}", page.len());
    // Without bodies the limit alone counts.
    assert_eq!(store.page(&PageQuery::newest(100)).unwrap().len(), 20);
}

/// §7: a repeated delivery stores no event: its duplicate record is written in the same
/// commit, with the status the caller got (the webhook's own, here 202), and goes on the bus.
#[tokio::test]
async fn a_repeated_delivery_is_recorded_as_a_duplicate_and_published() {
    use crate::domain::handshake::{Change, CustomResponse};
    let (_dir, store, writer, _t) = open(0);
    let response = CustomResponse {
        status: 202,
        content_type: "text/plain".into(),
        body: "ok".into(),
    };
    let w = writer
        .put_webhook(WebhookInput {
            event_key: Some("webhook.a".into()),
            response: Some(Change::Set(Box::new(response))),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut bus = writer.subscribe();
    let once = |e: Event| writer.append_once(Record::Accepted(e), Some(w.uuid), Some("d-1".into()));
    let first = once(event("webhook.a", 1)).await.unwrap();
    let repeat = event("webhook.a", 2);
    let again = once(repeat.clone()).await.unwrap();
    assert_eq!((again.id, again.duplicate), (first.id, true));
    // Answered only after the commit: the record is there already.
    let Some(Record::Rejected(dup)) = store.record(&repeat.id).unwrap() else {
        panic!("no duplicate record")
    };
    assert_eq!(
        dup.duplicate,
        Some(crate::domain::Duplicate {
            duplicate_of: first.id,
            delivery_id: "d-1".into()
        })
    );
    assert_eq!((dup.http_status, dup.size), (202, 3));
    assert_eq!(store.counts().unwrap(), (1, 1));
    assert_eq!(bus.recv().await.unwrap().id(), first.id);
    assert_eq!(*bus.recv().await.unwrap(), Record::Rejected(dup));
}

/// The delivery ids of pruned events go with them, so that the index holds no more rows than
/// the events kept, however many calls came.
#[tokio::test]
async fn delivery_ids_go_with_their_pruned_events() {
    let (_dir, store, writer, _t) = open(10);
    let w = Uuid::new_v4();
    for round in 0..20 {
        let appends = (0..25).map(|i| {
            let n = round * 25 + i;
            let e = event("webhook.a", n);
            writer.append_once(Record::Accepted(e), Some(w), Some(format!("d-{n}")))
        });
        for r in futures_util::future::join_all(appends).await {
            assert!(!r.unwrap().duplicate);
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.counts().unwrap().0 > 10 {
        assert!(std::time::Instant::now() < deadline, "not pruned");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let ids = store
        .with_db(|db| Ok(db.begin_read()?.open_table(DELIVERIES)?.len()?))
        .unwrap();
    assert_eq!(ids, 10, "delivery ids kept for 10 events out of 500");
    // The newest are still found: a repeat of the last one is a duplicate.
    let again = writer
        .append_once(
            Record::Accepted(event("webhook.a", 999)),
            Some(w),
            Some("d-499".into()),
        )
        .await
        .unwrap();
    assert!(again.duplicate);
}

/// A store made with the delivery tables of earlier versions opens with their ids moved to
/// `deliveries_v2` and the old tables gone, and a repeat of a moved id is a duplicate.
#[tokio::test]
async fn old_delivery_tables_are_moved_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let (webhook, stored) = (Uuid::new_v4(), event("webhook.a", 1));
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(EVENTS)
            .unwrap()
            .insert(
                stored.id.as_u128(),
                codec::encode_event(&stored).unwrap().as_slice(),
            )
            .unwrap();
        let key = (webhook.as_u128(), "d-1");
        txn.open_table(OLD_DELIVERIES)
            .unwrap()
            .insert(key, stored.id.as_u128())
            .unwrap();
        txn.open_table(DROPPED_DELIVERIES_BY_EVENT)
            .unwrap()
            .insert(stored.id.as_u128(), key)
            .unwrap();
        txn.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    store
        .with_db(|db| {
            let txn = db.begin_read()?;
            let names: Vec<String> = txn
                .list_tables()?
                .map(|t| redb::TableHandle::name(&t).to_string())
                .collect();
            assert!(!names.contains(&"deliveries_v1".to_string()), "{names:?}");
            assert!(
                !names.contains(&"deliveries_by_event_v1".to_string()),
                "{names:?}"
            );
            let rows = txn.open_table(DELIVERIES)?;
            assert_eq!(rows.len()?, 1);
            let key = rows.get(stored.id.as_u128())?.map(|k| k.value());
            assert_eq!(key, Some(writer::delivery_key(webhook, "d-1")));
            Ok(())
        })
        .unwrap();
    let config = WriterConfig {
        retain_events: 0,
        two_phase_commit: true,
    };
    let (writer, _t) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
    let again = writer
        .append_once(
            Record::Accepted(event("webhook.a", 2)),
            Some(webhook),
            Some("d-1".into()),
        )
        .await
        .unwrap();
    assert_eq!((again.id, again.duplicate), (stored.id, true));
}

/// An id whose event was pruned is new again: the answer never names an event that is gone.
#[tokio::test]
async fn a_delivery_id_whose_event_was_pruned_is_new_again() {
    let (_dir, store, writer, _t) = open(100);
    let w = Uuid::new_v4();
    let once = |n: usize, id: &str| {
        writer.append_once(
            Record::Accepted(event("webhook.a", n)),
            Some(w),
            Some(id.into()),
        )
    };
    let first = once(0, "zz").await.unwrap();
    for n in 1..=100 {
        once(n, &format!("d-{n}")).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.counts().unwrap().0 > 100 {
        assert!(std::time::Instant::now() < deadline, "not pruned");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(store.record(&first.id).unwrap().is_none());
    let again = once(101, "zz").await.unwrap();
    assert!(
        !again.duplicate,
        "answered as the pruned event {}",
        first.id
    );
}

/// A store damaged on disk can make redb panic as it opens (the hostile probe's damaged
/// store): that is an error saying the store is unreadable, not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_an_error_at_open_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    {
        let store = Store::open(&path).unwrap();
        let config = WriterConfig {
            retain_events: 0,
            two_phase_commit: false,
        };
        let (writer, thread) = Writer::start(store.clone(), config, Box::new(|_, _| {})).unwrap();
        let records: Vec<Record> = (0..200)
            .map(|i| {
                let mut e = event("webhook.a", i);
                e.body = format!("body-{i:06}").repeat(250).into_bytes();
                Record::Accepted(e)
            })
            .collect();
        append_all(&writer, records).await;
        writer.stop().await;
        drop(writer);
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
    }
    // The head of the page holding an old event.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(11)
        .rposition(|w| w == b"body-000050")
        .expect("an old event's body is in the file");
    let page = at / 4096 * 4096;
    bytes[page..page + 64].fill(0xad);
    std::fs::write(&path, bytes).unwrap();
    let opened = std::panic::catch_unwind(|| Store::open(&path).map(|_| ()));
    let Ok(Err(StoreError::Corrupt(why))) = opened else {
        panic!("not refused as unreadable: {opened:?}")
    };
    assert!(why.contains("page"), "{why}");
}
