//! Test databases: a temporary SQLite file, or a fresh PostgreSQL database per test.

use sqlx::{Connection, Executor};
use std::sync::atomic::{AtomicU32, Ordering};
use tempfile::TempDir;
use wardgate_store::{AuditRecord, Store};

pub struct TestDb {
    pub store: Store,
    /// URL of this test's database, to open a second store on it ("another process").
    pub url: String,
    /// A temporary folder for spool files (and the SQLite file).
    pub dir: TempDir,
    /// For PostgreSQL: the server URL and the name of the database to drop at the end.
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("wardgate.db").display());
        let store = Store::connect(&url).await.unwrap();
        TestDb {
            store,
            url,
            dir,
            pg: None,
        }
    }

    /// None only when WARDGATE_SKIP_PG=1; without WARDGATE_TEST_PG_URL the test fails.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var("WARDGATE_TEST_PG_URL") else {
            if std::env::var("WARDGATE_SKIP_PG").as_deref() == Ok("1") {
                eprintln!("WARDGATE_SKIP_PG=1: skipping the PostgreSQL variant");
                return None;
            }
            panic!(
                "WARDGATE_TEST_PG_URL is not set: run the store tests through the project test \
                 command, or `scripts/pg-test.sh run cargo test -p wardgate-store`, or start \
                 PostgreSQL with `scripts/pg-test.sh start` and export the URL it prints \
                 (WARDGATE_SKIP_PG=1 skips the PostgreSQL variants explicitly)"
            );
        };
        sqlx::any::install_default_drivers();
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "wg_test_{}_{}_{}",
            std::process::id(),
            nanos,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = with_database(&base, &name);
        let store = Store::connect(&url).await.unwrap();
        Some(TestDb {
            store,
            url,
            dir: tempfile::tempdir().unwrap(),
            pg: Some((base, name)),
        })
    }

    /// Closes the pool and drops the PostgreSQL database (left behind if the test failed,
    /// which is fine in the throw-away cluster and helps looking at it).
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((base, name)) = self.pg {
            let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
                .unwrap();
            admin.close().await.unwrap();
        }
    }
}

/// Replaces the database name of a postgres:// URL.
fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let host_part = match main[scheme_end..].find('/') {
        Some(i) => &main[..scheme_end + i],
        None => main,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Runs one test body against both databases: `both!(name)` expects `async fn name(db: &TestDb)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = $crate::common::TestDb::sqlite().await;
                super::$name(&db).await;
                db.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = $crate::common::TestDb::postgres().await {
                    super::$name(&db).await;
                    db.finish().await;
                }
            }
        }
    };
}

/// An audit record numbered `n` (time_ms = n).
pub fn audit(n: i64) -> AuditRecord {
    AuditRecord {
        time_ms: n,
        kind: "auth".into(),
        nas: "sw-icu-3".into(),
        nas_addr: "10.1.2.3".into(),
        mac: Some("AA-BB-CC-DD-EE-FF".into()),
        user: if n % 2 == 0 {
            Some(format!("user{n}"))
        } else {
            None
        },
        method: "mab".into(),
        rule: Some("pumps".into()),
        policy_version: "2026-05-01".into(),
        segment: Some("infusion-pumps".into()),
        vlan: if n % 3 == 0 { None } else { Some(120) },
        result: "accept".into(),
        reason: "rule-matched".into(),
        detail: Some(format!("{{\"n\":{n},\"station\":\"Intensivstation Süd\"}}")),
    }
}

#[test]
fn database_name_is_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5/wardgate_test", "x"),
        "postgres://postgres@127.0.0.1:5/x"
    );
    assert_eq!(
        with_database("postgres://h:5/a?sslmode=disable", "x"),
        "postgres://h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:5", "x"), "postgres://h:5/x");
}
