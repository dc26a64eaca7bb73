//! Indexes that order another tree's records newest first, so a page of a list reads the
//! records it shows and not every record the node holds: one record per indexed item,
//! `(u64::MAX − its time, big-endian) ‖ its key` → nothing, whose key order is newest first,
//! then by key. [`crate::store::case_list`] orders cases by last activity this way and
//! [`crate::store::inbox_list`] received messages by arrival.
//!
//! An index is written in the same transaction as what it orders. A store made before it has
//! it built when it opens ([`build`]: one pass over the tree, logged), then marked in the
//! default tree; a backup copies the index and the mark with everything else.

use super::StoreError;

/// The index record of the item under `key` at `at_ms`.
pub(super) fn record(at_ms: u64, key: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(8 + key.len());
    record.extend_from_slice(&(u64::MAX - at_ms).to_be_bytes());
    record.extend_from_slice(key);
    record
}

/// What a record names: the time and the key.
pub(super) fn parse(record: &[u8]) -> Option<(u64, &[u8])> {
    let (at, key) = record.split_first_chunk::<8>()?;
    Some((u64::MAX - u64::from_be_bytes(*at), key))
}

/// Builds `index` over `source` unless the default tree of `db` holds `built`: cleared, one
/// pass over `source` (`time_of` gives each record's time, `None` for a record left out),
/// marked, flushed.
pub(super) fn build(
    db: &sled::Db,
    index: &sled::Tree,
    source: &sled::Tree,
    built: &[u8],
    what: &str,
    time_of: impl Fn(&[u8]) -> Result<Option<u64>, StoreError>,
) -> Result<(), StoreError> {
    if db.get(built)?.is_some() {
        return Ok(());
    }
    tracing::info!(index = what, "building an index");
    index.clear()?;
    let mut indexed = 0u64;
    let mut batch = sled::Batch::default();
    for item in source.iter() {
        let (key, value) = item?;
        let Some(at_ms) = time_of(&value)? else {
            continue;
        };
        batch.insert(record(at_ms, &key), &[]);
        indexed += 1;
        if indexed.is_multiple_of(10_000) {
            index.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    index.apply_batch(batch)?;
    db.insert(built, &[])?;
    db.flush()?;
    tracing::info!(index = what, indexed, "built an index");
    Ok(())
}

#[cfg(test)]
mod tests {
    use trm_proto::addr::{MessageId, NodeAddr};
    use trm_proto::envelope::Header;

    use trm_proto::pb;

    use super::super::{ListPosition, NodeStore, StoreError, case_list, inbox_list};
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
            .store_received(&pb::Envelope::default(), &facts, b"body", at_ms)
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
            engine.db.remove(case_list::BUILT)?;
            engine.db.flush()?;
        }
        let reopened = NodeStore::open(dir.path())?;
        assert_eq!(listed(&reopened, None)?, sorted(&reopened)?);
        assert_eq!(reopened.engine()?.case_activity.len(), 12);
        Ok(())
    }

    #[tokio::test]
    async fn the_inbox_reads_the_newest_received_messages_and_is_built_for_an_old_store()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let summaries = |store: &NodeStore, limit| -> Result<Vec<u64>, StoreError> {
            Ok(store
                .inbox(limit)?
                .into_iter()
                .map(|m| m.received_at_ms)
                .collect())
        };
        {
            let store = NodeStore::open(dir.path())?;
            // Received out of order of arrival time, in cases of their own.
            for (n, at) in [5u64, 1, 9, 3, 7, 2].into_iter().enumerate() {
                let n = u32::try_from(n)?;
                let case_ref = format!("IN-{n}");
                let at = 1_700_000_000_000 + at * 1_000;
                receive(
                    &store,
                    n,
                    "astra@rs",
                    &case_ref,
                    pb::MessageKind::Referral,
                    at,
                )
                .await?;
            }
            let newest = [9u64, 7, 5, 3, 2, 1].map(|s| 1_700_000_000_000 + s * 1_000);
            assert_eq!(summaries(&store, 100)?, newest);
            assert_eq!(summaries(&store, 2)?, newest.get(..2).unwrap_or_default());
            // A delivery of a message already stored adds no second record.
            receive(
                &store,
                0,
                "astra@rs",
                "IN-0",
                pb::MessageKind::Referral,
                1_700_000_099_000,
            )
            .await?;
            assert_eq!(summaries(&store, 100)?, newest);

            let engine = store.engine()?;
            engine.received_order.clear()?;
            engine.db.remove(inbox_list::BUILT)?;
            engine.db.flush()?;
        }
        let reopened = NodeStore::open(dir.path())?;
        assert_eq!(
            summaries(&reopened, 100)?,
            [9u64, 7, 5, 3, 2, 1].map(|s| 1_700_000_000_000 + s * 1_000)
        );
        Ok(())
    }
}
