//! The policy's public vocabulary: segments, rules, the facts a decision is made from and the decision.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use wardgate_types::{Labels, MacAddr, SegmentName, VlanId};

use crate::condition::Conditions;

/// A network segment a device can be placed in: a VLAN and/or per-vendor role, and its session limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: SegmentName,
    pub vlan: Option<VlanId>,
    /// NAS vendor (`aruba`, `hp`, `cisco`, ...) -> role, ACL or policy name for that vendor.
    pub roles: BTreeMap<String, String>,
    /// Sent as Filter-Id (RFC 2865) when set.
    pub filter_id: Option<String>,
    /// Session-Timeout in seconds.
    pub session_timeout: Option<u32>,
}

impl Segment {
    /// The role, ACL or policy name to send to a NAS of `vendor`, if the segment names one.
    pub fn role_for(&self, vendor: &str) -> Option<&str> {
        self.roles.get(vendor).map(String::as_str)
    }
}

/// How a request authenticated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AuthMethod {
    /// MAC Authentication Bypass: the MAC address is the identity.
    Mab,
    EapTls,
    Peap,
    Ttls,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [Self::Mab, Self::EapTls, Self::Peap, Self::Ttls];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mab => "mab",
            Self::EapTls => "eap-tls",
            Self::Peap => "peap",
            Self::Ttls => "ttls",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            Self::Mab => 1,
            Self::EapTls => 2,
            Self::Peap => 4,
            Self::Ttls => 8,
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown authentication method `{0}` (expected one of: mab, eap-tls, peap, ttls)")]
pub struct UnknownAuthMethod(pub String);

impl FromStr for AuthMethod {
    type Err = UnknownAuthMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownAuthMethod(s.to_owned()))
    }
}

/// Whether a rule decides the request or only records what it would have decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum RuleMode {
    #[default]
    Enforce,
    /// Evaluated and reported as a [`MonitorHit`]; evaluation goes on with the next rule.
    Monitor,
}

impl RuleMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Monitor => "monitor",
        }
    }
}

/// What a rule assigns, as written in the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    Segment(SegmentName),
    Reject,
    /// The policy's quarantine segment.
    Quarantine,
}

/// What happens to a request no rule matches.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum DefaultAction {
    #[default]
    Deny,
    Quarantine,
}

impl DefaultAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Quarantine => "quarantine",
        }
    }
}

/// One rule of the ordered, first-match rule list.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) mode: RuleMode,
    pub(crate) outcome: RuleOutcome,
    pub(crate) when: Conditions,
    pub(crate) unless: Option<Conditions>,
    /// The outcome resolved at load (quarantine to the quarantine segment) and its reason code.
    pub(crate) decided: Outcome,
    pub(crate) reason: ReasonCode,
    pub(crate) file: PathBuf,
    pub(crate) line: usize,
}

impl Rule {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    pub fn mode(&self) -> RuleMode {
        self.mode
    }
    pub fn outcome(&self) -> &RuleOutcome {
        &self.outcome
    }
    /// The policy file the rule is written in.
    pub fn file(&self) -> &Path {
        &self.file
    }
    /// The line of the rule's `[[rule]]` header.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// Everything a decision may depend on, gathered by the server for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub method: AuthMethod,
    pub mac: Option<MacAddr>,
    pub user: Option<String>,
    /// `Some` (with the device's labels) when the MAC is known in the inventory. Shared with the
    /// server's inventory snapshot, so building facts copies no labels.
    pub device: Option<std::sync::Arc<Labels>>,
    /// The NAS client's configured name.
    pub nas: String,
    /// The NAS client's configured vendor (`aruba`, `cisco`, ...).
    pub nas_vendor: String,
    /// NAS-Port-Type as its dictionary value name (`Ethernet`, `Wireless-802.11`).
    pub nas_port_type: Option<String>,
    /// The SSID, taken from Called-Station-Id (`AA-BB-CC-DD-EE-FF:SSID`).
    pub ssid: Option<String>,
    /// Local time of day in minutes, 0..1440.
    pub minute_of_day: u16,
    /// Local day of the week, 0 = Monday .. 6 = Sunday.
    pub weekday: u8,
    /// Request attributes named by [`crate::Policy::request_attributes`], as printable strings.
    /// Every instance, in packet order (an attribute may appear several times, like Cisco-AVPair).
    pub request: BTreeMap<String, Vec<String>>,
    /// EAP-TLS: the client's (leaf) certificate; `None` for other methods.
    pub cert: Option<CertFacts>,
}

/// What the policy may know of a client certificate (EAP-TLS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertFacts {
    /// The subject DN as text (`CN=ws-042.hospital.example, O=...`).
    pub subject: String,
    /// The issuer DN as text.
    pub issuer: String,
    /// Subject alternative names: DNS names, e-mail addresses, URIs and IP addresses as text.
    pub sans: Vec<String>,
    /// The serial number in hex.
    pub serial: String,
    /// SHA-256 of the certificate's DER, lowercase hex without separators.
    pub fingerprint_sha256: String,
    /// Whole days until notAfter (negative once expired), from the server's clock.
    pub days_to_expiry: i64,
    /// `rsa`, `ec`, `ed25519`, `ed448`, or the public key algorithm's OID for anything else.
    pub key_algorithm: String,
    /// The key size in bits (RSA modulus, EC curve size; 256 for Ed25519).
    pub key_bits: u32,
}

impl Facts {
    /// Facts for a request with nothing but a method and a NAS; the rest is filled in by the caller.
    pub fn new(method: AuthMethod, nas: impl Into<String>, nas_vendor: impl Into<String>) -> Self {
        Self {
            method,
            mac: None,
            user: None,
            device: None,
            nas: nas.into(),
            nas_vendor: nas_vendor.into(),
            nas_port_type: None,
            ssid: None,
            minute_of_day: 0,
            weekday: 0,
            request: BTreeMap::new(),
            cert: None,
        }
    }

    pub fn is_known(&self) -> bool {
        self.device.is_some()
    }

    /// Whether the MAC is locally administered (randomized or made up); `None` without a MAC.
    pub fn mac_local(&self) -> Option<bool> {
        self.mac.map(|m| m.is_locally_administered())
    }
}

/// The result of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accept into this segment (a quarantine outcome is the quarantine segment).
    Segment(SegmentName),
    Reject,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Segment(s) => write!(f, "segment {s}"),
            Self::Reject => f.write_str("reject"),
        }
    }
}

/// Why a decision came out the way it did. The codes of [`ReasonCode::as_str`] are stable: they go to
/// logs and the audit trail.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReasonCode {
    RuleMatched,
    RuleRejected,
    RuleQuarantined,
    DefaultDeny,
    DefaultQuarantine,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 5] = [
        Self::RuleMatched,
        Self::RuleRejected,
        Self::RuleQuarantined,
        Self::DefaultDeny,
        Self::DefaultQuarantine,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RuleMatched => "rule-matched",
            Self::RuleRejected => "rule-reject",
            Self::RuleQuarantined => "rule-quarantine",
            Self::DefaultDeny => "default-deny",
            Self::DefaultQuarantine => "default-quarantine",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A monitor-mode rule that matched: what it would have assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorHit {
    pub rule: String,
    pub would: Outcome,
}

/// A policy decision: what the request gets, which rule decided (`None` = the default), why, and the
/// monitor-mode rules that matched before the deciding one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub rule: Option<String>,
    pub reason: ReasonCode,
    pub monitored: Vec<MonitorHit>,
}
