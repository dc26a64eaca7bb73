//! Handover-log entries and their hash chain, independent of where the entries are stored.
//!
//! Each entry is a [`pb::LogEntry`] (metadata only: event, time, counterparty, case reference,
//! digests, audit flags; never names or content), kept as the exact protobuf bytes it was first
//! encoded to: protobuf encoding is not canonical, so a re-encoding could hash differently.
//!
//! An entry's hash is `SHA-256("trm/log-entry/v1" || entry bytes)` ([`entry_hash`]). The bytes
//! include the entry's own `index` and `prev_hash` (the hash of the previous entry, 32 zero
//! bytes for entry 0), so an entry cannot be moved to another position unnoticed.
//! [`verify_entries`] checks a chain given as its entries' bytes, such as an exported bundle;
//! the node checks its stored log the same way, plus its head record.

use prost::Message;
use sha2::{Digest, Sha256};
use trm_proto::pb;

/// The SHA-256 hash of an entry, as defined by [`entry_hash`].
pub type EntryHash = [u8; 32];

/// The domain-separation prefix of entry hashes.
pub const HASH_DOMAIN: &[u8] = b"trm/log-entry/v1";

/// The `prev_hash` of entry 0, and the head of an empty log.
pub const ZERO_HASH: EntryHash = [0; 32];

/// The state of a chain that verified intact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    /// How many entries the log holds.
    pub entries: u64,
    /// The hash of the last entry (32 zero bytes for an empty log).
    pub head: EntryHash,
}

/// Why a chain of entries does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Entry `index` is not what the chain says it should be.
    #[error("handover log entry {index} is corrupt: {problem}")]
    Broken {
        /// The entry that was changed, is missing, or should not be there.
        index: u64,
        /// What is wrong with it.
        problem: String,
    },
}

impl ChainError {
    /// A [`ChainError::Broken`] for entry `index`.
    pub fn broken(index: u64, problem: impl Into<String>) -> Self {
        Self::Broken {
            index,
            problem: problem.into(),
        }
    }

    /// A [`ChainError::Broken`] for the missing entry `expected`, found while expecting it at
    /// `next`.
    pub fn missing(expected: u64, next: u64) -> Self {
        Self::broken(
            expected,
            format!("entry {expected} is missing (the next stored entry is {next})"),
        )
    }
}

/// The hash of an entry's stored bytes: `SHA-256("trm/log-entry/v1" || bytes)`.
pub fn entry_hash(bytes: &[u8]) -> EntryHash {
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(bytes);
    hasher.finalize().into()
}

/// Decodes the entry stored at `index` and checks that it says it is entry `index`.
pub fn decode(index: u64, bytes: &[u8]) -> Result<pb::LogEntry, ChainError> {
    let entry = pb::LogEntry::decode(bytes)
        .map_err(|e| ChainError::broken(index, format!("entry {index} cannot be decoded: {e}")))?;
    if entry.index != index {
        return Err(ChainError::broken(
            index,
            format!(
                "entry {index} is stored at index {index} but says it is entry {}",
                entry.index
            ),
        ));
    }
    Ok(entry)
}

/// The `prev_hash` that the entry `bytes` records, if it decodes and says it is entry
/// `predecessor + 1`.
pub fn recorded_previous(bytes: &[u8], predecessor: u64) -> Option<EntryHash> {
    let entry = pb::LogEntry::decode(bytes).ok()?;
    if Some(entry.index) != predecessor.checked_add(1) {
        return None;
    }
    entry.prev_hash.as_slice().try_into().ok()
}

/// Checks a log given as its entries' stored bytes in order from entry 0, such as an exported
/// bundle, as the node checks its stored log, except that there is no head record: an
/// exported log's end is vouched for by its signed checkpoint instead.
///
/// `visit` sees each entry, decoded, once it is known to chain onto the ones before it. On
/// failure, names the entry that was changed, is missing or is out of place: a changed entry's
/// hash no longer matches what its successor recorded for it, and if the change is in its own
/// `prev_hash`, it no longer matches its predecessor either; the second symptom tells the two
/// cases apart. When the last entry's record of its predecessor does not match, nothing after
/// it tells which of the two changed, and the predecessor is named.
pub fn verify_entries<B: AsRef<[u8]>>(
    entries: &[B],
    mut visit: impl FnMut(&pb::LogEntry),
) -> Result<ChainSummary, ChainError> {
    let mut last = ZERO_HASH;
    for (position, bytes) in entries.iter().enumerate() {
        let index = position as u64;
        let bytes = bytes.as_ref();
        let entry = pb::LogEntry::decode(bytes).map_err(|e| {
            ChainError::broken(index, format!("entry {index} cannot be decoded: {e}"))
        })?;
        if entry.index > index {
            return Err(ChainError::missing(index, entry.index));
        }
        if entry.index < index {
            return Err(ChainError::broken(
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
                return Err(ChainError::broken(
                    0,
                    "entry 0 must record 32 zero bytes as the previous hash",
                ));
            };
            return Err(match entries.get(position + 1) {
                Some(next) if recorded_previous(next.as_ref(), index) == Some(hash) => {
                    ChainError::broken(
                        previous,
                        format!(
                            "entry {previous} does not match the hash recorded by entry {index}"
                        ),
                    )
                }
                Some(_) => ChainError::broken(
                    index,
                    format!(
                        "entry {index} records a previous hash that does not match entry \
                         {previous}, and its own hash does not match entry {}",
                        index + 1
                    ),
                ),
                None => ChainError::broken(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::sample;

    /// Tests return `Result` so that `?` names the failing step.
    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// The bytes of `n` entries chained as the node appends them.
    fn chain(n: u64) -> Vec<Vec<u8>> {
        let mut previous = ZERO_HASH;
        (0..n)
            .map(|index| {
                let mut entry = sample(index);
                entry.index = index;
                entry.prev_hash = previous.to_vec();
                let bytes = entry.encode_to_vec();
                previous = entry_hash(&bytes);
                bytes
            })
            .collect()
    }

    fn broken_index(result: Result<ChainSummary, ChainError>) -> Result<u64, String> {
        match result {
            Err(ChainError::Broken { index, .. }) => Ok(index),
            other => Err(format!("expected a broken chain, got {other:?}")),
        }
    }

    #[test]
    fn hashes_cover_the_domain_and_the_stored_bytes() {
        let bytes = sample(1).encode_to_vec();
        let expected: EntryHash = Sha256::new()
            .chain_update(b"trm/log-entry/v1")
            .chain_update(&bytes)
            .finalize()
            .into();
        assert_eq!(entry_hash(&bytes), expected);
        assert_ne!(entry_hash(&bytes), <[u8; 32]>::from(Sha256::digest(&bytes)));
    }

    #[test]
    fn an_exported_log_verifies_and_visits_every_entry() -> TestResult {
        let bytes = chain(20);
        let mut visited = Vec::new();
        let summary = verify_entries(&bytes, |e| visited.push(e.index))?;
        assert_eq!(summary.entries, 20);
        assert_eq!(summary.head, entry_hash(&bytes[19]));
        assert_eq!(visited, (0..20).collect::<Vec<_>>());
        let empty: [&[u8]; 0] = [];
        assert_eq!(verify_entries(&empty, |_| ())?.entries, 0);
        Ok(())
    }

    #[test]
    fn any_changed_byte_of_an_exported_entry_with_a_successor_is_named() -> TestResult {
        const ENTRIES: u64 = 12;
        let original = chain(ENTRIES);
        for k in [0, ENTRIES / 2, ENTRIES - 2] {
            let k = k as usize;
            for position in 0..original[k].len() {
                for mask in [0x01u8, 0x20, 0x80, 0xff] {
                    let mut tampered = original.clone();
                    tampered[k][position] ^= mask;
                    let index = broken_index(verify_entries(&tampered, |_| ()))?;
                    assert_eq!(
                        index, k as u64,
                        "byte {position} of entry {k} xor {mask:#04x}"
                    );
                }
            }
        }
        Ok(())
    }

    #[test]
    fn an_entry_removed_from_an_export_is_named() -> TestResult {
        let original = chain(8);
        for k in [0, 4] {
            let mut removed = original.clone();
            removed.remove(k);
            match verify_entries(&removed, |_| ()) {
                Err(ChainError::Broken { index, problem }) => {
                    assert_eq!(index, k as u64);
                    assert!(problem.contains("missing"), "{problem}");
                }
                other => panic!("removing entry {k}: {other:?}"),
            }
        }
        // The last one leaves a shorter, intact chain: only a checkpoint shows it.
        let mut truncated = original.clone();
        truncated.pop();
        assert_eq!(verify_entries(&truncated, |_| ())?.entries, 7);
        // An entry moved to another place is named where it does not belong.
        let mut swapped = original.clone();
        swapped.swap(2, 3);
        assert_eq!(broken_index(verify_entries(&swapped, |_| ()))?, 2);
        Ok(())
    }

    #[test]
    fn decode_names_an_entry_stored_out_of_place() {
        let bytes = chain(2);
        assert!(decode(1, &bytes[1]).is_ok());
        assert!(matches!(
            decode(0, &bytes[1]),
            Err(ChainError::Broken { index: 0, .. })
        ));
    }
}
