//! The outbox's own reads and its set-aside table. The outbox (sequence → `OutboxItem`) is
//! written with the message it carries, in the combined transactions of the parent module;
//! here it is read oldest first, and an item that cannot be sent or recorded is moved out of
//! it into `outbox_set_aside` (sequence → the reason and the record's bytes as stored), so
//! that the messages behind it are submitted. An item whose message can still be updated
//! leaves through [`NodeStore::record_outcome`] instead, with the reason in its evidence.

use prost::Message;
use sled::transaction::{TransactionError, Transactional};
use tracing::warn;
use trm_proto::pb;

use super::{NodeStore, Outgoing, StoreError};

/// The set-aside table's tree.
pub(super) const SET_ASIDE_TREE: &str = "outbox_set_aside";

/// One set-aside outbox record.
#[derive(Clone, PartialEq, Message)]
struct SetAsideRecord {
    /// Why, in words.
    #[prost(string, tag = "1")]
    reason: String,
    /// When, ms since the Unix epoch.
    #[prost(uint64, tag = "2")]
    at_ms: u64,
    /// The outbox record's bytes.
    #[prost(bytes = "vec", tag = "3")]
    item: Vec<u8>,
}

/// An outbox record, or why it cannot be read.
fn decode(key: &[u8], value: &[u8]) -> Result<Outgoing, String> {
    let sequence = <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| "its key is not 8 bytes".to_owned())?;
    let item = pb::OutboxItem::decode(value).map_err(|e| format!("it cannot be read: {e}"))?;
    let envelope = item
        .envelope
        .ok_or_else(|| "it holds no envelope".to_owned())?;
    Ok(Outgoing {
        sequence,
        key: item.message_key,
        envelope,
    })
}

impl NodeStore {
    /// The oldest message waiting for the broker. A record that cannot be read is set aside
    /// on the way (logged at WARN): it could never be sent. (That move is flushed with the
    /// next write; lost in a crash, it is simply made again.)
    pub fn next_outgoing(&self) -> Result<Option<Outgoing>, StoreError> {
        loop {
            let Some((key, value)) = self.outbox.first()? else {
                return Ok(None);
            };
            match decode(&key, &value) {
                Ok(item) => return Ok(Some(item)),
                Err(reason) => {
                    warn!(reason = %reason, "outbox record set aside: it cannot be sent");
                    self.move_aside(&key, &reason)?;
                }
            }
        }
    }

    /// Whether the message stored under `key` waits in the outbox.
    pub fn is_queued(&self, key: &[u8]) -> Result<bool, StoreError> {
        for entry in self.outbox.iter() {
            let (sequence, value) = entry?;
            if decode(&sequence, &value).is_ok_and(|item| item.key == key) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Moves the outbox record at `sequence` into the set-aside table with `reason`, on disk
    /// when this returns; for a record whose message cannot be updated (or that cannot be
    /// read). False when it had left the outbox already.
    pub async fn set_aside_outgoing(
        &self,
        sequence: u64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let moved = self.move_aside(&sequence.to_be_bytes(), reason)?;
        self.durable().await?;
        Ok(moved)
    }

    fn move_aside(&self, key: &[u8], reason: &str) -> Result<bool, StoreError> {
        // Outside the writer, so hold its gate: a snapshot sees the move whole or not at all.
        let _writing = self.combiner.hold();
        let at_ms = trm_proto::time::now_ms();
        let moved = (&self.outbox, &self.outbox_set_aside)
            .transaction(|(outbox, aside)| {
                let Some(item) = outbox.remove(key)? else {
                    return Ok(false);
                };
                let record = SetAsideRecord {
                    reason: reason.to_owned(),
                    at_ms,
                    item: item.to_vec(),
                };
                aside.insert(key, record.encode_to_vec())?;
                Ok(true)
            })
            .map_err(|e: TransactionError<StoreError>| StoreError::from(e))?;
        Ok(moved)
    }

    /// How many outbox records were set aside.
    pub fn set_aside_len(&self) -> usize {
        self.outbox_set_aside.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreadable_outbox_record_is_set_aside_and_the_next_message_is_handed_out()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let readable = pb::OutboxItem {
            message_key: b"lefoe-ibf@marri\0id".to_vec(),
            envelope: Some(pb::Envelope::default()),
        };
        store
            .outbox
            .insert(1u64.to_be_bytes(), b"\xff\xff not an item".to_vec())?;
        store
            .outbox
            .insert(2u64.to_be_bytes(), readable.encode_to_vec())?;
        let next = store.next_outgoing()?.ok_or("a message is waiting")?;
        assert_eq!(
            (next.sequence, next.key.as_slice()),
            (2, &readable.message_key[..])
        );
        assert_eq!(store.set_aside_len(), 1);
        assert!(store.is_queued(&readable.message_key)?);
        // A record whose message cannot be updated is set aside by its sequence.
        assert!(
            store
                .set_aside_outgoing(2, "its message is missing")
                .await?
        );
        assert!(!store.set_aside_outgoing(2, "again").await?);
        assert!(store.next_outgoing()?.is_none());
        assert!(!store.is_queued(&readable.message_key)?);
        assert_eq!(store.set_aside_len(), 2);
        Ok(())
    }
}
