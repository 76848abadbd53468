//! Reading `[[segment]]` tables: VLAN, per-vendor roles, Filter-Id and session timeout.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use wardgate_types::{SegmentName, VlanId};

use crate::error::Loc;
use crate::model::Segment;
use crate::walk::{Diag, Val, check_name};

const SEGMENT_KEYS: &[&str] = &[
    "name",
    "description",
    "vlan",
    "roles",
    "filter_id",
    "session_timeout",
];

/// The most octets of value a RADIUS attribute carries (255 less type and length): Filter-Id.
const MAX_FILTER_ID: usize = 253;
/// The most octets of value a vendor-specific attribute carries (253 less the vendor id and the
/// vendor type and length): every vendor role.
const MAX_ROLE: usize = 247;

/// Refuses a value the reply could not carry: empty, or longer than `max` octets.
fn check_wire_len(value: &str, max: usize, carrier: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > max {
        return Err(format!(
            "is {} octets long; {carrier} carries at most {max}",
            value.len()
        ));
    }
    Ok(())
}

/// What one `[[segment]]` says, before cross-file checks.
pub(crate) struct SegmentDraft {
    pub segment: Segment,
    pub loc: Loc,
}

pub(crate) fn read_segment(
    diag: &mut Diag<'_>,
    span: &Range<usize>,
    t: &DeTable<'_>,
) -> Option<SegmentDraft> {
    let mut name = None;
    let mut vlan = None;
    let mut roles = BTreeMap::new();
    let mut filter_id = None;
    let mut session_timeout = None;
    let mut ok = true;
    for (key, v) in t.iter() {
        let k: &str = key.get_ref();
        match k {
            "name" => {
                name = diag
                    .str(k, v)
                    .filter(|s| check_name(diag, &v.span(), "segment", s))
                    .map(str::to_owned);
                ok &= name.is_some();
            }
            "description" => ok &= diag.str(k, v).is_some(),
            "vlan" => {
                vlan = diag.int(k, v).and_then(|n| {
                    match u16::try_from(n).ok().and_then(|n| VlanId::new(n).ok()) {
                        Some(id) => Some(id),
                        None => {
                            diag.error(
                                &v.span(),
                                format!("VLAN id {n} is out of range (1..=4094)"),
                            );
                            None
                        }
                    }
                });
                ok &= vlan.is_some();
            }
            "roles" => ok &= read_roles(diag, v, &mut roles),
            "filter_id" => {
                filter_id = diag.str(k, v).map(str::to_owned);
                if let Some(f) = &filter_id
                    && let Err(msg) = check_wire_len(f, MAX_FILTER_ID, "a Filter-Id attribute")
                {
                    diag.error(&v.span(), format!("`filter_id` {msg}"));
                    filter_id = None;
                }
                ok &= filter_id.is_some();
            }
            "session_timeout" => {
                session_timeout = read_timeout(diag, v);
                ok &= session_timeout.is_some();
            }
            _ => {
                diag.unknown_key(key, "[[segment]]", SEGMENT_KEYS);
                ok = false;
            }
        }
    }
    let Some(name) = name else {
        if ok {
            diag.error(span, "[[segment]] has no `name`");
        }
        return None;
    };
    if ok && vlan.is_none() && roles.is_empty() && filter_id.is_none() {
        diag.error(
            span,
            format!("segment `{name}` assigns nothing: give it a `vlan`, `roles` or `filter_id`"),
        );
    }
    Some(SegmentDraft {
        segment: Segment {
            name: SegmentName::new(name),
            vlan,
            roles,
            filter_id,
            session_timeout,
        },
        loc: diag.loc(span),
    })
}

fn read_roles(diag: &mut Diag<'_>, v: &Val<'_>, roles: &mut BTreeMap<String, String>) -> bool {
    let Some(t) = diag.table("roles", v) else {
        return false;
    };
    let mut ok = true;
    for (key, v) in t.iter() {
        let vendor: &str = key.get_ref();
        let vendor_ok = !vendor.is_empty()
            && vendor
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !vendor_ok {
            diag.error(
                &key.span(),
                format!(
                    "bad vendor `{vendor}` in `roles` (lower-case, like aruba, hp, cisco, cisco-wlc)"
                ),
            );
            ok = false;
            continue;
        }
        match diag.str(&format!("roles.{vendor}"), v) {
            Some(role) => match check_wire_len(role, MAX_ROLE, "a vendor-specific attribute") {
                Ok(()) => {
                    roles.insert(vendor.to_owned(), role.to_owned());
                }
                Err(msg) => {
                    diag.error(&v.span(), format!("`roles.{vendor}` {msg}"));
                    ok = false;
                }
            },
            None => ok = false,
        }
    }
    ok
}

/// A session timeout: seconds as an integer, or a duration string like "8h", "30m", "1h30m", "1d".
fn read_timeout(diag: &mut Diag<'_>, v: &Val<'_>) -> Option<u32> {
    let secs = match v.get_ref() {
        DeValue::String(s) => parse_duration(s),
        _ => diag.int("session_timeout", v),
    };
    match secs.and_then(|s| u32::try_from(s).ok()).filter(|&s| s > 0) {
        Some(s) => Some(s),
        None => {
            diag.error(
                &v.span(),
                "bad `session_timeout` (expected seconds > 0, or a duration like \"8h\", \"30m\", \"1h30m\")",
            );
            None
        }
    }
}

fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(i64::from(d))?,
            );
        } else {
            let unit = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return None,
            };
            total = total.checked_add(number.take()?.checked_mul(unit)?)?;
        }
    }
    match number {
        None => Some(total),
        Some(_) => None, // a trailing number without a unit
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("8h"), Some(28_800));
        assert_eq!(parse_duration("30m"), Some(1_800));
        assert_eq!(parse_duration("1h30m"), Some(5_400));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("45s"), Some(45));
        assert_eq!(parse_duration("45"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("8x"), None);
        assert_eq!(parse_duration(""), None);
    }
}
