//! The `trm-broker` program: arguments, logging, configuration, exit codes. The binary's
//! `main` only calls [`main`], so other binaries (the integration tests' broker process) can
//! run exactly the same program.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Runs a trm broker.
#[derive(Parser)]
#[command(name = "trm-broker", version)]
struct Args {
    /// The broker's TOML configuration.
    #[arg(long, env = "TRM_BROKER_CONFIG")]
    config: PathBuf,
}

/// Parses arguments, validates the configuration, binds and serves until Ctrl-C or SIGTERM.
pub fn main() -> ExitCode {
    let args = Args::parse();
    trm_storage::daemon::main(
        "trm-broker",
        || crate::BrokerConfigFile::load(&args.config).and_then(|f| f.validate()),
        |config| async move {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
            crate::run(listener, config, trm_storage::daemon::shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        },
    )
}
