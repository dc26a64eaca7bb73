//! Outboxes on JetStream: reading a peer's items (an item that cannot be read is set aside on
//! the way), and applying a peer's answer. An answer is one atomic batch of a create-only
//! departure marker per answered item still in the outbox, the receipts for local senders and
//! the relay records; the answered messages (outbox or set aside) are deleted after it.
//!
//! Applying answers is idempotent per item, so that two broker processes may apply answers
//! for the same items (a relay lease lost while a call was in flight, and the new holder
//! relaying the same items again): an item whose marker is taken, or which is gone, was
//! applied before, so it is left out, and so are the receipts for its sender (matched by
//! sender and message id): a sender is never given the same item's receipt twice. A second
//! application of the same answer therefore writes nothing and removes nothing twice.

use prost::Message;
use std::collections::HashSet;
use tracing::warn;

use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::envelope::Header;
use trm_proto::pb;

use super::batch::Outbound;
use super::{ATTEMPTS, JetStreamStore, MARKER_TTL, WriteError, back_off, corrupt, stored_delivery};
use crate::store::{Outgoing, RelayAnswer, SetAside, StoreError};

/// The (sender, message id) of the envelope an outbox item's stored bytes hold; `None` for a
/// receipt or bytes that do not decode.
fn envelope_key(stored: &[u8]) -> Option<(String, String)> {
    let item = pb::RelayItem::decode(stored).ok()?;
    let Some(pb::relay_item::Item::Envelope(envelope)) = item.item else {
        return None;
    };
    let header = Header::decode(&envelope.header).ok()?;
    Some((
        header.from.to_string(),
        header.message_id.as_str().to_owned(),
    ))
}

/// Whether `receipt`, for `sender`, answers one of the envelopes `leaving`. A receipt that
/// cannot be read is kept (the relay checked it; losing it would be worse than a duplicate).
fn receipt_leaves(
    leaving: &HashSet<(String, String)>,
    sender: &NodeAddr,
    receipt: &pb::SignedReceipt,
) -> bool {
    match trm_proto::receipt::peek(receipt) {
        Ok(claimed) => leaving.contains(&(sender.to_string(), claimed.message_id)),
        Err(_) => true,
    }
}

impl JetStreamStore {
    /// See [`crate::store::BrokerStore::outgoing_skipping`].
    pub(super) async fn outgoing_now(
        &self,
        peer: &BrokerName,
        skip: &[u64],
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let subject = self.layout.outbox(peer);
        let mut items = Vec::new();
        let mut unreadable = Vec::new();
        let mut total = 0usize;
        let mut from = 1;
        while items.len() < max_items {
            let Some(message) = self.next(&subject, from).await? else {
                break;
            };
            from = message.sequence.saturating_add(1);
            if skip.contains(&message.sequence) {
                continue;
            }
            let size = message.payload.len();
            if !items.is_empty() && total.saturating_add(size) > max_bytes {
                break;
            }
            match pb::RelayItem::decode(message.payload.as_ref()) {
                Ok(item) => {
                    total = total.saturating_add(size);
                    items.push(Outgoing {
                        sequence: message.sequence,
                        item,
                        size,
                    });
                }
                Err(e) => {
                    let reason = format!("it cannot be read: {e}");
                    warn!(peer = %peer, sequence = message.sequence, reason = %reason, "outbox item set aside: it will not be relayed");
                    unreadable.push(SetAside {
                        peer: peer.clone(),
                        sequence: message.sequence,
                        attempts: 1,
                        reason,
                        at_ms: trm_proto::time::now_ms(),
                        item: Vec::new(),
                    });
                }
            }
        }
        if !unreadable.is_empty() {
            self.set_aside_now(unreadable).await?;
        }
        Ok(items)
    }

    /// See [`crate::store::BrokerStore::relayed`].
    pub(super) async fn relayed_now(
        &self,
        peer: BrokerName,
        answer: RelayAnswer,
    ) -> Result<(), StoreError> {
        let outbox = self.layout.outbox(&peer);
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let mut messages = Vec::new();
            let mut delete = Vec::new();
            // The envelopes that leave with this write, by (sender, message id).
            let mut leaving = HashSet::new();
            for sequence in &answer.sequences {
                if let Some(message) = self.message_at(*sequence, &outbox).await? {
                    if self
                        .last(&self.layout.outbox_done(&peer, *sequence))
                        .await?
                        .is_none()
                    {
                        messages.push(
                            Outbound::create_only(
                                self.layout.outbox_done(&peer, *sequence),
                                Vec::new(),
                            )
                            .expiring(MARKER_TTL),
                        );
                        leaving.extend(envelope_key(&message.payload));
                    }
                    delete.push(*sequence);
                } else if let Some(aside) = self.last(&self.layout.aside(&peer, *sequence)).await? {
                    // An item set aside leaves from there (it expired).
                    if let Ok((_, _, _, item)) = super::aside::decode(&aside.payload) {
                        leaving.extend(envelope_key(&item));
                    }
                    delete.push(aside.sequence);
                }
            }
            if messages.is_empty() && leaving.is_empty() {
                // Every answered item was applied before (here or by another process): its
                // receipts and records were written then.
                for sequence in delete {
                    self.delete(sequence).await?;
                }
                return Ok(());
            }
            for (sender, receipt) in &answer.receipts {
                if !receipt_leaves(&leaving, sender, receipt) {
                    continue;
                }
                messages.push(Outbound::new(
                    self.layout.queue(sender),
                    stored_delivery(pb::delivery::Item::Receipt(receipt.clone())),
                ));
            }
            for record in &answer.records {
                messages.push(Outbound::new(self.layout.log(), record.encode_to_vec()));
            }
            if !messages.is_empty() {
                match self.write(messages).await {
                    Ok(_) => {}
                    Err(WriteError::Taken) => continue,
                    Err(WriteError::Store(e)) => return Err(e),
                }
            }
            for sequence in delete {
                self.delete(sequence).await?;
            }
            return Ok(());
        }
        Err(corrupt(
            "outbox",
            "the items kept being marked by another writer",
        ))
    }
}
