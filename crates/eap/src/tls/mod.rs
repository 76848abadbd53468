//! EAP-TLS (RFC 5216, RFC 9190): fragmentation, key derivation and the server conversation.

pub mod config;
pub mod fragment;
pub mod keys;
pub mod server;

pub use config::{ConfigError, EapTlsConfig, TlsSettings, TlsVersion, build_server_config};
pub use keys::EapKeys;
pub use server::{EapTlsState, FailureReason, Step, TlsOutcome};

#[cfg(test)]
mod tests;
