//! `trm log checkpoint`, `trm log vkey` and `trm log export`: a signed checkpoint of the node's
//! handover log, the key that verifies it, and the log exported as a metadata-only bundle for
//! `trm audit verify`; and `trm audit
//! verify`, `collect` and `witnessed`, the first a thin front over [`trm_audit::verify`].

use std::io::Write;
use std::path::Path;

use prost::Message;
use trm_proto::pb;

use crate::client;
use crate::commands::{CommandError, Output, exit};

/// The largest piece of an export the client accepts. The node sends pieces of about 1 MiB;
/// this leaves room for a log entry with an unusually long refusal reason.
const MAX_PIECE_BYTES: usize = 64 << 20;

/// `trm log vkey`: the key that verifies this node's checkpoints, in the C2SP signed-note form
/// that transparency-log tools read.
pub async fn vkey(socket: &Path, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .verifier_key(pb::VerifierKeyRequest {})
        .await?
        .into_inner();
    out.print(
        format!("{}\n", response.vkey),
        || serde_json::json!({ "vkey": response.vkey, "origin": response.origin }),
    );
    Ok(())
}

/// `trm audit collect`: a coordinator's node asks its country's organisations for checkpoints.
pub async fn collect(socket: &Path, purpose: &str, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .collect_checkpoints(pb::CollectCheckpointsRequest {
            purpose: purpose.to_owned(),
        })
        .await?
        .into_inner();
    let mut text = String::new();
    for asked in &response.asked {
        if asked.problem.is_empty() {
            text.push_str(&format!(
                "asked {} (witness request {})\n",
                asked.node, asked.message_id
            ));
        } else {
            text.push_str(&format!(
                "could not ask {}: {}\n",
                asked.node, asked.problem
            ));
        }
    }
    text.push_str("their receipts carry their checkpoints; see them with: trm audit witnessed\n");
    out.print(text, || {
        serde_json::json!(
            response
                .asked
                .iter()
                .map(|a| serde_json::json!({
                    "node": a.node,
                    "message_id": a.message_id,
                    "problem": a.problem,
                }))
                .collect::<Vec<_>>()
        )
    });
    Ok(())
}

/// `trm audit witnessed`: the checkpoints this node cosigned, and fork evidence (exit 1).
pub async fn witnessed(socket: &Path, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .witnessed(pb::WitnessedRequest {})
        .await?
        .into_inner();
    let mut text = format!("{:<28}  {:>10}  {}\n", "NODE", "SIZE", "ROOT");
    for w in &response.latest {
        text.push_str(&format!(
            "{:<28}  {:>10}  {}\n",
            w.node,
            w.size,
            hex::encode(&w.root)
        ));
    }
    for fork in &response.forks {
        text.push_str(&format!(
            "\nFORK: {} showed two histories ({}), found {}\n",
            fork.node,
            fork.problem,
            trm_proto::time::format_ms(fork.detected_at_ms)
        ));
    }
    out.print(text, || {
        serde_json::json!({
            "witnessed": response.latest.iter().map(|w| serde_json::json!({
                "node": w.node,
                "size": w.size,
                "root": hex::encode(&w.root),
                "note": w.note,
            })).collect::<Vec<_>>(),
            "forks": response.forks.iter().map(|f| serde_json::json!({
                "node": f.node,
                "problem": f.problem,
                "seen": f.seen,
                "presented": f.presented,
                "detected_at": trm_proto::time::format_ms(f.detected_at_ms),
            })).collect::<Vec<_>>(),
        })
    });
    if response.forks.is_empty() {
        Ok(())
    } else {
        Err(CommandError::new(
            exit::CHECK_FAILED,
            format!("{} fork(s) on record", response.forks.len()),
        ))
    }
}

/// `trm log checkpoint`: signs a checkpoint at the log's current size if it grew, and prints
/// the latest signed checkpoint note.
pub async fn checkpoint(socket: &Path, out: Output) -> Result<(), CommandError> {
    let response = client::connect(socket)
        .await?
        .checkpoint(pb::CheckpointRequest {})
        .await?
        .into_inner();
    out.print(
        format!(
            "{} checkpoint at size {}, root {}:\n\n{}",
            if response.signed_now {
                "signed a new"
            } else {
                "the log has not grown since the last"
            },
            response.size,
            hex::encode(&response.root),
            response.note
        ),
        || {
            serde_json::json!({
                "size": response.size,
                "root": hex::encode(&response.root),
                "signed_now": response.signed_now,
                "note": response.note,
            })
        },
    );
    Ok(())
}

/// What an export wrote.
#[derive(Debug, Default)]
struct Exported {
    /// The node, from the bundle's header.
    node: String,
    /// The federation, from the header.
    federation: String,
    /// How many checkpoints the bundle carries.
    checkpoints: usize,
    /// How many entries.
    entries: u64,
    /// How many bytes were written.
    bytes: u64,
    /// Whom its case pseudonyms are for.
    audience: String,
}

/// `trm log export --out FILE`: writes the node's handover log as a bundle (metadata only: the
/// entries' exact bytes and the signed checkpoints). With `checkpoint`, the node signs a
/// checkpoint at the current size first. The file appears complete or not at all.
pub async fn export(
    socket: &Path,
    file: &Path,
    checkpoint: bool,
    audience: &str,
    out: Output,
) -> Result<(), CommandError> {
    let mut stream = client::connect(socket)
        .await?
        .max_decoding_message_size(MAX_PIECE_BYTES)
        .export_log(pb::ExportLogRequest {
            checkpoint,
            audience: audience.to_owned(),
        })
        .await
        .map_err(|status| {
            let refused_to_sign = checkpoint && status.code() == tonic::Code::FailedPrecondition;
            let mut error = CommandError::from(status);
            if refused_to_sign {
                error.message.push_str(
                    "; `trm log export --no-checkpoint` exports the log as it is, for an auditor",
                );
            }
            error
        })?
        .into_inner();
    let cannot_write =
        |e: std::io::Error| CommandError::new(exit::REFUSED, format!("{}: {e}", file.display()));
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut partial = tempfile::NamedTempFile::new_in(folder).map_err(cannot_write)?;
    let mut exported = Exported::default();
    while let Some(chunk) = stream.message().await? {
        let piece = pb::LogBundle::decode(chunk.data.as_slice()).map_err(|e| {
            CommandError::new(
                exit::REFUSED,
                format!("the node sent a malformed piece: {e}"),
            )
        })?;
        if !piece.node.is_empty() {
            exported.node = piece.node;
            exported.federation = piece.federation;
            exported.audience = piece.audience;
        }
        exported.checkpoints += piece.checkpoints.len();
        exported.entries += piece.entries.len() as u64;
        exported.bytes += chunk.data.len() as u64;
        partial.write_all(&chunk.data).map_err(cannot_write)?;
    }
    partial.as_file().sync_all().map_err(cannot_write)?;
    partial.persist(file).map_err(|e| cannot_write(e.error))?;
    // The rename itself must survive a crash too.
    trm_storage::fs::sync_folder(folder).map_err(|e| cannot_write(e.into()))?;
    out.print(
        format!(
            "exported {} entries and {} signed checkpoint(s) of {}'s handover log to {} ({} bytes, metadata only; cases named by pseudonyms for the audience {:?})\n",
            exported.entries,
            exported.checkpoints,
            exported.node,
            file.display(),
            exported.bytes,
            exported.audience
        ),
        || {
            serde_json::json!({
                "node": exported.node,
                "federation": exported.federation,
                "entries": exported.entries,
                "checkpoints": exported.checkpoints,
                "bytes": exported.bytes,
                "audience": exported.audience,
                "file": file.display().to_string(),
            })
        },
    );
    Ok(())
}

/// `trm audit verify --directory D --authority-key K --federation F BUNDLE...`: verifies the
/// bundles offline and prints what it found; exits with [`exit::CHECK_FAILED`] on any finding.
pub fn verify(
    directory: &Path,
    authority_key: &str,
    federation: &str,
    bundles: &[std::path::PathBuf],
    out: Output,
) -> Result<(), CommandError> {
    let trust = trm_audit::verify::Trust::from_directory_file(
        directory,
        authority_key,
        federation,
        trm_proto::time::now_ms(),
    )
    .map_err(|e| match e {
        trm_audit::verify::TrustError::Read { .. } => {
            CommandError::new(exit::NOT_FOUND, e.to_string())
        }
        trm_audit::verify::TrustError::Directory { .. } => {
            CommandError::new(exit::DATA, e.to_string())
        }
    })?;
    let mut loaded = Vec::with_capacity(bundles.len());
    for path in bundles {
        let bytes = std::fs::read(path).map_err(|e| {
            CommandError::new(
                exit::NOT_FOUND,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        loaded.push((path.display().to_string(), bytes));
    }
    let report = trm_audit::verify::verify(loaded, &trust);
    out.print(report.human(), || report.json());
    if report.ok {
        Ok(())
    } else {
        Err(CommandError::new(
            exit::CHECK_FAILED,
            format!("{} findings", report.findings.len()),
        ))
    }
}
