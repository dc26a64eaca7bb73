//! Opening: check the envelope is for this node, verify the sender's outer signature with the
//! directory's key, check for itself what the brokers should have checked (the directory in
//! use is in force, the envelope has not expired and was not made in the future, a sharing
//! agreement covers its kind), decrypt, verify the inner signature, and check that the signed
//! body is bound to this envelope (same sender, addressee, id, kind and time). Each failure has
//! its own error, and nothing is stored by this module.
//!
//! The ciphertext is decrypted with the content key the header names ([`crate::epochs`]); an
//! envelope sealed to a key this node no longer holds (destroyed on schedule) or never held is
//! refused with [`OpenError::KeyRetired`], so that its sender seals it again. One naming no key
//! is decrypted with the long-term age key, as nodes sealed before content keys.

use prost::Message;
use trm_proto::addr::NodeAddr;
use trm_proto::directory::{AgreementError, Directory};
use trm_proto::envelope::{EnvelopeDigest, EnvelopeError, Header, UnverifiedEnvelope};
use trm_proto::signing::{self, Purpose, SignatureError};
use trm_proto::{pb, time};

use crate::keys::NodeKeys;
use crate::seal::kind_of;

/// Why a delivered envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The outer envelope is malformed or its signature or ciphertext hash is wrong.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The envelope is addressed to someone else.
    #[error("envelope is addressed to {to}, not to this node ({me})")]
    Misaddressed {
        /// The header's addressee.
        to: NodeAddr,
        /// This node.
        me: NodeAddr,
    },
    /// The directory in use has expired: it may still list revoked partners.
    #[error(
        "this node's federation directory version {version} expired at {expired_at}; nothing is received until a newer one is adopted"
    )]
    DirectoryExpired {
        /// The version in use.
        version: u64,
        /// When it expired, RFC 3339.
        expired_at: String,
    },
    /// The envelope's delivery window is over.
    #[error("envelope expired at {0}")]
    Expired(String),
    /// The envelope claims to be made later than this node's clock allows.
    #[error("envelope is dated {created_at}, more than {skew_secs} s ahead of this node's clock")]
    FromTheFuture {
        /// The header's creation time, RFC 3339.
        created_at: String,
        /// The clock difference tolerated, seconds.
        skew_secs: u64,
    },
    /// No sharing agreement between the sender's organisation and this one covers the kind.
    #[error(transparent)]
    NoAgreement(#[from] AgreementError),
    /// The sender is not in the directory.
    #[error("sender {0} is not in the federation directory")]
    UnknownSender(NodeAddr),
    /// The envelope is sealed to a content key this node does not hold: destroyed on
    /// schedule, or never this node's.
    #[error(
        "the envelope is sealed to content key {0}, which this node no longer holds (content keys are destroyed on schedule); the sender must seal it again to a current key"
    )]
    KeyRetired(String),
    /// The ciphertext does not decrypt with this node's identity.
    #[error("ciphertext does not decrypt: {0}")]
    Decrypt(String),
    /// The plaintext is not a signed body.
    #[error("decrypted content is not a signed body: {0}")]
    MalformedBody(String),
    /// The inner signature does not verify with the sender's key.
    #[error("body signature by {from} does not verify: {cause}")]
    BadBodySignature {
        /// The sender.
        from: NodeAddr,
        /// What was wrong.
        cause: SignatureError,
    },
    /// The signed body was made for a different envelope (surreptitious forwarding).
    #[error("signed body's {field} is {body} but the envelope header says {header}")]
    BindingMismatch {
        /// Which field differs.
        field: &'static str,
        /// The header's value, quoted briefly.
        header: String,
        /// The body's value, quoted briefly ([`trm_proto::clip::quoted`]).
        body: String,
    },
    /// The content's codes come from code lists this node does not know.
    #[error("content uses code lists {sent}; this node reads {known}")]
    UnknownCodeLists {
        /// The body's `code_lists`, quoted briefly.
        sent: String,
        /// The versions this node knows.
        known: String,
    },
    /// The content breaks a rule that both sides enforce (see [`crate::rules::check_received`]).
    #[error("content breaks a rule: {0}")]
    Rule(#[from] crate::rules::RuleError),
    /// The body carries no content, or content of a different kind.
    #[error("body content does not match message kind {0:?}")]
    ContentMismatch(pb::MessageKind),
}

/// How far ahead of this node's clock an envelope's creation time may be (clocks differ).
pub const MAX_CLOCK_SKEW_MS: u64 = time::MAX_CLOCK_SKEW_MS;

/// A message whose envelope and body verified and are bound to each other.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The authenticated header.
    pub header: Header,
    /// SHA-256 of the header bytes.
    pub digest: EnvelopeDigest,
    /// The verified content.
    pub body: pb::Body,
    /// The decrypted, encoded signed body, kept at rest (see [`crate::store`]).
    pub signed_body: Vec<u8>,
}

/// Opens an envelope addressed to this node that is sealed to its long-term key; one sealed
/// to a content key is refused as [`OpenError::KeyRetired`]. See [`open_with`].
pub fn open(
    keys: &NodeKeys,
    directory: &Directory,
    envelope: pb::Envelope,
    max_bytes: usize,
) -> Result<Opened, OpenError> {
    open_with(keys, |_| None, directory, envelope, max_bytes)
}

/// Opens an envelope addressed to this node; `content_key` finds the identity of one of its
/// content keys by id, while it is kept.
pub fn open_with(
    keys: &NodeKeys,
    content_key: impl Fn(&str) -> Option<age::x25519::Identity>,
    directory: &Directory,
    envelope: pb::Envelope,
    max_bytes: usize,
) -> Result<Opened, OpenError> {
    let envelope = UnverifiedEnvelope::parse(envelope, max_bytes)?;
    let header = envelope.header().clone();
    if header.to != keys.address {
        return Err(OpenError::Misaddressed {
            to: header.to,
            me: keys.address.clone(),
        });
    }
    let now = time::now_ms();
    check_directory(directory, now)?;
    let sender = directory
        .node(&header.from)
        .ok_or_else(|| OpenError::UnknownSender(header.from.clone()))?;
    let sender_keys = sender.signing_keys_at(now);
    let envelope = envelope.verify(&sender_keys)?;
    check_window(&header, now)?;
    // The rule the sending node applied before sealing, checked again here: a broker may have
    // let through what no agreement allows.
    directory.may_send(&header.from, &header.to, header.kind, now)?;
    let identity = if header.recipient_key_id.is_empty() {
        keys.age.clone()
    } else {
        content_key(&header.recipient_key_id)
            .ok_or_else(|| OpenError::KeyRetired(header.recipient_key_id.clone()))?
    };
    let plaintext = age::decrypt(&identity, &envelope.raw().ciphertext)
        .map_err(|e| OpenError::Decrypt(e.to_string()))?;
    let signed = pb::SignedBody::decode(plaintext.as_slice())
        .map_err(|e| OpenError::MalformedBody(e.to_string()))?;
    signing::verify_any(&sender_keys, Purpose::Body, &signed.body, &signed.signature).map_err(
        |cause| OpenError::BadBodySignature {
            from: header.from.clone(),
            cause,
        },
    )?;
    let body = pb::Body::decode(signed.body.as_slice())
        .map_err(|e| OpenError::MalformedBody(e.to_string()))?;
    check_binding(&header, &body)?;
    check_fields(&body)?;
    Ok(Opened {
        digest: *envelope.digest(),
        header,
        body,
        signed_body: plaintext,
    })
}

/// Opens a message this node stored itself (sent, or received and verified then) from its
/// envelope header and its decrypted signed body (see [`crate::store::NodeStore::content`]).
/// Its signatures were checked when it was stored; checking them again against today's
/// directory would make a message unreadable once its sender is revoked or a key rotation's
/// overlap ends. The body's binding to the header is checked again.
pub fn open_stored(envelope: &pb::Envelope, signed_body: Vec<u8>) -> Result<Opened, OpenError> {
    let header = Header::decode(&envelope.header)?;
    let signed = pb::SignedBody::decode(signed_body.as_slice())
        .map_err(|e| OpenError::MalformedBody(e.to_string()))?;
    let body = pb::Body::decode(signed.body.as_slice())
        .map_err(|e| OpenError::MalformedBody(e.to_string()))?;
    check_binding(&header, &body)?;
    Ok(Opened {
        digest: trm_proto::envelope::digest(&envelope.header),
        header,
        body,
        signed_body,
    })
}

/// Refuses to receive under a directory that has expired (as sending does): it may list
/// partners revoked since.
pub fn check_directory(directory: &Directory, now_ms: u64) -> Result<(), OpenError> {
    if directory.expires_at_ms() <= now_ms {
        return Err(OpenError::DirectoryExpired {
            version: directory.version(),
            expired_at: time::format_ms(directory.expires_at_ms()),
        });
    }
    Ok(())
}

/// The envelope is within its delivery window: not expired, not dated in the future beyond
/// [`MAX_CLOCK_SKEW_MS`].
fn check_window(header: &Header, now_ms: u64) -> Result<(), OpenError> {
    if header.expires_at_ms <= now_ms {
        return Err(OpenError::Expired(time::format_ms(header.expires_at_ms)));
    }
    if header.created_at_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(OpenError::FromTheFuture {
            created_at: time::format_ms(header.created_at_ms),
            skew_secs: MAX_CLOCK_SKEW_MS / 1000,
        });
    }
    Ok(())
}

/// What a delivered body must carry besides its binding: a pseudonymous case reference, code
/// lists this node knows, and content that meets the rules both sides enforce. Not checked again on stored messages, so a later change of either
/// rule never makes a node's own records unreadable.
fn check_fields(body: &pb::Body) -> Result<(), OpenError> {
    // Not echoed: a malformed reference may be a person's name.
    if body.case_ref.parse::<trm_proto::addr::CaseRef>().is_err() {
        return Err(OpenError::MalformedBody(
            "case_ref is not a pseudonymous case reference (3 to 64 letters, digits, '-', '/', '.' or '_')".into(),
        ));
    }
    if !trm_proto::KNOWN_CODE_LISTS.contains(&body.code_lists.as_str()) {
        return Err(OpenError::UnknownCodeLists {
            sent: trm_proto::clip::quoted(&body.code_lists),
            known: trm_proto::KNOWN_CODE_LISTS.join(", "),
        });
    }
    if let Some(content) = &body.content {
        crate::rules::check_received(content)?;
    }
    Ok(())
}

fn check_binding(header: &Header, body: &pb::Body) -> Result<(), OpenError> {
    let pairs: [(&'static str, String, String); 5] = [
        ("from", header.from.to_string(), body.from.clone()),
        ("to", header.to.to_string(), body.to.clone()),
        (
            "message_id",
            header.message_id.to_string(),
            body.message_id.clone(),
        ),
        (
            "created_at_ms",
            header.created_at_ms.to_string(),
            body.created_at_ms.to_string(),
        ),
        (
            "kind",
            (header.kind as i32).to_string(),
            body.kind.to_string(),
        ),
    ];
    for (field, header, body) in pairs {
        if header != body {
            return Err(OpenError::BindingMismatch {
                field,
                header: trm_proto::clip::quoted(&header),
                body: trm_proto::clip::quoted(&body),
            });
        }
    }
    match &body.content {
        Some(content) if kind_of(content) == header.kind => Ok(()),
        _ => Err(OpenError::ContentMismatch(header.kind)),
    }
}
