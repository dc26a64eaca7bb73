//! What a witness keeps, in three sled trees of the node's database: every partner checkpoint
//! it cosigned, the latest cosigned size per partner, and fork evidence. Judging a checkpoint
//! and recording the outcome is one sled transaction, so two receipts from one partner are
//! never both judged against the same latest checkpoint.

use prost::Message;
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use trm_log::checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint};
use trm_log::witness::{self as judge, Seen, Verdict};
use trm_proto::pb;

use trm_storage::GroupCommit;

use super::StoreError;

/// The sled tree of cosigned partner checkpoints: key partner address, NUL, tree size (`u64`
/// big-endian), value the cosigned note in UTF-8.
pub const NOTES_TREE: &str = "witness_notes";
/// The sled tree of the latest cosigned size per partner: key partner address, value the size
/// (`u64` big-endian).
pub const LATEST_TREE: &str = "witness_latest";
/// The sled tree of fork evidence: key partner address, NUL, the presented size (`u64`
/// big-endian), NUL, 8 bytes of SHA-256 over both notes; value an encoded `WitnessFork`.
pub const FORKS_TREE: &str = "witness_forks";

/// Why witnessing failed (never a reason to refuse a receipt).
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The witness trees could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Cosigning failed.
    #[error("cosigning: {0}")]
    Cosign(#[from] CheckpointError),
}

impl From<sled::Error> for WitnessError {
    fn from(e: sled::Error) -> Self {
        WitnessError::Store(StoreError::Engine(e))
    }
}

impl From<TransactionError<WitnessError>> for WitnessError {
    fn from(e: TransactionError<WitnessError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => e.into(),
        }
    }
}

fn corrupt(tree: &'static str, message: impl Into<String>) -> WitnessError {
    WitnessError::Store(StoreError::Corrupt {
        tree,
        message: message.into(),
    })
}

/// A partner checkpoint presented in a receipt, with what the witness needs to judge and
/// record it.
pub struct Presented<'a> {
    /// The partner's address.
    pub partner: &'a str,
    /// The checkpoint, opened and verified with the partner's directory keys.
    pub checkpoint: &'a VerifiedCheckpoint,
    /// The size the consistency proof starts from (0: none).
    pub from: u64,
    /// The consistency proof, as received.
    pub proof: &'a [Vec<u8>],
    /// The partner's signed receipt that carried it, kept as evidence of a fork.
    pub receipt: &'a pb::SignedReceipt,
    /// The receipt's decrypted private part (empty when the receipt carries it in clear), kept
    /// beside it as evidence of a fork.
    pub receipt_private: &'a [u8],
    /// Now, Unix milliseconds.
    pub now_ms: u64,
}

/// The witness trees of a node's database.
#[derive(Clone)]
pub struct WitnessStore {
    /// Flushes what is written.
    commit: GroupCommit,
    /// Cosigned partner checkpoints.
    notes: sled::Tree,
    /// The latest cosigned size per partner.
    latest: sled::Tree,
    /// Fork evidence.
    forks: sled::Tree,
}

/// The key of partner `partner`'s checkpoint of `size` entries.
fn note_key(partner: &str, size: u64) -> Vec<u8> {
    let mut key = partner.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&size.to_be_bytes());
    key
}

/// The size in a stored big-endian value.
fn decode_size(tree: &'static str, bytes: &[u8]) -> Result<u64, WitnessError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt(tree, "a size is not 8 bytes"))
}

/// The checkpoint in a stored note.
fn decode_note(bytes: &[u8]) -> Result<(String, Checkpoint), WitnessError> {
    let note = String::from_utf8(bytes.to_vec()).map_err(|_| corrupt(NOTES_TREE, "not UTF-8"))?;
    let checkpoint =
        Checkpoint::from_note(&note).map_err(|e| corrupt(NOTES_TREE, e.to_string()))?;
    Ok((note, checkpoint))
}

impl WitnessStore {
    /// Opens the witness trees of `db`; `commit` flushes it.
    pub(super) fn open(db: &sled::Db, commit: GroupCommit) -> Result<Self, sled::Error> {
        Ok(Self {
            commit,
            notes: db.open_tree(NOTES_TREE)?,
            latest: db.open_tree(LATEST_TREE)?,
            forks: db.open_tree(FORKS_TREE)?,
        })
    }

    /// The latest checkpoint of `partner` this node cosigned: its cosigned note and checkpoint.
    pub fn latest(&self, partner: &str) -> Result<Option<(String, Checkpoint)>, WitnessError> {
        let Some(size) = self.latest.get(partner.as_bytes())? else {
            return Ok(None);
        };
        let size = decode_size(LATEST_TREE, &size)?;
        match self.notes.get(note_key(partner, size))? {
            Some(note) => decode_note(&note).map(Some),
            None => Err(corrupt(
                NOTES_TREE,
                format!("no note for the latest size {size} of {partner}"),
            )),
        }
    }

    /// Judges `presented` against what was cosigned of its partner before and records the
    /// outcome in one transaction: an extension is cosigned with `cosign` and becomes the
    /// latest; a fork is kept as evidence. On disk when this returns.
    pub async fn witness(
        &self,
        presented: &Presented<'_>,
        cosign: impl Fn(&VerifiedCheckpoint) -> Result<String, CheckpointError>,
    ) -> Result<Verdict, WitnessError> {
        let partner = presented.partner;
        let checkpoint = presented.checkpoint.checkpoint();
        let cosigned = cosign(presented.checkpoint)?;
        let verdict =
            (&self.notes, &self.latest, &self.forks).transaction(|(notes, latest, forks)| {
                let abort = ConflictableTransactionError::Abort;
                let note_at = |size: u64| -> Result<
                    Option<(String, Checkpoint)>,
                    ConflictableTransactionError<WitnessError>,
                > {
                    match notes.get(note_key(partner, size))? {
                        Some(bytes) => decode_note(&bytes).map(Some).map_err(abort),
                        None => Ok(None),
                    }
                };
                let latest_size = latest
                    .get(partner.as_bytes())?
                    .map(|bytes| decode_size(LATEST_TREE, &bytes))
                    .transpose()
                    .map_err(abort)?;
                let latest_note = match latest_size {
                    Some(size) => note_at(size)?,
                    None => None,
                };
                let at_presented = note_at(checkpoint.size)?;
                let at_base = match presented.from {
                    0 => None,
                    from => note_at(from)?,
                };
                let seen = Seen {
                    latest: latest_note.as_ref().map(|(_, c)| c.clone()),
                    at_presented_size: at_presented.as_ref().map(|(_, c)| c.root),
                    at_proof_base: at_base.as_ref().map(|(_, c)| c.root),
                };
                let verdict = judge::judge(&seen, checkpoint, presented.from, presented.proof);
                match &verdict {
                    Verdict::Extends => {
                        notes.insert(note_key(partner, checkpoint.size), cosigned.as_bytes())?;
                        latest.insert(partner.as_bytes(), &checkpoint.size.to_be_bytes())?;
                    }
                    Verdict::Fork { seen_size, problem } => {
                        let seen_note = [at_presented, at_base]
                            .into_iter()
                            .flatten()
                            .find(|(_, c)| c.size == *seen_size)
                            .map(|(note, _)| note)
                            .unwrap_or_default();
                        let evidence = pb::WitnessFork {
                            node: partner.to_owned(),
                            seen: seen_note,
                            presented: presented.checkpoint.note(),
                            problem: problem.clone(),
                            detected_at_ms: presented.now_ms,
                            receipt: Some(presented.receipt.clone()),
                            receipt_private: presented.receipt_private.to_vec(),
                        };
                        let mut key = note_key(partner, checkpoint.size);
                        key.push(0);
                        let digest = Sha256::new()
                            .chain_update(evidence.seen.as_bytes())
                            .chain_update(evidence.presented.as_bytes())
                            .finalize();
                        key.extend_from_slice(&digest[..8]);
                        if forks.get(&key)?.is_none() {
                            forks.insert(key, evidence.encode_to_vec())?;
                        }
                    }
                    Verdict::Known | Verdict::Unproven(_) => {}
                }
                Ok(verdict)
            })?;
        self.commit
            .durable()
            .await
            .map_err(|e| WitnessError::Store(e.into()))?;
        Ok(verdict)
    }

    /// The partners this node has cosigned a checkpoint of.
    pub fn partners(&self) -> Result<Vec<String>, WitnessError> {
        self.latest
            .iter()
            .keys()
            .map(|key| {
                String::from_utf8(key?.to_vec()).map_err(|_| corrupt(LATEST_TREE, "not UTF-8"))
            })
            .collect()
    }

    /// Every cosigned partner checkpoint, by partner and size.
    pub fn witnessed(&self) -> Result<Vec<String>, WitnessError> {
        self.notes
            .iter()
            .values()
            .map(|value| {
                String::from_utf8(value?.to_vec()).map_err(|_| corrupt(NOTES_TREE, "not UTF-8"))
            })
            .collect()
    }

    /// Every fork evidence record, by partner and size.
    pub fn forks(&self) -> Result<Vec<pb::WitnessFork>, WitnessError> {
        self.forks
            .iter()
            .values()
            .map(|value| {
                pb::WitnessFork::decode(value?.as_ref())
                    .map_err(|e| corrupt(FORKS_TREE, e.to_string()))
            })
            .collect()
    }
}
