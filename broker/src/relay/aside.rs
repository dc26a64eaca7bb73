//! No item ever stops a peer's outbox. The relay task asks [`outgoing`] what its next call
//! carries, as the [`triage`] plans it, and reports a failed call to [`call_failed`]; what
//! the triage decides about an item is carried out by [`carry_out`]:
//!
//! - an item refused for good leaves the outbox with a REJECTED receipt signed by this broker
//!   for its sender, the path a peer's own refusals take ([`super::answer`]);
//! - an item that kept failing (or whose stored record cannot be read) is moved to the store's
//!   durable set-aside table, logged once at WARN with its message id and reason (never
//!   content), and counted in the relay status (`set_aside`), so the items behind it flow.
//!
//! What an operator does with a set-aside item is said at [`crate::store::SetAside`]: nothing
//! re-queues it by itself. Attempts are counted in memory: a restart counts them from zero
//! again, while what was set aside stays set aside.

pub mod triage;

use std::time::Duration;

use tracing::warn;
use trm_proto::addr::BrokerName;
use trm_proto::envelope::Header;
use trm_proto::{pb, receipt, time};

use super::{BATCH_BYTES, RelayError, answer};
use crate::link::PeerLink;
use crate::state::BrokerState;
use crate::store::{Outgoing, SetAside};
use triage::Verdict;

/// The items of the next call to `peer`, and whether the call is a probe: an empty batch
/// sent only to learn whether the peer is up (see [`triage`]).
pub async fn outgoing(
    state: &BrokerState,
    peer: &BrokerName,
) -> Result<(Vec<Outgoing>, bool), RelayError> {
    let link = state.link(peer);
    let last_error = link.status().last_error;
    let now = time::now_ms();
    let settings = &state.federation;
    let plan = {
        let mut triage = link.triage();
        triage.pace(settings.backoff_initial, settings.backoff_max);
        triage.plan(last_error, now)
    };
    let items = if plan.probe {
        Vec::new()
    } else {
        let items = state
            .store
            .outgoing_skipping(peer, &plan.skip, plan.limit, BATCH_BYTES)
            .await?;
        link.triage()
            .outbox_starts_at(items.first().map(|o| o.sequence));
        items
    };
    if plan.probe || !items.is_empty() {
        link.triage().sent(&items);
    } else if let Some(at) = plan.next_retry_ms {
        // Only items left out wait: the idle relay task is woken when the first is due.
        let delay = Duration::from_millis(at.saturating_sub(now));
        let link = link.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            link.wake();
        });
    }
    // The store sets aside what it cannot read on the way: count from it.
    let set_aside = state.store.set_aside_len(peer).await? as u64;
    link.update(|s| s.set_aside = set_aside);
    Ok((items, plan.probe))
}

/// Tells the triage how the call to the peer failed: by its status code only, since the
/// peer's words would reach this broker's log and set-aside table (the peer logs them itself).
pub fn call_failed(link: &PeerLink, status: &tonic::Status) {
    let reason = format!(
        "the peer answered {:?} (its reason is in its own log)",
        status.code()
    );
    link.triage()
        .call_failed(reason, triage::Failure::of(status.code()));
}

/// Carries out the triage's verdicts on items of `peer`'s outbox.
pub async fn carry_out(
    state: &BrokerState,
    peer: &BrokerName,
    verdicts: Vec<Verdict>,
) -> Result<(), RelayError> {
    let mut aside = Vec::new();
    let mut refused = Vec::new();
    let at_ms = time::now_ms();
    for verdict in verdicts {
        match verdict {
            Verdict::SetAside {
                item,
                attempts,
                reason,
            } => aside.push((item, attempts, reason)),
            Verdict::Refuse { item, reason } => refused.push((item, reason)),
        }
    }
    if !refused.is_empty() {
        answer::refuse(state, peer, refused).await?;
    }
    if aside.is_empty() {
        return Ok(());
    }
    let records = aside
        .iter()
        .map(|(item, attempts, reason)| SetAside {
            peer: peer.clone(),
            sequence: item.sequence,
            attempts: *attempts,
            reason: reason.clone(),
            at_ms,
            item: Vec::new(),
        })
        .collect();
    state.store.set_aside(records).await?;
    for (item, attempts, reason) in &aside {
        warn!(peer = %peer, sequence = item.sequence, id = %about(item), attempts, reason = %reason, "relay item set aside: it is no longer tried, so the items behind it flow; it stays in the store's set-aside table for an operator");
    }
    let set_aside = state.store.set_aside_len(peer).await? as u64;
    state.link(peer).update(|s| s.set_aside = set_aside);
    Ok(())
}

/// What an item is about, for the log: the message id of an envelope, or of the message a
/// receipt attests.
pub fn about(item: &Outgoing) -> String {
    match &item.item.item {
        Some(pb::relay_item::Item::Envelope(raw)) => Header::decode(&raw.header).map_or_else(
            |_| "(unreadable envelope)".into(),
            |h| h.message_id.to_string(),
        ),
        Some(pb::relay_item::Item::Receipt(signed)) => receipt::peek(signed).map_or_else(
            |_| "(unreadable receipt)".into(),
            |r| format!("receipt for {}", trm_proto::clip::quoted(&r.message_id)),
        ),
        None => "(empty item)".into(),
    }
}
