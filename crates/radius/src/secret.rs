//! The per-client shared secret, kept out of logs.

use std::fmt;

/// A RADIUS shared secret. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Vec<u8>);

impl SharedSecret {
    /// Wraps the secret octets.
    pub fn new(secret: impl Into<Vec<u8>>) -> SharedSecret {
        SharedSecret(secret.into())
    }

    /// The secret octets, for hashing.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in octets (secrets of 8 or fewer are considered weak).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

impl fmt::Display for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_secret() {
        let s = SharedSecret::new("xyzzy5461");
        assert_eq!(format!("{s}"), "<redacted>");
        assert!(!format!("{s:?}").contains("xyzzy"));
        assert_eq!(s.as_bytes(), b"xyzzy5461");
    }
}
