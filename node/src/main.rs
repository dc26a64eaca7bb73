//! `trm-node`: runs one organisation's node from a configuration file.

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
const EXIT_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = match trm_node::NodeConfigFile::load(&args.config).and_then(|f| f.validate()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("trm-node: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match trm_node::run(config, trm_node::daemon::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trm-node: {e}");
            ExitCode::FAILURE
        }
    }
}
