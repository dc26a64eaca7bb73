//! RFC 6962 Merkle trees over the handover log, with inclusion and consistency proofs.
//!
//! A leaf is the exact stored bytes of one handover-log entry (the bytes
//! [`crate::entry::entry_hash`] also hashes), so the tree and the hash chain commit to the
//! same data. Hashing follows RFC 6962 §2.1 (RFC 9162 §2.1.1): a leaf hash is
//! `SHA-256(0x00 || leaf)`, an interior node `SHA-256(0x01 || left || right)`, the empty tree's
//! root is `SHA-256("")`, and a tree of `n > 1` leaves splits into a left subtree of the largest
//! power of two below `n` and a right subtree of the rest. Proofs and their verification follow
//! RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency).
//!
//! # Storage
//!
//! [`MerkleTree`] keeps the hash of every complete subtree: `levels[k][i]` is the root of leaves
//! `i·2^k .. (i+1)·2^k`. Appending a leaf adds its hash to level 0 and one hash to each level
//! above whose subtree it completes (two hashes per leaf, amortised). Every hash a proof needs,
//! for the current size or any earlier one, is then either stored or the root of a right-edge
//! range folded from at most 64 stored hashes: a proof costs O(log² n) hashing at worst and
//! reads nothing from disk. The price is memory, about 64 bytes per leaf (64 MB for a million
//! entries). The alternatives were worse for a log that grows by handovers, not packets:
//! recomputing from leaf hashes costs O(n) per proof, since a proof's siblings cover the whole
//! tree, and fetching interior hashes from storage would put reads on the proof path.
//! [`CompactRange`] keeps only the O(log n) right edge, for callers that need roots only.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node or a root.
pub type Hash = [u8; 32];

/// The root of the empty tree, `SHA-256("")`.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Why a proof could not be produced or did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The leaf index is not inside the tree size it is proved for.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size it was asked for.
        size: u64,
    },
    /// A proof was asked for a tree size this tree has not reached.
    #[error("tree size {size} is larger than the {held} leaves held")]
    SizeNotReached {
        /// The tree size asked for.
        size: u64,
        /// How many leaves the tree holds.
        held: u64,
    },
    /// A consistency proof was asked or checked from a larger tree to a smaller one.
    #[error("tree size {first} is larger than the later tree size {second}")]
    SizesReversed {
        /// The earlier tree size.
        first: u64,
        /// The later tree size.
        second: u64,
    },
    /// The proof has more or fewer hashes than the sizes call for.
    #[error("a proof of {len} hashes does not fit these tree sizes")]
    WrongProofLength {
        /// How many hashes the proof has.
        len: usize,
    },
    /// The proof does not lead to the expected root hash.
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
}

/// The leaf hash of `leaf`: `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of consecutive complete subtrees given left to right: each is the right sibling of
/// the union of those before it, so the fold runs from the right.
fn fold_right<'a>(subtrees: impl DoubleEndedIterator<Item = &'a Hash>) -> Hash {
    let mut from_right = subtrees.rev();
    let Some(last) = from_right.next() else {
        return EMPTY_ROOT;
    };
    from_right.fold(*last, |right, left| node_hash(left, &right))
}

/// The largest power of two strictly below `n`, for `n >= 2`: the size of the left subtree.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The right edge of a tree: enough to append leaves and compute the root, in O(log n) memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    /// How many leaves have been appended.
    size: u64,
    /// The roots of the complete subtrees that cover the leaves, largest (leftmost) first: one
    /// per set bit of `size`.
    right_edge: Vec<Hash>,
}

impl CompactRange {
    /// An empty range.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves have been appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf.
    pub fn push(&mut self, leaf: &[u8]) {
        self.push_leaf_hash(leaf_hash(leaf));
    }

    /// Appends a leaf by its leaf hash.
    pub fn push_leaf_hash(&mut self, hash: Hash) {
        let mut merged = hash;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self
                .right_edge
                .pop()
                .expect("the right edge holds one hash per set bit of the size");
            merged = node_hash(&left, &merged);
            size >>= 1;
        }
        self.right_edge.push(merged);
        self.size += 1;
    }

    /// The root hash of the leaves appended so far.
    pub fn root(&self) -> Hash {
        fold_right(self.right_edge.iter())
    }
}

/// A Merkle tree that keeps every complete subtree hash, so that roots and proofs for any size
/// it has reached cost O(log² n) hashing at worst (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    /// `levels[k][i]` is the root of the complete subtree over leaves `i·2^k .. (i+1)·2^k`;
    /// level 0 holds the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the tree over `leaves`, in order: for the handover log, the stored entry bytes.
    pub fn from_leaves<I>(leaves: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        Self::from_leaf_hashes(leaves.into_iter().map(|leaf| leaf_hash(leaf.as_ref())))
    }

    /// Builds the tree over leaves given by their leaf hashes, in order (for example
    /// `(0..n).map(|index| fetch(index))`).
    pub fn from_leaf_hashes(hashes: impl IntoIterator<Item = Hash>) -> Self {
        let hashes = hashes.into_iter();
        let mut tree = Self::new();
        tree.levels.push(Vec::with_capacity(hashes.size_hint().0));
        for hash in hashes {
            tree.push_leaf_hash(hash);
        }
        tree
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends a leaf and answers its index.
    pub fn push(&mut self, leaf: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(leaf))
    }

    /// Appends a leaf by its leaf hash and answers its index.
    pub fn push_leaf_hash(&mut self, hash: Hash) -> u64 {
        let index = self.size();
        let mut carry = hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(carry);
            if row.len() % 2 == 1 {
                break;
            }
            // An even count: the new hash completed a subtree one level up.
            let len = row.len();
            carry = node_hash(&row[len - 2], &row[len - 1]);
            level += 1;
        }
        index
    }

    /// The root hash of the whole tree.
    pub fn root(&self) -> Hash {
        self.range_root(0, self.size())
    }

    /// The root hash the tree had when it held `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_reached(size)?;
        Ok(self.range_root(0, size))
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162
    /// §2.1.3.1), nearest sibling first.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_reached(size)?;
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        let (mut start, mut end) = (0, size);
        while end - start > 1 {
            let split = start + split_point(end - start);
            if index < split {
                proof.push(self.range_root(split, end));
                end = split;
            } else {
                proof.push(self.range_root(start, split));
                start = split;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// The consistency proof from the tree of the first `first` leaves to the tree of the first
    /// `second` leaves (RFC 9162 §2.1.4.1). Empty when `first` is 0 or equals `second`.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_reached(second)?;
        if first > second {
            return Err(MerkleError::SizesReversed { first, second });
        }
        let mut proof = Vec::new();
        if first == 0 || first == second {
            return Ok(proof);
        }
        // SUBPROOF(m, D[start:end], b) unrolled: `first` always lies in `start + 1 ..= end`, and
        // `inside_old_tree` is b, true while the range still starts at leaf 0 of the old tree.
        let (mut start, mut end) = (0, second);
        let mut inside_old_tree = true;
        while first != end {
            let split = start + split_point(end - start);
            if first <= split {
                proof.push(self.range_root(split, end));
                end = split;
            } else {
                proof.push(self.range_root(start, split));
                start = split;
                inside_old_tree = false;
            }
        }
        if !inside_old_tree {
            proof.push(self.range_root(start, end));
        }
        proof.reverse();
        Ok(proof)
    }

    /// Refuses a size beyond the leaves held.
    fn check_reached(&self, size: u64) -> Result<(), MerkleError> {
        let held = self.size();
        if size > held {
            return Err(MerkleError::SizeNotReached { size, held });
        }
        Ok(())
    }

    /// The root of leaves `start..end`, folded from the complete subtrees that cover them (one
    /// per set bit of the length, largest first).
    ///
    /// Requires `end <= self.size()` and `start` to be a multiple of the largest power of two not
    /// above `end - start`: then each covering subtree is aligned and stored. Every range the
    /// RFC 6962 split produces is like that: a left part starts at a multiple of its own size, and
    /// a right part starts at a multiple of its left sibling's size, which is at least its own.
    fn range_root(&self, start: u64, end: u64) -> Hash {
        let mut subtrees = [EMPTY_ROOT; 64];
        let mut count = 0;
        let mut position = start;
        for level in (0..64u32).rev() {
            if (end - start) & (1 << level) != 0 {
                // `position >> level` indexes a subtree inside the first `end` leaves, which are
                // held, so it fits in `usize` and is stored.
                subtrees[count] = self.levels[level as usize][(position >> level) as usize];
                count += 1;
                position += 1 << level;
            }
        }
        fold_right(subtrees[..count].iter())
    }
}

/// Checks that `proof` proves leaf hash `leaf_hash` at `index` in the tree of size `size` with
/// root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let wrong_length = MerkleError::WrongProofLength { len: proof.len() };
    let (mut node, mut last) = (index, size - 1);
    let mut computed = *leaf_hash;
    for sibling in proof {
        if last == 0 {
            return Err(wrong_length);
        }
        if node & 1 == 1 || node == last {
            computed = node_hash(sibling, &computed);
            while node != 0 && node & 1 == 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            computed = node_hash(&computed, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(wrong_length);
    }
    if computed != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Checks that `proof` proves the tree of size `size1` with root `root1` is a prefix of the tree
/// of size `size2` with root `root2` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need equal roots and an empty proof. Size 0 needs the empty tree's root and an
/// empty proof: every tree extends the empty one.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    let wrong_length = MerkleError::WrongProofLength { len: proof.len() };
    if size1 > size2 {
        return Err(MerkleError::SizesReversed {
            first: size1,
            second: size2,
        });
    }
    if size1 == size2 || size1 == 0 {
        if !proof.is_empty() {
            return Err(wrong_length);
        }
        let expected = if size1 == 0 { &EMPTY_ROOT } else { root2 };
        if root1 != expected {
            return Err(MerkleError::RootMismatch);
        }
        return Ok(());
    }
    // When the old tree is a complete subtree, its root is the first hash of the path and the
    // proof leaves it out.
    let (seed, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        let Some((seed, rest)) = proof.split_first() else {
            return Err(wrong_length);
        };
        (seed, rest)
    };
    let (mut node, mut last) = (size1 - 1, size2 - 1);
    while node & 1 == 1 {
        node >>= 1;
        last >>= 1;
    }
    let (mut old, mut new) = (*seed, *seed);
    for hash in rest {
        if last == 0 {
            return Err(wrong_length);
        }
        if node & 1 == 1 || node == last {
            old = node_hash(hash, &old);
            new = node_hash(hash, &new);
            while node != 0 && node & 1 == 0 {
                node >>= 1;
                last >>= 1;
            }
        } else {
            new = node_hash(&new, hash);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(wrong_length);
    }
    if old != *root1 || new != *root2 {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Timings from [`measure_inclusion`].
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    /// How many leaves the tree had.
    pub leaves: u64,
    /// Time to build the tree from the leaves, leaf hashing included.
    pub build: Duration,
    /// Median time to produce one inclusion proof at the full tree size.
    pub prove_median: Duration,
    /// Median time to verify one inclusion proof.
    pub verify_median: Duration,
}

/// For benchmarks (build with `--release`): builds a tree of `leaves` synthetic 200-byte leaves,
/// about the size of a handover-log entry, then proves and verifies the inclusion of `samples`
/// leaves spread over it.
pub fn measure_inclusion(leaves: u64, samples: u64) -> Result<Measurement, MerkleError> {
    let synthetic = |index: u64| {
        let mut leaf = [0x5a; 200];
        leaf[..8].copy_from_slice(&index.to_be_bytes());
        leaf
    };
    let started = Instant::now();
    let tree = MerkleTree::from_leaves((0..leaves).map(synthetic));
    let build = started.elapsed();
    let root = tree.root();
    let (mut proving, mut verifying) = (Vec::new(), Vec::new());
    for sample in 0..samples {
        // A multiplicative hash spreads the samples over the whole tree.
        let index = sample.wrapping_mul(0x9e37_79b9_7f4a_7c15) % leaves.max(1);
        let leaf = leaf_hash(&synthetic(index));
        let started = Instant::now();
        let proof = tree.inclusion_proof(index, leaves)?;
        proving.push(started.elapsed());
        let started = Instant::now();
        verify_inclusion(&leaf, index, leaves, &proof, &root)?;
        verifying.push(started.elapsed());
    }
    Ok(Measurement {
        leaves,
        build,
        prove_median: median(&mut proving),
        verify_median: median(&mut verifying),
    })
}

/// The median of `times`, zero for none.
fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hex: &str) -> Hash {
        let bytes = hex::decode(hex).expect("test hashes are hex");
        bytes.try_into().expect("test hashes are 32 bytes")
    }

    fn hashes(hex: &[&str]) -> Vec<Hash> {
        hex.iter().map(|hex| h(hex)).collect()
    }

    // The classic Certificate Transparency test data (leaves, roots of sizes 1 to 8, inclusion
    // and consistency proofs), as published in transparency-dev/merkle `proof/verify_test.go`
    // and before it in google/trillian `merkle/log_verifier_test.go` and the CT C++
    // `merkle_tree_test.cc`. Leaf indexes here count from 0 (the Go tables count from 1).
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    /// (leaf index, tree size, proof).
    const INCLUSION: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    /// (first size, second size, proof).
    const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    fn known_tree() -> MerkleTree {
        MerkleTree::from_leaves(LEAVES.iter().map(|leaf| hex::decode(leaf).expect("hex")))
    }

    /// Altered forms of a valid inclusion proof, each of which must fail: the probes of
    /// transparency-dev/merkle `corruptInclusionProof`, plus a flipped bit in the leaf.
    #[allow(clippy::type_complexity)]
    fn altered_inclusions(
        leaf: Hash,
        index: u64,
        size: u64,
        proof: &[Hash],
        root: Hash,
    ) -> Vec<(&'static str, Hash, u64, u64, Vec<Hash>, Hash)> {
        let mut flipped_leaf = leaf;
        flipped_leaf[31] ^= 1;
        let mut flipped_root = root;
        flipped_root[0] ^= 0x80;
        let p = proof.to_vec();
        let mut probes = vec![
            ("leaf", flipped_leaf, index, size, p.clone(), root),
            ("root", leaf, index, size, p.clone(), flipped_root),
            ("empty root", leaf, index, size, p.clone(), EMPTY_ROOT),
            (
                "index - 1",
                leaf,
                index.wrapping_sub(1),
                size,
                p.clone(),
                root,
            ),
            ("index + 1", leaf, index + 1, size, p.clone(), root),
            ("index ^ 2", leaf, index ^ 2, size, p.clone(), root),
            ("size * 2", leaf, index, size * 2, p.clone(), root),
            ("size / 2", leaf, index, size / 2, p.clone(), root),
            (
                "trailing root",
                leaf,
                index,
                size,
                [&p[..], &[root]].concat(),
                root,
            ),
            (
                "preceding root",
                leaf,
                index,
                size,
                [&[root], &p[..]].concat(),
                root,
            ),
        ];
        for i in 0..p.len() {
            let mut changed = p.clone();
            changed[i][0] ^= 8;
            probes.push(("flipped proof bit", leaf, index, size, changed, root));
        }
        if let Some((_, shorter)) = p.split_last() {
            probes.push(("removed hash", leaf, index, size, shorter.to_vec(), root));
        }
        if p.len() > 1 {
            let inserted = [&p[..1], &[EMPTY_ROOT], &p[1..]].concat();
            probes.push(("inserted hash", leaf, index, size, inserted, root));
        }
        probes
    }

    fn assert_inclusion_holds(leaf: Hash, index: u64, size: u64, proof: &[Hash], root: Hash) {
        assert_eq!(verify_inclusion(&leaf, index, size, proof, &root), Ok(()));
        for (what, leaf, index, size, proof, root) in
            altered_inclusions(leaf, index, size, proof, root)
        {
            assert!(
                verify_inclusion(&leaf, index, size, &proof, &root).is_err(),
                "altered {what} verified (index {index}, size {size})"
            );
        }
    }

    /// Altered forms of a valid, non-trivial consistency proof, each of which must fail: the
    /// probes of transparency-dev/merkle `corruptConsistencyProof`.
    #[allow(clippy::type_complexity)]
    fn altered_consistencies(
        size1: u64,
        size2: u64,
        root1: Hash,
        root2: Hash,
        proof: &[Hash],
    ) -> Vec<(&'static str, u64, u64, Hash, Hash, Vec<Hash>)> {
        let mut wrong1 = root1;
        wrong1[5] ^= 1;
        let mut wrong2 = root2;
        wrong2[5] ^= 1;
        let p = proof.to_vec();
        let mut probes = vec![
            ("size1 - 1", size1 - 1, size2, root1, root2, p.clone()),
            ("size1 + 1", size1 + 1, size2, root1, root2, p.clone()),
            ("size1 ^ 2", size1 ^ 2, size2, root1, root2, p.clone()),
            ("size2 * 2", size1, size2 * 2, root1, root2, p.clone()),
            ("size2 / 2", size1, size2 / 2, root1, root2, p.clone()),
            ("root1", size1, size2, wrong1, root2, p.clone()),
            ("root2", size1, size2, root1, wrong2, p.clone()),
            ("swapped roots", size1, size2, root2, root1, p.clone()),
            ("empty proof", size1, size2, root1, root2, Vec::new()),
            (
                "trailing root1",
                size1,
                size2,
                root1,
                root2,
                [&p[..], &[root1]].concat(),
            ),
            (
                "trailing root2",
                size1,
                size2,
                root1,
                root2,
                [&p[..], &[root2]].concat(),
            ),
            (
                "preceding root1",
                size1,
                size2,
                root1,
                root2,
                [&[root1], &p[..]].concat(),
            ),
            (
                "preceding root2",
                size1,
                size2,
                root1,
                root2,
                [&[root2], &p[..]].concat(),
            ),
            (
                "preceding proof[0]",
                size1,
                size2,
                root1,
                root2,
                [&p[..1], &p[..]].concat(),
            ),
            (
                "truncated",
                size1,
                size2,
                root1,
                root2,
                p[..p.len() - 1].to_vec(),
            ),
        ];
        for i in 0..p.len() {
            let mut changed = p.clone();
            changed[i][0] ^= 16;
            probes.push(("flipped proof bit", size1, size2, root1, root2, changed));
        }
        probes
    }

    fn assert_consistency_holds(size1: u64, size2: u64, root1: Hash, root2: Hash, proof: &[Hash]) {
        assert_eq!(
            verify_consistency(size1, size2, &root1, &root2, proof),
            Ok(())
        );
        if proof.is_empty() {
            return;
        }
        for (what, size1, size2, root1, root2, proof) in
            altered_consistencies(size1, size2, root1, root2, proof)
        {
            assert!(
                verify_consistency(size1, size2, &root1, &root2, &proof).is_err(),
                "altered {what} verified ({size1} to {size2})"
            );
        }
    }

    #[test]
    fn hashes_match_rfc_6962() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(MerkleTree::new().root(), EMPTY_ROOT);
        assert_eq!(CompactRange::new().root(), EMPTY_ROOT);
        // The leaf hash of the empty leaf is the root of the one-leaf tree.
        assert_eq!(leaf_hash(b""), h(ROOTS[0]));
    }

    #[test]
    fn known_roots() {
        let tree = known_tree();
        let mut range = CompactRange::new();
        for (size, (leaf, root)) in (1..).zip(LEAVES.iter().zip(ROOTS)) {
            range.push(&hex::decode(leaf).expect("hex"));
            assert_eq!(tree.root_at(size), Ok(h(root)), "size {size}");
            assert_eq!(range.root(), h(root), "size {size}");
        }
        assert_eq!(tree.root(), h(ROOTS[7]));
    }

    #[test]
    fn known_inclusion_proofs() {
        let tree = known_tree();
        for (index, size, proof) in INCLUSION {
            let proof = hashes(proof);
            assert_eq!(tree.inclusion_proof(index, size), Ok(proof.clone()));
            let leaf = leaf_hash(&hex::decode(LEAVES[index as usize]).expect("hex"));
            assert_inclusion_holds(leaf, index, size, &proof, h(ROOTS[size as usize - 1]));
        }
    }

    #[test]
    fn known_consistency_proofs() {
        let tree = known_tree();
        for (size1, size2, proof) in CONSISTENCY {
            let proof = hashes(proof);
            assert_eq!(tree.consistency_proof(size1, size2), Ok(proof.clone()));
            let root1 = h(ROOTS[size1 as usize - 1]);
            let root2 = h(ROOTS[size2 as usize - 1]);
            assert_consistency_holds(size1, size2, root1, root2, &proof);
        }
    }

    /// The trivial cases of transparency-dev/merkle `TestVerifyConsistency`, with one
    /// difference: from size 0 this module also wants the empty tree's root.
    #[test]
    fn trivial_consistency() {
        let (a, b) = (h(ROOTS[0]), h(ROOTS[1]));
        assert_eq!(
            verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
            Ok(())
        );
        assert_eq!(verify_consistency(0, 5, &EMPTY_ROOT, &b, &[]), Ok(()));
        assert_eq!(verify_consistency(1, 1, &a, &a, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 5, &a, &b, &[]),
            Err(MerkleError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(1, 1, &a, &b, &[]),
            Err(MerkleError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(1, 1, &a, &a, &[a]),
            Err(MerkleError::WrongProofLength { len: 1 })
        );
        assert_eq!(
            verify_consistency(0, 1, &EMPTY_ROOT, &a, &[a]),
            Err(MerkleError::WrongProofLength { len: 1 })
        );
        assert_eq!(
            verify_consistency(2, 1, &a, &b, &[]),
            Err(MerkleError::SizesReversed {
                first: 2,
                second: 1
            })
        );
        assert_eq!(
            verify_consistency(1, 2, &a, &b, &[]),
            Err(MerkleError::WrongProofLength { len: 0 })
        );
        assert_eq!(
            verify_inclusion(&a, 0, 0, &[], &a),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
    }

    #[test]
    fn proofs_are_refused_beyond_the_tree() {
        let tree = known_tree();
        assert_eq!(
            tree.inclusion_proof(8, 8),
            Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            tree.inclusion_proof(0, 9),
            Err(MerkleError::SizeNotReached { size: 9, held: 8 })
        );
        assert_eq!(
            tree.consistency_proof(3, 9),
            Err(MerkleError::SizeNotReached { size: 9, held: 8 })
        );
        assert_eq!(
            tree.consistency_proof(5, 4),
            Err(MerkleError::SizesReversed {
                first: 5,
                second: 4
            })
        );
        assert_eq!(
            tree.root_at(9),
            Err(MerkleError::SizeNotReached { size: 9, held: 8 })
        );
        assert_eq!(tree.consistency_proof(0, 8), Ok(Vec::new()));
        assert_eq!(tree.consistency_proof(8, 8), Ok(Vec::new()));
    }

    /// The RFC 6962 §2.1 definitions, written as literally as possible over a slice of leaf
    /// hashes: the oracle the stored-subtree algorithms are checked against.
    mod rfc {
        use super::super::*;

        fn k(n: usize) -> usize {
            split_point(n as u64) as usize
        }

        pub fn mth(d: &[Hash]) -> Hash {
            match d.len() {
                0 => EMPTY_ROOT,
                1 => d[0],
                n => node_hash(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
            }
        }

        pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
            let n = d.len();
            if n == 1 {
                return Vec::new();
            }
            if m < k(n) {
                [path(m, &d[..k(n)]), vec![mth(&d[k(n)..])]].concat()
            } else {
                [path(m - k(n), &d[k(n)..]), vec![mth(&d[..k(n)])]].concat()
            }
        }

        pub fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
            if m == 0 || m == d.len() {
                return Vec::new();
            }
            subproof(m, d, true)
        }

        fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
            let n = d.len();
            if m == n {
                return if b { Vec::new() } else { vec![mth(d)] };
            }
            if m <= k(n) {
                [subproof(m, &d[..k(n)], b), vec![mth(&d[k(n)..])]].concat()
            } else {
                [subproof(m - k(n), &d[k(n)..], false), vec![mth(&d[..k(n)])]].concat()
            }
        }
    }

    fn synthetic_leaf(index: u64) -> Vec<u8> {
        format!("handover log entry {index}").into_bytes()
    }

    #[test]
    fn matches_the_rfc_definitions_up_to_64_leaves() {
        let leaves: Vec<Hash> = (0..64).map(|i| leaf_hash(&synthetic_leaf(i))).collect();
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        for n in 1..=leaves.len() {
            let d = &leaves[..n];
            let size = n as u64;
            assert_eq!(tree.root_at(size), Ok(rfc::mth(d)), "root of {n}");
            for m in 0..n {
                assert_eq!(tree.inclusion_proof(m as u64, size), Ok(rfc::path(m, d)));
            }
            for m in 0..=n {
                assert_eq!(tree.consistency_proof(m as u64, size), Ok(rfc::proof(m, d)));
            }
        }
    }

    /// Every tree size up to 2,000: the incremental tree, a rebuilt tree and a compact range agree
    /// on every root; inclusion proofs verify and consistency proofs verify. Up to size 100 that
    /// is every leaf and every earlier size, each proof also failing when altered; beyond, to
    /// keep the debug run short, a spread of leaves and earlier sizes, with the altered probes
    /// for the first and last.
    #[test]
    fn every_size_up_to_2000() {
        const MAX: u64 = 2000;
        const EXHAUSTIVE: u64 = 100;
        let mut tree = MerkleTree::new();
        let mut range = CompactRange::new();
        let mut roots = vec![EMPTY_ROOT];
        for size in 1..=MAX {
            let leaf = synthetic_leaf(size - 1);
            assert_eq!(tree.push(&leaf), size - 1);
            range.push(&leaf);
            let root = tree.root();
            assert_eq!(range.root(), root, "size {size}");
            roots.push(root);

            let edge = |i: u64| i == 0 || i + 1 >= size;
            let probed = |i: u64| size <= EXHAUSTIVE || edge(i) || i.is_multiple_of(89);
            let altered = |i: u64| size <= EXHAUSTIVE || edge(i);
            for index in (0..size).filter(|&i| probed(i)) {
                let proof = tree
                    .inclusion_proof(index, size)
                    .expect("index is in the tree");
                let leaf = leaf_hash(&synthetic_leaf(index));
                if altered(index) {
                    assert_inclusion_holds(leaf, index, size, &proof, root);
                } else {
                    assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
                }
            }
            for first in (0..=size).filter(|&m| probed(m)) {
                let proof = tree
                    .consistency_proof(first, size)
                    .expect("sizes are in order");
                let old = roots[first as usize];
                if altered(first) {
                    assert_consistency_holds(first, size, old, root, &proof);
                } else {
                    assert_eq!(verify_consistency(first, size, &old, &root, &proof), Ok(()));
                }
            }
        }
        let rebuilt = MerkleTree::from_leaves((0..MAX).map(synthetic_leaf));
        for size in 0..=MAX {
            assert_eq!(
                rebuilt.root_at(size),
                Ok(roots[size as usize]),
                "size {size}"
            );
        }
    }

    #[test]
    fn measure_reports_medians() {
        let measured = measure_inclusion(1000, 9).expect("the samples are in the tree");
        assert_eq!(measured.leaves, 1000);
        assert!(measured.prove_median <= measured.build);
    }
}
