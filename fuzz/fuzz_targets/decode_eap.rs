//! Fuzz target: untrusted bytes as an EAP packet and as EAP-TLS fragments, through reassembly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wardgate_eap::packet::Packet;
use wardgate_eap::tls::fragment::{Fragmenter, Reassembler, TlsFragment};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::decode(data) {
        let wire = p.encode().expect("a decoded packet fits its Length field");
        assert_eq!(Packet::decode(&wire).expect("our own encoding decodes"), p);
        let _ = p.nak_types();
        let _ = p.identity();
        if let Ok(f) = TlsFragment::decode(&p.data) {
            let _ = f.is_ack();
        }
    }
    // The same bytes as a run of EAP-TLS fragments: each chunk is one fragment's type data.
    let mut reassembler = Reassembler::new(4096);
    for chunk in data.split(|b| *b == 0xfe) {
        let Ok(fragment) = TlsFragment::decode(chunk) else {
            continue;
        };
        assert_eq!(TlsFragment::decode(&fragment.encode()).as_ref(), Ok(&fragment));
        match reassembler.push(&fragment) {
            Ok(Some(message)) => {
                assert!(message.len() <= 4096);
                let mut out = Fragmenter::new(message.clone(), 100, false);
                let mut back = Reassembler::new(4096);
                let mut whole = None;
                while let Some(f) = out.next_fragment() {
                    whole = back.push(&f).expect("our own fragments reassemble");
                }
                assert_eq!(whole, Some(message));
            }
            Ok(None) => {}
            Err(_) => reassembler = Reassembler::new(4096),
        }
    }
});
