//! Printable values: wire octets to text (logs, policies), text to wire octets (config),
//! and whole-packet descriptions with secrets redacted.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{AttrDef, AttrType, Dictionary};
use crate::attr::{
    VENDOR_SPECIFIC, parse_tagged_integer, parse_tagged_string, tagged_integer, tagged_string,
};
use crate::packet::MAX_ATTR_VALUE_LEN;
use crate::{Packet, parse_vsa};

/// Shown instead of a sensitive value.
pub const REDACTED: &str = "<redacted>";

/// Why a printable value cannot be encoded for an attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("'{text}' is not a valid {kind} value for {attr}")]
    Invalid {
        attr: String,
        kind: String,
        text: String,
    },
    #[error("value for {attr} is {len} octets, more than 253")]
    TooLong { attr: String, len: usize },
    #[error("{attr} has type {kind}, which cannot be given as text")]
    Unsupported { attr: String, kind: String },
}

fn hex(raw: &[u8]) -> String {
    let mut s = String::with_capacity(2 + raw.len() * 2);
    s.push_str("0x");
    for b in raw {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// UTF-8 shown as is, control characters and invalid octets escaped as `\xNN`,
/// backslash as `\\`.
fn printable(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(s, "\\x{:02x}", u32::from(c));
                }
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn format_date(secs: u32) -> String {
    let secs = i64::from(secs);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (UTC).
fn parse_date(s: &str) -> Option<u32> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.splitn(3, '-').map(str::parse::<u32>);
    let (y, mo, d) = (dp.next()?.ok()?, dp.next()?.ok()?, dp.next()?.ok()?);
    let mut tp = time.splitn(3, ':').map(str::parse::<u32>);
    let (h, mi, se) = (tp.next()?.ok()?, tp.next()?.ok()?, tp.next()?.ok()?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let secs = days_from_civil(i64::from(y), mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    u32::try_from(secs).ok()
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Splits an optional `:N:` tag prefix (N 0..=31) off printable text.
fn split_tag(text: &str) -> (Option<u8>, &str) {
    if let Some(rest) = text.strip_prefix(':')
        && let Some((n, value)) = rest.split_once(':')
        && let Ok(tag) = n.parse::<u8>()
        && tag <= 0x1F
    {
        return (Some(tag), value);
    }
    (None, text)
}

impl Dictionary {
    /// A printable value: integers through VALUE names, addresses in their usual
    /// notation, strings as UTF-8 with non-printables escaped, octets as 0x-hex; a
    /// non-zero tag is shown as a `:N:` prefix. Values of the wrong size fall back to
    /// 0x-hex. Hidden values (encrypt != 0) are shown as their ciphertext in hex: use
    /// [`Dictionary::describe`] for logs, which redacts them.
    pub fn format_value(&self, def: &AttrDef, raw: &[u8]) -> String {
        if def.encrypt != 0 {
            return hex(raw);
        }
        let (tag, body) = match def.kind {
            AttrType::Integer if def.has_tag => match parse_tagged_integer(raw) {
                Some((tag, v)) => (tag, self.format_integer(def, u64::from(v))),
                None => return hex(raw),
            },
            AttrType::String if def.has_tag => {
                let (tag, rest) = parse_tagged_string(raw);
                (tag, printable(rest))
            }
            _ => (0, self.format_plain(def, raw)),
        };
        if tag == 0 {
            body
        } else {
            format!(":{tag}:{body}")
        }
    }

    fn format_integer(&self, def: &AttrDef, v: u64) -> String {
        match u32::try_from(v).ok().and_then(|n| def.values.get(&n)) {
            Some(name) => name.clone(),
            None => v.to_string(),
        }
    }

    fn format_plain(&self, def: &AttrDef, raw: &[u8]) -> String {
        match (def.kind, raw.len()) {
            (AttrType::Integer, 4)
            | (AttrType::Short, 2)
            | (AttrType::Byte, 1)
            | (AttrType::Integer64, 8) => {
                let v = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                self.format_integer(def, v)
            }
            (AttrType::Signed, 4) => {
                i32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]).to_string()
            }
            (AttrType::Date, 4) => {
                format_date(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
            }
            (AttrType::IpAddr | AttrType::ComboIp, 4) => {
                Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string()
            }
            (AttrType::Ipv6Addr | AttrType::ComboIp, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(raw);
                Ipv6Addr::from(a).to_string()
            }
            (AttrType::Ipv6Prefix, 2..=18) if raw[1] <= 128 => {
                let mut a = [0u8; 16];
                a[..raw.len() - 2].copy_from_slice(&raw[2..]);
                format!("{}/{}", Ipv6Addr::from(a), raw[1])
            }
            (AttrType::Ipv4Prefix, 6) if raw[1] <= 32 => {
                format!(
                    "{}/{}",
                    Ipv4Addr::new(raw[2], raw[3], raw[4], raw[5]),
                    raw[1]
                )
            }
            (AttrType::Ether, 6) => raw
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
            (AttrType::Ifid, 8) => raw
                .chunks(2)
                .map(|c| format!("{:02x}{:02x}", c[0], c[1]))
                .collect::<Vec<_>>()
                .join(":"),
            (AttrType::String, _) => printable(raw),
            _ => hex(raw),
        }
    }

    /// Parses a printable value (config, policies) into wire octets for `def`: VALUE
    /// names or numbers for integers, dotted/colon addresses, `0x` hex for octets (other
    /// octets text is taken literally), `YYYY-MM-DDTHH:MM:SSZ` or seconds for dates. A
    /// `:N:` prefix sets the tag of a tagged attribute. Hidden attributes get their
    /// plaintext: hiding needs the packet's authenticator and happens later.
    pub fn encode_value(&self, def: &AttrDef, text: &str) -> Result<Vec<u8>, ValueError> {
        let invalid = || ValueError::Invalid {
            attr: def.name.clone(),
            kind: format!("{:?}", def.kind),
            text: text.to_string(),
        };
        let (tag, body) = if def.has_tag {
            split_tag(text)
        } else {
            (None, text)
        };
        let number = |max: u64| -> Result<u64, ValueError> {
            let n = match u32::try_from(max).ok().and(self.value_number(def, body)) {
                Some(n) => u64::from(n),
                None => parse_u64(body).ok_or_else(invalid)?,
            };
            if n > max { Err(invalid()) } else { Ok(n) }
        };
        let out = match def.kind {
            AttrType::Integer if def.has_tag => {
                tagged_integer(tag.unwrap_or(0), number(0xFF_FFFF)? as u32).to_vec()
            }
            AttrType::Integer => (number(u64::from(u32::MAX))? as u32).to_be_bytes().to_vec(),
            AttrType::Short => (number(0xFFFF)? as u16).to_be_bytes().to_vec(),
            AttrType::Byte => vec![number(0xFF)? as u8],
            AttrType::Integer64 => number(u64::MAX)?.to_be_bytes().to_vec(),
            AttrType::Signed => body
                .parse::<i32>()
                .map_err(|_| invalid())?
                .to_be_bytes()
                .to_vec(),
            AttrType::Date => match parse_date(body) {
                Some(s) => s.to_be_bytes().to_vec(),
                None => (number(u64::from(u32::MAX))? as u32).to_be_bytes().to_vec(),
            },
            AttrType::IpAddr => body
                .parse::<Ipv4Addr>()
                .map_err(|_| invalid())?
                .octets()
                .to_vec(),
            AttrType::Ipv6Addr => body
                .parse::<Ipv6Addr>()
                .map_err(|_| invalid())?
                .octets()
                .to_vec(),
            AttrType::ComboIp => match body.parse::<Ipv4Addr>() {
                Ok(a) => a.octets().to_vec(),
                Err(_) => body
                    .parse::<Ipv6Addr>()
                    .map_err(|_| invalid())?
                    .octets()
                    .to_vec(),
            },
            AttrType::Ipv6Prefix => {
                let (addr, len) = body.split_once('/').ok_or_else(invalid)?;
                let addr = addr.parse::<Ipv6Addr>().map_err(|_| invalid())?;
                let len = len
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= 128)
                    .ok_or_else(invalid)?;
                let mut out = vec![0, len];
                out.extend_from_slice(&addr.octets()[..usize::from(len).div_ceil(8)]);
                out
            }
            AttrType::Ipv4Prefix => {
                let (addr, len) = body.split_once('/').ok_or_else(invalid)?;
                let addr = addr.parse::<Ipv4Addr>().map_err(|_| invalid())?;
                let len = len
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= 32)
                    .ok_or_else(invalid)?;
                let mut out = vec![0, len];
                out.extend_from_slice(&addr.octets());
                out
            }
            AttrType::Ether => {
                let digits: String = body
                    .chars()
                    .filter(|c| !matches!(c, ':' | '-' | '.'))
                    .collect();
                let out = unhex(&format!("0x{digits}")).ok_or_else(invalid)?;
                if out.len() != 6 {
                    return Err(invalid());
                }
                out
            }
            AttrType::Ifid => {
                let digits: String = body.chars().filter(|c| *c != ':').collect();
                let out = unhex(&format!("0x{digits}")).ok_or_else(invalid)?;
                if out.len() != 8 {
                    return Err(invalid());
                }
                out
            }
            AttrType::String if def.has_tag => {
                tagged_string(tag.unwrap_or(0), body.as_bytes(), false)
            }
            AttrType::String => body.as_bytes().to_vec(),
            AttrType::Octets => unhex(body).unwrap_or_else(|| body.as_bytes().to_vec()),
            _ => unhex(body).ok_or_else(|| ValueError::Unsupported {
                attr: def.name.clone(),
                kind: format!("{:?}", def.kind),
            })?,
        };
        if out.len() > MAX_ATTR_VALUE_LEN {
            return Err(ValueError::TooLong {
                attr: def.name.clone(),
                len: out.len(),
            });
        }
        Ok(out)
    }

    /// Name/value pairs of every attribute, for logs. Vendor-Specific attributes are
    /// resolved through their vendor (unknown ones as `Attr-26.<vendor>.<type>`, opaque
    /// payloads as `Attr-26`); unknown standard attributes as `Attr-<type>`. Passwords,
    /// MS-CHAP data, keys and every hidden attribute print as `<redacted>`.
    pub fn describe(&self, packet: &Packet) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(packet.attributes.len());
        for a in &packet.attributes {
            if a.typ == VENDOR_SPECIFIC {
                self.describe_vsa(&a.value, &mut out);
                continue;
            }
            match self.by_code(None, a.typ) {
                Some(def) => out.push((def.name.clone(), self.safe_value(def, &a.value))),
                // User-Password, CHAP-Password, Tunnel-Password stay hidden even
                // with a dictionary that lacks them.
                None if matches!(a.typ, 2 | 3 | 69) => {
                    out.push((format!("Attr-{}", a.typ), REDACTED.to_string()));
                }
                None => out.push((format!("Attr-{}", a.typ), hex(&a.value))),
            }
        }
        out
    }

    fn safe_value(&self, def: &AttrDef, raw: &[u8]) -> String {
        if def.is_sensitive() {
            REDACTED.to_string()
        } else {
            self.format_value(def, raw)
        }
    }

    fn describe_vsa(&self, value: &[u8], out: &mut Vec<(String, String)>) {
        let Some((vendor, mut area)) = parse_vsa(value) else {
            out.push(("Attr-26".to_string(), hex(value)));
            return;
        };
        if self.vendor(vendor).is_some_and(|v| !v.is_rfc_format()) {
            out.push((format!("Attr-26.{vendor}"), hex(&value[4..])));
            return;
        }
        // parse_vsa validated the sub-attribute layout.
        while let [typ, len, ..] = area {
            let len = usize::from(*len);
            let sub = area.get(2..len).unwrap_or_default();
            match self.by_code(Some(vendor), *typ) {
                Some(def) => out.push((def.name.clone(), self.safe_value(def, sub))),
                None => out.push((format!("Attr-26.{vendor}.{typ}"), hex(sub))),
            }
            area = area.get(len..).unwrap_or_default();
        }
    }
}
