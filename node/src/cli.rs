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

/// Parses arguments, validates the configuration and runs until Ctrl-C or SIGTERM.
pub fn main() -> ExitCode {
    let args = Args::parse();
    trm_storage::daemon::main(
        "trm-node",
        || crate::NodeConfigFile::load(&args.config).and_then(|f| f.validate()),
        |config| crate::run(config, trm_storage::daemon::shutdown_signal()),
    )
}
