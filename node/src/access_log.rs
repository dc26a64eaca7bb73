//! The access log: who read which message's decrypted content, when and how. It stays in the
//! node (it is the organisation's own record of its people, not shared with partners) and is
//! hash-chained like the handover log, so that an entry changed or removed afterwards shows.
//!
//! Each entry's hash is SHA-256 over a domain tag, the previous entry's hash (32 zero bytes for
//! the first) and the entry's fields, each length-prefixed:
//! `"trm access log v1\0" || prev_hash || index (u64 BE) || at_ms (u64 BE) || len(account) ||
//! account || len(message_id) || message_id || len(what) || what`, lengths as `u32` BE.
//! [`verify`] recomputes the chain and checks it ends at the stored head (so that a removed
//! tail shows too). An entry is on disk before the content it records is returned.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"trm access log v1\0";

/// One read of decrypted content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessEntry {
    /// Position in the log, from 0.
    pub index: u64,
    /// When, Unix ms.
    pub at_ms: u64,
    /// The reader's pseudonymous account id (or token id, or `host-admin`).
    pub account: String,
    /// The message read.
    pub message_id: String,
    /// How: `show`, `case`, `export`...
    pub what: String,
    /// The previous entry's hash, hex (64 zeros for the first).
    pub prev_hash: String,
    /// This entry's hash, hex.
    pub hash: String,
}

/// The last entry's index and hash, stored beside the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessHead {
    /// The last entry's index.
    pub index: u64,
    /// The last entry's hash, hex.
    pub hash: String,
}

impl AccessEntry {
    /// The head this entry makes.
    pub fn head(&self) -> AccessHead {
        AccessHead {
            index: self.index,
            hash: self.hash.clone(),
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSummary {
    /// How many entries.
    pub entries: u64,
    /// The last entry's hash, hex (empty for an empty log).
    pub head: String,
}

/// Where the chain breaks.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("access log entry {index}: {problem}")]
pub struct AccessLogBroken {
    /// The first entry that does not verify.
    pub index: u64,
    /// What is wrong, in words.
    pub problem: String,
}

fn field(hasher: &mut Sha256, value: &str) {
    let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
    hasher.update(len.to_be_bytes());
    hasher.update(value.as_bytes());
}

/// The hash of an entry's fields after `prev_hash` (hex).
pub fn entry_hash(
    prev_hash: &str,
    index: u64,
    at_ms: u64,
    account: &str,
    message_id: &str,
    what: &str,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    hasher.update(hex::decode(prev_hash).unwrap_or_default());
    hasher.update(index.to_be_bytes());
    hasher.update(at_ms.to_be_bytes());
    field(&mut hasher, account);
    field(&mut hasher, message_id);
    field(&mut hasher, what);
    hex::encode(hasher.finalize())
}

/// The hash before the first entry.
pub fn genesis() -> String {
    hex::encode([0u8; 32])
}

/// The entry that follows `previous` (the first when `None`).
pub fn next(
    previous: Option<&AccessHead>,
    at_ms: u64,
    account: &str,
    message_id: &str,
    what: &str,
) -> AccessEntry {
    let (index, prev_hash) = match previous {
        Some(head) => (head.index.saturating_add(1), head.hash.clone()),
        None => (0, genesis()),
    };
    let hash = entry_hash(&prev_hash, index, at_ms, account, message_id, what);
    AccessEntry {
        index,
        at_ms,
        account: account.to_owned(),
        message_id: message_id.to_owned(),
        what: what.to_owned(),
        prev_hash,
        hash,
    }
}

/// Verifies a whole log, in order from its first entry, against its stored head.
pub fn verify<'a>(
    entries: impl IntoIterator<Item = &'a AccessEntry>,
    head: Option<&AccessHead>,
) -> Result<AccessSummary, AccessLogBroken> {
    let mut expected_prev = genesis();
    let mut count = 0u64;
    for entry in entries {
        let broken = |problem: &str| AccessLogBroken {
            index: entry.index,
            problem: problem.to_owned(),
        };
        if entry.index != count {
            return Err(broken(&format!("expected index {count}")));
        }
        if entry.prev_hash != expected_prev {
            return Err(broken("does not follow the entry before it"));
        }
        let hash = entry_hash(
            &entry.prev_hash,
            entry.index,
            entry.at_ms,
            &entry.account,
            &entry.message_id,
            &entry.what,
        );
        if hash != entry.hash {
            return Err(broken("its hash does not match its fields"));
        }
        expected_prev = hash;
        count = count.saturating_add(1);
    }
    match head {
        None if count == 0 => {}
        Some(head) if head.index.saturating_add(1) == count && head.hash == expected_prev => {}
        _ => {
            return Err(AccessLogBroken {
                index: count,
                problem: "the log does not end where its recorded head says".into(),
            });
        }
    }
    Ok(AccessSummary {
        entries: count,
        head: if count == 0 {
            String::new()
        } else {
            expected_prev
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AccessEntry> {
        let mut entries: Vec<AccessEntry> = Vec::new();
        for i in 0..n {
            let head = entries.last().map(AccessEntry::head);
            entries.push(next(head.as_ref(), i, "acc-1", &format!("m{i}"), "show"));
        }
        entries
    }

    #[test]
    fn an_intact_chain_verifies() {
        let entries = chain(5);
        let head = entries.last().map(AccessEntry::head);
        let summary = verify(&entries, head.as_ref());
        assert_eq!(summary.map(|s| s.entries), Ok(5));
        assert_eq!(verify(&[], None).map(|s| s.entries), Ok(0));
    }

    #[test]
    fn a_changed_removed_or_cut_entry_shows() {
        let entries = chain(5);
        let head = entries.last().map(AccessEntry::head);
        let mut changed = entries.clone();
        if let Some(e) = changed.get_mut(2) {
            e.account = "acc-2".into();
        }
        assert_eq!(verify(&changed, head.as_ref()).map_err(|e| e.index), Err(2));
        let mut removed = entries.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, head.as_ref()).map_err(|e| e.index), Err(1));
        let cut = entries.get(..4).unwrap_or_default();
        assert_eq!(verify(cut, head.as_ref()).map_err(|e| e.index), Err(4));
    }
}
