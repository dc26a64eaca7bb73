//! The `trm-node` program: arguments, logging, configuration, exit codes. The binary's `main`
//! only calls [`main`].
//!
//! `trm-node --config node.toml` runs the node; `trm-node backup` and `trm-node restore` back
//! a running node up and restore it elsewhere (see [`crate::backup`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::backup::restore::{self, RestoreRequest};
use crate::backup::take::{self, BackupRequest};

/// Runs a trm node.
#[derive(Parser)]
#[command(name = "trm-node", version)]
struct Args {
    /// The node's TOML configuration.
    #[arg(long, env = "TRM_NODE_CONFIG")]
    config: Option<PathBuf>,
    /// Start a node restored from a backup: confirms that the original node is stopped for
    /// good and this one takes its place.
    #[arg(long)]
    take_over: bool,
    /// Back up or restore instead of running.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Write an encrypted backup of the running node: keys, case keys, store and handover log
    /// at one point in time.
    Backup {
        /// The node's TOML configuration.
        #[arg(long, env = "TRM_NODE_CONFIG")]
        config: PathBuf,
        /// The backup file to write (replaced atomically if it exists).
        #[arg(long)]
        to: PathBuf,
        /// The recovery key's public half, `age1...`; default: `recovery_recipient` in the
        /// configuration's `[backup]` table.
        #[arg(long)]
        recipient: Option<String>,
    },
    /// Restore a backup into a new or empty folder, ready to run with its `node.toml`.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// The file holding the recovery key (`AGE-SECRET-KEY-1...`).
        #[arg(long)]
        identity: PathBuf,
        /// The folder to restore into.
        #[arg(long)]
        into: PathBuf,
    },
}

/// Parses arguments, validates the configuration and runs until Ctrl-C or SIGTERM, or runs
/// a backup or a restore.
pub fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Some(command) => tool(command),
        None => {
            let Some(config) = args.config else {
                eprintln!(
                    "error: give --config node.toml (or set TRM_NODE_CONFIG) to run the node"
                );
                return ExitCode::from(2);
            };
            if args.take_over
                && let Err(e) = take_over(&config)
            {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            trm_storage::daemon::main(
                "trm-node",
                || crate::NodeConfigFile::load(&config).and_then(|f| f.validate()),
                |config| crate::run(config, trm_storage::daemon::shutdown_signal()),
            )
        }
    }
}

/// Removes the restore mark from the data folder of the node configured in `config`.
fn take_over(config: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let file = crate::NodeConfigFile::load(config)?;
    let data_dir = file.validate()?.data_dir;
    match crate::backup::marker::take_over(&data_dir)? {
        Some(said) => eprintln!(
            "taking over from the original node ({said}): make sure it stays stopped; \
             partners' witnessed checkpoints made after the backup will show a fork"
        ),
        None => eprintln!(
            "--take-over: {} was not restored from a backup",
            data_dir.display()
        ),
    }
    Ok(())
}

/// Runs `trm-node backup` or `trm-node restore`, telling the operator what it did.
fn tool(command: Command) -> ExitCode {
    let outcome = match command {
        Command::Backup {
            config,
            to,
            recipient,
        } => backup(BackupRequest {
            config,
            to,
            recipient,
        }),
        Command::Restore {
            from,
            identity,
            into,
        } => restore::restore(&RestoreRequest {
            from,
            identity,
            into: into.clone(),
        })
        .map(|manifest| {
            format!(
                "restored {} ({} handover-log entries, backup taken {taken}) into {}.\n\
                 WARNING: consent withdrawals and erasures received after {taken} are not in \
                 this backup: ask your partners which cases were erased or withdrawn since \
                 then, and erase them again before using the cases.\n\
                 Stop the original node for good first, then start this one once with: \
                 trm-node --config {} --take-over",
                manifest.node,
                manifest.log_entries,
                into.display(),
                into.join(restore::CONFIG).display(),
                taken = trm_proto::time::format_ms(manifest.taken_at_ms),
            )
        }),
    };
    match outcome {
        Ok(said) => {
            println!("{said}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn backup(request: BackupRequest) -> Result<String, crate::backup::BackupError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::backup::BackupError::Snapshot(format!("cannot start: {e}")))?;
    let summary = runtime.block_on(take::backup(&request))?;
    let manifest = &summary.manifest;
    let case_keys = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("data/case-keys/") && f.path.ends_with(".key"))
        .count();
    Ok(format!(
        "backup of {} written to {} ({} bytes, encrypted to {}): {}, {}, {} left out; \
         the node's store paused {:.1} ms for it",
        manifest.node,
        request.to.display(),
        summary.bytes,
        summary.recipient,
        counted(
            manifest.log_entries,
            "handover-log entry",
            "handover-log entries"
        ),
        counted(case_keys as u64, "case key", "case keys"),
        counted(
            u64::from(manifest.erased_cases),
            "erased case's key",
            "erased cases' keys"
        ),
        summary.paused_us as f64 / 1000.0,
    ))
}

/// `n` and the noun in the number it takes.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
