//! EAP-TLS configuration: the rustls server configuration (server certificate, client-certificate
//! verification against per-deployment roots and CRLs, allowed TLS versions, clock) and the framing
//! settings.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::time_provider::{DefaultTimeProvider, TimeProvider};
use rustls::{RootCertStore, ServerConfig};
use thiserror::Error;

use super::fragment::{DEFAULT_FRAGMENT_SIZE, DEFAULT_MAX_MESSAGE_SIZE};

/// A TLS protocol version a deployment can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// Why a server configuration cannot be built.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("minimum TLS version {min:?} is above the maximum {max:?}")]
    VersionRange { min: TlsVersion, max: TlsVersion },
    #[error("a client CA certificate is not usable as a trust anchor: {0}")]
    TrustAnchor(rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("TLS versions not supported by the crypto provider: {0}")]
    Versions(rustls::Error),
    #[error("server certificate or key: {0}")]
    ServerCertificate(rustls::Error),
}

/// What goes into the rustls server configuration for EAP-TLS.
#[derive(Debug)]
pub struct TlsSettings {
    /// Server certificate chain, leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// Trust anchors for client certificates.
    pub client_roots: Vec<CertificateDer<'static>>,
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// Clock for certificate validity checks; `None` reads the system clock.
    pub time: Option<Arc<dyn TimeProvider>>,
}

/// Build the rustls server configuration: client certificates required and verified against the
/// roots (and CRLs), the allowed versions only, no TLS 1.3 session tickets.
pub fn build_server_config(settings: TlsSettings) -> Result<Arc<ServerConfig>, ConfigError> {
    let TlsSettings {
        cert_chain,
        key,
        client_roots,
        crls,
        min_version,
        max_version,
        time,
    } = settings;
    if min_version > max_version {
        return Err(ConfigError::VersionRange {
            min: min_version,
            max: max_version,
        });
    }
    let mut roots = RootCertStore::empty();
    for root in client_roots {
        roots.add(root).map_err(ConfigError::TrustAnchor)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .build()?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (min_version..=max_version).contains(v))
    .map(|(_, p)| p)
    .collect();
    let time = time.unwrap_or_else(|| Arc::new(DefaultTimeProvider));
    let mut config = ServerConfig::builder_with_details(provider, time)
        .with_protocol_versions(&versions)
        .map_err(ConfigError::Versions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(cert_chain, key)
        .map_err(ConfigError::ServerCertificate)?;
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// EAP-TLS settings for one deployment.
#[derive(Debug, Clone)]
pub struct EapTlsConfig {
    pub tls: Arc<ServerConfig>,
    /// Most TLS data octets per EAP-TLS fragment (default 1000).
    pub fragment_size: usize,
    /// Largest reassembled incoming TLS message (default 64 KiB).
    pub max_message_size: usize,
    /// Put the L bit on single-fragment messages too (default: only on the first of several).
    pub always_include_length: bool,
}

impl EapTlsConfig {
    pub fn new(tls: Arc<ServerConfig>) -> EapTlsConfig {
        EapTlsConfig {
            tls,
            fragment_size: DEFAULT_FRAGMENT_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            always_include_length: false,
        }
    }
}
