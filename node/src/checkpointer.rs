//! The node's checkpointer: the Merkle tree over its handover log, and the signed checkpoints
//! it makes of that tree.
//!
//! The tree's leaves are the log entries' exact stored bytes ([`trm_log::merkle`]). It is rebuilt
//! from the log when the node starts, and extended from the log's head record before each
//! checkpoint, so the code that appends entries (one transaction with the message it records)
//! needs no change. Checkpoints are signed through [`CheckpointSigner`], which signs
//! only with a consistency proof from the last checkpoint it signed, and each is stored in the
//! `checkpoints` tree and flushed before anyone sees it; after a restart the signer resumes
//! from the last stored checkpoint.
//!
//! At start-up every stored checkpoint is checked against the rebuilt tree. If the log no longer
//! extends one of them (entries lost, or changed and re-chained behind the node's back), the
//! checkpointer refuses to sign anything: signing would vouch for a second history.
//!
//! **Architecture Invariant:** a checkpoint covers only entries that were on disk before it was
//! signed, and its note is on disk before it is returned.

use std::sync::{PoisonError, RwLock};

use ed25519_dalek::SigningKey;
use tokio::sync::Mutex;
use tracing::info;

use crate::store::{NodeStore, StoreError};
use trm_log::checkpoint::{Checkpoint, CheckpointError, CheckpointSigner};
use trm_log::merkle::{Hash, MerkleError, MerkleTree};

/// How many entries one catch-up read takes from the log.
const CATCH_UP_BATCH: usize = 4096;

/// Why a checkpoint could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointerError {
    /// The log or the checkpoints could not be read or stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signer refused, or the origin is not a valid key name.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A proof could not be produced from the tree.
    #[error("checkpoint: {0}")]
    Merkle(#[from] MerkleError),
    /// The log no longer extends a checkpoint this node signed: nothing more is signed.
    #[error("the handover log no longer matches the checkpoint signed at size {size}: {problem}")]
    Diverged {
        /// The size of the first stored checkpoint the log does not extend.
        size: u64,
        /// What is wrong.
        problem: String,
    },
    /// The log has no entry yet: a checkpoint of it would vouch for nothing, and a partner that
    /// cosigned it would hold no size to ask the next proof from.
    #[error("the handover log is empty: there is nothing to sign a checkpoint of yet")]
    Empty,
    /// A stored checkpoint cannot be read back.
    #[error("the checkpoint stored at size {size} is unreadable: {problem}")]
    Unreadable {
        /// Its key.
        size: u64,
        /// What is wrong with it.
        problem: String,
    },
}

/// A checkpoint the node has signed and stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Origin, size and root.
    pub checkpoint: Checkpoint,
    /// The signed note, as stored.
    pub note: String,
    /// Whether this call signed it (false: the log had not grown since).
    pub signed_now: bool,
}

/// Keeps the Merkle tree over the handover log and signs its checkpoints.
pub struct Checkpointer {
    /// `trm/<federation>/<node address>`: the checkpoints' origin and key name.
    origin: String,
    /// Set at start-up when the log does not extend a stored checkpoint.
    diverged: Option<(u64, String)>,
    /// Signs only checkpoints consistent with the last one it signed; its lock makes
    /// checkpoints one at a time, and only its holder extends the tree.
    signer: Mutex<CheckpointSigner>,
    /// The Merkle tree over the log entries read so far. Behind its own short-held lock so
    /// that receipts can take consistency proofs from it without waiting for a checkpoint's
    /// flush.
    tree: RwLock<MerkleTree>,
}

impl Checkpointer {
    /// Rebuilds the tree from the stored log, checks it against every stored checkpoint, and
    /// restores the signer from the last one.
    pub fn open(
        store: &NodeStore,
        origin: &str,
        key: SigningKey,
    ) -> Result<Self, CheckpointerError> {
        let tree = RwLock::new(MerkleTree::new());
        catch_up(store, &tree)?;
        let tree_guard = read(&tree);
        let mut diverged = None;
        let mut last = None;
        for (size, note) in store.checkpoints()? {
            let checkpoint = parse_stored(size, &note)?;
            if diverged.is_none()
                && let Err(problem) = check_extends(&tree_guard, &checkpoint)
            {
                diverged = Some((size, problem));
            }
            last = Some(checkpoint);
        }
        let signer = CheckpointSigner::new(origin, key, last)?;
        info!(
            origin,
            entries = tree_guard.size(),
            last_checkpoint = signer.last_signed().size,
            "handover log tree rebuilt"
        );
        drop(tree_guard);
        Ok(Self {
            origin: origin.to_owned(),
            diverged,
            signer: Mutex::new(signer),
            tree,
        })
    }

    /// The checkpoints' origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Why nothing can be signed, when the log does not extend a stored checkpoint.
    pub fn diverged(&self) -> Option<CheckpointerError> {
        self.diverged
            .as_ref()
            .map(|(size, problem)| CheckpointerError::Diverged {
                size: *size,
                problem: problem.clone(),
            })
    }

    /// Signs a checkpoint at the log's current size if the log grew since the last one, stores
    /// it and waits until it is on disk; answers the latest checkpoint either way. The empty log
    /// is never signed ([`CheckpointerError::Empty`]): witnessing asks each proof from the size
    /// a partner cosigned last, and 0 there means "nothing cosigned yet".
    pub async fn checkpoint(
        &self,
        store: &NodeStore,
    ) -> Result<SignedCheckpoint, CheckpointerError> {
        if let Some(error) = self.diverged() {
            return Err(error);
        }
        let mut signer = self.signer.lock().await;
        catch_up(store, &self.tree)?;
        let (size, root) = {
            let tree = read(&self.tree);
            (tree.size(), tree.root())
        };
        if size == 0 {
            return Err(CheckpointerError::Empty);
        }
        if let Some((stored, note)) = store.latest_checkpoint()?
            && stored == size
        {
            return Ok(SignedCheckpoint {
                checkpoint: parse_stored(stored, &note)?,
                note,
                signed_now: false,
            });
        }
        // Every entry read above was written before this flush began: once it returns, the
        // checkpoint covers nothing a crash could lose, which would look like a truncation.
        store.durable().await?;
        let next = Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
        };
        let from = signer.last_signed().size;
        let proof = self.consistency_proof(from, size)?;
        let note = signer.sign(&next, &proof)?;
        store.record_checkpoint(size, &note).await?;
        Ok(SignedCheckpoint {
            checkpoint: next,
            note,
            signed_now: true,
        })
    }
}

impl Checkpointer {
    /// The consistency proof from the log's tree at `from` entries to the tree at `to` entries,
    /// for a partner that witnessed a checkpoint of size `from` (see [`crate::witness`]). Every
    /// size up to the latest checkpoint signed is in the tree.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, MerkleError> {
        read(&self.tree).consistency_proof(from, to)
    }
}

/// Reads the tree. Its lock is never held across anything that can panic, so a poisoned lock
/// still guards a whole tree.
fn read(tree: &RwLock<MerkleTree>) -> std::sync::RwLockReadGuard<'_, MerkleTree> {
    tree.read().unwrap_or_else(PoisonError::into_inner)
}

/// Extends `tree` with the log entries it does not hold yet, up to the head record. Entries are
/// read without the lock and appended under it one batch at a time, so proofs for receipts
/// wait for no reading. Only the signer's holder (or `open`) calls this.
fn catch_up(store: &NodeStore, tree: &RwLock<MerkleTree>) -> Result<(), CheckpointerError> {
    let len = store.log_len()?;
    loop {
        let held = read(tree).size();
        if held >= len {
            return Ok(());
        }
        let want = usize::try_from(len - held).unwrap_or(usize::MAX);
        let batch = store.log_entry_bytes(held, want.min(CATCH_UP_BATCH))?;
        if batch.is_empty() {
            return Err(CheckpointerError::Diverged {
                size: len,
                problem: format!("the head record counts {len} entries but the log ends at {held}"),
            });
        }
        let mut tree = tree.write().unwrap_or_else(PoisonError::into_inner);
        for entry in &batch {
            tree.push(entry);
        }
    }
}

/// Whether the tree extends `checkpoint`: it holds at least as many entries, with the same root
/// at the checkpoint's size.
fn check_extends(tree: &MerkleTree, checkpoint: &Checkpoint) -> Result<(), String> {
    let size = checkpoint.size;
    match tree.root_at(size) {
        Err(_) => Err(format!(
            "the log holds {} entries, fewer than the {size} it covered",
            tree.size()
        )),
        Ok(root) if root != checkpoint.root => Err(format!(
            "the first {size} entries no longer hash to its root: some were changed"
        )),
        Ok(_) => Ok(()),
    }
}

/// The checkpoint in a stored note, which must be of the size it is stored under.
fn parse_stored(size: u64, note: &str) -> Result<Checkpoint, CheckpointerError> {
    let unreadable = |problem: String| CheckpointerError::Unreadable { size, problem };
    let checkpoint = Checkpoint::from_note(note).map_err(|e| unreadable(e.to_string()))?;
    if checkpoint.size != size {
        return Err(unreadable(format!("it is of size {}", checkpoint.size)));
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use trm_proto::pb;

    use super::*;
    use crate::store::danger;
    use trm_log::checkpoint::{self, NoteVerifier, SignatureKind};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const ORIGIN: &str = "trm/test/alpha@marri";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    /// Appends `n` REFUSED entries the way the node does, one transaction each.
    async fn append(store: &NodeStore, n: u64) -> TestResult {
        for i in 0..n {
            let header = pb::EnvelopeHeader {
                message_id: format!("{i:032x}"),
                from: "astra@marri".into(),
                ..Default::default()
            };
            store
                .record_refused(&header, &[i as u8; 32], 1_700_000_000_000 + i, "test")
                .await?;
        }
        Ok(())
    }

    /// Replaces the log in `dir` (no store open) with `n` other, well-chained entries.
    fn rewrite_log(dir: &Path, n: u64) -> TestResult {
        let entries: Vec<pb::LogEntry> = (0..n)
            .map(|i| pb::LogEntry {
                message_id: format!("{:032x}", i + 100),
                ..Default::default()
            })
            .collect();
        danger::danger_replace_log(dir, &entries)?;
        Ok(())
    }

    #[tokio::test]
    async fn signs_stores_and_resumes_after_a_restart() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let store = NodeStore::open(dir.path())?;
            let checkpointer = Checkpointer::open(&store, ORIGIN, key())?;
            let empty = checkpointer.checkpoint(&store).await;
            assert!(matches!(empty, Err(CheckpointerError::Empty)), "{empty:?}");
            assert_eq!(store.latest_checkpoint()?, None);
        }

        let store = NodeStore::open(dir.path())?;
        append(&store, 5).await?;
        let checkpointer = Checkpointer::open(&store, ORIGIN, key())?;
        let five = checkpointer.checkpoint(&store).await?;
        assert!(five.signed_now);
        assert_eq!(five.checkpoint.size, 5);
        let again = checkpointer.checkpoint(&store).await?;
        assert!(!again.signed_now);
        assert_eq!(again.note, five.note);
        append(&store, 2).await?;
        let seven = checkpointer.checkpoint(&store).await?;
        assert_eq!(seven.checkpoint.size, 7);

        let verifier = NoteVerifier::new(ORIGIN, SignatureKind::Ed25519, key().verifying_key())?;
        let opened = checkpoint::open(&seven.note, &[verifier])?;
        assert_eq!(opened.checkpoint(), &seven.checkpoint);
        let stored: Vec<u64> = store.checkpoints()?.iter().map(|(s, _)| *s).collect();
        assert_eq!(stored, [5, 7]);
        assert_eq!(store.latest_checkpoint()?, Some((7, seven.note.clone())));
        Ok(())
    }

    #[tokio::test]
    async fn a_log_changed_behind_its_back_is_never_checkpointed_again() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let store = NodeStore::open(dir.path())?;
            append(&store, 4).await?;
            Checkpointer::open(&store, ORIGIN, key())?
                .checkpoint(&store)
                .await?;
        }
        // Another history, longer and properly chained, so only the checkpoint tells.
        rewrite_log(dir.path(), 6)?;
        let store = NodeStore::open(dir.path())?;
        assert_eq!(store.verify_log()?.entries, 6);
        let checkpointer = Checkpointer::open(&store, ORIGIN, key())?;
        assert!(matches!(
            checkpointer.diverged(),
            Some(CheckpointerError::Diverged { size: 4, .. })
        ));
        let refused = checkpointer.checkpoint(&store).await;
        assert!(
            matches!(refused, Err(CheckpointerError::Diverged { size: 4, .. })),
            "{refused:?}"
        );
        assert_eq!(store.checkpoints()?.len(), 1);
        drop(store);

        // A shorter log (entries lost) is caught too.
        rewrite_log(dir.path(), 2)?;
        let store = NodeStore::open(dir.path())?;
        let checkpointer = Checkpointer::open(&store, ORIGIN, key())?;
        match checkpointer.diverged() {
            Some(CheckpointerError::Diverged { size: 4, problem }) => {
                assert!(problem.contains("fewer"), "{problem}")
            }
            other => panic!("{other:?}"),
        }
        Ok(())
    }
}
