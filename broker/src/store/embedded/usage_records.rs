//! The quotas' usage, kept on disk: for each recipient with items queued and each peer broker
//! whose nodes have envelopes waiting here, one record of how many items and bytes, so that
//! the first quota check after a start reads one record instead of the whole queue.
//!
//! Why: the usage in memory ([`crate::store::counted::Counters`]) is counted from the stored
//! state the first time it is asked for. With 100,000 queued 8 KiB envelopes that first count,
//! for the queue's recipient or for any peer (whose count reads every queue), pulled 800 MB
//! through sled's page cache, whose bound is only a hint, at the first submission after a
//! restart.
//!
//! Records are written by the writer, in the transaction of the batch whose changes they
//! count (each change records its [`Delta`]s), so they never disagree with the queues, not
//! even after a crash. A store made before them has them counted when it opens (one pass over
//! the queues, logged), marked by [`BUILT`] in the default tree.

use std::collections::HashMap;

use sled::transaction::TransactionalTree;
use trm_proto::addr::NodeAddr;

use super::StoreError;
use super::writer::Abort;
use crate::store::Usage;
use crate::store::counted::{self, Counted, Delta};

/// The records' tree.
pub(super) const TREE: &str = "usage";

/// The default tree's key that says the records were counted.
const BUILT: &[u8] = b"usage-records";

/// The record key of what `counted` counts.
fn key(counted: &Counted) -> Vec<u8> {
    match counted {
        Counted::Queue(recipient) => [b"q\0", recipient.as_str().as_bytes()].concat(),
        Counted::Peer(broker) => [b"p\0", broker.as_str().as_bytes()].concat(),
    }
}

fn encode(usage: Usage) -> [u8; 16] {
    let mut record = [0u8; 16];
    let (items, bytes) = record.split_at_mut(8);
    items.copy_from_slice(&usage.items.to_be_bytes());
    bytes.copy_from_slice(&usage.bytes.to_be_bytes());
    record
}

fn decode(record: &[u8]) -> Result<Usage, StoreError> {
    let (items, bytes) = record
        .split_first_chunk::<8>()
        .and_then(|(items, rest)| Some((items, <&[u8; 8]>::try_from(rest).ok()?)))
        .ok_or_else(|| super::corrupt(TREE, "a usage record is not 16 bytes"))?;
    Ok(Usage {
        items: u64::from_be_bytes(*items),
        bytes: u64::from_be_bytes(*bytes),
    })
}

/// The usage of `counted` as recorded (none when there is no record).
pub(super) fn read(records: &sled::Tree, counted: &Counted) -> Result<Usage, StoreError> {
    records
        .get(key(counted))?
        .map_or(Ok(Usage::default()), |record| decode(&record))
}

/// In the writer's transaction: applies a batch's `deltas` to the records. A record that
/// does not decode is logged and counted from nothing: a quota that counts too little until the
/// queue drains is better than refusing every batch that touches it.
pub(super) fn apply(records: &TransactionalTree, deltas: &[Delta]) -> Result<(), Abort> {
    let mut changed: HashMap<&Counted, Usage> = HashMap::new();
    for delta in deltas {
        let usage = match changed.get(delta.counted()) {
            Some(usage) => *usage,
            None => match records.get(key(delta.counted()))? {
                Some(record) => decode(&record).unwrap_or_else(|e| {
                    tracing::error!(counted = ?delta.counted(), cause = %e, "a quota usage record is damaged; counting it afresh from this change");
                    Usage::default()
                }),
                None => Usage::default(),
            },
        };
        changed.insert(delta.counted(), delta.applied_to(usage));
    }
    for (counted, usage) in changed {
        if usage == Usage::default() {
            records.remove(key(counted))?;
        } else {
            records.insert(key(counted), &encode(usage))?;
        }
    }
    Ok(())
}

/// Counts the records from the queues unless the store has them: one pass, then the mark,
/// flushed. Before the writer starts.
pub(super) fn ensure(
    db: &sled::Db,
    records: &sled::Tree,
    queue: &sled::Tree,
) -> Result<(), StoreError> {
    if db.get(BUILT)?.is_some() {
        return Ok(());
    }
    tracing::info!("counting the queues for the quotas' usage records");
    records.clear()?;
    let mut deltas = Vec::new();
    let mut usage: HashMap<Counted, Usage> = HashMap::new();
    for item in queue.iter() {
        let (item_key, value) = item?;
        let recipient = recipient_of(&item_key)?;
        counted::queued(&mut deltas, &recipient, &value, true);
        for delta in deltas.drain(..) {
            let now = usage.get(delta.counted()).copied().unwrap_or_default();
            usage.insert(delta.counted().clone(), delta.applied_to(now));
        }
    }
    for (counted, usage) in &usage {
        records.insert(key(counted), &encode(*usage))?;
    }
    db.insert(BUILT, &[])?;
    db.flush()?;
    tracing::info!(
        counted = usage.len(),
        "counted the queues for the quotas' usage records"
    );
    Ok(())
}

/// The recipient of the queue item under `item_key` (`recipient NUL sequence`).
fn recipient_of(item_key: &[u8]) -> Result<NodeAddr, StoreError> {
    let (name, _) = super::usage::split("queue", item_key)?;
    name.parse()
        .map_err(|_| super::corrupt("queue", "key does not name a node"))
}
