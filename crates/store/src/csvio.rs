//! The inventory CSV format of `devices import` and `devices export`.
//!
//! The header row names the columns: `mac` (required, any spelling a switch uses), the
//! well-known labels (`role`, `sensitivity`, `location`, `environment`, `owner`) and any other
//! column as a free label. Header names are trimmed and lower-cased. Cells are trimmed; an empty
//! cell means the label is absent. Export writes `mac`, the five well-known columns, then the
//! free label columns sorted, with MACs as `AA-BB-CC-DD-EE-FF`, so export -> import round-trips.

use crate::labels;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use wardgate_types::{Device, Labels, MacAddr, label};

/// One bad row (or header) of an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    /// 1-based line number of the start of the record.
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Every problem found in an import file; nothing of the file is to be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors {
    pub errors: Vec<ImportError>,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        wardgate_types::write_lines(f, &self.errors)
    }
}

impl std::error::Error for ImportErrors {}

/// Parses an import file. All rows are checked; on any problem the result lists every bad row
/// (and header) as `file:line: reason`.
pub fn parse_devices_csv(file_name: &str, text: &str) -> Result<Vec<Device>, ImportErrors> {
    let mut errors = Vec::new();
    let mut bad = |line: u64, reason: String| {
        errors.push(ImportError {
            file: file_name.to_owned(),
            line,
            reason,
        })
    };
    // Spreadsheet programs like to start UTF-8 files with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();

    let header = match records.next() {
        None => {
            bad(
                1,
                "empty file: expected a header row naming the columns (mac, ...)".into(),
            );
            return Err(ImportErrors { errors });
        }
        Some(Err(e)) => {
            bad(csv_line(&e).unwrap_or(1), format!("unreadable header: {e}"));
            return Err(ImportErrors { errors });
        }
        Some(Ok(h)) => h,
    };
    let header_line = header.position().map_or(1, |p| p.line());
    let columns: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut mac_col = None;
    let mut seen = HashMap::new();
    for (i, name) in columns.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i) {
            bad(
                header_line,
                format!(
                    "duplicate column {name:?} (columns {} and {})",
                    first + 1,
                    i + 1
                ),
            );
        } else if name == "mac" {
            mac_col = Some(i);
        } else if let Err(reason) = labels::check_key(name) {
            bad(header_line, format!("column {}: {reason}", i + 1));
        }
    }
    if mac_col.is_none() {
        bad(header_line, "no \"mac\" column in the header row".into());
    }

    let mut devices = Vec::new();
    let mut first_line_of: HashMap<MacAddr, u64> = HashMap::new();
    for result in records {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                bad(csv_line(&e).unwrap_or(0), format!("unreadable row: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|cell| cell.trim().is_empty()) && record.len() <= 1 {
            continue; // a blank line
        }
        if record.len() != columns.len() {
            bad(
                line,
                format!(
                    "wrong number of fields: {} instead of {} (the header has {})",
                    record.len(),
                    columns.len(),
                    columns.len()
                ),
            );
            continue;
        }
        let Some(mac_col) = mac_col else { continue };
        let mac_text = record.get(mac_col).unwrap_or_default().trim();
        let mac = match MacAddr::parse(mac_text) {
            Ok(m) => m,
            Err(e) => {
                bad(line, format!("bad MAC {mac_text:?}: {}", e.reason));
                continue;
            }
        };
        if let Some(first) = first_line_of.insert(mac, line) {
            first_line_of.insert(mac, first);
            bad(line, format!("duplicate MAC {mac} (first on line {first})"));
            continue;
        }
        let mut device_labels = Labels::new();
        let mut row_ok = true;
        for (i, cell) in record.iter().enumerate() {
            if i == mac_col {
                continue;
            }
            let value = cell.trim();
            if value.is_empty() {
                continue;
            }
            if let Err(reason) = labels::check_value(&columns[i], value) {
                bad(line, reason);
                row_ok = false;
                continue;
            }
            device_labels.insert(columns[i].clone(), value.to_owned());
        }
        if row_ok {
            devices.push(Device {
                mac,
                labels: device_labels,
            });
        }
    }
    if errors.is_empty() {
        Ok(devices)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(ImportErrors { errors })
    }
}

fn csv_line(e: &csv::Error) -> Option<u64> {
    e.position().map(|p| p.line())
}

/// Writes devices in the import format: header `mac`, the five well-known labels, then every
/// free label key used by any device, sorted.
pub fn write_devices_csv(devices: &[Device], out: impl std::io::Write) -> std::io::Result<()> {
    let free: BTreeSet<&str> = devices
        .iter()
        .flat_map(|d| d.labels.keys())
        .map(String::as_str)
        .filter(|k| !labels::is_well_known(k))
        .collect();
    let mut header: Vec<&str> = vec!["mac"];
    header.extend(label::WELL_KNOWN);
    header.extend(free.iter().copied());
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(&header).map_err(into_io)?;
    for device in devices {
        let mac = device.mac.to_string();
        let row = std::iter::once(mac.as_str()).chain(
            header[1..]
                .iter()
                .map(|k| device.labels.get(*k).map_or("", String::as_str)),
        );
        writer.write_record(row).map_err(into_io)?;
    }
    writer.flush()
}

fn into_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(s: &str) -> MacAddr {
        MacAddr::parse(s).unwrap()
    }

    #[test]
    fn reads_spellings_free_labels_and_empty_cells() {
        let text = "MAC,Role,location,ward,asset-tag\n\
                    aabb.ccdd.eeff,infusion-pump,Bau 3,,A-17\n\
                    00:11:22:33:44:55,,,\"Intensiv, Nord\",\n\
                    0011-2233-4466,printer,Küche,,\n";
        let devices = parse_devices_csv("inv.csv", text).unwrap();
        assert_eq!(devices.len(), 3);
        assert_eq!(devices[0].mac, mac("AA-BB-CC-DD-EE-FF"));
        assert_eq!(devices[0].label("role"), Some("infusion-pump"));
        assert_eq!(devices[0].label("ward"), None);
        assert_eq!(devices[0].label("asset-tag"), Some("A-17"));
        assert_eq!(devices[1].labels.len(), 1);
        assert_eq!(devices[1].label("ward"), Some("Intensiv, Nord"));
        assert_eq!(devices[2].label("location"), Some("Küche"));
    }

    #[test]
    fn reports_every_bad_row_with_file_and_line() {
        let text = "mac,role\n\
                    aa:bb:cc:dd:ee:ff,pump\n\
                    not-a-mac,pump\n\
                    11:22:33:44:55:66,pump,extra\n\
                    AABBCCDDEEFF,monitor\n\
                    22:22:22:22:22:22, ok \n";
        let err = parse_devices_csv("wards.csv", text).unwrap_err();
        let shown = err.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3, "{shown}");
        assert!(lines[0].starts_with("wards.csv:3: bad MAC"), "{shown}");
        assert!(
            lines[1].starts_with("wards.csv:4: wrong number of fields"),
            "{shown}"
        );
        assert!(
            lines[2].starts_with("wards.csv:5: duplicate MAC AA-BB-CC-DD-EE-FF (first on line 2)"),
            "{shown}"
        );
    }

    #[test]
    fn bad_header_keys_and_missing_mac_column() {
        let err = parse_devices_csv("h.csv", "role,bad key,role\n").unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains("h.csv:1: column 2: bad label key \"bad key\""),
            "{shown}"
        );
        assert!(
            shown.contains("h.csv:1: duplicate column \"role\""),
            "{shown}"
        );
        assert!(shown.contains("h.csv:1: no \"mac\" column"), "{shown}");
        assert!(parse_devices_csv("e.csv", "").is_err());
        assert_eq!(parse_devices_csv("o.csv", "\u{feff}mac\n").unwrap(), vec![]);
    }

    #[test]
    fn multi_line_cells_report_the_line_where_the_row_starts() {
        let text = "mac,note\naa:bb:cc:dd:ee:ff,\"two\nlines\"\nbad,x\n";
        let err = parse_devices_csv("m.csv", text).unwrap_err();
        assert_eq!(err.errors[0].line, 4, "{err}");
    }

    #[test]
    fn export_then_import_round_trips() {
        let mut a = Labels::new();
        a.insert("role".into(), "pump".into());
        a.insert("zone".into(), "Zürich \"Süd\", 2".into());
        a.insert("asset".into(), "line1\nline2".into());
        let mut b = Labels::new();
        b.insert("owner".into(), "biomed".into());
        let devices = vec![
            Device {
                mac: mac("00:00:00:00:00:01"),
                labels: a,
            },
            Device {
                mac: mac("00:00:00:00:00:02"),
                labels: b,
            },
        ];
        let mut out = Vec::new();
        write_devices_csv(&devices, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("mac,role,sensitivity,location,environment,owner,asset,zone\n"));
        assert!(text.contains("00-00-00-00-00-02,,,,,biomed,,\n"), "{text}");
        assert_eq!(parse_devices_csv("x.csv", &text).unwrap(), devices);
    }
}
