//! The `trm-node` program: arguments, logging, configuration, exit codes. The binary's `main`
//! only calls [`main`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Runs a trm node.
#[derive(Parser)]
#[command(name = "trm-node", version)]
struct Args {
    /// The node's TOML configuration.
    #[arg(long, env = "TRM_NODE_CONFIG")]
    config: PathBuf,
}

/// Exit code for a configuration that does not validate (as linkerd does).
pub const EXIT_CONFIG: u8 = 64;

/// Parses arguments, validates the configuration and runs until Ctrl-C or SIGTERM.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = match crate::NodeConfigFile::load(&args.config).and_then(|f| f.validate()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("trm-node: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("trm-node: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::run(config, crate::daemon::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trm-node: {e}");
            ExitCode::FAILURE
        }
    }
}
