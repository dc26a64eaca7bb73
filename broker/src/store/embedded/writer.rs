//! The broker store's writer thread: every intake, completion and relay answer goes to one
//! thread, which takes all that is waiting (up to [`MAX_BATCH`]), applies it, in the order it
//! came, as **one** sled transaction, waits for the group commit's flush
//! ([`trm_storage::GroupCommit`]), and only then answers: a change is durable when its caller
//! hears of it.
//!
//! Why: each sled transaction writes and syncs sled's log buffer about twice (sled 0.34 rolls
//! its I/O buffer before and after pinning a batch, and every buffer write is a synchronous
//! `sync_file_range`), whatever the transaction holds. One transaction per caller made the
//! broker do about two synchronous device writes per envelope; one per group of callers makes
//! it a fraction of one. The flush inside the writer's round is what makes the groups large:
//! whatever arrives while one batch is flushed waits and goes into the next transaction
//! together, so batches grow with the load by themselves. (When callers waited for the flush
//! after being answered, the writer ran a transaction for every two or three envelopes under
//! load, each with its two log writes.)
//!
//! A change that aborts (a damaged record) fails alone: the batch runs again without it, so
//! the others commit whole and in order. The writer also keeps the queue usage counters
//! ([`crate::store::counted::Counters`]) under the same lock as its commits, so that a count read from
//! them always matches what is committed, and writes the usage records on disk
//! ([`super::usage_records`]) in each batch's transaction.
//!
//! **Architecture Invariant:** a change commits whole or not at all, with the other changes of
//! its batch or without them; changes commit in the order they were handed in.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};
use tokio::sync::oneshot;

use trm_storage::{GroupCommit, StorageError};

use super::StoreError;
use crate::store::counted::{Counters, Delta};

/// The most changes one transaction takes.
const MAX_BATCH: usize = 512;

/// How a change gives up: abort with an error, or a sled conflict (retried by sled).
pub(super) type Abort = ConflictableTransactionError<StoreError>;

/// The trees a change writes, inside the batch's transaction.
pub(super) struct Tx<'a> {
    /// The duplicate table.
    pub(super) dedup: &'a TransactionalTree,
    /// The delivery queues.
    pub(super) queue: &'a TransactionalTree,
    /// The outboxes.
    pub(super) outbox: &'a TransactionalTree,
    /// The relay log.
    pub(super) relay_log: &'a TransactionalTree,
    /// The set-aside table.
    pub(super) aside: &'a TransactionalTree,
    /// The expiry index ([`super::expiry_index`]).
    pub(super) expiry: &'a TransactionalTree,
}

/// The trees the writer's transactions span.
#[derive(Clone)]
pub(super) struct Trees {
    /// The duplicate table.
    pub(super) dedup: sled::Tree,
    /// The delivery queues.
    pub(super) queue: sled::Tree,
    /// The outboxes.
    pub(super) outbox: sled::Tree,
    /// The relay log.
    pub(super) relay_log: sled::Tree,
    /// The set-aside table.
    pub(super) aside: sled::Tree,
    /// The expiry index ([`super::expiry_index`]).
    pub(super) expiry: sled::Tree,
    /// The quotas' usage records ([`super::usage_records`]), written after a batch's changes.
    pub(super) usage: sled::Tree,
}

/// A change: run inside the batch's transaction (perhaps more than once: sled retries on
/// conflict, and a batch runs again without a change that aborted), recording the usage it
/// adds or removes in the vector it is given.
type Change = Box<dyn Fn(&Tx<'_>, &mut Vec<Delta>) -> Result<(), Abort> + Send + Sync>;

/// A change and where its outcome goes.
type Job = (Change, oneshot::Sender<Result<(), StoreError>>);

/// Hands changes to the writer thread. Dropping it ends the thread and waits for it, so that
/// the database is released when the store is.
pub(super) struct Writer {
    /// The way to the thread; `None` once dropping.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    /// The thread, joined on drop.
    thread: Option<JoinHandle<()>>,
    /// How many transactions the thread has run.
    transactions: Arc<AtomicU64>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the broker store's writer thread panicked");
        }
    }
}

/// The error for a change the writer can no longer take.
fn stopped() -> StoreError {
    StoreError::Engine("the broker store's writer thread has stopped".into())
}

impl Writer {
    /// Starts the writer thread over `trees`, keeping `counters` in step with its commits and
    /// making each batch durable through `durable` before it answers.
    pub(super) fn start(
        trees: Trees,
        counters: Arc<Mutex<Counters>>,
        durable: GroupCommit,
    ) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let transactions = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&transactions);
        let thread = std::thread::Builder::new()
            .name("trm-broker-writer".into())
            .spawn(move || write(&trees, &counters, &durable, &queue, &counted))
            .map_err(|e| StoreError::Open(Box::new(e)))?;
        Ok(Self {
            jobs: Mutex::new(Some(jobs)),
            thread: Some(thread),
            transactions,
        })
    }

    /// Hands `change` to the writer thread; its outcome comes on the returned channel once its
    /// batch is committed and flushed.
    fn hand_in(
        &self,
        change: Change,
    ) -> Result<oneshot::Receiver<Result<(), StoreError>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .ok_or_else(stopped)?
            .send((change, reply))
            .map_err(|_| stopped())?;
        Ok(answer)
    }

    /// How many transactions have run: fewer than changes means changes were combined.
    pub(super) fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// Runs `change` in a transaction, alone or with other callers' changes, and returns its
    /// result once committed and flushed.
    pub(super) async fn run<R: Send + 'static>(
        &self,
        change: impl Fn(&Tx<'_>, &mut Vec<Delta>) -> Result<R, Abort> + Send + Sync + 'static,
    ) -> Result<R, StoreError> {
        let output: Arc<Mutex<Option<R>>> = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&output);
        let boxed: Change = Box::new(move |tx, deltas| {
            let value = change(tx, deltas)?;
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
            Ok(())
        });
        self.hand_in(boxed)?.await.map_err(|_| stopped())??;
        let value = output.lock().unwrap_or_else(PoisonError::into_inner).take();
        value.ok_or_else(|| StoreError::Corrupt {
            tree: "writer",
            message: "a committed change left no result".into(),
        })
    }
}

/// The writer thread: commits what is waiting, batch by batch, and answers each batch once it
/// is flushed, until every handle is gone.
fn write(
    trees: &Trees,
    counters: &Mutex<Counters>,
    durable: &GroupCommit,
    queue: &mpsc::Receiver<Job>,
    transactions: &AtomicU64,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = commit(trees, counters, batch, transactions);
        if committed.is_empty() {
            continue;
        }
        // Also when every change found a duplicate: the originals may not be flushed yet.
        match durable.durable_blocking() {
            Ok(()) => {
                for reply in committed {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                for reply in committed {
                    let _ = reply.send(Err(for_each_caller(&e)));
                }
            }
        }
    }
}

/// A failed flush, told to each caller whose change it was to make durable.
fn for_each_caller(error: &StorageError) -> StoreError {
    match error {
        StorageError::Flush(cause) => StorageError::Flush(Arc::clone(cause)).into(),
        StorageError::FlusherStopped => StorageError::FlusherStopped.into(),
        other => StoreError::Durability(other.to_string().into()),
    }
}

/// How one run of a batch ended.
enum Run {
    /// Every change is committed; the usage they changed.
    Committed(Vec<Delta>),
    /// The change at this index aborted with this error; nothing was written.
    Aborted(usize, StoreError),
    /// sled failed; nothing was written, or the database is failing.
    Storage(sled::Error),
    /// A change panicked; nothing was written.
    Panicked,
}

/// Runs `batch` as one transaction.
fn run(trees: &Trees, batch: &[Job]) -> Run {
    let failed = Mutex::new(None::<usize>);
    let deltas = Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        (
            &trees.dedup,
            &trees.queue,
            &trees.outbox,
            &trees.relay_log,
            &trees.aside,
            &trees.expiry,
            &trees.usage,
        )
            .transaction(|(dedup, queue, outbox, relay_log, aside, expiry, usage)| {
                let tx = Tx {
                    dedup,
                    queue,
                    outbox,
                    relay_log,
                    aside,
                    expiry,
                };
                // A rerun after a conflict starts afresh.
                let mut changed = Vec::new();
                for (i, (change, _)) in batch.iter().enumerate() {
                    if let Err(e) = change(&tx, &mut changed) {
                        *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(i);
                        return Err(e);
                    }
                }
                super::usage_records::apply(usage, &changed)?;
                *deltas.lock().unwrap_or_else(PoisonError::into_inner) = changed;
                Ok(())
            })
    }));
    match result {
        Ok(Ok(())) => Run::Committed(deltas.into_inner().unwrap_or_else(PoisonError::into_inner)),
        Ok(Err(TransactionError::Abort(e))) => {
            let at = failed
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .unwrap_or(0);
            Run::Aborted(at, e)
        }
        Ok(Err(TransactionError::Storage(e))) => Run::Storage(e),
        Err(_) => Run::Panicked,
    }
}

/// Commits a batch and returns the callers whose changes are committed, to be answered once
/// they are flushed. A change that aborts is answered with its error at once and the batch
/// runs again without it; a storage error or a panic fails the whole batch (nothing of it was
/// written).
fn commit(
    trees: &Trees,
    counters: &Mutex<Counters>,
    mut batch: Vec<Job>,
    transactions: &AtomicU64,
) -> Vec<oneshot::Sender<Result<(), StoreError>>> {
    // Held from before the transaction until its usage is counted: a count read meanwhile
    // waits, and never sees a commit without its usage or the reverse.
    let mut counted = counters.lock().unwrap_or_else(PoisonError::into_inner);
    while !batch.is_empty() {
        transactions.fetch_add(1, Ordering::Relaxed);
        match run(trees, &batch) {
            Run::Committed(deltas) => {
                counted.apply(&deltas);
                return batch.into_iter().map(|(_, reply)| reply).collect();
            }
            Run::Aborted(at, e) => {
                let at = at.min(batch.len().saturating_sub(1));
                let (_, reply) = batch.remove(at);
                let _ = reply.send(Err(e));
            }
            Run::Storage(e) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::from(e.clone())));
                }
            }
            Run::Panicked => {
                tracing::error!("a broker store change panicked; its batch is refused");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Corrupt {
                        tree: "writer",
                        message: "a change failed unexpectedly".into(),
                    }));
                }
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Hands the writer a change that stores `key` and returns where its answer comes.
    fn store(
        writer: &Writer,
        key: &str,
    ) -> Result<oneshot::Receiver<Result<(), StoreError>>, StoreError> {
        let key = key.as_bytes().to_vec();
        writer.hand_in(Box::new(move |tx, _| {
            tx.queue.insert(key.as_slice(), b"item".as_slice())?;
            Ok(())
        }))
    }

    /// The writer's trees in `db`.
    fn trees(db: &sled::Db) -> sled::Result<Trees> {
        Ok(Trees {
            dedup: db.open_tree("dedup")?,
            queue: db.open_tree("queue")?,
            outbox: db.open_tree("outbox")?,
            relay_log: db.open_tree("relay_log")?,
            aside: db.open_tree("aside")?,
            expiry: db.open_tree("expiry")?,
            usage: db.open_tree("usage")?,
        })
    }

    /// Changes handed in while a batch is being flushed wait, commit together as the next
    /// transaction, and are answered only once that transaction is flushed in turn.
    #[test]
    fn what_arrives_during_a_flush_is_the_next_transaction_answered_after_its_own_flush()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = trm_storage::open_db(dir.path())?;
        let trees = trees(&db)?;
        // Each flush says that it began, then waits to be let go.
        let (began, flush_began) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let flushed = db.clone();
        let durable = GroupCommit::with_flush(move || {
            let _ = began.send(());
            let _ = released.recv();
            flushed.flush().map(drop)
        })?;
        let writer = Writer::start(trees.clone(), Arc::default(), durable)?;

        let mut first = store(&writer, "first")?;
        flush_began.recv()?;
        let mut others = (0..10)
            .map(|i| store(&writer, &format!("other {i}")))
            .collect::<Result<Vec<_>, _>>()?;
        assert!(first.try_recv().is_err(), "answered before its flush ended");
        assert_eq!(writer.transactions(), 1, "committed while a flush ran");

        release.send(())?;
        first.blocking_recv()??;
        flush_began.recv()?;
        assert_eq!(writer.transactions(), 2, "the ten were not one transaction");
        assert_eq!(trees.queue.len(), 11);
        for other in &mut others {
            assert!(other.try_recv().is_err(), "answered before its flush ended");
        }
        release.send(())?;
        for other in others {
            other.blocking_recv()??;
        }
        Ok(())
    }

    /// A batch whose flush fails is answered with that failure, every change of it: nothing
    /// is acknowledged that may not be on disk.
    #[test]
    fn a_failed_flush_fails_every_change_of_its_batch() -> TestResult {
        let dir = tempfile::tempdir()?;
        let db = trm_storage::open_db(dir.path())?;
        let durable = GroupCommit::with_flush(|| {
            Err(sled::Error::Io(std::io::Error::other("the disk went away")))
        })?;
        let writer = Writer::start(trees(&db)?, Arc::default(), durable)?;
        let answers = (0..3)
            .map(|i| store(&writer, &format!("change {i}")))
            .collect::<Result<Vec<_>, _>>()?;
        for answer in answers {
            match answer.blocking_recv()? {
                Err(StoreError::Durability(e)) => {
                    assert!(e.to_string().contains("the disk went away"), "{e}");
                }
                other => return Err(format!("acknowledged without a flush: {other:?}").into()),
            }
        }
        Ok(())
    }
}
