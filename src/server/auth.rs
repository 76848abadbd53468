//! Request handling on the authentication port: authenticity checks (Message-Authenticator,
//! BlastRADIUS flags), Status-Server, MAB, the policy decision, the reply and its audit record.

use super::{Engine, State, eap_tls};
use crate::config::Client;
use crate::eap_mab;
use crate::mab::{self, Kind};
use crate::reply::render_segment;
use crate::server::stats::Stats;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use wardgate_policy::{AuthMethod, Decision, Facts, Outcome};
use wardgate_radius::{Code, MessageAuthenticator, Packet, attr, check_message_authenticator};
use wardgate_store::AuditRecord;
use wardgate_types::MacAddr;

/// Why an authentication-port datagram gets no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    UnexpectedCode,
    BadAuthenticator,
    MissingMessageAuthenticator,
    ProxyStateWithoutMessageAuthenticator,
}

impl Drop {
    /// A stable name, for rate-limiting warnings.
    pub fn reason(self) -> &'static str {
        match self {
            Drop::UnexpectedCode => "unexpected-code",
            Drop::BadAuthenticator => "bad-authenticator",
            Drop::MissingMessageAuthenticator => "missing-message-authenticator",
            Drop::ProxyStateWithoutMessageAuthenticator => {
                "proxy-state-without-message-authenticator"
            }
        }
    }

    /// What an operator should check.
    pub fn hint(self) -> &'static str {
        match self {
            Drop::UnexpectedCode => "a packet type this port does not take",
            Drop::BadAuthenticator => {
                "the authenticator does not verify: is the shared secret the same on the NAS and here?"
            }
            Drop::MissingMessageAuthenticator => {
                "no Message-Authenticator: turn it on at the NAS (BlastRADIUS, CVE-2024-3596), or set require_message_authenticator = false for this client"
            }
            Drop::ProxyStateWithoutMessageAuthenticator => {
                "Proxy-State without Message-Authenticator, refused by limit_proxy_state (BlastRADIUS)"
            }
        }
    }

    pub fn count(self, stats: &Stats) {
        Stats::bump(match self {
            Drop::UnexpectedCode => &stats.dropped_unexpected_code,
            Drop::BadAuthenticator => &stats.dropped_bad_authenticator,
            Drop::MissingMessageAuthenticator => &stats.dropped_missing_message_authenticator,
            Drop::ProxyStateWithoutMessageAuthenticator => {
                &stats.dropped_proxy_state_without_message_authenticator
            }
        });
    }
}

/// Checks that a decoded Access-Request or Status-Server is authentic, as FreeRADIUS 3.2.9+
/// does: a wrong Message-Authenticator is always dropped; a missing one is dropped when EAP is
/// present, for Status-Server, when the client requires it, or when Proxy-State is present and
/// the client limits Proxy-State.
pub fn check_authentic(raw: &[u8], req: &Packet, client: &Client) -> Result<(), Drop> {
    match check_message_authenticator(raw, &client.secret, None) {
        MessageAuthenticator::Valid => Ok(()),
        MessageAuthenticator::Invalid => Err(Drop::BadAuthenticator),
        MessageAuthenticator::Absent => {
            if req.code == Code::STATUS_SERVER
                || req.attr(attr::EAP_MESSAGE).is_some()
                || client.require_message_authenticator
            {
                Err(Drop::MissingMessageAuthenticator)
            } else if client.limit_proxy_state && req.attr(attr::PROXY_STATE).is_some() {
                Err(Drop::ProxyStateWithoutMessageAuthenticator)
            } else {
                Ok(())
            }
        }
    }
}

/// A reply to encode, and the audit record to commit once it is known what was sent.
pub struct Answer {
    pub reply: Packet,
    pub audit: Option<AuditRecord>,
    pub known: bool,
}

/// Handles one authentic Access-Request or Status-Server; None: drop it silently.
pub fn handle(
    state: &State,
    engine: &Engine,
    client: &Client,
    src: SocketAddr,
    req: &Packet,
) -> Option<Answer> {
    if req.code == Code::STATUS_SERVER {
        Stats::bump(&state.stats.status_server);
        let mut reply = Packet::reply_to(req, Code::ACCESS_ACCEPT);
        reply.add(attr::REPLY_MESSAGE, b"Wardgate is alive".to_vec());
        return Some(Answer {
            reply,
            audit: None,
            known: false,
        });
    }
    let kind = mab::classify(req);
    let mut eap_reply = None;
    // EAP-TLS: the keys for MS-MPPE-*-Key, and the certificate for the audit detail.
    let mut tls_keys = None;
    let mut cert_detail = None;
    let mut cert_facts = None;
    let gate = match kind {
        Kind::Mab { mac, via_eap: true } => match eap_md5_step(client, mac, req) {
            eap_mab::Step::Challenge { eap, state: st } => {
                return Some(challenge(state, client, req, Some(mac), &eap, st));
            }
            eap_mab::Step::Verified { eap_id } => {
                eap_reply = Some(eap_id);
                let now_secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let st = req.attr(attr::STATE).unwrap_or_default();
                if state.used_eap_states.first_use(st, now_secs) {
                    Gate::Passed {
                        mac,
                        method: AuthMethod::Mab,
                        via: Some("eap-md5"),
                    }
                } else {
                    Gate::Refused {
                        mac: Some(mac),
                        method: "mab",
                        reason: "eap-state-replayed",
                        via: Some("eap-md5"),
                    }
                }
            }
            eap_mab::Step::Failed { eap_id, reason } => {
                eap_reply = Some(eap_id);
                Gate::Refused {
                    mac: Some(mac),
                    method: "mab",
                    reason: reason.reason_code(),
                    via: Some("eap-md5"),
                }
            }
        },
        Kind::Mab {
            mac,
            via_eap: false,
        } => match mab::check_password(req, mac, client.mab_password, &client.secret) {
            Ok(()) => Gate::Passed {
                mac,
                method: AuthMethod::Mab,
                via: None,
            },
            Err(f) => Gate::Refused {
                mac: Some(mac),
                method: "mab",
                reason: f.reason_code(),
                via: None,
            },
        },
        Kind::MabWithoutMac => Gate::Refused {
            mac: None,
            method: "mab",
            reason: "mab-no-mac",
            via: None,
        },
        Kind::Eap if let Some(config) = state.eap_tls.load_full() => {
            let calling = calling_mac(req);
            match eap_tls::round(state, &config, client, req) {
                eap_tls::Round::Discard => return None,
                eap_tls::Round::Challenge { eap, state: st } => {
                    return Some(challenge(state, client, req, calling, &eap, st.to_vec()));
                }
                eap_tls::Round::Authenticated { outcome, eap_id } => {
                    eap_reply = Some(eap_id);
                    let mut detail = eap_tls::certificate_detail(&outcome);
                    let now_unix = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                    cert_facts = eap_tls::cert_facts(&outcome, now_unix);
                    tls_keys = Some(outcome.keys);
                    match calling {
                        Some(mac) => {
                            cert_detail = Some(detail);
                            Gate::Passed {
                                mac,
                                method: AuthMethod::EapTls,
                                via: None,
                            }
                        }
                        None => {
                            if let serde_json::Value::Object(m) = &mut detail {
                                m.insert("error".into(), "no Calling-Station-Id MAC".into());
                            }
                            cert_detail = Some(detail);
                            Gate::Refused {
                                mac: None,
                                method: "eap-tls",
                                reason: "eap-tls-no-mac",
                                via: None,
                            }
                        }
                    }
                }
                eap_tls::Round::Refused {
                    reason,
                    eap_id,
                    error,
                } => {
                    eap_reply = Some(eap_id);
                    cert_detail = error.map(|e| serde_json::json!({ "error": e }));
                    Gate::Refused {
                        mac: calling,
                        method: "eap-tls",
                        reason,
                        via: None,
                    }
                }
            }
        }
        Kind::Eap => {
            // RFC 3579 2.6.3: a Reject in an EAP conversation carries EAP-Failure.
            eap_reply = req
                .concat(attr::EAP_MESSAGE)
                .and_then(|e| e.get(1).copied());
            Gate::Refused {
                // The endpoint is still known by the MAC the switch saw.
                mac: calling_mac(req),
                method: "eap",
                reason: "eap-method-not-enabled",
                via: None,
            }
        }
    };
    let mut outcome = decide(state, engine, client, req, gate, cert_facts);
    outcome.cert = cert_detail;
    // The Access-Accept, if the decision gives a segment and everything in it encodes.
    let accept = match &outcome.segment {
        Some(seg) => {
            let mut r = Packet::reply_to(req, Code::ACCESS_ACCEPT);
            render_segment(&mut r, seg, client);
            if let Some(id) = eap_reply {
                r.add_split(attr::EAP_MESSAGE, &eap_mab::success(id));
            }
            match &tls_keys {
                // RFC 2548: the MSK halves, salt-encrypted with this request's authenticator.
                Some(keys) => {
                    let salt = rand::random::<[u8; 2]>();
                    match keys.add_mppe_keys(&mut r, &client.secret, &req.authenticator, salt) {
                        Ok(()) => Some(r),
                        Err(e) => {
                            tracing::error!(nas = %client.name, "MS-MPPE keys cannot be encoded: {e}");
                            None
                        }
                    }
                }
                None => Some(r),
            }
        }
        None => None,
    };
    if accept.is_none() && outcome.segment.is_some() {
        outcome.segment = None;
        outcome.reason = "mppe-key-encode-error";
    }
    let mut reply = match accept {
        Some(r) => {
            Stats::bump(&state.stats.accepted);
            r
        }
        None => {
            Stats::bump(&state.stats.rejected);
            let mut r = Packet::reply_to(req, Code::ACCESS_REJECT);
            if let Some(id) = eap_reply {
                r.add_split(attr::EAP_MESSAGE, &eap_mab::failure(id));
            }
            r
        }
    };
    // RFC 2865 5.33: every Proxy-State, unmodified and in order.
    reply.copy_proxy_state(req);
    Some(Answer {
        reply,
        audit: Some(audit_record(engine, client, src, &outcome)),
        known: outcome.known,
    })
}

/// The MAC the switch saw, from Calling-Station-Id.
fn calling_mac(req: &Packet) -> Option<MacAddr> {
    req.attr(attr::CALLING_STATION_ID)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| MacAddr::parse(s).ok())
}

/// The EAP-MD5 step for MAB over EAP: the clock is read once here, the machine is pure.
fn eap_md5_step(client: &Client, mac: MacAddr, req: &Packet) -> eap_mab::Step {
    use rand::Rng;
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let binding = eap_mab::Binding {
        key: eap_mab::process_key(),
        mac,
        nas: &client.name,
        now_secs,
    };
    let eap = req.concat(attr::EAP_MESSAGE).unwrap_or_default();
    let machine = match eap_mab::EapMab::from_state(req.attr(attr::STATE), &binding) {
        Ok(m) => m,
        Err(reason) => {
            return eap_mab::Step::Failed {
                eap_id: eap.get(1).copied().unwrap_or(0),
                reason,
            };
        }
    };
    let mut fresh_challenge = [0u8; 16];
    rand::rng().fill(&mut fresh_challenge);
    let input = eap_mab::Input {
        binding,
        mode: client.mab_password,
        user_name: req
            .attr(attr::USER_NAME)
            .and_then(|v| std::str::from_utf8(v).ok()),
        fresh_challenge,
    };
    machine.handle(&eap, &input)
}

/// Access-Challenge carrying an EAP request (EAP-MD5 or EAP-TLS) and the State; not a decision,
/// so no audit row.
fn challenge(
    state: &State,
    client: &Client,
    req: &Packet,
    mac: Option<MacAddr>,
    eap: &[u8],
    st: Vec<u8>,
) -> Answer {
    tracing::debug!(nas = %client.name, mac = ?mac, eap_type = ?eap.get(4), "sent an EAP request in an Access-Challenge");
    Stats::bump(&state.stats.challenged);
    let mut reply = Packet::reply_to(req, Code::ACCESS_CHALLENGE);
    reply.add_split(attr::EAP_MESSAGE, eap);
    reply.add(attr::STATE, st);
    reply.copy_proxy_state(req);
    Answer {
        reply,
        audit: None,
        known: mac.is_some_and(|m| state.inventory.load().devices.contains_key(&m)),
    }
}

/// The outcome of authentication (MAB password by PAP, CHAP or EAP-MD5; EAP-TLS), before the
/// policy.
enum Gate {
    Passed {
        mac: MacAddr,
        method: AuthMethod,
        via: Option<&'static str>,
    },
    Refused {
        mac: Option<MacAddr>,
        method: &'static str,
        reason: &'static str,
        via: Option<&'static str>,
    },
}

/// What was decided for one request, with what the audit trail needs.
struct Handled<'e> {
    mac: Option<MacAddr>,
    user: Option<String>,
    method: &'static str,
    /// How the MAB password came ("eap-md5"), for the audit detail.
    via: Option<&'static str>,
    known: bool,
    decision: Option<Decision>,
    segment: Option<&'e wardgate_policy::Segment>,
    reason: &'static str,
    /// EAP-TLS: the client certificate (or the failure), for the audit detail.
    cert: Option<serde_json::Value>,
}

fn decide<'e>(
    state: &State,
    engine: &'e Engine,
    client: &Client,
    req: &Packet,
    gate: Gate,
    cert: Option<wardgate_policy::CertFacts>,
) -> Handled<'e> {
    let user = req
        .attr(attr::USER_NAME)
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let inventory = state.inventory.load();
    let (mac, method, via) = match gate {
        Gate::Passed { mac, method, via } => (mac, method, via),
        Gate::Refused {
            mac,
            method,
            reason,
            via,
        } => {
            return Handled {
                known: mac.is_some_and(|m| inventory.devices.contains_key(&m)),
                mac,
                user,
                method,
                via,
                decision: None,
                segment: None,
                reason,
                cert: None,
            };
        }
    };
    // EAP-TLS: the device is found by the MAC the switch saw, for now; by certificate identity
    // (SAN, CN or fingerprint) is issue 3's next step.
    let device = inventory.devices.get(&mac).cloned();
    let known = device.is_some();
    let (minute_of_day, weekday) = state.clock.get();
    let facts = Facts {
        method,
        mac: Some(mac),
        user: user.clone(),
        device,
        nas: client.name.clone(),
        nas_vendor: client.vendor.clone(),
        nas_port_type: engine.format_attr(&state.dict, req, None, attr::NAS_PORT_TYPE),
        ssid: req
            .attr(attr::CALLED_STATION_ID)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(ssid_from_called_station),
        minute_of_day,
        weekday,
        request: engine.request_facts(&state.dict, req),
        cert,
    };
    let decision = engine.policy.evaluate(&facts);
    let segment = match &decision.outcome {
        Outcome::Segment(name) => engine.policy.segment(name.as_str()),
        Outcome::Reject => None,
    };
    let reason = decision.reason.as_str();
    Handled {
        mac: Some(mac),
        user,
        method: method.as_str(),
        via,
        known,
        segment,
        reason,
        decision: Some(decision),
        cert: None,
    }
}

fn audit_record(engine: &Engine, client: &Client, src: SocketAddr, o: &Handled<'_>) -> AuditRecord {
    let monitored: Vec<serde_json::Value> = o
        .decision
        .iter()
        .flat_map(|d| d.monitored.iter())
        .map(|h| {
            let would = match &h.would {
                Outcome::Segment(s) => s.as_str().to_string(),
                Outcome::Reject => "reject".to_string(),
            };
            tracing::info!(
                rule = %h.rule,
                would = %would,
                nas = %client.name,
                mac = o.mac.map(|m| m.to_string()).unwrap_or_default(),
                "monitor-mode rule {} would assign {would}",
                h.rule
            );
            serde_json::json!({ "rule": h.rule, "would": would })
        })
        .collect();
    AuditRecord {
        time_ms: now_ms(),
        kind: "auth".into(),
        nas: client.name.clone(),
        nas_addr: src.ip().to_string(),
        mac: o.mac.map(|m| m.to_string()),
        user: o.user.clone(),
        method: o.method.into(),
        rule: o.decision.as_ref().and_then(|d| d.rule.clone()),
        policy_version: engine.policy.version().to_string(),
        segment: o.segment.map(|s| s.name.to_string()),
        vlan: o.segment.and_then(|s| s.vlan).map(|v| i64::from(v.get())),
        result: if o.segment.is_some() {
            "accept"
        } else {
            "reject"
        }
        .into(),
        reason: o.reason.into(),
        detail: audit_detail(&monitored, o.via, o.cert.as_ref()),
    }
}

/// The audit `detail` JSON: monitor-mode hits and how the password came (`"eap": "eap-md5"`).
fn audit_detail(
    monitored: &[serde_json::Value],
    via: Option<&str>,
    cert: Option<&serde_json::Value>,
) -> Option<String> {
    let mut d = serde_json::Map::new();
    if !monitored.is_empty() {
        d.insert(
            "monitor".into(),
            serde_json::Value::from(monitored.to_vec()),
        );
    }
    if let Some(v) = via {
        d.insert("eap".into(), serde_json::Value::from(v));
    }
    if let Some(c) = cert {
        d.insert("eap_tls".into(), c.clone());
    }
    (!d.is_empty()).then(|| serde_json::Value::Object(d).to_string())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The SSID in a Called-Station-Id: "AA-BB-CC-DD-EE-FF:SSID", "AA-BB-CC-DD-EE-FF-SSID" or
/// "APNAME:SSID" (Cisco WLC). A bare MAC (a wired port) has none.
pub fn ssid_from_called_station(s: &str) -> Option<String> {
    // Slice only on character boundaries: a NAS may send any UTF-8 here.
    let after_mac = |mac_len: usize| -> Option<String> {
        let (mac, rest) = (s.get(..mac_len)?, s.get(mac_len..)?);
        let ssid = rest.strip_prefix(':').or_else(|| rest.strip_prefix('-'))?;
        (MacAddr::parse(mac).is_ok() && !ssid.is_empty()).then(|| ssid.to_string())
    };
    if let Some(ssid) = after_mac(17).or_else(|| after_mac(12)) {
        return Some(ssid);
    }
    if MacAddr::parse(s).is_ok() {
        return None;
    }
    s.split_once(':')
        .map(|(_, ssid)| ssid.to_string())
        .filter(|x| !x.is_empty())
}

/// Request attributes the policy refers to, by dictionary name, in printable form.
/// Every instance of each, in packet order.
pub(super) fn request_facts(
    dict: &wardgate_radius::dictionary::Dictionary,
    wanted: &[(String, Option<u32>, u8)],
    req: &Packet,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, vendor, code) in wanted {
        let Some(def) = dict.by_code(*vendor, *code) else {
            continue;
        };
        let values: Vec<String> = match vendor {
            None => req
                .attrs(*code)
                .map(|raw| dict.format_value(def, raw))
                .collect(),
            Some(v) => req
                .vsas()
                .filter(|x| x.vendor == *v && x.typ == *code)
                .map(|x| dict.format_value(def, x.value))
                .collect(),
        };
        if !values.is_empty() {
            out.insert(name.clone(), values);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssid_spellings() {
        assert_eq!(
            ssid_from_called_station("00-11-22-33-44-55:Staff").as_deref(),
            Some("Staff")
        );
        assert_eq!(
            ssid_from_called_station("00-11-22-33-44-55-Guest WiFi").as_deref(),
            Some("Guest WiFi")
        );
        assert_eq!(
            ssid_from_called_station("001122334455:Staff").as_deref(),
            Some("Staff")
        );
        assert_eq!(
            ssid_from_called_station("ap-3-west:Clinical").as_deref(),
            Some("Clinical")
        );
        assert_eq!(ssid_from_called_station("00-11-22-33-44-55"), None);
        assert_eq!(ssid_from_called_station("00:11:22:33:44:55"), None);
        // Multi-byte characters where a MAC would end: no panic, no bogus SSID.
        assert_eq!(
            ssid_from_called_station("00-11-22-33-44-5\u{e9}:Guest").as_deref(),
            Some("Guest")
        );
        assert_eq!(
            ssid_from_called_station("3a1b2c3d4e5\u{e9}:Guest-long-name").as_deref(),
            Some("Guest-long-name")
        );
        assert_eq!(
            ssid_from_called_station(
                "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"
            ),
            None
        );
    }

    #[test]
    fn ssid_parsing_never_panics_on_any_utf8() {
        let alphabet = ['a', '0', ':', '-', '\u{e9}', '\u{1f600}', 'F', '.', ' '];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = usize::try_from(x % 30).unwrap();
            let mut y = x;
            for _ in 0..len {
                s.push(alphabet[usize::try_from(y % 9).unwrap()]);
                y /= 9;
                if y == 0 {
                    y = x.rotate_left(7);
                }
            }
            let _ = ssid_from_called_station(&s);
        }
    }
}
