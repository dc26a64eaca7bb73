//! The witness's decision about one checkpoint a partner presents: is it what was seen before,
//! a proved extension of the latest one seen (to cosign), something that cannot be proved
//! either way yet, or a second history (a fork)?
//!
//! Receipts travel store-and-forward, so they arrive late, twice, or out of order: a receipt
//! may carry a checkpoint older than the latest one seen (a redelivered receipt carries the
//! checkpoint of its first delivery), or a proof from a size the witness has since moved past
//! (several messages were sealed before the first receipt came back). Neither is evidence of
//! anything, so neither is reported; it is only not cosigned. Evidence is what the partner's own
//! signatures prove: two checkpoints of one size with different roots, or a consistency proof
//! the partner signed (in its receipt) that fails from a checkpoint the witness holds.
//!
//! A rollback (a partner presenting a checkpoint smaller than one it showed before) is not
//! reported on its own: a partner that lost entries and appends again shows, as soon as it
//! reaches a size the witness holds, a second root at that size, which is reported then.

use crate::checkpoint::Checkpoint;
use crate::merkle::{self, Hash};

/// What a witness has cosigned of one partner's log, as far as judging one new checkpoint
/// needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// The largest checkpoint cosigned so far, if any.
    pub latest: Option<Checkpoint>,
    /// The root cosigned at the presented checkpoint's size, if any.
    pub at_presented_size: Option<Hash>,
    /// The root cosigned at the size the presented proof starts from, if any.
    pub at_proof_base: Option<Hash>,
}

/// What the witness makes of a presented checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Already cosigned: the same size and root.
    Known,
    /// Larger than every checkpoint cosigned and proved consistent with the latest (or the
    /// first one seen of this partner): cosign it.
    Extends,
    /// Not proved consistent with the latest checkpoint cosigned, and not proved inconsistent
    /// with anything: neither cosigned nor reported.
    Unproven(String),
    /// Inconsistent with a checkpoint cosigned before: the partner showed two histories.
    Fork {
        /// The size of the checkpoint cosigned before that it contradicts.
        seen_size: u64,
        /// What does not fit.
        problem: String,
    },
}

/// Judges `presented`, carried with a consistency proof (32-byte hashes) from the partner's
/// tree at `from` entries (0: no proof), against what was `seen` of the same partner.
pub fn judge(seen: &Seen, presented: &Checkpoint, from: u64, proof: &[Vec<u8>]) -> Verdict {
    let size = presented.size;
    if size == 0 {
        // Nodes never sign one; cosigning it would leave no size to ask the next proof from.
        return Verdict::Unproven("a checkpoint of the empty log vouches for nothing".into());
    }
    if let Some(root) = seen.at_presented_size {
        return if root == presented.root {
            Verdict::Known
        } else {
            Verdict::Fork {
                seen_size: size,
                problem: format!("two checkpoints of size {size} with different roots"),
            }
        };
    }
    // A proof from a checkpoint the witness cosigned is checked even when the witness has
    // moved past it: the partner signed the receipt that carries it.
    let mut proved_from = None;
    if from > 0
        && from <= size
        && let Some(base) = seen.at_proof_base
    {
        let checked = proof_hashes(proof).and_then(|hashes| {
            merkle::verify_consistency(from, size, &base, &presented.root, &hashes)
                .map_err(|e| e.to_string())
        });
        match checked {
            Ok(()) => proved_from = Some(from),
            Err(problem) => {
                return Verdict::Fork {
                    seen_size: from,
                    problem: format!(
                        "the partner's proof that its checkpoint of size {size} extends the one \
                         of size {from} fails: {problem}"
                    ),
                };
            }
        }
    }
    match &seen.latest {
        // The first checkpoint seen of this partner: nothing to contradict. A checkpoint of the
        // empty log (cosigned by earlier versions) is a prefix of every tree.
        None => Verdict::Extends,
        Some(latest) if latest.size == 0 => Verdict::Extends,
        Some(latest) if size < latest.size => Verdict::Unproven(format!(
            "older than the checkpoint of size {} cosigned before",
            latest.size
        )),
        Some(latest) if proved_from == Some(latest.size) => Verdict::Extends,
        Some(latest) => Verdict::Unproven(format!(
            "no consistency proof from the checkpoint of size {} cosigned before{}",
            latest.size,
            proved_from.map_or_else(String::new, |f| format!(
                " (only from the earlier one of size {f})"
            ))
        )),
    }
}

/// The proof's hashes, refusing any that is not 32 bytes.
fn proof_hashes(proof: &[Vec<u8>]) -> Result<Vec<Hash>, String> {
    proof
        .iter()
        .map(|hash| {
            Hash::try_from(hash.as_slice())
                .map_err(|_| format!("a proof hash is {} bytes, not 32", hash.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MerkleTree;

    const ORIGIN: &str = "trm/test/astra@marri";

    fn tree(leaves: u64, tag: &str) -> MerkleTree {
        MerkleTree::from_leaves((0..leaves).map(|i| format!("{tag} entry {i}")))
    }

    fn at(tree: &MerkleTree, size: u64) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: tree.root_at(size).expect("size reached"),
        }
    }

    fn proof(tree: &MerkleTree, from: u64, to: u64) -> Vec<Vec<u8>> {
        tree.consistency_proof(from, to)
            .expect("sizes")
            .into_iter()
            .map(|h| h.to_vec())
            .collect()
    }

    /// What a witness that cosigned `tree` at `sizes` (the last is the latest) has seen, for a
    /// checkpoint of `presented` entries with a proof from `from`.
    fn seen(tree: &MerkleTree, sizes: &[u64], presented: u64, from: u64) -> Seen {
        let root = |size: u64| {
            sizes
                .contains(&size)
                .then(|| tree.root_at(size).expect("size reached"))
        };
        Seen {
            latest: sizes.last().map(|size| at(tree, *size)),
            at_presented_size: root(presented),
            at_proof_base: root(from),
        }
    }

    #[test]
    fn the_first_checkpoint_is_cosigned_and_a_proved_extension_of_the_latest_too() {
        let log = tree(20, "a");
        assert_eq!(
            judge(&Seen::default(), &at(&log, 5), 0, &[]),
            Verdict::Extends
        );
        assert_eq!(
            judge(
                &seen(&log, &[5], 12, 5),
                &at(&log, 12),
                5,
                &proof(&log, 5, 12)
            ),
            Verdict::Extends
        );
        assert_eq!(
            judge(&seen(&log, &[5, 12], 12, 5), &at(&log, 12), 5, &[]),
            Verdict::Known
        );
    }

    #[test]
    fn the_empty_log_is_never_cosigned_and_never_blocks_the_next_checkpoint() {
        let log = tree(20, "a");
        let verdict = judge(&Seen::default(), &at(&log, 0), 0, &[]);
        assert!(
            matches!(&verdict, Verdict::Unproven(why) if why.contains("empty log")),
            "{verdict:?}"
        );
        // A witness that cosigned the empty log (earlier versions did) cosigns the next one
        // without a proof: the empty tree is a prefix of every tree.
        assert_eq!(
            judge(&seen(&log, &[0], 5, 0), &at(&log, 5), 0, &[]),
            Verdict::Extends
        );
        // And then asks proofs from there on.
        assert!(matches!(
            judge(&seen(&log, &[0, 5], 9, 0), &at(&log, 9), 0, &[]),
            Verdict::Unproven(_)
        ));
    }

    #[test]
    fn what_cannot_be_proved_is_neither_cosigned_nor_reported() {
        let log = tree(20, "a");
        // No proof at all.
        assert!(matches!(
            judge(&seen(&log, &[5], 12, 0), &at(&log, 12), 0, &[]),
            Verdict::Unproven(_)
        ));
        // A good proof from an earlier checkpoint than the latest.
        let verdict = judge(
            &seen(&log, &[5, 12], 17, 5),
            &at(&log, 17),
            5,
            &proof(&log, 5, 17),
        );
        assert!(
            matches!(&verdict, Verdict::Unproven(why) if why.contains("size 5")),
            "{verdict:?}"
        );
        // An older checkpoint than the latest, never seen (a late receipt).
        assert!(matches!(
            judge(
                &seen(&log, &[5, 12], 9, 5),
                &at(&log, 9),
                5,
                &proof(&log, 5, 9)
            ),
            Verdict::Unproven(_)
        ));
        // A proof from a size the witness never cosigned is not the witness's business.
        assert!(matches!(
            judge(&seen(&log, &[5], 12, 7), &at(&log, 12), 7, &[vec![0; 32]]),
            Verdict::Unproven(_)
        ));
        // A proof from beyond the checkpoint (the partner is behind what the witness saw).
        assert!(matches!(
            judge(&seen(&log, &[12], 9, 12), &at(&log, 9), 12, &[]),
            Verdict::Unproven(_)
        ));
    }

    #[test]
    fn a_second_root_at_a_size_or_a_failing_proof_is_a_fork() {
        let log = tree(20, "a");
        let other = tree(20, "b");
        assert_eq!(
            judge(&seen(&log, &[5, 12], 12, 0), &at(&other, 12), 0, &[]),
            Verdict::Fork {
                seen_size: 12,
                problem: "two checkpoints of size 12 with different roots".into()
            }
        );
        // An older size too: a redelivered receipt never carries another root.
        assert!(matches!(
            judge(&seen(&log, &[5, 12], 5, 0), &at(&other, 5), 0, &[]),
            Verdict::Fork { seen_size: 5, .. }
        ));
        // The other history's own proof, or the real history's proof, from the size seen.
        for forged in [
            proof(&other, 12, 17),
            proof(&log, 12, 17),
            vec![vec![7; 31]],
        ] {
            assert!(
                matches!(
                    judge(&seen(&log, &[5, 12], 17, 12), &at(&other, 17), 12, &forged),
                    Verdict::Fork { seen_size: 12, .. }
                ),
                "{forged:?}"
            );
        }
        // Also from an older checkpoint seen, when the partner was asked for that one.
        assert!(matches!(
            judge(
                &seen(&log, &[5, 12], 17, 5),
                &at(&other, 17),
                5,
                &proof(&other, 5, 17)
            ),
            Verdict::Fork { seen_size: 5, .. }
        ));
    }
}
