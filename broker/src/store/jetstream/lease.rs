//! Leases in the KV bucket `<prefix>_<broker>_leases`: a key per lease, whose value names its
//! holder. Taking one is a create-only write (it fails while another holder's value is there);
//! renewing is a write that expects the revision of the holder's last one, so a holder whose
//! lease lapsed and was taken meanwhile learns that it lost it. The bucket keeps a value for
//! [`LEASE_TTL`] (its `max_age`): a lease not renewed for that long lapses by itself, and the
//! server's clock alone measures it. A lease held under the taker's own name is taken back at
//! once: the holder names a process by its machine and data folder, so that is the same broker
//! process restarted (two live processes cannot share a data folder).

use async_nats::jetstream::kv;
use bytes::Bytes;

use super::{JetStreamStore, engine};
use crate::lease::LEASE_TTL;
use crate::store::StoreError;

/// A key no lease uses, read when the store opens to know that the bucket answers reads.
pub(super) const READINESS_PROBE: &str = "readiness-probe";

/// The bucket's configuration: one value per key, kept [`LEASE_TTL`].
pub(super) fn bucket(name: String, replicas: usize) -> kv::Config {
    kv::Config {
        bucket: name,
        description: "trm broker relay leases".into(),
        history: 1,
        max_age: LEASE_TTL,
        storage: async_nats::jetstream::stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    }
}

impl JetStreamStore {
    /// See [`crate::store::BrokerStore::lease`].
    pub(super) async fn lease_now(
        &self,
        key: &str,
        holder: &str,
        revision: u64,
    ) -> Result<Option<u64>, StoreError> {
        let value = Bytes::copy_from_slice(holder.as_bytes());
        if revision == 0 {
            match self.leases.create(key, value.clone()).await {
                Ok(revision) => Ok(Some(revision)),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    // Held under our own name: by this process before it was restarted, so
                    // take it back now rather than wait for it to lapse.
                    match self.leases.entry(key).await.map_err(engine)? {
                        Some(entry)
                            if entry.operation == kv::Operation::Put && entry.value == value =>
                        {
                            match self.leases.update(key, value, entry.revision).await {
                                Ok(revision) => Ok(Some(revision)),
                                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                                    Ok(None)
                                }
                                Err(e) => Err(engine(e)),
                            }
                        }
                        _ => Ok(None),
                    }
                }
                Err(e) => Err(engine(e)),
            }
        } else {
            match self.leases.update(key, value, revision).await {
                Ok(revision) => Ok(Some(revision)),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
                Err(e) => Err(engine(e)),
            }
        }
    }

    /// See [`crate::store::BrokerStore::release`].
    pub(super) async fn release_now(&self, key: &str, revision: u64) -> Result<(), StoreError> {
        // A lease already lost or taken by another holder is not ours to remove: the
        // expected revision makes the deletion fail then, which is no error.
        let _ = self
            .leases
            .delete_expect_revision(key, Some(revision))
            .await;
        Ok(())
    }
}
