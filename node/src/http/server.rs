//! Serving the API: TLS 1.2/1.3 with rustls on ring over a TCP listener, HTTP/1.1 with hyper,
//! a bounded number of connections, a time limit on the handshake and on each request head,
//! until shutdown. The bound address is written to [`BOUND_ADDRESS_FILE`] in the data folder
//! (useful with port 0).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use super::settings::HttpSettings;

/// The file in the data folder holding the address the API is bound to.
pub const BOUND_ADDRESS_FILE: &str = "http.addr";

/// How many connections are served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a client has for the TLS handshake, and for each request head.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the API could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot serve the HTTP API on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// The certificate or key is not usable.
    #[error("the HTTP API's certificate or key is not usable: {0}")]
    Certificate(String),
    /// The bound address could not be written to the data folder.
    #[error("cannot write the HTTP API address file: {0}")]
    AddressFile(#[from] trm_storage::fs::WriteError),
}

/// The TLS side: the configured certificate chain and key, ring, no client certificates.
pub fn acceptor(settings: &HttpSettings) -> Result<TlsAcceptor, ServeError> {
    let bad = |what: &str| ServeError::Certificate(what.to_owned());
    let chain = CertificateDer::pem_slice_iter(settings.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad("the certificate is not PEM"))?;
    if chain.is_empty() {
        return Err(bad("no certificate in the PEM file"));
    }
    let key = PrivateKeyDer::from_pem_slice(settings.key_pem.as_bytes())
        .map_err(|_| bad("no private key in the PEM file"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Certificate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| ServeError::Certificate(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Binds the configured address and writes the bound one to [`BOUND_ADDRESS_FILE`].
pub async fn bind(settings: &HttpSettings, data_dir: &Path) -> Result<TcpListener, ServeError> {
    let addr = settings.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    trm_storage::fs::write_atomically(
        &data_dir.join(BOUND_ADDRESS_FILE),
        format!("{bound}\n").as_bytes(),
        trm_storage::fs::PUBLIC,
    )?;
    tracing::info!(addr = %bound, "serving the HTTP API");
    Ok(listener)
}

/// Serves `router` on `listener` until `shutdown` turns true; connections still open then
/// end with the node.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (tcp, _) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(cause = %e, "cannot accept an HTTP API connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(cause = %e, "HTTP API handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HANDSHAKE_TIMEOUT)
                .serve_connection(TokioIo::new(tls), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(cause = %e, "HTTP API connection ended");
            }
        });
    }
}

/// Removes the address file at shutdown.
pub fn forget(data_dir: &Path) {
    match std::fs::remove_file(data_dir.join(BOUND_ADDRESS_FILE)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(cause = %e, "cannot remove the HTTP API address file"),
    }
}
