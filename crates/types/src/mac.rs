//! MAC addresses: every spelling switches send (PROTOCOL-NOTES "MAB") parsed into one value.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A 48-bit MAC address. Parsing accepts every spelling seen from switches; `Display` gives the
/// RFC 3580 canonical form `AA-BB-CC-DD-EE-FF`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MacAddr([u8; 6]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address: {reason}")]
pub struct MacParseError {
    pub reason: &'static str,
}

fn err(reason: &'static str) -> MacParseError {
    MacParseError { reason }
}

impl MacAddr {
    pub const fn new(octets: [u8; 6]) -> Self {
        Self(octets)
    }

    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Locally administered (for example randomised by a phone): bit 1 of the first octet,
    /// so the second hex digit is 2, 6, A or E.
    pub const fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Lower-case hex with no separators (`aabbccddeeff`), the usual MAB User-Name.
    pub fn to_bare_lower(&self) -> String {
        let mut s = String::with_capacity(12);
        for b in self.0 {
            push_hex(&mut s, b, false);
        }
        s
    }

    /// Lower-case, colon separated (`aa:bb:cc:dd:ee:ff`).
    pub fn to_colon_lower(&self) -> String {
        let mut s = String::with_capacity(17);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            push_hex(&mut s, *b, false);
        }
        s
    }

    /// Parses any of the spellings in PROTOCOL-NOTES: bare 12 hex digits, groups of 1 or 2 hex
    /// digits separated by `:` or `-` (Cisco group size 1 included), groups of 4 separated by `.`
    /// or `-` (Cisco, Huawei), and groups of 6 separated by `-` or `:`. Case does not matter;
    /// surrounding whitespace is ignored. Mixed separators are refused.
    pub fn parse(input: &str) -> Result<Self, MacParseError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.len() > 24 {
            return Err(err("too long"));
        }
        let mut sep: Option<char> = None;
        for c in s.chars() {
            if c.is_ascii_hexdigit() {
                continue;
            }
            if !matches!(c, ':' | '-' | '.') {
                return Err(err("unexpected character"));
            }
            match sep {
                None => sep = Some(c),
                Some(p) if p == c => {}
                Some(_) => return Err(err("mixed separators")),
            }
        }
        let groups: Vec<&str> = match sep {
            None => {
                if s.len() != 12 {
                    return Err(err("expected 12 hex digits"));
                }
                return Ok(Self(hex_to_octets(s)?));
            }
            Some(c) => s.split(c).collect(),
        };
        if groups.iter().any(|g| g.is_empty()) {
            return Err(err("empty group"));
        }
        match groups.len() {
            6 => {
                if groups.iter().any(|g| g.len() > 2) {
                    return Err(err("a group of a six-group MAC has more than two digits"));
                }
                let mut out = [0u8; 6];
                for (o, g) in out.iter_mut().zip(&groups) {
                    *o = u8::from_str_radix(g, 16).map_err(|_| err("bad hex"))?;
                }
                Ok(Self(out))
            }
            12 => {
                // Cisco "group size 1": one hex digit per group.
                if groups.iter().any(|g| g.len() != 1) {
                    return Err(err("a twelve-group MAC has one digit per group"));
                }
                let joined: String = groups.concat();
                Ok(Self(hex_to_octets(&joined)?))
            }
            3 | 2 => {
                let want = 12 / groups.len();
                if groups.iter().any(|g| g.len() != want) {
                    return Err(err("groups of unequal length"));
                }
                let joined: String = groups.concat();
                Ok(Self(hex_to_octets(&joined)?))
            }
            _ => Err(err("wrong number of groups")),
        }
    }
}

fn hex_to_octets(s: &str) -> Result<[u8; 6], MacParseError> {
    let b = s.as_bytes();
    if b.len() != 12 {
        return Err(err("expected 12 hex digits"));
    }
    let mut out = [0u8; 6];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = hex_val(b[2 * i])?;
        let lo = hex_val(b[2 * i + 1])?;
        *o = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_val(c: u8) -> Result<u8, MacParseError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(err("bad hex")),
    }
}

fn push_hex(s: &mut String, b: u8, upper: bool) {
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    let t = if upper { UPPER } else { LOWER };
    s.push(char::from(t[usize::from(b >> 4)]));
    s.push(char::from(t[usize::from(b & 0x0f)]));
}

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MacAddr {
    type Error = MacParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MacAddr> for String {
    fn from(m: MacAddr) -> String {
        m.to_string()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(17);
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                s.push('-');
            }
            push_hex(&mut s, *b, true);
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANT: [u8; 6] = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];

    #[test]
    fn every_spelling_in_protocol_notes_parses_to_the_same_mac() {
        for s in [
            "aabbccddeeff",
            "AABBCCDDEEFF",
            "aa:bb:cc:dd:ee:ff",
            "AA-BB-CC-DD-EE-FF",
            "aabb.ccdd.eeff",
            "AABB.CCDD.EEFF",
            "aabbcc-ddeeff",
            "aabb-ccdd-eeff",
            "aabbcc:ddeeff",
            " aa:bb:cc:dd:ee:ff ",
            "a:a:b:b:c:c:d:d:e:e:f:f",
        ] {
            assert_eq!(MacAddr::parse(s).map(|m| m.octets()), Ok(WANT), "{s}");
        }
    }

    #[test]
    fn cisco_group_size_one_and_short_groups() {
        let m = MacAddr::parse("0:8:0:0:2:b:8:6:1:9:d:e").unwrap();
        assert_eq!(m.octets(), [0x08, 0x00, 0x2b, 0x86, 0x19, 0xde]);
        // Leading zeros dropped in a six-group spelling.
        let m = MacAddr::parse("8:0:2b:86:19:de").unwrap();
        assert_eq!(m.octets(), [0x08, 0x00, 0x2b, 0x86, 0x19, 0xde]);
    }

    #[test]
    fn refuses_what_is_not_a_mac() {
        for s in [
            "",
            "aabbccddeef",
            "aabbccddeeff0",
            "gg:bb:cc:dd:ee:ff",
            "aa:bb-cc:dd:ee:ff",
            "aa::bb:cc:dd:ee",
            "aab.bcc.dde.eff",
            "aaa:bb:cc:dd:ee:ff",
            "aabb.ccdd",
            "0:8:0:0:2:b:8:6:1:9:d:ee",
            "aa bb cc dd ee ff",
            "ａａbbccddeeff",
        ] {
            assert!(MacAddr::parse(s).is_err(), "{s:?} should not parse");
        }
    }

    #[test]
    fn canonical_forms() {
        let m = MacAddr::new(WANT);
        assert_eq!(m.to_string(), "AA-BB-CC-DD-EE-FF");
        assert_eq!(m.to_bare_lower(), "aabbccddeeff");
        assert_eq!(m.to_colon_lower(), "aa:bb:cc:dd:ee:ff");
    }

    #[test]
    fn locally_administered_bit() {
        for (s, la) in [
            ("02:00:00:00:00:01", true),
            ("06:00:00:00:00:01", true),
            ("0a:00:00:00:00:01", true),
            ("DE:00:00:00:00:01", true),
            ("00:00:00:00:00:01", false),
            ("01:00:00:00:00:01", false),
            ("ac:de:48:00:11:22", false),
        ] {
            assert_eq!(
                MacAddr::parse(s).unwrap().is_locally_administered(),
                la,
                "{s}"
            );
        }
    }
}
