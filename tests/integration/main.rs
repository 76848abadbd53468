//! End-to-end tests: the real `wardgate` binary on ephemeral loopback ports, driven by the real
//! radclient (freeradius-utils) and by a raw UDP client for what radclient cannot do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod eap_mab;
mod eap_tls;
mod harness;
mod mab;
mod postgres;
mod transport;
