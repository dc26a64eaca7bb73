//! The handover log as the store keeps it: one tree of the database, [`TREE`], with two kinds
//! of keys:
//!
//! - `b"e" ++ index` (index as `u64` big-endian, so keys sort in log order): the entry's encoded
//!   protobuf bytes, exactly as hashed ([`crate::handover_log::entry_hash`]).
//! - `b"h"`: the head record, 40 bytes: the number of entries (`u64` big-endian) followed by
//!   the hash of the last entry. An empty log has no head record.
//! - `b"k"`: the node's secret log key (32 random bytes), made with the first entry that names a
//!   case (or the first export): entries hold the case reference's keyed tag under it, never
//!   the reference ([`trm_log::pseudonym`]), and exports derive audience pseudonyms from it.
//!
//! The tree is reachable only through [`Log`] (read and verify) and [`LogAppender`] (append,
//! inside a change of [`super::combine`]): neither has a way to rewrite or delete an entry.
//!
//! **Architecture Invariant:** this module has no delete or rewrite path. [`append`] is the only
//! function that writes, and it refuses to overwrite an existing entry.

mod check;

use prost::Message;
use sled::transaction::{TransactionalTree, UnabortableTransactionError};
use trm_log::pseudonym::{self, LogKey};
use trm_proto::pb;

use crate::handover_log::{
    Appended, ChainSummary, EntryHash, LogError, StoredEntry, ZERO_HASH, broken, decode,
    entry_hash, missing,
};

/// The name of the tree that holds the log.
pub const TREE: &str = "handover_log";

/// The first byte of every entry's key.
pub(super) const ENTRY_PREFIX: u8 = b'e';

/// The key of the head record.
pub(super) const HEAD_KEY: &[u8] = b"h";

/// The key of the node's secret log key.
const LOG_KEY: &[u8] = b"k";

impl From<sled::Error> for LogError {
    fn from(e: sled::Error) -> Self {
        LogError::Storage(Box::new(e))
    }
}

/// The handover log's tree, for reading and verifying only.
#[derive(Clone)]
pub(super) struct Log {
    tree: sled::Tree,
}

impl Log {
    /// The log in `tree`.
    pub(super) fn new(tree: sled::Tree) -> Self {
        Self { tree }
    }

    /// See [`read`].
    pub(super) fn read(&self, from: u64, limit: usize) -> Result<Vec<StoredEntry>, LogError> {
        read(&self.tree, from, limit)
    }

    /// See [`read_bytes`].
    pub(super) fn read_bytes(&self, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, LogError> {
        read_bytes(&self.tree, from, limit)
    }

    /// See [`entry_count`].
    pub(super) fn entry_count(&self) -> Result<u64, LogError> {
        entry_count(&self.tree)
    }

    /// See [`verify`].
    pub(super) fn verify(&self) -> Result<ChainSummary, LogError> {
        verify(&self.tree)
    }

    /// The node's secret log key, made now if no entry needed it yet (kept if another caller
    /// made it first).
    pub(super) fn key(&self) -> Result<LogKey, LogError> {
        if let Some(bytes) = self.tree.get(LOG_KEY)? {
            return read_key(&bytes);
        }
        let fresh: LogKey = rand::random();
        match self
            .tree
            .compare_and_swap(LOG_KEY, None as Option<&[u8]>, Some(fresh.as_slice()))?
        {
            Ok(()) => {
                self.tree.flush()?;
                Ok(fresh)
            }
            Err(current) => read_key(current.current.as_deref().unwrap_or_default()),
        }
    }
}

impl super::NodeStore {
    /// The node's secret log key: case tags in its entries and the case pseudonyms of its
    /// exports derive from it.
    pub fn log_key(&self) -> Result<LogKey, super::StoreError> {
        Ok(self.engine()?.log.key()?)
    }
}

/// A stored log key, which must be 32 bytes.
fn read_key(bytes: &[u8]) -> Result<LogKey, LogError> {
    LogKey::try_from(bytes).map_err(|_| {
        broken(
            0,
            format!("the log key is {} bytes, expected 32", bytes.len()),
        )
    })
}

/// The handover log inside a change's transaction: it can only be appended to.
#[derive(Clone, Copy)]
pub(super) struct LogAppender<'a> {
    tx: &'a TransactionalTree,
}

impl<'a> LogAppender<'a> {
    /// The log in the transactional tree `tx`.
    pub(super) fn new(tx: &'a TransactionalTree) -> Self {
        Self { tx }
    }

    /// Appends `entry`: see [`append`].
    pub(super) fn append(
        &self,
        entry: pb::LogEntry,
    ) -> Result<Appended, UnabortableTransactionError> {
        append(self.tx, entry)
    }
}

/// Appends `entry` inside a transaction, so that callers can store a message and its log
/// entry atomically.
///
/// Fills in `index` and `prev_hash` from the head record (whatever the caller put there is
/// replaced) and replaces a case reference by its keyed tag (the log key is made with the
/// first), then writes the entry and the new head. A malformed head record, or an entry
/// already stored where the new one would go, fails the transaction with a storage error
/// (`io::ErrorKind::InvalidData`) instead of writing: the log is never overwritten.
pub fn append(
    tx: &TransactionalTree,
    mut entry: pb::LogEntry,
) -> Result<Appended, UnabortableTransactionError> {
    let head = match tx.get(HEAD_KEY)? {
        None => Head::EMPTY,
        Some(bytes) => Head::decode(&bytes).ok_or_else(|| {
            refuse(format!(
                "the head record is malformed ({} bytes, expected {})",
                bytes.len(),
                Head::LEN
            ))
        })?,
    };
    let index = head.entries;
    let entries = index
        .checked_add(1)
        .ok_or_else(|| refuse("the log is full".to_owned()))?;
    let key = entry_key(index);
    if tx.get(key)?.is_some() {
        return Err(refuse(format!(
            "entry {index} is already stored beyond the head record; refusing to overwrite it"
        )));
    }
    entry.index = index;
    entry.prev_hash = head.last.to_vec();
    if !entry.case_ref.is_empty() {
        let key = match tx.get(LOG_KEY)? {
            Some(bytes) => read_key(&bytes).map_err(|e| refuse(e.to_string()))?,
            None => {
                let fresh: LogKey = rand::random();
                tx.insert(LOG_KEY, fresh.as_slice())?;
                fresh
            }
        };
        entry.case_tag = pseudonym::case_tag(&key, &entry.case_ref);
        entry.case_ref.clear();
    }
    let bytes = entry.encode_to_vec();
    let hash = entry_hash(&bytes);
    tx.insert(&key[..], bytes)?;
    let head = Head {
        entries,
        last: hash,
    };
    tx.insert(HEAD_KEY, &head.encode()[..])?;
    Ok(Appended { index, hash })
}

/// Reads up to `limit` entries starting at index `from`.
///
/// Each entry is decoded and checked to be at its own index, and the entries must be
/// contiguous; the chain of hashes is checked by [`verify`] (the node verifies on open).
pub fn read(tree: &sled::Tree, from: u64, limit: usize) -> Result<Vec<StoredEntry>, LogError> {
    (from..)
        .zip(read_bytes(tree, from, limit)?)
        .map(|(index, bytes)| {
            Ok(StoredEntry {
                entry: decode(index, &bytes)?,
                hash: entry_hash(&bytes),
                bytes,
            })
        })
        .collect()
}

/// Reads the stored bytes of up to `limit` entries starting at index `from`, without decoding
/// them: what the Merkle tree and an export need. The entries must be contiguous.
pub fn read_bytes(tree: &sled::Tree, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, LogError> {
    let mut entries = Vec::new();
    let stored = tree
        .range(entry_key(from)..=entry_key(u64::MAX))
        .take(limit);
    for (expected, item) in (from..).zip(stored) {
        let (key, bytes) = item?;
        let index = stored_index(&key, expected)?;
        if index != expected {
            return Err(missing(expected, index));
        }
        entries.push(bytes.to_vec());
    }
    Ok(entries)
}

/// How many entries the head record says the log holds (0 for an empty log), without walking
/// the chain.
pub fn entry_count(tree: &sled::Tree) -> Result<u64, LogError> {
    match tree.get(HEAD_KEY)? {
        None => Ok(0),
        Some(bytes) => Head::decode(&bytes)
            .map(|head| head.entries)
            .ok_or_else(|| {
                broken(
                    0,
                    format!(
                        "the head record is malformed ({} bytes, expected {})",
                        bytes.len(),
                        Head::LEN
                    ),
                )
            }),
    }
}

/// Checks the whole chain against the head record: every entry in its place, each recording
/// the hash of the one before it, the last one's hash in the head record, nothing beyond.
///
/// A quick check on every core answers first ([`check::whole`]); only when it finds the chain
/// not whole does a walk, one entry after another, name what is wrong ([`walk`]). Entries
/// appended while it runs are checked as well.
pub fn verify(tree: &sled::Tree) -> Result<ChainSummary, LogError> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    match check::whole(tree, threads)? {
        Some(summary) => Ok(summary),
        None => walk(tree),
    }
}

/// Walks every entry in order and checks the whole chain against the head record.
///
/// On failure, names the entry that was changed, is missing or is extra. With a single change,
/// that is exactly the changed entry: a changed entry's hash no longer matches what its
/// successor (or the head record) recorded for it, and if the change is in its own `prev_hash`,
/// it no longer matches its predecessor either; the second symptom tells the two cases apart.
///
/// The head record is read before the walk, so an entry appended while it walks is named as
/// beyond the end: [`verify`] calls it only once its quick check found the chain not whole.
fn walk(tree: &sled::Tree) -> Result<ChainSummary, LogError> {
    let head = tree.get(HEAD_KEY)?;
    let mut stored = tree.scan_prefix([ENTRY_PREFIX]).peekable();
    let mut count: u64 = 0;
    let mut last = ZERO_HASH;
    while let Some(item) = stored.next() {
        let (key, bytes) = item?;
        let index = stored_index(&key, count)?;
        if index != count {
            return Err(missing(count, index));
        }
        let entry = decode(index, &bytes)?;
        let hash = entry_hash(&bytes);
        if entry.prev_hash != last {
            let Some(previous) = index.checked_sub(1) else {
                return Err(broken(
                    0,
                    "entry 0 must record 32 zero bytes as the previous hash",
                ));
            };
            // Which entry changed: the previous one, or this one's `prev_hash`? Ask the record
            // of this entry's hash kept by its successor, or by the head for the last entry.
            let (recorded, recorder) = match stored.peek() {
                Some(Ok((next_key, next_bytes))) => (
                    recorded_by_entry(next_key, next_bytes, index),
                    format!("entry {}", index + 1),
                ),
                Some(Err(_)) => (None, format!("entry {}", index + 1)),
                None => (
                    head.as_deref().and_then(Head::decode).map(|head| head.last),
                    "the head record".to_owned(),
                ),
            };
            return Err(if recorded == Some(hash) {
                broken(
                    previous,
                    format!("entry {previous} does not match the hash recorded by entry {index}"),
                )
            } else {
                broken(
                    index,
                    format!(
                        "entry {index} records a previous hash that does not match entry \
                         {previous}, and its own hash does not match {recorder}"
                    ),
                )
            });
        }
        last = hash;
        count += 1;
    }
    check_head(head.as_deref(), count, last)?;
    Ok(ChainSummary {
        entries: count,
        head: last,
    })
}

/// Checks the head record against a walk that found `count` well-chained entries ending in
/// `last`.
fn check_head(head: Option<&[u8]>, count: u64, last: EntryHash) -> Result<(), LogError> {
    let Some(last_index) = count.checked_sub(1) else {
        return match head {
            None => Ok(()),
            Some(_) => Err(broken(0, "the head record exists but entry 0 is missing")),
        };
    };
    let Some(bytes) = head else {
        return Err(broken(
            0,
            format!("the log has {count} entries but no head record"),
        ));
    };
    let Some(head) = Head::decode(bytes) else {
        return Err(broken(
            last_index,
            format!(
                "the head record after it is malformed ({} bytes, expected {})",
                bytes.len(),
                Head::LEN
            ),
        ));
    };
    if head.entries > count {
        return Err(broken(
            count,
            format!(
                "entry {count} is missing: the head record says the log has {} entries, \
                 but it ends after entry {last_index}",
                head.entries
            ),
        ));
    }
    if head.entries < count {
        return Err(broken(
            head.entries,
            format!(
                "entry {} is beyond the end of the log: the head record says the log has {} \
                 entries",
                head.entries, head.entries
            ),
        ));
    }
    if head.last != last {
        return Err(broken(
            last_index,
            format!("entry {last_index} does not match the hash recorded by the head record"),
        ));
    }
    Ok(())
}

/// The `prev_hash` that the entry stored under `key` records, if it is the well-formed entry
/// `predecessor + 1`.
fn recorded_by_entry(key: &[u8], bytes: &[u8], predecessor: u64) -> Option<EntryHash> {
    let index = parse_entry_key(key)?;
    if Some(index) != predecessor.checked_add(1) {
        return None;
    }
    let entry = pb::LogEntry::decode(bytes).ok()?;
    entry.prev_hash.as_slice().try_into().ok()
}

/// The index in an entry key, or an error naming `expected` (the entry that should be there).
fn stored_index(key: &[u8], expected: u64) -> Result<u64, LogError> {
    parse_entry_key(key).ok_or_else(|| {
        broken(
            expected,
            format!(
                "a malformed key ({} bytes) is stored where entry {expected} should be",
                key.len()
            ),
        )
    })
}

/// The key of entry `index`.
pub(super) fn entry_key(index: u64) -> [u8; 9] {
    let mut key = [ENTRY_PREFIX; 9];
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The index in an entry key, if `key` is one.
fn parse_entry_key(key: &[u8]) -> Option<u64> {
    match key {
        [ENTRY_PREFIX, index @ ..] => Some(u64::from_be_bytes(index.try_into().ok()?)),
        _ => None,
    }
}

/// A storage error that aborts an append instead of damaging the log.
fn refuse(problem: String) -> UnabortableTransactionError {
    UnabortableTransactionError::Storage(sled::Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("handover log: {problem}"),
    )))
}

/// The head record: how many entries there are and the hash of the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    /// The number of entries, which is also the index the next entry gets.
    entries: u64,
    /// The hash of the last entry (zero for an empty log).
    last: EntryHash,
}

impl Head {
    /// The encoded length: the count and the hash.
    const LEN: usize = 8 + 32;

    /// The head of a log without entries (which has no head record).
    const EMPTY: Head = Head {
        entries: 0,
        last: ZERO_HASH,
    };

    fn encode(&self) -> [u8; Self::LEN] {
        let mut bytes = [0; Self::LEN];
        bytes[..8].copy_from_slice(&self.entries.to_be_bytes());
        bytes[8..].copy_from_slice(&self.last);
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Head> {
        let (entries, last) = bytes.split_first_chunk::<8>()?;
        Some(Head {
            entries: u64::from_be_bytes(*entries),
            last: last.try_into().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::thread;

    use std::convert::Infallible;

    use sled::Transactional;
    use sled::transaction::{ConflictableTransactionError, TransactionError};
    use trm_log::fixtures::sample;

    use super::*;
    use crate::handover_log::verify_entries;

    /// Tests return `Result` so that `?` names the failing step.
    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A temporary folder holding one database, removed when dropped.
    struct TempDir(tempfile::TempDir);

    impl TempDir {
        fn new() -> std::io::Result<Self> {
            tempfile::tempdir().map(Self)
        }

        fn db(&self) -> PathBuf {
            self.0.path().join("db")
        }
    }

    fn open(path: &Path) -> Result<(sled::Db, sled::Tree), Box<dyn std::error::Error>> {
        let db = trm_storage::open_db(path)?;
        let tree = db.open_tree(TREE)?;
        Ok((db, tree))
    }

    fn append_one(
        tree: &sled::Tree,
        entry: pb::LogEntry,
    ) -> Result<Appended, Box<dyn std::error::Error>> {
        let appended = tree.transaction(|tx| {
            Ok::<_, ConflictableTransactionError<Infallible>>(append(tx, entry.clone())?)
        })?;
        Ok(appended)
    }

    fn append_n(tree: &sled::Tree, n: u64) -> Result<Vec<Appended>, Box<dyn std::error::Error>> {
        (0..n).map(|i| append_one(tree, sample(i))).collect()
    }

    fn broken_index(result: Result<ChainSummary, LogError>) -> Result<u64, String> {
        match result {
            Err(LogError::Broken { index, .. }) => Ok(index),
            other => Err(format!("expected a broken chain, got {other:?}")),
        }
    }

    #[test]
    fn an_empty_log_verifies() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        assert_eq!(
            verify(&tree)?,
            ChainSummary {
                entries: 0,
                head: ZERO_HASH
            }
        );
        assert!(read(&tree, 0, 10)?.is_empty());
        Ok(())
    }

    /// The entry holds the keyed tag, never the reference: not in its fields, not in its bytes.
    /// One case has one tag under one key, and the key stays the node's across reopening.
    #[test]
    fn a_case_reference_is_stored_as_its_keyed_tag() -> TestResult {
        let dir = TempDir::new()?;
        let mut entry = sample(0);
        entry.case_ref = "AT-LEFOE-2026-0043".into();
        let key = {
            let (_db, tree) = open(&dir.db())?;
            append_one(&tree, entry.clone())?;
            append_one(&tree, entry.clone())?;
            Log::new(tree).key()?
        };
        let (_db, tree) = open(&dir.db())?;
        assert_eq!(Log::new(tree.clone()).key()?, key);
        let stored = read(&tree, 0, 10)?;
        for s in &stored {
            assert_eq!(s.entry.case_ref, "");
            assert_eq!(
                s.entry.case_tag,
                pseudonym::case_tag(&key, "AT-LEFOE-2026-0043")
            );
            let text = String::from_utf8_lossy(&s.bytes);
            assert!(!text.contains("LEFOE"), "{text}");
        }
        assert_eq!(verify(&tree)?.entries, 2);
        // An entry with no case makes no tag.
        let mut none = sample(2);
        none.case_ref.clear();
        append_one(&tree, none)?;
        assert!(
            read(&tree, 2, 1)?
                .iter()
                .all(|s| s.entry.case_tag.is_empty())
        );
        Ok(())
    }

    #[test]
    fn appended_entries_chain_verify_and_survive_reopening() -> TestResult {
        let dir = TempDir::new()?;
        let summary = {
            let (db, tree) = open(&dir.db())?;
            // Whatever the caller puts in index and prev_hash is replaced.
            let mut first = sample(0);
            first.index = 99;
            first.prev_hash = vec![1; 32];
            let mut appended = vec![append_one(&tree, first)?];
            appended.extend(append_n(&tree, 49)?);
            let indices: Vec<u64> = appended.iter().map(|a| a.index).collect();
            assert_eq!(indices, (0..50).collect::<Vec<_>>());

            let stored = read(&tree, 0, 100)?;
            assert_eq!(stored.len(), 50);
            let mut previous = ZERO_HASH;
            for (stored, appended) in stored.iter().zip(&appended) {
                assert_eq!(stored.entry.index, appended.index);
                assert_eq!(stored.entry.prev_hash, previous);
                assert_eq!(stored.hash, appended.hash);
                assert_eq!(stored.hash, entry_hash(&stored.bytes));
                previous = stored.hash;
            }
            let summary = verify(&tree)?;
            assert_eq!(summary.entries, 50);
            assert_eq!(summary.head, previous);
            db.flush()?;
            summary
        };
        let (_db, tree) = open(&dir.db())?;
        assert_eq!(verify(&tree)?, summary);
        // And the chain continues where it left off.
        let next = append_one(&tree, sample(50))?;
        assert_eq!(next.index, 50);
        assert_eq!(read(&tree, 50, 1)?[0].entry.prev_hash, summary.head);
        assert_eq!(verify(&tree)?.entries, 51);
        Ok(())
    }

    #[test]
    fn read_returns_the_requested_window() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, 10)?;
        let window: Vec<u64> = read(&tree, 3, 4)?.iter().map(|s| s.entry.index).collect();
        assert_eq!(window, [3, 4, 5, 6]);
        assert_eq!(read(&tree, 8, 100)?.len(), 2);
        assert!(read(&tree, 10, 100)?.is_empty());
        assert!(read(&tree, 0, 0)?.is_empty());
        Ok(())
    }

    #[test]
    fn any_changed_byte_is_named_in_the_first_a_middle_and_the_last_entry() -> TestResult {
        const ENTRIES: u64 = 12;
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, ENTRIES)?;
        for k in [0, ENTRIES / 2, ENTRIES - 1] {
            let key = entry_key(k);
            let original = tree.get(key)?.ok_or("entry missing")?;
            for position in 0..original.len() {
                for mask in [0x01u8, 0x20, 0x80, 0xff] {
                    let mut tampered = original.to_vec();
                    tampered[position] ^= mask;
                    tree.insert(key, tampered)?;
                    let result = verify(&tree);
                    assert_eq!(
                        broken_index(result)?,
                        k,
                        "byte {position} of entry {k} xor {mask:#04x}"
                    );
                }
            }
            tree.insert(key, original)?;
            assert_eq!(verify(&tree)?.entries, ENTRIES);
        }
        Ok(())
    }

    #[test]
    fn an_exported_log_verifies_like_the_stored_one() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, 20)?;
        let bytes = read_bytes(&tree, 0, 100)?;
        assert_eq!(bytes.len(), 20);
        assert_eq!(entry_count(&tree)?, 20);
        let mut visited = Vec::new();
        let summary = verify_entries(&bytes, |e| visited.push(e.index))?;
        assert_eq!(summary, verify(&tree)?);
        assert_eq!(visited, (0..20).collect::<Vec<_>>());
        assert_eq!(read_bytes(&tree, 5, 3)?, bytes[5..8]);
        let empty: [&[u8]; 0] = [];
        assert_eq!(verify_entries(&empty, |_| ())?.entries, 0);
        Ok(())
    }

    #[test]
    fn a_removed_entry_is_named() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, 8)?;
        for k in [0, 4] {
            let original = tree.remove(entry_key(k))?.ok_or("entry missing")?;
            match verify(&tree) {
                Err(LogError::Broken { index, problem }) => {
                    assert_eq!(index, k);
                    assert!(problem.contains("missing"), "{problem}");
                }
                other => panic!("removing entry {k}: {other:?}"),
            }
            assert!(
                matches!(read(&tree, 0, 100), Err(LogError::Broken { index, .. }) if index == k)
            );
            tree.insert(entry_key(k), original)?;
        }
        assert_eq!(verify(&tree)?.entries, 8);
        Ok(())
    }

    /// The quick check, cut into runs, gives the walk's summary; a changed byte in any entry,
    /// those at the runs' edges included, makes it answer that the chain is not whole.
    #[test]
    fn the_check_in_runs_agrees_with_the_walk_and_misses_no_change_at_an_edge() -> TestResult {
        const ENTRIES: u64 = 100;
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, ENTRIES)?;
        let walked = walk(&tree)?;
        let nothing = ChainSummary {
            entries: 0,
            head: ZERO_HASH,
        };
        for runs in 1..=4 {
            let checked = check::check_stretch(&tree, nothing, ENTRIES, runs)?;
            assert_eq!(checked, Some(walked), "{runs} runs");
        }
        // Three runs of 34 entries: their edges are at entries 33/34 and 67/68.
        for k in [0, 33, 34, 35, 67, 68, ENTRIES - 1] {
            let key = entry_key(k);
            let original = tree.get(key)?.ok_or("entry missing")?;
            for position in [0, original.len() / 2, original.len() - 1] {
                let mut tampered = original.to_vec();
                tampered[position] ^= 0x01;
                tree.insert(key, tampered)?;
                // The last entry's hash is matched with the head record's after the runs.
                let checked = check::check_stretch(&tree, nothing, ENTRIES, 3)?;
                assert_ne!(checked, Some(walked), "byte {position} of entry {k}");
                assert!(
                    checked.is_none() || k == ENTRIES - 1,
                    "byte {position} of entry {k}"
                );
                assert_eq!(
                    broken_index(verify(&tree))?,
                    k,
                    "byte {position} of entry {k}"
                );
            }
            tree.insert(key, original)?;
        }
        // Entries that do not chain onto what was checked before them.
        let elsewhere = ChainSummary {
            entries: 0,
            head: [1; 32],
        };
        assert_eq!(check::check_stretch(&tree, elsewhere, ENTRIES, 3)?, None);
        assert_eq!(verify(&tree)?, walked);
        Ok(())
    }

    /// Entries appended while the log is verified are checked with it, not taken for entries
    /// beyond its end: the head record is read before the entries it counts.
    #[test]
    fn a_log_verified_while_entries_are_appended_is_whole() -> TestResult {
        const BEFORE: u64 = 2_000;
        const AFTER: u64 = 4_000;
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, BEFORE)?;
        let appender = {
            let tree = tree.clone();
            thread::spawn(move || -> Result<(), String> {
                for n in BEFORE..AFTER {
                    append_one(&tree, sample(n)).map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        };
        let mut seen = 0;
        while !appender.is_finished() {
            let summary = verify(&tree)?;
            assert!(summary.entries >= seen, "the log went back to {summary:?}");
            seen = summary.entries;
        }
        appender.join().map_err(|_| "the appender panicked")??;
        assert_eq!(verify(&tree)?.entries, AFTER);
        Ok(())
    }

    #[test]
    fn a_truncated_log_names_the_first_missing_entry() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, 8)?;
        tree.remove(entry_key(7))?;
        match verify(&tree) {
            Err(LogError::Broken { index, problem }) => {
                assert_eq!(index, 7);
                assert!(problem.contains("8 entries"), "{problem}");
            }
            other => panic!("truncation not detected: {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn an_entry_beyond_the_head_is_named_even_if_it_chains() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        let appended = append_n(&tree, 5)?;
        // A well-formed entry 5 that chains onto entry 4, written behind the head's back.
        let mut extra = sample(5);
        extra.index = 5;
        extra.prev_hash = appended[4].hash.to_vec();
        tree.insert(entry_key(5), extra.encode_to_vec())?;
        assert_eq!(broken_index(verify(&tree))?, 5);
        // One that does not chain is named too.
        extra.prev_hash = vec![7; 32];
        tree.insert(entry_key(5), extra.encode_to_vec())?;
        assert_eq!(broken_index(verify(&tree))?, 5);
        Ok(())
    }

    #[test]
    fn a_lost_or_orphaned_head_record_is_broken_at_zero() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, 3)?;
        let head = tree.remove(HEAD_KEY)?.ok_or("no head")?;
        assert_eq!(broken_index(verify(&tree))?, 0);

        let (_other_db, empty) = open(&TempDir::new()?.db())?;
        empty.insert(HEAD_KEY, head)?;
        assert_eq!(broken_index(verify(&empty))?, 0);
        Ok(())
    }

    #[test]
    fn append_never_overwrites_an_entry() -> TestResult {
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        append_n(&tree, 3)?;
        let before: Vec<_> = tree.iter().collect::<Result<_, _>>()?;
        // Without its head record the log would append at 0, where an entry already is.
        let head = tree.remove(HEAD_KEY)?.ok_or("no head")?;
        let result = tree
            .transaction(|tx| Ok::<_, ConflictableTransactionError<()>>(append(tx, sample(9))?));
        match result {
            Err(TransactionError::Storage(e)) => {
                assert!(e.to_string().contains("refusing to overwrite"), "{e}")
            }
            other => panic!("append over an existing entry: {other:?}"),
        }
        tree.insert(HEAD_KEY, head)?;
        let after: Vec<_> = tree.iter().collect::<Result<_, _>>()?;
        assert_eq!(before, after);
        // A malformed head record is refused too.
        tree.insert(HEAD_KEY, &b"short"[..])?;
        let result = tree
            .transaction(|tx| Ok::<_, ConflictableTransactionError<()>>(append(tx, sample(9))?));
        assert!(
            matches!(result, Err(TransactionError::Storage(_))),
            "{result:?}"
        );
        Ok(())
    }

    #[test]
    fn an_aborted_transaction_leaves_neither_the_entry_nor_the_message() -> TestResult {
        let dir = TempDir::new()?;
        let (db, log) = open(&dir.db())?;
        let messages = db.open_tree("messages")?;
        append_n(&log, 2)?;
        let summary = verify(&log)?;
        let result: Result<(), TransactionError<&str>> =
            (&messages, &log).transaction(|(messages, log)| {
                append(log, sample(2))?;
                messages.insert(&b"m"[..], &b"sealed"[..])?;
                Err(ConflictableTransactionError::Abort("recipient refused"))
            });
        assert!(matches!(
            result,
            Err(TransactionError::Abort("recipient refused"))
        ));
        assert_eq!(verify(&log)?, summary);
        assert!(messages.is_empty());
        Ok(())
    }

    #[test]
    fn concurrent_appends_form_one_gap_free_chain() -> TestResult {
        const THREADS: u64 = 8;
        const EACH: u64 = 25;
        let dir = TempDir::new()?;
        let (_db, tree) = open(&dir.db())?;
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let tree = tree.clone();
                thread::spawn(move || -> Result<Vec<u64>, String> {
                    (0..EACH)
                        .map(|i| {
                            append_one(&tree, sample(t * 1000 + i))
                                .map(|a| a.index)
                                .map_err(|e| e.to_string())
                        })
                        .collect()
                })
            })
            .collect();
        let mut indices = Vec::new();
        for worker in workers {
            indices.extend(worker.join().map_err(|_| "appending thread panicked")??);
        }
        indices.sort_unstable();
        assert_eq!(indices, (0..THREADS * EACH).collect::<Vec<_>>());
        assert_eq!(verify(&tree)?.entries, THREADS * EACH);
        Ok(())
    }
}
