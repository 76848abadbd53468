//! EAP (RFC 3748) framing and EAP methods as state machines with no I/O.
//!
//! - [`packet`]: EAP packets, decoded from any byte slice without panicking.
//! - [`tls::fragment`]: EAP-TLS flags, fragmentation and reassembly (RFC 5216 section 3).
//! - [`tls::server`]: the EAP-TLS server conversation over an in-memory `rustls::ServerConnection`.
//! - [`tls::keys`]: MSK/EMSK from the TLS exporter and the MS-MPPE key attributes.
//!
//! A conversation, once the Identity exchange is done:
//!
//! ```text
//! let Step { state, reply } = EapTlsState::start(&config, next_identifier)?;   // EAP-TLS Start
//! // send `reply` in an Access-Challenge; keep `state` under the RADIUS State attribute
//! let Step { state, reply } = state.handle(&eap_message_from_access_request);
//! // reply: Some(request) -> Access-Challenge; Some(success/failure) with state Done/Failed ->
//! // Access-Accept (add MPPE keys from Done's keys) / Access-Reject; None -> drop the request.
//! ```

pub mod packet;
pub mod tls;
