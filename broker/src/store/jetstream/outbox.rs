//! Outboxes on JetStream: reading a peer's items (an item that cannot be read is set aside on
//! the way), and applying a peer's answer. An answer is one atomic batch of a create-only
//! departure marker per answered item still in the outbox, the receipts for local senders and
//! the relay records; the answered messages (outbox or set aside) are deleted after it. A
//! second application of the same answer marks nothing (its markers are taken: those items
//! are left out and the rest is written again) and so removes nothing twice.

use prost::Message;
use tracing::warn;
use trm_proto::addr::BrokerName;
use trm_proto::pb;

use super::batch::Outbound;
use super::{ATTEMPTS, JetStreamStore, MARKER_TTL, WriteError, back_off, corrupt, stored_delivery};
use crate::store::{Outgoing, RelayAnswer, SetAside, StoreError};

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
            for sequence in &answer.sequences {
                if self.message_at(*sequence, &outbox).await?.is_some() {
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
                    }
                    delete.push(*sequence);
                } else if let Some(aside) = self.last(&self.layout.aside(&peer, *sequence)).await? {
                    // An item set aside leaves from there (it expired).
                    delete.push(aside.sequence);
                }
            }
            for (sender, receipt) in &answer.receipts {
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
