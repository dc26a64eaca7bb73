//! Clippy inside the build: `cargo xtask test` compiles the workspace once, with
//! clippy's lints (`-D warnings`) run by the compiler that also generates the code, instead of
//! `cargo clippy` (a check of every crate) followed by a build of every crate.
//!
//! `cargo clippy` itself works the same way: it runs cargo with `clippy-driver` as the
//! compiler wrapper of the workspace's own crates (`RUSTC_WORKSPACE_WRAPPER`) and hands it its
//! arguments in `CLIPPY_ARGS`, separated by `__CLIPPY_HACKERY__`. Dependencies are compiled by
//! plain `rustc`, as under `cargo clippy`. Every cargo command of the run must carry the same
//! environment: the wrapper is part of each crate's fingerprint, so a command without it would
//! compile the workspace again.

use std::process::Command;

use anyhow::{Context, bail};

/// The arguments `cargo clippy -- -D warnings` hands the driver.
const CLIPPY_ARGS: &str = "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__";

/// The environment that makes cargo lint the workspace's crates as it compiles them.
#[derive(Debug, Clone)]
pub struct ClippyInBuild {
    driver: String,
}

impl ClippyInBuild {
    /// Finds `clippy-driver` (rustup's proxy on the `PATH`, or the toolchain's own); an error
    /// says how to install it when it is missing.
    pub fn find() -> anyhow::Result<Self> {
        let driver = "clippy-driver".to_owned();
        let output = Command::new(&driver)
            .arg("--version")
            .output()
            .context("clippy-driver cannot run: `rustup component add clippy` installs it")?;
        if !output.status.success() {
            bail!(
                "clippy-driver --version failed ({}): `rustup component add clippy` installs it",
                output.status
            );
        }
        Ok(Self { driver })
    }

    /// Sets the environment on a cargo command.
    pub fn apply(&self, command: &mut Command) {
        command
            .env("RUSTC_WORKSPACE_WRAPPER", &self.driver)
            .env("CLIPPY_ARGS", CLIPPY_ARGS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_gets_deny_warnings_as_cargo_clippy_hands_it() {
        let args: Vec<&str> = CLIPPY_ARGS
            .split("__CLIPPY_HACKERY__")
            .filter(|a| !a.is_empty())
            .collect();
        assert_eq!(args, ["-D", "warnings"]);
    }
}
