//! The policy's view of the RADIUS dictionary: which `request."Attr-Name"` conditions name a real
//! attribute and a value it can take, checked when the policy loads.

use wardgate_policy::AttributeCatalog;
use wardgate_radius::dictionary::Dictionary;

pub struct DictionaryCatalog<'a>(pub &'a Dictionary);

impl AttributeCatalog for DictionaryCatalog<'_> {
    fn check_name(&self, name: &str) -> Result<(), String> {
        if let Some(def) = self.0.attribute(name) {
            if def.is_sensitive() {
                return Err(format!(
                    "{} is a password or key attribute; the policy never sees its value",
                    def.name
                ));
            }
            return Ok(());
        }
        let lower = name.to_ascii_lowercase();
        let close = self
            .0
            .attributes()
            .map(|d| d.name.as_str())
            .filter(|n| n.vendor_free_close(&lower))
            .take(3)
            .collect::<Vec<_>>();
        Err(if close.is_empty() {
            "not an attribute of the dictionary".to_string()
        } else {
            format!(
                "not an attribute of the dictionary (did you mean {}?)",
                close.join(", ")
            )
        })
    }

    fn check_value(&self, name: &str, value: &str) -> Result<(), String> {
        let Some(def) = self.0.attribute(name) else {
            return Ok(());
        };
        if def.values.is_empty() {
            // Free text matches anything; numbers and addresses must be ones the attribute can carry.
            if value.ends_with('*') {
                return Ok(());
            }
            return self
                .0
                .encode_value(def, value)
                .map(|_| ())
                .map_err(|e| format!("{value:?} can never be a value of {}: {e}", def.name));
        }
        if value.chars().all(|c| c.is_ascii_digit()) {
            return Ok(());
        }
        let known = |v: &str| match v.strip_suffix('*') {
            Some(prefix) => def.values.values().any(|n| n.starts_with(prefix)),
            None => self.0.value_number(def, v).is_some(),
        };
        if known(value) {
            return Ok(());
        }
        // Close names first, then the first few.
        let lower = value.to_ascii_lowercase();
        let mut names: Vec<&str> = def
            .values
            .values()
            .map(String::as_str)
            .filter(|n| n.vendor_free_close(&lower))
            .collect();
        if names.is_empty() {
            names = def.values.values().map(String::as_str).take(12).collect();
            Err(format!(
                "{name} has no value {value:?}; its values include {}",
                names.join(", ")
            ))
        } else {
            Err(format!(
                "{name} has no value {value:?}; did you mean {}?",
                names.join(", ")
            ))
        }
    }
}

/// A cheap closeness test for suggestions: same name ignoring case and one edit of length, or
/// one name containing the other.
trait Close {
    fn vendor_free_close(&self, lower: &str) -> bool;
}

impl Close for str {
    fn vendor_free_close(&self, lower: &str) -> bool {
        let me = self.to_ascii_lowercase();
        if me.len().abs_diff(lower.len()) > 2 {
            return false;
        }
        let diff = me
            .bytes()
            .zip(lower.bytes())
            .filter(|(a, b)| a != b)
            .count()
            + me.len().abs_diff(lower.len());
        diff <= 2 || levenshtein_at_most_2(&me, lower)
    }
}

fn levenshtein_at_most_2(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn dict() -> Dictionary {
        Dictionary::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("dictionaries/dictionary"))
            .unwrap()
    }

    #[test]
    fn names_values_and_prefixes() {
        let d = dict();
        let c = DictionaryCatalog(&d);
        assert!(c.check_name("Service-Type").is_ok());
        assert!(c.check_name("service-type").is_ok());
        let e = c.check_name("Servce-Type").unwrap_err();
        assert!(e.contains("Service-Type"), "{e}");
        assert!(c.check_value("Service-Type", "Administrative-User").is_ok());
        assert!(c.check_value("Service-Type", "Admin*").is_ok());
        assert!(c.check_value("Service-Type", "6").is_ok());
        assert!(c.check_value("Service-Type", "Administrativ-User").is_err());
        assert!(c.check_value("Service-Type", "Nope*").is_err());
        assert!(c.check_value("NAS-Identifier", "anything at all").is_ok());
        assert!(c.check_name("User-Password").is_err());
        assert!(c.check_value("NAS-Port", "abc").is_err());
        assert!(c.check_value("NAS-Port", "10101").is_ok());
        assert!(c.check_value("NAS-IP-Address", "1.2.3.999").is_err());
        assert!(c.check_value("NAS-IP-Address", "10.1.2.3").is_ok());
        let e = c.check_value("NAS-Port-Type", "Ethernt").unwrap_err();
        assert!(e.contains("did you mean Ethernet"), "{e}");
    }
}
