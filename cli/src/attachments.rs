//! Attachments from the command line: reading files into a message before it is sent
//! (`trm send ... --attach FILE`, or `attachments = [...]` in a referral or information
//! response file), and `trm attachment list` and `trm attachment save` for what was received
//! ([`Action`], [`run`]).
//!
//! The node checks the size limits, the names and the SHA-256 before it seals (see
//! `trm_proto::attachment`); here a file is refused only when it is larger than any envelope
//! could carry, so that nothing huge is read into memory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use trm_proto::attachment;
use trm_proto::pb;

use crate::client;
use crate::commands::{CommandError, Output, exit};

pub use attachment::media_type;

/// Reads the file at `path` as an attachment: its base name, media type, bytes and SHA-256.
pub fn read(path: &Path) -> Result<pb::Attachment, CommandError> {
    let cannot = |e: std::io::Error| {
        CommandError::new(
            exit::NOT_FOUND,
            format!("cannot read attachment {}: {e}", path.display()),
        )
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            CommandError::new(
                exit::USAGE,
                format!(
                    "attachment {}: give a file, with a name in UTF-8",
                    path.display()
                ),
            )
        })?
        .to_owned();
    attachment::check_name(&name).map_err(|problem| {
        CommandError::new(
            exit::USAGE,
            format!("attachment {}: the file name {problem}", path.display()),
        )
    })?;
    let size = std::fs::metadata(path).map_err(cannot)?.len();
    if size > trm_proto::MAX_ENVELOPE_BYTES as u64 {
        return Err(CommandError::new(
            exit::DATA,
            format!(
                "attachment {} is {size} bytes; no message can carry more than {} bytes",
                path.display(),
                trm_proto::MAX_ENVELOPE_BYTES
            ),
        ));
    }
    let content = std::fs::read(path).map_err(cannot)?;
    Ok(pb::Attachment {
        media_type: media_type(&name).to_owned(),
        file_name: name,
        sha256: attachment::sha256(&content).to_vec(),
        content,
    })
}

/// Adds the files `listed` in the message file at `file` (relative to its folder) and the
/// files given with `--attach` to the request's content. A kind that cannot carry attachments
/// is refused as a usage error.
pub fn attach(
    request: &mut pb::SendRequest,
    file: &Path,
    listed: &[String],
    given: &[PathBuf],
) -> Result<(), CommandError> {
    if listed.is_empty() && given.is_empty() {
        return Ok(());
    }
    let folder = file.parent().unwrap_or(Path::new(""));
    let paths: Vec<PathBuf> = listed
        .iter()
        .map(|p| folder.join(p))
        .chain(given.iter().cloned())
        .collect();
    let content = request.body.as_mut().and_then(|b| b.content.as_mut());
    let Some(attachments) = content.and_then(attachment::of_mut) else {
        let kind = request
            .body
            .as_ref()
            .and_then(|b| b.content.as_ref())
            .map_or("message", |c| {
                trm_proto::kinds::label(trm_proto::kinds::kind_of(c).into())
            });
        return Err(CommandError::new(
            exit::USAGE,
            attachment::AttachmentError::NotCarried(kind).to_string(),
        ));
    };
    for path in paths {
        attachments.push(read(&path)?);
    }
    Ok(())
}

/// `trm attachment ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// The attachments of a message: number, name, type, size and SHA-256.
    List {
        /// The message id.
        message: String,
    },
    /// Save an attachment byte for byte (readable by you only), after checking its SHA-256.
    #[command(group(clap::ArgGroup::new("which").args(["index", "name"])))]
    Save {
        /// The message id.
        message: String,
        /// Which attachment, counting from 1 (needed when there are several).
        #[arg(long)]
        index: Option<usize>,
        /// Which attachment, by its file name.
        #[arg(long)]
        name: Option<String>,
        /// Where to save it: a file, or a folder to save it in under its own name (the
        /// current folder by default).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace a file that already exists.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `trm attachment ...`.
pub async fn run(socket: &Path, action: Action, out: Output) -> Result<(), CommandError> {
    match action {
        Action::List { message } => list(socket, &message, out).await,
        Action::Save {
            message,
            index,
            name,
            out: path,
            force,
        } => {
            let pick = match (index, name) {
                (Some(n), _) => Pick::Index(n),
                (None, Some(name)) => Pick::Name(name),
                (None, None) => Pick::Only,
            };
            save(socket, &message, &pick, path.as_deref(), force, out).await
        }
    }
}

/// Which attachment of a message to save.
#[derive(Debug, Clone)]
pub enum Pick {
    /// The only one; refused when there are several.
    Only,
    /// The n-th, counting from 1.
    Index(usize),
    /// The one with this file name.
    Name(String),
}

/// The message's attachments, or why there are none to read: not found, or erased.
async fn received(socket: &Path, id: &str) -> Result<Vec<pb::Attachment>, CommandError> {
    let response = client::connect(socket)
        .await?
        .show(pb::ShowRequest {
            message_id: id.to_owned(),
        })
        .await?
        .into_inner();
    match response.body.and_then(|b| b.content) {
        Some(content) => Ok(attachment::of(&content).to_vec()),
        None => Err(CommandError::new(
            exit::NOT_FOUND,
            format!(
                "message {id}: its content was erased, and its attachments with it ({})",
                if response.erased.is_empty() {
                    "no content held"
                } else {
                    &response.erased
                }
            ),
        )),
    }
}

fn hex_sha256(a: &pb::Attachment) -> String {
    hex::encode(&a.sha256)
}

fn json_of(index: usize, a: &pb::Attachment) -> serde_json::Value {
    serde_json::json!({
        "index": index,
        "file_name": a.file_name,
        "media_type": a.media_type,
        "size": a.content.len(),
        "sha256": hex_sha256(a),
    })
}

/// `trm attachment list MESSAGE_ID`.
pub async fn list(socket: &Path, id: &str, out: Output) -> Result<(), CommandError> {
    let attachments = received(socket, id).await?;
    let mut text = String::new();
    if attachments.is_empty() {
        let _ = writeln!(text, "message {id} has no attachments");
    }
    for (i, a) in attachments.iter().enumerate() {
        let _ = writeln!(
            text,
            "{}. {}  {}  {} bytes  sha256 {}",
            i + 1,
            attachment::printable(&a.file_name),
            a.media_type,
            a.content.len(),
            hex_sha256(a)
        );
    }
    out.print(text, || {
        serde_json::Value::Array(
            attachments
                .iter()
                .enumerate()
                .map(|(i, a)| json_of(i + 1, a))
                .collect(),
        )
    });
    Ok(())
}

/// The attachment `pick` names, with its number counting from 1.
fn choose(
    id: &str,
    attachments: &[pb::Attachment],
    pick: &Pick,
) -> Result<(usize, pb::Attachment), CommandError> {
    let names = || {
        attachments
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{} {}", i + 1, attachment::printable(&a.file_name)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if attachments.is_empty() {
        return Err(CommandError::new(
            exit::NOT_FOUND,
            format!("message {id} has no attachments"),
        ));
    }
    let found = match pick {
        Pick::Only if attachments.len() == 1 => Some(0),
        Pick::Only => {
            return Err(CommandError::new(
                exit::USAGE,
                format!(
                    "message {id} has {} attachments ({}); choose one with --index or --name",
                    attachments.len(),
                    names()
                ),
            ));
        }
        Pick::Index(n) => n.checked_sub(1).filter(|i| *i < attachments.len()),
        Pick::Name(name) => attachments.iter().position(|a| &a.file_name == name),
    };
    found
        .and_then(|i| attachments.get(i).cloned().map(|a| (i + 1, a)))
        .ok_or_else(|| {
            CommandError::new(
                exit::NOT_FOUND,
                format!("message {id} has no such attachment; it has: {}", names()),
            )
        })
}

/// Where to write: `out` as given (a folder takes the received name), or the received name in
/// the current folder. The received name is the sender's word, so it must be a bare file name.
fn destination(received_name: &str, out: Option<&Path>) -> Result<PathBuf, CommandError> {
    let safe = || {
        attachment::check_name(received_name)
            .map(|()| PathBuf::from(received_name))
            .map_err(|problem| {
                CommandError::new(
                    exit::REFUSED,
                    format!(
                        "the received file name {:?} {problem}; choose where to save it with --out",
                        attachment::printable(received_name)
                    ),
                )
            })
    };
    match out {
        Some(dir) if dir.is_dir() => Ok(dir.join(safe()?)),
        Some(path) => Ok(path.to_owned()),
        None => safe(),
    }
}

/// Writes `bytes` to `path`, which must not exist yet (checked by the file system in the same
/// call that creates it, so nothing created meanwhile is overwritten), readable by the owner
/// only, and synced.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `trm attachment save MESSAGE_ID [--index N | --name FILE] [--out PATH] [--force]`: writes
/// the attachment byte for byte, readable by the user only, after checking its SHA-256 again.
pub async fn save(
    socket: &Path,
    id: &str,
    pick: &Pick,
    out_path: Option<&Path>,
    force: bool,
    out: Output,
) -> Result<(), CommandError> {
    let (index, chosen) = choose(id, &received(socket, id).await?, pick)?;
    if chosen.sha256.as_slice() != attachment::sha256(&chosen.content) {
        return Err(CommandError::new(
            exit::CHECK_FAILED,
            format!(
                "attachment {index} of message {id}: its content does not match its SHA-256; not saved"
            ),
        ));
    }
    let path = destination(&chosen.file_name, out_path)?;
    if force {
        trm_storage::fs::write_atomically(&path, &chosen.content, trm_storage::fs::PRIVATE)
            .map_err(|e| CommandError::new(exit::REFUSED, e.to_string()))?;
    } else {
        write_new(&path, &chosen.content).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => CommandError::new(
                exit::REFUSED,
                format!(
                    "{} already exists; not overwritten (--force replaces it)",
                    path.display()
                ),
            ),
            _ => CommandError::new(exit::REFUSED, format!("{}: {e}", path.display())),
        })?;
    }
    out.print(
        format!(
            "saved attachment {index} of message {id} to {} ({} bytes, sha256 {}, readable by you only)\n",
            path.display(),
            chosen.content.len(),
            hex_sha256(&chosen)
        ),
        || {
            let mut value = json_of(index, &chosen);
            if let Some(map) = value.as_object_mut() {
                map.insert("path".into(), path.display().to_string().into());
            }
            value
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trm_proto::pb::body::Content;

    #[test]
    fn common_types_are_known_by_their_extension() {
        assert_eq!(media_type("Befund.PDF"), "application/pdf");
        assert_eq!(media_type("photo.jpeg"), "image/jpeg");
        assert_eq!(media_type("photo.jpg"), "image/jpeg");
        assert_eq!(media_type("scan.png"), "image/png");
        assert_eq!(media_type("notes.txt"), "text/plain");
        assert!(media_type("report.docx").contains("wordprocessingml"));
        assert_eq!(
            media_type("report.odt"),
            "application/vnd.oasis.opendocument.text"
        );
        assert_eq!(media_type("archive.zip"), "application/octet-stream");
        assert_eq!(media_type("README"), "application/octet-stream");
    }

    #[test]
    fn a_file_is_read_with_its_base_name_and_hash() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("scans"))?;
        let path = dir.path().join("scans").join("report.pdf");
        std::fs::write(&path, b"%PDF-1.7 test")?;
        let read = read(&path).map_err(|e| e.message)?;
        assert_eq!(read.file_name, "report.pdf");
        assert_eq!(read.media_type, "application/pdf");
        assert_eq!(read.content, b"%PDF-1.7 test");
        assert_eq!(read.sha256, attachment::sha256(b"%PDF-1.7 test").to_vec());
        // Larger than any envelope: refused without being read (a sparse file, made quickly).
        let huge = dir.path().join("huge.bin");
        std::fs::File::create(&huge)?.set_len(trm_proto::MAX_ENVELOPE_BYTES as u64 + 1)?;
        let refused = super::read(&huge).expect_err("too large for any message");
        assert_eq!(refused.code, exit::DATA);
        assert!(refused.message.contains("huge.bin"), "{}", refused.message);
        let missing = super::read(&dir.path().join("nothing.pdf")).expect_err("missing");
        assert_eq!(missing.code, exit::NOT_FOUND);
        assert!(
            missing.message.contains("nothing.pdf"),
            "{}",
            missing.message
        );
        Ok(())
    }

    #[test]
    fn listed_files_are_relative_to_the_message_file_and_some_kinds_carry_none()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("a.txt"), b"a")?;
        let mut request = pb::SendRequest {
            body: Some(pb::Body {
                content: Some(Content::Referral(pb::Referral::default())),
                ..Default::default()
            }),
            ..Default::default()
        };
        let file = dir.path().join("referral.toml");
        attach(&mut request, &file, &["a.txt".into()], &[]).map_err(|e| e.message)?;
        let content = request.body.as_ref().and_then(|b| b.content.as_ref());
        assert_eq!(
            content.map(|c| attachment::of(c).len()),
            Some(1),
            "one attachment"
        );
        let mut update = pb::SendRequest {
            body: Some(pb::Body {
                content: Some(Content::CaseUpdate(pb::CaseUpdate::default())),
                ..Default::default()
            }),
            ..Default::default()
        };
        let refused = attach(&mut update, &file, &[], &[dir.path().join("a.txt")])
            .expect_err("a case update carries none");
        assert_eq!(refused.code, exit::USAGE);
        assert!(
            refused
                .message
                .contains("case update cannot carry attachments"),
            "{}",
            refused.message
        );
        Ok(())
    }

    #[test]
    fn a_received_name_with_folders_is_not_used() {
        assert_eq!(
            destination("scan.pdf", None).ok(),
            Some(PathBuf::from("scan.pdf"))
        );
        let refused = destination("../../.bashrc", None).expect_err("path");
        assert!(refused.message.contains("--out"), "{}", refused.message);
        assert!(destination("a\u{1b}b", None).is_err());
        assert_eq!(
            destination("../x", Some(Path::new("chosen.bin"))).ok(),
            Some(PathBuf::from("chosen.bin"))
        );
    }

    #[test]
    fn one_attachment_is_picked_by_number_or_name() {
        let a = |name: &str| pb::Attachment {
            file_name: name.into(),
            ..Default::default()
        };
        let two = vec![a("one.pdf"), a("two.pdf")];
        assert!(choose("m", &two, &Pick::Only).is_err());
        assert_eq!(
            choose("m", &two, &Pick::Index(2))
                .map(|(i, a)| (i, a.file_name))
                .ok(),
            Some((2, "two.pdf".into()))
        );
        assert_eq!(
            choose("m", &two, &Pick::Name("one.pdf".into()))
                .map(|(i, _)| i)
                .ok(),
            Some(1)
        );
        let missing = choose("m", &two, &Pick::Index(3)).expect_err("no third");
        assert!(
            missing.message.contains("1 one.pdf, 2 two.pdf"),
            "{}",
            missing.message
        );
        assert!(choose("m", &[], &Pick::Only).is_err());
    }
}
