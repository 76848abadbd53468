//! Warnings about dropped requests that an operator must see without debug logging (an unknown
//! NAS, a wrong shared secret, a NAS that sends no Message-Authenticator), at most once a minute
//! for each source address and reason, so a misconfigured switch cannot flood the log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(60);
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct DropNotices(Mutex<HashMap<(IpAddr, &'static str), Instant>>);

impl DropNotices {
    /// True when a warning about (`src`, `reason`) is due now.
    pub fn due(&self, src: IpAddr, reason: &'static str, now: Instant) -> bool {
        let Ok(mut seen) = self.0.lock() else {
            return false;
        };
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, t| now.duration_since(*t) < EVERY);
            if seen.len() >= MAX_TRACKED {
                return false;
            }
        }
        match seen.get(&(src, reason)) {
            Some(t) if now.duration_since(*t) < EVERY => false,
            _ => {
                seen.insert((src, reason), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_minute_per_source_and_reason() {
        let n = DropNotices::default();
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(n.due(a, "unknown-client", t0));
        assert!(!n.due(a, "unknown-client", t0 + Duration::from_secs(59)));
        assert!(n.due(a, "bad-authenticator", t0));
        assert!(n.due(b, "unknown-client", t0));
        assert!(n.due(a, "unknown-client", t0 + Duration::from_secs(61)));
    }
}
