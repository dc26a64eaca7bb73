//! The expiry index: for each envelope waiting in a queue or an outbox, a key
//! `expires_at_ms(u64 BE) ‖ place ‖ item key` with an empty value, so that the expiry sweep
//! reads the envelopes past their expiry and nothing else.
//!
//! Why: the sweep runs every minute. Reading every queued item to find the lapsed ones pulled
//! the whole queue through sled's page cache, whose bound is only a hint: with 100,000 queued
//! 8 KiB envelopes the broker went from 60 MiB to 570 MiB resident at the first sweep, and
//! stayed there.
//!
//! An entry is written in the transaction that queues its envelope and removed in the one
//! that delivers it; the other ways an item leaves (expired, set aside, relayed) leave their
//! entry behind, and the sweep that reaches its time finds no item under it and removes it.
//! So the index may name an item that is gone, never miss one that is there. A store made
//! before the index has it built when it opens (one pass over the queues and outboxes,
//! logged), marked by [`BUILT`] in the default tree.

use super::StoreError;
use crate::store::counted::{Tree, header};

/// The index's tree.
pub(super) const TREE: &str = "expiry";

/// The default tree's key that says the index was built (its value: the version).
const BUILT: &[u8] = b"expiry-index";
/// The index's version.
const VERSION: &[u8] = b"1";

/// The byte that says where an item waits: with the same expiry, queues come first.
fn place(tree: Tree) -> u8 {
    match tree {
        Tree::Queue => 1,
        Tree::Outbox => 2,
    }
}

/// The index key of the item under `item_key` in `tree`, expiring at `expires_at_ms`.
pub(super) fn key(expires_at_ms: u64, tree: Tree, item_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(9 + item_key.len());
    key.extend_from_slice(&expires_at_ms.to_be_bytes());
    key.push(place(tree));
    key.extend_from_slice(item_key);
    key
}

/// The entries of `index` expiring at or before `now_ms`, earliest first.
pub(super) fn due(index: &sled::Tree, now_ms: u64) -> sled::Iter {
    match now_ms.checked_add(1) {
        Some(after) => index.range(..after.to_be_bytes()),
        None => index.range::<&[u8], _>(..),
    }
}

/// An index key's tree and item key; `None` for a key not made by [`key`].
pub(super) fn parse(key: &[u8]) -> Option<(Tree, &[u8])> {
    let tree = match key.get(8)? {
        1 => Tree::Queue,
        2 => Tree::Outbox,
        _ => return None,
    };
    Some((tree, key.get(9..)?))
}

/// The index key of a stored item, from its value; `None` for an item without an envelope
/// (a receipt), which never expires.
pub(super) fn of_item(
    tree: Tree,
    item_key: &[u8],
    value: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(header(tree, value)?.map(|h| key(h.expires_at_ms, tree, item_key)))
}

/// Builds the index unless the store has it: one pass over the queues and outboxes, then the
/// mark, flushed.
pub(super) fn ensure(
    db: &sled::Db,
    index: &sled::Tree,
    queue: &sled::Tree,
    outbox: &sled::Tree,
) -> Result<(), StoreError> {
    if db.get(BUILT)?.as_deref() == Some(VERSION) {
        return Ok(());
    }
    tracing::info!("building the expiry index of queued envelopes");
    let mut indexed = 0u64;
    for (tree, items) in [(Tree::Queue, queue), (Tree::Outbox, outbox)] {
        for item in items.iter() {
            let (item_key, value) = item?;
            if let Some(key) = of_item(tree, &item_key, &value)? {
                index.insert(key, &[])?;
                indexed += 1;
            }
        }
    }
    db.insert(BUILT, VERSION)?;
    db.flush()?;
    tracing::info!(indexed, "built the expiry index of queued envelopes");
    Ok(())
}
