//! Calling peer brokers: a mutual-TLS channel presenting this broker's own certificate (which
//! carries both server and client authentication), TLS 1.3 only, accepting only the
//! certificate the directory in use lists for the peer (`trm_tls` checks the chain to the
//! federation CA, the name `<peer>.broker.trm` and the fingerprint during the handshake). The
//! peer then checks our certificate against its directory, as we check theirs.
//!
//! The pins and the refusal log live here, with the rest of this broker's TLS material; the
//! listener ([`crate::handshake`]) shares them, and the directory refresh swaps the pins.
//!
//! Every wait on a peer has a deadline: the TCP dial and the TLS handshake
//! ([`trm_tls::connect::DIAL_TIMEOUT`], [`trm_tls::connect::HANDSHAKE_TIMEOUT`], and
//! [`CONNECT_TIMEOUT`] around both), each call ([`CALL_TIMEOUT`]), and HTTP/2 keepalive pings
//! answered within [`trm_tls::connect::KEEPALIVE_TIMEOUT`], busy or idle, so that a connection
//! that went silent is dropped and the next call dials a new one.
//!
//! A peer is called at its directory endpoints unless `[network] peer_endpoints` names other
//! ways in; the certificate it must present is the directory's either way. Several endpoints
//! are dialled through [`trm_tls::FailoverConnector`]: one connection at a time, each dial a
//! round from the first endpoint, and a connection to a later endpoint moved back when an
//! earlier one answers again (every `network.failback_secs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use trm_proto::addr::BrokerName;
use trm_proto::directory::{BrokerInfo, Directory};
use trm_tls::connect::{DIAL_TIMEOUT, HANDSHAKE_TIMEOUT, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT};
use trm_tls::failover::EndpointsError;
use trm_tls::{Connector, FailoverConnector, Identity, Pins, Refusals, Roots, TlsError};

use crate::config::BrokerConfig;

/// How long establishing a connection to one endpoint of a peer may take, TLS handshake
/// included.
pub const CONNECT_TIMEOUT: Duration = DIAL_TIMEOUT.saturating_add(HANDSHAKE_TIMEOUT);

/// How long one call to a peer may take, a relay batch's durable flush included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a channel to a peer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// This broker's TLS material cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The peer's endpoints are not usable.
    #[error("endpoints: {0}")]
    Endpoints(#[from] EndpointsError),
    /// The first endpoint is not a URI the HTTP/2 client takes.
    #[error("endpoint {endpoint}: {source}")]
    Endpoint {
        /// The endpoint as the directory lists it.
        endpoint: String,
        /// What tonic said.
        source: tonic::transport::Error,
    },
}

/// What this broker presents and trusts, calling peers and answering callers.
#[derive(Clone)]
pub struct ClientTls {
    /// The federation CA, PEM.
    ca_pem: String,
    /// This broker's certificate chain, PEM.
    cert_pem: String,
    /// Its private key, PEM.
    key_pem: String,
    /// The certificates the directory in use lists.
    pins: Arc<Pins>,
    /// Refused certificates, logged once per interval each.
    refusals: Arc<Refusals>,
    /// Endpoints that replace the directory's for some peers.
    peer_endpoints: Arc<BTreeMap<BrokerName, Vec<String>>>,
    /// How often a connection to a later endpoint checks an earlier one.
    failback: Duration,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("ClientTls")
            .field("pinned_version", &self.pins.version())
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// This broker's TLS identity, pinning the configured directory's certificates.
    pub fn from_config(config: &BrokerConfig) -> Self {
        Self {
            ca_pem: config.ca_pem.clone(),
            cert_pem: config.tls_cert_pem.clone(),
            key_pem: config.tls_key_pem.clone(),
            pins: Arc::new(Pins::new(Arc::new(config.directory.clone()))),
            refusals: Arc::new(Refusals::default()),
            peer_endpoints: Arc::new(config.network.peer_endpoints.clone()),
            failback: config.network.failback,
        }
    }

    /// Where to call `peer`, the preferred first: the configured endpoints if there are any,
    /// else the directory's.
    pub fn endpoints_of<'a>(&'a self, peer: &'a BrokerInfo) -> &'a [String] {
        self.peer_endpoints
            .get(&peer.name)
            .map_or(peer.endpoints.as_slice(), Vec::as_slice)
    }

    /// The pinned certificates, shared by outgoing and incoming connections.
    pub fn pins(&self) -> &Arc<Pins> {
        &self.pins
    }

    /// Pins the certificates of `directory` if it is newer than the pinned one.
    pub fn follow(&self, directory: Arc<Directory>) {
        self.pins.update(directory);
    }

    /// The refusal log shared by the handshake and the per-call checks.
    pub fn refusals(&self) -> &Arc<Refusals> {
        &self.refusals
    }

    /// This broker's certificate and key.
    pub fn identity(&self) -> Result<Identity, TlsError> {
        Identity::from_pem(&self.cert_pem, &self.key_pem)
    }

    /// The federation CA.
    pub fn roots(&self) -> Result<Roots, TlsError> {
        Roots::from_pem(&self.ca_pem)
    }
}

/// A lazy channel to `peer` at its endpoints ([`ClientTls::endpoints_of`], tried in turn); it
/// connects (and reconnects) on use, each time accepting only the certificate the directory
/// then lists for `peer`.
pub fn channel(tls: &ClientTls, peer: &BrokerInfo) -> Result<Channel, ConnectError> {
    let config = trm_tls::client_config(
        &tls.identity()?,
        &tls.roots()?,
        tls.pins.clone(),
        peer.name.clone(),
        tls.refusals.clone(),
    )?;
    let endpoints = tls.endpoints_of(peer);
    let connector = FailoverConnector::new(Connector::new(config, &peer.name)?, endpoints)?
        .with_failback_every(tls.failback);
    let endpoint =
        Endpoint::from_shared(connector.uri()).map_err(|source| ConnectError::Endpoint {
            endpoint: endpoints.first().cloned().unwrap_or_default(),
            source,
        })?;
    Ok(endpoint
        .connect_timeout(connector.round_timeout().max(CONNECT_TIMEOUT))
        .timeout(CALL_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .connect_with_connector_lazy(connector))
}
