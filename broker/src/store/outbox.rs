//! The per-destination outboxes: what waits to be relayed to each peer broker, keyed
//! `destination-broker NUL sequence(u64 BE)`, so that each outbox reads oldest first and
//! survives restarts in order (sequences come from sled's persistent id generator).

use prost::Message;
use sled::transaction::{TransactionError, Transactional};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;

use super::{BrokerStore, StoreError, corrupt, queue_key};

/// One item waiting in an outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Its sequence number in the outbox.
    pub sequence: u64,
    /// The envelope or receipt to relay.
    pub item: pb::RelayItem,
    /// Its encoded size.
    pub size: usize,
}

fn prefix(broker: &BrokerName) -> Vec<u8> {
    let mut key = broker.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

/// The outbox key of item `sequence` for `broker`.
pub(super) fn key(broker: &BrokerName, sequence: u64) -> Vec<u8> {
    let mut key = prefix(broker);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

/// An envelope as an outbox record.
pub(super) fn envelope_item(envelope: &pb::Envelope) -> Vec<u8> {
    pb::RelayItem {
        item: Some(pb::relay_item::Item::Envelope(envelope.clone())),
    }
    .encode_to_vec()
}

/// A receipt as an outbox record.
pub(super) fn receipt_item(receipt: &pb::SignedReceipt) -> Vec<u8> {
    pb::RelayItem {
        item: Some(pb::relay_item::Item::Receipt(receipt.clone())),
    }
    .encode_to_vec()
}

impl BrokerStore {
    /// The oldest items for `peer`: at most `max_items`, and at most `max_bytes` together
    /// unless the first alone is larger (it is then sent alone).
    pub fn outgoing(
        &self,
        peer: &BrokerName,
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let prefix = prefix(peer);
        let mut items = Vec::new();
        let mut total = 0usize;
        for entry in self.outbox.scan_prefix(&prefix) {
            let (key, value) = entry?;
            if items.len() >= max_items || (!items.is_empty() && total + value.len() > max_bytes) {
                break;
            }
            let sequence = key
                .get(prefix.len()..)
                .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| corrupt("outbox", "key is not broker NUL sequence"))?;
            let item = pb::RelayItem::decode(value.as_ref()).map_err(|e| corrupt("outbox", e))?;
            total += value.len();
            items.push(Outgoing {
                sequence,
                item,
                size: value.len(),
            });
        }
        Ok(items)
    }

    /// How many items wait for `peer`.
    pub fn outbox_len(&self, peer: &BrokerName) -> usize {
        self.outbox.scan_prefix(prefix(peer)).count()
    }

    /// After `peer` answered a batch: removes `sequences` from its outbox and, in the same
    /// transaction, queues `receipts` for local senders and appends `records` to the relay
    /// log.
    pub fn relayed(
        &self,
        peer: &BrokerName,
        sequences: &[u64],
        receipts: &[(NodeAddr, pb::SignedReceipt)],
        records: &[pb::RelayRecord],
    ) -> Result<(), StoreError> {
        let mut queued = Vec::with_capacity(receipts.len());
        for (sender, receipt) in receipts {
            let sequence = self.next_sequence()?;
            let item = pb::Delivery {
                sequence,
                item: Some(pb::delivery::Item::Receipt(receipt.clone())),
            };
            queued.push((queue_key(sender, sequence), item.encode_to_vec()));
        }
        let mut logged = Vec::with_capacity(records.len());
        for record in records {
            logged.push((self.next_sequence()?.to_be_bytes(), record.encode_to_vec()));
        }
        (&self.outbox, &self.queue, &self.relay_log)
            .transaction(|(outbox, queue, relay_log)| {
                for sequence in sequences {
                    outbox.remove(key(peer, *sequence))?;
                }
                for (key, item) in &queued {
                    queue.insert(key.as_slice(), item.as_slice())?;
                }
                for (key, record) in &logged {
                    relay_log.insert(key, record.as_slice())?;
                }
                Ok(())
            })
            .map_err(|e: TransactionError<StoreError>| StoreError::from(e))
    }
}
