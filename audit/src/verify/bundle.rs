//! One bundle: decoding it, opening its checkpoints with its node's keys from the directory,
//! and one pass over its entries that checks the hash chain, computes the Merkle tree's root
//! at every size a checkpoint of that node names, and keeps what the cross-check needs.
//!
//! The pass runs the chain (decoding and hashing each entry) and the tree (leaf and node
//! hashes) on two threads, since both read every entry and neither needs the other.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use prost::Message;
use trm_log::checkpoint::{self, Checkpoint, NoteVerifier, SignatureKind};
use trm_log::entry::{self, ChainError};
use trm_log::merkle::{CompactRange, Hash};
use trm_proto::addr::NodeAddr;
use trm_proto::pb;

use super::progress::Progress;
use super::{Finding, FindingKind, Trust};

/// The bundle format this verifier reads.
pub const FORMAT: u32 = trm_log::BUNDLE_FORMAT;

/// How many entries the tree pass takes between progress reports.
const PROGRESS_STEP: usize = 1 << 14;

/// A checkpoint whose note is validly signed by the bundle's node.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    /// Origin, size and root.
    pub checkpoint: Checkpoint,
    /// The signed note, as exported.
    pub note: String,
}

/// A partner's checkpoint that the bundle's node witnessed: signed by the partner and cosigned
/// by the node, both with their directory keys.
#[derive(Clone, Debug)]
pub struct Witnessed {
    /// The partner whose log it is.
    pub partner: String,
    /// Origin, size and root.
    pub checkpoint: Checkpoint,
    /// The cosigned note, as exported.
    pub note: String,
    /// When the node cosigned it, Unix seconds.
    pub cosigned_at: u64,
}

/// Fork evidence the bundle's node recorded: two checkpoints, both signed by the partner, that
/// the node found not to fit together.
#[derive(Clone, Debug)]
pub struct ReportedFork {
    /// The partner.
    pub partner: String,
    /// The checkpoint witnessed before, and its note.
    pub seen: SignedCheckpoint,
    /// The checkpoint the partner's receipt carried, and its note.
    pub presented: SignedCheckpoint,
    /// What the node found.
    pub problem: String,
}

/// A decoded bundle whose checkpoints have been opened.
#[derive(Debug)]
pub struct Opened {
    /// The bundle's file name.
    pub name: String,
    /// The node whose log it is.
    pub node: String,
    /// When the node says it exported it.
    pub exported_at_ms: u64,
    /// How many checkpoint notes it carries, valid or not.
    pub notes: usize,
    /// The checkpoints validly signed by the node, as listed.
    pub checkpoints: Vec<SignedCheckpoint>,
    /// The entries' stored bytes, entry i at i.
    pub entries: Vec<Vec<u8>>,
    /// The partners' checkpoints the node witnessed, validly signed and cosigned.
    pub witnessed: Vec<Witnessed>,
    /// The fork evidence the node recorded whose notes are validly signed by the partner.
    pub forks: Vec<ReportedFork>,
}

/// A handover as one log recorded it: what the cross-check compares.
#[derive(Clone, Debug)]
pub struct Record {
    /// The entry's index (its own `index` field).
    pub index: u64,
    /// SENT, DELIVERED, RECEIVED or REFUSED.
    pub event: pb::LogEvent,
    /// The message.
    pub message_id: String,
    /// The other organisation.
    pub counterparty: String,
    /// The envelope digest.
    pub digest: Vec<u8>,
    /// When, by the logging node's clock.
    pub at_ms: u64,
}

/// What one pass over a bundle's entries found.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// The first break in the hash chain: the entry named and what is wrong.
    pub chain: Option<(u64, String)>,
    /// The tree's root at each size asked for that the bundle reaches.
    pub roots: BTreeMap<u64, Hash>,
    /// The handovers with nodes whose bundles are present.
    pub records: Vec<Record>,
    /// The latest entry time.
    pub last_at_ms: u64,
}

/// Decodes a bundle and opens its checkpoints with its node's keys. A bundle that cannot be
/// attributed to a node of this federation is refused with the finding that says why; other
/// problems are returned beside the opened bundle.
pub fn open(
    name: &str,
    bytes: &[u8],
    trust: &Trust,
) -> Result<(Opened, Vec<Finding>), Box<Finding>> {
    let unreadable = |node: &str, detail: String| {
        Box::new(Finding::new(FindingKind::Unreadable, node, name, detail))
    };
    let bundle = pb::LogBundle::decode(bytes)
        .map_err(|e| unreadable("", format!("not a handover-log bundle: {e}")))?;
    if bundle.format != FORMAT {
        return Err(unreadable(
            &bundle.node,
            format!(
                "bundle format {} (this verifier reads {FORMAT})",
                bundle.format
            ),
        ));
    }
    if bundle.federation != trust.federation() {
        return Err(unreadable(
            &bundle.node,
            format!(
                "the bundle is of federation {:?}, not {:?}",
                bundle.federation,
                trust.federation()
            ),
        ));
    }
    let address: NodeAddr = bundle
        .node
        .parse()
        .map_err(|e| unreadable(&bundle.node, format!("{e}")))?;
    let node = address.to_string();
    let mut findings = Vec::new();
    let mut checkpoints = Vec::new();
    match trust.keys(&node) {
        None => findings.push(Finding::new(
            FindingKind::UnknownNode,
            &node,
            name,
            "the node is not in the directory: its checkpoints cannot be checked",
        )),
        Some(keys) => {
            let origin = checkpoint::node_origin(trust.federation(), &address)
                .map_err(|e| unreadable(&node, e.to_string()))?;
            let verifiers: Vec<NoteVerifier> = keys
                .iter()
                .filter_map(|key| NoteVerifier::new(&origin, SignatureKind::Ed25519, *key).ok())
                .collect();
            for (position, note) in bundle.checkpoints.iter().enumerate() {
                match open_checkpoint(note, &origin, &verifiers) {
                    Ok(checkpoint) => checkpoints.push(SignedCheckpoint {
                        checkpoint,
                        note: note.clone(),
                    }),
                    Err(problem) => findings.push(Finding::new(
                        FindingKind::BadCheckpoint,
                        &node,
                        name,
                        format!("checkpoint note {position}: {problem}"),
                    )),
                }
            }
            if checkpoints.is_empty() && !bundle.entries.is_empty() {
                findings.push(Finding::new(
                    FindingKind::Unsigned,
                    &node,
                    name,
                    format!(
                        "no checkpoint signed by the node covers its {} entries",
                        bundle.entries.len()
                    ),
                ));
            }
        }
    }
    let (witnessed, forks) = match trust.keys(&node) {
        Some(_) => super::witnessed::open(name, &node, &bundle, trust, &mut findings),
        None => (Vec::new(), Vec::new()),
    };
    Ok((
        Opened {
            name: name.to_owned(),
            node,
            exported_at_ms: bundle.exported_at_ms,
            notes: bundle.checkpoints.len(),
            checkpoints,
            entries: bundle.entries,
            witnessed,
            forks,
        },
        findings,
    ))
}

/// Opens one checkpoint note: signed by the node's key, for the node's log.
fn open_checkpoint(
    note: &str,
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<Checkpoint, String> {
    let opened = checkpoint::open(note, verifiers).map_err(|e| e.to_string())?;
    let checkpoint = opened.checkpoint();
    if checkpoint.origin != origin || !opened.signed_by(origin) {
        return Err(format!(
            "it is a checkpoint of {:?}, not of this node's log {origin:?}",
            checkpoint.origin
        ));
    }
    Ok(checkpoint.clone())
}

/// One pass over a bundle's entries: the chain, the roots at `sizes`, and the records of
/// handovers with the nodes in `present`.
pub fn scan(
    bundle: &Opened,
    sizes: &BTreeSet<u64>,
    present: &HashSet<String>,
    progress: &Progress,
) -> Scan {
    let (roots, (chain, records, last_at_ms)) = std::thread::scope(|threads| {
        let tree = threads.spawn(|| tree_roots(&bundle.entries, sizes, progress));
        let chain = chain_and_records(&bundle.entries, present);
        // The tree thread only hashes; it cannot panic short of a bug, which should surface.
        let roots = match tree.join() {
            Ok(roots) => roots,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (roots, chain)
    });
    Scan {
        chain,
        roots,
        records,
        last_at_ms,
    }
}

/// The tree's root at each of `sizes` that `entries` reach.
fn tree_roots(
    entries: &[Vec<u8>],
    sizes: &BTreeSet<u64>,
    progress: &Progress,
) -> BTreeMap<u64, Hash> {
    let mut roots = BTreeMap::new();
    let mut wanted = sizes.iter().copied().peekable();
    let mut range = CompactRange::new();
    for chunk in entries.chunks(PROGRESS_STEP) {
        for entry in chunk {
            while let Some(size) = wanted.next_if(|size| *size == range.size()) {
                roots.insert(size, range.root());
            }
            range.push(entry);
        }
        progress.advance(chunk.len() as u64);
    }
    while let Some(size) = wanted.next_if(|size| *size == range.size()) {
        roots.insert(size, range.root());
    }
    roots
}

/// The chain check, and the records and latest time of every entry that decodes (after a
/// break too, so the cross-check still sees the rest of the log).
fn chain_and_records(
    entries: &[Vec<u8>],
    present: &HashSet<String>,
) -> (Option<(u64, String)>, Vec<Record>, u64) {
    let mut records = Vec::new();
    let mut last_at_ms = 0;
    let mut visited = 0;
    let mut keep = |entry: &pb::LogEntry| {
        last_at_ms = last_at_ms.max(entry.at_ms);
        if let Some(record) = record(entry, present) {
            records.push(record);
        }
    };
    let result = entry::verify_entries(entries, |entry| {
        visited += 1;
        keep(entry);
    });
    let chain = match result {
        Ok(_) => None,
        Err(ChainError::Broken { index, problem }) => Some((index, problem)),
    };
    if chain.is_some() {
        for bytes in &entries[visited.min(entries.len())..] {
            if let Ok(entry) = pb::LogEntry::decode(bytes.as_slice()) {
                keep(&entry);
            }
        }
    }
    (chain, records, last_at_ms)
}

/// The record of a handover with a node whose bundle is present.
fn record(entry: &pb::LogEntry, present: &HashSet<String>) -> Option<Record> {
    let event = pb::LogEvent::try_from(entry.event).ok()?;
    let relevant = matches!(
        event,
        pb::LogEvent::Sent
            | pb::LogEvent::Delivered
            | pb::LogEvent::Received
            | pb::LogEvent::Refused
    );
    if !relevant || !present.contains(&entry.counterparty) {
        return None;
    }
    Some(Record {
        index: entry.index,
        event,
        message_id: entry.message_id.clone(),
        counterparty: entry.counterparty.clone(),
        digest: entry.envelope_digest.clone(),
        at_ms: entry.at_ms,
    })
}

/// The message id of entry `index` of `bundle`, if the bundle holds it at its place and it
/// decodes (after a removal, the entry at that place is another one).
pub fn message_id(bundle: &Opened, index: u64) -> Option<String> {
    let bytes = bundle.entries.get(usize::try_from(index).ok()?)?;
    pb::LogEntry::decode(bytes.as_slice())
        .ok()
        .filter(|entry| entry.index == index)
        .map(|entry| entry.message_id)
}
