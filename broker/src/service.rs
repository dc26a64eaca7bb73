//! The gRPC services, thin glue from RPCs to the handlers: `trm.v1.Broker` (for nodes) to
//! [`crate::submit`] and [`crate::delivery`], `trm.v1.BrokerPeer` (for peer brokers) to
//! [`crate::peer`]. Submit and Deliver are answered only for nodes homed on this broker
//! ([`crate::home`]); FetchDirectory for anyone the directory lists.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use trm_proto::addr::NodeAddr;
use trm_proto::pb;

use crate::error::BrokerError;
use crate::home::{self, RefusalLog};
use crate::state::BrokerState;
use crate::{auth, delivery, peer, submit};

/// The broker service.
#[derive(Clone)]
pub struct BrokerService {
    state: Arc<BrokerState>,
    /// Nodes homed elsewhere that were refused, for logging each at most once per interval.
    refusals: Arc<RefusalLog>,
}

impl BrokerService {
    /// A service over shared state.
    pub fn new(state: Arc<BrokerState>) -> Self {
        Self {
            state,
            refusals: Arc::default(),
        }
    }

    /// The calling node, refused unless it is homed on this broker.
    fn own_node<T>(&self, request: &Request<T>) -> Result<NodeAddr, BrokerError> {
        let directory = self.state.directory.current();
        home::own_node(request, &directory, &self.state.name, &self.refusals)
    }
}

type DeliveryStream = Pin<Box<dyn Stream<Item = Result<pb::Delivery, Status>> + Send>>;

#[tonic::async_trait]
impl pb::broker_server::Broker for BrokerService {
    async fn submit(
        &self,
        request: Request<pb::Envelope>,
    ) -> Result<Response<pb::SignedReceipt>, Status> {
        // Before the envelope is looked at: nothing is verified, queued or signed for a
        // node homed elsewhere.
        self.own_node(&request)
            .inspect_err(|e| self.state.metrics.refused(e))?;
        Ok(Response::new(submit::submit(&self.state, request).await?))
    }

    type DeliverStream = DeliveryStream;

    async fn deliver(
        &self,
        request: Request<Streaming<pb::DeliveryAck>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        let node = self.own_node(&request)?;
        // The stream stays bound to the certificate that opened it, not only to the address:
        // a certificate the authority re-issues for the same node ends the old one's stream.
        let certificate = request
            .peer_certs()
            .and_then(|certs| certs.first().map(|leaf| leaf.as_ref().to_vec()))
            .ok_or(crate::error::BrokerError::NoClientCertificate)?;
        let (tx, rx) = mpsc::channel(delivery::WINDOW);
        tokio::spawn(delivery::session(
            self.state.clone(),
            delivery::Session { node, certificate },
            request.into_inner(),
            tx,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn fetch_directory(
        &self,
        request: Request<pb::FetchDirectoryRequest>,
    ) -> Result<Response<pb::SignedDirectory>, Status> {
        let directory = self.state.directory.current();
        auth::peer(&request, &directory)?;
        Ok(Response::new(directory.signed().clone()))
    }
}

/// The service peer brokers call.
#[derive(Clone)]
pub struct BrokerPeerService {
    state: Arc<BrokerState>,
}

impl BrokerPeerService {
    /// A service over shared state.
    pub fn new(state: Arc<BrokerState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl pb::broker_peer_server::BrokerPeer for BrokerPeerService {
    async fn relay(
        &self,
        request: Request<pb::RelayBatch>,
    ) -> Result<Response<pb::RelayResult>, Status> {
        Ok(Response::new(peer::relay(&self.state, request).await?))
    }
}
