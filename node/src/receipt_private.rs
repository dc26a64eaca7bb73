//! The part of an addressee's receipt that only the sender reads: its log index, its latest
//! checkpoint and consistency proof (witnessing), an erasure count and a refusal's detail,
//! encoded as a `ReceiptPrivate` and age-encrypted to the sender's age recipient as the
//! directory lists it (the long-term key: receipts are evidence the sender keeps, not case
//! content, so they do not follow the short-lived keys envelopes are sealed to). Brokers carry
//! the bytes and cannot read them; the receipt's signature covers them.
//!
//! The sender opens the part ([`open`]) into a local view of the receipt with the fields filled
//! in as receipts before this part carried them in clear, so witnessing and the evidence read
//! the same fields as before; the signed bytes stay as received.

use prost::Message;
use sha2::Digest;
use trm_proto::addr::NodeAddr;
use trm_proto::directory::Directory;
use trm_proto::pb;
use trm_proto::receipt::VerifiedReceipt;

use crate::keys::NodeKeys;

/// Why a receipt's private part cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateError {
    /// The part does not decrypt with this node's age identity.
    #[error("the part of the receipt sealed for this node does not decrypt: {0}")]
    Decrypt(String),
    /// The decrypted bytes are not a `ReceiptPrivate`.
    #[error("the part of the receipt sealed for this node is malformed: {0}")]
    Malformed(String),
}

/// Why a receipt's private part cannot be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The sender is not a node the directory lists.
    #[error("the sender {0} is not in the directory")]
    UnknownSender(String),
    /// The directory's age recipient for the sender does not parse.
    #[error("the directory's age recipient for {0} does not parse")]
    BadRecipient(String),
    /// age failed to encrypt.
    #[error("cannot encrypt the part of the receipt for {sender}: {cause}")]
    Encrypt {
        /// The sender.
        sender: String,
        /// What age said.
        cause: String,
    },
}

/// A private part sealed for its sender: the ciphertext and the digest the receipt commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `Receipt.sealed_for_sender`.
    pub ciphertext: Vec<u8>,
    /// `Receipt.private_sha256`.
    pub digest: Vec<u8>,
}

/// Salts `private`, encrypts it to `sender`'s age recipient in `directory`, and digests it.
pub fn seal(
    private: pb::ReceiptPrivate,
    directory: &Directory,
    sender: &str,
) -> Result<Sealed, SealError> {
    let unknown = || SealError::UnknownSender(trm_proto::clip::quoted(sender));
    let addr: NodeAddr = sender.parse().map_err(|_| unknown())?;
    let entry = directory.node(&addr).ok_or_else(unknown)?;
    let recipient: age::x25519::Recipient = entry
        .age_recipient
        .parse()
        .map_err(|_| SealError::BadRecipient(addr.to_string()))?;
    let private = pb::ReceiptPrivate {
        salt: rand::random::<[u8; 16]>().to_vec(),
        ..private
    };
    let bytes = private.encode_to_vec();
    let ciphertext = age::encrypt(&recipient, &bytes).map_err(|e| SealError::Encrypt {
        sender: addr.to_string(),
        cause: e.to_string(),
    })?;
    Ok(Sealed {
        ciphertext,
        digest: sha2::Sha256::digest(&bytes).to_vec(),
    })
}

/// Decrypts and decodes the private part of `receipt` with this node's identity (`None` when
/// the receipt has none: a broker's, or one signed before the part existed).
pub fn read(
    receipt: &pb::Receipt,
    keys: &NodeKeys,
) -> Result<Option<pb::ReceiptPrivate>, PrivateError> {
    let Some(plain) = plaintext(receipt, keys)? else {
        return Ok(None);
    };
    pb::ReceiptPrivate::decode(plain.as_slice())
        .map(Some)
        .map_err(|e| PrivateError::Malformed(e.to_string()))
}

/// The private part of `receipt` as decrypted bytes, checked against the digest the receipt's
/// signature commits to (`None` when the receipt has none): what fork evidence keeps, so that
/// an auditor can check it without this node's key.
pub fn plaintext(receipt: &pb::Receipt, keys: &NodeKeys) -> Result<Option<Vec<u8>>, PrivateError> {
    if receipt.sealed_for_sender.is_empty() {
        return Ok(None);
    }
    let plain = age::decrypt(&keys.age, &receipt.sealed_for_sender)
        .map_err(|e| PrivateError::Decrypt(e.to_string()))?;
    if !trm_proto::receipt::private_matches(receipt, &plain) {
        return Err(PrivateError::Malformed(
            "it is not the part the receipt's signature commits to".into(),
        ));
    }
    Ok(Some(plain))
}

/// The local view of an addressee's receipt: its private part's fields put where receipts
/// before the part carried them in clear (`reason` holds the refusal's detail). The signed
/// bytes are left as received.
pub fn open(verified: &VerifiedReceipt, keys: &NodeKeys) -> Result<VerifiedReceipt, PrivateError> {
    let mut view = verified.clone();
    if let Some(private) = read(&verified.receipt, keys)? {
        merge(&mut view.receipt, private);
    }
    Ok(view)
}

/// Puts `private`'s fields into `receipt`.
fn merge(receipt: &mut pb::Receipt, private: pb::ReceiptPrivate) {
    receipt.log_index = private.log_index;
    receipt.erased_messages = private.erased_messages;
    receipt.checkpoint = private.checkpoint;
    receipt.consistency_from = private.consistency_from;
    receipt.consistency_proof = private.consistency_proof;
    receipt.reason = private.detail;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Result<NodeKeys, Box<dyn std::error::Error>> {
        Ok(NodeKeys {
            address: "lefoe-ibf@at".parse()?,
            signing: trm_proto::signing::generate_key(),
            age: age::x25519::Identity::generate(),
        })
    }

    /// A receipt carrying `private` sealed for `keys`, as `seal` makes it.
    fn sealed_for(
        keys: &NodeKeys,
        private: &pb::ReceiptPrivate,
    ) -> Result<pb::Receipt, Box<dyn std::error::Error>> {
        let bytes = pb::ReceiptPrivate {
            salt: vec![7; 16],
            ..private.clone()
        }
        .encode_to_vec();
        Ok(pb::Receipt {
            sealed_for_sender: age::encrypt(&keys.age.to_public(), &bytes)?,
            private_sha256: sha2::Sha256::digest(&bytes).to_vec(),
            ..Default::default()
        })
    }

    #[test]
    fn only_the_sender_reads_the_private_part_and_only_as_signed()
    -> Result<(), Box<dyn std::error::Error>> {
        let (sender, other) = (keys()?, keys()?);
        let private = pb::ReceiptPrivate {
            log_index: 7,
            erased_messages: 3,
            checkpoint: "note".into(),
            consistency_from: 2,
            consistency_proof: vec![vec![1; 32]],
            detail: "referral.child: missing".into(),
            salt: Vec::new(),
        };
        let receipt = sealed_for(&sender, &private)?;
        let opened = read(&receipt, &sender)?.ok_or("no part")?;
        assert_eq!(
            (opened.log_index, opened.detail.as_str()),
            (7, "referral.child: missing")
        );
        assert!(matches!(
            read_err(&receipt, &other),
            Some(PrivateError::Decrypt(_))
        ));
        // A part the signature does not commit to is not taken.
        let mut swapped = receipt.clone();
        swapped.private_sha256 = vec![0; 32];
        assert!(matches!(
            read_err(&swapped, &sender),
            Some(PrivateError::Malformed(_))
        ));
        // No part: a broker's receipt, or an old one.
        assert_eq!(read(&pb::Receipt::default(), &sender)?, None);
        let mut view = receipt.clone();
        merge(&mut view, opened);
        assert_eq!(
            (view.log_index, view.erased_messages, view.reason.as_str()),
            (7, 3, "referral.child: missing")
        );
        Ok(())
    }

    fn read_err(receipt: &pb::Receipt, keys: &NodeKeys) -> Option<PrivateError> {
        read(receipt, keys).err()
    }
}
