//! The embedded store that survives a full or failing disk: [`RecoveringStore`] holds the
//! current [`EmbeddedStore`] behind a lock and a [`WriteHealth`].
//!
//! A write that fails with an engine error faults the store: that write fails as before (its
//! outcome is unknown, so its caller retries), and every later one is refused with
//! [`StoreError::Refused`] (RESOURCE_EXHAUSTED for a full disk) without touching sled, while
//! reads go on against the database as it is. sled's I/O errors are
//! sticky (a database that failed a write fails every later one), so recovery reopens it: the
//! task of [`trm_storage::fault::watch_recovery`] waits until the disk takes writes again, then
//! [`RecoveringStore::reopen`] drops the failed database, opens the directory afresh (sled's
//! own recovery discards the torn tail of its log; everything acknowledged was flushed before
//! it was acknowledged) and puts it in place. No restart, and nothing acknowledged is lost.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;
use trm_storage::{EngineSettings, WriteHealth};

use super::EmbeddedStore;
use crate::store::{
    BrokerStore, Intake, Lapsed, Outgoing, Queued, RelayAnswer, Route, SetAside, StoreError,
    StoreFuture, Stored, Usage,
};

/// How long a reopen waits for operations still using the failed database, and the engine's
/// own threads, to let go of it (seconds on a busy machine).
const RELEASE_WAIT: Duration = Duration::from_secs(30);

/// Whose store, in refusals and logs.
const OWNER: &str = "the broker's store";

/// What a faulted broker refuses.
const WORK: &str = "new envelopes";

/// The embedded store, reopened by itself after a storage fault.
pub struct RecoveringStore {
    /// The database directory.
    dir: PathBuf,
    /// How the database is opened, at start and at each reopen.
    engine: EngineSettings,
    /// The database in use; `None` only while it is being reopened.
    current: RwLock<Option<Arc<EmbeddedStore>>>,
    /// Whether writes are taken.
    health: WriteHealth,
}

impl RecoveringStore {
    /// Opens the database in `dir` and, inside a Tokio runtime, starts the task that recovers
    /// it after a fault (it ends when the store is dropped).
    pub fn open(dir: &Path) -> Result<Arc<Self>, StoreError> {
        Self::open_with(dir, EngineSettings::default())
    }

    /// As [`RecoveringStore::open`], with `engine`'s settings.
    pub fn open_with(dir: &Path, engine: EngineSettings) -> Result<Arc<Self>, StoreError> {
        let store = Arc::new(Self {
            dir: dir.to_path_buf(),
            engine,
            current: RwLock::new(Some(Arc::new(EmbeddedStore::open_with(dir, &engine)?))),
            health: WriteHealth::new(OWNER, WORK, dir),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(trm_storage::fault::watch_recovery(
                Arc::downgrade(&store),
                store.health.clone(),
                Self::reopen,
            ));
        }
        Ok(store)
    }

    /// Whether writes are taken.
    pub fn health(&self) -> &WriteHealth {
        &self.health
    }

    /// The database in use.
    fn current(&self) -> Result<Arc<EmbeddedStore>, StoreError> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        match &*current {
            Some(store) => Ok(Arc::clone(store)),
            // Between dropping the failed database and opening the new one.
            None => Err(StoreError::Refused(self.refusal())),
        }
    }

    /// The refusal to answer while faulted.
    fn refusal(&self) -> trm_storage::WriteRefused {
        match self.health.check() {
            Err(refusal) => refusal,
            // Not faulted but reopening: cannot happen, as only recovery reopens; answer as a
            // failing disk rather than pretend.
            Ok(()) => self
                .health
                .failed(&std::io::Error::other("the store is reopening")),
        }
    }

    /// Records an engine failure as the fault (logged once) and passes the error on unchanged:
    /// the write that failed may or may not be on disk, so its caller is told to retry
    /// (UNAVAILABLE; a retried envelope is answered from the duplicate table if it was stored),
    /// while the writes after it are refused before they start (RESOURCE_EXHAUSTED for a full
    /// disk), which is a definite answer.
    fn observe(&self, error: StoreError) -> StoreError {
        if matches!(
            error,
            StoreError::Engine(_) | StoreError::Durability(_) | StoreError::Open(_)
        ) {
            self.health.failed(&error);
        }
        error
    }

    /// Refuses at once while faulted; otherwise the database in use.
    fn writable(&self) -> Result<Arc<EmbeddedStore>, StoreError> {
        self.health.check()?;
        self.current()
    }

    /// Replaces the failed database with a freshly opened one. Blocks on disk I/O.
    fn reopen(&self) -> Result<(), StoreError> {
        let failed = self
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(failed) = failed {
            // sled holds the directory's lock until every handle is gone: wait for writes and
            // reads still under way on the failed database to finish.
            let released = Arc::downgrade(&failed);
            drop(failed);
            let deadline = Instant::now() + RELEASE_WAIT;
            while released.strong_count() > 0 {
                if Instant::now() >= deadline {
                    // Put it back (refusing writes still) and try again at the next check.
                    let back = released.upgrade();
                    *self.current.write().unwrap_or_else(PoisonError::into_inner) = back;
                    return Err(StoreError::Open(
                        "the failed database is still in use; retrying".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // The engine's own threads (its background flusher) let the folder's lock go a moment
        // after the last handle, later still on a busy machine: the open waits for them.
        let deadline = Instant::now() + RELEASE_WAIT;
        let fresh = loop {
            match EmbeddedStore::open_with(&self.dir, &self.engine) {
                Err(StoreError::Open(e)) if Instant::now() < deadline => {
                    tracing::debug!(cause = %e, "the failed database is not released yet");
                    std::thread::sleep(Duration::from_millis(10));
                }
                opened => break opened?,
            }
        };
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(fresh));
        Ok(())
    }
}

impl BrokerStore for RecoveringStore {
    fn intake(&self, items: Vec<Intake>) -> StoreFuture<'_, Vec<Stored>> {
        Box::pin(async move {
            let store = self.writable()?;
            store.intake(items).await.map_err(|e| self.observe(e))
        })
    }

    fn pending<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        after: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .pending(recipient, after, limit)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn pending_except<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        skip: &'a std::collections::BTreeSet<u64>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .pending_except(recipient, skip, limit)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn item<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        sequence: u64,
    ) -> StoreFuture<'a, Option<pb::Delivery>> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .item(recipient, sequence)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn complete(
        &self,
        recipient: NodeAddr,
        sequence: u64,
        route: Option<Route>,
    ) -> StoreFuture<'_, Option<u64>> {
        Box::pin(async move {
            let store = self.writable()?;
            store
                .complete(recipient, sequence, route)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn outgoing_skipping<'a>(
        &'a self,
        peer: &'a BrokerName,
        skip: &'a [u64],
        max_items: usize,
        max_bytes: usize,
    ) -> StoreFuture<'a, Vec<Outgoing>> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .outgoing_skipping(peer, skip, max_items, max_bytes)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn set_aside(&self, items: Vec<SetAside>) -> StoreFuture<'_, usize> {
        Box::pin(async move {
            let store = self.writable()?;
            store.set_aside(items).await.map_err(|e| self.observe(e))
        })
    }

    fn set_aside_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let store = self.current()?;
            store.set_aside_len(peer).await.map_err(|e| self.observe(e))
        })
    }

    fn set_aside_items<'a>(
        &'a self,
        peer: Option<&'a BrokerName>,
    ) -> StoreFuture<'a, Vec<SetAside>> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .set_aside_items(peer)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn relayed(&self, peer: BrokerName, answer: RelayAnswer) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let store = self.writable()?;
            store
                .relayed(peer, answer)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn relay_log(&self) -> StoreFuture<'_, Vec<pb::RelayRecord>> {
        Box::pin(async move {
            let store = self.current()?;
            store.relay_log().await.map_err(|e| self.observe(e))
        })
    }

    fn queue_len<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .queue_len(recipient)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn outbox_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let store = self.current()?;
            store.outbox_len(peer).await.map_err(|e| self.observe(e))
        })
    }

    fn queue_usage<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, Usage> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .queue_usage(recipient)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn relayed_usage<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, Usage> {
        Box::pin(async move {
            let store = self.current()?;
            store.relayed_usage(peer).await.map_err(|e| self.observe(e))
        })
    }

    fn lapsed(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<Lapsed>> {
        Box::pin(async move {
            let store = self.current()?;
            store
                .lapsed(now_ms, limit)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn forget_duplicates(&self, accepted_before_ms: u64) -> StoreFuture<'_, usize> {
        Box::pin(async move {
            let store = self.writable()?;
            store
                .forget_duplicates(accepted_before_ms)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn forget_relay_records(&self, before_ms: u64) -> StoreFuture<'_, usize> {
        Box::pin(async move {
            let store = self.writable()?;
            store
                .forget_relay_records(before_ms)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn put_prekeys<'a>(
        &'a self,
        node: &'a NodeAddr,
        set: &'a pb::PrekeySet,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let store = self.writable()?;
            store
                .put_prekeys(node, set)
                .await
                .map_err(|e| self.observe(e))
        })
    }

    fn prekeys<'a>(&'a self, node: &'a NodeAddr) -> StoreFuture<'a, Option<pb::PrekeySet>> {
        Box::pin(async move {
            let store = self.current()?;
            store.prekeys(node).await.map_err(|e| self.observe(e))
        })
    }

    fn writable(&self) -> Option<watch::Receiver<bool>> {
        Some(self.health.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[tokio::test]
    async fn a_fault_refuses_writes_keeps_reads_and_a_reopen_clears_it() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = RecoveringStore::open(dir.path())?;
        let astra: NodeAddr = "astra@at".parse()?;
        assert_eq!(store.queue_len(&astra).await?, 0);
        let failure = StoreError::Engine(Box::new(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        )));
        let failed = store.observe(failure);
        assert!(matches!(&failed, StoreError::Engine(_)), "{failed:?}");
        // Later writes are refused without reaching the database; reads go on.
        let write = store.intake(Vec::new()).await;
        assert!(
            matches!(&write, Err(StoreError::Refused(r)) if r.is_full()),
            "{write:?}"
        );
        assert_eq!(store.queue_len(&astra).await?, 0);

        // The recovery task sees the fault at its next check, finds the disk taking writes,
        // reopens the database and ends the fault (reopening here as well would race it for
        // the folder's lock).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while store.health().is_faulted() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not recovered by itself"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(store.intake(Vec::new()).await?.is_empty());
        Ok(())
    }
}
