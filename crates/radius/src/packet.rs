//! Packet framing: decoding a datagram into attributes and encoding requests and replies.

use crate::attr;
use crate::auth;
use crate::vsa::{self, MAX_VSA_VALUE_LEN, Vsas};
use crate::{Code, SharedSecret, Vsa};

/// Octets in the RADIUS header (Code, Identifier, Length, Authenticator).
pub const HEADER_LEN: usize = 20;
/// Largest RADIUS packet (RFC 2865 section 3).
pub const MAX_PACKET_LEN: usize = 4096;
/// Largest attribute value (255 minus the type and length octets).
pub const MAX_ATTR_VALUE_LEN: usize = 253;

/// Why a datagram is not a RADIUS packet. Such a datagram is dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("datagram of {len} octets is shorter than the 20-octet header")]
    TooShort { len: usize },
    #[error("header Length {length} is outside 20..=4096")]
    BadLength { length: usize },
    #[error("datagram of {received} octets is shorter than its header Length {length}")]
    Truncated { length: usize, received: usize },
    #[error("attribute at offset {offset} has Length {length} (< 2)")]
    AttributeTooShort { offset: usize, length: u8 },
    #[error("attribute at offset {offset} runs past the end of the packet")]
    AttributeOverrun { offset: usize },
}

/// Why a packet cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("attribute {typ} value of {len} octets exceeds 253 (use add_split)")]
    AttributeTooLong { typ: u8, len: usize },
    #[error("encoded packet would be {len} octets, more than 4096")]
    PacketTooLong { len: usize },
    #[error("vendor-specific value of {len} octets exceeds {max}")]
    VsaTooLong { len: usize, max: usize },
    #[error("HMAC-MD5 could not be keyed")]
    Hmac,
}

/// One raw attribute (TLV). The value is 0..=253 octets once encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub typ: u8,
    pub value: Vec<u8>,
}

/// A decoded (or to-be-encoded) RADIUS packet. It holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub code: Code,
    pub identifier: u8,
    pub authenticator: [u8; 16],
    pub attributes: Vec<Attribute>,
}

/// Returns the packet part of a datagram (truncated to the header Length), or why not.
pub fn frame(buf: &[u8]) -> Result<&[u8], DecodeError> {
    if buf.len() < HEADER_LEN {
        return Err(DecodeError::TooShort { len: buf.len() });
    }
    let length = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
        return Err(DecodeError::BadLength { length });
    }
    buf.get(..length).ok_or(DecodeError::Truncated {
        length,
        received: buf.len(),
    })
}

/// Zero-copy iterator over the attributes area of a packet (the octets after the
/// header). Yields `(type, value, offset of the value in the area)`, and stops after
/// the first error.
#[derive(Debug, Clone)]
pub struct RawAttributes<'a> {
    area: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> RawAttributes<'a> {
    /// Iterates over `area`, the octets after the 20-octet header.
    pub fn new(area: &'a [u8]) -> RawAttributes<'a> {
        RawAttributes {
            area,
            pos: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = Result<(u8, &'a [u8], usize), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.area.len() {
            return None;
        }
        let offset = HEADER_LEN + self.pos;
        let rest = &self.area[self.pos..];
        let item = match rest {
            [typ, len, ..] if *len >= 2 => match rest.get(2..usize::from(*len)) {
                Some(value) => {
                    let start = self.pos + 2;
                    self.pos += usize::from(*len);
                    Ok((*typ, value, start))
                }
                None => Err(DecodeError::AttributeOverrun { offset }),
            },
            [_, len, ..] => Err(DecodeError::AttributeTooShort {
                offset,
                length: *len,
            }),
            _ => Err(DecodeError::AttributeOverrun { offset }),
        };
        if item.is_err() {
            self.failed = true;
        }
        Some(item)
    }
}

impl Packet {
    /// Decodes a datagram. Bytes past the header Length are padding and ignored; a
    /// datagram shorter than Length, a Length outside 20..=4096, or an attribute with
    /// Length < 2 or running past the packet is an error. Never panics.
    pub fn decode(buf: &[u8]) -> Result<Packet, DecodeError> {
        let pkt = frame(buf)?;
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&pkt[4..HEADER_LEN]);
        let area = &pkt[HEADER_LEN..];
        // A typical request has 8..20 attributes of ~10 octets.
        let mut attributes = Vec::with_capacity((area.len() / 8).min(64));
        for item in RawAttributes::new(area) {
            let (typ, value, _) = item?;
            attributes.push(Attribute {
                typ,
                value: value.to_vec(),
            });
        }
        Ok(Packet {
            code: Code(pkt[0]),
            identifier: pkt[1],
            authenticator,
            attributes,
        })
    }

    /// A packet with no attributes.
    pub fn new(code: Code, identifier: u8, authenticator: [u8; 16]) -> Packet {
        Packet {
            code,
            identifier,
            authenticator,
            attributes: Vec::new(),
        }
    }

    /// An empty reply: the request's Identifier, and its authenticator (the Request
    /// Authenticator that [`Packet::encode_reply`] needs). Proxy-State is NOT copied:
    /// call [`Packet::copy_proxy_state`] for that.
    pub fn reply_to(request: &Packet, code: Code) -> Packet {
        Packet::new(code, request.identifier, request.authenticator)
    }

    /// Appends every Proxy-State of `request`, in order (RFC 2865 section 5.33).
    pub fn copy_proxy_state(&mut self, request: &Packet) {
        for a in request
            .attributes
            .iter()
            .filter(|a| a.typ == attr::PROXY_STATE)
        {
            self.attributes.push(a.clone());
        }
    }

    /// The value of the first attribute of type `typ`.
    pub fn attr(&self, typ: u8) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|a| a.typ == typ)
            .map(|a| a.value.as_slice())
    }

    /// The values of all attributes of type `typ`, in order.
    pub fn attrs(&self, typ: u8) -> impl Iterator<Item = &[u8]> {
        self.attributes
            .iter()
            .filter(move |a| a.typ == typ)
            .map(|a| a.value.as_slice())
    }

    /// The values of all attributes of type `typ` joined in order (EAP-Message and
    /// other long attributes split over several), or `None` if there is none.
    pub fn concat(&self, typ: u8) -> Option<Vec<u8>> {
        let mut found = false;
        let mut len = 0;
        for v in self.attrs(typ) {
            found = true;
            len += v.len();
        }
        if !found {
            return None;
        }
        let mut out = Vec::with_capacity(len);
        for v in self.attrs(typ) {
            out.extend_from_slice(v);
        }
        Some(out)
    }

    /// Appends an attribute. A value over 253 octets is kept, and makes encoding fail
    /// with [`EncodeError::AttributeTooLong`]: use [`Packet::add_split`] for those.
    pub fn add(&mut self, typ: u8, value: impl Into<Vec<u8>>) {
        self.attributes.push(Attribute {
            typ,
            value: value.into(),
        });
    }

    /// Appends `value` as several attributes of type `typ` of at most 253 octets each
    /// (one empty attribute for an empty value).
    pub fn add_split(&mut self, typ: u8, value: &[u8]) {
        if value.is_empty() {
            self.add(typ, Vec::new());
            return;
        }
        for chunk in value.chunks(MAX_ATTR_VALUE_LEN) {
            self.add(typ, chunk);
        }
    }

    /// Removes every attribute of type `typ`.
    pub fn remove(&mut self, typ: u8) {
        self.attributes.retain(|a| a.typ != typ);
    }

    /// Appends a Vendor-Specific attribute in the RFC 2865 format (vendor id, then one
    /// sub-attribute with 1-octet type and length). The value is at most 247 octets.
    pub fn add_vsa(
        &mut self,
        vendor: u32,
        vendor_type: u8,
        value: &[u8],
    ) -> Result<(), EncodeError> {
        if value.len() > MAX_VSA_VALUE_LEN {
            return Err(EncodeError::VsaTooLong {
                len: value.len(),
                max: MAX_VSA_VALUE_LEN,
            });
        }
        self.add(
            attr::VENDOR_SPECIFIC,
            vsa::encode(vendor, vendor_type, value),
        );
        Ok(())
    }

    /// Every well-formed vendor sub-attribute (RFC 2865 format), in order; several
    /// sub-attributes in one Vendor-Specific are all yielded. Malformed payloads are
    /// skipped here and stay in `attributes` as opaque octets.
    pub fn vsas(&self) -> Vsas<'_> {
        Vsas::new(&self.attributes)
    }

    /// The first vendor sub-attribute with this vendor and type.
    pub fn vsa(&self, vendor: u32, typ: u8) -> Option<&[u8]> {
        self.vsas()
            .find(|v: &Vsa<'_>| v.vendor == vendor && v.typ == typ)
            .map(|v| v.value)
    }

    /// True if a Message-Authenticator attribute is present.
    pub fn has_message_authenticator(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| a.typ == attr::MESSAGE_AUTHENTICATOR)
    }

    /// Encodes a reply (Access-Accept/Reject/Challenge, Accounting-Response, CoA or
    /// Disconnect ACK/NAK, ...) to the request whose authenticator is `request_auth`.
    ///
    /// Access-Accept, -Reject and -Challenge always get Message-Authenticator as the
    /// first attribute (any present is replaced); other codes get one (also first)
    /// only if `self` already has one. The Message-Authenticator is HMAC-MD5(secret,
    /// packet with it zeroed and `request_auth` in the authenticator field); the
    /// Response Authenticator, MD5(Code|ID|Length|RequestAuth|Attributes|Secret), is
    /// computed after it. `self.authenticator` is not used.
    pub fn encode_reply(
        &self,
        request_auth: &[u8; 16],
        secret: &SharedSecret,
    ) -> Result<Vec<u8>, EncodeError> {
        let with_ma = self.code.is_access_reply() || self.has_message_authenticator();
        let mut buf = self.encode_unsigned(request_auth, with_ma)?;
        if with_ma {
            auth::sign_first_message_authenticator(&mut buf, secret)?;
        }
        auth::sign_authenticator(&mut buf, secret);
        Ok(buf)
    }

    /// Encodes a request (client side).
    ///
    /// Access-Request and Status-Server: the authenticator field is
    /// `self.authenticator` (the caller makes it random), and Message-Authenticator is
    /// computed over it. Accounting-Request, CoA-Request, Disconnect-Request (and any
    /// other code): the authenticator is MD5(Code|ID|Length|16 zero octets|Attributes|
    /// Secret), and Message-Authenticator is computed with the zero authenticator
    /// first (RFC 5176, 3579). Message-Authenticator is added, first, when
    /// `with_message_authenticator` is set or `self` already has one.
    ///
    /// User-Password must already be hidden with [`crate::encrypt_user_password`]
    /// using `self.authenticator`.
    pub fn encode_request(
        &self,
        secret: &SharedSecret,
        with_message_authenticator: bool,
    ) -> Result<Vec<u8>, EncodeError> {
        let with_ma = with_message_authenticator || self.has_message_authenticator();
        let access_like = matches!(self.code, Code::ACCESS_REQUEST | Code::STATUS_SERVER);
        let auth_field = if access_like {
            &self.authenticator
        } else {
            &[0; 16]
        };
        let mut buf = self.encode_unsigned(auth_field, with_ma)?;
        if with_ma {
            auth::sign_first_message_authenticator(&mut buf, secret)?;
        }
        if !access_like {
            auth::sign_authenticator(&mut buf, secret);
        }
        Ok(buf)
    }

    /// Encodes just the attributes area (no header, no Message-Authenticator added);
    /// useful for tests and for length budgeting.
    pub fn encode_attributes(&self) -> Result<Vec<u8>, EncodeError> {
        let len = self.attributes_len(false)?;
        let mut buf = Vec::with_capacity(len);
        self.write_attributes(&mut buf, false);
        Ok(buf)
    }

    /// Octets the attributes take (skipping Message-Authenticator when `skip_ma`).
    fn attributes_len(&self, skip_ma: bool) -> Result<usize, EncodeError> {
        let mut len = 0usize;
        for a in &self.attributes {
            if skip_ma && a.typ == attr::MESSAGE_AUTHENTICATOR {
                continue;
            }
            if a.value.len() > MAX_ATTR_VALUE_LEN {
                return Err(EncodeError::AttributeTooLong {
                    typ: a.typ,
                    len: a.value.len(),
                });
            }
            len += 2 + a.value.len();
        }
        Ok(len)
    }

    fn write_attributes(&self, buf: &mut Vec<u8>, skip_ma: bool) {
        for a in &self.attributes {
            if skip_ma && a.typ == attr::MESSAGE_AUTHENTICATOR {
                continue;
            }
            // Lengths were checked by attributes_len: value <= 253.
            buf.push(a.typ);
            buf.push((a.value.len() + 2) as u8);
            buf.extend_from_slice(&a.value);
        }
    }

    /// Header with `auth_field`, then a zeroed Message-Authenticator first if
    /// `with_ma` (dropping any present), then the attributes.
    fn encode_unsigned(
        &self,
        auth_field: &[u8; 16],
        with_ma: bool,
    ) -> Result<Vec<u8>, EncodeError> {
        let ma_len = if with_ma { 18 } else { 0 };
        let len = HEADER_LEN + ma_len + self.attributes_len(with_ma)?;
        if len > MAX_PACKET_LEN {
            return Err(EncodeError::PacketTooLong { len });
        }
        let mut buf = Vec::with_capacity(len);
        buf.push(self.code.0);
        buf.push(self.identifier);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
        buf.extend_from_slice(auth_field);
        if with_ma {
            buf.push(attr::MESSAGE_AUTHENTICATOR);
            buf.push(18);
            buf.extend_from_slice(&[0; 16]);
        }
        self.write_attributes(&mut buf, with_ma);
        debug_assert_eq!(buf.len(), len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests;
