//! MAB end to end with radclient: MAC spellings, unknown devices, monitor mode, exact reply
//! attributes, and the audit rows behind every decision.

use crate::harness::*;

const PUMP_CSV: &str = include_str!("../fixtures/hospital-devices.csv");

fn hospital() -> Server {
    Server::start(Options {
        devices_csv: Some(PUMP_CSV.to_string()),
        ..Options::default()
    })
}

/// The clinical-iot reply for a generic (RFC 3580) NAS, attribute by attribute, in order.
fn assert_clinical_iot(r: &RadReply) {
    assert_eq!(r.code.as_deref(), Some("Access-Accept"), "{}", r.output);
    assert!(
        r.attrs[0].starts_with("Message-Authenticator = 0x"),
        "Message-Authenticator must be first: {:?}",
        r.attrs
    );
    assert_eq!(
        &r.attrs[1..],
        [
            "Tunnel-Type:0 = VLAN",
            "Tunnel-Medium-Type:0 = IEEE-802",
            "Tunnel-Private-Group-Id:0 = \"110\"",
            "Filter-Id = \"clinical-iot\"",
            "Session-Timeout = 43200",
            "Termination-Action = RADIUS-Request",
        ],
        "{}",
        r.output
    );
}

#[test]
fn mab_in_every_mac_spelling_gets_the_clinical_vlan() {
    let s = hospital();
    let spellings = [
        "0009fb123457",
        "0009FB123457",
        "00:09:fb:12:34:57",
        "00-09-FB-12-34-57",
        "0009.fb12.3457",
        "0009.FB12.3457",
        "0009fb-123457",
        "0009-fb12-3457",
        "0:0:0:9:f:b:1:2:3:4:5:7",
    ];
    for sp in spellings {
        let r = radclient(s.auth, "auth", SECRET, &mab_request(sp, true));
        assert_clinical_iot(&r);
    }
    let rows = audit_rows(&s.db_url(), spellings.len());
    let pump: Vec<_> = rows
        .iter()
        .filter(|r| r.mac.as_deref() == Some("00-09-FB-12-34-57"))
        .collect();
    assert_eq!(pump.len(), spellings.len(), "{rows:#?}");
    for r in pump {
        assert_eq!(r.kind, "auth");
        assert_eq!(r.nas, "sw-test");
        assert_eq!(r.nas_addr, "127.0.0.1");
        assert_eq!(r.method, "mab");
        assert_eq!(r.rule.as_deref(), Some("clinical-iot"));
        assert_eq!(r.segment.as_deref(), Some("clinical-iot"));
        assert_eq!(r.vlan, Some(110));
        assert_eq!(r.result, "accept");
        assert_eq!(r.reason, "rule-matched");
        assert_eq!(r.policy_version.len(), 64, "sha-256 hex");
    }
    // One JSON line per decision on the log, too, with the decision's fields.
    s.wait_log("\"event\":\"decision\"");
    let lines: Vec<serde_json::Value> = s
        .log_text()
        .lines()
        .filter(|l| l.contains("\"event\":\"decision\""))
        .map(|l| serde_json::from_str(l).expect("a decision line is JSON"))
        .collect();
    assert_eq!(lines.len(), spellings.len());
    for l in &lines {
        assert_eq!(l["mac"], "00-09-FB-12-34-57");
        assert_eq!(l["segment"], "clinical-iot");
        assert_eq!(l["vlan"], 110);
        assert_eq!(l["known"], true);
    }
}

#[test]
fn unknown_device_is_quarantined_and_audited() {
    let s = hospital();
    let r = radclient(
        s.auth,
        "auth",
        SECRET,
        &mab_request("00-25-96-FF-FE-12", true),
    );
    assert_eq!(r.code.as_deref(), Some("Access-Accept"), "{}", r.output);
    assert!(
        r.has("Tunnel-Private-Group-Id:0 = \"999\""),
        "{:?}",
        r.attrs
    );
    assert!(r.has("Filter-Id = \"quarantine\""), "{:?}", r.attrs);
    assert!(r.has("Session-Timeout = 1800"), "{:?}", r.attrs);
    let rows = audit_rows(&s.db_url(), 1);
    let row = rows
        .iter()
        .find(|r| r.mac.as_deref() == Some("00-25-96-FF-FE-12"))
        .unwrap();
    assert_eq!(row.rule.as_deref(), Some("unknown-devices"));
    assert_eq!(row.segment.as_deref(), Some("quarantine"));
    assert_eq!(row.reason, "rule-quarantine");
}

#[test]
fn randomized_mac_on_a_wired_port_is_quarantined_even_when_registered() {
    let s = hospital();
    let r = radclient(s.auth, "auth", SECRET, &mab_request("02005e100099", true));
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"999\""), "{}", r.output);
}

#[test]
fn monitor_mode_rule_is_logged_and_the_next_rule_decides() {
    let s = hospital();
    // A modality outside radiology: the trial rule would quarantine it, the imaging rule decides.
    let r = radclient(s.auth, "auth", SECRET, &mab_request("001b2c3d4e5f", true));
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"120\""), "{}", r.output);
    s.wait_log("would assign quarantine");
    // A modality in radiology: the trial rule does not match at all.
    let r = radclient(s.auth, "auth", SECRET, &mab_request("001b2c3d4e60", true));
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"120\""), "{}", r.output);
    let rows = audit_rows(&s.db_url(), 2);
    let mobile = rows
        .iter()
        .find(|r| r.mac.as_deref() == Some("00-1B-2C-3D-4E-5F"))
        .unwrap();
    assert_eq!(mobile.rule.as_deref(), Some("imaging"));
    let detail: serde_json::Value =
        serde_json::from_str(mobile.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["monitor"][0]["rule"], "imaging-radiology-only");
    assert_eq!(detail["monitor"][0]["would"], "quarantine");
    let fixed = rows
        .iter()
        .find(|r| r.mac.as_deref() == Some("00-1B-2C-3D-4E-60"))
        .unwrap();
    assert_eq!(fixed.detail, None);
}

#[test]
fn wrong_mab_password_is_rejected_with_a_reason() {
    let s = hospital();
    let req = "User-Name = \"0009fb123457\"\nUser-Password = \"not-the-mac\"\nCalling-Station-Id = \"00-09-FB-12-34-57\"\nService-Type = Call-Check\nMessage-Authenticator = 0x00\n";
    let r = radclient(s.auth, "auth", SECRET, req);
    assert_eq!(r.code.as_deref(), Some("Access-Reject"), "{}", r.output);
    assert!(
        r.attrs[0].starts_with("Message-Authenticator"),
        "{:?}",
        r.attrs
    );
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].reason, "mab-password-wrong");
    assert_eq!(rows[0].result, "reject");
    // Debug logging is on in these tests: still no password and no shared secret in the log.
    let log = s.log_text();
    assert!(log.contains("User-Password = <redacted>"), "{log}");
    assert!(
        log.contains("Service-Type = Call-Check"),
        "attributes named by the dictionary: {log}"
    );
    assert!(!log.contains("not-the-mac"), "{log}");
    assert!(!log.contains(SECRET), "{log}");
}

#[test]
fn wrong_secret_gets_no_answer() {
    let s = hospital();
    let r = radclient(
        s.auth,
        "auth",
        "not-the-secret",
        &mab_request("0009fb123457", true),
    );
    assert_eq!(r.code, None, "{}", r.output);
    assert!(!r.ok);
    s.wait_log("is the shared secret the same on the NAS and here?");
    s.signal("TERM");
    s.wait_log("dropped_bad_authenticator=1");
}

#[test]
fn missing_message_authenticator_is_dropped_by_default() {
    let s = hospital();
    let r = radclient(s.auth, "auth", SECRET, &mab_request("0009fb123457", false));
    assert_eq!(r.code, None, "{}", r.output);
    s.signal("TERM");
    s.wait_log("dropped_missing_message_authenticator=1");
}

#[test]
fn missing_message_authenticator_is_accepted_when_the_client_allows_it() {
    let s = Server::start(Options {
        devices_csv: Some(PUMP_CSV.to_string()),
        clients: format!(
            "[[client]]\nname = \"old-switch\"\naddress = \"127.0.0.0/8\"\nsecret = \"{SECRET}\"\nrequire_message_authenticator = false\n"
        ),
        ..Options::default()
    });
    let r = radclient(s.auth, "auth", SECRET, &mab_request("0009fb123457", false));
    assert_clinical_iot(&r);
    // limit_proxy_state: Proxy-State without Message-Authenticator is still dropped.
    let mut req = mab_request("0009fb123457", false);
    req.push_str("Proxy-State = 0x01\n");
    let r = radclient(s.auth, "auth", SECRET, &req);
    assert_eq!(r.code, None, "{}", r.output);
}

#[test]
fn status_server_is_answered() {
    let s = hospital();
    let r = radclient(s.auth, "status", SECRET, "Message-Authenticator = 0x00\n");
    assert_eq!(r.code.as_deref(), Some("Access-Accept"), "{}", r.output);
    assert!(
        r.attrs[0].starts_with("Message-Authenticator"),
        "{:?}",
        r.attrs
    );
}

#[test]
fn vendor_role_for_an_aruba_switch() {
    let s = Server::start(Options {
        devices_csv: Some(PUMP_CSV.to_string()),
        clients: format!(
            "[[client]]\nname = \"aruba-cx\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\nvendor = \"aruba\"\n"
        ),
        ..Options::default()
    });
    let r = radclient(
        s.auth,
        "auth",
        SECRET,
        &mab_request("3c:52:82:aa:bb:01", true),
    );
    assert_eq!(
        &r.attrs[1..],
        [
            "Tunnel-Type:0 = VLAN",
            "Tunnel-Medium-Type:0 = IEEE-802",
            "Tunnel-Private-Group-Id:0 = \"140\"",
            "Aruba-User-Role = \"wg-printers\"",
            "Session-Timeout = 86400",
            "Termination-Action = RADIUS-Request",
        ],
        "{}",
        r.output
    );
}

#[test]
fn accounting_is_answered_and_audited() {
    let s = hospital();
    let req = "Acct-Status-Type = Start\nAcct-Session-Id = \"0000001A\"\nUser-Name = \"0009fb123457\"\nCalling-Station-Id = \"00-09-FB-12-34-57\"\nNAS-Port-Id = \"GigabitEthernet1/0/7\"\n";
    let r = radclient(s.acct, "acct", SECRET, req);
    assert_eq!(
        r.code.as_deref(),
        Some("Accounting-Response"),
        "{}",
        r.output
    );
    let rows = audit_rows(&s.db_url(), 1);
    assert_eq!(rows[0].kind, "accounting");
    assert_eq!(rows[0].mac.as_deref(), Some("00-09-FB-12-34-57"));
    assert_eq!(rows[0].reason, "start");
    // A wrong secret makes a wrong Request Authenticator: dropped.
    let r = radclient(s.acct, "acct", "wrong-secret", req);
    assert_eq!(r.code, None, "{}", r.output);
}

#[test]
fn any_utf8_in_called_station_id_is_answered_and_the_port_stays_up() {
    let s = hospital();
    for called in [
        "00-11-22-33-44-5\u{e9}:Guest",
        "3a1b2c3d4e5\u{e9}:Guest-long-name",
        "\u{1f600}\u{1f600}\u{1f600}\u{1f600}\u{1f600}",
    ] {
        let req = format!(
            "{}Called-Station-Id = \"{called}\"\nNAS-Port-Type = Wireless-802.11\n",
            mab_request("3a1b2c3d4e5f", true)
        );
        let r = radclient(s.auth, "auth", SECRET, &req);
        assert!(r.code.is_some(), "{called:?}: {}", r.output);
    }
    let r = radclient(s.auth, "status", SECRET, "Message-Authenticator = 0x00\n");
    assert_eq!(r.code.as_deref(), Some("Access-Accept"), "{}", r.output);
    assert!(!s.log_text().contains("panicked"), "{}", s.log_text());
}

#[test]
fn status_server_on_the_accounting_port_gets_an_accounting_response() {
    let s = hospital();
    let r = radclient(s.acct, "status", SECRET, "Message-Authenticator = 0x00\n");
    assert_eq!(
        r.code.as_deref(),
        Some("Accounting-Response"),
        "{}",
        r.output
    );
}
