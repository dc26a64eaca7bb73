//! A progress line on stderr while entries are verified: shown only when stderr is a terminal
//! and the input is large, rewritten in place with `\r`, and cleared at the end, so scripts and
//! redirected output never see it.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Inputs with fewer entries finish too fast for a progress line to help.
const THRESHOLD: u64 = 100_000;

/// How often the line is redrawn.
const INTERVAL: Duration = Duration::from_millis(200);

/// Counts entries done; shared with the threads doing them.
#[derive(Debug, Default)]
pub struct Progress {
    /// Entries done so far.
    done: AtomicU64,
}

impl Progress {
    /// Records `entries` more done.
    pub fn advance(&self, entries: u64) {
        self.done.fetch_add(entries, Ordering::Relaxed);
    }
}

/// Runs `work` over `total` entries, drawing a progress line meanwhile when it helps.
pub fn run<T>(total: u64, work: impl FnOnce(&Progress) -> T) -> T {
    let progress = Progress::default();
    if total < THRESHOLD || !std::io::stderr().is_terminal() {
        return work(&progress);
    }
    let finished = AtomicBool::new(false);
    std::thread::scope(|threads| {
        let drawer = threads.spawn(|| {
            while !finished.load(Ordering::Relaxed) {
                let done = progress.done.load(Ordering::Relaxed).min(total);
                let mut stderr = std::io::stderr().lock();
                let _ = write!(
                    stderr,
                    "\rverifying: {done} of {total} entries ({}%)",
                    done * 100 / total
                );
                let _ = stderr.flush();
                drop(stderr);
                std::thread::park_timeout(INTERVAL);
            }
            let _ = write!(std::io::stderr(), "\r{:60}\r", "");
        });
        let result = work(&progress);
        finished.store(true, Ordering::Relaxed);
        drawer.thread().unpark();
        result
    })
}
