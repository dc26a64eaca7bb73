//! The case list's order, kept as an index: a page of the list (most recently active first)
//! reads the cases it shows, not every case the node holds.
//!
//! One tree, [`TREE`], one record per case under its last activity ([`newest_first`]). Its key
//! order is the list's order: most recently active first, then by partner and reference (a
//! case key is the partner's address, a NUL and the reference, see [`crate::cases::case_key`],
//! and an address holds no NUL).
//!
//! Every write of a case goes through [`put`], which moves the case's record in the same
//! transaction when its last activity changes, so the index and the cases never disagree, not
//! even after a crash; a store made before the index has it built when it opens, marked by
//! [`BUILT`].

use prost::Message as _;
use trm_proto::pb;

use super::combine::{Abort, Trees};
use super::{CASES_TREE, NodeStore, StoreError, corrupt, newest_first};

/// The index's tree.
pub(super) const TREE: &str = "case_activity";

/// The default tree's key that says the index is built.
pub(super) const BUILT: &[u8] = b"case-activity-index";

/// When the case was last active, as the list orders it.
fn activity(case: &pb::StoredCase) -> u64 {
    case.summary.as_ref().map_or(0, |s| s.last_activity_ms)
}

/// A case as read inside a transaction, with the last activity its index record names.
pub(super) struct Read {
    /// The case.
    pub(super) case: pb::StoredCase,
    /// Its last activity as stored; `None` for a case not stored yet.
    pub(super) indexed_at: Option<u64>,
}

/// In a transaction: the case under `case_key`, `None` when there is none.
pub(super) fn read(t: &Trees<'_>, case_key: &[u8]) -> Result<Option<Read>, Abort> {
    let Some(bytes) = t.cases.get(case_key)? else {
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
    t: &Trees<'_>,
    case_key: &[u8],
    indexed_at: Option<u64>,
    case: &pb::StoredCase,
) -> Result<(), Abort> {
    let at = activity(case);
    if indexed_at != Some(at) {
        if let Some(before) = indexed_at {
            t.case_activity
                .remove(newest_first::record(before, case_key))?;
        }
        t.case_activity
            .insert(newest_first::record(at, case_key), &[])?;
    }
    t.cases.insert(case_key, case.encode_to_vec())?;
    Ok(())
}

/// Builds the index unless it is built (see [`newest_first::build`]).
pub(super) fn ensure(
    db: &sled::Db,
    index: &sled::Tree,
    cases: &sled::Tree,
) -> Result<(), StoreError> {
    newest_first::build(db, index, cases, BUILT, "cases by last activity", |value| {
        let case = pb::StoredCase::decode(value).map_err(|e| corrupt(CASES_TREE, e))?;
        Ok(Some(activity(&case)))
    })
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
                std::ops::Bound::Excluded(newest_first::record(after.at_ms, &after.case_key)),
                std::ops::Bound::Unbounded,
            )),
            None => engine.case_activity.iter(),
        };
        let cases = engine.cases.clone();
        Ok(records.filter_map(move |item| {
            let read = || -> Result<Option<pb::StoredCase>, StoreError> {
                let (key, _) = item?;
                let Some((at_ms, case_key)) = newest_first::parse(&key) else {
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
