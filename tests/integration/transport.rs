//! What radclient cannot send: exact retransmissions, several Proxy-States, malformed datagrams,
//! datagrams from an unknown address. A raw UDP client built on the codec crate.

use crate::harness::*;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;
use wardgate_radius::{
    Code, MessageAuthenticator, Packet, SharedSecret, attr, check_message_authenticator,
    encrypt_user_password, verify_response_authenticator,
};

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET.as_bytes().to_vec())
}

fn mab_packet(id: u8, auth: [u8; 16], mac: &str) -> Packet {
    let mut p = Packet::new(Code::ACCESS_REQUEST, id, auth);
    p.add(attr::USER_NAME, mac.as_bytes().to_vec());
    p.add(
        attr::USER_PASSWORD,
        encrypt_user_password(mac.as_bytes(), &secret(), &auth).unwrap(),
    );
    p.add(attr::CALLING_STATION_ID, mac.as_bytes().to_vec());
    p.add(attr::SERVICE_TYPE, 10u32.to_be_bytes().to_vec());
    p
}

fn socket(bind: &str) -> UdpSocket {
    let s = UdpSocket::bind(bind).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    s
}

fn exchange(sock: &UdpSocket, to: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    sock.send_to(bytes, to).unwrap();
    let mut buf = [0u8; 4096];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

fn server() -> Server {
    Server::start(Options {
        devices_csv: Some(include_str!("../fixtures/hospital-devices.csv").to_string()),
        ..Options::default()
    })
}

#[test]
fn retransmission_gets_the_cached_reply_and_one_decision() {
    let s = server();
    let sock = socket("127.0.0.1:0");
    let auth = [0x5a; 16];
    let bytes = mab_packet(42, auth, "0009fb123457")
        .encode_request(&secret(), true)
        .unwrap();
    let first = exchange(&sock, s.auth, &bytes).expect("a reply");
    let again = exchange(&sock, s.auth, &bytes).expect("the cached reply");
    assert_eq!(first, again);
    assert!(verify_response_authenticator(&first, &auth, &secret()));
    assert_eq!(
        check_message_authenticator(&first, &secret(), Some(&auth)),
        MessageAuthenticator::Valid
    );
    // Same Identifier, new Request Authenticator: a new request, decided again.
    let other = mab_packet(42, [0x5b; 16], "0009fb123457")
        .encode_request(&secret(), true)
        .unwrap();
    assert!(exchange(&sock, s.auth, &other).is_some());
    std::thread::sleep(Duration::from_millis(500));
    let rows = audit_rows(&s.db_url(), 2);
    assert_eq!(
        rows.len(),
        2,
        "one decision per distinct request: {rows:#?}"
    );
}

#[test]
fn proxy_state_is_copied_in_order() {
    let s = server();
    let sock = socket("127.0.0.1:0");
    let auth = [7u8; 16];
    let mut p = mab_packet(1, auth, "00-25-96-FF-FE-12");
    p.add(attr::PROXY_STATE, b"first".to_vec());
    p.add(attr::PROXY_STATE, b"second".to_vec());
    p.add(attr::PROXY_STATE, b"third".to_vec());
    let reply = exchange(&sock, s.auth, &p.encode_request(&secret(), true).unwrap()).unwrap();
    let r = Packet::decode(&reply).unwrap();
    assert_eq!(r.attributes[0].typ, attr::MESSAGE_AUTHENTICATOR);
    let states: Vec<&[u8]> = r.attrs(attr::PROXY_STATE).collect();
    assert_eq!(states, [&b"first"[..], b"second", b"third"]);
}

#[test]
fn malformed_and_unknown_client_datagrams_are_dropped_and_the_server_goes_on() {
    let s = server();
    let sock = socket("127.0.0.1:0");
    let good = mab_packet(9, [1u8; 16], "0009fb123457")
        .encode_request(&secret(), true)
        .unwrap();
    // Attribute length running past the packet.
    let mut bad = good.clone();
    bad[21] = 250;
    assert_eq!(exchange(&sock, s.auth, &bad), None);
    // Shorter than its Length says.
    assert_eq!(exchange(&sock, s.auth, &good[..good.len() - 3]), None);
    // Garbage and an empty datagram.
    assert_eq!(exchange(&sock, s.auth, &[0xff; 7]), None);
    // Padding past Length is ignored: still answered.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0u8; 11]);
    assert!(exchange(&sock, s.auth, &padded).is_some());
    // From 127.0.0.2, which is no client of this server.
    let stranger = socket("127.0.0.2:0");
    let other = mab_packet(10, [2u8; 16], "0009fb123457")
        .encode_request(&secret(), true)
        .unwrap();
    assert_eq!(exchange(&stranger, s.auth, &other), None);
    // An Accounting-Request on the auth port.
    let mut acct = Packet::new(Code::ACCOUNTING_REQUEST, 3, [0u8; 16]);
    acct.add(attr::ACCT_STATUS_TYPE, 1u32.to_be_bytes().to_vec());
    assert_eq!(
        exchange(
            &sock,
            s.auth,
            &acct.encode_request(&secret(), false).unwrap()
        ),
        None
    );
    s.wait_log("dropped a request from 127.0.0.2: no [[client]] has this address");
    s.signal("TERM");
    s.wait_log("dropped_unknown_client=1");
    let log = s.log_text();
    assert!(log.contains("dropped_malformed=3"), "{log}");
    assert!(log.contains("dropped_unexpected_code=1"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}
