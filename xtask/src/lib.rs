//! trm's build tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`):
//!
//! - `test [ARGS]`: installs what the tests need when it is missing, builds the whole
//!   workspace with clippy's lints (`-D warnings`) run as it is compiled ([`lint`]), runs every
//!   test (`cargo nextest run --workspace`, ARGS passed on), then, without ARGS, the
//!   broker-facing integration tests again with the brokers' store on a three-server NATS
//!   JetStream cluster. This is the README's test command, and what `.ci/run` runs after
//!   `cargo fmt --check`.
//! - `test --no-clippy [ARGS]`: the same without the lints.
//! - `deb [--release] [--verify]`: builds `trm-node`, `trm-broker` and `trm`, packs their
//!   Debian packages into `target/debian/` and, with `--verify`, checks each one.
//! - `config-docs [--check]`: writes `docs/configuration.md` from the configuration types, or
//!   only checks that it is current (the `trm-config-docs` crate does the work, so that this
//!   tool itself builds in seconds and never builds the daemons).
//! - `openapi`: rewrites `docs/openapi.json` from the node's HTTP API (through the currency test
//!   in `trm-node`, which fails when the committed copy is not current).
//!
//! # Layout
//! - [`tools`]: what the tests need on the machine, installed from the package registries.
//! - [`deb`]: laying out and packing the packages.
//! - [`verify`]: checking a built package and its systemd unit.
//! - [`nats`]: a NATS JetStream cluster for the test run's pass on the JetStream store.
//! - [`lint`]: clippy inside the build.

#![forbid(unsafe_code)]

pub mod deb;
pub mod lint;
pub mod nats;
pub mod tools;
pub mod verify;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The configuration reference the packages ship, relative to the workspace root (written by
/// `cargo xtask config-docs`).
pub const CONFIGURATION_REFERENCE: &str = "docs/configuration.md";

/// The workspace root (this crate's parent folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `cargo` as the alias ran it (`CARGO`), in the workspace root, with `args`.
pub fn cargo(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root).args(args);
    command
}

/// Runs `command` to its end, its output shown as it comes; an error names it when it cannot
/// start or fails.
pub fn run_shown(mut command: Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}
