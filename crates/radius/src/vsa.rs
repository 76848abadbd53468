//! Vendor-Specific attributes (type 26) in the RFC 2865 format: 4-octet vendor id, then
//! sub-attributes with a 1-octet type and a 1-octet length.

use crate::attr::VENDOR_SPECIFIC;
use crate::packet::Attribute;

/// Largest vendor sub-attribute value: 253 - 4 (vendor id) - 2 (type, length).
pub const MAX_VSA_VALUE_LEN: usize = 247;

/// One vendor sub-attribute, borrowed from a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vsa<'a> {
    pub vendor: u32,
    pub typ: u8,
    pub value: &'a [u8],
}

/// Builds the value of a type-26 attribute with one sub-attribute. The caller has
/// checked `value.len() <= MAX_VSA_VALUE_LEN`.
pub(crate) fn encode(vendor: u32, typ: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + value.len());
    out.extend_from_slice(&vendor.to_be_bytes());
    out.push(typ);
    out.push((value.len() + 2) as u8);
    out.extend_from_slice(value);
    out
}

/// Splits a type-26 value into its vendor id and sub-attribute area, if the whole
/// area is well-formed RFC 2865 sub-attributes (at least one, none with Length < 2 or
/// running past the end). `None` means: keep it opaque.
pub fn parse_vsa(value: &[u8]) -> Option<(u32, &[u8])> {
    let (id, area) = value.split_first_chunk::<4>()?;
    if area.is_empty() {
        return None;
    }
    let mut rest = area;
    while !rest.is_empty() {
        let len = usize::from(*rest.get(1)?);
        if len < 2 || len > rest.len() {
            return None;
        }
        rest = &rest[len..];
    }
    Some((u32::from_be_bytes(*id), area))
}

/// Iterator over the vendor sub-attributes of a packet (see [`crate::Packet::vsas`]).
#[derive(Debug, Clone)]
pub struct Vsas<'a> {
    attrs: std::slice::Iter<'a, Attribute>,
    vendor: u32,
    area: &'a [u8],
}

impl<'a> Vsas<'a> {
    pub(crate) fn new(attrs: &'a [Attribute]) -> Vsas<'a> {
        Vsas {
            attrs: attrs.iter(),
            vendor: 0,
            area: &[],
        }
    }
}

impl<'a> Iterator for Vsas<'a> {
    type Item = Vsa<'a>;

    fn next(&mut self) -> Option<Vsa<'a>> {
        loop {
            // `area` was validated by parse_vsa, so these reads stay in bounds; the
            // `?`/get calls only guard against a logic error.
            if let [typ, len, ..] = self.area {
                let len = usize::from(*len);
                let value = self.area.get(2..len)?;
                let typ = *typ;
                self.area = self.area.get(len..)?;
                return Some(Vsa {
                    vendor: self.vendor,
                    typ,
                    value,
                });
            }
            let a = self.attrs.by_ref().find(|a| a.typ == VENDOR_SPECIFIC)?;
            if let Some((vendor, area)) = parse_vsa(&a.value) {
                self.vendor = vendor;
                self.area = area;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Code, EncodeError, Packet, vendor};

    #[test]
    fn several_sub_attributes_in_one_vendor_specific() {
        let mut p = Packet::new(Code::ACCESS_REQUEST, 1, [0; 16]);
        // Cisco with two AVPairs in one attribute, then a malformed one, then Aruba.
        let mut v = vec![0, 0, 0, 9];
        v.extend_from_slice(&[1, 5, b'a', b'=', b'b']);
        v.extend_from_slice(&[1, 2]);
        p.add(VENDOR_SPECIFIC, v);
        p.add(VENDOR_SPECIFIC, vec![0, 0, 0, 9, 1, 9, b'x']);
        p.add(VENDOR_SPECIFIC, vec![0, 0, 1]);
        p.add_vsa(vendor::ARUBA, 1, b"staff").unwrap();
        let got: Vec<_> = p.vsas().collect();
        assert_eq!(
            got,
            vec![
                Vsa {
                    vendor: 9,
                    typ: 1,
                    value: b"a=b"
                },
                Vsa {
                    vendor: 9,
                    typ: 1,
                    value: b""
                },
                Vsa {
                    vendor: vendor::ARUBA,
                    typ: 1,
                    value: b"staff"
                },
            ]
        );
        assert_eq!(p.vsa(vendor::ARUBA, 1), Some(&b"staff"[..]));
        assert_eq!(p.vsa(vendor::HP, 25), None);
        // The malformed payloads stay as opaque attributes.
        assert_eq!(p.attrs(VENDOR_SPECIFIC).count(), 4);
    }

    #[test]
    fn vsa_value_limit_is_247() {
        let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
        let max = vec![b'x'; 247];
        p.add_vsa(vendor::CISCO, 1, &max).unwrap();
        assert_eq!(p.attributes[0].value.len(), 253);
        assert_eq!(
            p.add_vsa(vendor::CISCO, 1, &[b'x'; 248]),
            Err(EncodeError::VsaTooLong { len: 248, max: 247 })
        );
        let wire = p
            .encode_reply(&[0; 16], &crate::SharedSecret::new("s"))
            .unwrap();
        let back = Packet::decode(&wire).unwrap();
        assert_eq!(back.vsa(vendor::CISCO, 1), Some(&max[..]));
    }

    #[test]
    fn parse_vsa_rejects_malformed() {
        assert_eq!(parse_vsa(&[0, 0, 0, 9]), None);
        assert_eq!(parse_vsa(&[0, 0, 0, 9, 1]), None);
        assert_eq!(parse_vsa(&[0, 0, 0, 9, 1, 1]), None);
        assert_eq!(parse_vsa(&[0, 0, 0, 9, 1, 3]), None);
        assert_eq!(
            parse_vsa(&[0, 0, 0, 9, 1, 3, 7]),
            Some((9, &[1u8, 3, 7][..]))
        );
    }
}
