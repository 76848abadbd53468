//! Fuzz target: dictionary text through the parser and the value printers.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wardgate_radius::dictionary::Dictionary;

const INCLUDED: &str = "VENDOR Acme 4242\nBEGIN-VENDOR Acme\nATTRIBUTE Acme-Role 1 string\nEND-VENDOR Acme\n";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let result = Dictionary::parse_str("fuzz/dictionary", &text, |p: &Path| {
        if p == Path::new("fuzz/sub") {
            Ok(INCLUDED.to_string())
        } else if p == Path::new("fuzz/dictionary") {
            // Self-inclusion: exercises the depth limit.
            Ok(text.to_string())
        } else {
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    });
    match result {
        Ok(dict) => {
            for def in dict.attributes() {
                let _ = dict.format_value(def, data);
                if let Ok(raw) = dict.encode_value(def, &text) {
                    let _ = dict.format_value(def, &raw);
                }
                let _ = dict.value_name(def, 1);
            }
        }
        Err(e) => {
            // Errors always say where.
            let _ = e.to_string();
        }
    }
});
