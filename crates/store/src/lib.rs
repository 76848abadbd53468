//! Inventory and audit stores over SQLite and PostgreSQL (sqlx Any).
//!
//! One code path serves both databases: the same SQL (with `$1` placeholders) runs through an
//! [`sqlx::AnyPool`]; only the migrations differ (`migrations/sqlite`, `migrations/postgres`,
//! embedded at build time and picked by the URL scheme at run time). Times are epoch
//! milliseconds, JSON is text.
//!
//! - [`Store`]: connection, migrations, inventory (devices and labels, with a generation counter
//!   that other processes can poll) and audit rows.
//! - [`csvio`]: the `devices import` / `export` CSV format.
//! - [`AuditWriter`]: batched, asynchronous audit writing with a local spool file.

mod audit;
mod audit_writer;
pub mod csvio;
mod inventory;
pub mod labels;
mod spool;

pub use audit::AuditRecord;
pub use audit_writer::{AuditConfig, AuditRetry, AuditStats, AuditWriter};
pub use csvio::{ImportError, ImportErrors};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};
use std::time::Duration;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// Errors of the store boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (expected sqlite:... or postgres://...): {0}")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A device handed to the store has a label the inventory refuses (see [`labels`]).
    #[error("device {mac}: {reason}")]
    InvalidDevice { mac: String, reason: String },
    /// A row read back from the database does not make sense (for example a bad MAC).
    #[error("corrupt row in the database: {0}")]
    Corrupt(String),
    #[error("database call timed out after {0:?}")]
    Timeout(Duration),
}

/// The inventory and audit store. Cheap to clone (it wraps a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    kind: DbKind,
}

/// How long to wait for a pooled connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an SQLite connection waits on a lock held by another connection or process.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5000;

impl Store {
    /// Connects and runs the migrations.
    ///
    /// - `sqlite:///abs/path.db`, `sqlite://rel.db` or `sqlite:rel.db`: the file is created if
    ///   missing (unless the URL says `mode=`), put in WAL mode, with a busy timeout.
    /// - `postgres://...` or `postgresql://...`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let (kind, url) = normalise_url(url)?;
        let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let pool = match kind {
            DbKind::Sqlite => {
                options
                    .max_connections(4)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // The busy timeout is also sqlx's default; foreign keys are off by
                            // default in SQLite and we want the same behaviour as PostgreSQL.
                            let pragmas = format!(
                                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON"
                            );
                            sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))
                                .execute(conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            DbKind::Postgres => options.max_connections(8).connect(&url).await?,
        };
        if kind == DbKind::Sqlite {
            // WAL lets the server read while the CLI writes. It is a property of the file, so
            // setting it once is enough; the result row says which mode is in force.
            let _mode: (String,) = sqlx::query_as("PRAGMA journal_mode = WAL")
                .fetch_one(&pool)
                .await?;
        }
        let store = Store { pool, kind };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrator(self.kind);
        match migrator.run(&self.pool).await {
            Ok(()) => Ok(()),
            // SQLite has no migration lock: when two processes create a new database at once,
            // one of them fails; by the time it retries the other one has finished.
            Err(_) if self.kind == DbKind::Sqlite => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Ok(migrator.run(&self.pool).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// The underlying pool, for other stores that share the database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The embedded migrations of one database kind.
fn migrator(kind: DbKind) -> Migrator {
    let source = match kind {
        DbKind::Sqlite => embedded::SQLITE,
        DbKind::Postgres => embedded::POSTGRES,
    };
    Migrator::with_migrations(
        source
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Picks the database kind and, for SQLite, asks for the file to be created when missing.
fn normalise_url(url: &str) -> Result<(DbKind, String), StoreError> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((DbKind::Postgres, url.to_owned()));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        if rest.is_empty() || rest.starts_with(":memory:") || rest.contains("mode=memory") {
            // Each pooled connection would get its own empty database.
            return Err(StoreError::UnsupportedUrl(
                "in-memory SQLite is not supported (each pooled connection gets its own database); use a file".into(),
            ));
        }
        let mut out = format!("sqlite://{rest}");
        if !rest.contains("mode=") {
            out.push(if rest.contains('?') { '&' } else { '?' });
            out.push_str("mode=rwc");
        }
        return Ok((DbKind::Sqlite, out));
    }
    Err(StoreError::UnsupportedUrl(redact(url)))
}

/// Drops a password from a URL before it goes into an error message.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Current time in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let (k, u) = normalise_url("sqlite:///var/lib/wardgate/db.sqlite").unwrap();
        assert_eq!(k, DbKind::Sqlite);
        assert_eq!(u, "sqlite:///var/lib/wardgate/db.sqlite?mode=rwc");
        let (_, u) = normalise_url("sqlite://rel.db").unwrap();
        assert_eq!(u, "sqlite://rel.db?mode=rwc");
        let (_, u) = normalise_url("sqlite:rel.db?mode=ro").unwrap();
        assert_eq!(u, "sqlite://rel.db?mode=ro");
        assert!(normalise_url("sqlite::memory:").is_err());
        let (k, _) = normalise_url("postgres://u:p@h/db").unwrap();
        assert_eq!(k, DbKind::Postgres);
        match normalise_url("mysql://u:secret@h/db") {
            Err(e) => assert!(!e.to_string().contains("secret")),
            Ok(_) => panic!("mysql accepted"),
        }
    }

    #[test]
    fn both_migration_sets_are_embedded_with_the_same_versions() {
        let v = |m: &[(i64, &str, &str)]| m.iter().map(|x| x.0).collect::<Vec<_>>();
        assert!(!embedded::SQLITE.is_empty());
        assert_eq!(v(embedded::SQLITE), v(embedded::POSTGRES));
    }
}
