//! Running a daemon program (`trm-broker`, `trm-node`): logging from `TRM_LOG` and
//! `TRM_LOG_FORMAT` ([`crate::logging`]), a validated
//! configuration before anything else, a runtime, graceful shutdown on Ctrl-C or SIGTERM, and
//! exit codes that mean something (64 for a configuration that does not validate, as linkerd
//! does; 1 for a failure while running).

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// Exit code for a configuration that does not validate.
pub const EXIT_CONFIG: u8 = 64;

/// Runs `program`: installs the log subscriber (level from `TRM_LOG`, default `info`; format
/// from `TRM_LOG_FORMAT`; written to standard output), loads the configuration with `load`,
/// then drives `serve(config, shutdown)` to completion.
pub fn main<C, E, F, R>(
    program: &str,
    load: impl FnOnce() -> Result<C, E>,
    serve: impl FnOnce(C) -> F,
) -> ExitCode
where
    E: Display,
    F: Future<Output = Result<(), R>>,
    R: Display,
{
    // Whatever umask the daemon was started with, what it creates is its user's alone.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    if let Err(e) = crate::logging::init("info", crate::logging::Stream::Stdout) {
        eprintln!("{program}: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let config = match load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{program}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
