//! `trm`: parses arguments, sets up logging, runs one command and maps its outcome to an exit
//! code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use trm_cli::audit;
use trm_cli::case_commands::{self, Answer};
use trm_cli::commands::{self, CommandError, Output};

/// trm: the transnational referral mechanism, from the command line.
#[derive(Parser)]
#[command(name = "trm", version, about)]
struct Args {
    /// The node's admin socket.
    #[arg(
        long,
        global = true,
        env = "TRM_SOCKET",
        default_value = "/run/trm/node.sock"
    )]
    socket: PathBuf,
    /// Print JSON for scripts instead of text for people (every command but `demo`; with
    /// `template`, the example as a JSON message file).
    #[arg(long, global = true)]
    json: bool,
    /// For commands that send a message: the key the node remembers it by (16 to 64 of
    /// A-Z a-z 0-9 _ -). Repeating an interrupted command with the key its error named sends
    /// nothing twice; without it, each command gets a fresh random key.
    #[arg(long, global = true)]
    idempotency_key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a filled-in example of a message file (with --json, the same as a JSON file, to
    /// save as NAME.json).
    Template {
        /// The message kind.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(trm_cli::message_file::KINDS))]
        kind: String,
    },
    /// Seal and send a message from a filled-in file (TOML, or JSON if it ends in .json).
    Send {
        /// The message kind.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(trm_cli::message_file::KINDS))]
        kind: String,
        /// The filled-in file.
        #[arg(long)]
        file: PathBuf,
        /// A file to send with it (a referral or an information response); repeat for more.
        #[arg(long, value_name = "PATH")]
        attach: Vec<PathBuf>,
    },
    /// Attachments of a message: list them, or save one.
    Attachment {
        #[command(subcommand)]
        action: trm_cli::attachments::Action,
    },
    /// Webhooks: signed notifications to your systems when a message arrives, a referral is
    /// answered, an item is overdue or the directory expires soon (ids and kinds, no content).
    Webhooks {
        #[command(subcommand)]
        action: trm_cli::webhooks::Action,
    },
    /// Messages received, newest first; with --overdue, the open items past their due time.
    Inbox {
        /// How many to show (with --overdue: the most overdue, at most 1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Show open items past their due time instead: referrals not answered, information
        /// requests not answered, returns not confirmed, follow-ups not received.
        #[arg(long)]
        overdue: bool,
        /// With --overdue: judge by this time instead of now (RFC 3339, or a date), e.g. to see
        /// what will be overdue by Friday.
        #[arg(long, requires = "overdue")]
        at: Option<String>,
    },
    /// One message, decrypted and verified.
    Show {
        /// The message id.
        id: String,
    },
    /// The evidence for a sent message: submitted, accepted, delivered or rejected.
    Status {
        /// The message id.
        id: String,
    },
    /// The handover log (metadata only); `trm log verify` checks its hash chain.
    Log {
        #[command(subcommand)]
        action: Option<LogAction>,
        /// First entry to show.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// How many entries to show.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Offline audit of exported handover logs (metadata only).
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// The federation directory: partner organisations and your sharing agreements.
    Directory {
        #[command(subcommand)]
        action: DirectoryAction,
    },
    /// Run a whole referral end to end on this machine, with no set-up. Its output is a story
    /// for people: --json does not apply (a usage error).
    #[cfg(feature = "demo")]
    Demo {
        /// Keep the federation, data and logs in this folder instead of a temporary one.
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Start both organisations' consoles instead, print their addresses and demo accounts,
        /// and keep running until Ctrl-C, to carry the case in a browser.
        #[arg(long)]
        web: bool,
    },
    /// Generate a development federation with configuration files for every broker and node
    /// (with --json, the files written as JSON).
    #[cfg(feature = "demo")]
    DevFederation {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// A federation description (TOML); the built-in four-country one by default.
        #[arg(long)]
        spec: Option<PathBuf>,
    },
    /// Your cases, most recently active first, with where each referral, information request
    /// and return stands.
    Cases,
    /// One case: where things stand and the whole thread, each message decrypted.
    Case {
        /// The case reference.
        case_ref: String,
        /// The other organisation, when several use the same case reference.
        #[arg(long = "with", default_value = "")]
        counterparty: String,
    },
    /// Send a case-information request from a filled-in file (`trm template info_request`).
    RequestInfo {
        /// The filled-in file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Answer an information request from a filled-in file (`trm template info_response`):
    /// the information with its evaluation codes, or a refusal with its reason.
    Answer {
        /// The filled-in file.
        #[arg(long)]
        file: PathBuf,
        /// A file to send with the answer; repeat for more.
        #[arg(long, value_name = "PATH")]
        attach: Vec<PathBuf>,
    },
    /// Returns: request one, confirm the reception, report a follow-up after return.
    Return {
        #[command(subcommand)]
        action: ReturnAction,
    },
    /// The person withdrew consent: tell the partner, who erases what it holds of the case and
    /// acknowledges; nothing more is exchanged in the case.
    WithdrawConsent {
        /// The case reference.
        #[arg(long = "case")]
        case_ref: String,
        /// The other organisation, when several use the same case reference.
        #[arg(long = "with", default_value = "")]
        counterparty: String,
        /// The role that recorded the withdrawal (not a person's name).
        #[arg(long)]
        recorded_by: String,
        /// Anything the partner needs to know.
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// The node's accounts and API tokens (over the socket, as the host's administrator).
    Accounts {
        #[command(subcommand)]
        action: trm_cli::accounts::Action,
    },
    /// Who read which message's content, when (the access log); --verify checks its chain.
    AccessLog {
        /// Verify the hash chain instead; exits 1 naming the entry if it is broken.
        #[arg(long)]
        verify: bool,
        /// First entry to show.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// How many entries to show.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Answer a referral you received: accept it, decline it, or ask for what is missing.
    #[command(group(clap::ArgGroup::new("decision").required(true).args(["accept", "decline", "needs_info"])))]
    Respond {
        /// The referral's message id.
        #[arg(long)]
        message: String,
        /// Accept the referral (with --unit).
        #[arg(long, requires = "unit")]
        accept: bool,
        /// The unit now responsible (a role or team, not a person).
        #[arg(long)]
        unit: Option<String>,
        /// Decline the referral (with --reason).
        #[arg(long, requires = "reason")]
        decline: bool,
        /// Why it is declined.
        #[arg(long)]
        reason: Option<String>,
        /// Ask for what is missing before deciding.
        #[arg(long, value_name = "WHAT IS MISSING")]
        needs_info: Option<String>,
    },
}

#[derive(Subcommand)]
enum ReturnAction {
    /// Ask the origin organisation to arrange a return (`trm template return_request`).
    Request {
        /// The filled-in file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Confirm the reception arrangements of a requested return (`trm template
    /// return_confirmation`).
    Confirm {
        /// The filled-in file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Report on a returned person's reintegration (`trm template follow_up`).
    FollowUp {
        /// The filled-in file.
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum DirectoryAction {
    /// Find partner organisations; filters combine.
    Search {
        /// Country, ISO 3166-1 alpha-2.
        #[arg(long, default_value = "")]
        country: String,
        /// A service offered (shelter, legal_aid, ...).
        #[arg(long, default_value = "")]
        service: String,
        /// A working language (ISO 639-1).
        #[arg(long, default_value = "")]
        language: String,
        /// Only organisations that accept referrals of children.
        #[arg(long)]
        children: bool,
        /// ngo, social_services, police, prosecutor, coordinator, international.
        #[arg(long = "type", default_value = "")]
        organisation_type: String,
        /// Text in the organisation's name or address.
        #[arg(default_value = "")]
        text: String,
        /// Ask the broker for a newer directory first.
        #[arg(long)]
        refresh: bool,
    },
}

#[derive(Subcommand)]
enum LogAction {
    /// Re-verify the whole hash chain; exits 1 and names the entry if it is broken.
    Verify,
    /// Sign a checkpoint of the log's Merkle tree at its current size (if it grew) and print it.
    Checkpoint,
    /// Print the key that verifies this node's checkpoints (C2SP signed-note form:
    /// `trm/<federation>/<node>+<key hash>+<key>`), for transparency-log tools.
    Vkey,
    /// Write the log as a metadata-only bundle for `trm audit verify`: every entry's exact
    /// bytes and the checkpoints the node signed; never names, never content.
    Export {
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
        /// Do not sign a checkpoint at the current size first (for a log that fails
        /// verification, which the node will not sign).
        #[arg(long)]
        no_checkpoint: bool,
        /// Whom the bundle is for: cases are named by pseudonyms that stay the same within
        /// this audience's bundles and cannot be linked to another audience's.
        #[arg(long, default_value = "audit")]
        audience: String,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Verify handover-log bundles offline, each on its own (hash chain, Merkle tree, signed
    /// checkpoints) and against each other (forks, handovers missing or rewritten on one
    /// side); exits 1 on any finding.
    Verify {
        /// The federation's signed directory (`directory.pb`), for the nodes' keys.
        #[arg(long)]
        directory: PathBuf,
        /// The federation authority's public key, 64 hex digits (`authority.pub`).
        #[arg(long)]
        authority_key: String,
        /// The federation's name.
        #[arg(long)]
        federation: String,
        /// The bundles written by `trm log export`.
        #[arg(required = true)]
        bundles: Vec<PathBuf>,
    },
    /// The coordinator's report over handover-log bundles, from their metadata only:
    /// handovers per country pair, kind and month, timings, unanswered requests, consent,
    /// returns, children, initiators and the network. The bundles are verified first; a report
    /// over bundles with findings is still written, marked so.
    Report {
        /// The federation's signed directory (`directory.pb`), for countries and types.
        #[arg(long)]
        directory: PathBuf,
        /// The federation authority's public key, 64 hex digits (`authority.pub`).
        #[arg(long)]
        authority_key: String,
        /// The federation's name.
        #[arg(long)]
        federation: String,
        /// json (one document), csv (one file, tables told apart by the `table` column) or
        /// html (one self-contained page, the default); `--json` means json, and the two may
        /// not be combined.
        #[arg(long, value_parser = ["json", "csv", "html"])]
        format: Option<String>,
        /// The file to write; standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The bundles written by `trm log export`.
        #[arg(required = true)]
        bundles: Vec<PathBuf>,
    },
    /// For a national coordinator's node: ask every organisation of your country for its
    /// handover log's latest checkpoint; their receipts carry it, and your node cosigns it.
    Collect {
        /// Why, for the record.
        #[arg(long, default_value = "monitoring")]
        purpose: String,
    },
    /// The partners' checkpoints your node has cosigned (the latest of each) and any fork
    /// evidence it holds; exits 1 when it holds evidence of a fork.
    Witnessed,
}

async fn run(args: Args) -> Result<(), CommandError> {
    if let Some(key) = args.idempotency_key {
        commands::use_idempotency_key(key);
    }
    let out = Output { json: args.json };
    let socket = &args.socket;
    match args.command {
        Command::Template { kind } => commands::template(&kind, out),
        Command::Send { kind, file, attach } if kind == "referral" => {
            commands::send_referral(socket, &file, &attach, out).await
        }
        Command::Send { kind, file, attach } => {
            commands::send_message_attaching(socket, &kind, &file, &attach, out).await
        }
        Command::Attachment { action } => trm_cli::attachments::run(socket, action, out).await,
        Command::Webhooks { action } => trm_cli::webhooks::run(socket, action, out).await,
        Command::Inbox {
            overdue: true,
            at,
            limit,
        } => case_commands::overdue(socket, at.as_deref(), limit, out).await,
        Command::Inbox { limit, .. } => commands::inbox(socket, limit, out).await,
        Command::RequestInfo { file } => {
            commands::send_message(socket, "info_request", &file, out).await
        }
        Command::Answer { file, attach } => {
            commands::send_message_attaching(socket, "info_response", &file, &attach, out).await
        }
        Command::Return { action } => {
            let (kind, file) = match action {
                ReturnAction::Request { file } => ("return_request", file),
                ReturnAction::Confirm { file } => ("return_confirmation", file),
                ReturnAction::FollowUp { file } => ("follow_up", file),
            };
            commands::send_message(socket, kind, &file, out).await
        }
        Command::WithdrawConsent {
            case_ref,
            counterparty,
            recorded_by,
            notes,
        } => {
            case_commands::withdraw_consent(
                socket,
                &case_ref,
                &counterparty,
                &recorded_by,
                &notes,
                out,
            )
            .await
        }
        Command::Show { id } => commands::show(socket, &id, out).await,
        Command::Status { id } => commands::status(socket, &id, out).await,
        Command::Log {
            action: Some(LogAction::Verify),
            ..
        } => commands::verify_log(socket, out).await,
        Command::Log {
            action: Some(LogAction::Checkpoint),
            ..
        } => audit::checkpoint(socket, out).await,
        Command::Log {
            action: Some(LogAction::Vkey),
            ..
        } => audit::vkey(socket, out).await,
        Command::Log {
            action:
                Some(LogAction::Export {
                    out: file,
                    no_checkpoint,
                    audience,
                }),
            ..
        } => audit::export(socket, &file, !no_checkpoint, &audience, out).await,
        Command::Audit {
            action:
                AuditAction::Verify {
                    directory,
                    authority_key,
                    federation,
                    bundles,
                },
        } => audit::verify(&directory, &authority_key, &federation, &bundles, out),
        Command::Audit {
            action:
                AuditAction::Report {
                    directory,
                    authority_key,
                    federation,
                    format,
                    out: file,
                    bundles,
                },
        } => trm_cli::audit_report::command::run_and_judge(
            &trm_cli::audit_report::command::Request {
                directory,
                authority_key,
                federation,
                bundles,
                format,
                json: out.json,
                out: file,
            },
        ),
        Command::Audit {
            action: AuditAction::Collect { purpose },
        } => audit::collect(socket, &purpose, out).await,
        Command::Audit {
            action: AuditAction::Witnessed,
        } => audit::witnessed(socket, out).await,
        Command::Log {
            action: None,
            from,
            limit,
        } => commands::log(socket, from, limit, out).await,
        #[cfg(feature = "demo")]
        Command::Demo { .. } if out.json => Err(CommandError::new(
            commands::exit::USAGE,
            "--json does not apply to demo: its output is a story for people (its exit code says whether every step passed)",
        )),
        #[cfg(feature = "demo")]
        Command::Demo { keep, web } => demo(keep, web).await,
        Command::Directory {
            action:
                DirectoryAction::Search {
                    country,
                    service,
                    language,
                    children,
                    organisation_type,
                    text,
                    refresh,
                },
        } => {
            let query = trm_proto::pb::DirectorySearchRequest {
                refresh,
                country,
                service,
                language,
                children,
                organisation_type,
                text,
            };
            commands::directory_search(socket, query, out).await
        }
        #[cfg(feature = "demo")]
        Command::DevFederation { out: dir, spec } => dev_federation(&dir, spec.as_deref(), out),
        Command::Accounts { action } => trm_cli::accounts::run(socket, action, out).await,
        Command::AccessLog {
            verify,
            from,
            limit,
        } => trm_cli::accounts::access_log(socket, verify, from, limit, out).await,
        Command::Cases => case_commands::cases(socket, out).await,
        Command::Case {
            case_ref,
            counterparty,
        } => case_commands::case(socket, &case_ref, &counterparty, out).await,
        Command::Respond {
            message,
            unit,
            decline,
            reason,
            needs_info,
            ..
        } => {
            let answer = match (needs_info, decline) {
                (Some(missing), _) => Answer::NeedsInformation { missing },
                (None, true) => Answer::Decline {
                    reason: reason.unwrap_or_default(),
                },
                (None, false) => Answer::Accept {
                    unit: unit.unwrap_or_default(),
                },
            };
            case_commands::respond(socket, &message, &answer, out).await
        }
    }
}

#[cfg(feature = "demo")]
async fn demo(keep: Option<PathBuf>, web: bool) -> Result<(), CommandError> {
    let failed = |e: anyhow::Error| {
        CommandError::new(commands::exit::CHECK_FAILED, format!("demo failed: {e:#}"))
    };
    let run = |dir: PathBuf| async move {
        if web {
            trm_cli::demo::run_web(&dir).await
        } else {
            trm_cli::demo::run(&dir).await
        }
    };
    match keep {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| failed(e.into()))?;
            run(dir).await.map_err(failed)
        }
        None => {
            let dir = tempfile::tempdir().map_err(|e| failed(e.into()))?;
            run(dir.path().to_owned()).await.map_err(failed)
        }
    }
}

#[cfg(feature = "demo")]
fn dev_federation(
    dir: &std::path::Path,
    spec: Option<&std::path::Path>,
    out: Output,
) -> Result<(), CommandError> {
    let data = |e: String| CommandError::new(commands::exit::DATA, e);
    let spec = match spec {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| data(format!("{}: {e}", path.display())))?;
            trm_dev::FederationSpec::from_toml(&text).map_err(|e| data(e.to_string()))?
        }
        None => trm_dev::FederationSpec::default_dev(),
    };
    let federation = trm_dev::generate(&spec, dir).map_err(|e| data(e.to_string()))?;
    let written = trm_dev::devfed::write_configs(&federation, &dir.join("run"))
        .map_err(|e| CommandError::new(commands::exit::REFUSED, e.to_string()))?;
    let mut human = format!(
        "federation {} written to {}\n",
        federation.federation,
        dir.display()
    );
    for path in &written {
        human.push_str(&format!("  {}\n", path.display()));
    }
    out.print(human, || {
        serde_json::json!({
            "federation": federation.federation,
            "dir": dir.display().to_string(),
            "configs": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        })
    });
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = trm_storage::logging::init("warn", trm_storage::logging::Stream::Stderr) {
        eprintln!("trm: {e}");
        return ExitCode::from(commands::exit::USAGE);
    }
    // Usage errors exit 64 (EX_USAGE), as the README says, not clap's 2; help and version 0.
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(commands::exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trm: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
