//! The log: the subscriber for everything (text or JSON, written off the packet path), and the
//! decision lines, one JSON object per decision, written straight to the same writer.

use crate::config::LogFormat;
use std::io::Write;
use std::sync::OnceLock;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use wardgate_store::AuditRecord;

/// The log writer and format, once logging is set up.
static WRITER: OnceLock<(NonBlocking, LogFormat)> = OnceLock::new();

/// Installs the log subscriber: text or JSON, written by a background thread through a buffer
/// (the thread flushes whenever its queue runs empty, so lines do not lag, and under load many
/// lines share one write).
pub fn init_logging(format: LogFormat) -> WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ));
    // sqlx logs every query at debug: keep it at warn unless WARDGATE_LOG names it.
    let directives = std::env::var("WARDGATE_LOG").unwrap_or_else(|_| "info".into());
    let directives = if directives.contains("sqlx") {
        directives
    } else {
        format!("{directives},sqlx=warn")
    };
    let filter =
        EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer.clone());
    let _ = WRITER.set((writer, format));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
    guard
}

#[derive(serde::Serialize)]
struct Line<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'static str>,
    event: &'static str,
    #[serde(flatten)]
    rec: Fields<'a>,
    known: bool,
    /// The record's detail as a JSON object, not a string holding one.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a serde_json::value::RawValue>,
}

/// The audit record's fields but `detail`.
#[derive(serde::Serialize)]
struct Fields<'a> {
    time_ms: i64,
    kind: &'a str,
    nas: &'a str,
    nas_addr: &'a str,
    mac: Option<&'a str>,
    user: Option<&'a str>,
    method: &'a str,
    rule: Option<&'a str>,
    policy_version: &'a str,
    segment: Option<&'a str>,
    vlan: Option<i64>,
    result: &'a str,
    reason: &'a str,
}

/// One JSON line per decision on the log (target `wardgate::decision`, level INFO, so
/// `WARDGATE_LOG` filters it like any other line). With `log_format = "json"` the line is the
/// decision object with the usual timestamp, level and target; with text logs it is the usual
/// text prefix followed by the decision object. Written directly: formatting through the generic
/// subscriber machinery cost several microseconds per request.
pub fn log_decision(rec: &AuditRecord, known: bool) {
    if !tracing::enabled!(target: "wardgate::decision", tracing::Level::INFO) {
        return;
    }
    let Some((writer, format)) = WRITER.get() else {
        return;
    };
    if let Some(buf) = render(rec, known, *format == LogFormat::Json) {
        let _ = writer.clone().write_all(&buf);
    }
}

/// The decision line, newline included.
fn render(rec: &AuditRecord, known: bool, json: bool) -> Option<Vec<u8>> {
    let stamp = chrono::DateTime::from_timestamp_millis(rec.time_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default();
    let detail = rec
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<&serde_json::value::RawValue>(d).ok());
    let line = Line {
        timestamp: json.then_some(stamp.as_str()),
        level: json.then_some("INFO"),
        target: json.then_some("wardgate::decision"),
        event: "decision",
        rec: Fields {
            time_ms: rec.time_ms,
            kind: &rec.kind,
            nas: &rec.nas,
            nas_addr: &rec.nas_addr,
            mac: rec.mac.as_deref(),
            user: rec.user.as_deref(),
            method: &rec.method,
            rule: rec.rule.as_deref(),
            policy_version: &rec.policy_version,
            segment: rec.segment.as_deref(),
            vlan: rec.vlan,
            result: &rec.result,
            reason: &rec.reason,
        },
        known,
        detail,
    };
    let mut buf = Vec::with_capacity(512);
    if !json {
        let _ = write!(buf, "{stamp}  INFO wardgate::decision: ");
    }
    serde_json::to_writer(&mut buf, &line).ok()?;
    buf.push(b'\n');
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            time_ms: 1_796_303_805_651,
            kind: "auth".into(),
            nas: "sw1".into(),
            nas_addr: "127.0.0.1".into(),
            mac: Some("00-09-FB-12-34-57".into()),
            user: Some("0009fb123457".into()),
            method: "mab".into(),
            rule: Some("imaging".into()),
            policy_version: "ab".repeat(32),
            segment: Some("imaging".into()),
            vlan: Some(120),
            result: "accept".into(),
            reason: "rule-matched".into(),
            detail: Some(r#"{"monitor":[{"rule":"trial","would":"quarantine"}]}"#.into()),
        }
    }

    #[test]
    fn json_decision_line_is_one_object_with_detail_as_an_object() {
        let buf = render(&record(), true, true).unwrap();
        assert_eq!(buf.iter().filter(|b| **b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["event"], "decision");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "wardgate::decision");
        assert_eq!(v["timestamp"], "2026-12-03T13:16:45.651000Z");
        assert_eq!(v["mac"], "00-09-FB-12-34-57");
        assert_eq!(v["vlan"], 120);
        assert_eq!(v["known"], true);
        assert_eq!(v["detail"]["monitor"][0]["would"], "quarantine");
    }

    #[test]
    fn text_decision_line_ends_in_the_json_object() {
        let buf = String::from_utf8(render(&record(), false, false).unwrap()).unwrap();
        let (prefix, json) = buf.split_once("wardgate::decision: ").unwrap();
        assert!(
            prefix.starts_with("2026-12-03T13:16:45.651000Z  INFO"),
            "{prefix}"
        );
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["known"], false);
        assert!(v.get("level").is_none());
    }
}
