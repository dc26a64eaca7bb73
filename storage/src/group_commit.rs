//! Group commit: one flusher thread per database, and writers that wait for it.
//!
//! A writer inserts into sled, then asks for durability. Asking takes a *ticket* (a counter
//! incremented under a mutex) and wakes the flusher. The flusher snapshots the counter, makes
//! everything sled wrote durable (the module `sled_files`: sled's flush, then a sync of the blob
//! files it wrote large values to and of the database's file), and then publishes that every
//! ticket up to its snapshot is durable. A writer returns once a flush whose snapshot covers its
//! ticket has completed: such a flush began after the ticket was taken, so after the write.
//! Every write that arrives while a flush runs is covered by the next one, so under load one
//! sync serves many writers. sled's flush alone is not enough on Linux: it persists neither the
//! file's size nor the disk's write cache, nor the blob files (see the module `sled_files`).
//!
//! Blocking callers wait on a `Condvar`; async callers wait on a `tokio::sync::watch` channel,
//! so no runtime thread is ever blocked on a flush. Only the flusher thread calls `flush`, which
//! also keeps trm away from `flush_async` and its deadlock (spacejam/sled#1308).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use tokio::sync::watch;
use tracing::{debug, trace, warn};

use crate::StorageError;
use crate::sled_files::SledFiles;

/// The name of the flusher thread, as shown by `ps -T`, `top -H` and debuggers.
const THREAD_NAME: &str = "trm-flusher";

/// Makes everything written to `db` (opened in the folder `folder`) durable now, as a group
/// commit's flush does, on the caller's thread: for a writer that runs once (a restore), not
/// for a path many writers share.
pub fn flush_durably(db: &sled::Db, folder: &Path) -> Result<(), StorageError> {
    let mut files = SledFiles::open(folder)?;
    files
        .flush(db)
        .map(drop)
        .map_err(|e| StorageError::Flush(Arc::new(e)))
}

/// One flusher thread per `sled::Db`; writers wait until a flush that began after their write
/// returns.
///
/// Clones share the thread. It stops when the last clone is dropped; that drop waits for a flush
/// in progress to finish and for the thread to release its `sled::Db` handle.
#[derive(Clone)]
pub struct GroupCommit {
    /// The handle whose drop stops the thread; shared by all clones.
    owner: Arc<Owner>,
}

impl GroupCommit {
    /// Starts the flusher thread for `db`, the database opened in the folder `folder`; a
    /// flush makes everything sled wrote durable (the module `sled_files`). Fails when the
    /// database's file is not in `folder` or the thread cannot start.
    pub fn try_start(db: sled::Db, folder: &Path) -> Result<Self, StorageError> {
        let mut files = SledFiles::open(folder)?;
        Self::with_flush(move || files.flush(&db).map(drop))
    }

    /// Starts a flusher thread that makes writes durable by calling `flush`.
    ///
    /// Separate from [`GroupCommit::try_start`] so that tests (here and in the crates that
    /// build on group commit) can control when flushes finish and make them fail.
    pub fn with_flush<F>(flush: F) -> Result<Self, StorageError>
    where
        F: FnMut() -> sled::Result<()> + Send + 'static,
    {
        let (outcome, _) = watch::channel(Outcome::default());
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            settled: Condvar::new(),
            outcome,
        });
        let thread = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared, flush)
            })
            .map_err(StorageError::Spawn)?;
        debug!("flusher thread started");
        Ok(Self {
            owner: Arc::new(Owner {
                shared,
                thread: Some(thread),
            }),
        })
    }

    /// Waits, without blocking the runtime thread, until every write this task made before the
    /// call is on disk.
    ///
    /// Cancel-safe: dropping the future only stops waiting; the flush still happens.
    pub async fn durable(&self) -> Result<(), StorageError> {
        let shared = &self.owner.shared;
        // Subscribe before taking the ticket, and check the current value before each wait:
        // an outcome published in between is then never missed.
        let mut outcome = shared.outcome.subscribe();
        let ticket = shared.take_ticket();
        loop {
            if let Some(result) = outcome.borrow_and_update().settle(ticket) {
                return result;
            }
            // The sender lives in `shared`, which this handle keeps alive, so it cannot close
            // while we wait; if it somehow did, no outcome could ever arrive.
            if outcome.changed().await.is_err() {
                return Err(StorageError::FlusherStopped);
            }
        }
    }

    /// Blocks the calling thread until every write it made before the call is on disk.
    ///
    /// Not for async tasks: use [`GroupCommit::durable`] there.
    pub fn durable_blocking(&self) -> Result<(), StorageError> {
        let shared = &self.owner.shared;
        let ticket = shared.take_ticket();
        let mut state = shared.lock();
        loop {
            if let Some(result) = state.outcome.settle(ticket) {
                return result;
            }
            state = shared
                .settled
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// How many flushes have run, failed ones included.
    ///
    /// Fewer flushes than durable writes means batching happened.
    pub fn flushes(&self) -> u64 {
        self.owner.shared.lock().flushes
    }
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.owner.shared.lock();
        f.debug_struct("GroupCommit")
            .field("requested", &state.requested)
            .field("flushed", &state.flushed)
            .field("flushes", &state.flushes)
            .finish()
    }
}

/// Owns the flusher thread; dropping it (with the last `GroupCommit` clone) stops the thread.
struct Owner {
    /// The state the handles share with the thread.
    shared: Arc<Shared>,
    /// The flusher thread, joined on drop.
    thread: Option<JoinHandle<()>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_one();
        // Joining waits for at most the flush in progress. It guarantees that the thread has
        // dropped its `sled::Db` clone, so a caller that drops its own handles next has really
        // closed the database.
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            warn!("flusher thread panicked");
        }
        debug!("flusher thread stopped");
    }
}

/// What the handles and the flusher thread share.
struct Shared {
    /// Tickets, progress and outcomes.
    state: Mutex<State>,
    /// Wakes the flusher thread: a ticket was taken, or shutdown was requested.
    work: Condvar,
    /// Wakes blocking waiters: a flush finished, or the thread stopped.
    settled: Condvar,
    /// Tells async waiters about each new outcome (a copy of `state.outcome`).
    outcome: watch::Sender<Outcome>,
}

impl Shared {
    /// Locks the state.
    ///
    /// Every critical section only assigns plain fields and cannot panic half-way, so the state
    /// is consistent even if a panic elsewhere poisoned the mutex.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the next ticket and wakes the flusher.
    fn take_ticket(&self) -> u64 {
        let ticket = {
            let mut state = self.lock();
            state.requested += 1;
            state.requested
        };
        self.work.notify_one();
        ticket
    }

    /// Records the outcome of one flush, or the end of the thread, and wakes every waiter.
    fn publish(&self, update: impl FnOnce(&mut State)) {
        let outcome = {
            let mut state = self.lock();
            update(&mut state);
            state.outcome.clone()
        };
        self.settled.notify_all();
        // Only the flusher thread publishes, so outcomes reach the channel in order.
        self.outcome.send_replace(outcome);
    }
}

/// The counters behind the tickets.
#[derive(Default)]
struct State {
    /// The last ticket handed out.
    requested: u64,
    /// The snapshot of `requested` taken by the last flush that finished, successfully or not.
    flushed: u64,
    /// How many flushes have run.
    flushes: u64,
    /// What waiters need to know to settle their tickets.
    outcome: Outcome,
    /// Set when the last handle is dropped: the thread finishes pending work and exits.
    shutdown: bool,
}

/// What a waiter needs to know to settle its ticket.
#[derive(Clone, Debug, Default)]
struct Outcome {
    /// Every ticket up to this one is durable.
    durable_through: u64,
    /// The most recent failed flush.
    failure: Option<Failure>,
    /// The flusher thread has ended; tickets not yet settled never will be.
    stopped: bool,
}

/// A flush that failed.
#[derive(Clone, Debug)]
struct Failure {
    /// The snapshot of `requested` the failed flush was taken for.
    through: u64,
    /// Why it failed; every waiter of that flush reports it.
    error: Arc<sled::Error>,
}

impl Outcome {
    /// The result for `ticket`, or `None` while it is still pending.
    ///
    /// Flush snapshots only grow, so if the flush covering a ticket failed, either a later flush
    /// succeeded (which also covers the ticket: the write is durable) or the latest failure
    /// covers it as well. Either answer is safe: an error never acknowledges a lost write.
    fn settle(&self, ticket: u64) -> Option<Result<(), StorageError>> {
        if self.durable_through >= ticket {
            return Some(Ok(()));
        }
        if let Some(failure) = &self.failure
            && failure.through >= ticket
        {
            return Some(Err(StorageError::Flush(Arc::clone(&failure.error))));
        }
        if self.stopped {
            return Some(Err(StorageError::FlusherStopped));
        }
        None
    }
}

/// The flusher thread: flushes whenever tickets are pending, until shutdown.
fn run<F>(shared: &Shared, mut flush: F)
where
    F: FnMut() -> sled::Result<()>,
{
    // Marks the thread stopped however it ends, so that a panic inside sled turns into errors
    // for the waiters instead of leaving them waiting forever.
    let _stopped = StopGuard(shared);
    loop {
        let target = {
            let mut state = shared.lock();
            while state.requested == state.flushed && !state.shutdown {
                state = shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.requested == state.flushed {
                // Shutting down with nothing pending.
                return;
            }
            state.requested
        };
        let started = Instant::now();
        let result = flush();
        trace!(target, elapsed = ?started.elapsed(), ok = result.is_ok(), "flushed");
        shared.publish(|state| {
            state.flushed = target;
            state.flushes += 1;
            match result {
                Ok(()) => state.outcome.durable_through = target,
                Err(error) => {
                    warn!(%error, "flush failed");
                    state.outcome.failure = Some(Failure {
                        through: target,
                        error: Arc::new(error),
                    });
                }
            }
        });
    }
}

/// Publishes that the flusher thread has ended when dropped.
struct StopGuard<'a>(&'a Shared);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        self.0.publish(|state| state.outcome.stopped = true);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Tests return `Result` so that `?` names the failing step.
    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A database in a folder of its own, and that folder.
    fn temp_db() -> Result<(tempfile::TempDir, PathBuf, sled::Db), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let folder = dir.path().join("db");
        let db = crate::open_db(&folder)?;
        Ok((dir, folder, db))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_tasks_complete_and_share_flushes() -> TestResult {
        const WRITERS: u64 = 64;
        let (_dir, folder, db) = temp_db()?;
        let group_commit = GroupCommit::try_start(db.clone(), &folder)?;
        // All writers insert first, then ask for durability together, so that their tickets
        // arrive while a flush is running, which is what group commit is for.
        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS as usize));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..WRITERS {
            let (db, group_commit, barrier) = (db.clone(), group_commit.clone(), barrier.clone());
            tasks.spawn(async move {
                db.insert(i.to_be_bytes(), vec![7u8; 8192])?;
                barrier.wait().await;
                group_commit.durable().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            });
        }
        let finished = tokio::time::timeout(Duration::from_secs(60), async {
            let mut done = 0;
            while let Some(joined) = tasks.join_next().await {
                joined?.map_err(|e| e.to_string())?;
                done += 1;
            }
            Ok::<_, Box<dyn std::error::Error>>(done)
        })
        .await??;
        assert_eq!(finished, WRITERS);
        let flushes = group_commit.flushes();
        assert!(flushes >= 1, "durable() returned without any flush");
        assert!(
            flushes < WRITERS,
            "{flushes} flushes for {WRITERS} writers: no batching"
        );
        Ok(())
    }

    #[test]
    fn a_folder_without_the_database_file_is_refused() -> TestResult {
        let (dir, _folder, db) = temp_db()?;
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere)?;
        match GroupCommit::try_start(db, &elsewhere) {
            Err(StorageError::DatabaseFile { path, .. }) => {
                assert_eq!(path, elsewhere.join("db"));
            }
            Err(other) => return Err(format!("the wrong error: {other}").into()),
            Ok(_) => return Err("started without a file to sync".into()),
        }
        Ok(())
    }

    #[test]
    fn blocking_callers_on_plain_threads() -> TestResult {
        let (_dir, folder, db) = temp_db()?;
        let group_commit = GroupCommit::try_start(db.clone(), &folder)?;
        let threads: Vec<_> = (0u64..8)
            .map(|i| {
                let (db, group_commit) = (db.clone(), group_commit.clone());
                thread::spawn(move || -> Result<(), String> {
                    for j in 0u64..10 {
                        let before = group_commit.flushes();
                        db.insert([i.to_be_bytes(), j.to_be_bytes()].concat(), &b"v"[..])
                            .map_err(|e| e.to_string())?;
                        group_commit.durable_blocking().map_err(|e| e.to_string())?;
                        // Some flush must have completed after the ticket was taken.
                        if group_commit.flushes() <= before {
                            return Err("durable_blocking returned without a new flush".into());
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for thread in threads {
            thread.join().map_err(|_| "writer thread panicked")??;
        }
        assert_eq!(db.len(), 80);
        Ok(())
    }

    #[tokio::test]
    async fn durable_writes_survive_reopening() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db");
        {
            let db = crate::open_db(&path)?;
            let group_commit = GroupCommit::try_start(db.clone(), &path)?;
            for i in 0u32..100 {
                db.insert(i.to_be_bytes(), &i.to_le_bytes()[..])?;
                group_commit.durable().await?;
            }
        }
        let db = crate::open_db(&path)?;
        assert_eq!(db.len(), 100);
        for i in 0u32..100 {
            assert_eq!(
                db.get(i.to_be_bytes())?.as_deref(),
                Some(&i.to_le_bytes()[..])
            );
        }
        Ok(())
    }

    #[test]
    fn dropping_the_last_handle_stops_the_thread_and_releases_the_db() -> TestResult {
        let (_dir, folder, db) = temp_db()?;
        let group_commit = GroupCommit::try_start(db.clone(), &folder)?;
        let shared = Arc::downgrade(&group_commit.owner.shared);
        let clone = group_commit.clone();
        drop(group_commit);
        // A clone is still alive: the thread must still be serving it.
        clone.durable_blocking()?;
        assert!(shared.upgrade().is_some());
        drop(clone);
        // The thread held the other strong reference; after the drop joined it, none is left.
        assert!(
            shared.upgrade().is_none(),
            "flusher thread outlived its handles"
        );
        Ok(())
    }

    /// A flush that the test releases by hand (or a timeout does), reporting when each flush
    /// starts and returning `results` in turn, then `Ok`.
    fn gated_flush(
        results: Vec<sled::Result<()>>,
    ) -> (
        impl FnMut() -> sled::Result<()> + Send + 'static,
        mpsc::Receiver<()>,
        mpsc::SyncSender<()>,
    ) {
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::sync_channel(0);
        let mut results = results.into_iter();
        let flush = move || {
            let _ = started_tx.send(());
            // Bounded, so that a failing test cannot leave the flusher (and the drop that joins
            // it) waiting forever for a release that never comes.
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
            results.next().unwrap_or(Ok(()))
        };
        (flush, started_rx, release_tx)
    }

    #[test]
    fn a_ticket_taken_during_a_flush_waits_for_the_next_flush() -> TestResult {
        let (flush, started, release) = gated_flush(vec![]);
        let group_commit = GroupCommit::with_flush(flush)?;

        let first = thread::spawn({
            let group_commit = group_commit.clone();
            move || group_commit.durable_blocking().map_err(|e| e.to_string())
        });
        started.recv_timeout(Duration::from_secs(10))?;
        // Flush 1 is running; this ticket is newer than its snapshot.
        let (second_done_tx, second_done) = mpsc::channel();
        let second = thread::spawn({
            let group_commit = group_commit.clone();
            move || {
                let result = group_commit.durable_blocking().map_err(|e| e.to_string());
                // How many flushes had completed when it returned.
                let _ = second_done_tx.send(group_commit.flushes());
                result
            }
        });
        // Wait until the second ticket has been taken.
        while group_commit.owner.shared.lock().requested < 2 {
            thread::yield_now();
        }
        release.send(())?;
        first.join().map_err(|_| "first waiter panicked")??;
        // Flush 1 is done, but it began before the second ticket: the second must still wait.
        started.recv_timeout(Duration::from_secs(10))?;
        if let Ok(flushes) = second_done.recv_timeout(Duration::from_millis(200)) {
            panic!("a waiter returned after {flushes} flush(es), before the flush that covers it");
        }
        release.send(())?;
        second.join().map_err(|_| "second waiter panicked")??;
        assert_eq!(second_done.recv_timeout(Duration::from_secs(10))?, 2);
        assert_eq!(group_commit.flushes(), 2);
        Ok(())
    }

    #[test]
    fn durable_leaves_the_runtime_thread_free_while_it_waits() -> TestResult {
        let (flush, started, release) = gated_flush(vec![]);
        let group_commit = GroupCommit::with_flush(flush)?;
        // One runtime thread: if `durable` blocked it, nothing else could run.
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        runtime.block_on(async {
            let waiting = tokio::spawn({
                let group_commit = group_commit.clone();
                async move { group_commit.durable().await }
            });
            while group_commit.owner.shared.lock().requested < 1 {
                tokio::task::yield_now().await;
            }
            started.recv_timeout(Duration::from_secs(10))?;
            let other = tokio::spawn(async { 42 });
            assert_eq!(other.await?, 42);
            assert!(
                !waiting.is_finished(),
                "durable() returned before its flush"
            );
            release.send(())?;
            waiting.await??;
            Ok(())
        })
    }

    #[test]
    fn a_failed_flush_is_reported_to_every_waiter_of_that_flush() -> TestResult {
        let failure = sled::Error::Io(std::io::Error::other("disk on fire"));
        let (flush, started, release) = gated_flush(vec![Ok(()), Err(failure)]);
        let group_commit = GroupCommit::with_flush(flush)?;
        // This test thread drives the gate, so the async waiters run on a runtime of their own.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()?;
        let durable = |group_commit: &GroupCommit| {
            let group_commit = group_commit.clone();
            runtime.spawn(async move { group_commit.durable().await })
        };

        // Flush 1 is held open while three waiters, two async and one blocking, queue up.
        let first = durable(&group_commit);
        started.recv_timeout(Duration::from_secs(10))?;
        let waiters = [durable(&group_commit), durable(&group_commit)];
        let blocking = thread::spawn({
            let group_commit = group_commit.clone();
            move || group_commit.durable_blocking()
        });
        while group_commit.owner.shared.lock().requested < 4 {
            thread::yield_now();
        }
        release.send(())?;
        runtime.block_on(first)??;

        // Flush 2 covers the three queued tickets, and fails.
        started.recv_timeout(Duration::from_secs(10))?;
        release.send(())?;
        for waiter in waiters {
            let result = runtime.block_on(waiter)?;
            assert!(
                matches!(&result, Err(StorageError::Flush(e)) if e.to_string().contains("disk on fire")),
                "{result:?}"
            );
        }
        let result = blocking.join().map_err(|_| "blocking waiter panicked")?;
        assert!(matches!(result, Err(StorageError::Flush(_))), "{result:?}");

        // The flusher carries on: a later ticket gets a later, successful flush.
        let later = durable(&group_commit);
        started.recv_timeout(Duration::from_secs(10))?;
        release.send(())?;
        runtime.block_on(later)??;
        assert_eq!(group_commit.flushes(), 3);
        Ok(())
    }

    #[test]
    fn a_panicking_flusher_fails_its_waiters_instead_of_hanging_them() -> TestResult {
        let group_commit = GroupCommit::with_flush(|| panic!("sled panicked"))?;
        let result = group_commit.durable_blocking();
        assert!(
            matches!(result, Err(StorageError::FlusherStopped)),
            "{result:?}"
        );
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let result = runtime.block_on(group_commit.durable());
        assert!(
            matches!(result, Err(StorageError::FlusherStopped)),
            "{result:?}"
        );
        Ok(())
    }
}
