//! EAP packets (RFC 3748 section 4): decode any byte slice without panicking, encode, and build the
//! server-side packets (Identity request, Nak, Success, Failure).

use thiserror::Error;

/// EAP header length: Code, Identifier, Length (2 octets).
pub const HEADER_LEN: usize = 4;

/// EAP Code. Unknown values are kept so they can be reported, not silently remapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    Request,
    Response,
    Success,
    Failure,
    Unknown(u8),
}

impl From<u8> for Code {
    fn from(v: u8) -> Self {
        match v {
            1 => Code::Request,
            2 => Code::Response,
            3 => Code::Success,
            4 => Code::Failure,
            other => Code::Unknown(other),
        }
    }
}

impl From<Code> for u8 {
    fn from(c: Code) -> Self {
        match c {
            Code::Request => 1,
            Code::Response => 2,
            Code::Success => 3,
            Code::Failure => 4,
            Code::Unknown(v) => v,
        }
    }
}

impl Code {
    /// Request and Response carry a Type octet; Success and Failure do not.
    pub fn has_type(self) -> bool {
        matches!(self, Code::Request | Code::Response)
    }
}

/// EAP method Type. Unknown values (including 254 Expanded) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EapType {
    Identity,
    Notification,
    Nak,
    Md5Challenge,
    Tls,
    Ttls,
    Peap,
    MsChapV2,
    Unknown(u8),
}

impl From<u8> for EapType {
    fn from(v: u8) -> Self {
        match v {
            1 => EapType::Identity,
            2 => EapType::Notification,
            3 => EapType::Nak,
            4 => EapType::Md5Challenge,
            13 => EapType::Tls,
            21 => EapType::Ttls,
            25 => EapType::Peap,
            26 => EapType::MsChapV2,
            other => EapType::Unknown(other),
        }
    }
}

impl From<EapType> for u8 {
    fn from(t: EapType) -> Self {
        match t {
            EapType::Identity => 1,
            EapType::Notification => 2,
            EapType::Nak => 3,
            EapType::Md5Challenge => 4,
            EapType::Tls => 13,
            EapType::Ttls => 21,
            EapType::Peap => 25,
            EapType::MsChapV2 => 26,
            EapType::Unknown(v) => v,
        }
    }
}

/// Why bytes are not an EAP packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("EAP packet shorter than the 4-octet header ({0} octets)")]
    TooShort(usize),
    #[error("EAP Length {declared} is below the minimum {minimum} for this code")]
    LengthTooSmall { declared: usize, minimum: usize },
    #[error("EAP Length {declared} exceeds the {available} octets received")]
    LengthExceedsBuffer { declared: usize, available: usize },
}

/// Why a packet cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("EAP packet of {0} octets exceeds the 65535-octet Length field")]
    TooLong(usize),
}

/// One EAP packet. `typ` is `Some` for Request and Response, `None` otherwise; `data` is the Type-Data
/// (for Request/Response) or whatever follows the header (other codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub code: Code,
    pub identifier: u8,
    pub typ: Option<EapType>,
    pub data: Vec<u8>,
}

impl Packet {
    /// Decode one packet. Octets past Length are ignored (RFC 3748 section 4.1: padding from the lower
    /// layer); a Length larger than the buffer is an error. Success and Failure keep no data.
    pub fn decode(buf: &[u8]) -> Result<Packet, DecodeError> {
        let [code, identifier, hi, lo, ..] = *buf else {
            return Err(DecodeError::TooShort(buf.len()));
        };
        let code = Code::from(code);
        let declared = usize::from(u16::from_be_bytes([hi, lo]));
        let minimum = if code.has_type() {
            HEADER_LEN + 1
        } else {
            HEADER_LEN
        };
        if declared < minimum {
            return Err(DecodeError::LengthTooSmall { declared, minimum });
        }
        let Some(body) = buf.get(HEADER_LEN..declared) else {
            return Err(DecodeError::LengthExceedsBuffer {
                declared,
                available: buf.len(),
            });
        };
        let (typ, data) = match (code, body.split_first()) {
            (Code::Request | Code::Response, Some((t, rest))) => (Some(EapType::from(*t)), rest),
            (Code::Success | Code::Failure, _) => (None, &[][..]),
            _ => (None, body),
        };
        Ok(Packet {
            code,
            identifier,
            typ,
            data: data.to_vec(),
        })
    }

    /// Encode to wire bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let len = HEADER_LEN + usize::from(self.typ.is_some()) + self.data.len();
        let wire_len = u16::try_from(len).map_err(|_| EncodeError::TooLong(len))?;
        let mut out = Vec::with_capacity(len);
        out.push(u8::from(self.code));
        out.push(self.identifier);
        out.extend_from_slice(&wire_len.to_be_bytes());
        if let Some(t) = self.typ {
            out.push(u8::from(t));
        }
        out.extend_from_slice(&self.data);
        Ok(out)
    }

    /// A Request of the given type.
    pub fn request(identifier: u8, typ: EapType, data: Vec<u8>) -> Packet {
        Packet {
            code: Code::Request,
            identifier,
            typ: Some(typ),
            data,
        }
    }

    /// A Response of the given type.
    pub fn response(identifier: u8, typ: EapType, data: Vec<u8>) -> Packet {
        Packet {
            code: Code::Response,
            identifier,
            typ: Some(typ),
            data,
        }
    }

    /// Request/Identity with no prompt.
    pub fn identity_request(identifier: u8) -> Packet {
        Packet::request(identifier, EapType::Identity, Vec::new())
    }

    /// Response/Nak listing the acceptable methods (RFC 3748 section 5.3.1).
    pub fn nak(identifier: u8, acceptable: &[EapType]) -> Packet {
        let data = if acceptable.is_empty() {
            vec![0] // "no alternative"
        } else {
            acceptable.iter().map(|t| u8::from(*t)).collect()
        };
        Packet::response(identifier, EapType::Nak, data)
    }

    /// EAP-Success.
    pub fn success(identifier: u8) -> Packet {
        Packet {
            code: Code::Success,
            identifier,
            typ: None,
            data: Vec::new(),
        }
    }

    /// EAP-Failure.
    pub fn failure(identifier: u8) -> Packet {
        Packet {
            code: Code::Failure,
            identifier,
            typ: None,
            data: Vec::new(),
        }
    }

    /// The methods a Nak asks for (empty for "no alternative" or a non-Nak).
    pub fn nak_types(&self) -> Vec<EapType> {
        if self.typ != Some(EapType::Nak) {
            return Vec::new();
        }
        self.data
            .iter()
            .filter(|t| **t != 0)
            .map(|t| EapType::from(*t))
            .collect()
    }

    /// For an Identity response: the identity as text (lossy UTF-8).
    pub fn identity(&self) -> Option<String> {
        (self.typ == Some(EapType::Identity))
            .then(|| String::from_utf8_lossy(&self.data).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_identity_response_and_ignores_trailing_padding() {
        let wire = [2, 7, 0, 10, 1, b'a', b'l', b'i', b'c', b'e', 0, 0, 0];
        let p = Packet::decode(&wire).unwrap();
        assert_eq!(p.code, Code::Response);
        assert_eq!(p.identifier, 7);
        assert_eq!(p.typ, Some(EapType::Identity));
        assert_eq!(p.identity().as_deref(), Some("alice"));
        assert_eq!(p.encode().unwrap(), wire[..10]);
    }

    #[test]
    fn length_beyond_buffer_is_an_error() {
        assert_eq!(
            Packet::decode(&[1, 1, 0, 9, 1]),
            Err(DecodeError::LengthExceedsBuffer {
                declared: 9,
                available: 5
            })
        );
        assert_eq!(Packet::decode(&[1, 1, 0]), Err(DecodeError::TooShort(3)));
        assert_eq!(
            Packet::decode(&[2, 1, 0, 4]),
            Err(DecodeError::LengthTooSmall {
                declared: 4,
                minimum: 5
            })
        );
        assert!(Packet::decode(&[3, 1, 0, 3]).is_err());
    }

    #[test]
    fn success_failure_and_identity_request_encode_per_rfc() {
        assert_eq!(Packet::success(5).encode().unwrap(), [3, 5, 0, 4]);
        assert_eq!(Packet::failure(6).encode().unwrap(), [4, 6, 0, 4]);
        assert_eq!(
            Packet::identity_request(1).encode().unwrap(),
            [1, 1, 0, 5, 1]
        );
        let s = Packet::decode(&[3, 5, 0, 4]).unwrap();
        assert_eq!((s.code, s.typ), (Code::Success, None));
    }

    #[test]
    fn nak_lists_acceptable_types() {
        let nak = Packet::nak(9, &[EapType::Tls, EapType::Peap]);
        let wire = nak.encode().unwrap();
        assert_eq!(wire, [2, 9, 0, 7, 3, 13, 25]);
        let back = Packet::decode(&wire).unwrap();
        assert_eq!(back.nak_types(), vec![EapType::Tls, EapType::Peap]);
        assert_eq!(Packet::nak(1, &[]).encode().unwrap(), [2, 1, 0, 6, 3, 0]);
        assert!(
            Packet::decode(&[2, 1, 0, 6, 3, 0])
                .unwrap()
                .nak_types()
                .is_empty()
        );
    }

    #[test]
    fn unknown_code_and_type_are_kept() {
        let p = Packet::decode(&[1, 2, 0, 6, 99, 0xab]).unwrap();
        assert_eq!(p.typ, Some(EapType::Unknown(99)));
        let q = Packet::decode(&[9, 2, 0, 6, 99, 0xab]).unwrap();
        assert_eq!(
            (q.code, q.typ, q.data.as_slice()),
            (Code::Unknown(9), None, &[99, 0xab][..])
        );
        assert_eq!(q.encode().unwrap(), [9, 2, 0, 6, 99, 0xab]);
        for v in 0..=255u8 {
            assert_eq!(u8::from(Code::from(v)), v);
            assert_eq!(u8::from(EapType::from(v)), v);
        }
    }

    #[test]
    fn encode_rejects_oversize() {
        let p = Packet::request(1, EapType::Tls, vec![0; 70_000]);
        assert_eq!(p.encode(), Err(EncodeError::TooLong(70_005)));
    }

    #[test]
    fn decode_never_panics_on_short_inputs() {
        let mut seed = 0x1234_5678u32;
        for len in 0..64 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        seed as u8
                    })
                    .collect();
                if let Ok(p) = Packet::decode(&bytes) {
                    let re = p.encode().unwrap();
                    assert_eq!(Packet::decode(&re).unwrap(), p);
                }
            }
        }
    }
}
