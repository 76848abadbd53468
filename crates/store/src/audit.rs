//! Audit rows: one per decision or accounting event, written in batches and read back newest
//! first.

use crate::{DbKind, Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// One audited decision ("auth") or accounting event ("accounting").
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// Epoch milliseconds.
    pub time_ms: i64,
    /// `auth` or `accounting`.
    pub kind: String,
    /// The NAS (client) name.
    pub nas: String,
    pub nas_addr: String,
    pub mac: Option<String>,
    pub user: Option<String>,
    pub method: String,
    pub rule: Option<String>,
    pub policy_version: String,
    pub segment: Option<String>,
    pub vlan: Option<i64>,
    /// `accept` or `reject`.
    pub result: String,
    /// Stable reason code.
    pub reason: String,
    /// JSON text, for example monitor-mode hits.
    pub detail: Option<String>,
}

/// A record with the id that makes writing it idempotent: the spool and the writer keep the id,
/// so a record written twice (a replay after a crash, a commit whose reply timed out) is stored
/// once.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct IdentifiedRecord {
    pub id: String,
    #[serde(flatten)]
    pub rec: AuditRecord,
}

impl IdentifiedRecord {
    pub(crate) fn new(rec: AuditRecord) -> Self {
        Self {
            id: new_record_id(),
            rec,
        }
    }
}

/// A fresh id, unique across processes and restarts: a per-process random prefix (start time
/// and a randomly seeded hash) and a counter.
pub(crate) fn new_record_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        // RandomState is seeded from the OS random source once per process.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(nanos);
        format!("{:012x}{:016x}", nanos & 0xffff_ffff_ffff, h.finish())
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{n:x}")
}

/// Rows per INSERT statement: 15 parameters each stays under SQLite's historical limit of 999.
const ROWS_PER_STATEMENT: usize = 60;
const COLUMNS: &str = "record_id, time_ms, kind, nas, nas_addr, mac, user_name, method, rule, \
                       policy_version, segment, vlan, result, reason, detail";
const PARAMS_PER_ROW: usize = 15;

impl Store {
    /// Inserts the records in one transaction (multi-row statements).
    pub async fn insert_audit(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        let identified: Vec<IdentifiedRecord> =
            records.iter().cloned().map(IdentifiedRecord::new).collect();
        self.insert_identified(&identified).await
    }

    /// Inserts records that already have an id; a record whose id is already stored is skipped.
    pub(crate) async fn insert_identified(
        &self,
        records: &[IdentifiedRecord],
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let sql = insert_sql(chunk.len(), self.kind() == DbKind::Sqlite);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                let a = &r.rec;
                q = q
                    .bind(r.id.clone())
                    .bind(a.time_ms)
                    .bind(a.kind.clone())
                    .bind(a.nas.clone())
                    .bind(a.nas_addr.clone())
                    .bind(a.mac.clone())
                    .bind(a.user.clone())
                    .bind(a.method.clone())
                    .bind(a.rule.clone())
                    .bind(a.policy_version.clone())
                    .bind(a.segment.clone())
                    .bind(a.vlan)
                    .bind(a.result.clone())
                    .bind(a.reason.clone())
                    .bind(a.detail.clone());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` records, newest first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT time_ms, kind, nas, nas_addr, mac, user_name, method, rule, policy_version, \
             segment, vlan, result, reason, detail FROM audit \
             ORDER BY time_ms DESC, id DESC LIMIT $1",
        )
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// How many audit rows are stored.
    pub async fn count_audit(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM audit")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }
}

/// The multi-row INSERT. SQLite gets anonymous `?` placeholders: with `$N` its driver looks each
/// parameter up by name, which costs quadratically in the parameter count (measured: up to a
/// quarter of the server's CPU under load at 60 rows x 15 columns).
fn insert_sql(rows: usize, anonymous: bool) -> String {
    let mut sql = format!("INSERT INTO audit ({COLUMNS}) VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..PARAMS_PER_ROW {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            if anonymous {
                sql.push('?');
            } else {
                let _ = write!(sql, "${n}");
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (record_id) DO NOTHING");
    sql
}

fn record_from_row(row: &AnyRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        time_ms: row.try_get("time_ms")?,
        kind: row.try_get("kind")?,
        nas: row.try_get("nas")?,
        nas_addr: row.try_get("nas_addr")?,
        mac: row.try_get("mac")?,
        user: row.try_get("user_name")?,
        method: row.try_get("method")?,
        rule: row.try_get("rule")?,
        policy_version: row.try_get("policy_version")?,
        segment: row.try_get("segment")?,
        vlan: row.try_get("vlan")?,
        result: row.try_get("result")?,
        reason: row.try_get("reason")?,
        detail: row.try_get("detail")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_sql_numbers_every_parameter() {
        let sql = insert_sql(2, false);
        assert!(sql.contains("($1, $2,"));
        assert!(sql.contains("$15), ($16,"));
        assert!(sql.ends_with("$30) ON CONFLICT (record_id) DO NOTHING"));
        let sql = insert_sql(2, true);
        assert_eq!(sql.matches('?').count(), 30);
        assert!(!sql.contains('$'));
    }

    #[test]
    fn record_ids_are_unique() {
        let a = new_record_id();
        let b = new_record_id();
        assert_ne!(a, b);
        assert_eq!(a.split('-').next(), b.split('-').next());
    }

    #[test]
    fn spool_line_round_trips() {
        let r = IdentifiedRecord::new(AuditRecord {
            time_ms: 1,
            kind: "auth".into(),
            nas: "sw1".into(),
            nas_addr: "10.0.0.1".into(),
            mac: Some("AA-BB-CC-DD-EE-FF".into()),
            user: None,
            method: "mab".into(),
            rule: None,
            policy_version: "v1".into(),
            segment: Some("pumps".into()),
            vlan: Some(20),
            result: "accept".into(),
            reason: "matched".into(),
            detail: Some("{\"x\":1}".into()),
        });
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<IdentifiedRecord>(&line).unwrap(), r);
    }
}
