//! Audit rows: batch insert and reading back newest first.

use crate::both;
use crate::common::{TestDb, audit};

async fn batch_insert_and_recent(db: &TestDb) {
    let s = &db.store;
    assert!(s.recent_audit(10).await.unwrap().is_empty());
    // More rows than one multi-row statement holds.
    let records: Vec<_> = (1..=150).map(audit).collect();
    s.insert_audit(&records).await.unwrap();
    s.insert_audit(&[]).await.unwrap();
    assert_eq!(s.count_audit().await.unwrap(), 150);
    let recent = s.recent_audit(10).await.unwrap();
    let want: Vec<_> = (141..=150).rev().map(audit).collect();
    assert_eq!(recent, want);
    assert_eq!(s.recent_audit(1000).await.unwrap().len(), 150);
    assert!(s.recent_audit(0).await.unwrap().is_empty());

    // Same time: the later insert comes first.
    let mut a = audit(1000);
    a.result = "reject".into();
    a.reason = "unknown-device".into();
    a.mac = None;
    a.segment = None;
    a.rule = None;
    a.detail = None;
    let mut b = audit(1000);
    b.kind = "accounting".into();
    s.insert_audit(&[a.clone()]).await.unwrap();
    s.insert_audit(&[b.clone()]).await.unwrap();
    assert_eq!(s.recent_audit(2).await.unwrap(), vec![b, a]);
}
both!(batch_insert_and_recent);
