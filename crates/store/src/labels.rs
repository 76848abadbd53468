//! What the inventory accepts as a label key and value, so that every stored device can be
//! exported to CSV and imported back unchanged.

use wardgate_types::{Device, label};

/// Longest label key accepted.
pub const MAX_KEY_LEN: usize = 63;
/// Longest label value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 1024;

/// A label key is 1 to 63 characters of `a-z 0-9 _ - . /`, starting with a letter, and is not
/// `mac` (the CSV column of the address). Keys are case-sensitive; the CSV reader lower-cases
/// its header before checking.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("bad label key \"\": empty".into());
    }
    if key.len() > MAX_KEY_LEN {
        return Err(format!(
            "bad label key {key:?}: longer than {MAX_KEY_LEN} characters"
        ));
    }
    if key == "mac" {
        return Err("bad label key \"mac\": reserved for the address".into());
    }
    let mut chars = key.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
        return Err(format!(
            "bad label key {key:?}: must start with a letter a-z"
        ));
    }
    if let Some(c) = key.chars().find(|c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | '/'))
    }) {
        return Err(format!(
            "bad label key {key:?}: character {c:?} not allowed (a-z 0-9 _ - . /)"
        ));
    }
    Ok(())
}

/// A label value is non-empty, has no leading or trailing white space (the CSV reader trims
/// cells and treats an empty cell as "no label") and is at most 1024 bytes. Any other Unicode
/// text is fine.
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!(
            "label {key:?}: empty value (leave the label out instead)"
        ));
    }
    if value.trim() != value {
        return Err(format!(
            "label {key:?}: value has leading or trailing white space"
        ));
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(format!(
            "label {key:?}: value longer than {MAX_VALUE_LEN} bytes"
        ));
    }
    Ok(())
}

/// Checks every label of a device.
pub fn check_device(device: &Device) -> Result<(), String> {
    for (k, v) in &device.labels {
        check_key(k)?;
        check_value(k, v)?;
    }
    Ok(())
}

/// True for the five labels that have their own column.
pub fn is_well_known(key: &str) -> bool {
    label::WELL_KNOWN.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in [
            "role",
            "ward",
            "asset-tag",
            "vendor.model",
            "x1",
            "a/b",
            "k_2",
        ] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "mac", "Role", "1x", "-x", "a b", "é", &"a".repeat(64)] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values() {
        assert!(check_value("k", "Station Nord – Intensiv 3").is_ok());
        assert!(check_value("k", "").is_err());
        assert!(check_value("k", " x").is_err());
        assert!(check_value("k", &"x".repeat(1025)).is_err());
    }
}
