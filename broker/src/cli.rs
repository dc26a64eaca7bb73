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

/// Exit code for a configuration that does not validate (as linkerd does).
pub const EXIT_CONFIG: u8 = 64;

/// Parses arguments, validates the configuration, binds and serves until Ctrl-C or SIGTERM.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = match crate::BrokerConfigFile::load(&args.config).and_then(|f| f.validate()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("trm-broker: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("trm-broker: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("trm-broker: cannot listen on {}: {e}", config.listen);
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        match crate::run(listener, config, crate::server::shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("trm-broker: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
