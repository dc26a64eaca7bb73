//! The rustls verifiers. Each first lets webpki check the chain to the federation CA (and, for
//! a server, the name), then checks that the leaf certificate is the one the directory in use
//! lists: any listed node or broker for a client certificate on a broker, exactly the dialled
//! broker for a server certificate. Every refusal is logged with the certificate's SHA-256,
//! rate-limited by [`Refusals`].
//!
//! A caller refused by a broker is told `access denied` (the TLS alert); the reason, with the
//! fingerprint, stays in the broker's log. A node or broker refusing the broker it dials gets
//! the reason itself, in plain words, as the error of the connection.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use trm_proto::addr::BrokerName;
use trm_proto::directory::certificate_fingerprint;

use crate::pins::Pins;
use crate::refusals::Refusals;

/// Why a chain-valid certificate was refused.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The certificate chains to the CA but the directory does not list it.
    #[error(
        "certificate with SHA-256 {} is not listed in federation directory version {version}",
        crate::spell(fingerprint)
    )]
    NotListed {
        /// SHA-256 of the certificate's DER.
        fingerprint: [u8; 32],
        /// The directory version consulted.
        version: u64,
    },
    /// The certificate is not the one the directory lists for the broker dialled.
    #[error(
        "certificate with SHA-256 {} is not the one federation directory version {version} lists for broker {broker}",
        crate::spell(fingerprint)
    )]
    NotTheBroker {
        /// SHA-256 of the certificate's DER.
        fingerprint: [u8; 32],
        /// The broker dialled.
        broker: BrokerName,
        /// The directory version consulted.
        version: u64,
    },
}

impl From<PinError> for rustls::Error {
    fn from(e: PinError) -> Self {
        rustls::Error::Other(OtherError(Arc::new(e)))
    }
}

/// Logs a refusal with the fingerprint and passes the error on.
fn refuse(
    refusals: &Refusals,
    side: &str,
    fingerprint: &[u8; 32],
    error: rustls::Error,
) -> rustls::Error {
    refusals.refused(side, fingerprint, &error);
    error
}

/// A broker's check of client certificates: chained to the CA and listed in the directory.
#[derive(Debug)]
pub struct PinnedClientVerifier {
    chain: Arc<dyn ClientCertVerifier>,
    pins: Arc<Pins>,
    refusals: Arc<Refusals>,
}

impl PinnedClientVerifier {
    /// Requires client certificates that `chain` accepts and `pins` lists.
    pub fn new(
        chain: Arc<dyn ClientCertVerifier>,
        pins: Arc<Pins>,
        refusals: Arc<Refusals>,
    ) -> Self {
        Self {
            chain,
            pins,
            refusals,
        }
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.chain.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        const SIDE: &str = "client certificate";
        let fingerprint = certificate_fingerprint(end_entity);
        let verified = self
            .chain
            .verify_client_cert(end_entity, intermediates, now)
            .map_err(|e| refuse(&self.refusals, SIDE, &fingerprint, e))?;
        if self.pins.peer(end_entity).is_none() {
            let error = PinError::NotListed {
                fingerprint,
                version: self.pins.version(),
            };
            self.refusals.refused(SIDE, &fingerprint, &error);
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// A node's or broker's check of the broker it dials: chained to the CA, carrying the
/// broker's name, and the certificate the directory lists for that broker.
#[derive(Debug)]
pub struct PinnedServerVerifier {
    chain: Arc<dyn ServerCertVerifier>,
    pins: Arc<Pins>,
    broker: BrokerName,
    refusals: Arc<Refusals>,
}

impl PinnedServerVerifier {
    /// Accepts only the certificate `pins` lists for `broker`, once `chain` accepts it.
    pub fn new(
        chain: Arc<dyn ServerCertVerifier>,
        pins: Arc<Pins>,
        broker: BrokerName,
        refusals: Arc<Refusals>,
    ) -> Self {
        Self {
            chain,
            pins,
            broker,
            refusals,
        }
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        const SIDE: &str = "broker certificate";
        let fingerprint = certificate_fingerprint(end_entity);
        let verified = self
            .chain
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| refuse(&self.refusals, SIDE, &fingerprint, e))?;
        if !self.pins.is_broker(&self.broker, end_entity) {
            let error = PinError::NotTheBroker {
                fingerprint,
                broker: self.broker.clone(),
                version: self.pins.version(),
            };
            return Err(refuse(&self.refusals, SIDE, &fingerprint, error.into()));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}
