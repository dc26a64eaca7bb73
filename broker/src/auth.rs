//! Who is on the other end of a TLS connection: the SHA-256 of the peer's leaf certificate
//! looked up in the federation directory. Chaining to the CA is necessary (rustls checks it
//! during the handshake) but not sufficient: the exact certificate must be listed.

use tonic::Request;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::{Directory, Peer};

use crate::error::BrokerError;

/// The directory identity of the TLS peer that sent `request`.
pub fn peer<T>(request: &Request<T>, directory: &Directory) -> Result<Peer, BrokerError> {
    let certs = request
        .peer_certs()
        .ok_or(BrokerError::NoClientCertificate)?;
    let leaf = certs.first().ok_or(BrokerError::NoClientCertificate)?;
    directory
        .peer_by_certificate(leaf.as_ref())
        .cloned()
        .ok_or(BrokerError::UnknownCertificate {
            version: directory.version(),
        })
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
