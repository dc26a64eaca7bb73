//! What the quotas count, for either engine: a recipient's queue and the envelopes a peer
//! broker's nodes have waiting here. [`Counters`] keep each usage once it was counted from the
//! stored state, in step with the store's own writes ([`Delta`]s); and a queued item's
//! envelope header is read without copying its ciphertext ([`header`]).
//!
//! The embedded store's counters are exact for ever (one writer applies every commit's
//! deltas). Several broker processes write to a JetStream stream, so there a usage is counted
//! again once it is older than the engine says (the age [`Counters::get`] tells).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use prost::Message;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;

use crate::store::{StoreError, Usage};

/// An envelope, by its header only (the ciphertext and signature are skipped when decoding).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct HeaderOnly {
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
pub(crate) enum Tree {
    Queue,
    Outbox,
}

/// The header of the envelope a record holds, or `None` for a receipt.
pub(crate) fn header(tree: Tree, value: &[u8]) -> Result<Option<pb::EnvelopeHeader>, StoreError> {
    let name = match tree {
        Tree::Queue => "queue",
        Tree::Outbox => "outbox",
    };
    let envelope = match tree {
        Tree::Queue => QueuedHeader::decode(value).map(|h| h.envelope),
        Tree::Outbox => OutgoingHeader::decode(value).map(|h| h.envelope),
    }
    .map_err(|e| StoreError::Corrupt {
        tree: name,
        message: e.to_string(),
    })?;
    envelope
        .map(|e| {
            pb::EnvelopeHeader::decode(e.header.as_slice()).map_err(|e| StoreError::Corrupt {
                tree: name,
                message: e.to_string(),
            })
        })
        .transpose()
}

/// What a usage counter counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Counted {
    /// Everything queued for this recipient.
    Queue(NodeAddr),
    /// The queued envelopes from nodes homed on this broker.
    Peer(BrokerName),
}

/// One queued item added or removed by a change, as the counters see it.
#[derive(Debug, Clone)]
pub(crate) struct Delta {
    /// Whose usage it changes.
    counted: Counted,
    /// The item's stored size.
    size: u64,
    /// Added (`true`) or removed.
    added: bool,
}

impl Delta {
    /// Whose usage it changes.
    pub(crate) fn counted(&self) -> &Counted {
        &self.counted
    }

    /// `usage` with this change.
    pub(crate) fn applied_to(&self, usage: Usage) -> Usage {
        if self.added {
            usage.plus(self.size)
        } else {
            usage.minus(self.size)
        }
    }
}

/// Records in `deltas` that `value` was queued for `recipient` (`added`) or left its queue.
pub(crate) fn queued(deltas: &mut Vec<Delta>, recipient: &NodeAddr, value: &[u8], added: bool) {
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

/// A usage, and when it was counted from the stored state.
#[derive(Debug, Clone, Copy)]
struct Known {
    usage: Usage,
    counted_at: Instant,
}

/// The usage counted so far, by recipient and by peer; what is not here has not been asked for
/// yet and is counted from the stored state when it is.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Known usage.
    known: HashMap<Counted, Known>,
}

impl Counters {
    /// The usage of `counted` if it is known, and how long ago it was counted from the
    /// stored state.
    pub(crate) fn get(&self, counted: &Counted) -> Option<(Usage, Duration)> {
        let known = self.known.get(counted)?;
        Some((known.usage, known.counted_at.elapsed()))
    }

    /// Records `usage` for `counted`, counted just now.
    pub(crate) fn insert(&mut self, counted: Counted, usage: Usage) {
        self.known.insert(
            counted,
            Known {
                usage,
                counted_at: Instant::now(),
            },
        );
    }

    /// Applies a commit's changes to the usage already known.
    pub(crate) fn apply(&mut self, deltas: &[Delta]) {
        for delta in deltas {
            if let Some(known) = self.known.get_mut(&delta.counted) {
                known.usage = delta.applied_to(known.usage);
            }
        }
    }
}
