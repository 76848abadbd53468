//! MAC Authentication Bypass: recognising a MAB request, finding its MAC, and checking the
//! password the way the NAS's `mab_password` setting says.

use crate::config::MabPassword;
use md5::{Digest, Md5};
use wardgate_radius::{Packet, SharedSecret, attr, decrypt_user_password};
use wardgate_types::MacAddr;

const EAP_RESPONSE: u8 = 2;
const EAP_TYPE_IDENTITY: u8 = 1;

/// What kind of Access-Request this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// MAB, with the MAC the switch saw.
    Mab { mac: MacAddr, via_eap: bool },
    /// Looks like MAB (Call-Check or no EAP) but carries no MAC in Calling-Station-Id or User-Name.
    MabWithoutMac,
    /// 802.1X (EAP with a user identity): not MAB.
    Eap,
}

/// Classifies a request as PROTOCOL-NOTES "MAB" says: Service-Type Call-Check, or no EAP-Message,
/// or EAP whose identity equals the calling MAC. A Call-Check request carries no EAP, so the
/// second test covers the first; switches that send no Service-Type are MAB all the same.
/// EAP with a State of the shape EAP-MD5 MAB issues continues that conversation (the State
/// itself is checked by [`crate::eap_mab`]).
pub fn classify(req: &Packet) -> Kind {
    let calling = req
        .attr(attr::CALLING_STATION_ID)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| MacAddr::parse(s).ok());
    if let Some(eap) = req.concat(attr::EAP_MESSAGE) {
        let identity_mac = eap_identity(&eap).and_then(|id| MacAddr::parse(id).ok());
        let ours = req
            .attr(attr::STATE)
            .is_some_and(crate::eap_mab::looks_like_our_state);
        return match (identity_mac, calling) {
            (Some(id), Some(c)) if id == c => Kind::Mab {
                mac: c,
                via_eap: true,
            },
            (_, Some(c)) if ours => Kind::Mab {
                mac: c,
                via_eap: true,
            },
            _ => Kind::Eap,
        };
    }
    // No EAP: MAB whatever the Service-Type says (some switches send none).
    let user = req
        .attr(attr::USER_NAME)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| MacAddr::parse(s).ok());
    match calling.or(user) {
        Some(mac) => Kind::Mab {
            mac,
            via_eap: false,
        },
        None => Kind::MabWithoutMac,
    }
}

/// The identity of an EAP-Response/Identity, if that is what the packet is.
pub fn eap_identity(eap: &[u8]) -> Option<&str> {
    if eap.len() < 5 || eap[0] != EAP_RESPONSE || eap[4] != EAP_TYPE_IDENTITY {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([eap[2], eap[3]]));
    let body = eap.get(5..len.min(eap.len()))?;
    std::str::from_utf8(body).ok()
}

/// Why a MAB password check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordFailure {
    Missing,
    Wrong,
    Malformed,
}

impl PasswordFailure {
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::Missing => "mab-password-missing",
            Self::Wrong => "mab-password-wrong",
            Self::Malformed => "mab-password-malformed",
        }
    }
}

/// Checks the MAB password (PAP or CHAP) against the MAC as the client's setting says. MAB over
/// EAP checks its EAP-MD5 response in [`crate::eap_mab`] instead.
pub fn check_password(
    req: &Packet,
    mac: MacAddr,
    mode: MabPassword,
    secret: &SharedSecret,
) -> Result<(), PasswordFailure> {
    if mode == MabPassword::Ignore {
        return Ok(());
    }
    if let Some(cipher) = req.attr(attr::USER_PASSWORD) {
        let plain = decrypt_user_password(cipher, secret, &req.authenticator)
            .map_err(|_| PasswordFailure::Malformed)?;
        let text = std::str::from_utf8(&plain).map_err(|_| PasswordFailure::Wrong)?;
        return match MacAddr::parse(text) {
            Ok(p) if p == mac => Ok(()),
            _ => Err(PasswordFailure::Wrong),
        };
    }
    if let Some(chap) = req.attr(attr::CHAP_PASSWORD) {
        if chap.len() != 17 {
            return Err(PasswordFailure::Malformed);
        }
        let challenge = req
            .attr(attr::CHAP_CHALLENGE)
            .unwrap_or(&req.authenticator[..]);
        // The switch hashed the MAC in the spelling it uses: the User-Name's, or a usual one.
        let mut candidates: Vec<String> = vec![
            mac.to_bare_lower(),
            mac.to_bare_lower().to_uppercase(),
            mac.to_colon_lower(),
            mac.to_colon_lower().to_uppercase(),
            mac.to_string(),
            mac.to_string().to_lowercase(),
        ];
        // The User-Name's own spelling, but only when it is this same MAC: "the password is
        // the MAC" must mean the same for CHAP as for PAP.
        if let Some(u) = req
            .attr(attr::USER_NAME)
            .and_then(|v| std::str::from_utf8(v).ok())
            .filter(|u| MacAddr::parse(u).ok() == Some(mac))
        {
            candidates.insert(0, u.to_string());
        }
        let ok = candidates.iter().any(|pw| {
            let mut h = Md5::new();
            h.update([chap[0]]);
            h.update(pw.as_bytes());
            h.update(challenge);
            h.finalize().as_slice() == &chap[1..]
        });
        return if ok {
            Ok(())
        } else {
            Err(PasswordFailure::Wrong)
        };
    }
    Err(PasswordFailure::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wardgate_radius::{Code, encrypt_user_password};

    fn request(attrs: &[(u8, &[u8])]) -> Packet {
        let mut p = Packet::new(Code::ACCESS_REQUEST, 7, [9u8; 16]);
        for (t, v) in attrs {
            p.add(*t, v.to_vec());
        }
        p
    }

    #[test]
    fn call_check_without_eap_is_mab_and_takes_calling_station_id() {
        let p = request(&[
            (attr::USER_NAME, b"aabbccddeeff"),
            (attr::SERVICE_TYPE, &10u32.to_be_bytes()),
            (attr::CALLING_STATION_ID, b"AA-BB-CC-DD-EE-FF"),
        ]);
        assert_eq!(
            classify(&p),
            Kind::Mab {
                mac: "aabbccddeeff".parse().unwrap(),
                via_eap: false
            }
        );
    }

    #[test]
    fn eap_identity_equal_to_calling_mac_is_mab_other_identity_is_eap() {
        let eap_id = |id: &str| {
            let mut e = vec![2u8, 1, 0, 0, 1];
            e.extend_from_slice(id.as_bytes());
            let l = u16::try_from(e.len()).unwrap().to_be_bytes();
            e[2] = l[0];
            e[3] = l[1];
            e
        };
        let mab = request(&[
            (attr::CALLING_STATION_ID, b"aa-bb-cc-dd-ee-ff"),
            (attr::EAP_MESSAGE, &eap_id("aabbccddeeff")),
        ]);
        assert!(matches!(classify(&mab), Kind::Mab { via_eap: true, .. }));
        let dot1x = request(&[
            (attr::CALLING_STATION_ID, b"aa-bb-cc-dd-ee-ff"),
            (attr::EAP_MESSAGE, &eap_id("host/ws-042.hospital.example")),
        ]);
        assert_eq!(classify(&dot1x), Kind::Eap);
    }

    #[test]
    fn eap_md5_response_with_our_state_shape_continues_mab() {
        let md5_response = [
            2u8, 10, 0, 22, 4, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ];
        let mut ours = vec![1u8];
        ours.resize(crate::eap_mab::STATE_LEN, 0);
        let p = request(&[
            (attr::CALLING_STATION_ID, b"00-1B-54-00-00-42"),
            (attr::EAP_MESSAGE, &md5_response),
            (attr::STATE, &ours),
        ]);
        assert_eq!(
            classify(&p),
            Kind::Mab {
                mac: "001b54000042".parse().unwrap(),
                via_eap: true
            }
        );
        // Someone else's State (another EAP method's): not MAB.
        let p = request(&[
            (attr::CALLING_STATION_ID, b"00-1B-54-00-00-42"),
            (attr::EAP_MESSAGE, &md5_response),
            (attr::STATE, b"peap-session-17"),
        ]);
        assert_eq!(classify(&p), Kind::Eap);
        // Our State but no calling MAC to bind it to.
        let p = request(&[(attr::EAP_MESSAGE, &md5_response), (attr::STATE, &ours)]);
        assert_eq!(classify(&p), Kind::Eap);
    }

    #[test]
    fn no_mac_anywhere() {
        let p = request(&[(attr::USER_NAME, b"bob")]);
        assert_eq!(classify(&p), Kind::MabWithoutMac);
    }

    #[test]
    fn pap_password_in_any_spelling_of_the_mac() {
        let secret = SharedSecret::new(b"testing123".to_vec());
        let mac: MacAddr = "aa:bb:cc:dd:ee:ff".parse().unwrap();
        for pw in ["aabbccddeeff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff"] {
            let c = encrypt_user_password(pw.as_bytes(), &secret, &[9u8; 16]).unwrap();
            let p = request(&[(attr::USER_PASSWORD, &c)]);
            assert_eq!(check_password(&p, mac, MabPassword::Mac, &secret), Ok(()));
        }
        let c = encrypt_user_password(b"112233445566", &secret, &[9u8; 16]).unwrap();
        let p = request(&[(attr::USER_PASSWORD, &c)]);
        assert_eq!(
            check_password(&p, mac, MabPassword::Mac, &secret),
            Err(PasswordFailure::Wrong)
        );
        assert_eq!(
            check_password(&p, mac, MabPassword::Ignore, &secret),
            Ok(())
        );
        let none = request(&[]);
        assert_eq!(
            check_password(&none, mac, MabPassword::Mac, &secret),
            Err(PasswordFailure::Missing)
        );
    }

    #[test]
    fn chap_password_equal_to_a_user_name_that_is_not_the_mac_is_refused() {
        let secret = SharedSecret::new(b"testing123".to_vec());
        let mac: MacAddr = "00:09:fb:12:34:57".parse().unwrap();
        let challenge = [5u8; 16];
        let mut h = Md5::new();
        h.update([1]);
        h.update(b"bob");
        h.update(challenge);
        let mut chap = vec![1];
        chap.extend_from_slice(&h.finalize());
        let p = request(&[
            (attr::USER_NAME, b"bob"),
            (attr::CHAP_PASSWORD, &chap),
            (attr::CHAP_CHALLENGE, &challenge),
        ]);
        assert_eq!(
            check_password(&p, mac, MabPassword::Mac, &secret),
            Err(PasswordFailure::Wrong)
        );
    }

    #[test]
    fn chap_password_over_the_user_name_spelling() {
        let secret = SharedSecret::new(b"testing123".to_vec());
        let mac: MacAddr = "aa:bb:cc:dd:ee:ff".parse().unwrap();
        let challenge = [5u8; 16];
        let mut h = Md5::new();
        h.update([0x42]);
        h.update(b"AABB.CCDD.EEFF");
        h.update(challenge);
        let mut chap = vec![0x42];
        chap.extend_from_slice(&h.finalize());
        let p = request(&[
            (attr::USER_NAME, b"AABB.CCDD.EEFF"),
            (attr::CHAP_PASSWORD, &chap),
            (attr::CHAP_CHALLENGE, &challenge),
        ]);
        assert_eq!(check_password(&p, mac, MabPassword::Mac, &secret), Ok(()));
        chap[5] ^= 1;
        let p = request(&[
            (attr::USER_NAME, b"AABB.CCDD.EEFF"),
            (attr::CHAP_PASSWORD, &chap),
            (attr::CHAP_CHALLENGE, &challenge),
        ]);
        assert_eq!(
            check_password(&p, mac, MabPassword::Mac, &secret),
            Err(PasswordFailure::Wrong)
        );
    }
}
