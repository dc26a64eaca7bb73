//! Each node's entries against every checkpoint it signed, after the hash chain's own verdict:
//! entries removed (a checkpoint covers more than the bundle holds), entries rewritten (the
//! entries do not hash to the root the node signed over them), and forks (the node signed two
//! checkpoints that are not consistent: it showed different histories to different people).
//!
//! A fork is proved by two checkpoints the node signed, its notes being the evidence: either the
//! same size with different roots, or a checkpoint that a bundle's entries reproduce (so the
//! node vouched for that history) while those entries do not reproduce a smaller checkpoint
//! the node also signed. Two bundles of one node that are each whole by their own account but
//! hold different entries beyond what any checkpoint covers are reported as a fork too, without
//! signed evidence.

use std::collections::HashSet;

use trm_log::merkle::Hash;

use super::bundle::{self, Opened, Scan, SignedCheckpoint};
use super::{Finding, FindingKind};

/// The removed, rewritten and forked histories in `bundles` (with their `scans`, in order).
pub fn check(bundles: &[Opened], scans: &[Scan]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (bundle, scan) in bundles.iter().zip(scans) {
        if let Some((index, problem)) = &scan.chain {
            let message_id = bundle::message_id(bundle, *index);
            findings.push(
                Finding::new(
                    FindingKind::BrokenChain,
                    &bundle.node,
                    &bundle.name,
                    problem,
                )
                .at(*index)
                .message(message_id.as_deref()),
            );
        }
        findings.extend(own_checkpoints(bundle, scan));
    }
    let nodes: HashSet<&str> = bundles.iter().map(|b| b.node.as_str()).collect();
    for node in nodes {
        let of_node: Vec<(&Opened, &Scan)> = bundles
            .iter()
            .zip(scans)
            .filter(|(b, _)| b.node == node)
            .collect();
        findings.extend(forks(&of_node));
    }
    findings
}

/// Whether `scan` reproduces `checkpoint`: the bundle reaches its size with its root.
fn reproduces(scan: &Scan, checkpoint: &SignedCheckpoint) -> bool {
    scan.roots.get(&checkpoint.checkpoint.size) == Some(&checkpoint.checkpoint.root)
}

/// The bundle's entries against the checkpoints it carries.
fn own_checkpoints(bundle: &Opened, scan: &Scan) -> Vec<Finding> {
    let held = bundle.entries.len() as u64;
    let chain_break = scan.chain.as_ref().map(|(index, _)| *index);
    let mut findings = Vec::new();
    let mut seen: HashSet<(u64, Hash)> = HashSet::new();
    for signed in &bundle.checkpoints {
        let checkpoint = &signed.checkpoint;
        if !seen.insert((checkpoint.size, checkpoint.root)) || reproduces(scan, signed) {
            continue;
        }
        let finding = if checkpoint.size > held {
            let first_missing = chain_break.filter(|index| *index < held).unwrap_or(held);
            Finding::new(
                FindingKind::MissingEntries,
                &bundle.node,
                &bundle.name,
                format!(
                    "the node signed a checkpoint of {} entries but the bundle holds {held}: \
                     entries were removed{}",
                    checkpoint.size,
                    if first_missing < held {
                        format!(", the first at entry {first_missing}")
                    } else {
                        format!(" from entry {held} on")
                    }
                ),
            )
            .at(first_missing)
        } else {
            // The largest smaller checkpoint these entries still reproduce bounds the change.
            let intact = bundle
                .checkpoints
                .iter()
                .filter(|c| c.checkpoint.size < checkpoint.size && reproduces(scan, c))
                .map(|c| c.checkpoint.size)
                .max()
                .unwrap_or(0);
            // The chain's break names the entry exactly; otherwise only a range is known.
            let changed = chain_break
                .filter(|index| *index < checkpoint.size)
                .or((checkpoint.size.saturating_sub(intact) == 1).then_some(intact));
            let range = match changed {
                Some(entry) => format!("entry {entry} was changed"),
                None => format!(
                    "an entry between {intact} and {} was changed (the cross-check may name it)",
                    checkpoint.size.saturating_sub(1)
                ),
            };
            let finding = Finding::new(
                FindingKind::RewrittenEntries,
                &bundle.node,
                &bundle.name,
                format!(
                    "the first {} entries do not hash to the root of the checkpoint the node \
                     signed over them: {range}",
                    checkpoint.size
                ),
            );
            match changed {
                Some(entry) => finding.at(entry),
                None => finding,
            }
        };
        let message_id = finding
            .entry
            .and_then(|entry| bundle::message_id(bundle, entry));
        let mut finding = finding.message(message_id.as_deref());
        finding.evidence.push(signed.note.clone());
        findings.push(finding);
    }
    findings
}

/// The first entry in which two bundles differ, below `upto`.
fn first_difference(a: &Opened, b: &Opened, upto: u64) -> Option<u64> {
    let upto = usize::try_from(upto).unwrap_or(usize::MAX);
    (0..upto.min(a.entries.len().max(b.entries.len())))
        .find(|&i| a.entries.get(i) != b.entries.get(i))
        .map(|i| i as u64)
}

/// A bundle of the node that reproduces `checkpoint`, if any.
fn reproducing<'a>(
    bundles: &[(&'a Opened, &Scan)],
    checkpoint: &SignedCheckpoint,
) -> Option<&'a Opened> {
    bundles
        .iter()
        .find(|(_, scan)| reproduces(scan, checkpoint))
        .map(|(bundle, _)| *bundle)
}

/// Pairs of checkpoints of one node that are not consistent.
fn forks(bundles: &[(&Opened, &Scan)]) -> Vec<Finding> {
    let mut all: Vec<(&SignedCheckpoint, &Opened)> = Vec::new();
    for (bundle, _) in bundles {
        for signed in &bundle.checkpoints {
            let known = all.iter().any(|(c, _)| {
                c.checkpoint.size == signed.checkpoint.size
                    && c.checkpoint.root == signed.checkpoint.root
            });
            if !known {
                all.push((signed, bundle));
            }
        }
    }
    let mut findings = Vec::new();
    let mut reported: HashSet<(u64, Hash, u64, Hash)> = HashSet::new();
    let mut report = |earlier: &SignedCheckpoint,
                      later: &SignedCheckpoint,
                      bundle: &Opened,
                      entry: Option<u64>,
                      detail: String| {
        let key = (
            earlier.checkpoint.size,
            earlier.checkpoint.root,
            later.checkpoint.size,
            later.checkpoint.root,
        );
        if !reported.insert(key) {
            return;
        }
        let mut finding = Finding::new(FindingKind::Fork, &bundle.node, &bundle.name, detail);
        finding.entry = entry;
        finding = finding.message(entry.and_then(|e| bundle::message_id(bundle, e)).as_deref());
        finding.evidence = vec![earlier.note.clone(), later.note.clone()];
        findings.push(finding);
    };
    // The same size with two roots: the notes alone prove it.
    for (i, (first, first_bundle)) in all.iter().enumerate() {
        for (second, second_bundle) in &all[i + 1..] {
            if first.checkpoint.size != second.checkpoint.size {
                continue;
            }
            let a = reproducing(bundles, first).unwrap_or(first_bundle);
            let b = reproducing(bundles, second).unwrap_or(second_bundle);
            let entry = first_difference(a, b, first.checkpoint.size);
            report(
                first,
                second,
                b,
                entry,
                format!(
                    "the node signed two checkpoints of size {} with different roots (in {} and {}){}",
                    first.checkpoint.size,
                    first_bundle.name,
                    second_bundle.name,
                    differs_at(entry)
                ),
            );
        }
    }
    // A history the node vouched for that does not extend a smaller checkpoint it signed.
    for (bundle, scan) in bundles {
        for later in bundle.checkpoints.iter().filter(|c| reproduces(scan, c)) {
            for (earlier, earlier_bundle) in &all {
                let size = earlier.checkpoint.size;
                if size >= later.checkpoint.size
                    || scan.roots.get(&size) == Some(&earlier.checkpoint.root)
                {
                    continue;
                }
                let entry = reproducing(bundles, earlier)
                    .and_then(|other| first_difference(other, bundle, size));
                report(
                    earlier,
                    later,
                    bundle,
                    entry,
                    format!(
                        "the node signed a checkpoint of size {size} (in {}) and one of size {} \
                         (in {}) that does not extend it: two histories{}",
                        earlier_bundle.name,
                        later.checkpoint.size,
                        bundle.name,
                        differs_at(entry)
                    ),
                );
            }
        }
    }
    if findings.is_empty() {
        findings.extend(unsigned_divergence(bundles));
    }
    findings
}

/// Whether a bundle is whole by its own account: an intact chain, and every checkpoint it
/// carries reproduced by its entries.
fn self_consistent(bundle: &Opened, scan: &Scan) -> bool {
    scan.chain.is_none() && bundle.checkpoints.iter().all(|c| reproduces(scan, c))
}

/// Two self-consistent bundles of one node whose entries differ where both have them, in a part
/// no checkpoint proves: still two histories, shown by the same node, though not signed.
fn unsigned_divergence(bundles: &[(&Opened, &Scan)]) -> Vec<Finding> {
    let whole: Vec<&Opened> = bundles
        .iter()
        .filter(|(bundle, scan)| self_consistent(bundle, scan))
        .map(|(bundle, _)| *bundle)
        .collect();
    let mut findings = Vec::new();
    for (i, first) in whole.iter().enumerate() {
        for second in &whole[i + 1..] {
            let both = first.entries.len().min(second.entries.len()) as u64;
            let Some(entry) = first_difference(first, second, both) else {
                continue;
            };
            let message_id = bundle::message_id(second, entry);
            findings.push(
                Finding::new(
                    FindingKind::Fork,
                    &second.node,
                    &second.name,
                    format!(
                        "{} and {} hold different entries from entry {entry} on, beyond what the \
                         node's checkpoints cover (so its signatures do not prove it)",
                        first.name, second.name
                    ),
                )
                .at(entry)
                .message(message_id.as_deref()),
            );
        }
    }
    findings
}

/// ", first different at entry N", when known.
fn differs_at(entry: Option<u64>) -> String {
    entry.map_or_else(String::new, |e| format!(", first different at entry {e}"))
}
