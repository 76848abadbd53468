//! Counters of what the listeners received, answered and dropped, and why.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// Packet counters; every drop has a reason.
        #[derive(Debug, Default)]
        pub struct Stats { $(pub $name: AtomicU64,)* }

        impl Stats {
            /// Name/value pairs for logging.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name.load(Ordering::Relaxed)),)*]
            }
        }
    };
}

counters!(
    received,
    accepted,
    rejected,
    challenged,
    status_server,
    accounting,
    duplicate_resent,
    duplicate_in_progress,
    dropped_unknown_client,
    dropped_malformed,
    dropped_unexpected_code,
    dropped_bad_authenticator,
    dropped_missing_message_authenticator,
    dropped_proxy_state_without_message_authenticator,
    dropped_encode_error,
    dropped_internal_error,
);

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Dropped packets of every reason together.
    pub fn dropped(&self) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(n, _)| n.starts_with("dropped_"))
            .map(|(_, v)| v)
            .sum()
    }
}
