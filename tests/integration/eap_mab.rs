//! MAB over EAP (EAP-MD5, the MAC as identity and password: Cisco `mab eap`, Dell's default) end
//! to end with the real eapol_test acting as switch and supplicant: the VLAN, EAP-Success or
//! EAP-Failure, and the audit rows.

use crate::harness::*;

const PUMP_CSV: &str = include_str!("../fixtures/eap-mab-infusion-pump.csv");

fn eapol_md5(s: &Server, mac: &str, identity: &str, password: &str) -> EapolRun {
    eapol_test_method(s, "MD5", mac, identity, password)
}

fn eapol_test_method(
    s: &Server,
    method: &str,
    mac: &str,
    identity: &str,
    password: &str,
) -> EapolRun {
    // -n: EAP-MD5 derives no keys, so expect no MS-MPPE keys.
    eapol_test(
        s,
        &format!("eapol-{method}-{identity}-{password}.conf"),
        &format!(
            "  key_mgmt=IEEE8021X\n  eap={method}\n  identity=\"{identity}\"\n  password=\"{password}\"\n"
        ),
        mac,
        5,
        &["-n"],
    )
}

fn server() -> Server {
    Server::start(Options {
        devices_csv: Some(PUMP_CSV.to_string()),
        ..Options::default()
    })
}

#[test]
fn known_pump_gets_eap_success_and_the_clinical_vlan() {
    let s = server();
    let r = eapol_md5(&s, "00:1b:54:00:00:42", "001b54000042", "001b54000042");
    assert!(r.ok, "{}\n--- server log:\n{}", r.output, s.log_text());
    assert!(r.output.contains("SUCCESS"), "{}", r.output);
    assert!(r.output.contains("EAP-Success"), "{}", r.output);
    assert_eq!(r.vlan().as_deref(), Some("110"), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(
        rows.len(),
        1,
        "the challenge round writes no row: {rows:#?}"
    );
    let row = &rows[0];
    assert_eq!(row.mac.as_deref(), Some("00-1B-54-00-00-42"));
    assert_eq!(row.method, "mab");
    assert_eq!(row.rule.as_deref(), Some("clinical-iot"));
    assert_eq!(row.vlan, Some(110));
    assert_eq!(row.result, "accept");
    assert!(
        row.detail.as_deref().unwrap_or("").contains("eap-md5"),
        "{row:#?}"
    );
}

#[test]
fn colon_spelled_password_is_the_mac_too() {
    let s = server();
    let r = eapol_md5(&s, "00:1b:54:00:00:42", "001b54000042", "00:1B:54:00:00:42");
    assert!(r.ok, "{}", r.output);
    assert_eq!(r.vlan().as_deref(), Some("110"), "{}", r.output);
}

#[test]
fn wrong_password_gets_eap_failure_and_an_audit_row() {
    let s = server();
    let r = eapol_md5(&s, "00:1b:54:00:00:42", "001b54000042", "not-the-mac");
    assert!(!r.ok, "{}", r.output);
    assert!(r.output.contains("FAILURE"), "{}", r.output);
    assert!(r.output.contains("Access-Reject"), "{}", r.output);
    assert!(r.output.contains("EAP-Failure"), "{}", r.output);
    assert_eq!(r.vlan(), None, "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].method, "mab");
    assert_eq!(rows[0].result, "reject");
    assert_eq!(rows[0].reason, "mab-password-wrong");
    assert_eq!(rows[0].mac.as_deref(), Some("00-1B-54-00-00-42"));
}

#[test]
fn unknown_mac_gets_the_quarantine_vlan() {
    let s = server();
    let r = eapol_md5(&s, "00:1b:54:00:00:99", "001b54000099", "001b54000099");
    assert!(r.ok, "{}\n--- server log:\n{}", r.output, s.log_text());
    assert_eq!(r.vlan().as_deref(), Some("999"), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].method, "mab");
    assert_eq!(rows[0].vlan, Some(999));
    assert_eq!(rows[0].result, "accept");
}

#[test]
fn supplicant_that_refuses_md5_is_rejected_with_eap_failure() {
    let s = server();
    // A PEAP-only supplicant answers our MD5-Challenge with a Nak.
    let r = eapol_test_method(&s, "PEAP", "00:1b:54:00:00:42", "001b54000042", "x");
    assert!(!r.ok, "{}", r.output);
    assert!(r.output.contains("EAP-Failure"), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].reason, "mab-eap-nak");
    assert_eq!(rows[0].result, "reject");
}

#[test]
fn ignore_mode_accepts_any_md5_response() {
    let s = Server::start(Options {
        devices_csv: Some(PUMP_CSV.to_string()),
        clients: format!(
            "[[client]]\nname = \"sw-dell\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\nvendor = \"generic\"\nmab_password = \"ignore\"\n"
        ),
        ..Options::default()
    });
    let r = eapol_md5(&s, "00:1b:54:00:00:42", "001b54000042", "anything");
    assert!(r.ok, "{}\n--- server log:\n{}", r.output, s.log_text());
    assert_eq!(r.vlan().as_deref(), Some("110"), "{}", r.output);
}

/// A replayed EAP-MD5 answer (same State and response, a new RADIUS request) is refused: each
/// State is good for one success. Driven with a raw client, since eapol_test never replays.
#[test]
fn a_replayed_md5_answer_is_refused() {
    use md5::{Digest, Md5};
    use std::net::UdpSocket;
    use std::time::Duration;
    use wardgate_radius::{Code, Packet, SharedSecret, attr};

    let s = server();
    let secret = SharedSecret::new(SECRET.as_bytes().to_vec());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let exchange = |p: &Packet| -> Packet {
        sock.send_to(&p.encode_request(&secret, true).unwrap(), s.auth)
            .unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).expect("a reply");
        Packet::decode(&buf[..n]).unwrap()
    };
    let mac = "001b54000042";
    let request = |id: u8, auth: u8, eap: &[u8], state: Option<&[u8]>| {
        let mut p = Packet::new(Code::ACCESS_REQUEST, id, [auth; 16]);
        p.add(attr::USER_NAME, mac.as_bytes().to_vec());
        p.add(attr::CALLING_STATION_ID, b"00-1B-54-00-00-42".to_vec());
        p.add(attr::EAP_MESSAGE, eap.to_vec());
        if let Some(st) = state {
            p.add(attr::STATE, st.to_vec());
        }
        p
    };
    // EAP-Response/Identity = the MAC.
    let mut identity = vec![2u8, 1, 0, 0, 1];
    identity.extend_from_slice(mac.as_bytes());
    identity[3] = u8::try_from(identity.len()).unwrap();
    let challenge = exchange(&request(1, 1, &identity, None));
    assert_eq!(challenge.code, Code::ACCESS_CHALLENGE);
    let eap = challenge.concat(attr::EAP_MESSAGE).unwrap();
    let state = challenge.attr(attr::STATE).unwrap().to_vec();
    let (eap_id, value) = (eap[1], &eap[6..6 + usize::from(eap[5])]);
    // EAP-Response/MD5-Challenge: MD5(id | password | challenge), the password being the MAC.
    let mut h = Md5::new();
    h.update([eap_id]);
    h.update(mac.as_bytes());
    h.update(value);
    let mut answer = vec![2u8, eap_id, 0, 22, 4, 16];
    answer.extend_from_slice(&h.finalize());
    let first = exchange(&request(2, 2, &answer, Some(&state)));
    assert_eq!(first.code, Code::ACCESS_ACCEPT);
    // The same answer again, in a new RADIUS request.
    let replay = exchange(&request(3, 3, &answer, Some(&state)));
    assert_eq!(replay.code, Code::ACCESS_REJECT);
    assert_eq!(
        replay.concat(attr::EAP_MESSAGE).unwrap()[0],
        4,
        "EAP-Failure"
    );
    let rows = audit_rows(&s.db_url(), 2);
    assert!(
        rows.iter().any(|r| r.reason == "eap-state-replayed"),
        "{rows:#?}"
    );
}
