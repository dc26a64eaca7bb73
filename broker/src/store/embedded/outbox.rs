//! The per-destination outboxes: what waits to be relayed to each peer broker, keyed
//! `destination-broker NUL sequence(u64 BE)`, so that each outbox reads oldest first and
//! survives restarts in order (sequences come from sled's persistent id generator).

use prost::Message;
use trm_proto::addr::BrokerName;
use trm_proto::pb;

use tracing::warn;

use super::{EmbeddedStore, StoreError, queue_key, receipt_delivery, set_aside};
use crate::store::counted;
use crate::store::{Outgoing, RelayAnswer};

/// The key prefix of `broker`'s outbox.
pub(super) fn prefix(broker: &BrokerName) -> Vec<u8> {
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
pub(super) fn envelope_item(envelope: pb::Envelope) -> Vec<u8> {
    pb::RelayItem {
        item: Some(pb::relay_item::Item::Envelope(envelope)),
    }
    .encode_to_vec()
}

/// A receipt as an outbox record.
pub(super) fn receipt_item(receipt: pb::SignedReceipt) -> Vec<u8> {
    pb::RelayItem {
        item: Some(pb::relay_item::Item::Receipt(receipt)),
    }
    .encode_to_vec()
}

impl EmbeddedStore {
    /// The oldest items for `peer` but those in `skip` (see
    /// [`crate::store::BrokerStore::outgoing_skipping`]); an item that cannot be read is set
    /// aside on the way.
    pub(super) fn outgoing_now(
        &self,
        peer: &BrokerName,
        skip: &[u64],
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let prefix = prefix(peer);
        let mut items = Vec::new();
        let mut unreadable = Vec::new();
        let mut total = 0usize;
        for entry in self.outbox.scan_prefix(&prefix) {
            let (key, value) = entry?;
            if items.len() >= max_items || (!items.is_empty() && total + value.len() > max_bytes) {
                break;
            }
            let sequence = key
                .get(prefix.len()..)
                .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
                .map(u64::from_be_bytes);
            if sequence.is_some_and(|s| skip.contains(&s)) {
                continue;
            }
            let (sequence, item) = match (sequence, pb::RelayItem::decode(value.as_ref())) {
                (Some(sequence), Ok(item)) => (sequence, item),
                (sequence, decoded) => {
                    let reason = match decoded {
                        Err(e) => format!("it cannot be read: {e}"),
                        Ok(_) => "its key is not broker NUL sequence".to_owned(),
                    };
                    warn!(peer = %peer, sequence = sequence.unwrap_or_default(), reason = %reason, "outbox item set aside: it will not be relayed");
                    unreadable.push((key.to_vec(), set_aside::record(1, reason, value.to_vec())));
                    continue;
                }
            };
            total += value.len();
            items.push(Outgoing {
                sequence,
                item,
                size: value.len(),
            });
        }
        if !unreadable.is_empty() {
            self.move_aside(unreadable)?;
        }
        Ok(items)
    }

    /// How many items wait for `peer`.
    pub(super) fn outbox_len_now(&self, peer: &BrokerName) -> Result<usize, StoreError> {
        let mut count = 0;
        for entry in self.outbox.scan_prefix(prefix(peer)) {
            entry?;
            count += 1;
        }
        Ok(count)
    }

    /// Applies a peer's answer in one transaction of the writer (see
    /// [`crate::store::BrokerStore::relayed`]).
    pub(super) async fn relayed_now(
        &self,
        peer: BrokerName,
        answer: RelayAnswer,
    ) -> Result<(), StoreError> {
        let mut queued = Vec::with_capacity(answer.receipts.len());
        for (sender, receipt) in &answer.receipts {
            let sequence = self.next_sequence()?;
            queued.push((
                sender.clone(),
                queue_key(sender, sequence),
                receipt_delivery(sequence, receipt),
            ));
        }
        let mut logged = Vec::with_capacity(answer.records.len());
        for record in &answer.records {
            logged.push((self.next_sequence()?.to_be_bytes(), record.encode_to_vec()));
        }
        let sequences = answer.sequences;
        self.writer
            .run(move |tx, deltas| {
                for sequence in &sequences {
                    // An item set aside leaves from there (it expired).
                    if tx.outbox.remove(key(&peer, *sequence))?.is_none() {
                        tx.aside.remove(key(&peer, *sequence))?;
                    }
                }
                for (sender, key, item) in &queued {
                    tx.queue.insert(key.as_slice(), item.as_slice())?;
                    counted::queued(deltas, sender, item, true);
                }
                for (key, record) in &logged {
                    tx.relay_log.insert(key, record.as_slice())?;
                }
                Ok(())
            })
            .await
    }
}
