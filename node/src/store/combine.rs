//! Combined write transactions: every change to messages, outbox, cases and the handover log
//! goes through [`Combiner::run`], which hands it to one writer thread; the writer takes every
//! change waiting (up to [`MAX_BATCH`]) and runs them, in the order they came, as one sled
//! transaction. A sled transaction costs about the same whatever it holds, and the log's head
//! record makes concurrent transactions conflict and retry, so one transaction for many changes
//! is what lets the log take tens of thousands of entries a second (audit-bench). Callers wait
//! asynchronously, so many tasks can have changes waiting even on a two-core machine.
//!
//! Each change is a closure over [`Trees`] that may run more than once (sled retries on
//! conflict, and a batch is run again without a change that failed); it must only read and
//! write through the trees it is given. A change that fails (a refused case step, say) fails
//! alone: the changes before it commit on their own and the ones after it run on. The result a caller gets is
//! its change's own, and it is not durable until the store's group commit says so (every
//! operation of [`super::NodeStore`] waits for that before it returns), exactly as with a
//! transaction of its own.
//!
//! **Architecture Invariant:** a change commits whole or not at all, with the other changes of
//! its batch or without them; changes commit in the order they were handed in.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};
use tokio::sync::oneshot;

use super::StoreError;
use super::log::LogAppender;

/// The most changes one transaction takes.
pub(super) const MAX_BATCH: usize = 256;

/// How a change gives up: abort with an error, or a sled conflict (retried).
pub(super) type Abort = ConflictableTransactionError<StoreError>;

/// The trees a change writes, inside the batch's transaction.
pub(super) struct Trees<'a> {
    /// Stored messages.
    pub(super) messages: &'a TransactionalTree,
    /// The outbox.
    pub(super) outbox: &'a TransactionalTree,
    /// The handover log, which a change can only append to.
    pub(super) log: LogAppender<'a>,
    /// Cases.
    pub(super) cases: &'a TransactionalTree,
    /// Idempotency keys of the requests that created messages.
    pub(super) idempotency: &'a TransactionalTree,
    /// The onward-sharing index.
    pub(super) onward: &'a TransactionalTree,
    /// Cases in the list's order.
    pub(super) case_activity: &'a TransactionalTree,
    /// Received messages in the inbox's order.
    pub(super) received_order: &'a TransactionalTree,
}

type Change = Box<dyn Fn(&Trees<'_>) -> Result<(), Abort> + Send + Sync>;
type Job = (Change, oneshot::Sender<Result<(), StoreError>>);

/// The store's trees a change writes.
#[derive(Clone)]
pub(super) struct StoreTrees {
    /// Stored messages.
    pub(super) messages: sled::Tree,
    /// The outbox.
    pub(super) outbox: sled::Tree,
    /// The handover log.
    pub(super) log: sled::Tree,
    /// Cases.
    pub(super) cases: sled::Tree,
    /// Idempotency keys.
    pub(super) idempotency: sled::Tree,
    /// The onward-sharing index.
    pub(super) onward: sled::Tree,
    /// Cases in the list's order.
    pub(super) case_activity: sled::Tree,
    /// Received messages in the inbox's order.
    pub(super) received_order: sled::Tree,
}

/// Hands changes to the writer thread. Dropping it ends the thread and waits for it, so the
/// database is released when the store is.
pub(super) struct Combiner {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Option<std::thread::JoinHandle<()>>,
    /// Held shared by the writer while it runs a batch; [`Combiner::pause`] holds it alone.
    gate: Arc<RwLock<()>>,
}

/// While held, the writer runs no batch (changes keep queueing); dropping it lets it go on.
pub(super) struct Paused<'a> {
    _writer: RwLockWriteGuard<'a, ()>,
}

impl Drop for Combiner {
    fn drop(&mut self) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Corrupt {
        tree: "writer",
        message: "the store's writer thread has stopped".into(),
    }
}

impl Combiner {
    /// Starts the writer thread over `trees`.
    pub(super) fn start(trees: StoreTrees) -> Result<Self, std::io::Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let gate = Arc::new(RwLock::new(()));
        let writer_gate = gate.clone();
        let writer = std::thread::Builder::new()
            .name("trm-store-writer".into())
            .spawn(move || write(&trees, &queue, &writer_gate))?;
        Ok(Self {
            jobs: Mutex::new(Some(jobs)),
            writer: Some(writer),
            gate,
        })
    }

    /// Waits until the writer has finished the batch it is running, then keeps it from
    /// starting another until the returned guard is dropped: the trees it writes stay as they
    /// are, one point in time (the snapshot of a backup). Blocking: call off the runtime.
    pub(super) fn pause(&self) -> Paused<'_> {
        Paused {
            _writer: self.gate.write().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Holds the writer's gate as a batch does, for a change made in a transaction of its own
    /// (an outbox record set aside): [`Combiner::pause`] waits for it, so a snapshot never
    /// sees it half done. Blocks only while a snapshot copies the trees.
    pub(super) fn hold(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `change` in a transaction, alone or with other callers' changes; returns its
    /// result once committed.
    pub(super) async fn run<R: Send + 'static>(
        &self,
        change: impl Fn(&Trees<'_>) -> Result<R, Abort> + Send + Sync + 'static,
    ) -> Result<R, StoreError> {
        let output: Arc<Mutex<Option<R>>> = Arc::new(Mutex::new(None));
        let slot = output.clone();
        let boxed: Change = Box::new(move |trees| {
            let value = change(trees)?;
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
            Ok(())
        });
        let (reply, done) = oneshot::channel();
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .ok_or_else(stopped)?
            .send((boxed, reply))
            .map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())??;
        let value = output.lock().unwrap_or_else(PoisonError::into_inner).take();
        value.ok_or_else(|| StoreError::Corrupt {
            tree: "writer",
            message: "a committed change left no result".into(),
        })
    }
}

/// The writer thread: commits what is waiting, batch by batch, until every handle is gone.
fn write(trees: &StoreTrees, queue: &mpsc::Receiver<Job>, gate: &RwLock<()>) {
    while let Ok(first) = queue.recv() {
        let _running = gate.read().unwrap_or_else(PoisonError::into_inner);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(trees, batch);
    }
}

/// How one run of a batch ended.
enum Run {
    Committed,
    /// The change at this index aborted with this error; nothing was written.
    Aborted(usize, StoreError),
    Storage(sled::Error),
    Panicked,
}

/// Runs `batch` as one transaction.
fn run(trees: &StoreTrees, batch: &[Job]) -> Run {
    let failed = Mutex::new(None::<usize>);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        (
            &trees.messages,
            &trees.outbox,
            &trees.log,
            &trees.cases,
            &trees.idempotency,
            &trees.onward,
            &trees.case_activity,
            &trees.received_order,
        )
            .transaction(
                |(
                    messages,
                    outbox,
                    log,
                    cases,
                    idempotency,
                    onward,
                    case_activity,
                    received_order,
                )| {
                    *failed.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    let t = Trees {
                        messages,
                        outbox,
                        log: LogAppender::new(log),
                        cases,
                        idempotency,
                        onward,
                        case_activity,
                        received_order,
                    };
                    for (i, (change, _)) in batch.iter().enumerate() {
                        if let Err(e) = change(&t) {
                            *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(i);
                            return Err(e);
                        }
                    }
                    Ok(())
                },
            )
    }));
    match result {
        Ok(Ok(())) => Run::Committed,
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

/// Commits a batch: a change that aborts is answered with its error, the changes before it
/// are committed on their own (they ran fine) and the ones after it run on, so each failure
/// costs one more transaction, not a rerun of the whole batch. A change that panics fails
/// its batch, not the writer.
fn commit(trees: &StoreTrees, mut batch: Vec<Job>) {
    while !batch.is_empty() {
        match run(trees, &batch) {
            Run::Committed => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            Run::Aborted(at, e) => {
                let at = at.min(batch.len() - 1);
                let mut after = batch.split_off(at);
                let (_, reply) = after.remove(0);
                let _ = reply.send(Err(e));
                commit(trees, std::mem::take(&mut batch));
                batch = after;
            }
            Run::Storage(e) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Engine(e.clone())));
                }
            }
            Run::Panicked => {
                tracing::error!("a store change panicked; its batch is refused");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Corrupt {
                        tree: "writer",
                        message: "a change failed unexpectedly".into(),
                    }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_changes_commit_in_order_and_a_failing_one_fails_alone()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let db = sled::open(dir.path())?;
        let trees = StoreTrees {
            messages: db.open_tree("messages")?,
            outbox: db.open_tree("outbox")?,
            log: db.open_tree("log")?,
            cases: db.open_tree("cases")?,
            idempotency: db.open_tree("idempotency")?,
            onward: db.open_tree("onward_sharing")?,
            case_activity: db.open_tree("case_activity")?,
            received_order: db.open_tree("received_order")?,
        };
        let combiner = Arc::new(Combiner::start(trees.clone())?);
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..1000u64 {
            let combiner = combiner.clone();
            tasks.spawn(async move {
                combiner
                    .run(move |t| {
                        if n % 97 == 0 {
                            return Err(ConflictableTransactionError::Abort(StoreError::NotFound(
                                n.to_string(),
                            )));
                        }
                        // A counter every change reads and bumps: lost updates would show.
                        let count = t.cases.get(b"count")?.map_or(0, |v| {
                            u64::from_be_bytes(v.as_ref().try_into().unwrap_or_default())
                        });
                        t.cases.insert(b"count", &(count + 1).to_be_bytes())?;
                        t.messages.insert(&n.to_be_bytes(), &count.to_be_bytes())?;
                        Ok(count)
                    })
                    .await
            });
        }
        let mut seen = Vec::new();
        let mut failures = 0;
        while let Some(result) = tasks.join_next().await {
            match result? {
                Ok(count) => seen.push(count),
                Err(StoreError::NotFound(_)) => failures += 1,
                Err(e) => return Err(e.into()),
            }
        }
        assert_eq!(failures, (0..1000u64).filter(|n| n % 97 == 0).count());
        // Every committed change saw a distinct counter value: 0, 1, 2, ... with no gaps.
        seen.sort_unstable();
        let n = seen.len() as u64;
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
        assert_eq!(
            trees.messages.len() as u64,
            n,
            "failed changes wrote nothing"
        );
        Ok(())
    }
}
