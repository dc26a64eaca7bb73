//! Sealing: sign the body, encrypt it to the addressee only, then sign the header that commits
//! to the ciphertext. See DESIGN.md, "The sealed envelope". DESIGN.md also encrypts to the
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
    seal_witnessed(keys, directory, draft, now_ms, ttl_ms, 0)
}

/// [`seal`], telling the addressee in the body that `witnessed_size` is the size of its latest
/// checkpoint this node cosigned (0: none), so its receipt can prove consistency from there
/// (see [`crate::witness`]).
pub fn seal_witnessed(
    keys: &NodeKeys,
    directory: &Directory,
    draft: Draft,
    now_ms: u64,
    ttl_ms: u64,
    witnessed_size: u64,
) -> Result<Sealed, SealError> {
    let recipient = directory
        .node(&draft.to)
        .ok_or_else(|| SealError::UnknownRecipient(draft.to.clone()))?;
    let recipient_key: age::x25519::Recipient = recipient
        .age_recipient
        .parse()
        .map_err(|_| SealError::BadRecipientKey(draft.to.clone()))?;
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
        text_language: draft.text_language,
    };
    let body_bytes = body.encode_to_vec();
    let signed_body = pb::SignedBody {
        signature: signing::sign(&keys.signing, Purpose::Body, &body_bytes),
        body: body_bytes,
    }
    .encode_to_vec();
    let ciphertext = age::encrypt(&recipient_key, &signed_body)
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    let header = Header {
        message_id,
        from: keys.address.clone(),
        to: draft.to,
        created_at_ms: now_ms,
        expires_at_ms: now_ms.saturating_add(ttl_ms),
        priority: draft.priority,
        kind,
        ciphertext_sha256: Sha256::digest(&ciphertext).into(),
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
