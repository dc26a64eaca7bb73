//! The `trm.v1.Prekeys` service: nodes' content keys (signed prekeys) published through the
//! brokers.
//!
//! A node publishes its set to its home broker, which checks every signature against the
//! directory before it stores the set (replacing the one before). A node asks its home broker
//! for a partner's set: the broker answers from its store when the partner is homed here, and
//! otherwise asks the partner's broker with the same call over the peer link, keeping the
//! answer so that it can still answer while that broker cannot be reached. A peer broker is
//! answered only about nodes homed here (no broker asks onward for another). Nothing here is
//! trusted by the node that seals: it checks the signatures itself.

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};
use tracing::{debug, warn};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::Peer;
use trm_proto::pb;
use trm_proto::pb::prekeys_client::PrekeysClient;
use trm_proto::prekey::{self, PrekeyError};
use trm_proto::time;

use crate::home::{self, RefusalLog};
use crate::state::BrokerState;
use crate::{auth, connect};

/// How long asking a peer broker for a set may take before the kept copy is answered.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The service.
#[derive(Clone)]
pub struct PrekeysService {
    state: Arc<BrokerState>,
    /// Nodes homed elsewhere that tried to publish here, logged once per interval each.
    refusals: Arc<RefusalLog>,
}

impl PrekeysService {
    /// A service over shared state.
    pub fn new(state: Arc<BrokerState>) -> Self {
        Self {
            state,
            refusals: Arc::default(),
        }
    }
}

fn refused(e: &PrekeyError) -> Status {
    match e {
        PrekeyError::UnknownNode(_) => Status::not_found(e.to_string()),
        PrekeyError::BadSignature { .. } => Status::unauthenticated(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

fn unavailable(e: impl std::fmt::Display) -> Status {
    Status::unavailable(e.to_string())
}

#[tonic::async_trait]
impl pb::prekeys_server::Prekeys for PrekeysService {
    async fn publish_prekeys(
        &self,
        request: Request<pb::PrekeySet>,
    ) -> Result<Response<pb::PublishPrekeysResult>, Status> {
        let directory = self.state.directory.current();
        let node = home::own_node(&request, &directory, &self.state.name, &self.refusals)?;
        let set = request.into_inner();
        if set.node != node.as_str() {
            return Err(Status::permission_denied(format!(
                "{node} may not publish the content keys of another node"
            )));
        }
        let (_, prekeys) =
            prekey::verify_set(&set, &directory, time::now_ms()).map_err(|e| refused(&e))?;
        self.state
            .store
            .put_prekeys(&node, &set)
            .await
            .map_err(unavailable)?;
        debug!(node = %node, keys = prekeys.len(), "content keys published");
        Ok(Response::new(pb::PublishPrekeysResult {
            stored: u32::try_from(prekeys.len()).unwrap_or(u32::MAX),
        }))
    }

    async fn fetch_prekeys(
        &self,
        request: Request<pb::FetchPrekeysRequest>,
    ) -> Result<Response<pb::PrekeySet>, Status> {
        let directory = self.state.directory.current();
        let caller = auth::peer(&request, &directory)?;
        let node: NodeAddr = request
            .get_ref()
            .node
            .parse()
            .map_err(|e| Status::invalid_argument(format!("node: {e}")))?;
        if directory.node(&node).is_none() {
            return Err(refused(&PrekeyError::UnknownNode(node)));
        }
        let home = node.broker();
        if home == self.state.name {
            return Ok(Response::new(self.kept(&node).await?.unwrap_or(
                pb::PrekeySet {
                    node: node.to_string(),
                    prekeys: Vec::new(),
                },
            )));
        }
        match caller {
            Peer::Broker(broker) => Err(Status::permission_denied(format!(
                "broker {broker} asked broker {} for the content keys of {node}, which is homed on broker {home}",
                self.state.name
            ))),
            Peer::Node(caller) => {
                home::check(&caller, &self.state.name)?;
                Ok(Response::new(self.fetched_from(&home, &node).await?))
            }
        }
    }
}

impl PrekeysService {
    /// The set kept for `node`.
    async fn kept(&self, node: &NodeAddr) -> Result<Option<pb::PrekeySet>, Status> {
        self.state.store.prekeys(node).await.map_err(unavailable)
    }

    /// `node`'s set as its home broker `home` answers it, checked and kept; the kept copy when
    /// `home` cannot be reached or answers nothing usable.
    async fn fetched_from(
        &self,
        home: &BrokerName,
        node: &NodeAddr,
    ) -> Result<pb::PrekeySet, Status> {
        match self.ask_peer(home, node).await {
            Ok(set) => {
                self.state
                    .store
                    .put_prekeys(node, &set)
                    .await
                    .map_err(unavailable)?;
                Ok(set)
            }
            Err(status) => {
                warn!(peer = %home, node = %node, cause = %status.message(), "cannot fetch content keys from the peer broker; answering the copy kept here");
                self.kept(node).await?.ok_or(status)
            }
        }
    }

    async fn ask_peer(&self, home: &BrokerName, node: &NodeAddr) -> Result<pb::PrekeySet, Status> {
        let directory = self.state.directory.current();
        let info = directory.broker(home).ok_or_else(|| {
            Status::not_found(format!(
                "broker {home} is not in federation directory version {}",
                directory.version()
            ))
        })?;
        let channel = self
            .state
            .link(home)
            .channel(&info.endpoints, || {
                connect::channel(&self.state.federation.tls, info)
            })
            .map_err(unavailable)?;
        let request = pb::FetchPrekeysRequest {
            node: node.to_string(),
        };
        let set = tokio::time::timeout(
            FETCH_TIMEOUT,
            PrekeysClient::new(channel).fetch_prekeys(request),
        )
        .await
        .map_err(|_| {
            Status::unavailable(format!(
                "broker {home} did not answer within {} s",
                FETCH_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|status| Status::unavailable(format!("broker {home}: {}", status.message())))?
        .into_inner();
        if set.node != node.as_str() {
            return Err(Status::unavailable(format!(
                "broker {home} answered the content keys of another node"
            )));
        }
        prekey::verify_set(&set, &directory, time::now_ms())
            .map_err(|e| Status::unavailable(format!("broker {home} answered: {e}")))?;
        Ok(set)
    }
}
