use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::attr::*;
use crate::testutil::{fixture, shipped_dictionary_path};
use crate::{Code, Packet, SharedSecret, salt_encrypt, vendor};

fn shipped() -> Dictionary {
    Dictionary::load(&shipped_dictionary_path()).unwrap()
}

fn parse(files: &[(&str, &str)]) -> Result<Dictionary, DictionaryError> {
    let map: HashMap<String, String> = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let (name, text) = files[0];
    Dictionary::parse_str(name, text, |p: &Path| {
        map.get(&p.display().to_string())
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    })
}

fn err(files: &[(&str, &str)]) -> String {
    parse(files).unwrap_err().to_string()
}

#[test]
fn shipped_dictionaries_load_and_resolve() {
    let d = shipped();
    let tpgi = d.attribute("tunnel-private-group-id").unwrap();
    assert_eq!(
        (tpgi.vendor, tpgi.code, tpgi.kind),
        (None, 81, AttrType::String)
    );
    assert!(tpgi.has_tag);
    let tt = d.attribute("Tunnel-Type").unwrap();
    assert!(tt.has_tag);
    assert_eq!(d.value_number(tt, "VLAN"), Some(13));

    let check = |name: &str, vendor: Option<u32>, code: u8| {
        let def = d
            .attribute(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!((def.vendor, def.code), (vendor, code), "{name}");
        assert_eq!(
            d.by_code(vendor, code).map(|a| a.name.as_str()),
            Some(def.name.as_str()),
            "{name}"
        );
    };
    check("Cisco-AVPair", Some(vendor::CISCO), 1);
    check("Aruba-User-Role", Some(vendor::ARUBA), 1);
    check("Aruba-User-Vlan", Some(vendor::ARUBA), 2);
    check("HP-User-Role", Some(vendor::HP), 25);
    check("Airespace-ACL-Name", Some(vendor::AIRESPACE), 6);
    check("Airespace-Interface-Name", Some(vendor::AIRESPACE), 5);
    check("Ruckus-User-Groups", Some(vendor::RUCKUS), 1);
    check("Fortinet-Group-Name", Some(vendor::FORTINET), 1);
    check("MS-MPPE-Recv-Key", Some(vendor::MICROSOFT), 17);
    check("MS-MPPE-Send-Key", Some(vendor::MICROSOFT), 16);
    check("Message-Authenticator", None, MESSAGE_AUTHENTICATOR);
    check("Egress-VLANID", None, EGRESS_VLANID);
    check("NAS-Filter-Rule", None, NAS_FILTER_RULE);
    check("Error-Cause", None, ERROR_CAUSE);
    assert_eq!(d.attribute("MS-MPPE-Recv-Key").unwrap().encrypt, 2);
    assert_eq!(d.attribute("User-Password").unwrap().encrypt, 1);
    assert!(d.attribute("EAP-Message").unwrap().concat);
    assert!(d.attribute("Extreme-Netlogin-Vlan").is_some());

    let npt = d.attribute("NAS-Port-Type").unwrap();
    assert_eq!(d.value_number(npt, "Ethernet"), Some(15));
    assert_eq!(d.value_number(npt, "wireless-802.11"), Some(19));
    assert_eq!(d.value_name(npt, 15), Some("Ethernet"));
    assert_eq!(d.value_name(npt, 9999), None);
    let ec = d.attribute("Error-Cause").unwrap();
    assert_eq!(d.value_name(ec, 503), Some("Session-Context-Not-Found"));

    assert_eq!(d.vendor_id("cisco"), Some(9));
    assert_eq!(d.vendor_id("Microsoft"), Some(311));
    assert_eq!(d.vendor_id("Meraki"), Some(vendor::MERAKI));
    assert!(d.vendor(vendor::ARUBA).unwrap().is_rfc_format());
    assert!(d.attribute("No-Such-Attribute").is_none());
}

#[test]
fn system_freeradius_dictionaries_load_if_installed() {
    // The full FreeRADIUS 3.2 set exercises every construct (TLVs, extended attributes,
    // vendors with other formats). Skipped where freeradius-common is not installed.
    let path = Path::new("/usr/share/freeradius/dictionary");
    if !path.exists() {
        return;
    }
    let d = Dictionary::load(path).unwrap();
    assert!(d.attributes().count() > 5000);
    let usr = d.vendor(d.vendor_id("USR").unwrap()).unwrap();
    assert_eq!((usr.type_size, usr.length_size), (4, 0));
    assert!(d.attribute("Frag-Status").unwrap().parent == [241]);
}

#[test]
fn format_values() {
    let d = shipped();
    let f = |name: &str, raw: &[u8]| d.format_value(d.attribute(name).unwrap(), raw);
    assert_eq!(f("Tunnel-Type", &[0, 0, 0, 13]), "VLAN");
    assert_eq!(f("Tunnel-Type", &[1, 0, 0, 13]), ":1:VLAN");
    assert_eq!(f("Tunnel-Type", &[0, 0, 0, 99]), "99");
    assert_eq!(f("Tunnel-Type", &[0, 0, 13]), "0x00000d");
    assert_eq!(f("Tunnel-Private-Group-Id", b"120"), "120");
    assert_eq!(f("Tunnel-Private-Group-Id", b"\x02120"), ":2:120");
    assert_eq!(f("NAS-Port-Type", &[0, 0, 0, 15]), "Ethernet");
    assert_eq!(f("NAS-IP-Address", &[10, 0, 0, 2]), "10.0.0.2");
    assert_eq!(
        f("User-Name", b"n\xc3\xa9mo\n\xff\\"),
        "n\u{e9}mo\\x0a\\xff\\\\"
    );
    assert_eq!(f("State", &[0xde, 0xad]), "0xdead");
    assert_eq!(
        f("Event-Timestamp", &1_700_000_000u32.to_be_bytes()),
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(
        f(
            "NAS-IPv6-Address",
            &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        ),
        "2001:db8::1"
    );
    assert_eq!(
        f("Framed-IPv6-Prefix", &[0, 32, 0x20, 0x01, 0x0d, 0xb8]),
        "2001:db8::/32"
    );
    assert_eq!(
        f("Framed-Interface-Id", &[0, 1, 2, 3, 4, 5, 6, 7]),
        "0001:0203:0405:0607"
    );
    assert_eq!(f("Cisco-AVPair", b"method=mab"), "method=mab");
}

#[test]
fn encode_values() {
    let d = shipped();
    let e = |name: &str, text: &str| d.encode_value(d.attribute(name).unwrap(), text);
    assert_eq!(e("Tunnel-Type", "VLAN").unwrap(), [0, 0, 0, 13]);
    assert_eq!(e("Tunnel-Type", ":1:vlan").unwrap(), [1, 0, 0, 13]);
    assert_eq!(e("Tunnel-Medium-Type", "IEEE-802").unwrap(), [0, 0, 0, 6]);
    assert_eq!(e("Tunnel-Private-Group-Id", "120").unwrap(), b"120");
    assert_eq!(e("Tunnel-Private-Group-Id", ":3:120").unwrap(), b"\x03120");
    assert_eq!(e("NAS-Port-Type", "Ethernet").unwrap(), [0, 0, 0, 15]);
    assert_eq!(e("Session-Timeout", "3600").unwrap(), 3600u32.to_be_bytes());
    assert_eq!(e("Session-Timeout", "0x10").unwrap(), 16u32.to_be_bytes());
    assert_eq!(e("Framed-IP-Address", "10.1.2.3").unwrap(), [10, 1, 2, 3]);
    assert_eq!(
        e("Framed-IPv6-Prefix", "2001:db8::/32").unwrap(),
        [0, 32, 0x20, 0x01, 0x0d, 0xb8]
    );
    assert_eq!(
        e("Event-Timestamp", "2023-11-14T22:13:20Z").unwrap(),
        1_700_000_000u32.to_be_bytes()
    );
    assert_eq!(e("State", "0xdead").unwrap(), [0xde, 0xad]);
    assert_eq!(e("Class", "plain").unwrap(), b"plain");
    assert_eq!(e("Filter-Id", "clinical").unwrap(), b"clinical");
    for (name, bad) in [
        ("Session-Timeout", "soon"),
        ("Session-Timeout", "4294967296"),
        ("Tunnel-Type", "16777216"),
        ("Framed-IP-Address", "10.1.2"),
        ("Framed-IPv6-Prefix", "2001:db8::/129"),
    ] {
        assert!(
            matches!(e(name, bad), Err(ValueError::Invalid { .. })),
            "{name} {bad}"
        );
    }
    assert!(matches!(
        e("Filter-Id", &"x".repeat(254)),
        Err(ValueError::TooLong { .. })
    ));
    // Every value formats back to text that encodes to the same octets.
    for (name, raw) in [
        ("Tunnel-Type", &[2u8, 0, 0, 13][..]),
        ("NAS-Port-Type", &[0, 0, 0, 19]),
        ("Framed-IP-Address", &[192, 168, 0, 1]),
        ("Event-Timestamp", &[0x65, 0x53, 0xf1, 0x00]),
    ] {
        let def = d.attribute(name).unwrap();
        assert_eq!(
            d.encode_value(def, &d.format_value(def, raw)).unwrap(),
            raw,
            "{name}"
        );
    }
}

#[test]
fn describe_resolves_vendors_and_redacts_secrets() {
    let d = shipped();
    let p = Packet::decode(&fixture("auth-mab-cisco-ma.bin")).unwrap();
    let pairs = d.describe(&p);
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("User-Name"), Some("aabbccddeeff"));
    assert_eq!(get("User-Password"), Some("<redacted>"));
    assert_eq!(get("Service-Type"), Some("Call-Check"));
    assert_eq!(get("NAS-Port-Type"), Some("Ethernet"));
    assert_eq!(get("Cisco-AVPair"), Some("service-type=Call Check"));
    assert_eq!(pairs.iter().filter(|(k, _)| k == "Cisco-AVPair").count(), 3);

    let mut p = Packet::new(Code::ACCESS_ACCEPT, 1, [0; 16]);
    let s = SharedSecret::new("s");
    p.add_vsa(
        vendor::MICROSOFT,
        17,
        &salt_encrypt(&[1; 32], &s, &[0; 16], [0x80, 1]),
    )
    .unwrap();
    p.add_vsa(vendor::MICROSOFT, 1, b"chap-challenge").unwrap();
    p.add(CHAP_PASSWORD, vec![1; 17]);
    p.add(TUNNEL_PASSWORD, vec![0, 0x80, 1]);
    p.add_vsa(99_999, 7, b"?").unwrap();
    p.add(VENDOR_SPECIFIC, vec![0, 0]);
    p.add(250, vec![1, 2]);
    p.add(TUNNEL_TYPE, vec![0, 0, 0, 13]);
    let pairs = d.describe(&p);
    assert_eq!(
        pairs,
        [
            ("MS-MPPE-Recv-Key".to_string(), "<redacted>".to_string()),
            ("MS-CHAP-Response".to_string(), "<redacted>".to_string()),
            ("CHAP-Password".to_string(), "<redacted>".to_string()),
            ("Tunnel-Password".to_string(), "<redacted>".to_string()),
            ("Attr-26.99999.7".to_string(), "0x3f".to_string()),
            ("Attr-26".to_string(), "0x0000".to_string()),
            ("Attr-250".to_string(), "0x0102".to_string()),
            ("Tunnel-Type".to_string(), "VLAN".to_string()),
        ]
    );
}

#[test]
fn syntax_errors_name_file_and_line() {
    assert_eq!(
        err(&[("test", "# comment\nATTRIBUTE A 1 string\nFOO bar\n")]),
        "test:3: unknown keyword 'FOO'"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A 1 strang\n")]),
        "t:1: unknown data type 'strang'"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A x string\n")]),
        "t:1: bad attribute number 'x'"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A 65536 string\n")]),
        "t:1: attribute number 65536 out of range"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A 1.256 string\n")]),
        "t:1: attribute number 256 out of range"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A 300.1 string\n")]),
        "t:1: attribute number 300 out of range"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A 1 string bogus\n")]),
        "t:1: unknown flag 'bogus'"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A 1\n")]),
        "t:1: ATTRIBUTE takes a name, a number, a type and optional flags"
    );
    assert_eq!(
        err(&[("t", "ATTRIBUTE A 1 string\nATTRIBUTE A 2 string\n")]),
        "t:2: attribute 'A' already defined differently"
    );
    assert_eq!(
        err(&[("t", "\n\nVALUE B X 1\n")]),
        "t:3: VALUE for unknown attribute 'B'"
    );
    assert_eq!(
        err(&[("t", "BEGIN-VENDOR Nope\n")]),
        "t:1: unknown vendor 'Nope'"
    );
    assert_eq!(
        err(&[("t", "VENDOR V 5\nBEGIN-VENDOR V\nATTRIBUTE A 1 string\n")]),
        "t:3: BEGIN-VENDOR without END-VENDOR"
    );
    assert_eq!(
        err(&[("t", "VENDOR V 5\nBEGIN-VENDOR V\nEND-VENDOR W\n")]),
        "t:3: END-VENDOR does not match BEGIN-VENDOR"
    );
    assert_eq!(
        err(&[("t", "VENDOR V 5 format=3,1\n")]),
        "t:1: bad format '3,1'"
    );
    // Errors inside an included file name that file; a missing include names the
    // including line.
    assert_eq!(
        err(&[
            ("dir/top", "\n$INCLUDE sub\n"),
            ("dir/sub", "ATTRIBUTE A 1 string\nATTRIBUTE\n")
        ]),
        "dir/sub:2: ATTRIBUTE takes a name, a number, a type and optional flags"
    );
    assert!(
        err(&[("dir/top", "$INCLUDE missing\n")]).starts_with("dir/top:1: cannot read dir/missing")
    );
    assert!(parse(&[("dir/top", "$INCLUDE- missing\n")]).is_ok());
    assert_eq!(
        err(&[("loop", "$INCLUDE loop\n")]),
        "loop:1: $INCLUDE nested too deeply"
    );
    let io = Dictionary::load(Path::new("/nonexistent/dictionary")).unwrap_err();
    assert!(matches!(io, DictionaryError::Io { .. }));
}

#[test]
fn vendor_blocks_tlvs_and_old_syntax() {
    let d = parse(&[(
        "t",
        "VENDOR Acme 4242\n\
         VENDOR Wide 77 format=2,1\n\
         ATTRIBUTE Acme-Old 3 integer Acme\n\
         BEGIN-VENDOR Acme\n\
         ATTRIBUTE Acme-Role 1 string # trailing comment\n\
         ATTRIBUTE Acme-Tree 2 tlv\n\
         BEGIN-TLV Acme-Tree\n\
         ATTRIBUTE Acme-Leaf 1 ipaddr\n\
         END-TLV Acme-Tree\n\
         END-VENDOR Acme\n\
         BEGIN-VENDOR Wide\n\
         ATTRIBUTE Wide-Big 300 octets\n\
         END-VENDOR Wide\n\
         VALUE Acme-Old Yes 1\n\
         VALUE Acme-Old Also-Yes 1\n\
         VALUE Acme-Old Hex 0x10\n",
    )])
    .unwrap();
    assert_eq!(d.by_code(Some(4242), 3).unwrap().name, "Acme-Old");
    assert_eq!(d.by_code(Some(4242), 1).unwrap().name, "Acme-Role");
    let leaf = d.attribute("acme-leaf").unwrap();
    assert_eq!((leaf.parent.as_slice(), leaf.number), (&[2u32][..], 1));
    assert_eq!(d.by_code(Some(4242), 2).unwrap().name, "Acme-Tree");
    let wide = d.attribute("Wide-Big").unwrap();
    assert_eq!(wide.number, 300);
    assert!(!d.vendor(77).unwrap().is_rfc_format());
    let old = d.attribute("Acme-Old").unwrap();
    assert_eq!(d.value_name(old, 1), Some("Yes"));
    assert_eq!(d.value_number(old, "also-yes"), Some(1));
    assert_eq!(d.value_number(old, "Hex"), Some(16));
}
