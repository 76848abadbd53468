//! The EAP-TLS server conversation (RFC 5216, RFC 9190) as a state machine with no I/O: each step
//! consumes the state and one EAP Response and returns the next state and the EAP packet to send.
//! rustls runs on in-memory buffers.

use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{CipherSuite, ProtocolVersion, ServerConnection};
use thiserror::Error;

use super::config::EapTlsConfig;
use super::fragment::{FragmentError, Fragmenter, Reassembler, TlsFragment};
use super::keys::{EapKeys, KeyError};
use crate::packet::{Code, DecodeError, EapType, Packet};

/// Upper bound on EAP requests in one conversation: a long chain at a small fragment size needs a few
/// dozen; this stops a peer from keeping a conversation alive forever.
pub const MAX_ROUNDS: u32 = 512;

/// Largest TLS data per fragment that still fits an EAP Length (header, type, flags, L length).
const MAX_FRAGMENT_SIZE: usize = u16::MAX as usize - 10;

/// Why a conversation ended in EAP-Failure. `code()` is a stable identifier for logs and audit.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FailureReason {
    #[error("malformed EAP packet: {0}")]
    Malformed(#[from] DecodeError),
    #[error("malformed EAP-TLS message: {0}")]
    Fragment(#[from] FragmentError),
    #[error("peer sent EAP code {0:?} where a Response was expected")]
    UnexpectedCode(Code),
    #[error("peer answered with EAP type {0:?} instead of EAP-TLS")]
    UnexpectedType(Option<EapType>),
    #[error("peer refused EAP-TLS (Nak); it asks for {0:?}")]
    PeerNak(Vec<EapType>),
    #[error("TLS handshake failed: {0}")]
    Tls(rustls::Error),
    #[error("TLS buffer error: {0}")]
    Buffer(String),
    #[error("EAP-TLS protocol violation: {0}")]
    ProtocolViolation(&'static str),
    #[error("more than {MAX_ROUNDS} EAP-TLS rounds")]
    TooManyRounds,
    #[error("key export failed: {0}")]
    Keys(#[from] KeyError),
}

impl FailureReason {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            FailureReason::Malformed(_) => "eap-malformed",
            FailureReason::Fragment(_) => "eap-tls-malformed",
            FailureReason::UnexpectedCode(_) => "eap-unexpected-code",
            FailureReason::UnexpectedType(_) => "eap-unexpected-type",
            FailureReason::PeerNak(_) => "eap-peer-nak",
            FailureReason::Tls(_) => "tls-handshake-failed",
            FailureReason::Buffer(_) => "tls-buffer",
            FailureReason::ProtocolViolation(_) => "eap-tls-protocol-violation",
            FailureReason::TooManyRounds => "eap-tls-too-many-rounds",
            FailureReason::Keys(_) => "eap-tls-key-export",
        }
    }
}

/// A successful EAP-TLS authentication.
#[derive(Debug, Clone)]
pub struct TlsOutcome {
    pub keys: EapKeys,
    /// The client's chain as it sent it, leaf first (already verified by the configured verifier).
    pub peer_certificates: Vec<CertificateDer<'static>>,
    pub protocol_version: ProtocolVersion,
    pub cipher_suite: Option<CipherSuite>,
}

/// Where an unfinished conversation stands (see [`EapTlsState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitClientHello,
    Handshaking,
    SendingFragments,
    AwaitFinalAck,
    AwaitAlertAck,
}

/// What follows once the current outgoing message has been sent in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterSend {
    Peer,
    FinalAck,
    AlertAck,
}

/// An unfinished EAP-TLS conversation: the TLS connection and the framing state.
pub struct Conversation {
    conn: Box<ServerConnection>,
    phase: Phase,
    /// Identifier of the last Request sent; the Response must carry it.
    identifier: u8,
    rounds: u32,
    fragment_size: usize,
    always_include_length: bool,
    incoming: Reassembler,
    outgoing: Option<Fragmenter>,
    after_send: AfterSend,
    pending_failure: Option<FailureReason>,
}

impl fmt::Debug for Conversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conversation")
            .field("phase", &self.phase)
            .field("identifier", &self.identifier)
            .field("rounds", &self.rounds)
            .finish_non_exhaustive()
    }
}

/// The EAP-TLS server states. Each non-final state holds its [`Conversation`].
#[derive(Debug)]
pub enum EapTlsState {
    /// Sent EAP-TLS Start; the Response carries (the first fragment of) the ClientHello.
    AwaitClientHello(Conversation),
    /// Sent a whole TLS flight (or acknowledged a fragment); the peer sends TLS data next.
    Handshaking(Conversation),
    /// Sent a fragment with M set; the peer sends an empty ACK next.
    SendingFragments(Conversation),
    /// The handshake is complete and the last flight (with the TLS 1.3 commitment message) sent;
    /// EAP-Success follows the peer's empty ACK.
    AwaitFinalAck(Conversation),
    /// A TLS alert was sent; EAP-Failure follows the peer's response.
    AwaitAlertAck(Conversation),
    /// EAP-Success was sent.
    Done(TlsOutcome),
    /// EAP-Failure was sent.
    Failed(FailureReason),
}

/// The result of one step: the next state, and the EAP packet to send (`None`: the Response was
/// silently discarded, as RFC 3748 asks for a wrong Identifier, or the conversation is over).
#[derive(Debug)]
pub struct Step {
    pub state: EapTlsState,
    pub reply: Option<Vec<u8>>,
}

fn success_bytes(identifier: u8) -> Vec<u8> {
    vec![3, identifier, 0, 4]
}

fn failure_bytes(identifier: u8) -> Vec<u8> {
    vec![4, identifier, 0, 4]
}

impl EapTlsState {
    /// Open a conversation: the EAP-TLS Start request, carrying `identifier`.
    pub fn start(config: &EapTlsConfig, identifier: u8) -> Result<Step, rustls::Error> {
        let conn = ServerConnection::new(Arc::clone(&config.tls))?;
        let conv = Conversation {
            conn: Box::new(conn),
            phase: Phase::AwaitClientHello,
            identifier: identifier.wrapping_sub(1),
            rounds: 0,
            fragment_size: config.fragment_size.clamp(1, MAX_FRAGMENT_SIZE),
            always_include_length: config.always_include_length,
            incoming: Reassembler::new(config.max_message_size),
            outgoing: None,
            after_send: AfterSend::Peer,
            pending_failure: None,
        };
        Ok(conv.send_request(&TlsFragment::start()))
    }

    /// Feed one EAP Response (wire bytes).
    pub fn handle(self, response: &[u8]) -> Step {
        match self {
            EapTlsState::AwaitClientHello(c)
            | EapTlsState::Handshaking(c)
            | EapTlsState::SendingFragments(c)
            | EapTlsState::AwaitFinalAck(c)
            | EapTlsState::AwaitAlertAck(c) => c.handle(response),
            done @ (EapTlsState::Done(_) | EapTlsState::Failed(_)) => Step {
                state: done,
                reply: None,
            },
        }
    }

    /// True for Done and Failed.
    pub fn is_finished(&self) -> bool {
        matches!(self, EapTlsState::Done(_) | EapTlsState::Failed(_))
    }
}

impl Conversation {
    fn into_state(self) -> EapTlsState {
        match self.phase {
            Phase::AwaitClientHello => EapTlsState::AwaitClientHello(self),
            Phase::Handshaking => EapTlsState::Handshaking(self),
            Phase::SendingFragments => EapTlsState::SendingFragments(self),
            Phase::AwaitFinalAck => EapTlsState::AwaitFinalAck(self),
            Phase::AwaitAlertAck => EapTlsState::AwaitAlertAck(self),
        }
    }

    fn fail(self, reason: FailureReason) -> Step {
        Step {
            reply: Some(failure_bytes(self.identifier)),
            state: EapTlsState::Failed(reason),
        }
    }

    fn handle(self, response: &[u8]) -> Step {
        let packet = match Packet::decode(response) {
            Ok(p) => p,
            Err(e) => return self.fail(e.into()),
        };
        if packet.identifier != self.identifier {
            // RFC 3748 section 4.1: a Response that does not match the outstanding Request is
            // silently discarded.
            return Step {
                state: self.into_state(),
                reply: None,
            };
        }
        if packet.code != Code::Response {
            return self.fail(FailureReason::UnexpectedCode(packet.code));
        }
        match packet.typ {
            Some(EapType::Tls) => {}
            Some(EapType::Nak) => {
                let wanted = packet.nak_types();
                return self.fail(FailureReason::PeerNak(wanted));
            }
            other => return self.fail(FailureReason::UnexpectedType(other)),
        }
        let fragment = match TlsFragment::decode(&packet.data) {
            Ok(f) => f,
            Err(e) => return self.fail(e.into()),
        };
        match self.phase {
            Phase::AwaitClientHello | Phase::Handshaking => self.on_peer_fragment(&fragment),
            Phase::SendingFragments => {
                if fragment.is_ack() {
                    self.send_next_fragment()
                } else {
                    self.fail(FailureReason::ProtocolViolation(
                        "expected an empty ACK between fragments",
                    ))
                }
            }
            Phase::AwaitFinalAck => {
                if fragment.is_ack() {
                    self.finish()
                } else {
                    self.on_data_after_handshake(&fragment)
                }
            }
            Phase::AwaitAlertAck => {
                let reason =
                    self.pending_failure
                        .clone()
                        .unwrap_or(FailureReason::ProtocolViolation(
                            "alert sent without a reason",
                        ));
                self.fail(reason)
            }
        }
    }

    fn on_peer_fragment(mut self, fragment: &TlsFragment) -> Step {
        if fragment.is_ack() && !self.incoming.in_progress() {
            return self.fail(FailureReason::ProtocolViolation(
                "empty ACK where TLS data was expected",
            ));
        }
        match self.incoming.push(fragment) {
            Err(e) => self.fail(e.into()),
            Ok(None) => self.send_request(&TlsFragment::ack()),
            Ok(Some(message)) if message.is_empty() => self.fail(FailureReason::ProtocolViolation(
                "empty TLS message where data was expected",
            )),
            Ok(Some(message)) => self.process_tls(&message),
        }
    }

    /// Peer data after our final flight: usually a TLS alert (it rejected our Finished or certificate).
    fn on_data_after_handshake(mut self, fragment: &TlsFragment) -> Step {
        let reason = match feed(&mut self.conn, &fragment.data) {
            Err(reason) => reason,
            Ok(()) => FailureReason::ProtocolViolation("TLS data where the final ACK was expected"),
        };
        self.fail(reason)
    }

    fn process_tls(mut self, message: &[u8]) -> Step {
        if let Err(reason) = feed(&mut self.conn, message) {
            // rustls has queued the alert (if any): send it, then EAP-Failure.
            return match drain(&mut self.conn) {
                Ok(alert) if !alert.is_empty() => {
                    self.pending_failure = Some(reason);
                    self.begin_send(alert, AfterSend::AlertAck)
                }
                _ => self.fail(reason),
            };
        }
        let complete = !self.conn.is_handshaking();
        if complete && self.conn.protocol_version() == Some(ProtocolVersion::TLSv1_3) {
            // RFC 9190 section 2.5: one octet 0x00 of application data commits to no more
            // handshake messages.
            if let Err(e) = self.conn.writer().write_all(&[0]) {
                return self.fail(FailureReason::Buffer(e.to_string()));
            }
        }
        match drain(&mut self.conn) {
            Err(reason) => self.fail(reason),
            Ok(out) if complete => self.begin_send(out, AfterSend::FinalAck),
            // A whole peer flight always draws a server flight; nothing back means the peer sent
            // a partial TLS message without the M flag.
            Ok(out) if out.is_empty() => self.fail(FailureReason::ProtocolViolation(
                "incomplete TLS flight without the M flag",
            )),
            Ok(out) => self.begin_send(out, AfterSend::Peer),
        }
    }

    fn begin_send(mut self, message: Vec<u8>, after: AfterSend) -> Step {
        self.outgoing = Some(Fragmenter::new(
            message,
            self.fragment_size,
            self.always_include_length,
        ));
        self.after_send = after;
        self.send_next_fragment()
    }

    fn send_next_fragment(mut self) -> Step {
        let Some(fragmenter) = self.outgoing.as_mut() else {
            return self.fail(FailureReason::ProtocolViolation(
                "ACK with nothing left to send",
            ));
        };
        let Some(fragment) = fragmenter.next_fragment() else {
            return self.fail(FailureReason::ProtocolViolation(
                "ACK with nothing left to send",
            ));
        };
        if fragmenter.is_done() {
            self.outgoing = None;
            self.phase = match self.after_send {
                AfterSend::Peer => Phase::Handshaking,
                AfterSend::FinalAck => Phase::AwaitFinalAck,
                AfterSend::AlertAck => Phase::AwaitAlertAck,
            };
        } else {
            self.phase = Phase::SendingFragments;
        }
        self.send_request(&fragment)
    }

    fn send_request(mut self, fragment: &TlsFragment) -> Step {
        self.rounds = self.rounds.saturating_add(1);
        if self.rounds > MAX_ROUNDS {
            return self.fail(FailureReason::TooManyRounds);
        }
        self.identifier = self.identifier.wrapping_add(1);
        match Packet::request(self.identifier, EapType::Tls, fragment.encode()).encode() {
            Ok(bytes) => Step {
                state: self.into_state(),
                reply: Some(bytes),
            },
            Err(_) => self.fail(FailureReason::ProtocolViolation("fragment too large")),
        }
    }

    fn finish(self) -> Step {
        let keys = match EapKeys::export(&self.conn) {
            Ok(k) => k,
            Err(e) => return self.fail(e.into()),
        };
        let peer_certificates = self
            .conn
            .peer_certificates()
            .map(<[CertificateDer<'static>]>::to_vec)
            .unwrap_or_default();
        if peer_certificates.is_empty() {
            return self.fail(FailureReason::ProtocolViolation("no client certificate"));
        }
        let Some(protocol_version) = self.conn.protocol_version() else {
            return self.fail(FailureReason::ProtocolViolation("no TLS version"));
        };
        let outcome = TlsOutcome {
            keys,
            peer_certificates,
            protocol_version,
            cipher_suite: self.conn.negotiated_cipher_suite().map(|s| s.suite()),
        };
        Step {
            reply: Some(success_bytes(self.identifier)),
            state: EapTlsState::Done(outcome),
        }
    }
}

/// Give one reassembled TLS message to rustls.
fn feed(conn: &mut ServerConnection, message: &[u8]) -> Result<(), FailureReason> {
    let mut rest = message;
    while !rest.is_empty() {
        let n = conn
            .read_tls(&mut rest)
            .map_err(|e| FailureReason::Buffer(e.to_string()))?;
        conn.process_new_packets().map_err(FailureReason::Tls)?;
        if n == 0 {
            break;
        }
    }
    Ok(())
}

/// Everything rustls wants to send.
fn drain(conn: &mut ServerConnection) -> Result<Vec<u8>, FailureReason> {
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out)
            .map_err(|e| FailureReason::Buffer(e.to_string()))?;
    }
    Ok(out)
}
