//! `trm-authority`: the federation authority's operations on a federation folder, each
//! published as a new signed directory version, and a joining organisation's keys.
//!
//! Exit codes: 0 on success, 64 for bad arguments or an invalid request, 1 for anything else.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use trm_authority::{Authority, CertsError, enrollment};

/// Exit code for bad configuration (EX_USAGE).
const EXIT_CONFIG: u8 = 64;

/// The federation authority's tool: enrol, revoke, rotate keys, make and end agreements; and a
/// joining organisation's keys and enrollment request.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The federation folder (with `authority.key`, `ca.key` and `directory.pb`); required by
    /// every command but `keys`.
    #[arg(long)]
    federation: Option<PathBuf>,
    /// How long the new directory version stays valid, days.
    #[arg(long, default_value_t = 30)]
    validity_days: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// An organisation's keys: make them for enrollment, or rotate the signing key.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    #[command(flatten)]
    Authority(AuthorityAction),
}

/// The authority's operations on the federation folder.
#[derive(Debug, Subcommand)]
enum AuthorityAction {
    /// Adds a node from its enrollment request (made by `trm-authority keys generate`) and
    /// issues its TLS certificate into `nodes/<address>/tls.pem`.
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
        /// The new public key, 64 hex digits (printed by `trm-authority keys rotate`).
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

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Make a node's keys locally (private keys never leave this machine) and an enrollment
    /// request (enrollment.toml) to send to the federation authority.
    Generate {
        /// The address asked for, `name@broker`.
        #[arg(long)]
        address: String,
        /// The organisation's name.
        #[arg(long)]
        organisation: String,
        /// ngo, social_services, police, prosecutor, coordinator or international.
        #[arg(long, default_value = "ngo")]
        organisation_type: String,
        /// ISO 3166-1 alpha-2 (`XK` for Kosovo).
        #[arg(long)]
        country: String,
        /// The folder for the keys.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a new signing key (signing.next.key) and print its public key for the authority's
    /// `rotate`; once the new directory is published, make it signing.key and restart the node.
    Rotate {
        /// The node's key folder.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// An error that is the caller's configuration, not a failure of the tool.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigError(String);

fn main() -> ExitCode {
    // Usage errors (an unknown option such as --json: this tool prints text only) exit 64
    // like a bad configuration, not clap's 2; help and version 0.
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
            eprintln!("trm-authority: {err:#}");
            let config = err.downcast_ref::<ConfigError>().is_some()
                || err
                    .downcast_ref::<CertsError>()
                    .is_some_and(CertsError::is_spec_error);
            ExitCode::from(if config { EXIT_CONFIG } else { 1 })
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let action = match args.command {
        Command::Keys { action } => return keys(action),
        Command::Authority(action) => action,
    };
    let federation = args
        .federation
        .ok_or_else(|| ConfigError("--federation is required".into()))?;
    let mut authority = Authority::open(&federation)?;
    let what = match action {
        AuthorityAction::Enroll {
            request,
            certificate_days,
        } => {
            let request = enrollment::read_request(&request)?;
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
            authority.rotate_key(&address, &signing_key, u64::from(overlap_days) * 86_400_000)?;
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
                trm_proto::kinds::SENT_KINDS.to_vec()
            } else {
                kinds
                    .iter()
                    .map(|k| {
                        trm_proto::kinds::from_name(k)
                            .ok_or_else(|| ConfigError(format!("{k:?} is not a message kind")))
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
    authority.publish(args.validity_days)?;
    print(&format!(
        "{what}; published directory version {}\n",
        authority.directory().version
    ))
}

/// `trm-authority keys ...`: run by the joining organisation, on its own machine.
fn keys(action: KeysAction) -> anyhow::Result<()> {
    match action {
        KeysAction::Generate {
            address,
            organisation,
            organisation_type,
            country,
            out: dir,
        } => {
            let address = address
                .parse()
                .map_err(|e: trm_proto::addr::AddrError| ConfigError(e.to_string()))?;
            let request = enrollment::generate_node_keys(
                &address,
                &organisation,
                &organisation_type,
                &country,
                &dir,
            )?;
            print(&format!(
                "keys for {} written to {} (private keys mode 0600, never sent anywhere)\n\
                 send {} to the federation authority; it runs\n  \
                 trm-authority --federation FED enroll --request {}\n",
                request.address,
                dir.display(),
                dir.join(enrollment::REQUEST_FILE).display(),
                enrollment::REQUEST_FILE
            ))
        }
        KeysAction::Rotate { dir } => {
            let public = enrollment::generate_next_signing_key(&dir)?;
            print(&format!(
                "new signing key written to {}\npublic key for the authority's `rotate --signing-key`: {public}\n",
                dir.join(enrollment::NEXT_SIGNING_KEY).display()
            ))
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}
