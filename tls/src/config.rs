//! TLS material read from PEM, and the rustls configurations built from it: TLS 1.3 only,
//! ALPN `h2`, the ring provider, and the pinned verifiers of [`crate::verify`] in place of a
//! plain chain check.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use trm_proto::addr::BrokerName;

use crate::TlsError;
use crate::pins::Pins;
use crate::refusals::Refusals;
use crate::verify::{PinnedClientVerifier, PinnedServerVerifier};

/// The only protocol version spoken: TLS 1.3.
static VERSIONS: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// The application protocol: HTTP/2, which gRPC runs on.
const ALPN_H2: &[u8] = b"h2";

/// This process's certificate chain and private key.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("Identity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Reads the certificate chain (leaf first) and the private key from PEM.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::NoCertificate)?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| TlsError::NoPrivateKey)?;
        Ok(Self { chain, key })
    }
}

/// The federation CA, the only trust anchor.
#[derive(Debug, Clone)]
pub struct Roots(Arc<RootCertStore>);

impl Roots {
    /// Reads the CA certificate(s) from PEM.
    pub fn from_pem(ca_pem: &str) -> Result<Self, TlsError> {
        let mut store = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            let cert = cert.map_err(|_| TlsError::NoCaCertificate)?;
            store.add(cert).map_err(TlsError::BadCa)?;
        }
        if store.is_empty() {
            return Err(TlsError::NoCaCertificate);
        }
        Ok(Self(Arc::new(store)))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A broker's server configuration: TLS 1.3, a client certificate required, chained to
/// `roots` and listed in `pins` (refusals logged to `refusals`).
pub fn server_config(
    identity: &Identity,
    roots: &Roots,
    pins: Arc<Pins>,
    refusals: Arc<Refusals>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let chain =
        WebPkiClientVerifier::builder_with_provider(roots.0.clone(), provider.clone()).build()?;
    let verifier = PinnedClientVerifier::new(chain, pins, refusals);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(VERSIONS)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    // No resumption: a resumed handshake restores the peer's certificate from the session and
    // never calls the verifier, so a certificate unpinned since would still get in.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The configuration for dialling broker `broker`: TLS 1.3, presenting `identity`, accepting
/// only the certificate `pins` lists for `broker` (chained to `roots`, named
/// `<broker>.broker.trm`).
pub fn client_config(
    identity: &Identity,
    roots: &Roots,
    pins: Arc<Pins>,
    broker: BrokerName,
    refusals: Arc<Refusals>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let chain = WebPkiServerVerifier::builder_with_provider(roots.0.clone(), provider.clone())
        .build()
        .map_err(TlsError::Verifier)?;
    let verifier = PinnedServerVerifier::new(chain, pins, broker, refusals);
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    // No resumption, for the same reason as the server's: every connection is verified whole.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}
