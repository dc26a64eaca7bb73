//! The outer envelope: parsing the header bytes and verifying the sender's signature over them.
//!
//! A broker checks exactly this much; a recipient node checks this and then opens the
//! ciphertext. Parsing yields an [`UnverifiedEnvelope`]; only [`UnverifiedEnvelope::verify`]
//! with the sender's key yields a [`VerifiedEnvelope`].

use ed25519_dalek::VerifyingKey;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::addr::{AddrError, MessageId, NodeAddr};
use crate::pb;
use crate::signing::{self, Purpose, SignatureError};

/// SHA-256 of an envelope's header bytes: the envelope's identity in logs and receipts. The
/// header commits to the ciphertext's hash, so this digest covers the whole sealed content.
pub type EnvelopeDigest = [u8; 32];

/// Why an envelope was refused before its content was looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The envelope as a whole is larger than allowed.
    #[error("envelope is {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Encoded size of the envelope.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The header bytes are not an `EnvelopeHeader`.
    #[error("malformed envelope header: {0}")]
    MalformedHeader(String),
    /// A protocol version this build does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u32),
    /// An address or id in the header is malformed.
    #[error("invalid header field: {0}")]
    Field(#[from] AddrError),
    /// The header names no message kind.
    #[error("envelope header has no message kind")]
    MissingKind,
    /// The header's ciphertext hash is not 32 bytes.
    #[error("envelope header has a malformed ciphertext hash")]
    MalformedCiphertextHash,
    /// The ciphertext is not the one the header commits to.
    #[error("ciphertext does not match the hash in the signed header (tampered in transit?)")]
    CiphertextMismatch,
    /// The outer signature does not verify with the sender's key.
    #[error("envelope signature by {from} does not verify: {cause}")]
    BadSignature {
        /// The claimed sender.
        from: NodeAddr,
        /// What was wrong.
        cause: SignatureError,
    },
}

/// The parsed header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Unique per sender.
    pub message_id: MessageId,
    /// The sender.
    pub from: NodeAddr,
    /// The addressee.
    pub to: NodeAddr,
    /// When sealed, Unix milliseconds.
    pub created_at_ms: u64,
    /// When delivery attempts stop, Unix milliseconds.
    pub expires_at_ms: u64,
    /// How urgent.
    pub priority: pb::Priority,
    /// What kind of message.
    pub kind: pb::MessageKind,
    /// SHA-256 of the ciphertext.
    pub ciphertext_sha256: [u8; 32],
    /// The addressee's content key the ciphertext is sealed to ([`crate::prekey`]); empty for
    /// its long-term age key.
    pub recipient_key_id: String,
}

impl Header {
    /// Parses and checks encoded header bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let header = pb::EnvelopeHeader::decode(bytes)
            .map_err(|e| EnvelopeError::MalformedHeader(e.to_string()))?;
        if header.protocol_version != crate::PROTOCOL_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(header.protocol_version));
        }
        let kind = pb::MessageKind::try_from(header.kind).unwrap_or(pb::MessageKind::Unspecified);
        if kind == pb::MessageKind::Unspecified {
            return Err(EnvelopeError::MissingKind);
        }
        let key_id = &header.recipient_key_id;
        let well_formed = key_id.len() == 16
            && key_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !key_id.is_empty() && !well_formed {
            return Err(EnvelopeError::MalformedHeader(
                "recipient_key_id is not 16 lowercase hex digits".into(),
            ));
        }
        Ok(Self {
            message_id: header.message_id.parse()?,
            from: header.from.parse()?,
            to: header.to.parse()?,
            created_at_ms: header.created_at_ms,
            expires_at_ms: header.expires_at_ms,
            priority: pb::Priority::try_from(header.priority).unwrap_or(pb::Priority::Unspecified),
            kind,
            ciphertext_sha256: header
                .ciphertext_sha256
                .try_into()
                .map_err(|_| EnvelopeError::MalformedCiphertextHash)?,
            recipient_key_id: header.recipient_key_id,
        })
    }

    /// The header as the protobuf message, for encoding.
    pub fn to_pb(&self) -> pb::EnvelopeHeader {
        pb::EnvelopeHeader {
            protocol_version: crate::PROTOCOL_VERSION,
            message_id: self.message_id.to_string(),
            from: self.from.to_string(),
            to: self.to.to_string(),
            created_at_ms: self.created_at_ms,
            expires_at_ms: self.expires_at_ms,
            priority: self.priority.into(),
            kind: self.kind.into(),
            ciphertext_sha256: self.ciphertext_sha256.to_vec(),
            recipient_key_id: self.recipient_key_id.clone(),
        }
    }
}

/// The digest of header bytes.
pub fn digest(header_bytes: &[u8]) -> EnvelopeDigest {
    Sha256::digest(header_bytes).into()
}

/// An envelope whose header parsed, not yet checked against the sender's key.
#[derive(Debug, Clone)]
pub struct UnverifiedEnvelope {
    raw: pb::Envelope,
    header: Header,
}

impl UnverifiedEnvelope {
    /// Parses an envelope, refusing it if it is larger than `max_bytes`.
    pub fn parse(raw: pb::Envelope, max_bytes: usize) -> Result<Self, EnvelopeError> {
        let size = raw.encoded_len();
        if size > max_bytes {
            return Err(EnvelopeError::TooLarge {
                size,
                limit: max_bytes,
            });
        }
        let header = Header::decode(&raw.header)?;
        Ok(Self { raw, header })
    }

    /// The claimed header; the sender is not yet authenticated.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Checks the signature with one of the sender's keys (the current one, or the previous
    /// one during a rotation) and the ciphertext against its hash.
    pub fn verify(self, sender_keys: &[VerifyingKey]) -> Result<VerifiedEnvelope, EnvelopeError> {
        signing::verify_any(
            sender_keys,
            Purpose::Envelope,
            &self.raw.header,
            &self.raw.signature,
        )
        .map_err(|cause| EnvelopeError::BadSignature {
            from: self.header.from.clone(),
            cause,
        })?;
        let actual: [u8; 32] = Sha256::digest(&self.raw.ciphertext).into();
        if actual != self.header.ciphertext_sha256 {
            return Err(EnvelopeError::CiphertextMismatch);
        }
        Ok(VerifiedEnvelope {
            digest: digest(&self.raw.header),
            raw: self.raw,
            header: self.header,
        })
    }
}

/// An envelope whose signature verified with its sender's key and whose ciphertext matches.
#[derive(Debug, Clone)]
pub struct VerifiedEnvelope {
    raw: pb::Envelope,
    header: Header,
    digest: EnvelopeDigest,
}

impl VerifiedEnvelope {
    /// The authenticated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// SHA-256 of the header bytes.
    pub fn digest(&self) -> &EnvelopeDigest {
        &self.digest
    }

    /// The envelope as it travels.
    pub fn raw(&self) -> &pb::Envelope {
        &self.raw
    }

    /// The envelope as it travels, by value.
    pub fn into_raw(self) -> pb::Envelope {
        self.raw
    }
}
