use super::*;
use crate::attr::*;
use crate::dictionary::Dictionary;
use crate::testutil::{FIXTURES, Rng, auth_of, fixture, shipped_dictionary_path, unhex};
use crate::{
    MessageAuthenticator, check_message_authenticator, decrypt_user_password,
    encrypt_user_password, vendor, verify_request_authenticator, verify_response_authenticator,
};

// RFC 2865 section 7.1: User Telnet to Specified Host (secret "xyzzy5461").
const RFC2865_7_1_REQUEST: &str = "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
    98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee
    04 06 c0 a8 01 10 05 06 00 00 00 03";
const RFC2865_7_1_ACCEPT: &str = "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
    9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03";

fn secret() -> SharedSecret {
    SharedSecret::new("xyzzy5461")
}

#[test]
fn rfc2865_7_1_access_request() {
    let raw = unhex(RFC2865_7_1_REQUEST);
    let p = Packet::decode(&raw).unwrap();
    assert_eq!(p.code, Code::ACCESS_REQUEST);
    assert_eq!(p.identifier, 0);
    assert_eq!(p.attributes.len(), 4);
    assert_eq!(p.attr(USER_NAME), Some(&b"nemo"[..]));
    assert_eq!(p.attr(NAS_IP_ADDRESS), Some(&[192, 168, 1, 16][..]));
    assert_eq!(p.attr(NAS_PORT), Some(&[0, 0, 0, 3][..]));
    let pw =
        decrypt_user_password(p.attr(USER_PASSWORD).unwrap(), &secret(), &p.authenticator).unwrap();
    assert_eq!(pw, b"arctangent");
    // Encrypting gives the RFC's ciphertext back.
    let c = encrypt_user_password(b"arctangent", &secret(), &p.authenticator).unwrap();
    assert_eq!(c, p.attr(USER_PASSWORD).unwrap());
    // Re-encoding the decoded request gives the same octets.
    assert_eq!(p.encode_request(&secret(), false).unwrap(), raw);
    assert_eq!(
        check_message_authenticator(&raw, &secret(), None),
        MessageAuthenticator::Absent
    );
}

#[test]
fn rfc2865_7_1_access_accept_response_authenticator() {
    let req = unhex(RFC2865_7_1_REQUEST);
    let accept = unhex(RFC2865_7_1_ACCEPT);
    let req_auth = auth_of(&req);
    assert!(verify_response_authenticator(&accept, &req_auth, &secret()));
    assert!(!verify_response_authenticator(
        &accept,
        &req_auth,
        &SharedSecret::new("xyzzy5462")
    ));
    assert!(!verify_response_authenticator(&accept, &[0; 16], &secret()));
    // Our signing reproduces the RFC octets.
    let mut buf = accept.clone();
    buf[4..20].copy_from_slice(&req_auth);
    crate::auth::sign_authenticator(&mut buf, &secret());
    assert_eq!(buf, accept);
    let p = Packet::decode(&accept).unwrap();
    assert_eq!(p.attr(SERVICE_TYPE), Some(&[0, 0, 0, 1][..]));
    assert_eq!(p.attr(LOGIN_IP_HOST), Some(&[192, 168, 1, 3][..]));
}

#[test]
fn decode_errors() {
    let good = unhex(RFC2865_7_1_REQUEST);
    assert_eq!(
        Packet::decode(&good[..19]),
        Err(DecodeError::TooShort { len: 19 })
    );
    let mut bad = good.clone();
    bad[2..4].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(
        Packet::decode(&bad),
        Err(DecodeError::BadLength { length: 19 })
    );
    bad[2..4].copy_from_slice(&4097u16.to_be_bytes());
    assert_eq!(
        Packet::decode(&bad),
        Err(DecodeError::BadLength { length: 4097 })
    );
    assert_eq!(
        Packet::decode(&good[..55]),
        Err(DecodeError::Truncated {
            length: 56,
            received: 55
        })
    );
    // Attribute length 1 and 0.
    let mut bad = good.clone();
    bad[21] = 1;
    assert_eq!(
        Packet::decode(&bad),
        Err(DecodeError::AttributeTooShort {
            offset: 20,
            length: 1
        })
    );
    bad[21] = 0;
    assert!(matches!(
        Packet::decode(&bad),
        Err(DecodeError::AttributeTooShort { .. })
    ));
    // Last attribute running past Length.
    let mut bad = good.clone();
    bad[51] = 7;
    assert_eq!(
        Packet::decode(&bad),
        Err(DecodeError::AttributeOverrun { offset: 50 })
    );
    // A lone type octet at the end.
    let mut bad = good.clone();
    bad.push(1);
    bad[2..4].copy_from_slice(&57u16.to_be_bytes());
    assert_eq!(
        Packet::decode(&bad),
        Err(DecodeError::AttributeOverrun { offset: 56 })
    );
    // Padding past Length is ignored; a header-only packet is fine.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0xAA; 100]);
    assert_eq!(
        Packet::decode(&padded).unwrap(),
        Packet::decode(&good).unwrap()
    );
    let mut header_only = good[..20].to_vec();
    header_only[2..4].copy_from_slice(&20u16.to_be_bytes());
    assert!(Packet::decode(&header_only).unwrap().attributes.is_empty());
}

#[test]
fn long_attribute_split_and_joined() {
    let value: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
    let mut p = Packet::new(Code::ACCESS_CHALLENGE, 7, [3; 16]);
    p.add_split(EAP_MESSAGE, &value);
    p.add(STATE, b"s1".to_vec());
    let lens: Vec<usize> = p.attrs(EAP_MESSAGE).map(<[u8]>::len).collect();
    assert_eq!(lens, [253, 253, 94]);
    assert_eq!(p.concat(EAP_MESSAGE).unwrap(), value);
    assert_eq!(p.concat(CLASS), None);
    let wire = p.encode_reply(&[3; 16], &secret()).unwrap();
    let back = Packet::decode(&wire).unwrap();
    assert_eq!(back.concat(EAP_MESSAGE).unwrap(), value);
    // An unsplit long value is an encode error.
    let mut p = Packet::new(Code::ACCESS_ACCEPT, 7, [3; 16]);
    p.add(EAP_MESSAGE, value);
    assert_eq!(
        p.encode_reply(&[3; 16], &secret()),
        Err(EncodeError::AttributeTooLong {
            typ: EAP_MESSAGE,
            len: 600
        })
    );
}

#[test]
fn packet_over_4096_is_refused() {
    let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
    for _ in 0..16 {
        p.add(CLASS, vec![0; 253]);
    }
    // 20 + 18 (MA) + 16 * 255 = 4118.
    assert_eq!(
        p.encode_reply(&[0; 16], &secret()),
        Err(EncodeError::PacketTooLong { len: 4118 })
    );
    p.attributes.pop();
    assert_eq!(p.encode_reply(&[0; 16], &secret()).unwrap().len(), 3863);
}

#[test]
fn encode_reply_puts_message_authenticator_first() {
    let req = fixture("auth-pap-ma.bin");
    let request = Packet::decode(&req).unwrap();
    for code in [
        Code::ACCESS_ACCEPT,
        Code::ACCESS_REJECT,
        Code::ACCESS_CHALLENGE,
    ] {
        let mut reply = Packet::reply_to(&request, code);
        reply.add(TUNNEL_TYPE, tagged_integer(0, 13));
        // A stale Message-Authenticator in the middle is replaced.
        reply.add(MESSAGE_AUTHENTICATOR, vec![0xEE; 16]);
        reply.add(TUNNEL_PRIVATE_GROUP_ID, tagged_string(0, b"120", false));
        let wire = reply
            .encode_reply(&request.authenticator, &secret())
            .unwrap();
        let back = Packet::decode(&wire).unwrap();
        assert_eq!(back.code, code);
        assert_eq!(back.identifier, request.identifier);
        assert_eq!(back.attributes[0].typ, MESSAGE_AUTHENTICATOR);
        assert_eq!(back.attrs(MESSAGE_AUTHENTICATOR).count(), 1);
        assert_eq!(back.attributes.len(), 3);
        assert!(verify_response_authenticator(
            &wire,
            &request.authenticator,
            &secret()
        ));
        assert_eq!(
            check_message_authenticator(&wire, &secret(), Some(&request.authenticator)),
            MessageAuthenticator::Valid
        );
        assert_eq!(
            check_message_authenticator(
                &wire,
                &SharedSecret::new("other"),
                Some(&request.authenticator)
            ),
            MessageAuthenticator::Invalid
        );
        assert_eq!(
            check_message_authenticator(&wire, &secret(), Some(&[0; 16])),
            MessageAuthenticator::Invalid
        );
    }
}

#[test]
fn other_replies_get_message_authenticator_only_if_asked() {
    let req_auth = [9u8; 16];
    let plain = Packet::new(Code::ACCOUNTING_RESPONSE, 5, req_auth);
    let wire = plain.encode_reply(&req_auth, &secret()).unwrap();
    assert_eq!(wire.len(), 20);
    assert!(verify_response_authenticator(&wire, &req_auth, &secret()));
    assert_eq!(
        check_message_authenticator(&wire, &secret(), Some(&req_auth)),
        MessageAuthenticator::Absent
    );

    let mut ack = Packet::new(Code::COA_ACK, 5, req_auth);
    ack.add(MESSAGE_AUTHENTICATOR, vec![0; 16]);
    let wire = ack.encode_reply(&req_auth, &secret()).unwrap();
    assert_eq!(wire[20], MESSAGE_AUTHENTICATOR);
    assert!(verify_response_authenticator(&wire, &req_auth, &secret()));
    assert_eq!(
        check_message_authenticator(&wire, &secret(), Some(&req_auth)),
        MessageAuthenticator::Valid
    );
}

#[test]
fn encode_request_access_and_accounting_styles() {
    let auth = [0x5A; 16];
    let mut req = Packet::new(Code::ACCESS_REQUEST, 42, auth);
    req.add(USER_NAME, b"nemo".to_vec());
    req.add(
        USER_PASSWORD,
        encrypt_user_password("pässwörd".as_bytes(), &secret(), &auth).unwrap(),
    );
    let wire = req.encode_request(&secret(), true).unwrap();
    assert_eq!(&wire[4..20], &auth);
    assert_eq!(wire[20], MESSAGE_AUTHENTICATOR);
    assert_eq!(
        check_message_authenticator(&wire, &secret(), None),
        MessageAuthenticator::Valid
    );
    let back = Packet::decode(&wire).unwrap();
    let pw = decrypt_user_password(
        back.attr(USER_PASSWORD).unwrap(),
        &secret(),
        &back.authenticator,
    )
    .unwrap();
    assert_eq!(String::from_utf8(pw).unwrap(), "pässwörd");
    let no_ma = req.encode_request(&secret(), false).unwrap();
    assert_eq!(
        check_message_authenticator(&no_ma, &secret(), None),
        MessageAuthenticator::Absent
    );

    for code in [
        Code::ACCOUNTING_REQUEST,
        Code::COA_REQUEST,
        Code::DISCONNECT_REQUEST,
    ] {
        let mut p = Packet::new(code, 3, [0xFF; 16]);
        p.add(ACCT_SESSION_ID, b"0000001A".to_vec());
        for with_ma in [false, true] {
            let wire = p.encode_request(&secret(), with_ma).unwrap();
            assert!(verify_request_authenticator(&wire, &secret()), "{code}");
            assert!(!verify_request_authenticator(
                &wire,
                &SharedSecret::new("x")
            ));
            let expect = if with_ma {
                MessageAuthenticator::Valid
            } else {
                MessageAuthenticator::Absent
            };
            assert_eq!(
                check_message_authenticator(&wire, &secret(), None),
                expect,
                "{code}"
            );
        }
    }
}

#[test]
fn message_authenticator_duplicates_and_bad_length_are_invalid() {
    let mut p = Packet::new(Code::ACCESS_REQUEST, 1, [1; 16]);
    p.add(USER_NAME, b"x".to_vec());
    let wire = p.encode_request(&secret(), true).unwrap();
    // Append a second Message-Authenticator.
    let mut two = wire.clone();
    two.extend_from_slice(&wire[20..38]);
    let len = two.len() as u16;
    two[2..4].copy_from_slice(&len.to_be_bytes());
    assert_eq!(
        check_message_authenticator(&two, &secret(), None),
        MessageAuthenticator::Invalid
    );
    // A 15-octet one.
    let mut short = Packet::new(Code::ACCESS_REQUEST, 1, [1; 16]);
    short.add(MESSAGE_AUTHENTICATOR, vec![0; 15]);
    let raw = short.encode_attributes().unwrap();
    let mut pkt = vec![1, 1, 0, (20 + raw.len()) as u8];
    pkt.extend_from_slice(&[1; 16]);
    pkt.extend_from_slice(&raw);
    assert_eq!(
        check_message_authenticator(&pkt, &secret(), None),
        MessageAuthenticator::Invalid
    );
    // Malformed packets are Invalid, never a panic.
    assert_eq!(
        check_message_authenticator(&wire[..10], &secret(), None),
        MessageAuthenticator::Invalid
    );
    assert!(!verify_request_authenticator(&wire[..10], &secret()));
}

#[test]
fn radclient_requests_verify() {
    let s = secret();
    let wrong = SharedSecret::new("testing123");
    for name in [
        "auth-pap-ma.bin",
        "auth-mab-cisco-ma.bin",
        "auth-eap-identity-ma.bin",
        "coa-request-cisco-reauth.bin",
    ] {
        let raw = fixture(name);
        assert_eq!(
            check_message_authenticator(&raw, &s, None),
            MessageAuthenticator::Valid,
            "{name}"
        );
        assert_eq!(
            check_message_authenticator(&raw, &wrong, None),
            MessageAuthenticator::Invalid,
            "{name}"
        );
    }
    for name in [
        "acct-start-cisco.bin",
        "coa-request-cisco-reauth.bin",
        "disconnect-request.bin",
    ] {
        let raw = fixture(name);
        assert!(verify_request_authenticator(&raw, &s), "{name}");
        assert!(!verify_request_authenticator(&raw, &wrong), "{name}");
    }
    assert_eq!(
        check_message_authenticator(&fixture("acct-start-cisco.bin"), &s, None),
        MessageAuthenticator::Absent
    );

    let pap = Packet::decode(&fixture("auth-pap-ma.bin")).unwrap();
    let pw =
        decrypt_user_password(pap.attr(USER_PASSWORD).unwrap(), &s, &pap.authenticator).unwrap();
    assert_eq!(pw, b"arctangent");

    let mab = Packet::decode(&fixture("auth-mab-cisco-ma.bin")).unwrap();
    let pw =
        decrypt_user_password(mab.attr(USER_PASSWORD).unwrap(), &s, &mab.authenticator).unwrap();
    assert_eq!(pw, b"aabbccddeeff");
    let avpairs: Vec<&[u8]> = mab
        .vsas()
        .filter(|v| v.vendor == vendor::CISCO && v.typ == 1)
        .map(|v| v.value)
        .collect();
    assert_eq!(
        avpairs,
        [
            &b"service-type=Call Check"[..],
            b"audit-session-id=0A00000200000012ABCD",
            b"method=mab"
        ]
    );

    let eap = Packet::decode(&fixture("auth-eap-identity-ma.bin")).unwrap();
    assert_eq!(
        eap.concat(EAP_MESSAGE).unwrap(),
        b"\x02\x01\x00\x09\x01nemo"
    );
}

#[test]
fn freeradius_replies_verify() {
    let s = secret();
    let cases = [
        (
            "freeradius-accept-vlan-for-auth-pap-ma.bin",
            "auth-pap-ma.bin",
            MessageAuthenticator::Absent,
        ),
        (
            "freeradius-challenge-for-auth-eap-identity-ma.bin",
            "auth-eap-identity-ma.bin",
            MessageAuthenticator::Valid,
        ),
        (
            "freeradius-reject-for-auth-mab-cisco-ma.bin",
            "auth-mab-cisco-ma.bin",
            MessageAuthenticator::Absent,
        ),
    ];
    for (reply, request, ma) in cases {
        let raw = fixture(reply);
        let req_auth = auth_of(&fixture(request));
        assert!(
            verify_response_authenticator(&raw, &req_auth, &s),
            "{reply}"
        );
        assert!(
            !verify_response_authenticator(&raw, &[0; 16], &s),
            "{reply}"
        );
        assert_eq!(
            check_message_authenticator(&raw, &s, Some(&req_auth)),
            ma,
            "{reply}"
        );
    }
    // FreeRADIUS writes the VLAN triple exactly as we do.
    let accept = fixture("freeradius-accept-vlan-for-auth-pap-ma.bin");
    let p = Packet::decode(&accept).unwrap();
    assert_eq!(p.attr(TUNNEL_TYPE), Some(&tagged_integer(0, 13)[..]));
    assert_eq!(p.attr(TUNNEL_MEDIUM_TYPE), Some(&tagged_integer(0, 6)[..]));
    assert_eq!(p.attr(TUNNEL_PRIVATE_GROUP_ID), Some(&b"120"[..]));
    assert_eq!(
        p.vsa(vendor::CISCO, 1),
        Some(&b"device-traffic-class=voice"[..])
    );
    // Rebuilding that reply ourselves verifies the same way (plus our MA first).
    let request = Packet::decode(&fixture("auth-pap-ma.bin")).unwrap();
    let mut ours = Packet::reply_to(&request, Code::ACCESS_ACCEPT);
    ours.attributes = p.attributes.clone();
    let wire = ours.encode_reply(&request.authenticator, &s).unwrap();
    assert_eq!(&wire[38..], &accept[20..]);
    assert!(verify_response_authenticator(
        &wire,
        &request.authenticator,
        &s
    ));
}

#[test]
fn proxy_state_copied_in_order() {
    let mut req = Packet::new(Code::ACCESS_REQUEST, 1, [0; 16]);
    req.add(PROXY_STATE, b"a".to_vec());
    req.add(USER_NAME, b"u".to_vec());
    req.add(PROXY_STATE, b"b".to_vec());
    let mut reply = Packet::reply_to(&req, Code::ACCESS_REJECT);
    assert!(reply.attributes.is_empty());
    reply.copy_proxy_state(&req);
    assert_eq!(
        reply.attrs(PROXY_STATE).collect::<Vec<_>>(),
        [&b"a"[..], b"b"]
    );
}

/// Decodes every truncation and 20,000 random mutations of the fixtures, and runs the
/// checks and the dictionary description on them: nothing may panic.
#[test]
fn decode_never_panics_on_mutations() {
    let dict = Dictionary::load(&shipped_dictionary_path()).unwrap();
    let s = secret();
    let fixtures: Vec<Vec<u8>> = FIXTURES.iter().map(|n| fixture(n)).collect();
    let exercise = |buf: &[u8]| {
        if let Ok(p) = Packet::decode(buf) {
            let _ = dict.describe(&p);
            let _ = p.vsas().count();
            let _ = p.encode_request(&s, true);
            let _ = p.encode_reply(&[0; 16], &s);
        }
        let _ = check_message_authenticator(buf, &s, None);
        let _ = check_message_authenticator(buf, &s, Some(&[1; 16]));
        let _ = verify_request_authenticator(buf, &s);
        let _ = verify_response_authenticator(buf, &[1; 16], &s);
    };
    for f in &fixtures {
        for n in 0..=f.len() {
            exercise(&f[..n]);
        }
    }
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut decoded = 0;
    for _ in 0..20_000 {
        let mut buf = fixtures[rng.below(fixtures.len())].clone();
        match rng.below(4) {
            0 => {
                // Random octets.
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(buf.len());
                    buf[i] = rng.next() as u8;
                }
            }
            1 if buf.len() > 21 => {
                // An attribute length octet.
                let i = 21 + rng.below(buf.len() - 21);
                buf[i] = rng.next() as u8;
            }
            2 => {
                // The header Length, with the datagram grown or cut.
                let len = rng.below(4200) as u16;
                buf[2..4].copy_from_slice(&len.to_be_bytes());
                buf.resize(rng.below(4200).max(1), rng.next() as u8);
            }
            3 if buf.len() > 20 => {
                // Inject a Message-Authenticator or VSA header in the body.
                let i = 20 + rng.below(buf.len() - 20);
                let patch: &[u8] = if rng.below(2) == 0 {
                    &[80, 18]
                } else {
                    &[26, 8, 0, 0, 0, 9, 1, 2]
                };
                for (j, b) in patch.iter().enumerate() {
                    if let Some(slot) = buf.get_mut(i + j) {
                        *slot = *b;
                    }
                }
            }
            _ => buf.truncate(rng.below(buf.len() + 1)),
        }
        if Packet::decode(&buf).is_ok() {
            decoded += 1;
        }
        exercise(&buf);
    }
    // The mutations reach the decoder's success path as well as its errors.
    assert!(decoded > 1000, "only {decoded} mutations decoded");
}
