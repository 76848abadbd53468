//! Helpers shared by the unit tests: hex, fixtures, the shipped dictionary.

use std::path::PathBuf;

pub fn unhex(s: &str) -> Vec<u8> {
    let digits: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub const FIXTURES: &[&str] = &[
    "acct-start-cisco.bin",
    "auth-eap-identity-ma.bin",
    "auth-mab-cisco-ma.bin",
    "auth-pap-ma.bin",
    "coa-request-cisco-reauth.bin",
    "disconnect-request.bin",
    "freeradius-accept-vlan-for-auth-pap-ma.bin",
    "freeradius-challenge-for-auth-eap-identity-ma.bin",
    "freeradius-reject-for-auth-mab-cisco-ma.bin",
];

pub fn shipped_dictionary_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dictionaries/dictionary")
}

pub fn auth_of(raw: &[u8]) -> [u8; 16] {
    raw[4..20].try_into().unwrap()
}

/// xorshift64*: a tiny deterministic PRNG for the mutation tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
