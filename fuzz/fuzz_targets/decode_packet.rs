//! Fuzz target: untrusted datagrams through decode, describe and every check.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wardgate_radius::dictionary::Dictionary;
use wardgate_radius::{
    Packet, SharedSecret, check_message_authenticator, decrypt_user_password, salt_decrypt,
    verify_request_authenticator, verify_response_authenticator,
};

fn dictionary() -> &'static Dictionary {
    static DICT: OnceLock<Dictionary> = OnceLock::new();
    DICT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../dictionaries/dictionary");
        Dictionary::load(Path::new(path)).expect("shipped dictionaries load")
    })
}

fuzz_target!(|data: &[u8]| {
    let secret = SharedSecret::new("xyzzy5461");
    let _ = check_message_authenticator(data, &secret, None);
    let _ = check_message_authenticator(data, &secret, Some(&[7; 16]));
    let _ = verify_request_authenticator(data, &secret);
    let _ = verify_response_authenticator(data, &[7; 16], &secret);
    if let Ok(p) = Packet::decode(data) {
        let _ = dictionary().describe(&p);
        for v in p.vsas() {
            let _ = v.value.len();
        }
        let _ = p.concat(79);
        if let Some(pw) = p.attr(2) {
            let _ = decrypt_user_password(pw, &secret, &p.authenticator);
            let _ = salt_decrypt(pw, &secret, &p.authenticator);
        }
        // Whatever decodes re-encodes into something that decodes again.
        if let Ok(wire) = p.encode_reply(&p.authenticator, &secret) {
            let back = Packet::decode(&wire).expect("our own encoding decodes");
            assert!(verify_response_authenticator(&wire, &p.authenticator, &secret));
            assert_eq!(back.attributes.len(), p.attributes.iter().filter(|a| a.typ != 80).count() + usize::from(p.code.is_access_reply() || p.has_message_authenticator()));
        }
    }
});
