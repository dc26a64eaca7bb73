//! Signed delivery evidence: ACCEPTED and RELAYED by brokers, DELIVERED or REJECTED by the
//! addressee. Receipts are signed bytes, so a stored receipt can be shown to an auditor later
//! exactly as it was received.
//!
//! A receipt carries only what the brokers on its way need: who, which message, which step,
//! and for a refusal a code from a closed list ([`reason_code`], [`reason_words`]). What only
//! the sender needs (the addressee's log index, checkpoint and consistency proof, an erasure
//! count, a refusal's detail) travels encrypted to the sender in `sealed_for_sender`.

use ed25519_dalek::{SigningKey, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::addr::{BrokerName, NodeAddr};
use crate::directory::Directory;
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

/// A receipt's refusal code (`REJECT_REASON_UNSPECIFIED` when it has none or an unknown one).
pub fn reason_code(receipt: &pb::Receipt) -> pb::RejectReason {
    pb::RejectReason::try_from(receipt.reason_code).unwrap_or(pb::RejectReason::Unspecified)
}

/// A refusal code in plain words, for evidence and logs: the same words wherever a code is
/// shown, and never anything a peer wrote.
pub fn reason_words(code: pb::RejectReason) -> &'static str {
    use pb::RejectReason as R;
    match code {
        R::Unspecified => "no reason given",
        R::Malformed => "the message or a field in it is malformed",
        R::BadSignature => "a signature does not verify",
        R::Misaddressed => "it was not addressed to the organisation that received it",
        R::NotInDirectory => "the sender, addressee or a broker is not in the directory",
        R::Undecryptable => "it cannot be decrypted with any key the addressee holds",
        R::KeyRetired => "the key it was sealed to has been retired; seal it again",
        R::CodeListsUnknown => "its code lists are a version the addressee does not know",
        R::NoAgreement => "no sharing agreement allows it",
        R::Rule => "its content breaks a rule",
        R::CaseStep => "the step is not allowed in the case's current state",
        R::ConsentWithdrawn => "consent in the case was withdrawn",
        R::OutOfOrder => "the step came out of order in its case",
        R::TooLarge => "it is too large",
        R::RelayRefused => "a peer broker refused to relay it",
    }
}

/// Whether `private` (an encoded `ReceiptPrivate`) is the part the signer of `receipt`
/// committed to in `private_sha256`: how an auditor checks a private part the sender shows.
pub fn private_matches(receipt: &pb::Receipt, private: &[u8]) -> bool {
    !receipt.private_sha256.is_empty()
        && Sha256::digest(private).as_slice() == receipt.private_sha256.as_slice()
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

/// Who may sign a receipt: each step of the evidence chain has exactly one kind of signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attester {
    /// A broker attests its own step: ACCEPTED by the sender's home broker, RELAYED by the
    /// addressee's, REJECTED by the sender's home broker when a peer broker refused to relay,
    /// EXPIRED by whichever of the two held the envelope when its window ended.
    Broker(BrokerName),
    /// The addressee attests DELIVERED or REJECTED.
    Node(NodeAddr),
}

/// Why a signer may not attest a receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "signer {} cannot attest {kind:?} for a message from {from} to {to}",
    crate::clip::quoted(signer)
)]
pub struct AttestError {
    /// The receipt's kind.
    pub kind: pb::ReceiptKind,
    /// The signer the receipt names.
    pub signer: String,
    /// The message's sender.
    pub from: NodeAddr,
    /// The message's addressee.
    pub to: NodeAddr,
}

/// The one rule of who may attest which step of a message from `from` to `to`: ACCEPTED only
/// the sender's home broker, RELAYED only the addressee's home broker, DELIVERED only the
/// addressee, REJECTED the addressee or the sender's home broker (which reports a peer
/// broker's refusal), EXPIRED the broker that held the envelope when its window ended (the
/// sender's or the addressee's home broker). Every receiver of a receipt (node and brokers)
/// asks this before it looks up the signer's key.
pub fn attester(
    kind: pb::ReceiptKind,
    signer: &str,
    from: &NodeAddr,
    to: &NodeAddr,
) -> Result<Attester, AttestError> {
    let broker = |expected: BrokerName| {
        signer
            .parse::<BrokerName>()
            .ok()
            .filter(|name| *name == expected)
            .map(Attester::Broker)
    };
    let addressee = || {
        signer
            .parse::<NodeAddr>()
            .ok()
            .filter(|node| node == to)
            .map(Attester::Node)
    };
    let found = match kind {
        pb::ReceiptKind::Accepted => broker(from.broker()),
        pb::ReceiptKind::Relayed => broker(to.broker()),
        pb::ReceiptKind::Delivered => addressee(),
        pb::ReceiptKind::Rejected => addressee().or_else(|| broker(from.broker())),
        pb::ReceiptKind::Expired => broker(from.broker()).or_else(|| broker(to.broker())),
        pb::ReceiptKind::Unspecified => None,
    };
    found.ok_or_else(|| AttestError {
        kind,
        signer: signer.to_owned(),
        from: from.clone(),
        to: to.clone(),
    })
}

/// The directory keys of an attester at `now_ms` (a node's previous key too during a rotation's
/// overlap), or `None` when the directory does not list it.
pub fn attester_keys(
    directory: &Directory,
    attester: &Attester,
    now_ms: u64,
) -> Option<Vec<VerifyingKey>> {
    match attester {
        Attester::Broker(name) => directory.broker(name).map(|b| vec![b.signing_key]),
        Attester::Node(addr) => directory.node(addr).map(|n| n.signing_keys_at(now_ms)),
    }
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

    #[test]
    fn every_code_has_its_own_words() {
        let words: std::collections::HashSet<&str> = (0..=14)
            .filter_map(|n| pb::RejectReason::try_from(n).ok())
            .map(reason_words)
            .collect();
        assert_eq!(words.len(), 15);
        let receipt = pb::Receipt {
            reason_code: 999,
            ..Default::default()
        };
        assert_eq!(reason_code(&receipt), pb::RejectReason::Unspecified);
    }

    #[test]
    fn each_step_has_exactly_its_own_attester() -> Result<(), Box<dyn std::error::Error>> {
        let from: NodeAddr = "lefoe-ibf@at".parse()?;
        let to: NodeAddr = "astra@rs".parse()?;
        let ok = |kind, signer: &str| attester(kind, signer, &from, &to).is_ok();
        use pb::ReceiptKind::*;
        assert!(ok(Accepted, "at") && !ok(Accepted, "rs") && !ok(Accepted, "astra@rs"));
        assert!(ok(Relayed, "rs") && !ok(Relayed, "at"));
        assert!(ok(Delivered, "astra@rs") && !ok(Delivered, "rs") && !ok(Delivered, "atina@rs"));
        assert!(ok(Rejected, "astra@rs") && ok(Rejected, "at") && !ok(Rejected, "rs"));
        assert!(ok(Expired, "at") && ok(Expired, "rs") && !ok(Expired, "astra@rs"));
        assert!(!ok(Expired, "de"));
        assert!(!ok(Unspecified, "at") && !ok(Unspecified, "astra@rs"));
        Ok(())
    }
}
