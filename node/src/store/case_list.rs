//! The case list's order, kept as an index: a page of the list (most recently active first)
//! reads the cases it shows, not every case the node holds.
//!
//! One tree, [`TREE`], one record per case: `(u64::MAX − last activity, big-endian) ‖ case
//! key` → nothing. Its key order is the list's order: most recently active first, then by
//! partner and reference (a case key is the partner's address, a NUL and the reference, see
//! [`crate::cases::case_key`], and an address holds no NUL).
//!
//! Every write of a case goes through [`put`], which moves the case's record in the same
//! transaction when its last activity changes, so the index and the cases never disagree, not
//! even after a crash. A store made before the index has it built when it opens (one pass over
//! the cases, logged), then marked by [`BUILT`] in the default tree; a backup copies both.

use prost::Message as _;
use sled::transaction::TransactionalTree;
use trm_proto::pb;

use super::combine::Abort;
use super::{CASES_TREE, NodeStore, StoreError, corrupt};

/// The index's tree.
pub(super) const TREE: &str = "case_activity";

/// The default tree's key that says the index is built.
const BUILT: &[u8] = b"case-activity-index";

/// When the case was last active, as the list orders it.
fn activity(case: &pb::StoredCase) -> u64 {
    case.summary.as_ref().map_or(0, |s| s.last_activity_ms)
}

/// The index record of the case under `case_key`, last active at `at_ms`.
fn record(at_ms: u64, case_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + case_key.len());
    key.extend_from_slice(&(u64::MAX - at_ms).to_be_bytes());
    key.extend_from_slice(case_key);
    key
}

/// What a record names: the last activity and the case key.
fn parse(record: &[u8]) -> Option<(u64, &[u8])> {
    let (at, case_key) = record.split_first_chunk::<8>()?;
    Some((u64::MAX - u64::from_be_bytes(*at), case_key))
}

/// A case as read inside a transaction, with the last activity its index record names.
pub(super) struct Read {
    /// The case.
    pub(super) case: pb::StoredCase,
    /// Its last activity as stored; `None` for a case not stored yet.
    pub(super) indexed_at: Option<u64>,
}

/// In a transaction: the case under `case_key`, `None` when there is none.
pub(super) fn read(cases: &TransactionalTree, case_key: &[u8]) -> Result<Option<Read>, Abort> {
    let Some(bytes) = cases.get(case_key)? else {
        return Ok(None);
    };
    let case =
        pb::StoredCase::decode(bytes.as_ref()).map_err(|e| Abort::Abort(corrupt(CASES_TREE, e)))?;
    Ok(Some(Read {
        indexed_at: Some(activity(&case)),
        case,
    }))
}

/// In a transaction: stores `case` under `case_key` and keeps its index record, `indexed_at`
/// being the last activity it was stored with (`None` for a new case).
pub(super) fn put(
    cases: &TransactionalTree,
    index: &TransactionalTree,
    case_key: &[u8],
    indexed_at: Option<u64>,
    case: &pb::StoredCase,
) -> Result<(), Abort> {
    let at = activity(case);
    if indexed_at != Some(at) {
        if let Some(before) = indexed_at {
            index.remove(record(before, case_key))?;
        }
        index.insert(record(at, case_key), &[])?;
    }
    cases.insert(case_key, case.encode_to_vec())?;
    Ok(())
}

/// Builds the index of `cases` into `index` unless the default tree of `db` says it is built:
/// cleared, one pass over the cases, marked, flushed.
pub(super) fn ensure(
    db: &sled::Db,
    index: &sled::Tree,
    cases: &sled::Tree,
) -> Result<(), StoreError> {
    if db.get(BUILT)?.is_some() {
        return Ok(());
    }
    tracing::info!("building the index of cases by last activity");
    index.clear()?;
    let mut indexed = 0u64;
    let mut batch = sled::Batch::default();
    for item in cases.iter() {
        let (key, value) = item?;
        let case = pb::StoredCase::decode(value.as_ref()).map_err(|e| corrupt(CASES_TREE, e))?;
        batch.insert(record(activity(&case), &key), &[]);
        indexed += 1;
        if indexed.is_multiple_of(10_000) {
            index.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    index.apply_batch(batch)?;
    db.insert(BUILT, &[])?;
    db.flush()?;
    tracing::info!(indexed, "built the index of cases by last activity");
    Ok(())
}

/// Where a page of the case list ends: the last case's activity and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    /// The case's last activity.
    pub at_ms: u64,
    /// The case's store key ([`crate::cases::case_key`]).
    pub case_key: Vec<u8>,
}

impl NodeStore {
    /// The cases in the list's order (most recently active first, then by partner and
    /// reference), from the one after `after` on, read one at a time as the caller goes: a
    /// page costs the cases it passes, however many the node holds.
    pub fn cases_newest_first(
        &self,
        after: Option<&ListPosition>,
    ) -> Result<impl Iterator<Item = Result<pb::StoredCase, StoreError>> + use<>, StoreError> {
        let engine = self.engine()?;
        let records = match after {
            Some(after) => engine.case_activity.range((
                std::ops::Bound::Excluded(record(after.at_ms, &after.case_key)),
                std::ops::Bound::Unbounded,
            )),
            None => engine.case_activity.iter(),
        };
        let cases = engine.cases.clone();
        Ok(records.filter_map(move |item| {
            let read = || -> Result<Option<pb::StoredCase>, StoreError> {
                let (key, _) = item?;
                let Some((at_ms, case_key)) = parse(&key) else {
                    return Err(corrupt(TREE, "a record shorter than its activity"));
                };
                let Some(value) = cases.get(case_key)? else {
                    return Ok(None);
                };
                let case =
                    pb::StoredCase::decode(value.as_ref()).map_err(|e| corrupt(CASES_TREE, e))?;
                // A case whose activity changed after this pass began has its record further
                // up the list; it is not shown twice.
                Ok((activity(&case) == at_ms).then_some(case))
            };
            read().transpose()
        }))
    }
}

#[cfg(test)]
mod tests {
    use trm_proto::addr::{MessageId, NodeAddr};
    use trm_proto::envelope::Header;

    use super::*;
    use crate::store::EntryFacts;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Stores message `n` from `from` in case `case_ref`, received at `at_ms`.
    async fn receive(
        store: &NodeStore,
        n: u32,
        from: &str,
        case_ref: &str,
        kind: pb::MessageKind,
        at_ms: u64,
    ) -> TestResult {
        let header = Header {
            message_id: format!("{n:032x}").parse::<MessageId>()?,
            from: from.parse::<NodeAddr>()?,
            to: "lefoe-ibf@at".parse::<NodeAddr>()?,
            created_at_ms: at_ms,
            expires_at_ms: at_ms + 1_000_000,
            priority: pb::Priority::Routine,
            kind,
            ciphertext_sha256: [0; 32],
            recipient_key_id: String::new(),
        };
        let content = match kind {
            pb::MessageKind::CaseUpdate => pb::body::Content::CaseUpdate(pb::CaseUpdate::default()),
            _ => pb::body::Content::Referral(pb::Referral::default()),
        };
        let facts = EntryFacts {
            header: &header,
            digest: &[7; 32],
            case_ref,
            flags: pb::AuditFlags::default(),
            content: Some(&content),
            sequence: 0,
        };
        store
            .record_received(&pb::Envelope::default(), &facts, b"body", at_ms)
            .await?;
        Ok(())
    }

    /// The list as the store gives it, from the case after `after`: (partner, reference).
    fn listed(
        store: &NodeStore,
        after: Option<&ListPosition>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        store
            .cases_newest_first(after)?
            .map(|case| {
                let summary = case?.summary.unwrap_or_default();
                Ok((summary.counterparty, summary.case_ref))
            })
            .collect()
    }

    /// Every case sorted the list's way, from the cases themselves.
    fn sorted(store: &NodeStore) -> Result<Vec<(String, String)>, StoreError> {
        let mut all: Vec<(std::cmp::Reverse<u64>, String, String)> = store
            .each_case()?
            .map(|case| {
                let summary = case?.summary.unwrap_or_default();
                Ok((
                    std::cmp::Reverse(summary.last_activity_ms),
                    summary.counterparty,
                    summary.case_ref,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        all.sort();
        Ok(all.into_iter().map(|(_, p, r)| (p, r)).collect())
    }

    #[tokio::test]
    async fn the_list_comes_newest_first_follows_new_activity_and_is_built_for_an_old_store()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let partners = ["astra@rs", "astra-2@rs", "open-gate@mk"];
        {
            let store = NodeStore::open(dir.path())?;
            // Twelve cases; several share a time, so the partner and reference order them.
            for n in 0..12u32 {
                let from = partners.get(n as usize % 3).copied().unwrap_or("astra@rs");
                let at = 1_700_000_000_000 + u64::from(n / 4) * 1_000;
                let case_ref = format!("CASE-{}", 11 - n);
                receive(&store, n, from, &case_ref, pb::MessageKind::Referral, at).await?;
            }
            let first = listed(&store, None)?;
            assert_eq!(first, sorted(&store)?);
            assert_eq!(first.len(), 12);

            // A case that comes alive again moves to the front, once.
            let (from, case_ref) = first.last().cloned().ok_or("a case")?;
            receive(
                &store,
                100,
                &from,
                &case_ref,
                pb::MessageKind::CaseUpdate,
                1_700_000_009_000,
            )
            .await?;
            let moved = listed(&store, None)?;
            assert_eq!(moved.first(), Some(&(from.clone(), case_ref.clone())));
            assert_eq!(moved, sorted(&store)?);
            assert_eq!(moved.len(), 12, "no case listed twice");
            assert_eq!(store.engine()?.case_activity.len(), 12, "no stale record");

            // A page starts after the position it names.
            let third = store
                .cases_newest_first(None)?
                .nth(2)
                .ok_or("a third case")??
                .summary
                .unwrap_or_default();
            let after = ListPosition {
                at_ms: third.last_activity_ms,
                case_key: crate::cases::case_key(&third.counterparty, &third.case_ref),
            };
            assert_eq!(
                listed(&store, Some(&after))?,
                moved.get(3..).unwrap_or_default()
            );

            // A store from before the index: no records, no mark.
            let engine = store.engine()?;
            engine.case_activity.clear()?;
            engine.db.remove(BUILT)?;
            engine.db.flush()?;
        }
        let reopened = NodeStore::open(dir.path())?;
        assert_eq!(listed(&reopened, None)?, sorted(&reopened)?);
        assert_eq!(reopened.engine()?.case_activity.len(), 12);
        Ok(())
    }
}
