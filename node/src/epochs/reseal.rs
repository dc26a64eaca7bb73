//! Sealing again what a partner refused because its content key was retired: the addressee's
//! node no longer holds the key the envelope was sealed to (destroyed on schedule, or lost),
//! so it signed a REJECTED receipt with the reason KEY_RETIRED. The sender fetches the
//! partner's current keys anew and sends the same content again as a new message, from its own
//! copy (kept under the case key). Both stay in the handover log: the REJECTED receipt of the
//! first message and the SENT entry of the second.
//!
//! Only the addressee's own refusal counts (a broker cannot ask for a copy to be sent again),
//! and only when the partner's current key is another one than the refused: a partner that
//! refuses its own current key gets nothing more, so there is no loop.

use tracing::{info, warn};
use trm_proto::addr::NodeAddr;
use trm_proto::envelope::Header;
use trm_proto::pb;
use trm_proto::receipt::VerifiedReceipt;

use crate::node::Node;
use crate::seal::Draft;

/// Whether `receipt` is the addressee's refusal of a message because its content key was
/// retired (its reason code, signed in clear).
pub fn is_key_retired(receipt: &pb::Receipt) -> bool {
    receipt.kind == i32::from(pb::ReceiptKind::Rejected)
        && receipt.signer == receipt.to
        && receipt.reason_code == i32::from(pb::RejectReason::KeyRetired)
}

/// Sends again the message `verified` refused for a retired key, sealed to the partner's
/// current key; answers the new message's id. Nothing is sent for any other receipt.
pub async fn after_receipt(node: &Node, verified: &VerifiedReceipt) -> Option<String> {
    if !is_key_retired(&verified.receipt) {
        return None;
    }
    match reseal(node, &verified.receipt).await {
        Ok(id) => {
            info!(refused = %verified.receipt.message_id, sent = ?id, "sealed again to the partner's current content key");
            id
        }
        Err(cause) => {
            warn!(refused = %verified.receipt.message_id, %cause, "cannot seal again a message refused for a retired content key");
            None
        }
    }
}

async fn reseal(node: &Node, receipt: &pb::Receipt) -> Result<Option<String>, String> {
    let to: NodeAddr = receipt.to.parse().map_err(|_| "bad addressee".to_owned())?;
    let key = crate::store::message_key(node.address().as_str(), &receipt.message_id);
    let stored = node
        .store()
        .stored_message(&key)
        .map_err(|e| e.to_string())?;
    let envelope = stored.envelope.clone().unwrap_or_default();
    let header = Header::decode(&envelope.header).map_err(|e| e.to_string())?;
    // The partner's keys as they are now, not as kept.
    node.content_keys().partners().forget(&to);
    let directory = node.directory().current();
    let current = node
        .content_keys()
        .partners()
        .key_for(
            &to,
            &directory,
            node.content_keys().channel(),
            trm_proto::time::now_ms(),
        )
        .await
        .map_err(|e| e.to_string())?;
    if current
        .as_ref()
        .is_none_or(|k| k.key_id == header.recipient_key_id)
    {
        return Err(format!(
            "{to} refuses its own current content key {}",
            header.recipient_key_id
        ));
    }
    let Some(body) = node.read_stored(&stored).map_err(|e| e.to_string())? else {
        return Err("its content was erased here".into());
    };
    let (Some(content), Ok(case_ref)) = (body.content, body.case_ref.parse()) else {
        return Err("its stored body has no content".into());
    };
    let draft = Draft {
        to,
        case_ref,
        priority: header.priority,
        content,
        text_language: body.text_language,
    };
    let sent = node
        .send(draft, "node", None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(sent.message_id.to_string()))
}
