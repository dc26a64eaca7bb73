//! The inbox's order, kept as an index: the newest received messages are read by themselves,
//! not by decoding every message the node holds (each with its stored content).
//!
//! One tree, [`TREE`], one record per received message under its arrival time
//! ([`newest_first`]), written in the transaction that stores the message. A received message
//! is stored once and never removed (an erasure empties its content and keeps its record), so
//! its record never moves. A store made before the index has it built when it opens, marked
//! by [`BUILT`].

use prost::Message as _;
use trm_proto::pb;

use super::combine::{Abort, Trees};
use super::{INCOMING, NodeStore, StoreError, corrupt, newest_first};

/// The index's tree.
pub(super) const TREE: &str = "received_order";

/// The default tree's key that says the index is built.
pub(super) const BUILT: &[u8] = b"received-order-index";

/// The tree the index orders.
const MESSAGES: &str = "messages";

/// In a transaction: the record of the message under `message_key`, received at
/// `received_at_ms`.
pub(super) fn add(t: &Trees<'_>, received_at_ms: u64, message_key: &[u8]) -> Result<(), Abort> {
    t.received_order
        .insert(newest_first::record(received_at_ms, message_key), &[])?;
    Ok(())
}

/// Builds the index unless it is built (see [`newest_first::build`]).
pub(super) fn ensure(
    db: &sled::Db,
    index: &sled::Tree,
    messages: &sled::Tree,
) -> Result<(), StoreError> {
    newest_first::build(db, index, messages, BUILT, "received messages", |value| {
        let stored = pb::StoredMessage::decode(value).map_err(|e| corrupt(MESSAGES, e))?;
        Ok((stored.direction == INCOMING).then(|| stored.summary.map_or(0, |s| s.received_at_ms)))
    })
}

impl NodeStore {
    /// The `limit` most recently received messages, newest first.
    pub fn inbox(&self, limit: usize) -> Result<Vec<pb::MessageSummary>, StoreError> {
        let engine = self.engine()?;
        let mut found = Vec::with_capacity(limit.min(1_000));
        for item in engine.received_order.iter() {
            if found.len() >= limit {
                break;
            }
            let (record, _) = item?;
            let Some((_, message_key)) = newest_first::parse(&record) else {
                return Err(corrupt(TREE, "a record shorter than its time"));
            };
            let Some(value) = engine.messages.get(message_key)? else {
                continue;
            };
            let stored =
                pb::StoredMessage::decode(value.as_ref()).map_err(|e| corrupt(MESSAGES, e))?;
            found.extend(stored.summary);
        }
        Ok(found)
    }
}
