//! The `trm-broker` program: arguments, logging, configuration, exit codes. The binary's
//! `main` only calls [`main`], so other binaries (the integration tests' broker process) can
//! run exactly the same program.
//!
//! `trm-broker --config broker.toml` runs the broker (SIGHUP reloads, see [`crate::reload`]);
//! `trm-broker status --config broker.toml` shows a running broker's queues, peers and
//! directory for a person (see [`crate::status`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

/// Runs a trm broker.
#[derive(Parser)]
#[command(name = "trm-broker", version)]
struct Args {
    /// The broker's TOML configuration.
    #[arg(long, env = "TRM_BROKER_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// What to do instead of running the broker.
    #[command(subcommand)]
    command: Option<Command>,
}

/// The commands besides running the broker.
#[derive(Subcommand)]
enum Command {
    /// Show the running broker's queues, peer brokers (reachable or not, and why), directory
    /// and certificate expiry, and counts since its start, read from its metrics page.
    Status,
}

/// Exit code for a usage error (no configuration named).
const EXIT_USAGE: u8 = 64;

/// Exit code when the running broker cannot be asked.
const EXIT_UNAVAILABLE: u8 = 69;

/// Parses arguments, validates the configuration, binds and serves until Ctrl-C or SIGTERM.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let Some(config_path) = args.config else {
        eprintln!("trm-broker: name the configuration with --config (or TRM_BROKER_CONFIG)");
        return ExitCode::from(EXIT_USAGE);
    };
    if let Some(Command::Status) = args.command {
        return status(&config_path);
    }
    let reload_path = config_path.clone();
    trm_storage::daemon::main(
        "trm-broker",
        || {
            let file = crate::BrokerConfigFile::load(&config_path)?;
            Ok::<_, crate::ConfigError>((file.clone().validate()?, file))
        },
        |(config, started)| async move {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
            let store = crate::store::open(&config)
                .await
                .map_err(|e| e.to_string())?;
            let state = Arc::new(crate::BrokerState::new(&config, store));
            state.spawn(crate::reload::on_hangup(
                state.clone(),
                reload_path,
                started,
            ));
            crate::serve_state(
                listener,
                &config,
                state,
                trm_storage::daemon::shutdown_signal(),
            )
            .await
            .map_err(|e| e.to_string())
        },
    )
}

/// `trm-broker status`: prints the running broker's status.
fn status(config_path: &std::path::Path) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("trm-broker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::status::status(config_path)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e @ crate::status::StatusError::Config(_)) => {
            eprintln!("trm-broker: {e}");
            ExitCode::from(trm_storage::daemon::EXIT_CONFIG)
        }
        Err(e) => {
            eprintln!("trm-broker: {e}");
            ExitCode::from(EXIT_UNAVAILABLE)
        }
    }
}
