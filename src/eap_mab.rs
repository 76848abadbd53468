//! EAP-MD5 for MAB over RADIUS (Cisco `mab eap`, Dell's default): the EAP framing it needs
//! (RFC 3748 4, 5.4), the CHAP-style hash (RFC 1994), and a self-validating RADIUS State
//! (RFC 3579) so that no session table is kept. A state machine without I/O, randomness or clock:
//! feed the EAP bytes, the State and `now`, get the reply's EAP bytes and the next State.

use crate::config::MabPassword;
use md5::{Digest, Md5};
use std::fmt;
use std::sync::OnceLock;
use wardgate_types::MacAddr;

/// EAP codes (RFC 3748 4).
const EAP_REQUEST: u8 = 1;
const EAP_RESPONSE: u8 = 2;
const EAP_SUCCESS: u8 = 3;
const EAP_FAILURE: u8 = 4;
/// EAP types (RFC 3748 5).
const TYPE_IDENTITY: u8 = 1;
const TYPE_NAK: u8 = 3;
const TYPE_MD5_CHALLENGE: u8 = 4;

/// The Name we put in our MD5-Challenge (RFC 3748 5.4: optional, identifies the server).
const SERVER_NAME: &[u8] = b"wardgate";

/// How long a State is good for: FreeRADIUS's EAP timeout (PROTOCOL-NOTES "EAP over RADIUS").
pub const STATE_LIFETIME_SECS: u64 = 60;
/// A State issued this far in the future (clock stepped back) is still honoured; more is not.
const CLOCK_SKEW_SECS: u64 = 5;

/// State layout: version(1) || issued_at_secs(8, big endian) || challenge(16) || eap_id(1) ||
/// HMAC-MD5(key, those 26 octets || MAC(6) || NAS client name)(16).
const STATE_VERSION: u8 = 1;
const STATE_SIGNED_LEN: usize = 1 + 8 + 16 + 1;
pub const STATE_LEN: usize = STATE_SIGNED_LEN + 16;

/// The per-process key that signs States. Debug prints nothing of it.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl ServerKey {
    /// A fixed key (tests; later a key shared between nodes).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn from_bytes(bytes: [u8; 32]) -> ServerKey {
        ServerKey(bytes)
    }

    pub fn random() -> ServerKey {
        use rand::Rng;
        let mut k = [0u8; 32];
        rand::rng().fill(&mut k);
        ServerKey(k)
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

/// This process's State key, made at first use. A restart invalidates conversations in flight
/// (the switch starts over). Several nodes behind one NAS (anycast, a load balancer that does not
/// pin a NAS to a node) will need a key shared between them; this one is per process.
pub fn process_key() -> &'static ServerKey {
    static KEY: OnceLock<ServerKey> = OnceLock::new();
    KEY.get_or_init(ServerKey::random)
}

/// What the State is bound to besides its own content.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub key: &'a ServerKey,
    /// Calling-Station-Id of the request.
    pub mac: MacAddr,
    /// The NAS client's configured name.
    pub nas: &'a str,
    /// Seconds since the Unix epoch, read once by the caller.
    pub now_secs: u64,
}

/// Why an EAP-MD5 MAB conversation ends in Access-Reject. A reject is data, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The peer refused MD5 (EAP-Response/Nak).
    Nak,
    /// Some other EAP code or type than we asked for.
    Unexpected,
    /// EAP bytes that do not parse (length fields that disagree, truncated).
    Malformed,
    /// A State we did not issue, or issued for another MAC or NAS, or tampered with.
    StateInvalid,
    /// A State older than [`STATE_LIFETIME_SECS`].
    StateExpired,
    /// The EAP Identifier does not answer our request.
    IdMismatch,
    /// The MD5 response does not hash the MAC.
    PasswordWrong,
}

impl Failure {
    pub fn reason_code(self) -> &'static str {
        match self {
            Failure::Nak => "mab-eap-nak",
            Failure::Unexpected => "mab-eap-unexpected",
            Failure::Malformed => "eap-malformed",
            Failure::StateInvalid => "eap-state-invalid",
            Failure::StateExpired => "eap-state-expired",
            Failure::IdMismatch => "eap-id-mismatch",
            Failure::PasswordWrong => "mab-password-wrong",
        }
    }
}

/// States already answered with a verified response: each State is good for one Success, as
/// FreeRADIUS ends the EAP session there; a replay inside the State's lifetime is refused.
/// Only verified responses (which need the NAS's secret) add entries, and old ones are purged.
#[derive(Default)]
pub struct UsedStates(std::sync::Mutex<std::collections::HashMap<[u8; 16], u64>>);

const MAX_USED_STATES: usize = 200_000;

impl UsedStates {
    /// True the first time `state` (its signature) is seen within its lifetime.
    pub fn first_use(&self, state: &[u8], now_secs: u64) -> bool {
        let Some(tag) = state
            .len()
            .checked_sub(16)
            .and_then(|i| state.get(i..))
            .and_then(|t| <[u8; 16]>::try_from(t).ok())
        else {
            return false;
        };
        let Ok(mut used) = self.0.lock() else {
            return false;
        };
        if used.len() >= MAX_USED_STATES {
            used.retain(|_, t| now_secs.saturating_sub(*t) <= STATE_LIFETIME_SECS);
            if used.len() >= MAX_USED_STATES {
                return false;
            }
        }
        used.insert(tag, now_secs).is_none()
    }
}

/// One EAP packet, borrowed from the bytes it came in. Octets past the EAP Length are ignored
/// (RFC 3748 4: padding); a Length beyond the bytes, or under 4, is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EapPacket<'a> {
    pub code: u8,
    pub id: u8,
    /// Type and type data, for Request and Response; `None` for Success and Failure.
    pub typ: Option<u8>,
    pub data: &'a [u8],
}

impl<'a> EapPacket<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<EapPacket<'a>, Failure> {
        let (&code, rest) = bytes.split_first().ok_or(Failure::Malformed)?;
        let (&id, rest) = rest.split_first().ok_or(Failure::Malformed)?;
        let len_octets = rest.get(..2).ok_or(Failure::Malformed)?;
        let len = usize::from(u16::from_be_bytes([len_octets[0], len_octets[1]]));
        let body = bytes.get(4..len).ok_or(Failure::Malformed)?;
        match code {
            EAP_REQUEST | EAP_RESPONSE => {
                let (&typ, data) = body.split_first().ok_or(Failure::Malformed)?;
                Ok(EapPacket {
                    code,
                    id,
                    typ: Some(typ),
                    data,
                })
            }
            _ => Ok(EapPacket {
                code,
                id,
                typ: None,
                data: body,
            }),
        }
    }
}

/// EAP-Success with this Identifier (RFC 3748 4.2: the id of the last response).
pub fn success(id: u8) -> [u8; 4] {
    [EAP_SUCCESS, id, 0, 4]
}

/// EAP-Failure with this Identifier.
pub fn failure(id: u8) -> [u8; 4] {
    [EAP_FAILURE, id, 0, 4]
}

/// EAP-Request/MD5-Challenge: value-size 16, the challenge, our name.
fn md5_challenge_request(id: u8, challenge: &[u8; 16]) -> Vec<u8> {
    let len = 4 + 1 + 1 + 16 + SERVER_NAME.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&[EAP_REQUEST, id]);
    // `len` is 30: it fits.
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&[TYPE_MD5_CHALLENGE, 16]);
    out.extend_from_slice(challenge);
    out.extend_from_slice(SERVER_NAME);
    out
}

/// RFC 1994 4.1 (and RFC 3748 5.4): MD5(Identifier || secret || challenge).
pub fn chap_md5(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// HMAC-MD5 (RFC 2104, the RustCrypto `hmac` crate) over the concatenation of `parts`.
fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    use hmac::{KeyInit, Mac};
    // HMAC takes keys of any length: new_from_slice cannot fail for it.
    let Ok(mut mac) = hmac::Hmac::<Md5>::new_from_slice(key) else {
        return [0u8; 16];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Compares without an early exit, so timing says nothing about where two values differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Where the conversation is: read from the request's State, or the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EapMab {
    /// No State: waiting for EAP-Response/Identity = the MAC.
    ExpectIdentity,
    /// A State we issued, still fresh: waiting for the answer to this MD5-Challenge.
    AwaitMd5Response { challenge: [u8; 16], eap_id: u8 },
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Access-Challenge with this EAP-Message (split as needed) and State.
    Challenge { eap: Vec<u8>, state: Vec<u8> },
    /// The password is right (or not checked): make the MAB decision, and send EAP-Success
    /// (Accept) or EAP-Failure (Reject) with this id.
    Verified { eap_id: u8 },
    /// Access-Reject with EAP-Failure with this id.
    Failed { eap_id: u8, reason: Failure },
}

/// The request's facts the machine needs besides the EAP bytes.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub binding: Binding<'a>,
    pub mode: MabPassword,
    /// The User-Name of the request, a spelling the switch may have hashed.
    pub user_name: Option<&'a str>,
    /// 16 random octets, used if a challenge is sent.
    pub fresh_challenge: [u8; 16],
}

impl EapMab {
    /// Reads the State: none starts the conversation; anything not issued by us for this MAC and
    /// NAS, or too old, fails.
    pub fn from_state(state: Option<&[u8]>, b: &Binding<'_>) -> Result<EapMab, Failure> {
        let Some(state) = state else {
            return Ok(EapMab::ExpectIdentity);
        };
        if state.len() != STATE_LEN || state[0] != STATE_VERSION {
            return Err(Failure::StateInvalid);
        }
        let (signed, tag) = state.split_at(STATE_SIGNED_LEN);
        let want = sign(b, signed);
        if !ct_eq(&want, tag) {
            return Err(Failure::StateInvalid);
        }
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&signed[1..9]);
        let issued = u64::from_be_bytes(issued);
        if issued > b.now_secs.saturating_add(CLOCK_SKEW_SECS) {
            return Err(Failure::StateInvalid);
        }
        if b.now_secs.saturating_sub(issued) > STATE_LIFETIME_SECS {
            return Err(Failure::StateExpired);
        }
        let mut challenge = [0u8; 16];
        challenge.copy_from_slice(&signed[9..25]);
        Ok(EapMab::AwaitMd5Response {
            challenge,
            eap_id: signed[25],
        })
    }

    /// Feeds one EAP message (EAP-Message attributes joined) and returns what to send.
    pub fn handle(self, eap: &[u8], input: &Input<'_>) -> Step {
        let pkt = match EapPacket::decode(eap) {
            Ok(p) => p,
            Err(reason) => {
                let eap_id = match &self {
                    EapMab::AwaitMd5Response { eap_id, .. } => *eap_id,
                    EapMab::ExpectIdentity => eap.get(1).copied().unwrap_or(0),
                };
                return Step::Failed { eap_id, reason };
            }
        };
        let fail = |reason| Step::Failed {
            eap_id: pkt.id,
            reason,
        };
        if pkt.code != EAP_RESPONSE {
            return fail(Failure::Unexpected);
        }
        match (self, pkt.typ) {
            // An Identity starts (or restarts: RFC 3748 allows it) the conversation.
            (_, Some(TYPE_IDENTITY)) => {
                let same_mac = std::str::from_utf8(pkt.data)
                    .ok()
                    .and_then(|s| MacAddr::parse(s).ok())
                    == Some(input.binding.mac);
                if !same_mac {
                    return fail(Failure::Unexpected);
                }
                let id = pkt.id.wrapping_add(1);
                let challenge = input.fresh_challenge;
                Step::Challenge {
                    eap: md5_challenge_request(id, &challenge),
                    state: issue_state(&input.binding, &challenge, id),
                }
            }
            (EapMab::ExpectIdentity, _) => fail(Failure::Unexpected),
            (EapMab::AwaitMd5Response { .. }, Some(TYPE_NAK)) => fail(Failure::Nak),
            (EapMab::AwaitMd5Response { challenge, eap_id }, Some(TYPE_MD5_CHALLENGE)) => {
                if pkt.id != eap_id {
                    return fail(Failure::IdMismatch);
                }
                let Some((&16, rest)) = pkt.data.split_first() else {
                    return fail(Failure::Malformed);
                };
                let Some((value, name)) = rest.split_at_checked(16) else {
                    return fail(Failure::Malformed);
                };
                if input.mode == MabPassword::Ignore {
                    return Step::Verified { eap_id };
                }
                let name = std::str::from_utf8(name).ok();
                let ok = password_spellings(input.binding.mac, &[input.user_name, name])
                    .iter()
                    .any(|pw| ct_eq(&chap_md5(eap_id, pw.as_bytes(), &challenge), value));
                if ok {
                    Step::Verified { eap_id }
                } else {
                    fail(Failure::PasswordWrong)
                }
            }
            (EapMab::AwaitMd5Response { .. }, _) => fail(Failure::Unexpected),
        }
    }
}

/// The spellings of the MAC a switch may use as the password: the usual ones, and those it
/// sent (User-Name, the EAP-MD5 Name) when they are this same MAC.
fn password_spellings(mac: MacAddr, sent: &[Option<&str>]) -> Vec<String> {
    let bare = mac.to_bare_lower();
    let colon = mac.to_colon_lower();
    let hyphen = mac.to_string();
    let mut out: Vec<String> = sent
        .iter()
        .flatten()
        .filter(|s| MacAddr::parse(s).ok() == Some(mac))
        .map(|s| (*s).to_string())
        .collect();
    for s in [
        bare.to_uppercase(),
        bare,
        colon.to_uppercase(),
        colon,
        hyphen.to_lowercase(),
        hyphen,
    ] {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn sign(b: &Binding<'_>, signed: &[u8]) -> [u8; 16] {
    hmac_md5(&b.key.0, &[signed, &b.mac.octets(), b.nas.as_bytes()])
}

fn issue_state(b: &Binding<'_>, challenge: &[u8; 16], eap_id: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(STATE_LEN);
    out.push(STATE_VERSION);
    out.extend_from_slice(&b.now_secs.to_be_bytes());
    out.extend_from_slice(challenge);
    out.push(eap_id);
    let tag = sign(b, &out);
    out.extend_from_slice(&tag);
    out
}

/// True if `state` has the shape of a State this module issues (not that it is valid).
pub fn looks_like_our_state(state: &[u8]) -> bool {
    state.len() == STATE_LEN && state.first() == Some(&STATE_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr::new([0x00, 0x1b, 0x54, 0x00, 0x00, 0x42]);
    const NOW: u64 = 1_750_000_000;

    fn key() -> ServerKey {
        ServerKey::from_bytes([7u8; 32])
    }

    fn identity(id: u8, who: &str) -> Vec<u8> {
        let mut e = vec![EAP_RESPONSE, id, 0, 0, TYPE_IDENTITY];
        e.extend_from_slice(who.as_bytes());
        let l = u16::try_from(e.len()).unwrap().to_be_bytes();
        e[2..4].copy_from_slice(&l);
        e
    }

    fn md5_response(id: u8, value: &[u8; 16], name: &[u8]) -> Vec<u8> {
        let mut e = vec![EAP_RESPONSE, id, 0, 0, TYPE_MD5_CHALLENGE, 16];
        e.extend_from_slice(value);
        e.extend_from_slice(name);
        let l = u16::try_from(e.len()).unwrap().to_be_bytes();
        e[2..4].copy_from_slice(&l);
        e
    }

    fn input<'a>(k: &'a ServerKey, now: u64, mode: MabPassword) -> Input<'a> {
        Input {
            binding: Binding {
                key: k,
                mac: MAC,
                nas: "sw-ward-7",
                now_secs: now,
            },
            mode,
            user_name: Some("001b54000042"),
            fresh_challenge: [0xc5; 16],
        }
    }

    /// Runs the identity round; returns (EAP request, State).
    fn challenge(k: &ServerKey) -> (Vec<u8>, Vec<u8>) {
        let inp = input(k, NOW, MabPassword::Mac);
        match EapMab::ExpectIdentity.handle(&identity(9, "00-1B-54-00-00-42"), &inp) {
            Step::Challenge { eap, state } => (eap, state),
            other => panic!("{other:?}"),
        }
    }

    fn finish(k: &ServerKey, state: &[u8], now: u64, nas: &str, mac: MacAddr, resp: &[u8]) -> Step {
        let mut inp = input(k, now, MabPassword::Mac);
        inp.binding.nas = nas;
        inp.binding.mac = mac;
        match EapMab::from_state(Some(state), &inp.binding) {
            Ok(m) => m.handle(resp, &inp),
            Err(reason) => Step::Failed { eap_id: 0, reason },
        }
    }

    #[test]
    fn a_state_answers_once() {
        let used = UsedStates::default();
        let st = [7u8; STATE_LEN];
        assert!(used.first_use(&st, 1000));
        assert!(!used.first_use(&st, 1010));
        let mut other = st;
        other[STATE_LEN - 1] ^= 1;
        assert!(used.first_use(&other, 1010));
        assert!(!used.first_use(&[1, 2, 3], 1010));
    }

    #[test]
    fn rfc1994_md5_from_the_definition() {
        // RFC 1994 4.1: Response = MD5(Identifier || secret || Challenge), computed here by
        // hand-concatenating the octets and hashing once.
        let mut msg = vec![0x2a];
        msg.extend_from_slice(b"001b54000042");
        msg.extend_from_slice(&[0x11; 16]);
        let want: [u8; 16] = Md5::digest(&msg).into();
        assert_eq!(chap_md5(0x2a, b"001b54000042", &[0x11; 16]), want);
        // MD5("") and MD5("abc") from RFC 1321 A.5 pin the hash itself.
        assert_eq!(hex(&chap_md5_raw(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(&chap_md5_raw(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        // id 0x61 'a', secret "b", challenge "c": MD5("abc").
        assert_eq!(
            hex(&chap_md5(b'a', b"b", b"c")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }

    fn chap_md5_raw(b: &[u8]) -> [u8; 16] {
        Md5::digest(b).into()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_md5_rfc2202_vectors() {
        assert_eq!(
            hex(&hmac_md5(&[0x0b; 16], &[b"Hi There"])),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            hex(&hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            hex(&hmac_md5(
                &[0xaa; 80],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
    }

    #[test]
    fn identity_gets_an_md5_challenge_with_the_next_id() {
        let k = key();
        let (eap, state) = challenge(&k);
        let p = EapPacket::decode(&eap).unwrap();
        assert_eq!(
            (p.code, p.id, p.typ),
            (EAP_REQUEST, 10, Some(TYPE_MD5_CHALLENGE))
        );
        assert_eq!(p.data[0], 16);
        assert_eq!(&p.data[1..17], &[0xc5; 16]);
        assert_eq!(&p.data[17..], b"wardgate");
        assert_eq!(usize::from(u16::from_be_bytes([eap[2], eap[3]])), eap.len());
        assert_eq!(state.len(), STATE_LEN);
        assert!(looks_like_our_state(&state));
    }

    #[test]
    fn every_usual_spelling_of_the_mac_is_accepted() {
        let k = key();
        let (_, state) = challenge(&k);
        for pw in [
            "001b54000042",
            "001B54000042",
            "00:1b:54:00:00:42",
            "00:1B:54:00:00:42",
            "00-1b-54-00-00-42",
            "00-1B-54-00-00-42",
        ] {
            let resp = md5_response(10, &chap_md5(10, pw.as_bytes(), &[0xc5; 16]), b"");
            assert_eq!(
                finish(&k, &state, NOW + 3, "sw-ward-7", MAC, &resp),
                Step::Verified { eap_id: 10 },
                "{pw}"
            );
        }
        // The spelling the switch sent as its Name, when it is the same MAC.
        let resp = md5_response(
            10,
            &chap_md5(10, b"001b.5400.0042", &[0xc5; 16]),
            b"001b.5400.0042",
        );
        assert_eq!(
            finish(&k, &state, NOW, "sw-ward-7", MAC, &resp),
            Step::Verified { eap_id: 10 }
        );
    }

    #[test]
    fn wrong_password_nak_and_wrong_id_fail_with_their_reason() {
        let k = key();
        let (_, state) = challenge(&k);
        let wrong = md5_response(10, &chap_md5(10, b"letmein", &[0xc5; 16]), b"");
        assert_eq!(
            finish(&k, &state, NOW, "sw-ward-7", MAC, &wrong),
            Step::Failed {
                eap_id: 10,
                reason: Failure::PasswordWrong
            }
        );
        // "ignore" takes any response.
        let inp = input(&k, NOW, MabPassword::Ignore);
        let m = EapMab::from_state(Some(&state), &inp.binding).unwrap();
        assert_eq!(m.handle(&wrong, &inp), Step::Verified { eap_id: 10 });
        let nak = vec![EAP_RESPONSE, 10, 0, 6, TYPE_NAK, 13];
        assert_eq!(
            finish(&k, &state, NOW, "sw-ward-7", MAC, &nak),
            Step::Failed {
                eap_id: 10,
                reason: Failure::Nak
            }
        );
        let right_other_id = md5_response(11, &chap_md5(11, b"001b54000042", &[0xc5; 16]), b"");
        assert_eq!(
            finish(&k, &state, NOW, "sw-ward-7", MAC, &right_other_id),
            Step::Failed {
                eap_id: 11,
                reason: Failure::IdMismatch
            }
        );
        // An MD5 response with no State is not part of any conversation.
        let inp = input(&k, NOW, MabPassword::Mac);
        assert!(matches!(
            EapMab::ExpectIdentity.handle(&wrong, &inp),
            Step::Failed {
                reason: Failure::Unexpected,
                ..
            }
        ));
    }

    #[test]
    fn state_tampered_expired_foreign_mac_or_nas_is_refused() {
        let k = key();
        let (_, state) = challenge(&k);
        let good = md5_response(10, &chap_md5(10, b"001b54000042", &[0xc5; 16]), b"");
        let reason = |s: &[u8], now, nas, mac| match finish(&k, s, now, nas, mac, &good) {
            Step::Failed { reason, .. } => Some(reason),
            _ => None,
        };
        assert_eq!(reason(&state, NOW + 60, "sw-ward-7", MAC), None);
        assert_eq!(
            reason(&state, NOW + 61, "sw-ward-7", MAC),
            Some(Failure::StateExpired)
        );
        assert_eq!(
            reason(&state, NOW - 60, "sw-ward-7", MAC),
            Some(Failure::StateInvalid),
            "issued in the future"
        );
        assert_eq!(
            reason(&state, NOW, "sw-ward-8", MAC),
            Some(Failure::StateInvalid)
        );
        let other = MacAddr::new([0x00, 0x1b, 0x54, 0x00, 0x00, 0x43]);
        assert_eq!(
            reason(&state, NOW, "sw-ward-7", other),
            Some(Failure::StateInvalid)
        );
        for i in 0..state.len() {
            let mut t = state.clone();
            t[i] ^= 0x01;
            assert_eq!(
                reason(&t, NOW, "sw-ward-7", MAC),
                Some(Failure::StateInvalid),
                "octet {i}"
            );
        }
        assert_eq!(
            reason(&state[..STATE_LEN - 1], NOW, "sw-ward-7", MAC),
            Some(Failure::StateInvalid)
        );
        // Another process's key.
        let other_key = ServerKey::from_bytes([8u8; 32]);
        let inp = input(&other_key, NOW, MabPassword::Mac);
        assert_eq!(
            EapMab::from_state(Some(&state), &inp.binding),
            Err(Failure::StateInvalid)
        );
    }

    #[test]
    fn eap_decode_checks_the_length_field() {
        assert_eq!(EapPacket::decode(&[]), Err(Failure::Malformed));
        assert_eq!(EapPacket::decode(&[2, 1, 0]), Err(Failure::Malformed));
        assert_eq!(EapPacket::decode(&[2, 1, 0, 3]), Err(Failure::Malformed));
        assert_eq!(EapPacket::decode(&[2, 1, 0, 4]), Err(Failure::Malformed));
        assert_eq!(
            EapPacket::decode(&[2, 1, 0, 9, 1, 0]),
            Err(Failure::Malformed)
        );
        assert_eq!(
            EapPacket::decode(&[3, 1, 0, 4, 0xff]),
            Ok(EapPacket {
                code: 3,
                id: 1,
                typ: None,
                data: &[]
            }),
            "octets past Length are padding"
        );
        let p = EapPacket::decode(&[2, 5, 0, 6, 1, b'x', b'y']).unwrap();
        assert_eq!((p.typ, p.data), (Some(1), &b"x"[..]));
        assert_eq!(success(7), [3, 7, 0, 4]);
        assert_eq!(failure(7), [4, 7, 0, 4]);
    }

    #[test]
    fn random_and_mutated_eap_never_panics() {
        let k = key();
        let (_, state) = challenge(&k);
        let seeds = [
            identity(9, "001b54000042"),
            md5_response(10, &[1; 16], b"001b54000042"),
            vec![EAP_RESPONSE, 10, 0, 6, TYPE_NAK, 4],
            vec![3, 1, 0, 4],
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..30_000u32 {
            let mut e = seeds[usize::try_from(round).unwrap() % seeds.len()].clone();
            match next() % 4 {
                0 => {
                    // Random bytes of random length.
                    let n = usize::try_from(next() % 64).unwrap();
                    e = (0..n).map(|_| next().to_le_bytes()[0]).collect();
                }
                1 => e.truncate(usize::try_from(next()).unwrap() % (e.len() + 1)),
                _ => {
                    for _ in 0..1 + next() % 4 {
                        let i = usize::try_from(next()).unwrap() % e.len().max(1);
                        if let Some(b) = e.get_mut(i) {
                            *b = next().to_le_bytes()[1];
                        }
                    }
                }
            }
            let _ = EapPacket::decode(&e);
            for mode in [MabPassword::Mac, MabPassword::Ignore] {
                let inp = input(&k, NOW, mode);
                let _ = EapMab::ExpectIdentity.handle(&e, &inp);
                if let Ok(m) = EapMab::from_state(Some(&state), &inp.binding) {
                    let _ = m.handle(&e, &inp);
                }
            }
        }
    }
}
