//! EAP-TLS end to end with the real eapol_test as switch and supplicant, TLS 1.2 and 1.3, and
//! certificates made by the test (rcgen): EAP-Success with MS-MPPE keys equal to eapol_test's own
//! MSK, the staff VLAN for a labelled workstation, the remediation VLAN for a certificate that
//! expires soon (certificate facts in the policy), failures (unknown CA, expired certificate,
//! revoked by a CRL file) with their audit rows, and EAP without Message-Authenticator dropped.

use crate::harness::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const MAC: &str = "3c:52:82:11:22:33";
const IDENTITY: &str = "host/ws-042.hospital.example";
const WORKSTATION_CSV: &str = "mac,role,sensitivity,location,environment,owner,asset_tag\n3c:52:82:11:22:33,workstation,none,ward-2,production,it,WS-042\n";

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn intermediate(name: &str, parent: &Issuer<'_, KeyPair>) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), parent).unwrap()
}

/// Writes a leaf certificate (with `chain` after it) and its key as `name`.pem and `name`.key.
fn leaf(
    dir: &Path,
    name: &str,
    cn: &str,
    eku: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
    chain: &[&str],
    expired: bool,
) -> (PathBuf, PathBuf) {
    leaf_with(dir, name, cn, eku, issuer, chain, |params| {
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
    })
}

/// [`leaf`] with the parameters adjusted by `adjust` (serial number, validity).
fn leaf_with(
    dir: &Path,
    name: &str,
    cn: &str,
    eku: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
    chain: &[&str],
    adjust: impl FnOnce(&mut CertificateParams),
) -> (PathBuf, PathBuf) {
    let mut params =
        CertificateParams::new(vec![cn.trim_start_matches("host/").to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![eku];
    adjust(&mut params);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    let mut pem = cert.pem();
    for c in chain {
        pem.push_str(c);
    }
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, pem).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

/// The deployment's PKI: a root CA that signs the server and the good client certificates.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
    /// The server's `ca_files` entry (client trust anchors).
    ca_pem: PathBuf,
    /// The same root, for the supplicant to verify the server with.
    supplicant_ca_pem: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca("Wardgate Test Hospital Root CA");
        let ca_pem = dir.path().join("ca.pem");
        std::fs::write(&ca_pem, ca.pem()).unwrap();
        let supplicant_ca_pem = dir.path().join("supplicant-ca.pem");
        std::fs::write(&supplicant_ca_pem, ca.pem()).unwrap();
        leaf(
            dir.path(),
            "server",
            "radius.hospital.example",
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
            &[],
            false,
        );
        Pki {
            dir,
            ca,
            ca_pem,
            supplicant_ca_pem,
        }
    }

    fn eap_tls_table(&self, fragment_size: usize) -> String {
        let d = self.dir.path();
        format!(
            "[eap_tls]\ncertificate = \"{}\"\nprivate_key = \"{}\"\nca_files = [\"{}\"]\nfragment_size = {fragment_size}\n",
            d.join("server.pem").display(),
            d.join("server.key").display(),
            self.ca_pem.display()
        )
    }

    fn server(&self, fragment_size: usize) -> Server {
        Server::start(Options {
            devices_csv: Some(WORKSTATION_CSV.to_string()),
            extra_config: self.eap_tls_table(fragment_size),
            ..Options::default()
        })
    }

    fn client(&self, name: &str) -> (PathBuf, PathBuf) {
        leaf(
            self.dir.path(),
            name,
            IDENTITY,
            ExtendedKeyUsagePurpose::ClientAuth,
            &self.ca,
            &[],
            false,
        )
    }
}

fn eapol_tls(s: &Server, pki: &Pki, client: &(PathBuf, PathBuf), tls13: bool) -> EapolRun {
    eapol_tls_fragments(s, pki, client, tls13, 1398)
}

/// `fragment_size`: the supplicant's own EAP-TLS fragment size (wpa_supplicant's default 1398).
fn eapol_tls_fragments(
    s: &Server,
    pki: &Pki,
    client: &(PathBuf, PathBuf),
    tls13: bool,
    fragment_size: usize,
) -> EapolRun {
    eapol_test(
        s,
        &format!(
            "eapol-tls-{}-{}.conf",
            client.0.file_stem().unwrap().to_string_lossy(),
            if tls13 { 13 } else { 12 }
        ),
        &format!(
            "  key_mgmt=IEEE8021X\n  eap=TLS\n  identity=\"{IDENTITY}\"\n  ca_cert=\"{}\"\n  client_cert=\"{}\"\n  private_key=\"{}\"\n  phase1=\"tls_disable_tlsv1_3={}\"\n  fragment_size={fragment_size}\n",
            pki.supplicant_ca_pem.display(),
            client.0.display(),
            client.1.display(),
            if tls13 { 0 } else { 1 }
        ),
        MAC,
        10,
        &[],
    )
}

fn assert_success_with_keys(r: &EapolRun, s: &Server) {
    assert!(r.ok, "{}\n--- server log:\n{}", r.output, s.log_text());
    assert!(r.output.contains("SUCCESS"), "{}", r.output);
    assert!(r.output.contains("EAP-Success"), "{}", r.output);
    // eapol_test compares the MS-MPPE keys of the Access-Accept with its own MSK.
    assert!(
        r.output.contains("MPPE keys OK: 1  mismatch: 0"),
        "{}",
        r.output
    );
}

#[test]
fn tls12_workstation_gets_eap_success_matching_mppe_keys_and_the_staff_vlan() {
    let pki = Pki::new();
    let s = pki.server(1000);
    let client = pki.client("ws-042");
    let r = eapol_tls(&s, &pki, &client, false);
    assert_success_with_keys(&r, &s);
    assert_eq!(r.vlan().as_deref(), Some("200"), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows.len(), 1, "challenges write no row: {rows:#?}");
    let row = &rows[0];
    assert_eq!(row.method, "eap-tls");
    assert_eq!(row.result, "accept");
    assert_eq!(row.rule.as_deref(), Some("staff-workstations"));
    assert_eq!(row.vlan, Some(200));
    assert_eq!(row.mac.as_deref(), Some("3C-52-82-11-22-33"));
    let detail = row.detail.as_deref().unwrap_or("");
    assert!(detail.contains("sha256"), "{row:#?}");
    assert!(detail.contains("ws-042.hospital.example"), "{row:#?}");
    assert!(detail.contains("Root CA"), "{row:#?}");
    assert!(detail.contains("TLSv1_2"), "{row:#?}");
}

#[test]
fn tls13_workstation_gets_eap_success_matching_mppe_keys_and_the_staff_vlan() {
    let pki = Pki::new();
    let s = pki.server(1000);
    let client = pki.client("ws-042");
    let r = eapol_tls(&s, &pki, &client, true);
    assert_success_with_keys(&r, &s);
    assert_eq!(r.vlan().as_deref(), Some("200"), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].method, "eap-tls");
    assert!(
        rows[0].detail.as_deref().unwrap_or("").contains("TLSv1_3"),
        "{:#?}",
        rows[0]
    );
}

#[test]
fn client_certificate_from_an_unknown_ca_fails_with_an_audit_row() {
    let pki = Pki::new();
    let s = pki.server(1000);
    let rogue = ca("Rogue CA");
    let client = leaf(
        pki.dir.path(),
        "rogue-client",
        IDENTITY,
        ExtendedKeyUsagePurpose::ClientAuth,
        &rogue,
        &[],
        false,
    );
    let r = eapol_tls(&s, &pki, &client, true);
    assert_refused_certificate(&r, &s, "UnknownIssuer");
}

#[test]
fn expired_client_certificate_fails() {
    let pki = Pki::new();
    let s = pki.server(1000);
    let client = leaf(
        pki.dir.path(),
        "expired",
        IDENTITY,
        ExtendedKeyUsagePurpose::ClientAuth,
        &pki.ca,
        &[],
        true,
    );
    let r = eapol_tls(&s, &pki, &client, false);
    assert_refused_certificate(&r, &s, "expired");
}

#[test]
fn a_chain_through_an_intermediate_in_small_fragments_succeeds() {
    let pki = Pki::new();
    let s = pki.server(300);
    let sub = intermediate("Wardgate Test Devices Issuing CA", &pki.ca);
    let sub_pem = sub.pem();
    let client = leaf(
        pki.dir.path(),
        "ws-042-via-sub",
        IDENTITY,
        ExtendedKeyUsagePurpose::ClientAuth,
        &sub,
        &[&sub_pem],
        false,
    );
    let r = eapol_tls_fragments(&s, &pki, &client, true, 300);
    assert_success_with_keys(&r, &s);
    assert_eq!(r.vlan().as_deref(), Some("200"), "{}", r.output);
    let challenges = r.output.matches("Access-Challenge").count();
    assert!(challenges >= 8, "{challenges} rounds:\n{}", r.output);
}

#[test]
fn without_eap_tls_configured_eap_is_still_refused() {
    let pki = Pki::new();
    let s = Server::start(Options {
        devices_csv: Some(WORKSTATION_CSV.to_string()),
        ..Options::default()
    });
    let client = pki.client("ws-042");
    let r = eapol_tls(&s, &pki, &client, true);
    assert!(!r.ok, "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].reason, "eap-method-not-enabled");
}

#[test]
fn a_supplicant_that_refuses_tls_is_rejected_with_eap_nak() {
    let pki = Pki::new();
    let s = pki.server(1000);
    // A PEAP-only supplicant answers the EAP-TLS Start with a Nak.
    let conf = s.dir.path().join("eapol-peap.conf");
    std::fs::write(
        &conf,
        "network={\n  key_mgmt=IEEE8021X\n  eap=PEAP\n  identity=\"alice\"\n  password=\"x\"\n}\n",
    )
    .unwrap();
    let out = Command::new("eapol_test")
        .args(["-c", conf.to_str().unwrap()])
        .args(["-a", &s.auth.ip().to_string()])
        .args(["-p", &s.auth.port().to_string()])
        .args(["-s", SECRET, "-M", MAC, "-t", "5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("EAP-Failure"), "{text}");
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].reason, "eap-nak", "{:#?}", rows[0]);
    assert_eq!(rows[0].method, "eap-tls");
}

#[test]
fn sighup_reads_the_ca_files_again_and_keeps_the_running_ones_when_they_break() {
    let pki = Pki::new();
    let s = pki.server(1000);
    let old_client = pki.client("ws-042");
    assert_success_with_keys(&eapol_tls(&s, &pki, &old_client, true), &s);
    // The deployment moves to a new device CA.
    let new_ca = ca("Wardgate Test Hospital Device CA 2");
    let new_client = leaf(
        pki.dir.path(),
        "ws-042-new-ca",
        IDENTITY,
        ExtendedKeyUsagePurpose::ClientAuth,
        &new_ca,
        &[],
        false,
    );
    std::fs::write(&pki.ca_pem, new_ca.pem()).unwrap();
    s.signal("HUP");
    s.wait_log("EAP-TLS certificates and settings read again");
    let r = eapol_tls(&s, &pki, &old_client, true);
    assert!(!r.ok, "the old CA is no longer trusted:\n{}", r.output);
    assert_success_with_keys(&eapol_tls(&s, &pki, &new_client, true), &s);
    // A broken CA file is refused and the running configuration stays.
    std::fs::write(&pki.ca_pem, "not a certificate\n").unwrap();
    s.signal("HUP");
    s.wait_log("[eap_tls] refused, the running one stays");
    assert_success_with_keys(&eapol_tls(&s, &pki, &new_client, true), &s);
}

/// A round whose State names no conversation (never issued, expired, or already taken) is
/// refused with EAP-Failure. Driven with a raw client: eapol_test never makes up a State.
#[test]
fn a_round_with_an_unknown_state_is_rejected() {
    use std::net::UdpSocket;
    use std::time::Duration;
    use wardgate_radius::{Code, Packet, SharedSecret, attr};

    let pki = Pki::new();
    let s = pki.server(1000);
    let secret = SharedSecret::new(SECRET.as_bytes().to_vec());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut p = Packet::new(Code::ACCESS_REQUEST, 7, [7; 16]);
    p.add(attr::USER_NAME, IDENTITY.as_bytes().to_vec());
    p.add(attr::CALLING_STATION_ID, b"3C-52-82-11-22-33".to_vec());
    // EAP-Response/EAP-TLS, an empty ACK, identifier 9.
    p.add(attr::EAP_MESSAGE, vec![2, 9, 0, 6, 13, 0]);
    p.add(attr::STATE, vec![0x42; 16]);
    sock.send_to(&p.encode_request(&secret, true).unwrap(), s.auth)
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).expect("a reply");
    let reply = Packet::decode(&buf[..n]).unwrap();
    assert_eq!(reply.code, Code::ACCESS_REJECT);
    assert_eq!(reply.concat(attr::EAP_MESSAGE).unwrap(), vec![4, 9, 0, 4]);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].reason, "eap-session-unknown");
    assert_eq!(rows[0].method, "eap-tls");
}

#[test]
fn client_certificate_revoked_by_a_crl_file_fails_with_an_audit_row() {
    let pki = Pki::new();
    let revoked_serial: u64 = 0x5eed_1234;
    let client = leaf_with(
        pki.dir.path(),
        "ws-042-revoked",
        IDENTITY,
        ExtendedKeyUsagePurpose::ClientAuth,
        &pki.ca,
        &[],
        |p| p.serial_number = Some(rcgen::SerialNumber::from(revoked_serial)),
    );
    let good = pki.client("ws-042");
    let crl = rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2025, 1, 1),
        next_update: rcgen::date_time_ymd(2099, 1, 1),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from(revoked_serial),
            revocation_time: rcgen::date_time_ymd(2025, 6, 1),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&pki.ca)
    .unwrap();
    let crl_pem = pki.dir.path().join("root.crl.pem");
    std::fs::write(&crl_pem, crl.pem().unwrap()).unwrap();
    let s = Server::start(Options {
        devices_csv: Some(WORKSTATION_CSV.to_string()),
        extra_config: format!(
            "{}crl_files = [\"{}\"]\n",
            pki.eap_tls_table(1000),
            crl_pem.display()
        ),
        ..Options::default()
    });
    let r = eapol_tls(&s, &pki, &client, true);
    assert_refused_certificate(&r, &s, "revoked");
    // A certificate of the same CA that the CRL does not list still authenticates.
    assert_success_with_keys(&eapol_tls(&s, &pki, &good, true), &s);
}

/// RFC 3579 3.2: an Access-Request with EAP-Message and no Message-Authenticator is discarded
/// silently, even from a client that does not otherwise require one. Driven with a raw client:
/// eapol_test always sends Message-Authenticator.
#[test]
fn an_eap_request_without_message_authenticator_is_dropped() {
    use std::net::UdpSocket;
    use std::time::Duration;
    use wardgate_radius::{Code, Packet, SharedSecret, attr};

    let pki = Pki::new();
    let s = Server::start(Options {
        clients: format!(
            "[[client]]\nname = \"sw-test\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\nvendor = \"generic\"\nrequire_message_authenticator = false\n"
        ),
        devices_csv: Some(WORKSTATION_CSV.to_string()),
        extra_config: pki.eap_tls_table(1000),
        ..Options::default()
    });
    let secret = SharedSecret::new(SECRET.as_bytes().to_vec());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let identity = |id: u8| {
        let mut p = Packet::new(Code::ACCESS_REQUEST, id, [id; 16]);
        p.add(attr::USER_NAME, IDENTITY.as_bytes().to_vec());
        p.add(attr::CALLING_STATION_ID, b"3C-52-82-11-22-33".to_vec());
        // EAP-Response/Identity, identifier 1.
        let mut eap = vec![2, 1, 0, 0, 1];
        eap.extend_from_slice(IDENTITY.as_bytes());
        let len = u16::try_from(eap.len()).unwrap().to_be_bytes();
        eap[2..4].copy_from_slice(&len);
        p.add(attr::EAP_MESSAGE, eap);
        p
    };
    let mut buf = [0u8; 4096];
    sock.send_to(
        &identity(11).encode_request(&secret, false).unwrap(),
        s.auth,
    )
    .unwrap();
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "EAP without Message-Authenticator must get no reply"
    );
    // The server is still there: the same request with Message-Authenticator is answered with
    // the EAP-TLS Start.
    sock.send_to(&identity(12).encode_request(&secret, true).unwrap(), s.auth)
        .unwrap();
    let (n, _) = sock.recv_from(&mut buf).expect("a reply");
    let reply = Packet::decode(&buf[..n]).unwrap();
    assert_eq!(reply.identifier, 12);
    assert_eq!(reply.code, Code::ACCESS_CHALLENGE);
    let eap = reply.concat(attr::EAP_MESSAGE).unwrap();
    assert_eq!((eap[0], eap[4]), (1, 13), "EAP-Request/EAP-TLS: {eap:?}");
    assert!(reply.attr(attr::STATE).is_some());
}

/// The shipped `workstation-cert-expiring` rule: a certificate expiring in 10 days puts the
/// workstation in the remediation VLAN; one valid for 300 more days gets the staff VLAN.
#[test]
fn a_workstation_certificate_expiring_soon_gets_the_remediation_vlan() {
    let pki = Pki::new();
    let s = pki.server(1000);
    let valid_for = |days: i64| {
        move |p: &mut CertificateParams| {
            let now = time::OffsetDateTime::now_utc();
            p.not_before = now - time::Duration::days(1);
            p.not_after = now + time::Duration::days(days) + time::Duration::hours(1);
        }
    };
    let expiring = leaf_with(
        pki.dir.path(),
        "ws-042-expiring",
        IDENTITY,
        ExtendedKeyUsagePurpose::ClientAuth,
        &pki.ca,
        &[],
        valid_for(10),
    );
    let fresh = leaf_with(
        pki.dir.path(),
        "ws-042-fresh",
        IDENTITY,
        ExtendedKeyUsagePurpose::ClientAuth,
        &pki.ca,
        &[],
        valid_for(300),
    );
    let r = eapol_tls(&s, &pki, &expiring, true);
    assert_success_with_keys(&r, &s);
    assert_eq!(r.vlan().as_deref(), Some("250"), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].rule.as_deref(), Some("workstation-cert-expiring"));
    assert_eq!(rows[0].segment.as_deref(), Some("remediation"));
    assert_eq!(rows[0].vlan, Some(250));
    let r = eapol_tls(&s, &pki, &fresh, true);
    assert_success_with_keys(&r, &s);
    assert_eq!(r.vlan().as_deref(), Some("200"), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 2);
    assert!(
        rows.iter()
            .any(|r| r.rule.as_deref() == Some("staff-workstations") && r.vlan == Some(200)),
        "{rows:#?}"
    );
}

/// A handshake refused by the certificate check: FAILURE at the supplicant, EAP-Failure, no VLAN,
/// and exactly one audit row, a reject whose detail says `why` (case ignored).
fn assert_refused_certificate(r: &EapolRun, s: &Server, why: &str) {
    assert!(!r.ok, "{}", r.output);
    assert!(r.output.contains("FAILURE"), "{}", r.output);
    assert!(r.output.contains("EAP-Failure"), "{}", r.output);
    assert_eq!(r.vlan(), None, "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].method, "eap-tls");
    assert_eq!(rows[0].result, "reject");
    assert_eq!(rows[0].reason, "tls-handshake-failed");
    let detail = rows[0].detail.as_deref().unwrap_or("").to_ascii_lowercase();
    assert!(detail.contains(&why.to_ascii_lowercase()), "{:#?}", rows[0]);
}
