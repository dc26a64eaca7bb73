//! The handover log: the node's append-only, hash-chained record of every handover.
//!
//! Each entry is a [`pb::LogEntry`] (metadata only: event, time, counterparty, case reference,
//! digests, audit flags; never names or content). Entry `n` records the hash of entry `n - 1`,
//! and a head record holds the hash of the last entry, so changing, removing or inserting an
//! entry breaks the chain at a point the store's verification can name.
//!
//! # Format
//!
//! The store keeps each entry's encoded protobuf bytes under its index, and a head record (the
//! number of entries and the hash of the last one); see `crate::store`. These bytes are what is
//! hashed: they are stored once and never re-encoded, because protobuf encoding is not
//! canonical and a re-encoding could hash differently.
//!
//! An entry's hash is `SHA-256("trm/log-entry/v1" || entry bytes)` ([`entry_hash`]). The bytes
//! include the entry's own `index` and `prev_hash` (the hash of the previous entry, 32 zero
//! bytes for entry 0), so an entry cannot be moved to another position unnoticed.
//!
//! **Architecture Invariant:** the log has no delete or rewrite path: the store reaches it only
//! through an append-only handle, whose append refuses to overwrite an existing entry.
//!
//! A local chain cannot detect a truncation that also rewrites the head record consistently:
//! that is what signed checkpoints witnessed by other organisations are for.

use prost::Message;
use sha2::{Digest, Sha256};
use trm_proto::pb;

/// The SHA-256 hash of an entry, as defined by [`entry_hash`].
pub type EntryHash = [u8; 32];

/// The domain-separation prefix of entry hashes.
const HASH_DOMAIN: &[u8] = b"trm/log-entry/v1";

/// The `prev_hash` of entry 0, and the head of an empty log.
pub(crate) const ZERO_HASH: EntryHash = [0; 32];

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

/// The state of a log that verification found intact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    /// How many entries the log holds.
    pub entries: u64,
    /// The hash of the last entry (32 zero bytes for an empty log).
    pub head: EntryHash,
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

/// The hash of an entry's stored bytes: `SHA-256("trm/log-entry/v1" || bytes)`.
pub fn entry_hash(bytes: &[u8]) -> EntryHash {
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(bytes);
    hasher.finalize().into()
}

/// Checks a log given as its entries' stored bytes in order from entry 0, such as an exported
/// bundle, as the store checks the stored log, except that there is no head record: an
/// exported log's end is vouched for by its signed checkpoint instead.
///
/// `visit` sees each entry, decoded, once it is known to chain onto the ones before it. On
/// failure, names the entry that was changed, is missing or is out of place, with the same
/// reasoning as the stored log's verification; when the last entry's record of its predecessor does not match,
/// nothing after it tells which of the two changed, and the predecessor is named.
pub fn verify_entries<B: AsRef<[u8]>>(
    entries: &[B],
    mut visit: impl FnMut(&pb::LogEntry),
) -> Result<ChainSummary, LogError> {
    let mut last = ZERO_HASH;
    for (position, bytes) in entries.iter().enumerate() {
        let index = position as u64;
        let bytes = bytes.as_ref();
        let entry = pb::LogEntry::decode(bytes)
            .map_err(|e| broken(index, format!("entry {index} cannot be decoded: {e}")))?;
        if entry.index > index {
            return Err(missing(index, entry.index));
        }
        if entry.index < index {
            return Err(broken(
                index,
                format!(
                    "entry {index} is out of place: it says it is entry {}",
                    entry.index
                ),
            ));
        }
        let hash = entry_hash(bytes);
        if entry.prev_hash != last {
            let Some(previous) = index.checked_sub(1) else {
                return Err(broken(
                    0,
                    "entry 0 must record 32 zero bytes as the previous hash",
                ));
            };
            return Err(match entries.get(position + 1) {
                Some(next) if recorded_previous(next.as_ref(), index) == Some(hash) => broken(
                    previous,
                    format!("entry {previous} does not match the hash recorded by entry {index}"),
                ),
                Some(_) => broken(
                    index,
                    format!(
                        "entry {index} records a previous hash that does not match entry \
                         {previous}, and its own hash does not match entry {}",
                        index + 1
                    ),
                ),
                None => broken(
                    previous,
                    format!(
                        "entry {previous} does not match the hash recorded by entry {index}, \
                         the last entry (or entry {index}'s record of it was changed)"
                    ),
                ),
            });
        }
        visit(&entry);
        last = hash;
    }
    Ok(ChainSummary {
        entries: entries.len() as u64,
        head: last,
    })
}

/// The `prev_hash` that the entry `bytes` records, if it decodes and says it is entry
/// `predecessor + 1` (an exported log has no keys, so the entry's own index stands in).
fn recorded_previous(bytes: &[u8], predecessor: u64) -> Option<EntryHash> {
    let entry = pb::LogEntry::decode(bytes).ok()?;
    if Some(entry.index) != predecessor.checked_add(1) {
        return None;
    }
    entry.prev_hash.as_slice().try_into().ok()
}

/// Decodes the entry stored at `index` and checks that it says it is entry `index`.
pub(crate) fn decode(index: u64, bytes: &[u8]) -> Result<pb::LogEntry, LogError> {
    let entry = pb::LogEntry::decode(bytes)
        .map_err(|e| broken(index, format!("entry {index} cannot be decoded: {e}")))?;
    if entry.index != index {
        return Err(broken(
            index,
            format!(
                "entry {index} is stored at index {index} but says it is entry {}",
                entry.index
            ),
        ));
    }
    Ok(entry)
}

/// A [`LogError::Broken`] for entry `index`.
pub(crate) fn broken(index: u64, problem: impl Into<String>) -> LogError {
    LogError::Broken {
        index,
        problem: problem.into(),
    }
}

/// A [`LogError::Broken`] for the missing entry `expected`, found while expecting it at `next`.
pub(crate) fn missing(expected: u64, next: u64) -> LogError {
    broken(
        expected,
        format!("entry {expected} is missing (the next stored entry is {next})"),
    )
}
