//! The `trm.v1.NodeWebhooks` service that `trm webhooks` uses over the node's Unix socket: a
//! thin layer over [`super::Webhooks`]. It is also the HTTP API's, in process: every rpc checks
//! [`Action::ManageWebhooks`] first.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use trm_proto::pb;

use crate::accounts::{Action, authorize};
use crate::node::Node;

/// The webhooks service.
#[derive(Clone)]
pub struct WebhooksService {
    node: Arc<Node>,
}

impl WebhooksService {
    /// A service over a node.
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }
}

#[tonic::async_trait]
impl pb::node_webhooks_server::NodeWebhooks for WebhooksService {
    async fn add_webhook(
        &self,
        request: Request<pb::AddWebhookRequest>,
    ) -> Result<Response<pb::AddWebhookResponse>, Status> {
        authorize(&request, Action::ManageWebhooks)?;
        let request = request.into_inner();
        let added = self
            .node
            .webhooks()
            .add(&request.url, &request.events, request.inactive)
            .await?;
        Ok(Response::new(pb::AddWebhookResponse {
            webhook: Some(added.webhook),
            secret: added.secret,
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        authorize(&request, Action::ManageWebhooks)?;
        let webhooks = self.node.webhooks();
        let (queued, set_aside) = webhooks.counts()?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: webhooks.list()?,
            queued,
            set_aside,
        }))
    }

    async fn remove_webhook(
        &self,
        request: Request<pb::RemoveWebhookRequest>,
    ) -> Result<Response<pb::RemoveWebhookResponse>, Status> {
        authorize(&request, Action::ManageWebhooks)?;
        let dropped = self
            .node
            .webhooks()
            .remove(&request.into_inner().id)
            .await?;
        Ok(Response::new(pb::RemoveWebhookResponse { dropped }))
    }

    async fn test_webhook(
        &self,
        request: Request<pb::TestWebhookRequest>,
    ) -> Result<Response<pb::TestWebhookResponse>, Status> {
        authorize(&request, Action::ManageWebhooks)?;
        let delivery = self.node.webhooks().test(&request.into_inner().id).await?;
        Ok(Response::new(pb::TestWebhookResponse { delivery }))
    }
}
