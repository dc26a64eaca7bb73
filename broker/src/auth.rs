//! Who is on the other end of a TLS connection: the SHA-256 of the peer's leaf certificate
//! looked up in the federation directory. The handshake already refuses certificates the
//! directory does not list ([`crate::handshake`]); this per-call lookup stays because the
//! directory may change while a connection is open (a revocation then takes effect at the
//! next call). Refusals are logged with the fingerprint, once per certificate per interval.

use std::sync::LazyLock;

use tonic::Request;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::{Directory, Peer, certificate_fingerprint};
use trm_tls::Refusals;

use crate::error::BrokerError;

/// Refusals of calls on already open connections, rate-limited per certificate.
static REFUSALS: LazyLock<Refusals> = LazyLock::new(Refusals::default);

/// The directory identity of the TLS peer that sent `request`.
pub fn peer<T>(request: &Request<T>, directory: &Directory) -> Result<Peer, BrokerError> {
    let certs = request
        .peer_certs()
        .ok_or(BrokerError::NoClientCertificate)?;
    let leaf = certs.first().ok_or(BrokerError::NoClientCertificate)?;
    match directory.peer_by_certificate(leaf.as_ref()) {
        Some(peer) => Ok(peer.clone()),
        None => {
            let refused = BrokerError::UnknownCertificate {
                version: directory.version(),
            };
            let fingerprint = certificate_fingerprint(leaf.as_ref());
            REFUSALS.refused("call from client certificate", &fingerprint, &refused);
            Err(refused)
        }
    }
}

/// The node address of the TLS peer, refusing brokers and strangers.
pub fn node<T>(request: &Request<T>, directory: &Directory) -> Result<NodeAddr, BrokerError> {
    match peer(request, directory)? {
        Peer::Node(address) => Ok(address),
        Peer::Broker(name) => Err(BrokerError::NotANode(name)),
    }
}

/// The broker name of the TLS peer, refusing nodes and strangers.
pub fn broker<T>(request: &Request<T>, directory: &Directory) -> Result<BrokerName, BrokerError> {
    match peer(request, directory)? {
        Peer::Broker(name) => Ok(name),
        Peer::Node(address) => Err(BrokerError::NotABroker(address)),
    }
}
