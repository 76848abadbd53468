//! Accounting (RFC 2866): authenticity of Accounting-Requests, the Accounting-Response, and an
//! audit line per request (the live session table comes later).

use super::State;
use super::auth::{Answer, Drop, now_ms};
use crate::config::Client;
use crate::server::stats::Stats;
use std::net::SocketAddr;
use wardgate_radius::{
    Code, MessageAuthenticator, Packet, attr, check_message_authenticator,
    verify_request_authenticator,
};
use wardgate_store::AuditRecord;
use wardgate_types::MacAddr;

/// An Accounting-Request's Request Authenticator must verify (RFC 2866 3); a Message-Authenticator,
/// when present, too.
pub fn check_authentic(raw: &[u8], client: &Client) -> Result<(), Drop> {
    if !verify_request_authenticator(raw, &client.secret) {
        return Err(Drop::BadAuthenticator);
    }
    match check_message_authenticator(raw, &client.secret, None) {
        MessageAuthenticator::Invalid => Err(Drop::BadAuthenticator),
        _ => Ok(()),
    }
}

pub fn handle(state: &State, client: &Client, src: SocketAddr, req: &Packet) -> Answer {
    Stats::bump(&state.stats.accounting);
    let text = |t| req.attr(t).map(|v| String::from_utf8_lossy(v).into_owned());
    let status = super::format_attr(&state.dict, req, None, attr::ACCT_STATUS_TYPE)
        .unwrap_or_else(|| "unknown".into());
    let mac = text(attr::CALLING_STATION_ID)
        .and_then(|s| MacAddr::parse(&s).ok())
        .map(|m| m.to_string());
    let detail = serde_json::json!({
        "acct_status_type": status,
        "acct_session_id": text(attr::ACCT_SESSION_ID),
        "nas_port_id": text(attr::NAS_PORT_ID),
    });
    let audit = AuditRecord {
        time_ms: now_ms(),
        kind: "accounting".into(),
        nas: client.name.clone(),
        nas_addr: src.ip().to_string(),
        mac,
        user: text(attr::USER_NAME),
        method: "accounting".into(),
        rule: None,
        policy_version: String::new(),
        segment: None,
        vlan: None,
        result: "recorded".into(),
        reason: status.to_ascii_lowercase(),
        detail: Some(detail.to_string()),
    };
    let mut reply = Packet::reply_to(req, Code::ACCOUNTING_RESPONSE);
    reply.copy_proxy_state(req);
    Answer {
        reply,
        audit: Some(audit),
        known: false,
    }
}

/// Status-Server on the accounting port (RFC 5997 4.2): an Accounting-Response.
pub fn status(state: &State, req: &Packet) -> Answer {
    Stats::bump(&state.stats.status_server);
    Answer {
        reply: Packet::reply_to(req, Code::ACCOUNTING_RESPONSE),
        audit: None,
        known: false,
    }
}
