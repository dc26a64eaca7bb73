//! The set-aside table: outbox items taken out of the live outbox because they kept failing or
//! could not be read, keyed like the outbox (`destination-broker NUL sequence(u64 BE)`), each
//! with its attempts, reason and time, and the stored bytes as they were. The tree is opened
//! when the store opens (an empty tree for a store made before it existed).

use prost::Message;
use sled::transaction::{TransactionError, Transactional};
use trm_proto::addr::BrokerName;

use super::{EmbeddedStore, StoreError, corrupt, outbox};
use crate::store::{Lapsed, SetAside, Waiting};
use trm_proto::pb;

/// The tree's name.
const TREE: &str = "set_aside";

/// One set-aside item as stored.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Record {
    /// The failed attempts counted against it.
    #[prost(uint32, tag = "1")]
    attempts: u32,
    /// Why, in words.
    #[prost(string, tag = "2")]
    reason: String,
    /// When, ms since the Unix epoch.
    #[prost(uint64, tag = "3")]
    at_ms: u64,
    /// The outbox record's bytes.
    #[prost(bytes = "vec", tag = "4")]
    item: Vec<u8>,
}

/// The record of an item set aside now.
pub(super) fn record(attempts: u32, reason: String, item: Vec<u8>) -> Record {
    Record {
        attempts,
        reason,
        at_ms: trm_proto::time::now_ms(),
        item,
    }
}

/// Opens (creating if need be) the set-aside table of `db`.
pub(super) fn open(db: &sled::Db) -> Result<sled::Tree, StoreError> {
    Ok(db.open_tree(TREE)?)
}

impl EmbeddedStore {
    pub(super) fn set_aside_tree(&self) -> Result<sled::Tree, StoreError> {
        open(&self.db)
    }

    /// Moves the outbox records under the given keys into the set-aside table in one
    /// transaction (the stored bytes replace each record's `item`); returns how many were
    /// still in the outbox. The caller makes it durable.
    pub(super) fn move_aside(&self, moves: Vec<(Vec<u8>, Record)>) -> Result<usize, StoreError> {
        let aside = self.set_aside_tree()?;
        (&self.outbox, &aside)
            .transaction(|(outbox, aside)| {
                let mut moved = 0;
                for (key, record) in &moves {
                    let Some(stored) = outbox.remove(key.as_slice())? else {
                        continue;
                    };
                    let record = Record {
                        item: stored.to_vec(),
                        ..record.clone()
                    };
                    aside.insert(key.as_slice(), record.encode_to_vec())?;
                    moved += 1;
                }
                Ok(moved)
            })
            .map_err(|e: TransactionError<StoreError>| StoreError::from(e))
    }

    /// See [`crate::store::BrokerStore::set_aside`].
    pub(super) fn set_aside_now(&self, items: Vec<SetAside>) -> Result<usize, StoreError> {
        let moves = items
            .into_iter()
            .map(|item| {
                let record = Record {
                    attempts: item.attempts,
                    reason: item.reason,
                    at_ms: item.at_ms,
                    item: Vec::new(),
                };
                (outbox::key(&item.peer, item.sequence), record)
            })
            .collect();
        self.move_aside(moves)
    }

    /// Up to `limit` set-aside envelopes that expired at or before `now_ms`, as if they
    /// waited in their peer's outbox (the relay answer that removes them from there removes
    /// them from here too). A record that cannot be read is skipped: it has no expiry to read.
    pub(super) fn set_aside_lapsed(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<Lapsed>, StoreError> {
        let mut lapsed = Vec::new();
        if limit == 0 {
            return Ok(lapsed);
        }
        for entry in self.set_aside_tree()?.iter() {
            let (key, value) = entry?;
            let Ok((peer, sequence)) = split_key(&key) else {
                continue;
            };
            let envelope = Record::decode(value.as_ref())
                .ok()
                .and_then(|record| pb::RelayItem::decode(record.item.as_slice()).ok())
                .and_then(|item| match item.item {
                    Some(pb::relay_item::Item::Envelope(envelope)) => Some(envelope),
                    _ => None,
                });
            let Some(envelope) = envelope else {
                continue;
            };
            let expired = pb::EnvelopeHeader::decode(envelope.header.as_slice())
                .is_ok_and(|header| header.expires_at_ms <= now_ms);
            if !expired {
                continue;
            }
            lapsed.push(Lapsed {
                place: Waiting::Outbox(peer),
                sequence,
                envelope,
            });
            if lapsed.len() >= limit {
                break;
            }
        }
        Ok(lapsed)
    }

    /// See [`crate::store::BrokerStore::set_aside_len`].
    pub(super) fn set_aside_len_now(&self, peer: &BrokerName) -> Result<usize, StoreError> {
        let mut count = 0;
        for entry in self.set_aside_tree()?.scan_prefix(outbox::prefix(peer)) {
            entry?;
            count += 1;
        }
        Ok(count)
    }

    /// See [`crate::store::BrokerStore::set_aside_items`].
    pub(super) fn set_aside_items_now(
        &self,
        peer: Option<&BrokerName>,
    ) -> Result<Vec<SetAside>, StoreError> {
        let aside = self.set_aside_tree()?;
        let prefix = peer.map(outbox::prefix).unwrap_or_default();
        let mut items = Vec::new();
        for entry in aside.scan_prefix(prefix) {
            let (key, value) = entry?;
            let (name, sequence) = split_key(&key)?;
            let record =
                Record::decode(value.as_ref()).map_err(|e| corrupt(TREE, e.to_string()))?;
            items.push(SetAside {
                peer: name,
                sequence,
                attempts: record.attempts,
                reason: record.reason,
                at_ms: record.at_ms,
                item: record.item,
            });
        }
        Ok(items)
    }
}

/// The peer and sequence of a set-aside key.
fn split_key(key: &[u8]) -> Result<(BrokerName, u64), StoreError> {
    let bad = || corrupt(TREE, "key is not broker NUL sequence");
    let split = key.len().checked_sub(9).ok_or_else(bad)?;
    let (name, rest) = key.split_at(split);
    let sequence = rest
        .strip_prefix(&[0])
        .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(bad)?;
    let name = std::str::from_utf8(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)?;
    Ok((name, sequence))
}

#[cfg(test)]
mod tests {
    use trm_proto::pb;

    use super::*;
    use crate::store::BrokerStore;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn sequences(items: &[crate::store::Outgoing]) -> Vec<u64> {
        items.iter().map(|o| o.sequence).collect()
    }

    #[tokio::test]
    async fn an_unreadable_item_is_set_aside_and_what_is_set_aside_survives_a_restart() -> TestResult
    {
        let dir = tempfile::tempdir()?;
        let rs: BrokerName = "rs".parse()?;
        let garbage = b"\xff\xff not a relay item".to_vec();
        let receipt = outbox::receipt_item(pb::SignedReceipt::default());
        let failing = SetAside {
            peer: rs.clone(),
            sequence: 3,
            attempts: 10,
            reason: "kept failing".into(),
            at_ms: 5,
            item: Vec::new(),
        };
        {
            let store = EmbeddedStore::open(dir.path())?;
            store.outbox.insert(outbox::key(&rs, 1), garbage.clone())?;
            for sequence in [2, 3] {
                store
                    .outbox
                    .insert(outbox::key(&rs, sequence), receipt.clone())?;
            }
            // The damaged record does not stop the outbox: it is set aside on the way.
            assert_eq!(sequences(&store.outgoing(&rs, 10, 1 << 20).await?), [2, 3]);
            assert_eq!(store.set_aside_len(&rs).await?, 1);
            assert_eq!(
                sequences(&store.outgoing_skipping(&rs, &[2], 10, 1 << 20).await?),
                [3]
            );
            assert_eq!(store.set_aside(vec![failing.clone()]).await?, 1);
            // Gone already: nothing moves.
            assert_eq!(store.set_aside(vec![failing.clone()]).await?, 0);
        }
        let store = EmbeddedStore::open(dir.path())?;
        assert_eq!(sequences(&store.outgoing(&rs, 10, 1 << 20).await?), [2]);
        let aside = store.set_aside_items(Some(&rs)).await?;
        let [unreadable, kept] = aside.as_slice() else {
            return Err(format!("two set-aside items expected: {aside:?}").into());
        };
        assert_eq!((unreadable.sequence, unreadable.attempts), (1, 1));
        assert!(
            unreadable.reason.starts_with("it cannot be read"),
            "{}",
            unreadable.reason
        );
        assert_eq!(unreadable.item, garbage);
        assert_eq!(
            *kept,
            SetAside {
                item: receipt,
                ..failing
            }
        );
        assert_eq!(store.set_aside_items(None).await?.len(), 2);
        assert!(
            store
                .set_aside_items(Some(&"mk".parse()?))
                .await?
                .is_empty()
        );
        assert_eq!(store.outbox_len(&rs).await?, 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_set_aside_envelope_expires_like_one_in_the_outbox() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = EmbeddedStore::open(dir.path())?;
        let rs: BrokerName = "rs".parse()?;
        let envelope = pb::Envelope {
            header: pb::EnvelopeHeader {
                expires_at_ms: 1_000,
                ..Default::default()
            }
            .encode_to_vec(),
            ..Default::default()
        };
        store
            .outbox
            .insert(outbox::key(&rs, 4), outbox::envelope_item(envelope.clone()))?;
        // Unreadable set-aside records have no expiry and do not stop the sweep.
        store
            .outbox
            .insert(outbox::key(&rs, 5), b"\xff\xff".to_vec())?;
        assert_eq!(store.outgoing(&rs, 10, 1 << 20).await?.len(), 1);
        let kept = SetAside {
            peer: rs.clone(),
            sequence: 4,
            attempts: 10,
            reason: "kept failing".into(),
            at_ms: 5,
            item: Vec::new(),
        };
        assert_eq!(store.set_aside(vec![kept]).await?, 1);
        assert!(store.lapsed(999, 10).await?.is_empty());
        let lapsed = store.lapsed(1_000, 10).await?;
        assert_eq!(
            lapsed,
            vec![Lapsed {
                place: Waiting::Outbox(rs.clone()),
                sequence: 4,
                envelope,
            }]
        );
        store
            .relayed(
                rs.clone(),
                crate::store::RelayAnswer {
                    sequences: vec![4],
                    ..Default::default()
                },
            )
            .await?;
        assert_eq!(
            store.set_aside_len(&rs).await?,
            1,
            "the unreadable one stays"
        );
        assert!(store.lapsed(u64::MAX, 10).await?.is_empty());
        Ok(())
    }
}
