//! EAP-TLS on the authentication port: building the rustls configuration from the `[eap_tls]`
//! files, and one RADIUS round of a conversation (Identity -> EAP-TLS Start, then the TLS rounds
//! kept in [`super::eap_sessions::EapSessions`] under a fresh random State each round). The
//! decision at the end is `auth`'s, like every other method's.

use super::State;
use super::eap_sessions::StateKey;
use crate::config::{Client, EapTlsFiles};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::time::Instant;
use wardgate_eap::packet::{Code as EapCode, EapType, Packet as EapPacket};
use wardgate_eap::tls::{
    EapTlsConfig, EapTlsState, FailureReason, Step, TlsOutcome, TlsSettings, build_server_config,
};
use wardgate_radius::{Packet, attr};

/// Reads the certificate, key, CA and CRL files and builds the EAP-TLS configuration. Messages
/// name file:line and key of the config entry at fault.
pub fn load(files: &EapTlsFiles) -> Result<EapTlsConfig, String> {
    let cert_chain: Vec<CertificateDer<'static>> =
        read_certs(&files.certificate).map_err(|e| format!("{}: {e}", files.at("certificate")))?;
    let key = PrivateKeyDer::from_pem_file(&files.private_key).map_err(|e| {
        format!(
            "{}: {}: no usable private key: {e}",
            files.at("private_key"),
            files.private_key.display()
        )
    })?;
    let mut client_roots = Vec::new();
    for f in &files.ca_files {
        client_roots.extend(read_certs(f).map_err(|e| format!("{}: {e}", files.at("ca_files")))?);
    }
    let mut crls = Vec::new();
    for f in &files.crl_files {
        let list: Vec<CertificateRevocationListDer<'static>> =
            CertificateRevocationListDer::pem_file_iter(f)
                .and_then(|i| i.collect::<Result<_, _>>())
                .map_err(|e| format!("{}: {}: {e}", files.at("crl_files"), f.display()))?;
        if list.is_empty() {
            return Err(format!(
                "{}: {}: no X509 CRL in it",
                files.at("crl_files"),
                f.display()
            ));
        }
        crls.extend(list);
    }
    let tls = build_server_config(TlsSettings {
        cert_chain,
        key,
        client_roots,
        crls,
        min_version: files.min_tls,
        max_version: files.max_tls,
        time: None,
    })
    .map_err(|e| format!("{}: {e}", files.at("certificate")))?;
    let mut config = EapTlsConfig::new(tls);
    config.fragment_size = files.fragment_size;
    Ok(config)
}

fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM CERTIFICATE in it", path.display()));
    }
    Ok(certs)
}

/// Where one round leaves the conversation.
pub enum Round {
    /// Send an Access-Challenge with this EAP request and State (no decision, no audit row).
    Challenge { eap: Vec<u8>, state: StateKey },
    /// Discard the request silently (RFC 3748: a Response for another Request).
    Discard,
    /// Authenticated: the policy decides. `eap_id` is the EAP-Success identifier.
    Authenticated {
        outcome: Box<TlsOutcome>,
        eap_id: u8,
    },
    /// Refused before the policy: Access-Reject carrying EAP-Failure with `eap_id`.
    Refused {
        reason: &'static str,
        eap_id: u8,
        error: Option<String>,
    },
}

/// One RADIUS round of EAP-TLS for a request whose EAP is not MAB.
pub fn round(state: &State, config: &EapTlsConfig, client: &Client, req: &Packet) -> Round {
    let eap = req.concat(attr::EAP_MESSAGE).unwrap_or_default();
    let eap_id = eap.get(1).copied().unwrap_or(0);
    let now = Instant::now();
    let step = match req.attr(attr::STATE) {
        None => {
            match EapPacket::decode(&eap) {
                Ok(p) if p.code == EapCode::Response && p.typ == Some(EapType::Identity) => {}
                _ => {
                    return Round::Refused {
                        reason: "eap-session-unknown",
                        eap_id,
                        error: Some("an EAP Response other than Identity without a State".into()),
                    };
                }
            }
            match EapTlsState::start(config, eap_id.wrapping_add(1)) {
                Ok(s) => s,
                Err(e) => {
                    return Round::Refused {
                        reason: "eap-tls-start-failed",
                        eap_id,
                        error: Some(e.to_string()),
                    };
                }
            }
        }
        Some(st) => {
            let conversation = <StateKey>::try_from(st)
                .ok()
                .and_then(|k| state.eap_sessions.take(&k, &client.name, now));
            let Some(conversation) = conversation else {
                return Round::Refused {
                    reason: "eap-session-unknown",
                    eap_id,
                    error: None,
                };
            };
            conversation.handle(&eap)
        }
    };
    let Step { state: next, reply } = step;
    match (next, reply) {
        (EapTlsState::Done(outcome), reply) => Round::Authenticated {
            outcome: Box::new(outcome),
            eap_id: reply.and_then(|r| r.get(1).copied()).unwrap_or(eap_id),
        },
        (EapTlsState::Failed(reason), reply) => Round::Refused {
            reason: match reason {
                FailureReason::PeerNak(_) => "eap-nak",
                ref r => r.code(),
            },
            eap_id: reply.and_then(|r| r.get(1).copied()).unwrap_or(eap_id),
            error: Some(reason.to_string()),
        },
        (going_on, Some(request)) => {
            let key = fresh_state();
            match state.eap_sessions.insert(key, &client.name, going_on, now) {
                Ok(()) => Round::Challenge {
                    eap: request,
                    state: key,
                },
                Err(refused) => {
                    tracing::warn!(
                        nas = %client.name,
                        in_flight = state.eap_sessions.len(),
                        "EAP-TLS conversation refused: {}",
                        refused.reason_code()
                    );
                    Round::Refused {
                        reason: refused.reason_code(),
                        eap_id,
                        error: None,
                    }
                }
            }
        }
        (going_on, None) => {
            // Discarded (wrong Identifier): the conversation stays under the State it had, so
            // the right Response can still come.
            if let Some(k) = req
                .attr(attr::STATE)
                .and_then(|s| StateKey::try_from(s).ok())
            {
                let _ = state.eap_sessions.insert(k, &client.name, going_on, now);
            }
            Round::Discard
        }
    }
}

fn fresh_state() -> StateKey {
    use rand::Rng;
    let mut k = [0u8; 16];
    rand::rng().fill(&mut k);
    k
}

/// The client certificate for the audit detail: subject, issuer, serial, SHA-256 fingerprint,
/// and the TLS version.
pub fn certificate_detail(outcome: &TlsOutcome) -> serde_json::Value {
    use sha2::Digest;
    let mut d = serde_json::Map::new();
    d.insert(
        "tls_version".into(),
        format!("{:?}", outcome.protocol_version).into(),
    );
    if let Some(leaf) = outcome.peer_certificates.first() {
        d.insert(
            "sha256".into(),
            hex::encode(sha2::Sha256::digest(leaf.as_ref())).into(),
        );
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf.as_ref()) {
            d.insert("subject".into(), cert.subject().to_string().into());
            d.insert("issuer".into(), cert.issuer().to_string().into());
            d.insert("serial".into(), cert.raw_serial_as_string().into());
        }
    }
    serde_json::Value::Object(d)
}

/// The client's leaf certificate as policy facts; `now_unix` (seconds) is the server's clock,
/// for the days to expiry. None without a certificate or when it does not parse.
pub fn cert_facts(outcome: &TlsOutcome, now_unix: i64) -> Option<wardgate_policy::CertFacts> {
    cert_facts_of(outcome.peer_certificates.first()?.as_ref(), now_unix)
}

/// [`cert_facts`] of one DER certificate.
fn cert_facts_of(leaf: &[u8], now_unix: i64) -> Option<wardgate_policy::CertFacts> {
    use sha2::Digest;
    use x509_parser::extensions::GeneralName;
    use x509_parser::public_key::PublicKey;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                    sans.push((*s).to_string());
                }
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        sans.push(std::net::Ipv4Addr::from(a).to_string());
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        sans.push(std::net::Ipv6Addr::from(a).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    let (key_algorithm, key_bits) = match (oid.as_str(), spki.parsed()) {
        // rsaEncryption, RSASSA-PSS
        ("1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10", Ok(k)) => {
            ("rsa".to_string(), k.key_size())
        }
        // id-ecPublicKey: the uncompressed point gives 528 for P-521.
        ("1.2.840.10045.2.1", Ok(k @ PublicKey::EC(_))) => {
            ("ec".to_string(), k.key_size().min(521))
        }
        ("1.3.101.112", _) => ("ed25519".to_string(), 256),
        ("1.3.101.113", _) => ("ed448".to_string(), 456),
        (_, Ok(k)) => (oid.clone(), k.key_size()),
        (_, Err(_)) => (oid.clone(), 0),
    };
    let not_after = cert.validity().not_after.timestamp();
    Some(wardgate_policy::CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        serial: hex::encode(cert.raw_serial()),
        fingerprint_sha256: hex::encode(sha2::Sha256::digest(leaf)),
        days_to_expiry: (not_after - now_unix).div_euclid(86_400),
        key_algorithm,
        key_bits: u32::try_from(key_bits).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType, SerialNumber};

    fn cert(key: &KeyPair, not_after_unix: i64) -> Vec<u8> {
        let mut p = CertificateParams::new(vec!["ws-042.hospital.example".to_string()]).unwrap();
        p.subject_alt_names
            .push(SanType::IpAddress("10.1.2.3".parse().unwrap()));
        p.distinguished_name
            .push(DnType::CommonName, "host/ws-042.hospital.example");
        p.serial_number = Some(SerialNumber::from(vec![0x5e, 0xed]));
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = time::OffsetDateTime::from_unix_timestamp(not_after_unix).unwrap();
        p.self_signed(key).unwrap().der().to_vec()
    }

    #[test]
    fn certificate_facts_from_the_leaf() {
        let now = 1_800_000_000;
        let der = cert(&KeyPair::generate().unwrap(), now + 10 * 86_400 + 3600);
        let f = cert_facts_of(&der, now).unwrap();
        assert_eq!(f.subject, "CN=host/ws-042.hospital.example");
        assert_eq!(f.issuer, f.subject);
        assert_eq!(f.sans, vec!["ws-042.hospital.example", "10.1.2.3"]);
        assert_eq!(f.serial, "5eed");
        assert_eq!(f.fingerprint_sha256.len(), 64);
        assert_eq!(
            f.fingerprint_sha256,
            f.fingerprint_sha256.to_ascii_lowercase()
        );
        assert_eq!(f.days_to_expiry, 10);
        assert_eq!((f.key_algorithm.as_str(), f.key_bits), ("ec", 256));
        // An hour past notAfter is day -1.
        let f = cert_facts_of(&der, now + 10 * 86_400 + 7200).unwrap();
        assert_eq!(f.days_to_expiry, -1);
        let p384 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let f = cert_facts_of(&cert(&p384, now + 86_400), now).unwrap();
        assert_eq!((f.key_algorithm.as_str(), f.key_bits), ("ec", 384));
        let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let f = cert_facts_of(&cert(&ed, now + 86_400), now).unwrap();
        assert_eq!((f.key_algorithm.as_str(), f.key_bits), ("ed25519", 256));
        assert!(cert_facts_of(b"not a certificate", now).is_none());
    }
}
