//! What the quotas and the expiry sweep read: queue sizes, the envelopes a peer's nodes have
//! waiting here, and envelopes past their expiry, found through the expiry index
//! ([`super::expiry_index`]). An item's header is read without copying its ciphertext (a
//! message that knows only the header's field), and only a lapsed item is decoded whole.
//!
//! The quotas ask on every submission, so the answers are kept in [`Counters`]: a recipient's
//! or a peer's usage is read from its record on disk ([`super::usage_records`]) the first time
//! it is asked for, then kept in step by the writer ([`super::writer`]), which applies each
//! commit's [`Delta`]s under the same lock. A submission then costs the same with 100,000 items
//! queued as with none, and so does the first one after a start.

use std::sync::PoisonError;

use prost::Message;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;

use super::{EmbeddedStore, StoreError, corrupt, expiry_index, usage_records};
use crate::store::counted::{Counted, Tree, header};
use crate::store::{Lapsed, Usage, Waiting};

/// A key's `name NUL sequence(u64 BE)` parts.
pub(super) fn split(tree: &'static str, key: &[u8]) -> Result<(String, u64), StoreError> {
    let at = key
        .len()
        .checked_sub(9)
        .filter(|at| key.get(*at) == Some(&0))
        .ok_or_else(|| corrupt(tree, "key is not name NUL sequence"))?;
    let name = key
        .get(..at)
        .and_then(|n| std::str::from_utf8(n).ok())
        .ok_or_else(|| corrupt(tree, "key name is not UTF-8"))?;
    let sequence = key
        .get(at + 1..)
        .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt(tree, "key has no sequence"))?;
    Ok((name.to_owned(), sequence))
}

impl EmbeddedStore {
    /// The usage `counted` has, counted from the stored state the first time.
    fn usage(
        &self,
        counted: Counted,
        count: impl FnOnce(&Self) -> Result<Usage, StoreError>,
    ) -> Result<Usage, StoreError> {
        // Counting under the lock keeps the writer from committing meanwhile.
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((usage, _)) = counters.get(&counted) {
            return Ok(usage);
        }
        let usage = count(self)?;
        counters.insert(counted, usage);
        Ok(usage)
    }

    /// See [`crate::store::BrokerStore::queue_usage`].
    pub(super) fn queue_usage_now(&self, recipient: &NodeAddr) -> Result<Usage, StoreError> {
        self.usage(Counted::Queue(recipient.clone()), |store| {
            store.count_queue(recipient)
        })
    }

    /// `recipient`'s queue as its usage record says ([`usage_records`]).
    pub(super) fn count_queue(&self, recipient: &NodeAddr) -> Result<Usage, StoreError> {
        usage_records::read(&self.usage, &Counted::Queue(recipient.clone()))
    }

    /// See [`crate::store::BrokerStore::relayed_usage`].
    pub(super) fn relayed_usage_now(&self, peer: &BrokerName) -> Result<Usage, StoreError> {
        self.usage(Counted::Peer(peer.clone()), |store| {
            usage_records::read(&store.usage, &Counted::Peer(peer.clone()))
        })
    }

    /// See [`crate::store::BrokerStore::lapsed`]: the items the expiry index names up to
    /// `now_ms`, read one by one; an entry whose item has left is removed on the way.
    pub(super) fn lapsed_now(&self, now_ms: u64, limit: usize) -> Result<Vec<Lapsed>, StoreError> {
        let mut lapsed = Vec::new();
        let mut gone = Vec::new();
        for entry in expiry_index::due(&self.expiry, now_ms) {
            if lapsed.len() >= limit {
                break;
            }
            let (index_key, _) = entry?;
            let Some((tree, key)) = expiry_index::parse(&index_key) else {
                gone.push(index_key);
                continue;
            };
            let (name, sled_tree) = match tree {
                Tree::Queue => ("queue", &self.queue),
                Tree::Outbox => ("outbox", &self.outbox),
            };
            let Some(value) = sled_tree.get(key)? else {
                gone.push(index_key);
                continue;
            };
            let Some(header) = header(tree, &value)? else {
                gone.push(index_key);
                continue;
            };
            if header.expires_at_ms > now_ms {
                // Not this item's entry (its own is under its expiry).
                gone.push(index_key);
                continue;
            }
            let (owner, sequence) = split(name, key)?;
            let (place, envelope) = match tree {
                Tree::Queue => {
                    let delivery =
                        pb::Delivery::decode(value.as_ref()).map_err(|e| corrupt(name, e))?;
                    let recipient = owner.parse().map_err(|e| corrupt(name, e))?;
                    let envelope = match delivery.item {
                        Some(pb::delivery::Item::Envelope(envelope)) => envelope,
                        _ => continue,
                    };
                    (Waiting::Queue(recipient), envelope)
                }
                Tree::Outbox => {
                    let item =
                        pb::RelayItem::decode(value.as_ref()).map_err(|e| corrupt(name, e))?;
                    let peer = owner.parse().map_err(|e| corrupt(name, e))?;
                    let envelope = match item.item {
                        Some(pb::relay_item::Item::Envelope(envelope)) => envelope,
                        _ => continue,
                    };
                    (Waiting::Outbox(peer), envelope)
                }
            };
            lapsed.push(Lapsed {
                place,
                sequence,
                envelope,
            });
        }
        // Left behind by items that went another way than delivery; not flushed: an entry
        // that comes back after a crash is removed again.
        for index_key in gone {
            self.expiry.remove(index_key)?;
        }
        // Set aside, an envelope still expires: its sender gets the EXPIRED receipt.
        let room = limit.saturating_sub(lapsed.len());
        lapsed.extend(self.set_aside_lapsed(now_ms, room)?);
        Ok(lapsed)
    }
}
