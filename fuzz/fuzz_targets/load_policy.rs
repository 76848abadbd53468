//! Policy loading: any bytes as a policy file and a test file give a policy or file:line errors,
//! never a panic; a policy that loads evaluates without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wardgate_policy::{AuthMethod, Facts, Policy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files = vec![("00-fuzz.toml".to_string(), text.to_string())];
    if let Ok(policy) = Policy::load_files(&files) {
        let facts = Facts::new(AuthMethod::Mab, "nas", "generic");
        let _ = policy.evaluate(&facts);
        let _ = wardgate_policy::run_test_files(&policy, &files);
    }
});
