//! What the quotas and the expiry sweep read: queue sizes, the envelopes a peer's nodes have
//! waiting here, and envelopes past their expiry. An item's header is read without copying
//! its ciphertext (a message that knows only the header's field), and only a lapsed item is
//! decoded whole.
//!
//! The quotas ask on every submission, so the answers are kept in [`Counters`]: a recipient's
//! or a peer's usage is counted from the stored state the first time it is asked for, then
//! kept in step by the writer ([`super::writer`]), which applies each commit's [`Delta`]s under
//! the same lock. A submission then costs the same with 100,000 items queued as with none.

use std::collections::HashMap;
use std::sync::PoisonError;

use prost::Message;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;

use super::{EmbeddedStore, StoreError, corrupt, queue_prefix};
use crate::store::{Lapsed, Usage, Waiting};

/// An envelope, by its header only (the ciphertext and signature are skipped when decoding).
#[derive(Clone, PartialEq, Message)]
struct HeaderOnly {
    #[prost(bytes = "vec", tag = "1")]
    header: Vec<u8>,
}

/// A queued `Delivery`, by its envelope's header only (its sequence, at tag 1, is skipped).
#[derive(Clone, PartialEq, Message)]
struct QueuedHeader {
    #[prost(message, optional, tag = "2")]
    envelope: Option<HeaderOnly>,
}

/// An outbox `RelayItem`, by its envelope's header only.
#[derive(Clone, PartialEq, Message)]
struct OutgoingHeader {
    #[prost(message, optional, tag = "1")]
    envelope: Option<HeaderOnly>,
}

/// Which tag holds the envelope in a tree's records.
#[derive(Clone, Copy)]
enum Tree {
    Queue,
    Outbox,
}

/// The header of the envelope a record holds, or `None` for a receipt.
fn header(tree: Tree, value: &[u8]) -> Result<Option<pb::EnvelopeHeader>, StoreError> {
    let name = match tree {
        Tree::Queue => "queue",
        Tree::Outbox => "outbox",
    };
    let envelope = match tree {
        Tree::Queue => QueuedHeader::decode(value).map(|h| h.envelope),
        Tree::Outbox => OutgoingHeader::decode(value).map(|h| h.envelope),
    }
    .map_err(|e| corrupt(name, e))?;
    envelope
        .map(|e| pb::EnvelopeHeader::decode(e.header.as_slice()).map_err(|e| corrupt(name, e)))
        .transpose()
}

/// A key's `name NUL sequence(u64 BE)` parts.
fn split(tree: &'static str, key: &[u8]) -> Result<(String, u64), StoreError> {
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

/// What a usage counter counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counted {
    /// Everything queued for this recipient.
    Queue(NodeAddr),
    /// The queued envelopes from nodes homed on this broker.
    Peer(BrokerName),
}

/// One queued item added or removed by a change, as the counters see it.
#[derive(Debug, Clone)]
pub(super) struct Delta {
    /// Whose usage it changes.
    counted: Counted,
    /// The item's stored size.
    size: u64,
    /// Added (`true`) or removed.
    added: bool,
}

/// Records in `deltas` that `value` was queued for `recipient` (`added`) or left its queue.
pub(super) fn queued(deltas: &mut Vec<Delta>, recipient: &NodeAddr, value: &[u8], added: bool) {
    let size = value.len() as u64;
    deltas.push(Delta {
        counted: Counted::Queue(recipient.clone()),
        size,
        added,
    });
    // A receipt counts for its queue only; a record whose header cannot be read counts for no
    // peer (the count from the stored state skips it too, failing instead).
    if let Some(from) = sender_broker(value) {
        deltas.push(Delta {
            counted: Counted::Peer(from),
            size,
            added,
        });
    }
}

/// The home broker of the sender of the envelope a queue record holds.
fn sender_broker(value: &[u8]) -> Option<BrokerName> {
    let header = header(Tree::Queue, value).ok()??;
    header
        .from
        .parse::<NodeAddr>()
        .ok()
        .map(|from| from.broker())
}

/// The usage counted so far, by recipient and by peer; what is not here has not been asked for
/// yet and is counted from the stored state when it is.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Known usage.
    known: HashMap<Counted, Usage>,
}

impl Counters {
    /// Applies a commit's changes to the usage already known.
    pub(super) fn apply(&mut self, deltas: &[Delta]) {
        for delta in deltas {
            if let Some(usage) = self.known.get_mut(&delta.counted) {
                *usage = if delta.added {
                    usage.plus(delta.size)
                } else {
                    usage.minus(delta.size)
                };
            }
        }
    }
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
        if let Some(usage) = counters.known.get(&counted) {
            return Ok(*usage);
        }
        let usage = count(self)?;
        counters.known.insert(counted, usage);
        Ok(usage)
    }

    /// See [`crate::store::BrokerStore::queue_usage`].
    pub(super) fn queue_usage_now(&self, recipient: &NodeAddr) -> Result<Usage, StoreError> {
        self.usage(Counted::Queue(recipient.clone()), |store| {
            store.count_queue(recipient)
        })
    }

    /// Counts `recipient`'s queue from the stored state.
    pub(super) fn count_queue(&self, recipient: &NodeAddr) -> Result<Usage, StoreError> {
        let mut usage = Usage::default();
        for entry in self.queue.scan_prefix(queue_prefix(recipient)) {
            let (_, value) = entry?;
            usage = usage.plus(value.len() as u64);
        }
        Ok(usage)
    }

    /// See [`crate::store::BrokerStore::relayed_usage`].
    pub(super) fn relayed_usage_now(&self, peer: &BrokerName) -> Result<Usage, StoreError> {
        self.usage(Counted::Peer(peer.clone()), |store| {
            store.count_relayed(peer)
        })
    }

    /// Counts the envelopes from `peer`'s nodes in every queue from the stored state.
    fn count_relayed(&self, peer: &BrokerName) -> Result<Usage, StoreError> {
        let mut usage = Usage::default();
        for entry in self.queue.iter() {
            let (_, value) = entry?;
            let from_peer = header(Tree::Queue, &value)?.is_some_and(|h| {
                h.from
                    .parse::<NodeAddr>()
                    .is_ok_and(|from| &from.broker() == peer)
            });
            if from_peer {
                usage = usage.plus(value.len() as u64);
            }
        }
        Ok(usage)
    }

    /// See [`crate::store::BrokerStore::lapsed`].
    pub(super) fn lapsed_now(&self, now_ms: u64, limit: usize) -> Result<Vec<Lapsed>, StoreError> {
        let mut lapsed = Vec::new();
        for (tree, name, sled_tree) in [
            (Tree::Queue, "queue", &self.queue),
            (Tree::Outbox, "outbox", &self.outbox),
        ] {
            for entry in sled_tree.iter() {
                if lapsed.len() >= limit {
                    return Ok(lapsed);
                }
                let (key, value) = entry?;
                let Some(header) = header(tree, &value)? else {
                    continue;
                };
                if header.expires_at_ms > now_ms {
                    continue;
                }
                let (owner, sequence) = split(name, &key)?;
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
        }
        // Set aside, an envelope still expires: its sender gets the EXPIRED receipt.
        let room = limit.saturating_sub(lapsed.len());
        lapsed.extend(self.set_aside_lapsed(now_ms, room)?);
        Ok(lapsed)
    }
}
