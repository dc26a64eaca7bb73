//! Delivery queues on JetStream: reading a node's items, and completing one. A completion is
//! one atomic batch of the item's create-only completion marker, the routed receipt and the
//! relay record, so that of two completions of one item (a node acknowledging on two
//! connections, to two broker processes) only the first routes a receipt. The item itself is
//! deleted after the batch; until then its marker says it is done.

use prost::Message;
use trm_proto::addr::NodeAddr;
use trm_proto::pb;

use super::batch::Outbound;
use super::{JetStreamStore, MARKER_TTL, WriteError, delivery, stored_delivery};
use crate::store::counted;
use crate::store::{Destination, Queued, Route, StoreError};

impl JetStreamStore {
    /// See [`crate::store::BrokerStore::pending`].
    pub(super) async fn pending_now(
        &self,
        recipient: &NodeAddr,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError> {
        let mut items = Vec::new();
        if limit == 0 {
            return Ok(items);
        }
        self.walk(
            &self.layout.queue(recipient),
            after.saturating_add(1),
            limit,
            |message| {
                let delivery = delivery(&message)?;
                items.push(Queued {
                    sequence: delivery.sequence,
                    delivery,
                });
                Ok(items.len() < limit)
            },
        )
        .await?;
        Ok(items)
    }

    /// See [`crate::store::BrokerStore::item`].
    pub(super) async fn item_now(
        &self,
        recipient: &NodeAddr,
        sequence: u64,
    ) -> Result<Option<pb::Delivery>, StoreError> {
        self.message_at(sequence, &self.layout.queue(recipient))
            .await?
            .map(|message| delivery(&message))
            .transpose()
    }

    /// See [`crate::store::BrokerStore::complete`].
    pub(super) async fn complete_now(
        &self,
        recipient: NodeAddr,
        sequence: u64,
        route: Option<Route>,
    ) -> Result<Option<u64>, StoreError> {
        let Some(item) = self
            .message_at(sequence, &self.layout.queue(&recipient))
            .await?
        else {
            return Ok(None);
        };
        let mut removed = Vec::new();
        counted::queued(&mut removed, &recipient, &item.payload, false);
        let mut messages = vec![
            Outbound::create_only(self.layout.queue_done(&recipient, sequence), Vec::new())
                .expiring(MARKER_TTL),
        ];
        let routed = route.is_some();
        if let Some(Route {
            destination,
            receipt,
            record,
        }) = route
        {
            messages.push(match destination {
                Destination::Local(sender) => Outbound::new(
                    self.layout.queue(&sender),
                    stored_delivery(pb::delivery::Item::Receipt(receipt)),
                ),
                Destination::Peer(peer) => Outbound::new(
                    self.layout.outbox(&peer),
                    pb::RelayItem {
                        item: Some(pb::relay_item::Item::Receipt(receipt)),
                    }
                    .encode_to_vec(),
                ),
            });
            messages.push(Outbound::new(self.layout.log(), record.encode_to_vec()));
        }
        let stored = match self.write(messages).await {
            Ok(stored) => stored,
            // Completed before, here or by another broker process: the first one counts. The
            // item goes only once that completion is readable (committed, with its receipt):
            // one still in flight may yet fail, and its writer deletes the item if it does not.
            Err(WriteError::Taken) => {
                if self
                    .last(&self.layout.queue_done(&recipient, sequence))
                    .await?
                    .is_some()
                {
                    self.delete(sequence).await?;
                }
                return Ok(None);
            }
            Err(WriteError::Store(e)) => return Err(e),
        };
        self.delete(sequence).await?;
        self.counters_apply(&removed);
        // The receipt is the batch's second-to-last message, before the record.
        Ok(routed.then(|| stored.last.saturating_sub(1)))
    }
}
