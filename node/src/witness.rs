//! Witnessing: every node checks and cosigns the checkpoints its partners' receipts carry, so a
//! partner that shows two histories (to two organisations, or to one over time) is caught with
//! its own signatures as evidence.
//!
//! The exchange rides on what already travels. A sender puts in each sealed body the size of
//! the addressee's latest checkpoint it cosigned ([`witnessed_size`], inside the ciphertext).
//! The addressee's DELIVERED or REJECTED receipt carries its latest stored checkpoint and, when
//! the body could be read, the consistency proof from that size ([`attachment`]); the receipt's
//! signature covers both. The sender ([`witness_receipt`]) opens the checkpoint with the
//! addressee's directory keys, judges it against what it cosigned before ([`trm_log::witness::judge`]), cosigns a
//! proved extension (tlog-cosignature/v1, key name = its own log's origin, its signing key) and
//! keeps it, or keeps fork evidence ([`WitnessStore`], kept by the node's store). Witnessing never refuses a receipt: the
//! delivery evidence is recorded first, and a bad checkpoint is only logged.
//!
//! The same Ed25519 key signs the node's own checkpoints (type 0x01, over the note text, which
//! starts with `trm/`) and its cosignatures (type 0x04, over a message that starts with
//! `cosignature/v1`), so neither signature can stand for the other or for an envelope, body or
//! receipt signature (`trm/<purpose>/v1` prefixes).
//!
//! The decision about one presented checkpoint is pure and lives with the log format
//! ([`trm_log::witness`]); what was cosigned and the fork evidence are kept by the node's store
//! ([`WitnessStore`]).

use tracing::{info, warn};
use trm_log::checkpoint::{self, NoteVerifier, SignatureKind};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::Directory;
use trm_proto::receipt::VerifiedReceipt;
use trm_proto::{pb, time};

pub use crate::store::{Presented, WitnessError, WitnessStore};
pub use trm_log::witness::{Seen, Verdict};

use crate::checkpointer::Checkpointer;
use crate::keys::NodeKeys;
use crate::store::NodeStore;

/// The origin of `node`'s checkpoints in `federation` and the C2SP verifier key
/// (`<origin>+<key hash>+<base64(0x01 || key)>`) that checks them with `key`.
pub fn verifier_key(
    federation: &str,
    node: &NodeAddr,
    key: ed25519_dalek::VerifyingKey,
) -> Result<(String, String), checkpoint::CheckpointError> {
    let origin = checkpoint::node_origin(federation, node)?;
    let vkey = NoteVerifier::new(&origin, SignatureKind::Ed25519, key)?.to_vkey();
    Ok((origin, vkey))
}

/// The checkpoint verifier key of each listed node, by address; a node whose address or key
/// does not parse is left out.
pub fn verifier_keys(
    federation: &str,
    nodes: &[pb::NodeEntry],
) -> std::collections::HashMap<String, String> {
    nodes
        .iter()
        .filter_map(|n| {
            let address: NodeAddr = n.address.parse().ok()?;
            let bytes = <[u8; 32]>::try_from(n.signing_key.as_slice()).ok()?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?;
            let (_, vkey) = verifier_key(federation, &address, key).ok()?;
            Some((n.address.clone(), vkey))
        })
        .collect()
}

/// What an addressee's receipt carries for witnessing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attachment {
    /// The latest stored checkpoint note (empty: none yet).
    pub checkpoint: String,
    /// The size the proof starts from (0: no proof).
    pub consistency_from: u64,
    /// The consistency proof from `consistency_from` to the checkpoint's size.
    pub consistency_proof: Vec<Vec<u8>>,
}

impl Attachment {
    /// Puts the attachment into a receipt about to be signed.
    pub fn apply(self, receipt: &mut pb::Receipt) {
        receipt.checkpoint = self.checkpoint;
        receipt.consistency_from = self.consistency_from;
        receipt.consistency_proof = self.consistency_proof;
    }
}

/// The addressee's side: its latest stored checkpoint and, if `witnessed_size` (from the body)
/// is not beyond it, the consistency proof from that size. Whatever fails is left out and
/// logged: a receipt is never refused for its attachment.
pub fn attachment(
    store: &NodeStore,
    checkpointer: Option<&Checkpointer>,
    witnessed_size: u64,
) -> Attachment {
    let latest = match store.latest_checkpoint() {
        Ok(Some(latest)) => latest,
        Ok(None) => return Attachment::default(),
        Err(e) => {
            warn!(cause = %e, "cannot read the latest checkpoint for a receipt");
            return Attachment::default();
        }
    };
    let (size, note) = latest;
    let mut attachment = Attachment {
        checkpoint: note,
        ..Attachment::default()
    };
    if witnessed_size == 0 || witnessed_size > size {
        return attachment;
    }
    let Some(checkpointer) = checkpointer else {
        return attachment;
    };
    match checkpointer.consistency_proof(witnessed_size, size) {
        Ok(proof) => {
            attachment.consistency_from = witnessed_size;
            attachment.consistency_proof = proof.into_iter().map(|h| h.to_vec()).collect();
        }
        Err(e) => {
            warn!(cause = %e, from = witnessed_size, to = size, "cannot prove a checkpoint consistent for a receipt");
        }
    }
    attachment
}

/// The sender's side, before sealing: the size of `partner`'s latest checkpoint this node
/// cosigned (0: none, or unreadable, which is logged).
pub fn witnessed_size(store: &NodeStore, partner: &NodeAddr) -> u64 {
    let latest = store
        .witness()
        .map_err(crate::store::WitnessError::from)
        .and_then(|witness| witness.latest(partner.as_str()));
    match latest {
        Ok(latest) => latest.map_or(0, |(_, checkpoint)| checkpoint.size),
        Err(e) => {
            warn!(partner = %partner, cause = %e, "cannot read the witnessed checkpoint");
            0
        }
    }
}

/// Why a receipt's checkpoint was not witnessed.
#[derive(Debug, thiserror::Error)]
pub enum NotWitnessed {
    /// The receipt's signer is not a node listed in the directory.
    #[error("the signer {0} is not a listed node")]
    UnknownPartner(String),
    /// The note does not open with the partner's keys, or is of another log.
    #[error("the checkpoint does not verify as {partner}'s: {problem}")]
    BadCheckpoint {
        /// The partner.
        partner: String,
        /// What is wrong.
        problem: String,
    },
    /// The witness store failed.
    #[error(transparent)]
    Store(#[from] WitnessError),
}

/// What witnessing needs of the node: the directory in use, its store, the federation's name
/// and its keys (it cosigns with its signing key).
pub struct Witness<'a> {
    /// The directory in use.
    pub directory: &'a Directory,
    /// The node's store.
    pub store: &'a NodeStore,
    /// The federation's name.
    pub federation: &'a str,
    /// The node's keys.
    pub keys: &'a NodeKeys,
}

/// The sender's side, after recording a receipt the addressee signed: witnesses the checkpoint
/// it carries. Never fails the receipt: problems are logged (and forks kept as evidence).
pub async fn witness_receipt(node: &Witness<'_>, verified: &VerifiedReceipt) {
    let receipt = &verified.receipt;
    if receipt.checkpoint.is_empty() {
        return;
    }
    match witness(node, verified).await {
        Ok(Verdict::Extends) => {
            info!(partner = %receipt.signer, "cosigned the partner's checkpoint");
        }
        Ok(Verdict::Known) => {}
        Ok(Verdict::Unproven(why)) => {
            info!(partner = %receipt.signer, %why, "partner's checkpoint not cosigned");
        }
        Ok(Verdict::Fork { seen_size, problem }) => {
            warn!(partner = %receipt.signer, seen_size, %problem, "partner showed two histories; fork evidence kept");
        }
        Err(e) => {
            warn!(partner = %receipt.signer, id = %receipt.message_id, cause = %e, "checkpoint in receipt not witnessed");
        }
    }
}

/// [`witness_receipt`]'s work.
async fn witness(node: &Witness<'_>, verified: &VerifiedReceipt) -> Result<Verdict, NotWitnessed> {
    let receipt = &verified.receipt;
    let now_ms = time::now_ms();
    let unknown = || NotWitnessed::UnknownPartner(receipt.signer.clone());
    let partner: NodeAddr = receipt.signer.parse().map_err(|_| unknown())?;
    let bad = |problem: String| NotWitnessed::BadCheckpoint {
        partner: partner.to_string(),
        problem,
    };
    let keys = node
        .directory
        .node(&partner)
        .map(|n| n.signing_keys_at(now_ms))
        .ok_or_else(unknown)?;
    let origin =
        checkpoint::node_origin(node.federation, &partner).map_err(|e| bad(e.to_string()))?;
    let verifiers: Vec<NoteVerifier> = keys
        .into_iter()
        .filter_map(|key| NoteVerifier::new(&origin, SignatureKind::Ed25519, key).ok())
        .collect();
    let opened =
        checkpoint::open(&receipt.checkpoint, &verifiers).map_err(|e| bad(e.to_string()))?;
    if opened.checkpoint().origin != origin || !opened.signed_by(&origin) {
        return Err(bad(format!(
            "it is a checkpoint of {:?}",
            opened.checkpoint().origin
        )));
    }
    // Kept with fork evidence: the checkpoint and proof came in the receipt's private part.
    let private = crate::receipt_private::plaintext(receipt, node.keys)
        .map_err(|e| bad(e.to_string()))?
        .unwrap_or_default();
    let witness_name = checkpoint::node_origin(node.federation, &node.keys.address)
        .map_err(|e| bad(e.to_string()))?;
    Ok(node
        .store
        .witness()
        .map_err(crate::store::WitnessError::from)?
        .witness(
            &Presented {
                partner: partner.as_str(),
                checkpoint: &opened,
                from: receipt.consistency_from,
                proof: &receipt.consistency_proof,
                receipt: &verified.signed,
                receipt_private: &private,
                now_ms,
            },
            |checkpoint| {
                checkpoint::cosign(checkpoint, &witness_name, &node.keys.signing, now_ms / 1000)
            },
        )
        .await?)
}
