//! The handover log as the node keeps it: the node's append-only, hash-chained record of every
//! handover.
//!
//! Each entry is a [`pb::LogEntry`] (metadata only: event, time, counterparty, case reference,
//! digests, audit flags; never names or content). Entry `n` records the hash of entry `n - 1`,
//! and a head record holds the hash of the last entry, so changing, removing or inserting an
//! entry breaks the chain at a point the store's verification can name.
//!
//! The format itself (the entry hash `SHA-256("trm/log-entry/v1" || entry bytes)`, decoding,
//! and the check of a chain of entry bytes) is [`trm_log::entry`]; the store keeps each entry's
//! exact bytes under its index with a head record (`crate::store`). This module holds the types
//! the node's other modules see.
//!
//! **Architecture Invariant:** the log has no delete or rewrite path: the store reaches it only
//! through an append-only handle, whose append refuses to overwrite an existing entry.
//!
//! A local chain cannot detect a truncation that also rewrites the head record consistently:
//! that is what signed checkpoints witnessed by other organisations are for.

use trm_log::entry::ChainError;
pub(crate) use trm_log::entry::ZERO_HASH;
pub use trm_log::entry::{ChainSummary, EntryHash, entry_hash, verify_entries};
use trm_proto::pb;

/// Where an append put an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The entry's position in the log, from 0.
    pub index: u64,
    /// The entry's hash, which the next entry will record.
    pub hash: EntryHash,
}

/// An entry as the store read it from disk.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEntry {
    /// The decoded entry.
    pub entry: pb::LogEntry,
    /// The hash of `bytes`.
    pub hash: EntryHash,
    /// The stored bytes, exactly as hashed.
    pub bytes: Vec<u8>,
}

/// Why the log could not be read or verified.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Entry `index` is not what the chain says it should be.
    #[error("handover log entry {index} is corrupt: {problem}")]
    Broken {
        /// The entry that was changed, is missing, or should not be there.
        index: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The storage engine failed.
    #[error("handover log storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<ChainError> for LogError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Broken { index, problem } => Self::Broken { index, problem },
        }
    }
}

/// Decodes the entry stored at `index` and checks that it says it is entry `index`.
pub(crate) fn decode(index: u64, bytes: &[u8]) -> Result<pb::LogEntry, LogError> {
    Ok(trm_log::entry::decode(index, bytes)?)
}

/// A [`LogError::Broken`] for entry `index`.
pub(crate) fn broken(index: u64, problem: impl Into<String>) -> LogError {
    ChainError::broken(index, problem).into()
}

/// A [`LogError::Broken`] for the missing entry `expected`, found while expecting it at `next`.
pub(crate) fn missing(expected: u64, next: u64) -> LogError {
    ChainError::missing(expected, next).into()
}

/// The node's own names for the case tags in its entries, so `trm log` shows the node's people
/// the case reference they know: the reference an entry of earlier versions holds, else the
/// one the entry's message names when its tag under the log key is the entry's (one read per
/// entry), else, for an entry about no message it holds, the reference among all its cases
/// with that tag (every case read, once per listing), else `tag-` and the tag's hex digits for
/// a case the node no longer holds. A listing costs the same however many cases the node holds,
/// unless it shows such an entry.
pub struct CaseNames<'a> {
    store: &'a crate::store::NodeStore,
    own: String,
    key: trm_log::pseudonym::LogKey,
    /// Every case's reference by its tag, read at the first entry that needs it.
    all: Option<std::collections::HashMap<Vec<u8>, String>>,
}

impl<'a> CaseNames<'a> {
    /// Names for the entries of `store`, the store of node `own`.
    pub fn new(
        store: &'a crate::store::NodeStore,
        own: &str,
    ) -> Result<Self, crate::store::StoreError> {
        Ok(Self {
            store,
            own: own.to_owned(),
            key: store.log_key()?,
            all: None,
        })
    }

    /// How `entry`'s case is shown.
    pub fn shown(&mut self, entry: &pb::LogEntry) -> Result<String, crate::store::StoreError> {
        if !entry.case_ref.is_empty() || entry.case_tag.is_empty() {
            return Ok(entry.case_ref.clone());
        }
        if !entry.message_id.is_empty() {
            // Sent messages are stored under this node's address, received ones under the
            // sender's: the entry's counterparty.
            for from in [self.own.as_str(), entry.counterparty.as_str()] {
                let key = crate::store::message_key(from, &entry.message_id);
                let stored = match self.store.stored_message(&key) {
                    Ok(stored) => stored,
                    Err(crate::store::StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                if let Some(summary) = stored.summary
                    && trm_log::pseudonym::case_tag(&self.key, &summary.case_ref) == entry.case_tag
                {
                    return Ok(summary.case_ref);
                }
            }
        }
        let all = match &mut self.all {
            Some(all) => all,
            None => self.all.insert(every_case(self.store, &self.key)?),
        };
        Ok(all
            .get(&entry.case_tag)
            .cloned()
            .unwrap_or_else(|| format!("tag-{}", trm_log::pseudonym::hex(&entry.case_tag))))
    }
}

/// Each case reference `store` holds, by its tag under `key`.
fn every_case(
    store: &crate::store::NodeStore,
    key: &trm_log::pseudonym::LogKey,
) -> Result<std::collections::HashMap<Vec<u8>, String>, crate::store::StoreError> {
    let mut tags = std::collections::HashMap::new();
    for case in store.each_case()? {
        if let Some(summary) = case?.summary {
            tags.insert(
                trm_log::pseudonym::case_tag(key, &summary.case_ref),
                summary.case_ref,
            );
        }
    }
    Ok(tags)
}
