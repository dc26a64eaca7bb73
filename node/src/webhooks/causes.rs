//! Where notifications come from: the node's delivery task, its maintenance sweep and its
//! directory refresh call these, each at the point that keeps the notification from being lost
//! by a crash (see [`super`]'s "Durability"). Each builds the facts from metadata the node
//! holds (ids, kinds, the partner's address); a referral response's decision is read from its
//! content, and only the decision's event name leaves the node.

use prost::Message;
use trm_proto::directory::Directory;
use trm_proto::{pb, time};

use super::{Event, Facts};
use crate::error::NodeError;
use crate::node::Node;

/// The event a referral response's decision is, if any.
fn decision_event(body: &pb::Body) -> Option<Event> {
    let Some(pb::body::Content::ReferralResponse(response)) = &body.content else {
        return None;
    };
    match pb::referral_response::Decision::try_from(response.decision).ok()? {
        pb::referral_response::Decision::Accepted => Some(Event::ReferralAccepted),
        pb::referral_response::Decision::Declined => Some(Event::ReferralDeclined),
        pb::referral_response::Decision::NeedsInformation => Some(Event::ReferralNeedsInformation),
        pb::referral_response::Decision::Unspecified => None,
    }
}

/// Whether any webhook is active: nothing to look up otherwise.
fn anyone_listens(node: &Node) -> Result<bool, NodeError> {
    Ok(node
        .webhooks()
        .list()
        .map_err(|e| match e {
            super::WebhookError::Store(e) => NodeError::Store(e),
            other => NodeError::InvalidRequest(other.to_string()),
        })?
        .iter()
        .any(|h| h.active))
}

/// A delivered envelope was handled and answered with `receipt`: if it was stored (a DELIVERED
/// receipt), queues `message.arrived`, and for a referral response its decision's event. Called
/// before the delivery is acknowledged; on disk when this returns.
pub async fn message_arrived(node: &Node, receipt: &pb::SignedReceipt) -> Result<(), NodeError> {
    let Ok(receipt) = pb::Receipt::decode(receipt.receipt.as_slice()) else {
        return Ok(());
    };
    if receipt.kind != i32::from(pb::ReceiptKind::Delivered) || !anyone_listens(node)? {
        return Ok(());
    }
    let key = crate::store::message_key(&receipt.from, &receipt.message_id);
    let stored = node.store().stored_message(&key)?;
    let summary = stored.summary.clone().unwrap_or_default();
    let webhooks = node.webhooks();
    let facts = Facts {
        message_id: Some(summary.message_id.clone()),
        case: webhooks
            .case_pseudonym(&summary.from, &summary.case_ref)
            .await?,
        kind: trm_proto::kinds::of_wire(summary.kind).map(|k| k.name.to_owned()),
        partner: Some(summary.from.clone()),
        ..Facts::default()
    };
    let at_ms = if summary.received_at_ms != 0 {
        summary.received_at_ms
    } else {
        time::now_ms()
    };
    webhooks
        .notify(Event::MessageArrived, &key, &facts, at_ms)
        .await?;
    if summary.kind == i32::from(pb::MessageKind::ReferralResponse)
        && let Some(event) = node
            .read_stored(&stored)
            .ok()
            .flatten()
            .as_ref()
            .and_then(decision_event)
    {
        webhooks.notify(event, &key, &facts, at_ms).await?;
    }
    Ok(())
}

/// Items found overdue and not yet recorded as such: queues `item.overdue` for each. Called
/// before the sweep records them; on disk when this returns.
pub async fn overdue(node: &Node, items: &[pb::OverdueItem]) -> Result<(), NodeError> {
    if items.is_empty() || !anyone_listens(node)? {
        return Ok(());
    }
    let webhooks = node.webhooks();
    for overdue in items {
        let Some(item) = &overdue.item else {
            continue;
        };
        let mut subject = crate::cases::case_key(&overdue.counterparty, &overdue.case_ref);
        subject.push(0);
        subject.extend_from_slice(item.message_id.as_bytes());
        subject.extend_from_slice(&overdue.due_at_ms.to_be_bytes());
        let facts = Facts {
            message_id: Some(item.message_id.clone()),
            case: webhooks
                .case_pseudonym(&overdue.counterparty, &overdue.case_ref)
                .await?,
            kind: Some(item.kind.clone()),
            partner: Some(overdue.counterparty.clone()),
            due_at: Some(time::format_ms(overdue.due_at_ms)),
            ..Facts::default()
        };
        webhooks
            .notify(Event::ItemOverdue, &subject, &facts, overdue.due_at_ms)
            .await?;
    }
    Ok(())
}

/// The directory in use, seen at `now_ms`: queues `directory.expiring` once per version when
/// it expires within the configured days (or has expired).
pub async fn directory(node: &Node, directory: &Directory, now_ms: u64) -> Result<(), NodeError> {
    let within =
        u64::try_from(node.webhooks().config().directory_expiring.as_millis()).unwrap_or(u64::MAX);
    if directory.expires_at_ms() > now_ms.saturating_add(within) || !anyone_listens(node)? {
        return Ok(());
    }
    let facts = Facts {
        directory_version: Some(directory.version()),
        expires_at: Some(time::format_ms(directory.expires_at_ms())),
        ..Facts::default()
    };
    node.webhooks()
        .notify(
            Event::DirectoryExpiring,
            &directory.version().to_be_bytes(),
            &facts,
            now_ms,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_decision_is_its_own_event() {
        let body = |decision: pb::referral_response::Decision| pb::Body {
            content: Some(pb::body::Content::ReferralResponse(pb::ReferralResponse {
                decision: decision.into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        use pb::referral_response::Decision;
        assert_eq!(
            decision_event(&body(Decision::Accepted)),
            Some(Event::ReferralAccepted)
        );
        assert_eq!(
            decision_event(&body(Decision::Declined)),
            Some(Event::ReferralDeclined)
        );
        assert_eq!(
            decision_event(&body(Decision::NeedsInformation)),
            Some(Event::ReferralNeedsInformation)
        );
        assert_eq!(decision_event(&body(Decision::Unspecified)), None);
        assert_eq!(decision_event(&pb::Body::default()), None);
    }
}
