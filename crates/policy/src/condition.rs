//! Rule conditions (`when` / `unless` tables): parsed and checked once at load into a compact form
//! that evaluates without allocating.

use std::ops::Range;

use toml::de::DeTable;

use crate::catalog::check_request;
use crate::model::{AuthMethod, CertFacts, Facts};
use crate::walk::{Diag, Val};

/// NAS-Port-Type value names (RFC 2865, 4603, 4437, 7155 and the FreeRADIUS dictionary spelling).
pub(crate) const NAS_PORT_TYPES: &[&str] = &[
    "Async",
    "Sync",
    "ISDN",
    "ISDN-V120",
    "ISDN-V110",
    "Virtual",
    "PIAFS",
    "HDLC-Clear-Channel",
    "X.25",
    "X.75",
    "G.3-Fax",
    "SDSL",
    "ADSL-CAP",
    "ADSL-DMT",
    "IDSL",
    "Ethernet",
    "xDSL",
    "Cable",
    "Wireless-Other",
    "Wireless-802.11",
    "Token-Ring",
    "FDDI",
    "Wireless-CDMA2000",
    "Wireless-UMTS",
    "Wireless-1X-EV",
    "IAPP",
    "FTTP",
    "Wireless-802.16",
    "Wireless-802.20",
    "Wireless-802.22",
    "PPPoA",
    "PPPoEoA",
    "PPPoEoE",
    "PPPoEoVLAN",
    "PPPoEoQinQ",
    "xPON",
    "Wireless-XGP",
];

pub(crate) const CONDITION_KEYS: &[&str] = &[
    "method",
    "known",
    "mac_local",
    "device.<label>",
    "nas",
    "nas_vendor",
    "nas_port_type",
    "ssid",
    "user",
    "request.\"Attr-Name\"",
    "time",
    "days",
    "cert.<fact>",
];

pub(crate) const CERT_KEYS: &[&str] = &[
    "issuer",
    "subject",
    "san",
    "fingerprint",
    "key_algorithm",
    "key_bits_below",
    "expires_within_days",
];

/// Key algorithm names a certificate fact can carry (anything else is reported as its OID).
pub(crate) const KEY_ALGORITHMS: &[&str] = &["rsa", "ec", "ed25519", "ed448"];

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A string pattern: exact, or a prefix when written with a trailing `*` (`"icu-*"`; `"*"` alone
/// matches any value that is present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    Exact(Box<str>),
    Prefix(Box<str>),
}

impl Pattern {
    fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("empty string can never match".into());
        }
        match s.find('*') {
            None => Ok(Self::Exact(s.into())),
            Some(i) if i == s.len() - 1 => Ok(Self::Prefix(s[..i].into())),
            Some(_) => Err(format!(
                "`{s}`: `*` is only allowed at the end of a pattern (prefix match)"
            )),
        }
    }

    #[inline]
    fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(e) => value == &**e,
            Self::Prefix(p) => value.starts_with(&**p),
        }
    }
}

/// Any of several patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnyOf(Box<[Pattern]>);

impl AnyOf {
    #[inline]
    fn matches(&self, value: Option<&str>) -> bool {
        value.is_some_and(|v| self.0.iter().any(|p| p.matches(v)))
    }
}

/// A time-of-day window in minutes: `start` inclusive, `end` exclusive; wraps past midnight when
/// `start > end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeRange {
    start: u16,
    end: u16,
}

impl TimeRange {
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let bad =
            || format!("bad time range `{s}` (expected HH:MM-HH:MM, for example 07:00-19:00)");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let start = parse_clock(a.trim(), false).ok_or_else(bad)?;
        let end = parse_clock(b.trim(), true).ok_or_else(bad)?;
        if start == end {
            return Err(format!(
                "time range `{s}` is empty (start equals end); use 00:00-24:00 for all day"
            ));
        }
        Ok(Self { start, end })
    }

    #[inline]
    fn contains(self, minute: u16) -> bool {
        if self.start < self.end {
            self.start <= minute && minute < self.end
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// Parses `HH:MM` into minutes of the day; `24:00` only when `allow_24` (as the end of a range).
pub(crate) fn parse_clock(s: &str, allow_24: bool) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    match (h, m) {
        (24, 0) if allow_24 => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Parses a day name (`mon` .. `sun`) into 0 = Monday .. 6 = Sunday.
pub(crate) fn parse_day(s: &str) -> Option<u8> {
    let lower = s.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == lower)
        .and_then(|i| u8::try_from(i).ok())
}

/// Parses `mon`, or a range `mon-fri` (wrapping: `fri-mon`), into a bit set of weekdays.
fn parse_days(s: &str) -> Result<u8, String> {
    let bad = || {
        format!(
            "bad day `{s}` (expected mon, tue, wed, thu, fri, sat, sun or a range like mon-fri)"
        )
    };
    match s.split_once('-') {
        None => parse_day(s).map(|d| 1 << d).ok_or_else(bad),
        Some((a, b)) => {
            let a = parse_day(a.trim()).ok_or_else(bad)?;
            let b = parse_day(b.trim()).ok_or_else(bad)?;
            let mut set = 0u8;
            let mut d = a;
            loop {
                set |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
            Ok(set)
        }
    }
}

/// A compiled condition block: every present condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Conditions {
    methods: Option<u8>,
    known: Option<bool>,
    mac_local: Option<bool>,
    days: Option<u8>,
    times: Option<Box<[TimeRange]>>,
    nas_port_type: Option<AnyOf>,
    ssid: Option<AnyOf>,
    nas: Option<AnyOf>,
    nas_vendor: Option<AnyOf>,
    user: Option<AnyOf>,
    device: Box<[(Box<str>, AnyOf)]>,
    request: Box<[(Box<str>, AnyOf)]>,
    cert: Option<Box<CertConditions>>,
}

/// Conditions on the client certificate (EAP-TLS); each present one must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CertConditions {
    issuer: Option<AnyOf>,
    subject: Option<AnyOf>,
    /// Holds when any SAN matches.
    san: Option<AnyOf>,
    /// Lowercase hex without separators.
    fingerprint: Option<AnyOf>,
    key_algorithm: Option<AnyOf>,
    /// Holds when `key_bits < n`.
    key_bits_below: Option<u32>,
    /// Holds when `days_to_expiry <= n`.
    expires_within_days: Option<i64>,
}

impl CertConditions {
    fn matches(&self, cert: &CertFacts) -> bool {
        let strings = [
            (&self.issuer, cert.issuer.as_str()),
            (&self.subject, cert.subject.as_str()),
            (&self.fingerprint, cert.fingerprint_sha256.as_str()),
            (&self.key_algorithm, cert.key_algorithm.as_str()),
        ];
        for (cond, value) in strings {
            if let Some(c) = cond
                && !c.matches(Some(value))
            {
                return false;
            }
        }
        if let Some(c) = &self.san
            && !cert.sans.iter().any(|s| c.matches(Some(s)))
        {
            return false;
        }
        if let Some(n) = self.key_bits_below
            && cert.key_bits >= n
        {
            return false;
        }
        if let Some(n) = self.expires_within_days
            && cert.days_to_expiry > n
        {
            return false;
        }
        true
    }
}

impl Conditions {
    /// True when the block has no condition at all (it always holds).
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub(crate) fn request_attributes(&self) -> impl Iterator<Item = &str> {
        self.request.iter().map(|(k, _)| &**k)
    }

    /// Whether every condition holds for `facts`. A condition on something the request does not carry
    /// (no SSID, no MAC, an unknown device's labels) does not hold.
    pub(crate) fn matches(&self, facts: &Facts) -> bool {
        if let Some(m) = self.methods
            && m & facts.method.bit() == 0
        {
            return false;
        }
        if let Some(k) = self.known
            && k != facts.device.is_some()
        {
            return false;
        }
        if let Some(l) = self.mac_local
            && facts.mac_local() != Some(l)
        {
            return false;
        }
        if let Some(d) = self.days
            && (facts.weekday > 6 || d & (1 << facts.weekday) == 0)
        {
            return false;
        }
        if let Some(times) = &self.times
            && !times.iter().any(|t| t.contains(facts.minute_of_day))
        {
            return false;
        }
        let checks = [
            (&self.nas_port_type, facts.nas_port_type.as_deref()),
            (&self.ssid, facts.ssid.as_deref()),
            (&self.nas, Some(facts.nas.as_str())),
            (&self.nas_vendor, Some(facts.nas_vendor.as_str())),
            (&self.user, facts.user.as_deref()),
        ];
        for (cond, value) in checks {
            if let Some(c) = cond
                && !c.matches(value)
            {
                return false;
            }
        }
        if !self.device.is_empty() {
            let Some(labels) = &facts.device else {
                return false;
            };
            for (key, c) in self.device.iter() {
                if !c.matches(labels.get(&**key).map(String::as_str)) {
                    return false;
                }
            }
        }
        if let Some(c) = &self.cert {
            match &facts.cert {
                Some(cert) if c.matches(cert) => {}
                _ => return false,
            }
        }
        // An attribute the request carries several times (Cisco-AVPair) matches when any of its
        // values does.
        self.request
            .iter()
            .all(|(key, c)| match facts.request.get(&**key) {
                Some(values) if !values.is_empty() => values.iter().any(|v| c.matches(Some(v))),
                _ => c.matches(None),
            })
    }
}

/// Parses a `when` or `unless` table of a rule; `context` names it in messages (`rule "x" when`).
pub(crate) fn parse_conditions(
    diag: &mut Diag<'_>,
    table: &DeTable<'_>,
    context: &str,
) -> Conditions {
    let mut c = Conditions::default();
    let mut device: Vec<(Box<str>, AnyOf)> = Vec::new();
    let mut request: Vec<(Box<str>, AnyOf)> = Vec::new();
    let mut cert = CertConditions::default();
    for (key, v) in table.iter() {
        let k: &str = key.get_ref();
        match k {
            "method" => c.methods = parse_methods(diag, v),
            "known" => c.known = diag.bool(k, v),
            "mac_local" => c.mac_local = diag.bool(k, v),
            "nas" => c.nas = any_of(diag, k, v),
            "nas_vendor" => c.nas_vendor = any_of(diag, k, v),
            "ssid" => c.ssid = any_of(diag, k, v),
            "user" => c.user = any_of(diag, k, v),
            "nas_port_type" => c.nas_port_type = parse_port_types(diag, v),
            "time" => c.times = parse_times(diag, v),
            "days" => c.days = parse_day_set(diag, v),
            "device" => keyed(diag, "device", v, &mut device),
            "request" => keyed(diag, "request", v, &mut request),
            "cert" => {
                if let Some(t) = diag.table("cert", v) {
                    for (ck, cv) in t.iter() {
                        cert_condition(diag, ck.get_ref(), &ck.span(), cv, &mut cert);
                    }
                }
            }
            _ => {
                if let Some(label) = k.strip_prefix("device.") {
                    keyed_one(diag, "device", label, &key.span(), v, &mut device);
                } else if let Some(attr) = k.strip_prefix("request.") {
                    keyed_one(diag, "request", attr, &key.span(), v, &mut request);
                } else if let Some(fact) = k.strip_prefix("cert.") {
                    cert_condition(diag, fact, &key.span(), v, &mut cert);
                } else {
                    diag.unknown_key(key, context, CONDITION_KEYS);
                }
            }
        }
    }
    c.device = device.into_boxed_slice();
    c.request = request.into_boxed_slice();
    if cert != CertConditions::default() {
        c.cert = Some(Box::new(cert));
    }
    c
}

/// One `cert.<fact>` condition into `out`; errors name the key or value at fault.
fn cert_condition(
    diag: &mut Diag<'_>,
    fact: &str,
    span: &Range<usize>,
    v: &Val<'_>,
    out: &mut CertConditions,
) {
    let full = format!("cert.{fact}");
    let given_twice = match fact {
        "issuer" => out.issuer.is_some(),
        "subject" => out.subject.is_some(),
        "san" => out.san.is_some(),
        "fingerprint" => out.fingerprint.is_some(),
        "key_algorithm" => out.key_algorithm.is_some(),
        "key_bits_below" => out.key_bits_below.is_some(),
        "expires_within_days" => out.expires_within_days.is_some(),
        _ => {
            let allowed: Vec<String> = CERT_KEYS.iter().map(|k| format!("cert.{k}")).collect();
            let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
            diag.error(
                span,
                format!(
                    "unknown certificate condition `{full}` (expected one of: {})",
                    allowed.join(", ")
                ),
            );
            return;
        }
    };
    if given_twice {
        diag.error(span, format!("`{full}` is given twice"));
        return;
    }
    match fact {
        "issuer" => out.issuer = any_of(diag, &full, v),
        "subject" => out.subject = any_of(diag, &full, v),
        "san" => out.san = any_of(diag, &full, v),
        "fingerprint" => out.fingerprint = parse_fingerprints(diag, &full, v),
        "key_algorithm" => out.key_algorithm = parse_key_algorithms(diag, &full, v),
        "key_bits_below" => {
            out.key_bits_below = diag.int(&full, v).and_then(|n| match u32::try_from(n) {
                Ok(n @ 1..=65536) => Some(n),
                _ => {
                    diag.error(
                        &v.span(),
                        format!("`{full}` must be between 1 and 65536, found {n}"),
                    );
                    None
                }
            });
        }
        _ => {
            out.expires_within_days = diag.int(&full, v).and_then(|n| {
                if (0..=36500).contains(&n) {
                    Some(n)
                } else {
                    diag.error(
                        &v.span(),
                        format!("`{full}` must be between 0 and 36500 days, found {n}"),
                    );
                    None
                }
            });
        }
    }
}

/// SHA-256 fingerprints as written (`AB:CD:...` or `abcd...`, a trailing `*` for a prefix),
/// compared in lowercase hex without separators.
fn parse_fingerprints(diag: &mut Diag<'_>, key: &str, v: &Val<'_>) -> Option<AnyOf> {
    let items = diag.str_or_list(key, v)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (s, span) in items {
        let (body, prefix) = match s.strip_suffix('*') {
            Some(b) => (b, true),
            None => (s, false),
        };
        let hex: String = body
            .chars()
            .filter(|c| *c != ':')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let well_formed = hex.chars().all(|c| c.is_ascii_hexdigit())
            && if prefix {
                hex.len() <= 64
            } else {
                hex.len() == 64
            };
        if !well_formed || (hex.is_empty() && !prefix) {
            diag.error(
                &span,
                format!(
                    "`{key}`: `{s}` is not a SHA-256 fingerprint (64 hex digits, colons allowed, or a prefix ending in `*`)"
                ),
            );
            ok = false;
        } else if prefix {
            out.push(Pattern::Prefix(hex.into()));
        } else {
            out.push(Pattern::Exact(hex.into()));
        }
    }
    ok.then(|| AnyOf(out.into_boxed_slice()))
}

fn parse_key_algorithms(diag: &mut Diag<'_>, key: &str, v: &Val<'_>) -> Option<AnyOf> {
    let items = patterns(diag, key, v)?;
    let mut ok = true;
    for (p, text, span) in &items {
        let is_oid = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.');
        let known = match p {
            Pattern::Exact(e) => KEY_ALGORITHMS.contains(&&**e) || is_oid(e),
            Pattern::Prefix(pre) => {
                KEY_ALGORITHMS.iter().any(|a| a.starts_with(&**pre)) || is_oid(pre)
            }
        };
        if !known {
            let hint = KEY_ALGORITHMS
                .iter()
                .find(|a| a.eq_ignore_ascii_case(text))
                .map(|a| format!(" (did you mean `{a}`?)"))
                .unwrap_or_default();
            diag.error(
                span,
                format!(
                    "unknown key algorithm `{text}`{hint} (expected {} or an OID)",
                    KEY_ALGORITHMS.join(", ")
                ),
            );
            ok = false;
        }
    }
    ok.then(|| AnyOf(items.into_iter().map(|(p, _, _)| p).collect()))
}

/// The patterns of a condition, each with the text as written and its span.
fn patterns<'v>(
    diag: &mut Diag<'_>,
    key: &str,
    v: &'v Val<'_>,
) -> Option<Vec<(Pattern, &'v str, Range<usize>)>> {
    let items = diag.str_or_list(key, v)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (s, span) in items {
        match Pattern::parse(s) {
            Ok(p) => out.push((p, s, span)),
            Err(msg) => {
                diag.error(&span, format!("`{key}`: {msg}"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn any_of(diag: &mut Diag<'_>, key: &str, v: &Val<'_>) -> Option<AnyOf> {
    patterns(diag, key, v).map(|ps| AnyOf(ps.into_iter().map(|(p, _, _)| p).collect()))
}

fn keyed(diag: &mut Diag<'_>, what: &str, v: &Val<'_>, out: &mut Vec<(Box<str>, AnyOf)>) {
    let Some(t) = diag.table(what, v) else {
        return;
    };
    for (key, v) in t.iter() {
        keyed_one(diag, what, key.get_ref(), &key.span(), v, out);
    }
}

fn keyed_one(
    diag: &mut Diag<'_>,
    what: &str,
    name: &str,
    span: &Range<usize>,
    v: &Val<'_>,
    out: &mut Vec<(Box<str>, AnyOf)>,
) {
    if name.is_empty() {
        diag.error(span, format!("empty name after `{what}.`"));
        return;
    }
    if out.iter().any(|(k, _)| &**k == name) {
        diag.error(span, format!("`{what}.{name}` is given twice"));
        return;
    }
    let full = format!("{what}.{name}");
    let Some(items) = patterns(diag, &full, v) else {
        return;
    };
    if what == "request" {
        let values: Vec<(&str, Range<usize>)> = items
            .iter()
            .map(|(_, text, span)| (*text, span.clone()))
            .collect();
        if !check_request(diag, name, span, &values) {
            return;
        }
    }
    out.push((
        name.into(),
        AnyOf(items.into_iter().map(|(p, _, _)| p).collect()),
    ));
}

fn parse_methods(diag: &mut Diag<'_>, v: &Val<'_>) -> Option<u8> {
    let items = diag.str_or_list("method", v)?;
    let mut set = 0u8;
    let mut ok = true;
    for (s, span) in items {
        match s.parse::<AuthMethod>() {
            Ok(m) => set |= m.bit(),
            Err(e) => {
                diag.error(&span, e.to_string());
                ok = false;
            }
        }
    }
    ok.then_some(set)
}

fn parse_port_types(diag: &mut Diag<'_>, v: &Val<'_>) -> Option<AnyOf> {
    let items = patterns(diag, "nas_port_type", v)?;
    let mut ok = true;
    for (p, text, span) in &items {
        let known = match p {
            Pattern::Exact(e) => NAS_PORT_TYPES.contains(&&**e),
            Pattern::Prefix(pre) => NAS_PORT_TYPES.iter().any(|t| t.starts_with(&**pre)),
        };
        if !known {
            let hint = NAS_PORT_TYPES
                .iter()
                .find(|t| t.eq_ignore_ascii_case(text))
                .map(|t| format!(" (did you mean `{t}`?)"))
                .unwrap_or_else(|| {
                    " (expected a NAS-Port-Type value name like Ethernet or Wireless-802.11)".into()
                });
            diag.error(span, format!("unknown NAS-Port-Type `{text}`{hint}"));
            ok = false;
        }
    }
    ok.then(|| AnyOf(items.into_iter().map(|(p, _, _)| p).collect()))
}

fn parse_times(diag: &mut Diag<'_>, v: &Val<'_>) -> Option<Box<[TimeRange]>> {
    let items = diag.str_or_list("time", v)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (s, span) in items {
        match TimeRange::parse(s) {
            Ok(t) => out.push(t),
            Err(msg) => {
                diag.error(&span, msg);
                ok = false;
            }
        }
    }
    ok.then(|| out.into_boxed_slice())
}

fn parse_day_set(diag: &mut Diag<'_>, v: &Val<'_>) -> Option<u8> {
    let items = diag.str_or_list("days", v)?;
    let mut set = 0u8;
    let mut ok = true;
    for (s, span) in items {
        match parse_days(s) {
            Ok(d) => set |= d,
            Err(msg) => {
                diag.error(&span, msg);
                ok = false;
            }
        }
    }
    ok.then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges() {
        let day = TimeRange::parse("07:00-19:00").unwrap();
        assert!(day.contains(7 * 60));
        assert!(day.contains(18 * 60 + 59));
        assert!(!day.contains(19 * 60));
        assert!(!day.contains(6 * 60 + 59));
        let night = TimeRange::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 60));
        assert!(night.contains(0));
        assert!(night.contains(5 * 60 + 59));
        assert!(!night.contains(6 * 60));
        assert!(!night.contains(12 * 60));
        let all = TimeRange::parse("00:00-24:00").unwrap();
        assert!(all.contains(0) && all.contains(1439));
        for bad in [
            "7-19",
            "07:00",
            "25:00-26:00",
            "07:60-08:00",
            "24:00-06:00",
            "08:00-08:00",
            "a:b-c:d",
        ] {
            assert!(TimeRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn day_sets() {
        assert_eq!(parse_days("mon").unwrap(), 0b1);
        assert_eq!(parse_days("mon-fri").unwrap(), 0b1_1111);
        assert_eq!(parse_days("sat-sun").unwrap(), 0b110_0000);
        assert_eq!(parse_days("fri-mon").unwrap(), 0b111_0001);
        assert_eq!(parse_days("Sun").unwrap(), 0b100_0000);
        assert!(parse_days("monday").is_err());
    }

    #[test]
    fn patterns() {
        assert!(Pattern::parse("icu-*").unwrap().matches("icu-3"));
        assert!(!Pattern::parse("icu-*").unwrap().matches("ward-3"));
        assert!(Pattern::parse("*").unwrap().matches("anything"));
        assert!(Pattern::parse("icu").unwrap().matches("icu"));
        assert!(!Pattern::parse("icu").unwrap().matches("icu-3"));
        assert!(Pattern::parse("i*u").is_err());
        assert!(Pattern::parse("").is_err());
    }
}
