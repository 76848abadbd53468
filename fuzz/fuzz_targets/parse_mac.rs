//! MAC parsing: whatever a switch puts in Calling-Station-Id or User-Name. Never panics, and a
//! parsed MAC prints to a spelling that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wardgate_types::MacAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mac) = MacAddr::parse(s) {
        assert_eq!(MacAddr::parse(&mac.to_string()), Ok(mac));
        assert_eq!(MacAddr::parse(&mac.to_bare_lower()), Ok(mac));
        assert_eq!(MacAddr::parse(&mac.to_colon_lower()), Ok(mac));
    }
});
