//! `trm-faults`: the project's own fault tool. Starts a federation of real broker and node
//! processes on loopback, sends referrals under load, injects one fault per round (kill -9, a
//! link that resets, blackholes or holds, a full disk), checks exactly-once delivery, evidence,
//! logs and recovery times, and prints the figures. Exits 1 on any violation.
//!
//! Run with `cargo run --release -p trm-tests --bin trm-faults -- --rounds 100` (as root for
//! the full-disk fault, which mounts a tmpfs); `--seed` replays a run's faults.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use trm_tests::faults::{self, Kind, Options, cluster::Programs};

/// Runs a federation under load and faults, and checks that it recovers and loses nothing.
#[derive(Parser)]
#[command(name = "trm-faults")]
struct Args {
    /// Rounds, one fault each.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// The seed of the fault choices (printed; the same seed replays the same faults).
    #[arg(long)]
    seed: Option<u64>,
    /// The kinds of fault to choose from, comma-separated: kill, link, disk.
    #[arg(long, value_delimiter = ',', default_value = "kill,link,disk")]
    faults: Vec<Kind>,
    /// Seconds a round's referrals may take to arrive after the fault's end.
    #[arg(long, default_value_t = 60)]
    drain_limit_secs: u64,
    /// Where to run (configurations, stores, logs); a temporary folder otherwise, kept when
    /// something is wrong.
    #[arg(long)]
    folder: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut options = Options::new(args.rounds, seed);
    options.kinds = args.faults;
    options.drain_limit = Duration::from_secs(args.drain_limit_secs);
    options.folder = args.folder;
    let programs = match Programs::beside_current() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("trm-faults: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Interrupted, the run is dropped: its processes are killed and its tmpfs unmounted.
    let outcome = tokio::select! {
        outcome = faults::run(&options, programs) => outcome,
        _ = interrupted() => {
            eprintln!("trm-faults: interrupted (seed {seed})");
            return ExitCode::from(130);
        }
    };
    match outcome {
        Ok(figures) => {
            println!("\n{}", figures.render());
            if figures.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("trm-faults: the run could not go on (seed {seed}): {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
