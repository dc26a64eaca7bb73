//! The `trm.v1.NodeCases` service that `trm cases` and `trm case` use over the node's Unix
//! socket: the cases this node takes part in, their item states and their threads, with each
//! message's content decrypted only when asked for.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use trm_proto::pb;

use crate::error::NodeError;
use crate::node::Node;
use crate::store::message_key;

/// The cases service.
#[derive(Clone)]
pub struct CasesService {
    node: Arc<Node>,
}

impl CasesService {
    /// A service over a node.
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    /// The summary with each item's due time filled in (none once the case has ended).
    fn with_due_times(&self, mut summary: pb::CaseSummary) -> pb::CaseSummary {
        if crate::cases::ended(&summary).is_some() {
            return summary;
        }
        for item in &mut summary.items {
            if let Some(due) = self.node.deadlines().due(item) {
                item.due_at_ms = due.at_ms;
                item.due = due.what;
            }
        }
        summary
    }

    /// A message in the case as stored, found by the side that sent it.
    fn stored(
        &self,
        counterparty: &str,
        message: &pb::CaseMessage,
    ) -> Result<pb::StoredMessage, Status> {
        let from = if message.direction == crate::store::OUTGOING {
            self.node.address().as_str()
        } else {
            counterparty
        };
        Ok(self
            .node
            .store()
            .stored_message(&message_key(from, &message.message_id))
            .map_err(NodeError::from)?)
    }
}

#[tonic::async_trait]
impl pb::node_cases_server::NodeCases for CasesService {
    async fn cases(
        &self,
        request: Request<pb::CasesRequest>,
    ) -> Result<Response<pb::CasesResponse>, Status> {
        crate::accounts::authorize(&request, crate::accounts::Action::ListCases)?;
        let cases = self.node.store().cases().map_err(NodeError::from)?;
        Ok(Response::new(pb::CasesResponse {
            cases: cases
                .into_iter()
                .filter_map(|c| c.summary)
                .map(|s| self.with_due_times(s))
                .collect(),
        }))
    }

    async fn case(
        &self,
        request: Request<pb::CaseRequest>,
    ) -> Result<Response<pb::CaseResponse>, Status> {
        let principal = crate::accounts::authorize(&request, crate::accounts::Action::ListCases)?;
        let request = request.into_inner();
        if request.content {
            principal.may(crate::accounts::Action::ReadContent)?;
        }
        let case = self
            .node
            .store()
            .case(&request.case_ref, &request.counterparty)
            .map_err(NodeError::from)?;
        let summary = self.with_due_times(case.summary.unwrap_or_default());
        let mut thread = Vec::with_capacity(case.thread.len());
        for message in case.thread {
            let stored = self.stored(&summary.counterparty, &message)?;
            let body = if request.content {
                self.node.read_stored(&stored)?
            } else {
                None
            };
            let erased = if stored.erased_at_ms != 0 {
                stored.erased_reason
            } else {
                String::new()
            };
            // Each read is in the access log before any content is returned.
            if let Some(body) = &body {
                crate::admin::record_read(
                    &self.node,
                    &principal,
                    &message.message_id,
                    body,
                    "case",
                )
                .await?;
            }
            thread.push(pb::CaseThreadEntry {
                message: Some(message),
                body,
                erased,
            });
        }
        Ok(Response::new(pb::CaseResponse {
            summary: Some(summary),
            thread,
        }))
    }
}
