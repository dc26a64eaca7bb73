//! `trm-certs-dev`: generates a development federation folder, or prints the built-in spec.
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
use trm_certs_dev::authority::Authority;
use trm_certs_dev::{CertsError, DEFAULT_SPEC, Federation, FederationSpec, generate};

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
    /// Generates a federation folder from a spec (the built-in one by default).
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
    /// The federation authority's operations; each publishes a new signed directory version.
    Authority {
        /// The federation folder (with `authority.key`, `ca.key` and `directory.pb`).
        #[arg(long)]
        federation: PathBuf,
        /// How long the new directory version stays valid, days.
        #[arg(long, default_value_t = 30)]
        validity_days: u32,
        #[command(subcommand)]
        action: AuthorityAction,
    },
}

#[derive(Debug, Subcommand)]
enum AuthorityAction {
    /// Adds a node from its enrollment request (made by `trm keys generate`) and issues its
    /// TLS certificate into `nodes/<address>/tls.pem`.
    Enroll {
        /// The request file.
        #[arg(long)]
        request: PathBuf,
        /// Certificate validity, days.
        #[arg(long, default_value_t = 365)]
        certificate_days: u32,
    },
    /// Removes a node, or a broker and its nodes, from the directory.
    Revoke {
        /// A node address or a broker name.
        name: String,
    },
    /// Replaces a node's signing key; the old one stays valid for the overlap.
    Rotate {
        /// The node.
        #[arg(long)]
        address: String,
        /// The new public key, 64 hex digits (printed by `trm keys rotate`).
        #[arg(long)]
        signing_key: String,
        /// Days the old key stays accepted.
        #[arg(long, default_value_t = 7)]
        overlap_days: u32,
    },
    /// Ends a rotation's overlap now: the previous key is refused from this version on.
    EndOverlap {
        /// The node.
        #[arg(long)]
        address: String,
    },
    /// Adds a bilateral sharing agreement.
    Agree {
        /// The agreement's reference.
        #[arg(long)]
        reference: String,
        /// The two parties' addresses.
        #[arg(long, num_args = 2)]
        parties: Vec<String>,
        /// Message kinds covered, or `all`.
        #[arg(long, num_args = 1.., default_value = "all")]
        kinds: Vec<String>,
        /// Days it stays valid.
        #[arg(long, default_value_t = 365)]
        valid_days: u32,
    },
    /// Terminates an agreement now.
    Terminate {
        /// The agreement's reference.
        #[arg(long)]
        reference: String,
    },
}

/// An error that is the caller's configuration, not a failure of the tool.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigError(String);

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("trm-certs-dev: {err:#}");
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
            print(&summary(&federation))
        }
        Command::Authority {
            federation,
            validity_days,
            action,
        } => {
            let mut authority = Authority::open(&federation)?;
            let what = match action {
                AuthorityAction::Enroll {
                    request,
                    certificate_days,
                } => {
                    let request = trm_certs_dev::enrollment::read_request(&request)?;
                    authority.enroll(&request, certificate_days)?;
                    format!("enrolled {}", request.address)
                }
                AuthorityAction::Revoke { name } => {
                    authority.revoke(&name)?;
                    format!("revoked {name}")
                }
                AuthorityAction::Rotate {
                    address,
                    signing_key,
                    overlap_days,
                } => {
                    authority.rotate_key(
                        &address,
                        &signing_key,
                        u64::from(overlap_days) * 86_400_000,
                    )?;
                    format!("rotated the signing key of {address} ({overlap_days} days overlap)")
                }
                AuthorityAction::EndOverlap { address } => {
                    authority.end_overlap(&address)?;
                    format!("ended the key overlap of {address}")
                }
                AuthorityAction::Agree {
                    reference,
                    parties,
                    kinds,
                    valid_days,
                } => {
                    let kinds = if kinds == ["all"] {
                        trm_certs_dev::ALL_KINDS.to_vec()
                    } else {
                        kinds
                            .iter()
                            .map(|k| {
                                trm_certs_dev::message_kind(k).ok_or_else(|| {
                                    ConfigError(format!("{k:?} is not a message kind"))
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?
                    };
                    let [a, b] = parties.as_slice() else {
                        return Err(ConfigError("--parties takes two addresses".into()).into());
                    };
                    authority.agree(&reference, [a, b], &kinds, valid_days)?;
                    format!("agreement {reference} between {a} and {b}")
                }
                AuthorityAction::Terminate { reference } => {
                    authority.terminate(&reference)?;
                    format!("terminated agreement {reference}")
                }
            };
            authority.publish(validity_days)?;
            print(&format!(
                "{what}; published directory version {}\n",
                authority.directory().version
            ))
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
            broker.endpoint
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
