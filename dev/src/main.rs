//! `trm-dev`: generates a development federation folder (with a `broker.toml` or `node.toml`
//! beside each broker's and node's keys), or prints the built-in spec.
//! (The federation authority's later changes to it are `trm-authority`'s.)
//!
//! Exit codes: 0 on success, 64 for a bad spec or bad arguments (an unreadable spec file, an
//! output folder that is not empty without `--force`), 1 for anything else.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use trm_dev::{CertsError, DEFAULT_SPEC, Federation, FederationSpec, generate};

/// Exit code for bad configuration (EX_USAGE).
const EXIT_CONFIG: u8 = 64;

/// Generates a development federation for trm: CA, certificates, keys and the signed directory.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generates a federation folder from a spec (the built-in one by default): CA, keys,
    /// certificates, the signed directory, and a configuration file for every broker and node
    /// (data and sockets under OUT/run).
    Generate {
        /// The folder to write; created if missing.
        #[arg(long)]
        out: PathBuf,
        /// A federation spec in TOML; print the built-in one with `default-spec`.
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Write into a folder that is not empty, replacing files of the same names (files of
        /// entries no longer in the spec stay, but the new directory does not list them).
        #[arg(long)]
        force: bool,
    },
    /// Prints the built-in spec, to edit and pass back with `--spec`.
    DefaultSpec,
}

/// An error that is the caller's configuration, not a failure of the tool.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigError(String);

fn main() -> ExitCode {
    // Usage errors exit 64 like a bad spec, not clap's 2; help and version 0.
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_CONFIG)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("trm-dev: {err:#}");
            let config = err.downcast_ref::<ConfigError>().is_some()
                || err
                    .downcast_ref::<CertsError>()
                    .is_some_and(CertsError::is_spec_error);
            ExitCode::from(if config { EXIT_CONFIG } else { 1 })
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::DefaultSpec => print(DEFAULT_SPEC),
        Command::Generate { out, spec, force } => {
            let spec = match spec {
                None => FederationSpec::default_dev(),
                Some(path) => {
                    let text = fs::read_to_string(&path).map_err(|e| {
                        ConfigError(format!("cannot read spec {}: {e}", path.display()))
                    })?;
                    FederationSpec::from_toml(&text)
                        .with_context(|| format!("spec {}", path.display()))?
                }
            };
            check_out(&out, force)?;
            let federation = generate(&spec, &out)?;
            let written = trm_dev::devfed::write_configs(&federation, &out.join("run"))?;
            let mut text = summary(&federation);
            for path in written {
                let _ = writeln!(text, "config {}", path.display());
            }
            print(&text)
        }
    }
}

/// Refuses to write into an existing folder that is not empty unless forced.
fn check_out(out: &Path, force: bool) -> Result<(), ConfigError> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(ConfigError(format!(
            "{} exists and is not a folder",
            out.display()
        )));
    }
    let mut entries = fs::read_dir(out)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", out.display())))?;
    if entries.next().is_some() && !force {
        return Err(ConfigError(format!(
            "{} is not empty; pass --force to replace the federation in it",
            out.display()
        )));
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}

/// What was generated, without any secret.
fn summary(federation: &Federation) -> String {
    let mut text = format!(
        "federation {:?} written to {}\nauthority public key: {}\n",
        federation.federation,
        federation.dir.display(),
        hex::encode(federation.authority.verifying_key().as_bytes())
    );
    // Writing to a String cannot fail.
    for broker in &federation.brokers {
        let _ = writeln!(
            text,
            "broker {:<16} {}",
            broker.name.as_str(),
            broker.endpoints.join(" ")
        );
    }
    for node in &federation.nodes {
        let _ = writeln!(
            text,
            "node   {:<16} {}",
            node.address.as_str(),
            node.age_recipient
        );
    }
    text
}
