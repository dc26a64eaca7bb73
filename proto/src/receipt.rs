//! Signed delivery evidence: ACCEPTED and RELAYED by brokers, DELIVERED or REJECTED by the
//! addressee. Receipts are signed bytes, so a stored receipt can be shown to an auditor later
//! exactly as it was received.

use ed25519_dalek::{SigningKey, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::pb;
use crate::signing::{self, Purpose, SignatureError};

/// Why a receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt bytes are not a `Receipt`.
    #[error("malformed receipt: {0}")]
    Malformed(String),
    /// The signature does not verify with the signer's key.
    #[error("receipt signature by {signer} does not verify: {cause}")]
    BadSignature {
        /// Who claims to have signed it.
        signer: String,
        /// What was wrong.
        cause: SignatureError,
    },
}

/// Signs a receipt.
pub fn sign(receipt: &pb::Receipt, key: &SigningKey) -> pb::SignedReceipt {
    let bytes = receipt.encode_to_vec();
    pb::SignedReceipt {
        signature: signing::sign(key, Purpose::Receipt, &bytes),
        receipt: bytes,
    }
}

/// Decodes a receipt without checking its signature, to learn who claims to have signed it.
pub fn peek(signed: &pb::SignedReceipt) -> Result<pb::Receipt, ReceiptError> {
    pb::Receipt::decode(signed.receipt.as_slice())
        .map_err(|e| ReceiptError::Malformed(e.to_string()))
}

/// A receipt whose signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedReceipt {
    /// The receipt's fields.
    pub receipt: pb::Receipt,
    /// The receipt as received, signature included.
    pub signed: pb::SignedReceipt,
}

impl VerifiedReceipt {
    /// SHA-256 of the encoded signed receipt: what the handover log records.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.signed.encode_to_vec()).into()
    }

    /// The receipt's kind.
    pub fn kind(&self) -> pb::ReceiptKind {
        pb::ReceiptKind::try_from(self.receipt.kind).unwrap_or(pb::ReceiptKind::Unspecified)
    }
}

/// Verifies a receipt with the key (or, during a rotation, keys) of the signer it names.
pub fn verify(
    signed: &pb::SignedReceipt,
    signer_keys: &[VerifyingKey],
) -> Result<VerifiedReceipt, ReceiptError> {
    let receipt = peek(signed)?;
    signing::verify_any(
        signer_keys,
        Purpose::Receipt,
        &signed.receipt,
        &signed.signature,
    )
    .map_err(|cause| ReceiptError::BadSignature {
        signer: receipt.signer.clone(),
        cause,
    })?;
    Ok(VerifiedReceipt {
        receipt,
        signed: signed.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_verifies_only_with_its_signers_key() {
        let key = signing::generate_key();
        let other = signing::generate_key();
        let receipt = pb::Receipt {
            kind: pb::ReceiptKind::Delivered.into(),
            message_id: "00".repeat(16),
            signer: "astra@rs".into(),
            ..Default::default()
        };
        let signed = sign(&receipt, &key);
        let verified = verify(&signed, &[key.verifying_key()]).expect("verifies");
        assert_eq!(verified.kind(), pb::ReceiptKind::Delivered);
        assert!(matches!(
            verify(&signed, &[other.verifying_key()]),
            Err(ReceiptError::BadSignature { .. })
        ));
        let mut tampered = signed.clone();
        tampered.receipt[0] ^= 1;
        assert!(verify(&tampered, &[key.verifying_key()]).is_err());
    }
}
