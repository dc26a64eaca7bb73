//! Forgetting old message ids: the `dedup` tree loses the entries this broker accepted before
//! a cut-off, read from the acceptance time in each entry's signed receipt. Why that is safe
//! is argued at [`crate::store::BrokerStore::forget_duplicates`]. Also the relay log's records
//! past their retention period.

use prost::Message;
use trm_proto::pb;

use super::{EmbeddedStore, StoreError};

/// The length of the digest in front of each `dedup` value's receipt.
const DIGEST_LEN: usize = 32;

impl EmbeddedStore {
    /// Removes the `dedup` entries accepted before `accepted_before_ms`; returns how many. An
    /// entry whose receipt does not decode is kept (it is never read for its time again, and
    /// a duplicate check still works on it).
    pub(super) fn forget_duplicates_now(
        &self,
        accepted_before_ms: u64,
    ) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for entry in self.dedup.iter() {
            let (key, value) = entry?;
            if accepted_at(&value).is_some_and(|at| at < accepted_before_ms) {
                batch.remove(key);
                removed += 1;
            }
        }
        // Not flushed: an entry that comes back after a crash is forgotten at the next sweep.
        self.dedup.apply_batch(batch)?;
        Ok(removed)
    }
}

impl EmbeddedStore {
    /// Removes the relay-log records written before `before_ms`; returns how many. The log
    /// is keyed by sequence, so oldest first: the scan stops at the first younger record.
    pub(super) fn forget_relay_records_now(&self, before_ms: u64) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for entry in self.relay_log.iter() {
            let (key, value) = entry?;
            // An unreadable record is kept: the operator's `status` reports it as corrupt.
            match pb::RelayRecord::decode(value.as_ref()) {
                Ok(record) if record.at_ms < before_ms => {
                    batch.remove(key);
                    removed += 1;
                }
                Ok(_) => break,
                Err(_) => {}
            }
        }
        // Not flushed: a record that comes back after a crash goes at the next sweep.
        self.relay_log.apply_batch(batch)?;
        Ok(removed)
    }
}

/// When the broker accepted the envelope of a `dedup` value (digest ‖ signed receipt).
fn accepted_at(value: &[u8]) -> Option<u64> {
    let signed = pb::SignedReceipt::decode(value.get(DIGEST_LEN..)?).ok()?;
    let receipt = pb::Receipt::decode(signed.receipt.as_slice()).ok()?;
    Some(receipt.at_ms)
}
