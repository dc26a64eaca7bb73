//! Running a daemon program (`trm-broker`, `trm-node`): logging from `TRM_LOG` and
//! `TRM_LOG_FORMAT` ([`crate::logging`]), a validated
//! configuration before anything else (SIGHUP is listened for even before, see [`hangups`]), a runtime, graceful shutdown on Ctrl-C or SIGTERM, and
//! exit codes that mean something (64 for a configuration that does not validate, as linkerd
//! does; 1 for a failure while running).

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Mutex;

use tokio::signal::unix::{Signal, SignalKind, signal};

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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{program}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    listen_for_hangups(&runtime);
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
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The SIGHUP stream made first thing in [`main`], waiting for the reload task to take it.
static HANGUPS: Mutex<Option<Signal>> = Mutex::new(None);

/// Listens for SIGHUP before anything else, so that a SIGHUP sent while the daemon starts (a
/// `systemctl reload` racing the start) is held instead of killing the process.
fn listen_for_hangups(runtime: &tokio::runtime::Runtime) {
    let _entered = runtime.enter();
    if let Ok(hangups) = signal(SignalKind::hangup()) {
        *HANGUPS.lock().unwrap_or_else(|p| p.into_inner()) = Some(hangups);
    }
}

/// The SIGHUP stream for the reload task: the one [`main`] made at the start, else a new one
/// (a daemon run inside a test). Call it inside the runtime.
pub fn hangups() -> std::io::Result<Signal> {
    match HANGUPS.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(hangups) => Ok(hangups),
        None => signal(SignalKind::hangup()),
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
