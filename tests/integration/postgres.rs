//! The server on PostgreSQL: the same store code as SQLite, and the audit trail surviving a
//! database that stops taking writes (spooled, then replayed exactly once).

use crate::harness::*;
use sqlx::{Connection, Executor};
use std::time::{Duration, Instant};

/// A fresh database on the test PostgreSQL (started by scripts/test).
fn fresh_database() -> String {
    let base = std::env::var("WARDGATE_TEST_PG_URL").expect(
        "WARDGATE_TEST_PG_URL is not set: run the tests with scripts/test, which starts PostgreSQL",
    );
    let name = format!(
        "wg_it_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    sql(&base, &format!("CREATE DATABASE {name}"));
    let (host, _) = base.rsplit_once('/').unwrap();
    format!("{host}/{name}")
}

fn sql(url: &str, statement: &str) {
    sqlx::any::install_default_drivers();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
        c.execute(sqlx::AssertSqlSafe(statement.to_string()))
            .await
            .unwrap();
        c.close().await.unwrap();
    });
}

#[test]
fn decisions_are_spooled_while_the_audit_table_is_gone_and_replayed_once() {
    let url = fresh_database();
    let s = Server::start(Options {
        devices_csv: Some(include_str!("../fixtures/hospital-devices.csv").to_string()),
        database_url: Some(url.clone()),
        ..Options::default()
    });
    // The inventory came from PostgreSQL.
    let r = radclient(s.auth, "auth", SECRET, &mab_request("0009fb123457", true));
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"110\""), "{}", r.output);
    assert_eq!(audit_rows(&url, 1).len(), 1);

    sql(&url, "ALTER TABLE audit RENAME TO audit_away");
    for _ in 0..5 {
        let r = radclient(s.auth, "auth", SECRET, &mab_request("3c5282aabb01", true));
        assert!(
            r.has("Tunnel-Private-Group-Id:0 = \"140\""),
            "replies go on: {}",
            r.output
        );
    }
    // Give the writer time to fail and spool.
    let spool = s.dir.path().join("data/audit.spool");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::metadata(&spool)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "nothing spooled:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sql(&url, "ALTER TABLE audit_away RENAME TO audit");
    // Replayed by the periodic retry: exactly six decisions, none twice.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = audit_rows(&url, 0);
        if rows.len() >= 6 || Instant::now() > deadline {
            assert_eq!(rows.len(), 6, "{rows:#?}");
            let printers = rows
                .iter()
                .filter(|r| r.segment.as_deref() == Some("printers"))
                .count();
            assert_eq!(printers, 5);
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
