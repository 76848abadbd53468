//! Standard attribute numbers (RFC 2865, 2866, 2867, 2868, 2869, 3162, 3576/5176, 3580,
//! 4072, 4372, 4675, 4849, 5580) and the RFC 2868 tagged-value helpers.

pub const USER_NAME: u8 = 1;
pub const USER_PASSWORD: u8 = 2;
pub const CHAP_PASSWORD: u8 = 3;
pub const NAS_IP_ADDRESS: u8 = 4;
pub const NAS_PORT: u8 = 5;
pub const SERVICE_TYPE: u8 = 6;
pub const FRAMED_PROTOCOL: u8 = 7;
pub const FRAMED_IP_ADDRESS: u8 = 8;
pub const FRAMED_IP_NETMASK: u8 = 9;
pub const FRAMED_ROUTING: u8 = 10;
pub const FILTER_ID: u8 = 11;
pub const FRAMED_MTU: u8 = 12;
pub const FRAMED_COMPRESSION: u8 = 13;
pub const LOGIN_IP_HOST: u8 = 14;
pub const LOGIN_SERVICE: u8 = 15;
pub const LOGIN_TCP_PORT: u8 = 16;
pub const REPLY_MESSAGE: u8 = 18;
pub const CALLBACK_NUMBER: u8 = 19;
pub const CALLBACK_ID: u8 = 20;
pub const FRAMED_ROUTE: u8 = 22;
pub const FRAMED_IPX_NETWORK: u8 = 23;
pub const STATE: u8 = 24;
pub const CLASS: u8 = 25;
pub const VENDOR_SPECIFIC: u8 = 26;
pub const SESSION_TIMEOUT: u8 = 27;
pub const IDLE_TIMEOUT: u8 = 28;
pub const TERMINATION_ACTION: u8 = 29;
pub const CALLED_STATION_ID: u8 = 30;
pub const CALLING_STATION_ID: u8 = 31;
pub const NAS_IDENTIFIER: u8 = 32;
pub const PROXY_STATE: u8 = 33;
pub const LOGIN_LAT_SERVICE: u8 = 34;
pub const LOGIN_LAT_NODE: u8 = 35;
pub const LOGIN_LAT_GROUP: u8 = 36;
pub const FRAMED_APPLETALK_LINK: u8 = 37;
pub const FRAMED_APPLETALK_NETWORK: u8 = 38;
pub const FRAMED_APPLETALK_ZONE: u8 = 39;
pub const ACCT_STATUS_TYPE: u8 = 40;
pub const ACCT_DELAY_TIME: u8 = 41;
pub const ACCT_INPUT_OCTETS: u8 = 42;
pub const ACCT_OUTPUT_OCTETS: u8 = 43;
pub const ACCT_SESSION_ID: u8 = 44;
pub const ACCT_AUTHENTIC: u8 = 45;
pub const ACCT_SESSION_TIME: u8 = 46;
pub const ACCT_INPUT_PACKETS: u8 = 47;
pub const ACCT_OUTPUT_PACKETS: u8 = 48;
pub const ACCT_TERMINATE_CAUSE: u8 = 49;
pub const ACCT_MULTI_SESSION_ID: u8 = 50;
pub const ACCT_LINK_COUNT: u8 = 51;
pub const ACCT_INPUT_GIGAWORDS: u8 = 52;
pub const ACCT_OUTPUT_GIGAWORDS: u8 = 53;
pub const EVENT_TIMESTAMP: u8 = 55;
pub const EGRESS_VLANID: u8 = 56;
pub const INGRESS_FILTERS: u8 = 57;
pub const EGRESS_VLAN_NAME: u8 = 58;
pub const USER_PRIORITY_TABLE: u8 = 59;
pub const CHAP_CHALLENGE: u8 = 60;
pub const NAS_PORT_TYPE: u8 = 61;
pub const PORT_LIMIT: u8 = 62;
pub const LOGIN_LAT_PORT: u8 = 63;
pub const TUNNEL_TYPE: u8 = 64;
pub const TUNNEL_MEDIUM_TYPE: u8 = 65;
pub const TUNNEL_CLIENT_ENDPOINT: u8 = 66;
pub const TUNNEL_SERVER_ENDPOINT: u8 = 67;
pub const ACCT_TUNNEL_CONNECTION: u8 = 68;
pub const TUNNEL_PASSWORD: u8 = 69;
pub const ARAP_PASSWORD: u8 = 70;
pub const ARAP_FEATURES: u8 = 71;
pub const ARAP_ZONE_ACCESS: u8 = 72;
pub const ARAP_SECURITY: u8 = 73;
pub const ARAP_SECURITY_DATA: u8 = 74;
pub const PASSWORD_RETRY: u8 = 75;
pub const PROMPT: u8 = 76;
pub const CONNECT_INFO: u8 = 77;
pub const CONFIGURATION_TOKEN: u8 = 78;
pub const EAP_MESSAGE: u8 = 79;
pub const MESSAGE_AUTHENTICATOR: u8 = 80;
pub const TUNNEL_PRIVATE_GROUP_ID: u8 = 81;
pub const TUNNEL_ASSIGNMENT_ID: u8 = 82;
pub const TUNNEL_PREFERENCE: u8 = 83;
pub const ARAP_CHALLENGE_RESPONSE: u8 = 84;
pub const ACCT_INTERIM_INTERVAL: u8 = 85;
pub const ACCT_TUNNEL_PACKETS_LOST: u8 = 86;
pub const NAS_PORT_ID: u8 = 87;
pub const FRAMED_POOL: u8 = 88;
pub const CHARGEABLE_USER_IDENTITY: u8 = 89;
pub const TUNNEL_CLIENT_AUTH_ID: u8 = 90;
pub const TUNNEL_SERVER_AUTH_ID: u8 = 91;
pub const NAS_FILTER_RULE: u8 = 92;
pub const NAS_IPV6_ADDRESS: u8 = 95;
pub const FRAMED_INTERFACE_ID: u8 = 96;
pub const FRAMED_IPV6_PREFIX: u8 = 97;
pub const LOGIN_IPV6_HOST: u8 = 98;
pub const FRAMED_IPV6_ROUTE: u8 = 99;
pub const FRAMED_IPV6_POOL: u8 = 100;
pub const ERROR_CAUSE: u8 = 101;
pub const EAP_KEY_NAME: u8 = 102;
pub const OPERATOR_NAME: u8 = 126;
pub const LOCATION_INFORMATION: u8 = 127;
pub const LOCATION_DATA: u8 = 128;
pub const BASIC_LOCATION_POLICY_RULES: u8 = 129;
pub const EXTENDED_LOCATION_POLICY_RULES: u8 = 130;
pub const LOCATION_CAPABLE: u8 = 131;
pub const REQUESTED_LOCATION_INFO: u8 = 132;

/// Encodes a tagged integer value (RFC 2868 section 3.1): the tag in the high octet,
/// the value in the low 24 bits. Tunnel-Type tag 0 VLAN is `00 00 00 0D`, which goes
/// on the wire as `40 06 00 00 00 0D`. Bits of `value` above 24 are dropped.
pub fn tagged_integer(tag: u8, value: u32) -> [u8; 4] {
    let v = value.to_be_bytes();
    [tag, v[1], v[2], v[3]]
}

/// Decodes a tagged integer: `(tag, 24-bit value)`, or `None` unless exactly 4 octets.
pub fn parse_tagged_integer(value: &[u8]) -> Option<(u8, u32)> {
    match value {
        [tag, a, b, c] => Some((*tag, u32::from_be_bytes([0, *a, *b, *c]))),
        _ => None,
    }
}

/// Encodes a tagged string (RFC 2868 section 3.5/3.6).
///
/// A tag 0x01..=0x1F becomes the first octet. With tag 0 (or an invalid tag above
/// 0x1F, treated as 0) no tag octet is written, as FreeRADIUS does ("120" ->
/// `51 05 31 32 30`), unless `write_zero_tag` is set (some switches want `00`), or
/// unless the value itself starts with an octet below 0x20, which a receiver would
/// otherwise take for a tag: then a 0x00 tag octet is written.
pub fn tagged_string(tag: u8, value: &[u8], write_zero_tag: bool) -> Vec<u8> {
    let tag = if tag > 0x1F { 0 } else { tag };
    let needs_tag = tag != 0 || write_zero_tag || value.first().is_some_and(|first| *first < 0x20);
    let mut out = Vec::with_capacity(value.len() + 1);
    if needs_tag {
        out.push(tag);
    }
    out.extend_from_slice(value);
    out
}

/// Splits a tagged string value into `(tag, rest)`.
///
/// A first octet 0x01..=0x1F is a tag; a first octet 0x00 is an explicit zero tag and
/// is removed as well (RFC 2868: "greater than 0x1F ... is the first byte of the
/// following field"); anything else is data with tag 0.
pub fn parse_tagged_string(value: &[u8]) -> (u8, &[u8]) {
    match value.split_first() {
        Some((first, rest)) if *first < 0x20 => (*first, rest),
        _ => (0, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Packet;

    #[test]
    fn tunnel_type_vlan_tag0_is_length_6() {
        let mut p = Packet::new(crate::Code::ACCESS_ACCEPT, 0, [0; 16]);
        p.add(TUNNEL_TYPE, tagged_integer(0, 13));
        p.add(TUNNEL_MEDIUM_TYPE, tagged_integer(0, 6));
        p.add(TUNNEL_PRIVATE_GROUP_ID, tagged_string(0, b"120", false));
        let body = p.encode_attributes().unwrap();
        assert_eq!(
            body,
            [
                0x40, 0x06, 0, 0, 0, 0x0D, 0x41, 0x06, 0, 0, 0, 0x06, 0x51, 0x05, 0x31, 0x32, 0x30
            ]
        );
    }

    #[test]
    fn tagged_integer_round_trip() {
        assert_eq!(tagged_integer(1, 13), [1, 0, 0, 13]);
        assert_eq!(parse_tagged_integer(&[1, 0, 0, 13]), Some((1, 13)));
        assert_eq!(parse_tagged_integer(&[1, 0, 13]), None);
        assert_eq!(tagged_integer(0, 0x0123_4567), [0, 0x23, 0x45, 0x67]);
    }

    #[test]
    fn tagged_strings() {
        assert_eq!(tagged_string(0, b"120", false), b"120");
        assert_eq!(tagged_string(0, b"120", true), b"\x00120");
        assert_eq!(tagged_string(3, b"120", false), b"\x03120");
        assert_eq!(tagged_string(0x40, b"120", false), b"120");
        assert_eq!(tagged_string(0, b"\x05x", false), b"\x00\x05x");
        assert_eq!(parse_tagged_string(b"\x03120"), (3, &b"120"[..]));
        assert_eq!(parse_tagged_string(b"\x00120"), (0, &b"120"[..]));
        assert_eq!(parse_tagged_string(b"120"), (0, &b"120"[..]));
        assert_eq!(parse_tagged_string(b""), (0, &b""[..]));
        for (tag, zero) in [(0, false), (0, true), (1, false), (31, true)] {
            let enc = tagged_string(tag, b"\x01abc", zero);
            assert_eq!(parse_tagged_string(&enc), (tag, &b"\x01abc"[..]));
        }
    }
}
