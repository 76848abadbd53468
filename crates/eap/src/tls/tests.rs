//! EAP-TLS conversations between the server state machine and a test peer wrapping a rustls client.

use std::io::Read as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
    UnixTime,
};
use rustls::time_provider::TimeProvider;
use rustls::{ClientConfig, ClientConnection, ProtocolVersion, RootCertStore};

use super::config::{EapTlsConfig, TlsSettings, TlsVersion, build_server_config};
use super::fragment::{
    DEFAULT_MAX_MESSAGE_SIZE, FLAG_LENGTH, FLAG_MORE, Fragmenter, Reassembler, TlsFragment,
};
use super::keys::EapKeys;
use super::server::{EapTlsState, FailureReason, Step};
use crate::packet::{Code, EapType, Packet};

const SERVER_NAME: &str = "radius.wardgate.test";

fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

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

/// A leaf certificate and its key.
struct Leaf {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn leaf(
    name: &str,
    eku: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
    expired: bool,
) -> Leaf {
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![eku];
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    Leaf {
        cert: cert.der().clone(),
        key: key_der(&key),
    }
}

/// A deployment's PKI: one CA for the server and the devices.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    server: Leaf,
    time: Option<Arc<dyn TimeProvider>>,
    crls: Vec<CertificateRevocationListDer<'static>>,
}

/// A clock stopped at one instant.
#[derive(Debug)]
struct FixedClock(UnixTime);

impl TimeProvider for FixedClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

fn at_ymd(year: i32, month: u8, day: u8) -> Arc<dyn TimeProvider> {
    let t = rcgen::date_time_ymd(year, month, day).unix_timestamp();
    Arc::new(FixedClock(UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(t).unwrap(),
    ))))
}

impl Pki {
    fn new() -> Pki {
        let ca = ca("Wardgate Test Root");
        let server = leaf(SERVER_NAME, ExtendedKeyUsagePurpose::ServerAuth, &ca, false);
        Pki {
            ca,
            server,
            time: None,
            crls: Vec::new(),
        }
    }

    fn server_config(
        &self,
        min: TlsVersion,
        max: TlsVersion,
        fragment_size: usize,
    ) -> EapTlsConfig {
        let tls = build_server_config(TlsSettings {
            cert_chain: vec![self.server.cert.clone()],
            key: self.server.key.clone_key(),
            client_roots: vec![self.ca.der().clone()],
            crls: self.crls.clone(),
            min_version: min,
            max_version: max,
            time: self.time.clone(),
        })
        .unwrap();
        let mut config = EapTlsConfig::new(tls);
        config.fragment_size = fragment_size;
        config
    }

    fn client_config(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        Arc::new(
            ClientConfig::builder_with_protocol_versions(versions)
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)
                .unwrap(),
        )
    }

    fn device(&self, name: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let l = leaf(name, ExtendedKeyUsagePurpose::ClientAuth, &self.ca, false);
        (vec![l.cert], l.key)
    }
}

/// A supplicant: a rustls client framed in EAP-TLS the same way as the server.
struct Peer {
    conn: ClientConnection,
    fragment_size: usize,
    incoming: Reassembler,
    outgoing: Option<Fragmenter>,
    tls_error: Option<rustls::Error>,
    plaintext: Vec<u8>,
    fragments_sent: usize,
    saw_length_flag: bool,
}

impl Peer {
    fn new(config: Arc<ClientConfig>, fragment_size: usize) -> Peer {
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        Peer {
            conn: ClientConnection::new(config, name).unwrap(),
            fragment_size,
            incoming: Reassembler::new(DEFAULT_MAX_MESSAGE_SIZE),
            outgoing: None,
            tls_error: None,
            plaintext: Vec::new(),
            fragments_sent: 0,
            saw_length_flag: false,
        }
    }

    fn reply(&self, id: u8, fragment: &TlsFragment) -> Vec<u8> {
        Packet::response(id, EapType::Tls, fragment.encode())
            .encode()
            .unwrap()
    }

    fn send_next(&mut self, id: u8) -> Vec<u8> {
        let f = self.outgoing.as_mut().unwrap().next_fragment().unwrap();
        if self.outgoing.as_ref().unwrap().is_done() {
            self.outgoing = None;
        }
        self.fragments_sent += 1;
        self.reply(id, &f)
    }

    fn begin_send(&mut self, id: u8, message: Vec<u8>) -> Vec<u8> {
        if message.is_empty() {
            return self.reply(id, &TlsFragment::ack());
        }
        self.outgoing = Some(Fragmenter::new(message, self.fragment_size, false));
        self.send_next(id)
    }

    fn write_all_tls(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out).unwrap();
        }
        out
    }

    /// Answer one EAP-TLS Request.
    fn respond(&mut self, request: &Packet) -> Vec<u8> {
        assert_eq!(request.typ, Some(EapType::Tls));
        let id = request.identifier;
        let f = TlsFragment::decode(&request.data).unwrap();
        if f.flags & FLAG_LENGTH != 0 {
            self.saw_length_flag = true;
        }
        if f.start_flag() {
            let hello = self.write_all_tls();
            return self.begin_send(id, hello);
        }
        if self.outgoing.is_some() {
            assert!(f.is_ack(), "server must ACK between our fragments");
            return self.send_next(id);
        }
        match self.incoming.push(&f).unwrap() {
            None => self.reply(id, &TlsFragment::ack()),
            Some(message) => {
                let mut rest = &message[..];
                while !rest.is_empty() && self.tls_error.is_none() {
                    self.conn.read_tls(&mut rest).unwrap();
                    if let Err(e) = self.conn.process_new_packets() {
                        self.tls_error = Some(e);
                    }
                }
                if self.tls_error.is_some() {
                    return self.reply(id, &TlsFragment::ack());
                }
                let mut buf = [0u8; 64];
                while let Ok(n) = self.conn.reader().read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    self.plaintext.extend_from_slice(&buf[..n]);
                }
                let out = self.write_all_tls();
                self.begin_send(id, out)
            }
        }
    }
}

struct Run {
    /// The state that received the last Response (the one answered with Success or Failure).
    state_before_end: String,
    state: EapTlsState,
    last: Packet,
    requests: usize,
    peer: Peer,
}

fn run(config: &EapTlsConfig, mut peer: Peer) -> Run {
    let Step { mut state, reply } = EapTlsState::start(config, 7).unwrap();
    let mut request = Packet::decode(&reply.unwrap()).unwrap();
    assert_eq!(request.identifier, 7);
    let mut requests = 1;
    let mut state_before_end = String::new();
    while request.code == Code::Request {
        state_before_end = state_name(&state);
        assert!(requests < 400, "conversation does not end");
        let response = peer.respond(&request);
        let step = state.handle(&response);
        state = step.state;
        request = Packet::decode(&step.reply.unwrap()).unwrap();
        assert!(request.data.len() <= config.fragment_size + 6);
        requests += 1;
    }
    Run {
        state_before_end,
        state,
        last: request,
        requests,
        peer,
    }
}

fn state_name(state: &EapTlsState) -> String {
    format!("{state:?}")
        .split('(')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn assert_success(r: &Run, version: ProtocolVersion) {
    assert_eq!(r.last.code, Code::Success);
    assert_eq!(
        r.state_before_end, "AwaitFinalAck",
        "Success only after the final ACK"
    );
    let EapTlsState::Done(outcome) = &r.state else {
        panic!("expected Done, got {:?}", r.state)
    };
    assert_eq!(outcome.protocol_version, version);
    assert_eq!(r.peer.conn.protocol_version(), Some(version));
    let client_keys = EapKeys::export(&r.peer.conn).unwrap();
    assert_eq!(client_keys.msk(), outcome.keys.msk());
    assert_eq!(client_keys.emsk(), outcome.keys.emsk());
    assert_ne!(outcome.keys.msk(), &[0u8; 64]);
    assert!(!outcome.peer_certificates.is_empty());
    if version == ProtocolVersion::TLSv1_3 {
        assert_eq!(r.peer.plaintext, [0], "TLS 1.3 commitment message");
    }
}

fn assert_failure(r: &Run) -> &FailureReason {
    assert_eq!(r.last.code, Code::Failure);
    match &r.state {
        EapTlsState::Failed(reason) => reason,
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn tls12_full_handshake_succeeds_with_equal_msk() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
    let (chain, key) = pki.device("cart-17.wardgate.test");
    let peer = Peer::new(
        pki.client_config(&[&rustls::version::TLS12], chain, key),
        1000,
    );
    let r = run(&config, peer);
    assert_success(&r, ProtocolVersion::TLSv1_2);
}

#[test]
fn tls13_full_handshake_succeeds_with_equal_msk_after_commitment_ack() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
    let (chain, key) = pki.device("badge-3.wardgate.test");
    let peer = Peer::new(
        pki.client_config(&[&rustls::version::TLS13], chain, key),
        1000,
    );
    let r = run(&config, peer);
    assert_success(&r, ProtocolVersion::TLSv1_3);
}

#[test]
fn long_chain_at_small_fragment_size_takes_many_rounds() {
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let pki = Pki::new();
        let mid = intermediate("Wardgate Devices Intermediate", &pki.ca);
        let mid2 = intermediate("Wardgate Ward 4 Issuing", &mid);
        let l = leaf(
            "ws-0042.wardgate.test",
            ExtendedKeyUsagePurpose::ClientAuth,
            &mid2,
            false,
        );
        let chain = vec![l.cert, mid2.der().clone(), mid.der().clone()];
        let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 200);
        let peer = Peer::new(pki.client_config(&[version], chain, l.key), 200);
        let r = run(&config, peer);
        let expected = if version.version == ProtocolVersion::TLSv1_2 {
            ProtocolVersion::TLSv1_2
        } else {
            ProtocolVersion::TLSv1_3
        };
        assert_success(&r, expected);
        assert!(r.requests > 10, "only {} requests", r.requests);
        assert!(r.peer.fragments_sent > 5);
        assert!(r.peer.saw_length_flag, "first of many fragments carries L");
        let EapTlsState::Done(outcome) = &r.state else {
            unreachable!()
        };
        assert_eq!(outcome.peer_certificates.len(), 3);
    }
}

#[test]
fn unknown_ca_client_gets_alert_then_failure() {
    let pki = Pki::new();
    let rogue = ca("Rogue CA");
    let l = leaf(
        "intruder.wardgate.test",
        ExtendedKeyUsagePurpose::ClientAuth,
        &rogue,
        false,
    );
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
        let peer = Peer::new(
            pki.client_config(&[version], vec![l.cert.clone()], l.key.clone_key()),
            1000,
        );
        let r = run(&config, peer);
        let reason = assert_failure(&r);
        assert!(matches!(reason, FailureReason::Tls(_)), "{reason:?}");
        assert_eq!(reason.code(), "tls-handshake-failed");
        let alert = r.peer.tls_error.as_ref().expect("peer received the alert");
        assert!(
            matches!(alert, rustls::Error::AlertReceived(_)),
            "{alert:?}"
        );
    }
}

#[test]
fn expired_client_certificate_fails() {
    let pki = Pki::new();
    let l = leaf(
        "old-cart.wardgate.test",
        ExtendedKeyUsagePurpose::ClientAuth,
        &pki.ca,
        true,
    );
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
    let peer = Peer::new(
        pki.client_config(&[&rustls::version::TLS13], vec![l.cert], l.key),
        1000,
    );
    let r = run(&config, peer);
    let reason = assert_failure(&r);
    assert!(
        matches!(
            reason,
            FailureReason::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            ))
        ),
        "{reason:?}"
    );
    assert!(r.peer.tls_error.is_some());
}

#[test]
fn validity_is_checked_against_the_configured_clock() {
    let mut pki = Pki::new();
    // Valid 2020-01-01 .. 2021-01-01.
    let old = leaf(
        "cart-2020.wardgate.test",
        ExtendedKeyUsagePurpose::ClientAuth,
        &pki.ca,
        true,
    );
    let mut future_params = CertificateParams::new(vec!["next.wardgate.test".to_string()]).unwrap();
    future_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    future_params.not_before = rcgen::date_time_ymd(2100, 1, 1);
    future_params.not_after = rcgen::date_time_ymd(2101, 1, 1);
    let future_key = KeyPair::generate().unwrap();
    let future = future_params.signed_by(&future_key, &pki.ca).unwrap();

    let attempt = |pki: &Pki, chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>| {
        let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
        run(
            &config,
            Peer::new(
                pki.client_config(&[&rustls::version::TLS13], chain, key),
                1000,
            ),
        )
    };

    pki.time = Some(at_ymd(2020, 6, 1));
    let r = attempt(&pki, vec![old.cert.clone()], old.key.clone_key());
    assert_success(&r, ProtocolVersion::TLSv1_3);

    pki.time = Some(at_ymd(2021, 6, 1));
    let r = attempt(&pki, vec![old.cert.clone()], old.key.clone_key());
    assert!(
        matches!(
            assert_failure(&r),
            FailureReason::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            ))
        ),
        "{:?}",
        r.state
    );

    pki.time = None;
    let r = attempt(&pki, vec![future.der().clone()], key_der(&future_key));
    assert!(
        matches!(
            assert_failure(&r),
            FailureReason::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidYet
                    | rustls::CertificateError::NotValidYetContext { .. }
            ))
        ),
        "{:?}",
        r.state
    );
}

#[test]
fn tls13_only_client_against_tls12_maximum_fails() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls12, 1000);
    let (chain, key) = pki.device("new-laptop.wardgate.test");
    let peer = Peer::new(
        pki.client_config(&[&rustls::version::TLS13], chain, key),
        1000,
    );
    let r = run(&config, peer);
    let reason = assert_failure(&r);
    assert!(matches!(reason, FailureReason::Tls(_)), "{reason:?}");
    assert!(
        r.peer.tls_error.is_some(),
        "protocol_version alert reached the peer"
    );
}

#[test]
fn tls12_only_client_against_tls13_minimum_fails() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls13, TlsVersion::Tls13, 1000);
    let (chain, key) = pki.device("old-laptop.wardgate.test");
    let peer = Peer::new(
        pki.client_config(&[&rustls::version::TLS12], chain, key),
        1000,
    );
    let r = run(&config, peer);
    assert!(matches!(assert_failure(&r), FailureReason::Tls(_)));
}

#[test]
fn inverted_version_range_is_a_config_error() {
    let pki = Pki::new();
    let err = build_server_config(TlsSettings {
        cert_chain: vec![pki.server.cert.clone()],
        key: pki.server.key.clone_key(),
        client_roots: vec![pki.ca.der().clone()],
        crls: Vec::new(),
        min_version: TlsVersion::Tls13,
        max_version: TlsVersion::Tls12,
        time: None,
    });
    assert!(err.is_err());
}

/// Start a conversation and return the state awaiting the ClientHello, and the Start's identifier.
fn started(config: &EapTlsConfig) -> (EapTlsState, u8) {
    let Step { state, reply } = EapTlsState::start(config, 40).unwrap();
    let start = Packet::decode(&reply.unwrap()).unwrap();
    assert_eq!(start.data, [0x20]);
    assert!(matches!(state, EapTlsState::AwaitClientHello(_)));
    (state, start.identifier)
}

fn tls_response(id: u8, type_data: Vec<u8>) -> Vec<u8> {
    Packet::response(id, EapType::Tls, type_data)
        .encode()
        .unwrap()
}

fn expect_failure(step: Step, code: &str) {
    let reply = Packet::decode(&step.reply.unwrap()).unwrap();
    assert_eq!(reply.code, Code::Failure);
    match step.state {
        EapTlsState::Failed(reason) => assert_eq!(reason.code(), code, "{reason:?}"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn bad_length_field_fails() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);

    // L says 10 octets, the only fragment carries 3.
    let (state, id) = started(&config);
    let step = state.handle(&tls_response(
        id,
        vec![FLAG_LENGTH, 0, 0, 0, 10, 0x16, 3, 3],
    ));
    expect_failure(step, "eap-tls-malformed");

    // L bit with a truncated length.
    let (state, id) = started(&config);
    expect_failure(
        state.handle(&tls_response(id, vec![FLAG_LENGTH, 0, 0])),
        "eap-tls-malformed",
    );

    // Fragments that carry more than L announced.
    let (state, id) = started(&config);
    let step = state.handle(&tls_response(
        id,
        vec![FLAG_LENGTH | FLAG_MORE, 0, 0, 0, 4, 1, 2, 3],
    ));
    let ack = Packet::decode(&step.reply.unwrap()).unwrap();
    assert_eq!((ack.code, ack.data.as_slice()), (Code::Request, &[0u8][..]));
    let step = step
        .state
        .handle(&tls_response(ack.identifier, vec![0, 4, 5]));
    expect_failure(step, "eap-tls-malformed");

    // Truncated EAP packet (Length beyond the buffer).
    let (state, id) = started(&config);
    expect_failure(state.handle(&[2, id, 0, 40, 13, 0]), "eap-malformed");
}

#[test]
fn fragments_over_the_size_limit_fail() {
    let pki = Pki::new();
    let mut config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
    config.max_message_size = 3000;
    // Announced too large up front.
    let (state, id) = started(&config);
    let mut big = vec![FLAG_LENGTH | FLAG_MORE];
    big.extend_from_slice(&100_000u32.to_be_bytes());
    big.extend_from_slice(&[0x16; 100]);
    expect_failure(state.handle(&tls_response(id, big)), "eap-tls-malformed");

    // No L, fragments keep coming past the limit.
    let (mut state, mut id) = started(&config);
    for round in 0.. {
        let step = state.handle(&tls_response(id, {
            let mut d = vec![FLAG_MORE];
            d.extend_from_slice(&[0x16; 1000]);
            d
        }));
        let reply = Packet::decode(step.reply.as_ref().unwrap()).unwrap();
        if reply.code == Code::Failure {
            assert!(round >= 2);
            expect_failure(step, "eap-tls-malformed");
            break;
        }
        assert!(round < 3);
        id = reply.identifier;
        state = step.state;
    }
}

#[test]
fn nak_wrong_type_wrong_code_and_stale_identifier() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);

    let (state, id) = started(&config);
    let nak = Packet::nak(id, &[EapType::Peap]).encode().unwrap();
    let step = state.handle(&nak);
    assert!(
        matches!(&step.state, EapTlsState::Failed(FailureReason::PeerNak(t)) if t == &[EapType::Peap])
    );

    let (state, id) = started(&config);
    let md5 = Packet::response(id, EapType::Md5Challenge, vec![1])
        .encode()
        .unwrap();
    expect_failure(state.handle(&md5), "eap-unexpected-type");

    let (state, id) = started(&config);
    let req = Packet::request(id, EapType::Tls, vec![0]).encode().unwrap();
    expect_failure(state.handle(&req), "eap-unexpected-code");

    let (state, id) = started(&config);
    let stale = tls_response(id.wrapping_sub(1), vec![0]);
    let step = state.handle(&stale);
    assert!(step.reply.is_none());
    assert!(matches!(step.state, EapTlsState::AwaitClientHello(_)));

    let (state, id) = started(&config);
    expect_failure(
        state.handle(&tls_response(id, vec![0])),
        "eap-tls-protocol-violation",
    );

    let (state, id) = started(&config);
    let partial = tls_response(id, vec![0, 0x16, 3, 1, 0, 2, 0xff, 0xff]);
    expect_failure(state.handle(&partial), "eap-tls-protocol-violation");

    let (state, id) = started(&config);
    let garbage = tls_response(id, vec![0, 0x16, 3, 1, 0, 4, 0xff, 0, 0, 0]);
    let step = state.handle(&garbage);
    assert!(
        matches!(step.state, EapTlsState::AwaitAlertAck(_)),
        "{:?}",
        step.state
    );
    let alert = Packet::decode(&step.reply.unwrap()).unwrap();
    assert_eq!(alert.data.get(1), Some(&0x15), "TLS alert record");
    expect_failure(
        step.state.handle(&tls_response(alert.identifier, vec![0])),
        "tls-handshake-failed",
    );
}

#[test]
fn finished_states_ignore_further_input() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
    let (state, id) = started(&config);
    let step = state.handle(&tls_response(id, vec![0]));
    let again = step.state.handle(&tls_response(id, vec![0]));
    assert!(again.reply.is_none());
    assert!(again.state.is_finished());
}

/// Small xorshift generator: deterministic, no dependency on a seeded RNG API.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() as usize) % (max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Random input in every reachable state: a Failure, a discard or a next request; never a panic.
#[test]
fn random_input_in_every_state_never_panics() {
    let began = Instant::now();
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 200);
    let (chain, key) = pki.device("fuzz.wardgate.test");
    let client = pki.client_config(
        &[&rustls::version::TLS12, &rustls::version::TLS13],
        chain,
        key,
    );
    // A device of an unknown CA drives the server into AwaitAlertAck.
    let rogue = ca("Rogue CA");
    let intruder = leaf(
        "intruder.wardgate.test",
        ExtendedKeyUsagePurpose::ClientAuth,
        &rogue,
        false,
    );
    let rogue_client = pki.client_config(
        &[&rustls::version::TLS12, &rustls::version::TLS13],
        vec![intruder.cert],
        intruder.key,
    );
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut states_seen = std::collections::BTreeSet::new();
    // Walk a real conversation; at step `k`, replace the peer's response with random bytes.
    for k in 0..40 {
        for trial in 0..12 {
            let Step { mut state, reply } = EapTlsState::start(&config, 1).unwrap();
            let mut request = Packet::decode(&reply.unwrap()).unwrap();
            let client = if trial % 4 < 2 {
                &client
            } else {
                &rogue_client
            };
            let mut peer = Peer::new(Arc::clone(client), 200);
            for step_no in 0..k {
                if request.code != Code::Request {
                    break;
                }
                let step = state.handle(&peer.respond(&request));
                state = step.state;
                request = Packet::decode(&step.reply.unwrap()).unwrap();
                let _ = step_no;
            }
            if state.is_finished() {
                break;
            }
            states_seen.insert(
                format!("{state:?}")
                    .split('(')
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
            let mut junk = rng.bytes(300);
            // Half the time make it a well-formed EAP-TLS Response with the right identifier, so
            // the fragment and TLS layers see the random bytes.
            if trial % 2 == 0 {
                let mut data = junk;
                if let Some(first) = data.first_mut() {
                    *first &= FLAG_LENGTH | FLAG_MORE | 0x3f;
                }
                junk = tls_response(request.identifier, data);
            }
            let step = state.handle(&junk);
            if let Some(reply) = step.reply {
                let p = Packet::decode(&reply).unwrap();
                assert!(matches!(p.code, Code::Request | Code::Failure));
            }
        }
    }
    assert_eq!(states_seen.len(), 5, "{states_seen:?}");
    eprintln!("states exercised: {states_seen:?} in {:?}", began.elapsed());
}

#[test]
fn tls13_only_server_succeeds() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls13, TlsVersion::Tls13, 1000);
    let (chain, key) = pki.device("pump-9.wardgate.test");
    let client = pki.client_config(
        &[&rustls::version::TLS12, &rustls::version::TLS13],
        chain,
        key,
    );
    let r = run(&config, Peer::new(client, 1000));
    assert_success(&r, ProtocolVersion::TLSv1_3);
}

#[test]
fn revoked_client_certificate_fails() {
    let mut pki = Pki::new();
    let mut params = CertificateParams::new(vec!["stolen.wardgate.test".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.serial_number = Some(SerialNumber::from(0x4242u64));
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &pki.ca).unwrap();
    let crl = CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2090, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(0x4242u64),
            revocation_time: rcgen::date_time_ymd(2025, 1, 1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&pki.ca)
    .unwrap();
    pki.crls = vec![crl.der().clone()];
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
    let client = pki.client_config(
        &[&rustls::version::TLS12],
        vec![cert.der().clone()],
        key_der(&key),
    );
    let r = run(&config, Peer::new(client, 1000));
    assert!(
        matches!(
            assert_failure(&r),
            FailureReason::Tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked
            ))
        ),
        "{:?}",
        r.state
    );
    assert!(r.peer.tls_error.is_some(), "alert reached the peer");

    // A device of the same CA that is not on the CRL still gets in.
    let (chain, key) = pki.device("fine.wardgate.test");
    let client = pki.client_config(&[&rustls::version::TLS12], chain, key);
    assert_success(
        &run(&config, Peer::new(client, 1000)),
        ProtocolVersion::TLSv1_2,
    );
}

#[test]
fn tls_data_instead_of_the_final_ack_fails() {
    let pki = Pki::new();
    let config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 1000);
    let (chain, key) = pki.device("laptop.wardgate.test");
    let client = pki.client_config(&[&rustls::version::TLS13], chain, key);
    let mut peer = Peer::new(client, 1000);
    let Step { mut state, reply } = EapTlsState::start(&config, 1).unwrap();
    let mut request = Packet::decode(&reply.unwrap()).unwrap();
    while !matches!(state, EapTlsState::AwaitFinalAck(_)) {
        let step = state.handle(&peer.respond(&request));
        state = step.state;
        request = Packet::decode(&step.reply.unwrap()).unwrap();
    }
    // A close_notify alert record where the empty ACK belongs.
    let alert = tls_response(request.identifier, vec![0, 0x15, 3, 3, 0, 2, 1, 0]);
    let step = state.handle(&alert);
    let reply = Packet::decode(&step.reply.unwrap()).unwrap();
    assert_eq!(reply.code, Code::Failure);
    assert!(matches!(step.state, EapTlsState::Failed(_)));
}

#[test]
fn always_include_length_puts_l_on_single_fragment_messages() {
    let pki = Pki::new();
    let mut config = pki.server_config(TlsVersion::Tls12, TlsVersion::Tls13, 16_000);
    config.always_include_length = true;
    let (chain, key) = pki.device("ws-7.wardgate.test");
    let client = pki.client_config(&[&rustls::version::TLS12], chain, key);
    let r = run(&config, Peer::new(client, 16_000));
    assert_success(&r, ProtocolVersion::TLSv1_2);
    assert!(r.peer.saw_length_flag);
    assert_eq!(
        r.peer.fragments_sent, 2,
        "ClientHello and the second flight, unfragmented"
    );
}
