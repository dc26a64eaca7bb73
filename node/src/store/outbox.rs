//! The outbox's own reads and its set-aside table. The outbox (sequence → `OutboxItem`) is
//! written with the message it carries, in the combined transactions of the parent module;
//! here it is read oldest first, and an item that cannot be sent or recorded is moved out of
//! it into `outbox_set_aside` (sequence → the reason and the record's bytes as stored), so
//! that the messages behind it are submitted. An item whose message can still be updated
//! leaves through [`NodeStore::record_outcome`] instead, with the reason in its evidence.

use std::collections::BTreeSet;

use prost::Message;
use sled::transaction::{TransactionError, Transactional};
use tracing::warn;
use trm_proto::pb;

use super::content::ContentFile;
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

/// The part of an outbox record that says which message and case it is, read without
/// copying the envelope (prost skips the fields it does not name).
#[derive(Clone, PartialEq, Message)]
struct OutboxHead {
    /// As `OutboxItem.case_key`.
    #[prost(bytes = "vec", tag = "3")]
    case_key: Vec<u8>,
    /// As `OutboxItem.envelope_place`.
    #[prost(message, optional, tag = "4")]
    envelope_place: Option<pb::ContentPlace>,
}

impl OutboxHead {
    /// The record's size with its envelope, wherever the envelope is kept.
    fn size(&self, record: usize) -> usize {
        let placed = self.envelope_place.map_or(0, |p| p.length);
        record.saturating_add(usize::try_from(placed).unwrap_or(usize::MAX))
    }
}

/// The message key of an outbox record that holds or places its envelope (not read here).
fn message_key_of(value: &[u8]) -> Option<Vec<u8>> {
    pb::OutboxItem::decode(value)
        .ok()
        .filter(|item| item.envelope.is_some() || item.envelope_place.is_some())
        .map(|item| item.message_key)
}

/// An outbox record, or why it cannot be read (`Ok(Err(..))`: it never can); `Err` when the
/// file of sealed content failed to read, which may pass.
fn decode(
    key: &[u8],
    value: &[u8],
    content: &ContentFile,
) -> Result<Result<Outgoing, String>, StoreError> {
    let Ok(sequence) = <[u8; 8]>::try_from(key).map(u64::from_be_bytes) else {
        return Ok(Err("its key is not 8 bytes".to_owned()));
    };
    let item = match pb::OutboxItem::decode(value) {
        Ok(item) => item,
        Err(e) => return Ok(Err(format!("it cannot be read: {e}"))),
    };
    let envelope = match (item.envelope, item.envelope_place) {
        (Some(envelope), _) => envelope,
        (None, Some(place)) => match content.read(&place) {
            Ok(bytes) => match pb::Envelope::decode(bytes.as_slice()) {
                Ok(envelope) => envelope,
                Err(e) => return Ok(Err(format!("its envelope cannot be read: {e}"))),
            },
            Err(e @ StoreError::Corrupt { .. }) => return Ok(Err(e.to_string())),
            Err(e) => return Err(e),
        },
        (None, None) => return Ok(Err("it holds no envelope".to_owned())),
    };
    Ok(Ok(Outgoing {
        sequence,
        key: item.message_key,
        envelope,
        case_key: item.case_key,
    }))
}

impl NodeStore {
    /// The oldest message waiting for the broker. A record that cannot be read is set aside
    /// on the way (logged at WARN): it could never be sent. (That move is flushed with the
    /// next write; lost in a crash, it is simply made again.)
    pub fn next_outgoing(&self) -> Result<Option<Outgoing>, StoreError> {
        self.next_outgoing_except(&BTreeSet::new())
    }

    /// The oldest message waiting for the broker whose sequence is not in `behind`, or, when
    /// every message waiting is, the oldest of those: the messages in `behind` are moved
    /// behind the others, never dropped. Unreadable records are set aside on the way, as by
    /// [`NodeStore::next_outgoing`].
    pub fn next_outgoing_except(
        &self,
        behind: &BTreeSet<u64>,
    ) -> Result<Option<Outgoing>, StoreError> {
        let mut first_behind = None;
        let engine = self.engine()?;
        for entry in engine.outbox.iter() {
            let (key, value) = entry?;
            match decode(&key, &value, &engine.content)? {
                Ok(item) if behind.contains(&item.sequence) => {
                    first_behind.get_or_insert(item);
                }
                Ok(item) => return Ok(Some(item)),
                Err(reason) => {
                    warn!(reason = %reason, "outbox record set aside: it cannot be sent");
                    self.move_aside(&key, &reason)?;
                }
            }
        }
        Ok(first_behind)
    }

    /// Up to `limit` messages waiting for the broker, oldest first, among the first
    /// `max_scan` records: a record for which `skip` (given its sequence, its case key, read
    /// without the envelope, and its size in bytes) answers true is left out unread. Unreadable records are set
    /// aside on the way, as by [`NodeStore::next_outgoing`].
    pub fn waiting_outgoing(
        &self,
        skip: &mut dyn FnMut(u64, &[u8], usize) -> bool,
        limit: usize,
        max_scan: usize,
    ) -> Result<Vec<Outgoing>, StoreError> {
        let mut items = Vec::new();
        let engine = self.engine()?;
        for entry in engine.outbox.iter().take(max_scan) {
            if items.len() >= limit {
                break;
            }
            let (key, value) = entry?;
            let head = <[u8; 8]>::try_from(key.as_ref())
                .ok()
                .zip(OutboxHead::decode(value.as_ref()).ok());
            if let Some((sequence, head)) = head
                && skip(
                    u64::from_be_bytes(sequence),
                    &head.case_key,
                    head.size(value.len()),
                )
            {
                continue;
            }
            match decode(&key, &value, &engine.content)? {
                Ok(item) => items.push(item),
                Err(reason) => {
                    warn!(reason = %reason, "outbox record set aside: it cannot be sent");
                    self.move_aside(&key, &reason)?;
                }
            }
        }
        Ok(items)
    }

    /// Puts `item` in the outbox at `sequence` as it is, for tests of what reads the outbox.
    #[cfg(test)]
    pub(crate) fn put_outgoing(
        &self,
        sequence: u64,
        item: &pb::OutboxItem,
    ) -> Result<(), StoreError> {
        self.engine()?
            .outbox
            .insert(sequence.to_be_bytes(), item.encode_to_vec())?;
        Ok(())
    }

    /// The message key of the outbox record at `sequence`, if it is there and readable.
    pub fn outgoing_key(&self, sequence: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let key = sequence.to_be_bytes();
        Ok(self
            .engine()?
            .outbox
            .get(key)?
            .and_then(|value| message_key_of(&value)))
    }

    /// Whether the message stored under `key` waits in the outbox.
    pub fn is_queued(&self, key: &[u8]) -> Result<bool, StoreError> {
        for entry in self.engine()?.outbox.iter() {
            let (_, value) = entry?;
            if message_key_of(&value).is_some_and(|queued| queued == key) {
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
        self.handover.left(sequence);
        self.durable().await?;
        Ok(moved)
    }

    fn move_aside(&self, key: &[u8], reason: &str) -> Result<bool, StoreError> {
        // Outside the writer, so hold its gate: a snapshot sees the move whole or not at all.
        let engine = self.engine.writable()?;
        let _writing = engine.combiner.hold();
        let at_ms = trm_proto::time::now_ms();
        let moved = (&engine.outbox, &engine.outbox_set_aside)
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
            .map_err(|e: TransactionError<StoreError>| self.engine.observe(StoreError::from(e)))?;
        Ok(moved)
    }

    /// The evidence step `set_aside` for the message stored under `key` if its outbox record
    /// was set aside, with the reason, attested by `node`. A record that cannot be read is tied
    /// to the message when its bytes still hold the message key.
    pub fn set_aside_step(
        &self,
        key: &[u8],
        node: &str,
    ) -> Result<Option<pb::Evidence>, StoreError> {
        if key.is_empty() {
            return Ok(None);
        }
        for entry in self.engine()?.outbox_set_aside.iter() {
            let (_, value) = entry?;
            let Ok(record) = SetAsideRecord::decode(value.as_ref()) else {
                continue;
            };
            let about = match pb::OutboxItem::decode(record.item.as_slice()) {
                Ok(item) => item.message_key == key,
                Err(_) => record.item.windows(key.len()).any(|w| w == key),
            };
            if about {
                return Ok(Some(pb::Evidence {
                    step: "set_aside".into(),
                    at_ms: record.at_ms,
                    attested_by: node.to_owned(),
                    detail: format!("set aside, no longer submitted: {}", record.reason),
                    receipt: None,
                }));
            }
        }
        Ok(None)
    }

    /// How many outbox records were set aside.
    pub fn set_aside_len(&self) -> Result<usize, StoreError> {
        Ok(self.engine()?.outbox_set_aside.len())
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
            case_key: b"lefoe-ibf@marri\0ref".to_vec(),
            envelope_place: None,
        };
        store
            .engine()?
            .outbox
            .insert(1u64.to_be_bytes(), b"\xff\xff not an item".to_vec())?;
        // Its envelope's place in the file of sealed content is past the file's end.
        let misplaced = pb::OutboxItem {
            message_key: b"lefoe-ibf@marri\0misplaced".to_vec(),
            envelope: None,
            envelope_place: Some(pb::ContentPlace {
                offset: 1 << 40,
                length: 100,
            }),
            ..readable.clone()
        };
        store
            .engine()?
            .outbox
            .insert(0u64.to_be_bytes(), misplaced.encode_to_vec())?;
        store
            .engine()?
            .outbox
            .insert(2u64.to_be_bytes(), readable.encode_to_vec())?;
        let next = store.next_outgoing()?.ok_or("a message is waiting")?;
        assert_eq!(
            (next.sequence, next.key.as_slice()),
            (2, &readable.message_key[..])
        );
        assert_eq!(store.set_aside_len()?, 2);
        assert!(store.is_queued(&readable.message_key)?);
        assert_eq!(store.outgoing_key(2)?, Some(readable.message_key.clone()));
        assert_eq!(store.outgoing_key(3)?, None);
        // A message moved behind the others comes last, and still comes.
        let later = pb::OutboxItem {
            message_key: b"lefoe-ibf@marri\0later".to_vec(),
            envelope: Some(pb::Envelope::default()),
            case_key: Vec::new(),
            envelope_place: None,
        };
        store
            .engine()?
            .outbox
            .insert(5u64.to_be_bytes(), later.encode_to_vec())?;
        let behind = BTreeSet::from([2]);
        let next = store.next_outgoing_except(&behind)?.ok_or("two wait")?;
        assert_eq!(next.sequence, 5);
        store.engine()?.outbox.remove(5u64.to_be_bytes())?;
        let next = store.next_outgoing_except(&behind)?.ok_or("one waits")?;
        assert_eq!(next.sequence, 2);
        // A record whose message cannot be updated is set aside by its sequence.
        assert!(
            store
                .set_aside_outgoing(2, "its message is missing")
                .await?
        );
        assert!(!store.set_aside_outgoing(2, "again").await?);
        assert!(store.next_outgoing()?.is_none());
        assert!(!store.is_queued(&readable.message_key)?);
        assert_eq!(store.set_aside_len()?, 3);
        let step = store
            .set_aside_step(&readable.message_key, "lefoe-ibf@marri")?
            .ok_or("the set-aside message shows it")?;
        assert_eq!(step.step, "set_aside");
        assert!(
            step.detail.ends_with("its message is missing"),
            "{}",
            step.detail
        );
        assert!(
            store
                .set_aside_step(b"lefoe-ibf@marri\0other", "x")?
                .is_none()
        );
        // A damaged record that still holds the message key is tied to its message.
        store.engine()?.outbox.insert(
            7u64.to_be_bytes(),
            [b"\xff\xff".as_slice(), b"lefoe-ibf@marri\0damaged"].concat(),
        )?;
        assert!(store.next_outgoing()?.is_none());
        let step = store
            .set_aside_step(b"lefoe-ibf@marri\0damaged", "lefoe-ibf@marri")?
            .ok_or("the damaged record shows")?;
        assert!(step.detail.contains("cannot be read"), "{}", step.detail);
        Ok(())
    }
}
