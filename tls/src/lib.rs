//! trm's TLS, shared by brokers and nodes: TLS 1.3 only, and a peer is authenticated during
//! the handshake by the exact certificate the federation directory lists, not merely by a
//! chain to the federation CA. A revoked, retired or never-listed certificate (even one the
//! CA signed) fails the handshake, in both directions.
//!
//! # Layout
//! - [`pins`]: the certificate fingerprints the directory in use lists, swapped when a newer
//!   directory is adopted.
//! - [`verify`]: the rustls verifiers: client certificates on a broker, the dialled broker's
//!   certificate on a node or a broker.
//! - [`refusals`]: refusals logged with the fingerprint, once per certificate per interval.
//! - [`config`]: PEM material and the rustls server and client configurations.
//! - [`connect`]: dialling TCP and wrapping it in pinned TLS, as an HTTP/2 connector.
//! - [`failover`]: a broker's several endpoints tried in turn, coming back to an earlier one
//!   that answers again.

#![forbid(unsafe_code)]

pub mod config;
pub mod connect;
pub mod failover;
pub mod pins;
pub mod refusals;
pub mod verify;

#[cfg(test)]
mod tests;

pub use config::{Identity, Roots, client_config, server_config};
pub use connect::Connector;
pub use failover::FailoverConnector;
pub use pins::Pins;
pub use refusals::Refusals;

/// Why TLS material or a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate PEM holds no readable certificate.
    #[error("the TLS certificate file holds no readable certificate")]
    NoCertificate,
    /// The key PEM holds no readable private key.
    #[error("the TLS key file holds no readable private key")]
    NoPrivateKey,
    /// The CA PEM holds no readable certificate.
    #[error("the federation CA file holds no readable certificate")]
    NoCaCertificate,
    /// A CA certificate is not usable as a trust anchor.
    #[error("the federation CA certificate cannot be used: {0}")]
    BadCa(rustls::Error),
    /// rustls refused the configuration (a key that does not match the certificate, ...).
    #[error("TLS configuration refused: {0}")]
    Config(#[from] rustls::Error),
    /// The certificate verifier could not be built from the CA.
    #[error("TLS verifier cannot be built from the federation CA: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// A broker name that is not a valid TLS server name.
    #[error("{0} is not a valid TLS server name")]
    ServerName(String),
}

/// The TLS server name a broker's certificate carries: `<name>.broker.trm`.
pub fn broker_server_name(broker: &trm_proto::addr::BrokerName) -> String {
    format!("{broker}.broker.trm")
}

/// A certificate fingerprint as people read it: lowercase hex.
pub fn spell(fingerprint: &[u8; 32]) -> String {
    hex::encode(fingerprint)
}
