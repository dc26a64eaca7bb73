//! Idempotency keys for the requests that create a message: a key maps to the message the
//! first request with it created and a digest of that request, written in the same transaction
//! that stores and queues the message, so after a crash either both are there or neither is.
//! A repeated request with the key answers with that message instead of sending again; the key
//! with another request is refused.

use sha2::{Digest, Sha256};
use sled::transaction::TransactionalTree;

use super::combine::Abort;
use super::{StoreError, corrupt};

/// The tree holding the keys.
pub(super) const TREE: &str = "idempotency";

/// The shortest key accepted.
pub const MIN_KEY_LEN: usize = 16;
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 64;

/// A key that is not well formed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Too short or too long.
    #[error("must be {MIN_KEY_LEN} to {MAX_KEY_LEN} characters, got {0}")]
    Length(usize),
    /// A character outside `A-Z a-z 0-9 _ -`.
    #[error("may hold only letters A-Z and a-z, digits, '_' and '-', not {0:?}")]
    Character(char),
}

/// Checks that `key` is 16 to 64 characters of `[A-Za-z0-9_-]`.
pub fn check_key(key: &str) -> Result<(), KeyError> {
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(KeyError::Character(bad));
    }
    if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) {
        return Err(KeyError::Length(key.len()));
    }
    Ok(())
}

/// A request's claim on a key: the key and the digest of the request without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The key, already checked with [`check_key`].
    pub key: String,
    /// SHA-256 of the request's encoding, the key left out.
    pub request_digest: [u8; 32],
}

impl Claim {
    /// A claim on `key` by the request encoded as `request` (its key field cleared).
    pub fn new(key: String, request: &[u8]) -> Self {
        Self {
            key,
            request_digest: Sha256::digest(request).into(),
        }
    }
}

/// What a key's first request created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The digest of the request that used the key first.
    pub request_digest: [u8; 32],
    /// The message it created.
    pub message_id: String,
    /// That message's envelope digest.
    pub envelope_digest: [u8; 32],
    /// That message's SENT entry in the handover log.
    pub log_index: u64,
    /// When it was created (milliseconds since the epoch).
    pub at_ms: u64,
}

/// request digest, envelope digest, log index, time, then the message id.
const FIXED_LEN: usize = 32 + 32 + 8 + 8;

impl Recorded {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN + self.message_id.len());
        out.extend_from_slice(&self.request_digest);
        out.extend_from_slice(&self.envelope_digest);
        out.extend_from_slice(&self.log_index.to_be_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out.extend_from_slice(self.message_id.as_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let bad = || corrupt(TREE, "record too short");
        let (request_digest, rest) = bytes.split_first_chunk::<32>().ok_or_else(bad)?;
        let (envelope_digest, rest) = rest.split_first_chunk::<32>().ok_or_else(bad)?;
        let (log_index, rest) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
        let (at_ms, rest) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
        let message_id = String::from_utf8(rest.to_vec()).map_err(|e| corrupt(TREE, e))?;
        Ok(Self {
            request_digest: *request_digest,
            envelope_digest: *envelope_digest,
            log_index: u64::from_be_bytes(*log_index),
            at_ms: u64::from_be_bytes(*at_ms),
            message_id,
        })
    }
}

/// What a key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Never used: go ahead.
    Unused,
    /// Used for this very request: answer with what it created.
    Repeat(Recorded),
    /// Used for another request: refuse.
    Other,
}

/// Reads `claim`'s key from `tree` and compares the request.
pub(super) fn lookup(tree: &sled::Tree, claim: &Claim) -> Result<Lookup, StoreError> {
    let Some(value) = tree.get(claim.key.as_bytes())? else {
        return Ok(Lookup::Unused);
    };
    let recorded = Recorded::decode(&value)?;
    Ok(if recorded.request_digest == claim.request_digest {
        Lookup::Repeat(recorded)
    } else {
        Lookup::Other
    })
}

/// Inside the transaction that stores a sent message: records `recorded` under `claim`'s key,
/// or aborts with [`StoreError::IdempotencyKeyTaken`] when a request committed under the key
/// meanwhile (the caller then looks the key up again).
pub(super) fn record(
    tree: &TransactionalTree,
    claim: &Claim,
    recorded: &Recorded,
) -> Result<(), Abort> {
    if tree.get(claim.key.as_bytes())?.is_some() {
        return Err(Abort::Abort(StoreError::IdempotencyKeyTaken));
    }
    tree.insert(claim.key.as_bytes(), recorded.encode())?;
    Ok(())
}

/// Removes the keys recorded before `before_ms`; returns how many. A key whose record does
/// not decode goes too: it could only ever refuse.
pub(super) fn prune(tree: &sled::Tree, before_ms: u64) -> Result<usize, StoreError> {
    let mut removed = 0;
    for item in tree.iter() {
        let (key, value) = item?;
        let old = Recorded::decode(&value).map_or(true, |r| r.at_ms < before_ms);
        // Only if unchanged since read.
        if old
            && tree
                .compare_and_swap(&key, Some(value), None::<&[u8]>)?
                .is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_for_length_and_characters() {
        assert_eq!(check_key("abcdefghijklmnop"), Ok(()));
        assert_eq!(check_key(&"a_-9".repeat(16)), Ok(()));
        assert_eq!(check_key("short"), Err(KeyError::Length(5)));
        assert_eq!(check_key(&"a".repeat(65)), Err(KeyError::Length(65)));
        assert_eq!(
            check_key("abcdefghijklmnop q"),
            Err(KeyError::Character(' '))
        );
    }

    #[test]
    fn a_record_decodes_to_what_was_encoded() -> Result<(), StoreError> {
        let recorded = Recorded {
            request_digest: [1; 32],
            message_id: "0123abcd".into(),
            envelope_digest: [2; 32],
            log_index: 7,
            at_ms: 9,
        };
        assert_eq!(Recorded::decode(&recorded.encode())?, recorded);
        assert!(Recorded::decode(&[0; 10]).is_err());
        Ok(())
    }
}
