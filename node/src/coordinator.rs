//! A national coordinator's witnessing: its node asks every organisation of its country for
//! the latest checkpoint of its handover log and cosigns what comes back.
//!
//! The ask is a witness request, an ordinary sealed message of its own kind that belongs to no
//! case and needs no sharing agreement: the directory allows it only from a node whose entry is
//! a coordinator to a node of the same country ([`trm_proto::directory::Directory::may_send`],
//! checked by the sending node and by the brokers). The addressee signs a fresh checkpoint
//! before it answers, and its DELIVERED receipt carries that checkpoint with a consistency proof
//! from the last one this coordinator cosigned, as every receipt does ([`crate::witness`]); the
//! coordinator's node then cosigns it, or keeps fork evidence. So the coordinator learns
//! nothing of any case, and a node cannot show the coordinator one history and its partners
//! another without the audit finding the fork.

use trm_proto::addr::CaseRef;
use trm_proto::{pb, time};

use crate::error::NodeError;
use crate::node::Node;
use crate::seal::Draft;

/// The case reference witness requests travel under: `AUDIT-` and the date.
fn audit_ref(now_ms: u64) -> Result<CaseRef, NodeError> {
    let date = time::format_ms(now_ms);
    let day = date.get(..10).unwrap_or("0000-00-00");
    format!("AUDIT-{day}")
        .parse()
        .map_err(|e| NodeError::InvalidRequest(format!("audit reference: {e}")))
}

/// Sends a witness request to every other organisation of this node's country. Refused unless
/// this node is a coordinator; a node that cannot be asked is reported, not fatal.
pub async fn collect(
    node: &Node,
    purpose: &str,
    actor: &str,
) -> Result<Vec<pb::AskedNode>, NodeError> {
    let directory = node.directory().current();
    let me = directory.node(node.address()).ok_or_else(|| {
        NodeError::InvalidRequest(format!("{} is not in the directory in use", node.address()))
    })?;
    if me.organisation_type != pb::OrganisationType::Coordinator {
        return Err(NodeError::NotCoordinator(node.address().clone()));
    }
    let case_ref = audit_ref(time::now_ms())?;
    let partners: Vec<_> = directory
        .nodes()
        .filter(|n| n.country == me.country && n.address != *node.address())
        .map(|n| n.address.clone())
        .collect();
    let mut asked = Vec::with_capacity(partners.len());
    for partner in partners {
        let draft = Draft {
            to: partner.clone(),
            case_ref: case_ref.clone(),
            priority: pb::Priority::Routine,
            content: pb::body::Content::WitnessRequest(pb::WitnessRequest {
                purpose: purpose.to_owned(),
            }),
            text_language: String::new(),
        };
        asked.push(match node.send(draft, actor, None).await {
            Ok(sent) => pb::AskedNode {
                node: partner.to_string(),
                message_id: sent.message_id.to_string(),
                problem: String::new(),
            },
            Err(e) => pb::AskedNode {
                node: partner.to_string(),
                message_id: String::new(),
                problem: e.to_string(),
            },
        });
    }
    Ok(asked)
}

/// What this node has witnessed: the latest cosigned checkpoint per partner, and fork evidence.
pub fn witnessed(node: &Node) -> Result<pb::WitnessedResponse, NodeError> {
    let store = node.store().witness()?;
    let mut latest = Vec::new();
    for partner in store.partners()? {
        if let Some((note, checkpoint)) = store.latest(&partner)? {
            latest.push(pb::WitnessedCheckpoint {
                node: partner,
                size: checkpoint.size,
                root: checkpoint.root.to_vec(),
                note,
            });
        }
    }
    Ok(pb::WitnessedResponse {
        latest,
        forks: store.forks()?,
    })
}
