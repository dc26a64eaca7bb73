//! Files sent with a message. An attachment travels inside the signed, encrypted body with its
//! base name, media type and SHA-256; the sending node checks it before sealing and the
//! receiving node again on delivery, with the same [`check`]. Only referrals, information
//! responses and supplied information carry attachments ([`of`]).

use sha2::{Digest, Sha256};

use crate::pb;
use crate::pb::body::Content;

/// The default largest attachment, in bytes: 2 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// The default largest total of a message's attachments, in bytes: 3 MiB, well under the
/// 4 MiB envelope that brokers and nodes accept by default, leaving room for the rest of the
/// message and the encryption's overhead.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 3 * 1024 * 1024;
/// The longest file name, in bytes (the usual file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// How large attachments may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest single attachment, bytes.
    pub max_file_bytes: u64,
    /// The largest total of one message's attachments, bytes.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

/// Why an attachment was refused. `index` counts from 1, as people do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// One attachment is larger than the per-file limit.
    #[error(
        "attachment {index} ({name}) is {size} bytes; the limit is {limit} bytes{} per file",
        mib(*limit)
    )]
    FileTooLarge {
        /// Which attachment.
        index: usize,
        /// Its file name, made printable.
        name: String,
        /// Its size.
        size: u64,
        /// The per-file limit.
        limit: u64,
    },
    /// The attachments together are larger than the per-message limit.
    #[error(
        "the attachments come to {total} bytes; the limit is {limit} bytes{} per message",
        mib(*limit)
    )]
    TotalTooLarge {
        /// Their total size.
        total: u64,
        /// The per-message limit.
        limit: u64,
    },
    /// The file name is empty, has folders in it or characters a file name may not have.
    #[error("attachment {index} ({name}): the file name {problem}")]
    BadName {
        /// Which attachment.
        index: usize,
        /// Its file name, made printable.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The SHA-256 in the body is not that of the content.
    #[error("attachment {index} ({name}): its SHA-256 does not match its content")]
    HashMismatch {
        /// Which attachment.
        index: usize,
        /// Its file name, made printable.
        name: String,
    },
    /// This kind of message does not carry attachments.
    #[error(
        "a {0} cannot carry attachments; only a referral, an information response and information supplied can"
    )]
    NotCarried(&'static str),
}

/// ` (N MiB)` for a limit of a mebibyte or more, so people can read it; nothing below.
fn mib(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    match bytes {
        b if b < MIB => String::new(),
        b if b.is_multiple_of(MIB) => format!(" ({} MiB)", b / MIB),
        b => format!(" ({:.1} MiB)", b as f64 / MIB as f64),
    }
}

/// The attachments `content` carries (none for kinds that carry none).
pub fn of(content: &Content) -> &[pb::Attachment] {
    match content {
        Content::Referral(r) => &r.attachments,
        Content::InfoResponse(r) => &r.attachments,
        Content::InformationSupplied(s) => &s.attachments,
        // Every kind is named, so a new kind that carries attachments cannot be forgotten.
        Content::ReferralResponse(_)
        | Content::CaseUpdate(_)
        | Content::InfoRequest(_)
        | Content::ReturnRequest(_)
        | Content::ReturnConfirmation(_)
        | Content::FollowUp(_)
        | Content::ConsentWithdrawal(_)
        | Content::WitnessRequest(_) => &[],
    }
}

/// Where `content` keeps its attachments, or `None` for a kind that cannot carry them.
pub fn of_mut(content: &mut Content) -> Option<&mut Vec<pb::Attachment>> {
    match content {
        Content::Referral(r) => Some(&mut r.attachments),
        Content::InfoResponse(r) => Some(&mut r.attachments),
        Content::InformationSupplied(s) => Some(&mut s.attachments),
        Content::ReferralResponse(_)
        | Content::CaseUpdate(_)
        | Content::InfoRequest(_)
        | Content::ReturnRequest(_)
        | Content::ReturnConfirmation(_)
        | Content::FollowUp(_)
        | Content::ConsentWithdrawal(_)
        | Content::WitnessRequest(_) => None,
    }
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `name` with control characters shown as `\u{..}`, for messages.
pub fn printable(name: &str) -> String {
    name.chars().flat_map(char::escape_debug).collect()
}

/// The media type of a file, from its extension; `application/octet-stream` when it is not one
/// of the common ones.
pub fn media_type(name: &str) -> &'static str {
    let extension = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "txt" => "text/plain",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" => "application/vnd.oasis.opendocument.text",
        _ => "application/octet-stream",
    }
}

/// Whether `name` is a bare file name that is safe to create in a folder: not empty, not `.`
/// or `..`, no `/` or `\`, no control characters, at most [`MAX_NAME_BYTES`] bytes. The
/// problem, in words, when it is not.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name == "." || name == ".." {
        Err("is not a file name")
    } else if name.contains(['/', '\\']) {
        Err("has folders in it (a path separator)")
    } else if name.chars().any(char::is_control) {
        Err("has control characters in it")
    } else if name.len() > MAX_NAME_BYTES {
        Err("is longer than 255 bytes")
    } else {
        Ok(())
    }
}

/// Checks every attachment of `content`: a safe name, the SHA-256 of its content, and the
/// size limits.
pub fn check(content: &Content, limits: &Limits) -> Result<(), AttachmentError> {
    let mut total: u64 = 0;
    for (i, attachment) in of(content).iter().enumerate() {
        let index = i + 1;
        let name = || printable(&attachment.file_name);
        check_name(&attachment.file_name).map_err(|problem| AttachmentError::BadName {
            index,
            name: name(),
            problem,
        })?;
        let size = attachment.content.len() as u64;
        if size > limits.max_file_bytes {
            return Err(AttachmentError::FileTooLarge {
                index,
                name: name(),
                size,
                limit: limits.max_file_bytes,
            });
        }
        total = total.saturating_add(size);
        if attachment.sha256.as_slice() != sha256(&attachment.content) {
            return Err(AttachmentError::HashMismatch {
                index,
                name: name(),
            });
        }
    }
    if total > limits.max_total_bytes {
        return Err(AttachmentError::TotalTooLarge {
            total,
            limit: limits.max_total_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(name: &str, content: &[u8]) -> pb::Attachment {
        pb::Attachment {
            file_name: name.into(),
            media_type: "application/pdf".into(),
            content: content.to_vec(),
            sha256: sha256(content).to_vec(),
        }
    }

    fn referral(attachments: Vec<pb::Attachment>) -> Content {
        Content::Referral(pb::Referral {
            attachments,
            ..Default::default()
        })
    }

    const SMALL: Limits = Limits {
        max_file_bytes: 10,
        max_total_bytes: 15,
    };

    #[test]
    fn sound_attachments_pass() {
        let content = referral(vec![
            attachment("a.pdf", b"0123456789"),
            attachment("b", b"x"),
        ]);
        assert_eq!(check(&content, &SMALL), Ok(()));
        assert_eq!(check(&referral(Vec::new()), &SMALL), Ok(()));
    }

    #[test]
    fn each_limit_names_the_file_and_the_limit() {
        let big = referral(vec![
            attachment("ok", b"1"),
            attachment("scan.pdf", &[0; 11]),
        ]);
        let error = check(&big, &SMALL).expect_err("over the per-file limit");
        assert!(
            matches!(&error, AttachmentError::FileTooLarge { index: 2, name, size: 11, limit: 10 } if name == "scan.pdf"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "attachment 2 (scan.pdf) is 11 bytes; the limit is 10 bytes per file"
        );
        let many = referral(vec![attachment("a", &[0; 8]), attachment("b", &[0; 8])]);
        assert_eq!(
            check(&many, &SMALL),
            Err(AttachmentError::TotalTooLarge {
                total: 16,
                limit: 15
            })
        );
        assert!(
            AttachmentError::TotalTooLarge {
                total: 1,
                limit: DEFAULT_MAX_TOTAL_BYTES
            }
            .to_string()
            .contains("(3 MiB) per message")
        );
    }

    #[test]
    fn a_forged_hash_or_an_unsafe_name_is_refused() {
        let mut forged = attachment("a.pdf", b"real");
        forged.sha256 = sha256(b"other").to_vec();
        assert!(matches!(
            check(&referral(vec![forged]), &SMALL),
            Err(AttachmentError::HashMismatch { index: 1, .. })
        ));
        let mut missing = attachment("a.pdf", b"real");
        missing.sha256.clear();
        assert!(check(&referral(vec![missing]), &SMALL).is_err());
        for name in [
            "",
            ".",
            "..",
            "../etc/passwd",
            "a/b",
            "C:\\x",
            "a\nb",
            "\u{1b}[2J",
        ] {
            assert!(
                matches!(
                    check(&referral(vec![attachment(name, b"x")]), &SMALL),
                    Err(AttachmentError::BadName { .. })
                ),
                "{name:?}"
            );
        }
        assert_eq!(
            check_name(&"a".repeat(256)),
            Err("is longer than 255 bytes")
        );
        assert_eq!(check_name("Befund 2026-11 (Kopie).pdf"), Ok(()));
        assert_eq!(printable("a\nb"), "a\\nb");
    }

    #[test]
    fn only_referrals_and_information_responses_carry_attachments() {
        let mut update = Content::CaseUpdate(pb::CaseUpdate::default());
        assert!(of_mut(&mut update).is_none());
        let mut answer = Content::InfoResponse(pb::InfoResponse::default());
        assert!(of_mut(&mut answer).is_some());
    }
}
