//! The commands that talk to the node, each printing for people or, with `--json`, for
//! scripts. Errors carry the exit code they should produce.

use std::path::Path;

use tonic::Code;
use trm_proto::pb;

use crate::client;
use crate::json;
use crate::referral_file::ReferralFile;
use crate::render;

/// Exit codes (sysexits.h where one fits): [`exit::Exit`] lists every one `trm` uses, and the
/// README's table says the same.
pub mod exit {
    /// Why `trm` exited; its number is the process exit code.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Exit {
        /// Done.
        Success,
        /// A check found a problem (log verification failed, an audit found something, the
        /// demo did not complete).
        CheckFailed,
        /// Bad command-line usage: an unknown command or option, a missing or malformed
        /// argument, an id too short or matching several messages.
        Usage,
        /// A filled-in file is invalid, or its content breaks a rule (the message names the
        /// field).
        Data,
        /// A file, message or case was not found.
        NotFound,
        /// The node is not reachable.
        Unavailable,
        /// The node refused or failed the request (the case's state, a missing sharing
        /// agreement, storage).
        Refused,
        /// A request that creates a message was interrupted: it may or may not have been
        /// sent; the same command with its idempotency key settles it without sending twice.
        OutcomeUnknown,
        /// The node cannot store anything now (its disk is full): a definite refusal, to be
        /// repeated once space is freed.
        CannotStore,
    }

    impl Exit {
        /// Every exit code, in order.
        pub const ALL: [Exit; 9] = [
            Exit::Success,
            Exit::CheckFailed,
            Exit::Usage,
            Exit::Data,
            Exit::NotFound,
            Exit::Unavailable,
            Exit::Refused,
            Exit::OutcomeUnknown,
            Exit::CannotStore,
        ];

        /// The process exit code.
        pub const fn code(self) -> u8 {
            match self {
                Exit::Success => 0,
                Exit::CheckFailed => 1,
                Exit::Usage => 64,
                Exit::Data => 65,
                Exit::NotFound => 66,
                Exit::Unavailable => 69,
                Exit::Refused => 70,
                Exit::OutcomeUnknown => 75,
                Exit::CannotStore => 73,
            }
        }
    }

    /// [`Exit::CheckFailed`].
    pub const CHECK_FAILED: u8 = Exit::CheckFailed.code();
    /// [`Exit::Usage`].
    pub const USAGE: u8 = Exit::Usage.code();
    /// [`Exit::Data`].
    pub const DATA: u8 = Exit::Data.code();
    /// [`Exit::NotFound`].
    pub const NOT_FOUND: u8 = Exit::NotFound.code();
    /// [`Exit::Unavailable`].
    pub const UNAVAILABLE: u8 = Exit::Unavailable.code();
    /// [`Exit::Refused`].
    pub const REFUSED: u8 = Exit::Refused.code();
    /// [`Exit::OutcomeUnknown`].
    pub const OUTCOME_UNKNOWN: u8 = Exit::OutcomeUnknown.code();
    /// [`Exit::CannotStore`].
    pub const CANNOT_STORE: u8 = Exit::CannotStore.code();
}

/// A command failed; `code` is the process exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// What to print.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl CommandError {
    /// An error with an exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }
}

impl From<client::ConnectError> for CommandError {
    fn from(e: client::ConnectError) -> Self {
        Self::new(exit::UNAVAILABLE, e.to_string())
    }
}

impl From<tonic::Status> for CommandError {
    fn from(status: tonic::Status) -> Self {
        let code = match status.code() {
            Code::NotFound => exit::NOT_FOUND,
            Code::InvalidArgument => exit::DATA,
            Code::Unavailable => exit::UNAVAILABLE,
            _ => exit::REFUSED,
        };
        Self::new(code, status.message().to_owned())
    }
}

/// The error of looking up an id given on the command line: an id too short, not hex or
/// matching several messages is bad usage, not a bad file.
pub(crate) fn id_error(status: tonic::Status) -> CommandError {
    let mut e = CommandError::from(status);
    if e.code == exit::DATA {
        e.code = exit::USAGE;
    }
    e
}

/// The idempotency key `--idempotency-key` gave, set once by `main` before any command runs.
static GIVEN_KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Uses `key` for the message this invocation creates, instead of a fresh random one, so a
/// person can repeat an interrupted command without sending twice. The node checks it.
pub fn use_idempotency_key(key: String) {
    let _ = GIVEN_KEY.set(key);
}

/// Sends `request` to the node under the key `--idempotency-key` gave, or a fresh random one
/// (32 hex characters). See [`send_with_key`].
pub async fn send_request(
    admin: &mut pb::node_admin_client::NodeAdminClient<tonic::transport::Channel>,
    request: pb::SendRequest,
) -> Result<pb::SendResponse, CommandError> {
    let key = GIVEN_KEY
        .get()
        .cloned()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    send_with_key(admin, request, key).await
}

/// Sends `request` to the node under idempotency `key`. A call interrupted on the way (the
/// connection dropped, the node stopped, a deadline passed) exits [`exit::OUTCOME_UNKNOWN`]
/// naming the key to repeat the command with; a node whose disk is full says so.
pub async fn send_with_key(
    admin: &mut pb::node_admin_client::NodeAdminClient<tonic::transport::Channel>,
    mut request: pb::SendRequest,
    key: String,
) -> Result<pb::SendResponse, CommandError> {
    request.idempotency_key.clone_from(&key);
    match admin.send(request).await {
        Ok(response) => Ok(response.into_inner()),
        Err(status) => Err(send_error(status, &key)),
    }
}

/// The error of a request that creates a message.
pub fn send_error(status: tonic::Status, key: &str) -> CommandError {
    match status.code() {
        Code::Unavailable
        | Code::Unknown
        | Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Internal
        | Code::Aborted => CommandError::new(
            exit::OUTCOME_UNKNOWN,
            format!(
                "{}: the outcome is unknown; run the same command again with --idempotency-key {key}, it will not send twice",
                status.message()
            ),
        ),
        Code::ResourceExhausted => CommandError::new(
            exit::CANNOT_STORE,
            format!(
                "the node's disk is full, so it cannot store the message now ({}); free space on the node, then run the same command again with --idempotency-key {key}, it will not send twice",
                status.message()
            ),
        ),
        _ => CommandError::from(status),
    }
}

/// Output for people or for scripts.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Print JSON.
    pub json: bool,
}

impl Output {
    /// Prints `human` for people, or the JSON `json` makes for scripts.
    pub fn print(&self, human: String, json: impl FnOnce() -> serde_json::Value) {
        if self.json {
            println!("{}", json());
        } else {
            print!("{human}");
        }
    }
}

/// A kind's example file as JSON: the same fields as its commented TOML template, for a
/// message file that ends in `.json`.
pub fn template_json(kind: &str) -> Result<String, CommandError> {
    let text = crate::message_file::template(kind).unwrap_or_default();
    let value: serde_json::Value = toml::from_str(text).map_err(|e| {
        CommandError::new(
            exit::REFUSED,
            format!("the {kind} template is not valid: {e}"),
        )
    })?;
    serde_json::to_string_pretty(&value)
        .map_err(|e| CommandError::new(exit::REFUSED, e.to_string()))
}

/// `trm template KIND`: the commented TOML example, or with `--json` the same as a JSON file.
pub fn template(kind: &str, out: Output) -> Result<(), CommandError> {
    if out.json {
        println!("{}", template_json(kind)?);
    } else {
        print!(
            "{}",
            crate::message_file::template(kind).unwrap_or_default()
        );
    }
    Ok(())
}

/// `trm send KIND --file F` for every kind but the referral.
pub async fn send_message(
    socket: &Path,
    kind: &str,
    file: &Path,
    out: Output,
) -> Result<(), CommandError> {
    send_message_attaching(socket, kind, file, &[], out).await
}

/// `trm send KIND --file F --attach PATH ...` for every kind but the referral: the files are
/// sent with the message (only kinds that carry attachments take them).
pub async fn send_message_attaching(
    socket: &Path,
    kind: &str,
    file: &Path,
    attach: &[std::path::PathBuf],
    out: Output,
) -> Result<(), CommandError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        CommandError::new(
            exit::NOT_FOUND,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let is_json = file.extension().is_some_and(|e| e == "json");
    let parsed = crate::message_file::parse(kind, &text, is_json)
        .map_err(|e| CommandError::new(exit::DATA, format!("{}: {e}", file.display())))?;
    let mut request = pb::SendRequest {
        to: parsed.to.clone(),
        case_ref: parsed.case_ref.clone(),
        priority: parsed.priority.into(),
        body: Some(pb::Body {
            content: Some(parsed.content),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    };
    crate::attachments::attach(&mut request, file, &parsed.attachments, attach)?;
    let response = send_request(&mut client::connect(socket).await?, request).await?;
    out.print(
        format!(
            "{} {} to {} in case {} sealed, logged as entry {} and queued for the broker\n  follow it with: trm status {}\n",
            kind.replace('_', " "),
            response.message_id,
            parsed.to,
            parsed.case_ref,
            response.log_index,
            response.message_id
        ),
        || {
            serde_json::json!({
                "message_id": response.message_id,
                "kind": kind,
                "to": parsed.to,
                "case_ref": parsed.case_ref,
                "log_index": response.log_index,
                "envelope_digest": hex::encode(&response.envelope_digest),
            })
        },
    );
    Ok(())
}

/// `trm send referral --file F [--attach PATH ...]`.
pub async fn send_referral(
    socket: &Path,
    file: &Path,
    attach: &[std::path::PathBuf],
    out: Output,
) -> Result<(), CommandError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        CommandError::new(
            exit::NOT_FOUND,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let is_json = file.extension().is_some_and(|e| e == "json");
    let parsed = ReferralFile::parse(&text, is_json)
        .map_err(|e| CommandError::new(exit::DATA, format!("{}: {e}", file.display())))?;
    let mut request = parsed
        .send_request()
        .map_err(|e| CommandError::new(exit::DATA, format!("{}: {e}", file.display())))?;
    crate::attachments::attach(&mut request, file, &parsed.referral.attachments, attach)?;
    let to = request.to.clone();
    let response = send_request(&mut client::connect(socket).await?, request).await?;
    out.print(
        format!(
            "referral {} to {} sealed, logged as entry {} and queued for the broker\n  digest {}\n  follow it with: trm status {}\n",
            response.message_id,
            to,
            response.log_index,
            hex::encode(&response.envelope_digest),
            response.message_id
        ),
        || {
            serde_json::json!({
                "message_id": response.message_id,
                "to": to,
                "log_index": response.log_index,
                "envelope_digest": hex::encode(&response.envelope_digest),
            })
        },
    );
    Ok(())
}

/// `trm inbox`.
pub async fn inbox(socket: &Path, limit: u32, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .inbox(pb::InboxRequest { limit })
        .await?
        .into_inner();
    out.print(render::inbox(&response.messages), || {
        serde_json::Value::Array(response.messages.iter().map(json::summary).collect())
    });
    Ok(())
}

/// `trm show ID`.
pub async fn show(socket: &Path, id: &str, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .show(pb::ShowRequest {
            message_id: id.to_owned(),
        })
        .await
        .map_err(id_error)?
        .into_inner();
    out.print(render::message(&response), || json::message(&response));
    Ok(())
}

/// `trm status ID`.
pub async fn status(socket: &Path, id: &str, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .status(pb::StatusRequest {
            message_id: id.to_owned(),
        })
        .await
        .map_err(id_error)?
        .into_inner();
    out.print(render::status(&response), || json::status(&response));
    Ok(())
}

/// `trm log`.
pub async fn log(socket: &Path, from: u64, limit: u32, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .log(pb::LogRequest {
            from_index: from,
            limit,
        })
        .await?
        .into_inner();
    out.print(render::log(&response.entries), || {
        json::log(&response.entries)
    });
    Ok(())
}

/// `trm log verify`: exits with [`exit::CHECK_FAILED`] when the chain is broken.
pub async fn verify_log(socket: &Path, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .verify_log(pb::VerifyLogRequest {})
        .await?
        .into_inner();
    out.print(render::verify(&response), || json::verify(&response));
    if response.ok {
        Ok(())
    } else {
        Err(CommandError::new(
            exit::CHECK_FAILED,
            format!(
                "handover log entry {} is corrupt: {}",
                response.bad_index, response.problem
            ),
        ))
    }
}

/// `trm directory search`.
pub async fn directory_search(
    socket: &Path,
    query: pb::DirectorySearchRequest,
    out: Output,
) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .search_directory(query)
        .await?
        .into_inner();
    out.print(render::directory(&response), || json::directory(&response));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_as_json_is_a_valid_message_file() -> Result<(), Box<dyn std::error::Error>> {
        for kind in crate::message_file::KINDS {
            let json = template_json(kind)?;
            if *kind == "referral" {
                ReferralFile::parse(&json, true)?.send_request()?;
            } else {
                crate::message_file::parse(kind, &json, true)?;
            }
        }
        Ok(())
    }

    #[test]
    fn exit_codes_are_distinct_and_sysexits_where_one_fits() {
        let codes: std::collections::BTreeSet<u8> =
            exit::Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), exit::Exit::ALL.len());
        assert_eq!(exit::USAGE, 64);
        assert_eq!(exit::Exit::Success.code(), 0);
        assert_eq!(exit::OUTCOME_UNKNOWN, 75);
    }

    #[test]
    fn an_interrupted_send_names_its_key_and_a_full_disk_says_so() {
        let key = "0123456789abcdef0123";
        for code in [Code::Unavailable, Code::Unknown, Code::DeadlineExceeded] {
            let e = send_error(tonic::Status::new(code, "transport error"), key);
            assert_eq!(e.code, exit::OUTCOME_UNKNOWN);
            assert!(e.message.contains(
                "the outcome is unknown; run the same command again with --idempotency-key 0123456789abcdef0123, it will not send twice"
            ), "{}", e.message);
        }
        let full = send_error(tonic::Status::resource_exhausted("no space left"), key);
        assert_eq!(full.code, exit::CANNOT_STORE);
        assert_eq!(exit::CANNOT_STORE, 73);
        assert!(
            full.message.starts_with(
                "the node's disk is full, so it cannot store the message now (no space left)"
            ),
            "{}",
            full.message
        );
        assert!(
            full.message
                .ends_with("--idempotency-key 0123456789abcdef0123, it will not send twice"),
            "{}",
            full.message
        );
        let refused = send_error(tonic::Status::failed_precondition("no agreement"), key);
        assert_eq!(
            (refused.code, refused.message.as_str()),
            (exit::REFUSED, "no agreement")
        );
    }
}
