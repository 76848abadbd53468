//! The audit writer: batching, spooling when the database fails or the queue is full, replay
//! exactly once.

use crate::both;
use crate::common::{TestDb, audit};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use wardgate_store::{AuditConfig, AuditRetry, AuditWriter, DbKind, Store};

fn fast_retry() -> AuditRetry {
    AuditRetry {
        replay_interval: Duration::from_millis(300),
        db_timeout: Duration::from_secs(1),
    }
}

/// Makes the audit table disappear (and come back): every insert fails meanwhile, as with an
/// unreachable database.
async fn break_audit_table(store: &Store, broken: bool) {
    let sql = if broken {
        "ALTER TABLE audit RENAME TO audit_away"
    } else {
        "ALTER TABLE audit_away RENAME TO audit"
    };
    sqlx::query(sql).execute(store.pool()).await.unwrap();
}

fn spool_lines(path: &Path) -> usize {
    let mut n = 0;
    for p in [path.to_path_buf(), path.with_extension("spool.replay")] {
        if let Ok(text) = std::fs::read_to_string(&p) {
            n += text.lines().filter(|l| !l.trim().is_empty()).count();
        }
    }
    n
}

/// Every stored record's time_ms, checking that none is stored twice.
async fn stored_times(store: &Store) -> BTreeSet<i64> {
    let all = store.recent_audit(1_000_000).await.unwrap();
    let times: BTreeSet<i64> = all.iter().map(|r| r.time_ms).collect();
    assert_eq!(times.len(), all.len(), "a record is stored twice");
    times
}

async fn wait_for_count(store: &Store, want: i64, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let n = store.count_audit().await.unwrap_or(-1);
        if n == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} audit rows, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn writes_batches(db: &TestDb) {
    let cfg = AuditConfig {
        batch_size: 16,
        flush_interval: Duration::from_millis(50),
        queue_capacity: 1000,
    };
    let spool = db.dir.path().join("audit.spool");
    let (w, task) =
        AuditWriter::start_with_retry(db.store.clone(), spool.clone(), cfg, fast_retry());
    for n in 0..100 {
        w.record(audit(n));
    }
    // The interval flush writes the partial batch without an explicit flush.
    wait_for_count(&db.store, 100, Duration::from_secs(10)).await;
    w.flush().await;
    let st = w.stats();
    assert_eq!(
        (st.written, st.spooled, st.replayed, st.lost),
        (100, 0, 0, 0)
    );
    assert_eq!(stored_times(&db.store).await, (0..100).collect());
    assert!(!spool.exists());
    w.shutdown().await;
    task.await.unwrap();
    // After shutdown a record still is not lost: it goes to the spool.
    w.record(audit(100));
    assert_eq!(w.stats().spooled, 1);
    assert_eq!(spool_lines(&spool), 1);
}
both!(writes_batches);

async fn failing_database_spools_then_replays_exactly_once(db: &TestDb) {
    let cfg = AuditConfig {
        batch_size: 10,
        flush_interval: Duration::from_millis(50),
        queue_capacity: 1000,
    };
    let spool = db.dir.path().join("audit.spool");
    break_audit_table(&db.store, true).await;
    let (w, task) =
        AuditWriter::start_with_retry(db.store.clone(), spool.clone(), cfg, fast_retry());
    for n in 0..25 {
        w.record(audit(n));
    }
    w.flush().await;
    let st = w.stats();
    assert_eq!((st.written, st.spooled, st.lost), (0, 25, 0), "{st:?}");
    assert_eq!(spool_lines(&spool), 25);

    // The database comes back; the writer notices by itself (periodic replay).
    break_audit_table(&db.store, false).await;
    for n in 25..30 {
        w.record(audit(n));
    }
    wait_for_count(&db.store, 30, Duration::from_secs(10)).await;
    w.flush().await;
    assert_eq!(stored_times(&db.store).await, (0..30).collect());
    let st = w.stats();
    assert_eq!(st.written + st.replayed, 30, "{st:?}");
    assert_eq!(st.spooled, st.replayed, "{st:?}");
    assert_eq!(spool_lines(&spool), 0);
    assert!(!spool.exists());
    w.shutdown().await;
    task.await.unwrap();
}
both!(failing_database_spools_then_replays_exactly_once);

async fn spool_is_replayed_at_start_once_even_after_a_crash(db: &TestDb) {
    let cfg = AuditConfig::default();
    let spool = db.dir.path().join("audit.spool");
    // A first run whose database fails: everything goes to the spool.
    break_audit_table(&db.store, true).await;
    let (w, task) =
        AuditWriter::start_with_retry(db.store.clone(), spool.clone(), cfg, fast_retry());
    for n in 0..40 {
        w.record(audit(n));
    }
    w.shutdown().await;
    task.await.unwrap();
    assert_eq!(w.stats().spooled, 40);
    let saved = std::fs::read(&spool).unwrap();
    break_audit_table(&db.store, false).await;

    // A second run replays it at start.
    let (w, task) =
        AuditWriter::start_with_retry(db.store.clone(), spool.clone(), cfg, fast_retry());
    w.flush().await;
    assert_eq!(w.stats().replayed, 40);
    assert_eq!(stored_times(&db.store).await, (0..40).collect());
    assert!(!spool.exists());
    w.shutdown().await;
    task.await.unwrap();

    // A crash after the replay committed but before the file was removed, with a torn line
    // at the end of the file: the next start replays again, and stores nothing twice.
    let mut replay = saved.clone();
    replay.extend_from_slice(b"{\"id\":\"torn\",\"time_ms\":99,\"ki");
    std::fs::write(spool.with_extension("spool.replay"), &replay).unwrap();
    // ...and a spool with one more record whose last line is torn as well.
    std::fs::write(&spool, b"{\"id\":\"half").unwrap();
    let (w, task) =
        AuditWriter::start_with_retry(db.store.clone(), spool.clone(), cfg, fast_retry());
    w.record(audit(40));
    w.flush().await;
    assert_eq!(stored_times(&db.store).await, (0..41).collect());
    assert!(!spool.exists());
    assert!(!spool.with_extension("spool.replay").exists());
    w.shutdown().await;
    task.await.unwrap();
}
both!(spool_is_replayed_at_start_once_even_after_a_crash);

async fn full_queue_spools_and_nothing_is_lost(db: &TestDb) {
    // One queue slot and a writer that cannot run meanwhile (the test runtime has one thread
    // and the loop below never yields): all but the first record overflow to the spool.
    let cfg = AuditConfig {
        batch_size: 1000,
        flush_interval: Duration::from_secs(3600),
        queue_capacity: 1,
    };
    let spool = db.dir.path().join("audit.spool");
    let (w, task) =
        AuditWriter::start_with_retry(db.store.clone(), spool.clone(), cfg, fast_retry());
    for n in 0..200 {
        w.record(audit(n));
    }
    let st = w.stats();
    assert_eq!(st.spooled, 199, "{st:?}");
    assert_eq!(spool_lines(&spool), 199);
    w.flush().await;
    let st = w.stats();
    assert_eq!(
        (st.written, st.spooled, st.replayed, st.lost),
        (1, 199, 199, 0),
        "{st:?}"
    );
    assert_eq!(stored_times(&db.store).await, (0..200).collect());
    assert!(!spool.exists());
    w.shutdown().await;
    task.await.unwrap();
}
both!(full_queue_spools_and_nothing_is_lost);

async fn a_hanging_database_times_out_and_spools(db: &TestDb) {
    // Another connection holds a lock that makes every audit insert wait.
    let mut blocker = db.store.pool().begin().await.unwrap();
    let lock = match db.store.kind() {
        DbKind::Sqlite => "UPDATE audit SET kind = kind WHERE id = -1",
        DbKind::Postgres => "LOCK TABLE audit IN EXCLUSIVE MODE",
    };
    sqlx::query(lock).execute(&mut *blocker).await.unwrap();

    let retry = AuditRetry {
        replay_interval: Duration::from_millis(300),
        db_timeout: Duration::from_millis(500),
    };
    let cfg = AuditConfig {
        batch_size: 100,
        flush_interval: Duration::from_millis(50),
        queue_capacity: 1000,
    };
    let spool = db.dir.path().join("audit.spool");
    let (w, task) = AuditWriter::start_with_retry(db.store.clone(), spool.clone(), cfg, retry);
    let started = std::time::Instant::now();
    for n in 0..5 {
        w.record(audit(n));
    }
    w.flush().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(w.stats().spooled, 5, "{:?}", w.stats());

    blocker.rollback().await.unwrap();
    wait_for_count(&db.store, 5, Duration::from_secs(10)).await;
    w.flush().await;
    assert_eq!(stored_times(&db.store).await, (0..5).collect());
    assert!(!spool.exists());
    w.shutdown().await;
    task.await.unwrap();
}
both!(a_hanging_database_times_out_and_spools);
