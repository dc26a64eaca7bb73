//! Intake on JetStream: the envelopes' duplicate-table keys are read first, all at once (a
//! duplicate or a conflict is answered from them), then everything new is one atomic batch in
//! which each new key is create-only. If another writer stored one of those keys meanwhile,
//! the batch is refused whole and the intake starts again from the reads.

use std::collections::HashMap;

use prost::Message;
use trm_proto::pb;

use super::batch::Outbound;
use super::{ATTEMPTS, JetStreamStore, WriteError, back_off, corrupt, stored_delivery};
use crate::store::{Accepted, Admission, Destination, Intake, RoutedReceipt, StoreError, Stored};

/// Length of the digest that starts a duplicate-table value.
const DIGEST_LEN: usize = 32;

/// The outcome of a duplicate-table value for an envelope with `digest`.
fn seen(value: &[u8], digest: &[u8; 32]) -> Result<Accepted, StoreError> {
    match (value.get(..DIGEST_LEN), value.get(DIGEST_LEN..)) {
        (Some(seen), Some(original)) if seen == digest.as_slice() => {
            let receipt = pb::SignedReceipt::decode(original).map_err(|e| corrupt("dedup", e))?;
            Ok(Accepted::Duplicate(receipt))
        }
        (Some(_), Some(_)) => Ok(Accepted::Conflict),
        _ => Err(corrupt("dedup", "value shorter than a digest")),
    }
}

impl JetStreamStore {
    /// See [`crate::store::BrokerStore::intake`].
    pub(super) async fn intake_now(&self, items: Vec<Intake>) -> Result<Vec<Stored>, StoreError> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            match self.intake_once(&items).await {
                Ok(stored) => return Ok(stored),
                Err(WriteError::Taken) => last = Some(corrupt("dedup", "a key kept being taken")),
                Err(WriteError::Store(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| corrupt("dedup", "no attempt made")))
    }

    /// The duplicate-table values of the envelopes among `items`, read all at once.
    async fn seen_before(&self, items: &[Intake]) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let keys: std::collections::BTreeSet<String> = items
            .iter()
            .filter_map(|item| match item {
                Intake::Envelope(admission) => {
                    let header = admission.envelope.header();
                    Some(self.layout.dedup(&header.from, header.message_id.as_str()))
                }
                Intake::Receipt(_) => None,
            })
            .collect();
        let values = futures_util::future::try_join_all(keys.into_iter().map(|key| async move {
            let value = self.last(&key).await?.map(|m| m.payload.to_vec());
            Ok::<_, StoreError>(value.map(|value| (key, value)))
        }))
        .await?;
        Ok(values.into_iter().flatten().collect())
    }

    async fn intake_once(&self, items: &[Intake]) -> Result<Vec<Stored>, WriteError> {
        let mut stored = Vec::with_capacity(items.len());
        let seen_before = self.seen_before(items).await?;
        let mut messages = Vec::new();
        // The values this batch writes, so that a duplicate inside it sees the earlier one.
        let mut written: HashMap<String, Vec<u8>> = HashMap::new();
        for item in items {
            match item {
                Intake::Envelope(admission) => {
                    let Admission {
                        envelope,
                        receipt,
                        record,
                        destination,
                    } = admission.as_ref();
                    let header = envelope.header();
                    let key = self.layout.dedup(&header.from, header.message_id.as_str());
                    let digest = envelope.digest();
                    let existing = written.get(&key).or_else(|| seen_before.get(&key));
                    if let Some(value) = existing {
                        stored.push(Stored::Envelope(seen(value, digest)?));
                        continue;
                    }
                    let mut value = digest.to_vec();
                    value.extend_from_slice(&receipt.encode_to_vec());
                    messages.push(Outbound::create_only(key.clone(), value.clone()));
                    written.insert(key, value);
                    messages.push(match destination {
                        Destination::Local(recipient) => Outbound::new(
                            self.layout.queue(recipient),
                            stored_delivery(pb::delivery::Item::Envelope(envelope.raw().clone())),
                        ),
                        Destination::Peer(peer) => Outbound::new(
                            self.layout.outbox(peer),
                            pb::RelayItem {
                                item: Some(pb::relay_item::Item::Envelope(envelope.raw().clone())),
                            }
                            .encode_to_vec(),
                        ),
                    });
                    messages.push(Outbound::new(self.layout.log(), record.encode_to_vec()));
                    stored.push(Stored::Envelope(Accepted::New(receipt.clone())));
                }
                Intake::Receipt(routed) => {
                    let RoutedReceipt {
                        sender,
                        receipt,
                        record,
                    } = routed.as_ref();
                    messages.push(Outbound::new(
                        self.layout.queue(sender),
                        stored_delivery(pb::delivery::Item::Receipt(receipt.clone())),
                    ));
                    messages.push(Outbound::new(self.layout.log(), record.encode_to_vec()));
                    stored.push(Stored::Receipt);
                }
            }
        }
        if !messages.is_empty() {
            self.write(messages).await?;
        }
        Ok(stored)
    }
}
