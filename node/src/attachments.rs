//! Attachments at this node: the size limits of `node.toml`'s `[attachments]` table, and the
//! check of [`trm_proto::attachment::check`] (a safe base name, the SHA-256 of the content, the
//! limits) applied before sealing and again to every delivered message. Attachments are part
//! of the signed body, so they are kept encrypted under the case key with the rest of the
//! message and erased with it; nothing of them is stored anywhere else.

use serde::{Deserialize, Serialize};
use trm_proto::attachment::{self, Limits};
use trm_proto::pb::body::Content;

use crate::rules::RuleError;

/// Room in an envelope for everything but the attachments: the other fields, the signatures
/// and the encryption's overhead.
pub const ENVELOPE_ROOM_BYTES: u64 = 64 * 1024;

/// The `[attachments]` table of `node.toml`. A limit left out is its default (2 MiB per file,
/// 3 MiB per message), lowered if need be to fit `max_envelope_bytes`; a limit written down
/// must fit, or the configuration is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentLimits {
    /// The largest single attachment, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
    /// The largest total of one message's attachments, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total_bytes: Option<u64>,
}

impl AttachmentLimits {
    /// The limits, when they fit together and in an envelope of `max_envelope_bytes`; the
    /// field and the problem otherwise.
    pub fn validate(&self, max_envelope_bytes: usize) -> Result<Limits, (&'static str, String)> {
        let defaults = Limits::default();
        let room = (max_envelope_bytes as u64).saturating_sub(ENVELOPE_ROOM_BYTES);
        let max_total_bytes = match self.max_total_bytes {
            Some(total) if total > room => {
                return Err((
                    "attachments.max_total_bytes",
                    format!(
                        "{total} does not fit in an envelope of max_envelope_bytes ({max_envelope_bytes}); at most {room}, leaving {ENVELOPE_ROOM_BYTES} bytes for the rest of the message"
                    ),
                ));
            }
            Some(total) => total,
            None => defaults.max_total_bytes.min(room),
        };
        let max_file_bytes = match self.max_file_bytes {
            Some(file) if file == 0 || file > max_total_bytes => {
                return Err((
                    "attachments.max_file_bytes",
                    format!(
                        "{file} must be between 1 and the limit per message ({max_total_bytes})"
                    ),
                ));
            }
            Some(file) => file,
            None => defaults.max_file_bytes.min(max_total_bytes),
        };
        Ok(Limits {
            max_file_bytes,
            max_total_bytes,
        })
    }
}

/// The largest request or answer on the admin socket: a whole envelope's worth of content,
/// with room to spare, so that what the limits allow is never cut off between `trm` and the
/// node.
pub fn admin_message_bytes(max_envelope_bytes: usize) -> usize {
    max_envelope_bytes
        .max(trm_proto::MAX_ENVELOPE_BYTES)
        .saturating_mul(2)
}

/// Checks the attachments of `content` (sent or delivered) against `limits`, naming the field.
pub fn check(content: &Content, limits: &Limits) -> Result<(), RuleError> {
    attachment::check(content, limits).map_err(|e| RuleError {
        field: format!(
            "{}.attachments",
            trm_proto::kinds::of(trm_proto::kinds::kind_of(content)).map_or("message", |k| k.name)
        ),
        problem: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trm_proto::pb;

    #[test]
    fn the_defaults_fit_the_default_envelope() {
        const MIB: u64 = 1024 * 1024;
        let envelope = 4 * 1024 * 1024;
        let defaults = AttachmentLimits::default().validate(envelope);
        assert_eq!(defaults, Ok(Limits::default()));
        let small = AttachmentLimits::default().validate(2 * 1024 * 1024);
        assert_eq!(
            small,
            Ok(Limits {
                max_file_bytes: 2 * MIB - ENVELOPE_ROOM_BYTES,
                max_total_bytes: 2 * MIB - ENVELOPE_ROOM_BYTES,
            }),
            "defaults are lowered to fit a smaller envelope"
        );
        let too_big = AttachmentLimits {
            max_total_bytes: Some(4 * MIB),
            ..Default::default()
        };
        assert_eq!(
            too_big.validate(envelope).map_err(|e| e.0),
            Err("attachments.max_total_bytes")
        );
        let inverted = AttachmentLimits {
            max_file_bytes: Some(2048),
            max_total_bytes: Some(1024),
        };
        assert_eq!(
            inverted.validate(envelope).map_err(|e| e.0),
            Err("attachments.max_file_bytes")
        );
        let larger = AttachmentLimits {
            max_file_bytes: Some(8 * MIB),
            max_total_bytes: Some(12 * MIB),
        };
        assert!(larger.validate(16 * 1024 * 1024).is_ok());
        assert!(admin_message_bytes(4 * 1024 * 1024) > trm_proto::MAX_ENVELOPE_BYTES);
    }

    #[test]
    fn the_table_takes_either_limit_and_nothing_else() {
        let path = std::path::Path::new("node.toml");
        let parsed: AttachmentLimits =
            trm_storage::config::from_toml("max_total_bytes = 1048576\n", path).expect("one limit");
        assert_eq!(
            parsed.validate(4 * 1024 * 1024),
            Ok(Limits {
                max_file_bytes: 1024 * 1024,
                max_total_bytes: 1024 * 1024,
            }),
            "the per-file default is lowered to the total"
        );
        let unknown: Result<AttachmentLimits, _> =
            trm_storage::config::from_toml("max_files = 3\n", path);
        assert!(unknown.is_err(), "a misspelt limit is refused");
    }

    #[test]
    fn a_refusal_names_the_kind_and_the_file() {
        let content = Content::InfoResponse(pb::InfoResponse {
            attachments: vec![pb::Attachment {
                file_name: "../notes.txt".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        let error = check(&content, &Limits::default()).expect_err("unsafe name");
        assert_eq!(error.field, "info_response.attachments");
        assert!(error.problem.contains("../notes.txt"), "{error}");
    }
}
