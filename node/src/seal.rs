//! Sealing: sign the body, encrypt it to the addressee only, then sign the header that commits
//! to the ciphertext. See DESIGN.md, "The sealed envelope". A node seals to the addressee's
//! current content key ([`seal_to`], see [`crate::epochs`]): the header names the key, and the
//! envelope expires no later than the key's destruction. [`seal`] seals to the addressee's
//! long-term age key, as nodes did before content keys. DESIGN.md also encrypts to the
//! sender itself; trm does not, because a copy readable with the node's long-term key would
//! survive crypto-shredding (old outbox records stay in the store's files until it compacts). The
//! sender keeps its readable copy under the case key instead ([`crate::vault`]).

use prost::Message;
use sha2::{Digest, Sha256};
use trm_proto::addr::{CaseRef, MessageId, NodeAddr};
use trm_proto::directory::Directory;
use trm_proto::envelope::{self, EnvelopeDigest, Header};
use trm_proto::pb;
use trm_proto::signing::{self, Purpose};

use crate::keys::NodeKeys;

/// Why a message could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The addressee is not in the federation directory.
    #[error("recipient {0} is not in the federation directory")]
    UnknownRecipient(NodeAddr),
    /// The directory's age recipient for the addressee does not parse.
    #[error("the directory's encryption key for {0} is invalid")]
    BadRecipientKey(NodeAddr),
    /// The body has no content, or content of another kind than declared.
    #[error("message content does not match its kind {0:?}")]
    ContentMismatch(pb::MessageKind),
    /// age encryption failed.
    #[error("encryption failed: {0}")]
    Encrypt(String),
    /// No content key of the addressee is at hand.
    #[error(transparent)]
    NoContentKey(#[from] crate::epochs::partners::NoContentKey),
    /// The addressee's content key is not a usable age recipient.
    #[error("content key {key_id} of {node} is not a usable age recipient")]
    BadContentKey {
        /// The addressee.
        node: NodeAddr,
        /// The key's id.
        key_id: String,
    },
}

/// A sealed message, ready to submit, with what the sender keeps about it.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The envelope as it travels.
    pub envelope: pb::Envelope,
    /// Its header.
    pub header: Header,
    /// SHA-256 of the header bytes.
    pub digest: EnvelopeDigest,
    /// The body that was sealed.
    pub body: pb::Body,
    /// The encoded, signed body (what the ciphertext holds), kept at rest by the sender.
    pub signed_body: Vec<u8>,
}

/// What to seal.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The addressee.
    pub to: NodeAddr,
    /// The case it belongs to.
    pub case_ref: CaseRef,
    /// How urgent.
    pub priority: pb::Priority,
    /// The content.
    pub content: pb::body::Content,
    /// The language of the content's free text (BCP 47), empty when not stated.
    pub text_language: String,
}

pub use trm_proto::kinds::kind_of;

/// Seals `draft` from `keys` at `now_ms`; it stays deliverable for `ttl_ms`. The body says
/// this node has witnessed no checkpoint of the addressee: see [`seal_witnessed`].
pub fn seal(
    keys: &NodeKeys,
    directory: &Directory,
    draft: Draft,
    now_ms: u64,
    ttl_ms: u64,
) -> Result<Sealed, SealError> {
    seal_witnessed(keys, directory, draft, now_ms, ttl_ms, 0, 0)
}

/// [`seal`], telling the addressee in the body that `witnessed_size` is the size of its latest
/// checkpoint this node cosigned (0: none), so its receipt can prove consistency from there
/// (see [`crate::witness`]); `case_sequence` is the step's number in its case (0: none, see
/// `Body.case_sequence`).
pub fn seal_witnessed(
    keys: &NodeKeys,
    directory: &Directory,
    draft: Draft,
    now_ms: u64,
    ttl_ms: u64,
    witnessed_size: u64,
    case_sequence: u64,
) -> Result<Sealed, SealError> {
    let recipient = directory
        .node(&draft.to)
        .ok_or_else(|| SealError::UnknownRecipient(draft.to.clone()))?;
    let recipient_key: age::x25519::Recipient = recipient
        .age_recipient
        .parse()
        .map_err(|_| SealError::BadRecipientKey(draft.to.clone()))?;
    let target = Target {
        recipient: recipient_key,
        key_id: String::new(),
        expires_at_ms: now_ms.saturating_add(ttl_ms),
    };
    seal_with(keys, target, draft, now_ms, witnessed_size, case_sequence)
}

/// Seals `draft` to the addressee's content key `prekey` (checked against the directory by
/// the caller, see [`crate::epochs::partners`]): the header names the key, and the envelope
/// expires after `ttl_ms` or when the key is destroyed, whichever comes first. The body
/// carries `witnessed_size` and `case_sequence` as in [`seal_witnessed`].
pub fn seal_to(
    keys: &NodeKeys,
    prekey: &pb::Prekey,
    draft: Draft,
    now_ms: u64,
    ttl_ms: u64,
    witnessed_size: u64,
    case_sequence: u64,
) -> Result<Sealed, SealError> {
    let recipient = prekey
        .age_recipient
        .parse()
        .map_err(|_| SealError::BadContentKey {
            node: draft.to.clone(),
            key_id: prekey.key_id.clone(),
        })?;
    let target = Target {
        recipient,
        key_id: prekey.key_id.clone(),
        expires_at_ms: now_ms.saturating_add(ttl_ms).min(prekey.destroy_at_ms),
    };
    seal_with(keys, target, draft, now_ms, witnessed_size, case_sequence)
}

/// What an envelope is sealed to.
struct Target {
    recipient: age::x25519::Recipient,
    /// The content key's id; empty for the long-term key.
    key_id: String,
    expires_at_ms: u64,
}

fn seal_with(
    keys: &NodeKeys,
    target: Target,
    draft: Draft,
    now_ms: u64,
    witnessed_size: u64,
    case_sequence: u64,
) -> Result<Sealed, SealError> {
    let kind = kind_of(&draft.content);
    let message_id = MessageId::random();
    let body = pb::Body {
        from: keys.address.to_string(),
        to: draft.to.to_string(),
        message_id: message_id.to_string(),
        created_at_ms: now_ms,
        case_ref: draft.case_ref.to_string(),
        kind: kind.into(),
        content: Some(draft.content),
        witnessed_size,
        code_lists: trm_proto::CODE_LISTS_VERSION.to_owned(),
        case_sequence,
        text_language: draft.text_language,
    };
    let body_bytes = body.encode_to_vec();
    let signed_body = pb::SignedBody {
        signature: signing::sign(&keys.signing, Purpose::Body, &body_bytes),
        body: body_bytes,
    }
    .encode_to_vec();
    let ciphertext = age::encrypt(&target.recipient, &signed_body)
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    let header = Header {
        message_id,
        from: keys.address.clone(),
        to: draft.to,
        created_at_ms: now_ms,
        expires_at_ms: target.expires_at_ms,
        priority: draft.priority,
        kind,
        ciphertext_sha256: Sha256::digest(&ciphertext).into(),
        recipient_key_id: target.key_id,
    };
    let header_bytes = header.to_pb().encode_to_vec();
    let envelope = pb::Envelope {
        signature: signing::sign(&keys.signing, Purpose::Envelope, &header_bytes),
        header: header_bytes,
        ciphertext,
    };
    Ok(Sealed {
        digest: envelope::digest(&envelope.header),
        envelope,
        header,
        body,
        signed_body,
    })
}
