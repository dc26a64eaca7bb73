//! Storage faults that the process survives: a full disk, or a disk that fails writes.
//!
//! [`WriteHealth`] is the one record of whether a store may take writes. The first write that
//! fails with an I/O error turns it *faulted*: one ERROR line says so (naming the data folder and
//! its free space), every later write is refused at once with a [`WriteRefused`] (no more
//! attempts that would fail the same way and log again), and a watch channel tells the health
//! service. Reads go on. [`watch_recovery`] then checks once a second whether the disk takes
//! writes again (enough free space and a probe file written and synced), lets the store reopen
//! its engine (sled's I/O errors are sticky: a database that failed once fails every later
//! write), and clears the fault with one INFO line giving its duration.

use std::error::Error;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{debug, error, info};

/// How often a faulted store checks whether the disk takes writes again.
pub const RECOVERY_CHECK: Duration = Duration::from_secs(1);

/// The free space a faulted store waits for before it tries to write again: enough for the
/// engine's recovery and a few segments, so that it does not fail again at once.
pub const RESUME_FREE_BYTES: u64 = 4 << 20;

/// Below this much free space an I/O error is taken for a full disk even when the error itself
/// does not say so.
const NEARLY_FULL_BYTES: u64 = 1 << 20;

/// The file written (and removed) to probe whether the disk takes writes again.
const PROBE_FILE: &str = ".trm-write-probe";

/// The size of the probe write.
const PROBE_BYTES: usize = 64 << 10;

/// Why a store refuses writes right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteRefused {
    /// The data folder's filesystem is full.
    #[error(
        "{owner} at {folder} is full ({free} free of {total}); {work} are refused until space \
         is freed"
    )]
    Full {
        /// Whose store, e.g. "the broker's store".
        owner: &'static str,
        /// The data folder.
        folder: String,
        /// Its free space, in words.
        free: String,
        /// The size of its filesystem, in words.
        total: String,
        /// What is refused, e.g. "new envelopes".
        work: &'static str,
    },
    /// The disk failed a write for another reason.
    #[error(
        "{owner} at {folder} cannot write to its disk ({cause}); {work} are refused until it can"
    )]
    Failing {
        /// Whose store.
        owner: &'static str,
        /// The data folder.
        folder: String,
        /// The error the write failed with.
        cause: String,
        /// What is refused.
        work: &'static str,
    },
}

impl WriteRefused {
    /// Whether the disk is full (rather than failing otherwise).
    pub fn is_full(&self) -> bool {
        matches!(self, WriteRefused::Full { .. })
    }
}

/// Whether a store may write, shared by the store and the task that watches for recovery.
#[derive(Clone)]
pub struct WriteHealth {
    /// The state the clones share.
    inner: Arc<Inner>,
}

/// What the clones of a [`WriteHealth`] share.
struct Inner {
    /// Whose store, for messages.
    owner: &'static str,
    /// What is refused while faulted, for messages.
    work: &'static str,
    /// The data folder.
    folder: PathBuf,
    /// The fault in progress, if any.
    fault: Mutex<Option<Fault>>,
    /// `true` while writes are taken.
    writable: watch::Sender<bool>,
}

/// A fault in progress.
#[derive(Debug, Clone)]
struct Fault {
    /// When the first write failed.
    since: Instant,
    /// Whether the disk was full.
    full: bool,
    /// The error the first write failed with.
    cause: String,
}

impl fmt::Debug for WriteHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHealth")
            .field("folder", &self.inner.folder)
            .field("fault", &*self.inner.lock())
            .finish()
    }
}

impl Inner {
    /// Locks the fault; every critical section only assigns it, so a poisoned lock is fine.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Fault>> {
        self.fault.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WriteHealth {
    /// A healthy record for the store of `owner` ("the broker's store") in `folder`, which
    /// refuses `work` ("new envelopes") while faulted.
    pub fn new(owner: &'static str, work: &'static str, folder: &Path) -> Self {
        let (writable, _) = watch::channel(true);
        Self {
            inner: Arc::new(Inner {
                owner,
                work,
                folder: folder.to_path_buf(),
                fault: Mutex::new(None),
                writable,
            }),
        }
    }

    /// The data folder.
    pub fn folder(&self) -> &Path {
        &self.inner.folder
    }

    /// `Ok` while writes are taken; the refusal while a fault lasts.
    pub fn check(&self) -> Result<(), WriteRefused> {
        match &*self.inner.lock() {
            None => Ok(()),
            Some(fault) => Err(self.refusal(fault)),
        }
    }

    /// Whether a fault is in progress.
    pub fn is_faulted(&self) -> bool {
        self.inner.lock().is_some()
    }

    /// Follows whether writes are taken (`true`) or refused (`false`).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.inner.writable.subscribe()
    }

    /// Records that a write failed with `error` and returns the refusal to answer. The first
    /// failure of a fault logs one ERROR line; later ones (writes that were already under way)
    /// only get the refusal.
    pub fn failed(&self, error: &(dyn Error + 'static)) -> WriteRefused {
        let mut fault = self.inner.lock();
        if let Some(fault) = &*fault {
            return self.refusal(fault);
        }
        let space = self.space();
        let full =
            is_out_of_space(error) || space.is_some_and(|(free, _)| free < NEARLY_FULL_BYTES);
        let started = Fault {
            since: Instant::now(),
            full,
            cause: error.to_string(),
        };
        let refusal = self.refusal(&started);
        error!(
            folder = %self.inner.folder.display(),
            cause = %started.cause,
            "{refusal}"
        );
        *fault = Some(started);
        drop(fault);
        self.inner.writable.send_replace(false);
        refusal
    }

    /// Ends the fault in progress (the store writes again) with one INFO line giving how long
    /// it lasted. Does nothing when there is none.
    pub fn recovered(&self) {
        let Some(fault) = self.inner.lock().take() else {
            return;
        };
        let lasted = fault.since.elapsed();
        info!(
            folder = %self.inner.folder.display(),
            lasted_ms = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX),
            "{} at {} takes writes again after {:.1} s; {} are accepted again",
            self.inner.owner,
            self.inner.folder.display(),
            lasted.as_secs_f64(),
            self.inner.work,
        );
        self.inner.writable.send_replace(true);
    }

    /// Whether the disk looks able to take writes again: enough free space, and a probe file
    /// written, synced and removed. Blocks on disk I/O.
    pub fn disk_takes_writes(&self) -> bool {
        match self.space() {
            Some((free, _)) if free >= RESUME_FREE_BYTES => {}
            _ => return false,
        }
        let probe = self.inner.folder.join(PROBE_FILE);
        let written = std::fs::File::create(&probe).and_then(|mut file| {
            file.write_all(&[0u8; PROBE_BYTES])?;
            file.sync_all()
        });
        let removed = std::fs::remove_file(&probe);
        match (written, removed) {
            (Ok(()), Ok(())) => true,
            (written, removed) => {
                debug!(?written, ?removed, "the disk does not take writes yet");
                false
            }
        }
    }

    /// The free and total bytes of the data folder's filesystem, when they can be read.
    fn space(&self) -> Option<(u64, u64)> {
        let free = fs2::available_space(&self.inner.folder).ok()?;
        let total = fs2::total_space(&self.inner.folder).ok()?;
        Some((free, total))
    }

    /// The refusal for `fault`, with the free space as it is now.
    fn refusal(&self, fault: &Fault) -> WriteRefused {
        let (owner, work) = (self.inner.owner, self.inner.work);
        let folder = self.inner.folder.display().to_string();
        if fault.full {
            let (free, total) = match self.space() {
                Some((free, total)) => (bytes(free), bytes(total)),
                None => ("unknown".to_owned(), "an unknown size".to_owned()),
            };
            WriteRefused::Full {
                owner,
                folder,
                free,
                total,
                work,
            }
        } else {
            WriteRefused::Failing {
                owner,
                folder,
                cause: fault.cause.clone(),
                work,
            }
        }
    }
}

/// Whether `error`, or an error it wraps, is the operating system's "no space left" (or "disk
/// quota exceeded").
pub fn is_out_of_space(error: &(dyn Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if io_error(error).is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        }) {
            return true;
        }
        next = error.source();
    }
    false
}

/// The I/O error `error` is or holds directly, if any.
fn io_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a std::io::Error> {
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        return Some(io);
    }
    let sled = error
        .downcast_ref::<sled::Error>()
        .or_else(|| error.downcast_ref::<Arc<sled::Error>>().map(AsRef::as_ref));
    match sled {
        Some(sled::Error::Io(io)) => Some(io),
        _ => None,
    }
}

/// Bytes in the unit people read best: `0 bytes`, `812.0 KiB`, `20.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            #[allow(clippy::cast_precision_loss)]
            return format!("{:.1} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} bytes")
}

/// Runs, while `store` lives, the recovery of its faults: once a second, if `health` is
/// faulted and the disk takes writes again, calls `reopen` on a blocking thread (which puts a
/// fresh engine in place) and, when it succeeds, ends the fault. Returns when `store` is
/// dropped.
pub async fn watch_recovery<S, E>(
    store: Weak<S>,
    health: WriteHealth,
    reopen: fn(&S) -> Result<(), E>,
) where
    S: Send + Sync + 'static,
    E: fmt::Display + Send + 'static,
{
    let mut tick = tokio::time::interval(RECOVERY_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_failure = String::new();
    loop {
        tick.tick().await;
        if store.strong_count() == 0 {
            return;
        }
        if !health.is_faulted() {
            continue;
        }
        let attempt = {
            let (store, health) = (store.clone(), health.clone());
            tokio::task::spawn_blocking(move || {
                if !health.disk_takes_writes() {
                    return Ok(false);
                }
                let Some(store) = store.upgrade() else {
                    return Ok(false);
                };
                reopen(&store).map(|()| true)
            })
        };
        match attempt.await {
            Ok(Ok(true)) => {
                health.recovered();
                last_failure.clear();
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                // Said once per distinct cause: the fault itself was already logged.
                let cause = e.to_string();
                if cause != last_failure {
                    error!(%cause, "the store could not be reopened yet; retrying every second");
                    last_failure = cause;
                }
            }
            Err(e) => debug!(cause = %e, "the recovery check did not finish"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests return `Result` so that `?` names the failing step.
    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn enospc() -> sled::Error {
        sled::Error::Io(std::io::Error::from(std::io::ErrorKind::StorageFull))
    }

    #[test]
    fn a_full_disk_is_recognised_through_wrappers() {
        let wrapped = crate::StorageError::Flush(Arc::new(enospc()));
        assert!(is_out_of_space(&wrapped));
        assert!(is_out_of_space(&enospc()));
        let other = sled::Error::Io(std::io::Error::other("disk on fire"));
        assert!(!is_out_of_space(&other));
    }

    #[test]
    fn the_first_failure_faults_later_ones_only_refuse_and_recovery_clears() -> TestResult {
        let dir = tempfile::tempdir()?;
        let health = WriteHealth::new("the broker's store", "new envelopes", dir.path());
        let mut writable = health.subscribe();
        assert!(health.check().is_ok());
        let refusal = health.failed(&enospc());
        assert!(refusal.is_full());
        let text = refusal.to_string();
        let folder = dir.path().display().to_string();
        assert!(
            text.starts_with(&format!("the broker's store at {folder} is full (")),
            "{text}"
        );
        assert!(
            text.ends_with("; new envelopes are refused until space is freed"),
            "{text}"
        );
        assert!(writable.has_changed()?);
        assert!(!*writable.borrow_and_update());
        // A later failure of another kind does not change the fault.
        let again = health.failed(&sled::Error::Io(std::io::Error::other("later")));
        assert!(again.is_full(), "{again}");
        assert!(health.check().is_err());
        // This temporary folder has room: the probe succeeds and leaves nothing behind.
        assert!(health.disk_takes_writes());
        assert!(!dir.path().join(PROBE_FILE).exists());
        health.recovered();
        assert!(health.check().is_ok());
        assert!(*writable.borrow_and_update());
        Ok(())
    }

    #[test]
    fn another_io_error_is_a_failing_disk_with_its_cause() -> TestResult {
        let dir = tempfile::tempdir()?;
        let health = WriteHealth::new("the node's store", "new messages", dir.path());
        let refusal = health.failed(&sled::Error::Io(std::io::Error::other("bad sector")));
        assert!(!refusal.is_full());
        assert!(
            refusal
                .to_string()
                .contains("cannot write to its disk (IO error: bad sector)"),
            "{refusal}"
        );
        Ok(())
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(bytes(0), "0 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(24 << 20), "24.0 MiB");
    }
}
