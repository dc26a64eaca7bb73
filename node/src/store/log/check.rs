//! The quick check of the handover log: whether the stored chain is whole, for the common case
//! of [`super::verify`], where nothing is wrong.
//!
//! - **Runs on every core.** Entry `n` records the hash of entry `n - 1`, so a stretch of the log
//!   can be checked without the entries before it: a long log is cut into one run of entries per
//!   core, each run read and checked on a thread of its own, and the runs' ends are then matched.
//! - **Two fields decoded.** Only what chains an entry, its index and the hash it records of its
//!   predecessor, is decoded ([`EntryLinks`]). The rest of the entry is covered by its hash,
//!   which its successor or the head record holds.
//! - **Only yes or no.** When the chain is not whole, the check says so and nothing more;
//!   [`super::verify`] then walks the log one entry after another to name what is wrong.
//! - **Appends while it reads.** The head record is read first and the entries up to it are
//!   checked. An entry found beyond it sends the check back to the head record (which an
//!   append writes in the same transaction as its entry): if the head moved, the new entries
//!   are checked too; if it did not, the entry is out of place.

use std::thread;

use prost::Message;

use super::{ENTRY_PREFIX, HEAD_KEY, Head, entry_key, parse_entry_key};
use crate::handover_log::{ChainSummary, EntryHash, LogError, ZERO_HASH, entry_hash};

/// Stretches shorter than this are checked on one thread: starting more costs more than it
/// saves.
const ONE_THREAD_BELOW: u64 = 16_384;

/// The two fields of a [`trm_proto::pb::LogEntry`] that chain it, under the same tags: decoding
/// only these skips the rest, whose strings would each be copied.
#[derive(Clone, PartialEq, prost::Message)]
struct EntryLinks {
    /// The entry's position in the log.
    #[prost(uint64, tag = "1")]
    index: u64,
    /// The hash of the entry before it.
    #[prost(bytes = "vec", tag = "2")]
    prev_hash: Vec<u8>,
}

/// The log's summary if every entry is in its place and chains onto the one before it, up to
/// the head record, and nothing lies beyond; `None` if anything is wrong (for the caller's walk
/// to name). An error only when the storage engine fails.
///
/// A stretch of at least [`ONE_THREAD_BELOW`] entries is cut into `threads` runs.
pub(super) fn whole(tree: &sled::Tree, threads: usize) -> Result<Option<ChainSummary>, LogError> {
    // Nothing may sort before entry 0 among the entries' keys.
    if let Some((key, _)) = tree.scan_prefix([ENTRY_PREFIX]).next().transpose()?
        && parse_entry_key(&key) != Some(0)
    {
        return Ok(None);
    }
    let mut checked = ChainSummary {
        entries: 0,
        head: ZERO_HASH,
    };
    loop {
        let Some(head) = read_head(tree)? else {
            return Ok(None);
        };
        if head.entries < checked.entries {
            return Ok(None);
        }
        let runs = runs_for(head.entries.saturating_sub(checked.entries), threads);
        let Some(stretch) = check_stretch(tree, checked, head.entries, runs)? else {
            return Ok(None);
        };
        if stretch.head != head.last {
            return Ok(None);
        }
        checked = stretch;
        let beyond = tree
            .range(entry_key(checked.entries)..)
            .next()
            .transpose()?;
        match beyond {
            Some((key, _)) if key.first() == Some(&ENTRY_PREFIX) => {
                // Appended since the head was read, if the head moved; out of place if not.
                let moved = read_head(tree)?.is_some_and(|head| head.entries > checked.entries);
                if !moved {
                    return Ok(None);
                }
            }
            _ => return Ok(Some(checked)),
        }
    }
}

/// The head record, [`Head::EMPTY`] when there is none; `None` when it is malformed.
fn read_head(tree: &sled::Tree) -> Result<Option<Head>, LogError> {
    Ok(match tree.get(HEAD_KEY)? {
        None => Some(Head::EMPTY),
        Some(bytes) => Head::decode(&bytes),
    })
}

/// How many runs a stretch of `count` entries is checked in: one per thread, or one for a short
/// stretch.
fn runs_for(count: u64, threads: usize) -> u64 {
    if count < ONE_THREAD_BELOW {
        1
    } else {
        threads.max(1) as u64
    }
}

/// Checks entries `before.entries .. to`, which must chain onto `before` (the entries checked
/// already), cut into `runs` runs of about equal length, each on its own thread.
pub(super) fn check_stretch(
    tree: &sled::Tree,
    before: ChainSummary,
    to: u64,
    runs: u64,
) -> Result<Option<ChainSummary>, LogError> {
    let from = before.entries;
    let count = to.saturating_sub(from);
    let runs = runs.max(1);
    let per_run = count.div_ceil(runs).max(1);
    let bounds: Vec<(u64, u64)> = (0..runs)
        .map(|run| {
            let start = from.saturating_add(run.saturating_mul(per_run)).min(to);
            (start, start.saturating_add(per_run).min(to))
        })
        .filter(|(start, end)| start < end)
        .collect();
    let results: Vec<Result<Option<Run>, LogError>> = thread::scope(|scope| {
        let others: Vec<_> = bounds
            .iter()
            .skip(1)
            .map(|&(start, end)| scope.spawn(move || check_run(tree, start, end)))
            .collect();
        let first = bounds
            .first()
            .map(|&(start, end)| check_run(tree, start, end));
        first
            .into_iter()
            .chain(others.into_iter().map(|other| {
                other.join().unwrap_or_else(|_| {
                    Err(LogError::Storage(
                        "a thread checking the log stopped".into(),
                    ))
                })
            }))
            .collect()
    });
    let mut last = before.head;
    for result in results {
        let Some(run) = result? else {
            return Ok(None);
        };
        if run.first_prev != last {
            return Ok(None);
        }
        last = run.last;
    }
    Ok(Some(ChainSummary {
        entries: to.max(from),
        head: last,
    }))
}

/// The ends of a run of entries that chain onto each other.
struct Run {
    /// The hash the run's first entry records of the entry before it.
    first_prev: EntryHash,
    /// The hash of the run's last entry.
    last: EntryHash,
}

/// Checks entries `from .. to` (`from < to`): each in its place, decoding, and recording the
/// hash of the one before it within the run; `None` if not.
fn check_run(tree: &sled::Tree, from: u64, to: u64) -> Result<Option<Run>, LogError> {
    let mut expected = from;
    let mut first_prev = None;
    let mut last = ZERO_HASH;
    for item in tree.range(entry_key(from)..entry_key(to)) {
        let (key, bytes) = item?;
        if parse_entry_key(&key) != Some(expected) {
            return Ok(None);
        }
        let Ok(links) = EntryLinks::decode(&*bytes) else {
            return Ok(None);
        };
        let Ok(prev) = EntryHash::try_from(links.prev_hash.as_slice()) else {
            return Ok(None);
        };
        if links.index != expected || first_prev.is_some() && prev != last {
            return Ok(None);
        }
        first_prev.get_or_insert(prev);
        last = entry_hash(&bytes);
        expected = expected.saturating_add(1);
    }
    if expected != to {
        return Ok(None);
    }
    Ok(first_prev.map(|first_prev| Run { first_prev, last }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trm_log::fixtures::sample;
    use trm_proto::pb;

    #[test]
    fn the_links_decode_as_the_whole_entry_does() -> Result<(), prost::DecodeError> {
        let mut entry = sample(7);
        entry.index = 41;
        entry.prev_hash = vec![9; 32];
        let bytes = entry.encode_to_vec();
        let links = EntryLinks::decode(bytes.as_slice())?;
        let whole = pb::LogEntry::decode(bytes.as_slice())?;
        assert_eq!(
            (links.index, links.prev_hash),
            (whole.index, whole.prev_hash)
        );
        Ok(())
    }
}
