//! Domain-separated Ed25519 signatures.
//!
//! Every signature in trm covers `context || bytes`, where the context names what is being
//! signed, so a signature made for one purpose is never valid for another. Verification uses
//! `verify_strict`, which refuses weak keys and malleable signatures.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// What a signature is for. Each purpose has its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The outer envelope header.
    Envelope,
    /// The inner body.
    Body,
    /// A delivery receipt.
    Receipt,
    /// The federation directory.
    Directory,
    /// A node's content key (signed prekey).
    Prekey,
}

impl Purpose {
    fn context(self) -> &'static [u8] {
        match self {
            Purpose::Envelope => b"trm/envelope/v1",
            Purpose::Body => b"trm/body/v1",
            Purpose::Receipt => b"trm/receipt/v1",
            Purpose::Directory => b"trm/directory/v1",
            Purpose::Prekey => b"trm/prekey/v1",
        }
    }
}

/// A signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Ed25519 signatures are 64 bytes.
    #[error("signature is {0} bytes, expected 64")]
    Length(usize),
    /// Ed25519 public keys are 32 bytes on the curve.
    #[error("invalid public key")]
    Key,
    /// The signature does not match the key and the bytes.
    #[error("signature does not verify")]
    Mismatch,
}

fn prefixed(purpose: Purpose, bytes: &[u8]) -> Vec<u8> {
    let context = purpose.context();
    let mut message = Vec::with_capacity(context.len() + bytes.len());
    message.extend_from_slice(context);
    message.extend_from_slice(bytes);
    message
}

/// Signs `bytes` for `purpose`.
pub fn sign(key: &SigningKey, purpose: Purpose, bytes: &[u8]) -> Vec<u8> {
    key.sign(&prefixed(purpose, bytes)).to_bytes().to_vec()
}

/// Verifies a signature over `bytes` for `purpose`.
pub fn verify(
    key: &VerifyingKey,
    purpose: Purpose,
    bytes: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let signature =
        Signature::from_slice(signature).map_err(|_| SignatureError::Length(signature.len()))?;
    key.verify_strict(&prefixed(purpose, bytes), &signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// Verifies a signature made by any one of `keys` (a signer's current and previous key).
pub fn verify_any(
    keys: &[VerifyingKey],
    purpose: Purpose,
    bytes: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let mut outcome = Err(SignatureError::Mismatch);
    for key in keys {
        outcome = verify(key, purpose, bytes, signature);
        if outcome.is_ok() {
            break;
        }
    }
    outcome
}

/// Parses a 32-byte public key.
pub fn verifying_key(bytes: &[u8]) -> Result<VerifyingKey, SignatureError> {
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| SignatureError::Key)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| SignatureError::Key)
}

/// A fresh signing key from the operating system's random source.
pub fn generate_key() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// The text form of a secret key, as written to key files: `ed25519:` and 64 hex digits.
pub fn encode_secret(key: &SigningKey) -> String {
    format!("ed25519:{}\n", hex::encode(key.to_bytes()))
}

/// Parses the text form written by [`encode_secret`].
pub fn decode_secret(text: &str) -> Option<SigningKey> {
    let hex_digits = text.trim().strip_prefix("ed25519:")?;
    let bytes: [u8; 32] = hex::decode(hex_digits).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_for_one_purpose_is_invalid_for_another() {
        let key = generate_key();
        let signature = sign(&key, Purpose::Envelope, b"header");
        assert_eq!(
            verify(
                &key.verifying_key(),
                Purpose::Envelope,
                b"header",
                &signature
            ),
            Ok(())
        );
        assert_eq!(
            verify(&key.verifying_key(), Purpose::Body, b"header", &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &key.verifying_key(),
                Purpose::Envelope,
                b"headex",
                &signature
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &key.verifying_key(),
                Purpose::Envelope,
                b"header",
                &signature[1..]
            ),
            Err(SignatureError::Length(63))
        );
    }

    #[test]
    fn secret_keys_round_trip_through_text() {
        let key = generate_key();
        let decoded = decode_secret(&encode_secret(&key)).expect("decodes");
        assert_eq!(decoded.to_bytes(), key.to_bytes());
        assert!(decode_secret("ed25519:00").is_none());
        assert!(decode_secret("nonsense").is_none());
    }
}
