//! The commands that talk to the node, each printing for people or, with `--json`, for
//! scripts. Errors carry the exit code they should produce.

use std::path::Path;

use tonic::Code;
use trm_proto::pb;

use crate::client;
use crate::json;
use crate::referral_file::ReferralFile;
use crate::render;

/// Exit codes (sysexits.h where one fits).
pub mod exit {
    /// A check found a problem (log verification failed, the demo did not complete).
    pub const CHECK_FAILED: u8 = 1;
    /// Bad command-line usage.
    pub const USAGE: u8 = 64;
    /// A filled-in file is invalid.
    pub const DATA: u8 = 65;
    /// A file or message was not found.
    pub const NOT_FOUND: u8 = 66;
    /// The node is not reachable.
    pub const UNAVAILABLE: u8 = 69;
    /// The node refused or failed the request.
    pub const REFUSED: u8 = 70;
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

/// Output for people or for scripts.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Print JSON.
    pub json: bool,
}

impl Output {
    /// Prints `human` for people, or the JSON `json` makes for scripts.
    pub(crate) fn print(&self, human: String, json: impl FnOnce() -> serde_json::Value) {
        if self.json {
            println!("{}", json());
        } else {
            print!("{human}");
        }
    }
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
    };
    crate::attachments::attach(&mut request, file, &parsed.attachments, attach)?;
    let response = client::connect(socket)
        .await?
        .send(request)
        .await?
        .into_inner();
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
    let response = client::connect(socket)
        .await?
        .send(request)
        .await?
        .into_inner();
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
        .await?
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
        .await?
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
