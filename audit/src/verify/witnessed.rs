//! Witnessing, offline: the partner checkpoints each node cosigned and the forks each node
//! recorded (`LogBundle.witnessed` and `forks`, see the node's `witness` module).
//!
//! A witnessed checkpoint counts only if it is signed by the partner and cosigned by the
//! bundle's node, each with its directory keys. Then every one must be reproduced by each of the
//! partner's own bundles that reaches its size (the partner showed the witness the history it
//! keeps), and, when no bundle of the partner is present, no two witnesses may hold checkpoints
//! of one size with different roots. A checkpoint larger than the partner's bundle, cosigned
//! before that bundle was exported, means entries were removed. Fork evidence is checked again
//! (both notes signed by the partner; the same size with two roots, or the partner's signed
//! receipt with a consistency proof that fails) and reported.
//!
//! Where the partner's bundle departs from what a witness cosigned, the witness's earlier
//! cosigned checkpoints (each proved a prefix of the next before it was cosigned) that the
//! bundle still reproduces bound the first different entry.

use std::collections::HashMap;

use prost::Message as _;
use trm_log::checkpoint::{self, Checkpoint, NoteVerifier, SignatureKind};
use trm_log::merkle::{self, Hash};
use trm_proto::addr::NodeAddr;
use trm_proto::pb;

use super::bundle::{self, Opened, ReportedFork, Scan, SignedCheckpoint, Witnessed};
use super::{Finding, FindingKind, Trust};

/// The log-signature verifiers of `node` (origin = key name), from the directory.
fn log_verifiers(trust: &Trust, node: &NodeAddr) -> Option<(String, Vec<NoteVerifier>)> {
    let origin = checkpoint::node_origin(trust.federation(), node).ok()?;
    let verifiers = trust
        .keys(node.as_str())?
        .iter()
        .filter_map(|key| NoteVerifier::new(&origin, SignatureKind::Ed25519, *key).ok())
        .collect();
    Some((origin, verifiers))
}

/// The partner whose log a note is of, from its origin `trm/<federation>/<partner>`.
fn partner_of(trust: &Trust, note: &str) -> Result<NodeAddr, String> {
    let checkpoint = Checkpoint::from_note(note).map_err(|e| e.to_string())?;
    checkpoint
        .origin
        .strip_prefix(&format!("trm/{}/", trust.federation()))
        .and_then(|node| node.parse().ok())
        .ok_or_else(|| {
            format!(
                "{:?} is not the log of a node of this federation",
                checkpoint.origin
            )
        })
}

/// Opens `note` as a checkpoint signed by `partner` (and by whatever else `extra` holds).
fn open_signed(
    trust: &Trust,
    partner: &NodeAddr,
    note: &str,
    extra: &[NoteVerifier],
) -> Result<(checkpoint::VerifiedCheckpoint, String), String> {
    let (origin, mut verifiers) = log_verifiers(trust, partner)
        .ok_or_else(|| format!("{partner} is not in the directory"))?;
    verifiers.extend_from_slice(extra);
    let opened = checkpoint::open(note, &verifiers).map_err(|e| e.to_string())?;
    if opened.checkpoint().origin != origin || !opened.signed_by(&origin) {
        return Err(format!("it is not signed by {partner}"));
    }
    Ok((opened, origin))
}

/// Opens the witnessed checkpoints and fork evidence in the bundle of `node` (listed in the
/// directory); what does not verify becomes a finding.
pub fn open(
    name: &str,
    node: &str,
    bundle: &pb::LogBundle,
    trust: &Trust,
    findings: &mut Vec<Finding>,
) -> (Vec<Witnessed>, Vec<ReportedFork>) {
    let bad = |detail: String| Finding::new(FindingKind::BadWitnessRecord, node, name, detail);
    // The node's cosignatures are under its own log's origin, with its directory keys.
    let witness_name = node
        .parse::<NodeAddr>()
        .ok()
        .and_then(|address| checkpoint::node_origin(trust.federation(), &address).ok())
        .unwrap_or_default();
    let witness_verifiers: Vec<NoteVerifier> = trust
        .keys(node)
        .unwrap_or_default()
        .iter()
        .filter_map(|key| NoteVerifier::new(&witness_name, SignatureKind::CosignatureV1, *key).ok())
        .collect();
    let mut witnessed = Vec::new();
    for (position, note) in bundle.witnessed.iter().enumerate() {
        let opened = partner_of(trust, note).and_then(|partner| {
            let (opened, _) = open_signed(trust, &partner, note, &witness_verifiers)?;
            let cosigned_at = opened
                .signatures()
                .iter()
                .find(|s| s.name == witness_name)
                .and_then(|s| s.cosigned_at)
                .ok_or_else(|| format!("it is not cosigned by {node}"))?;
            Ok(Witnessed {
                partner: partner.to_string(),
                checkpoint: opened.checkpoint().clone(),
                note: note.clone(),
                cosigned_at,
            })
        });
        match opened {
            Ok(w) => witnessed.push(w),
            Err(problem) => {
                findings.push(bad(format!("witnessed checkpoint {position}: {problem}")))
            }
        }
    }
    let mut forks = Vec::new();
    for (position, fork) in bundle.forks.iter().enumerate() {
        match open_fork(trust, fork) {
            Ok(fork) => forks.push(fork),
            Err(problem) => findings.push(bad(format!("fork evidence {position}: {problem}"))),
        }
    }
    (witnessed, forks)
}

/// `receipt` with the checkpoint and proof of its private part, when its signature commits to
/// one (`private_sha256`): the part the witness kept must be that one. Receipts from before the
/// private part carry them in clear.
fn with_private_part(mut receipt: pb::Receipt, private: &[u8]) -> Result<pb::Receipt, String> {
    if receipt.private_sha256.is_empty() {
        return Ok(receipt);
    }
    if !trm_proto::receipt::private_matches(&receipt, private) {
        return Err(
            "the receipt's private part kept with the evidence is not the one it signed".into(),
        );
    }
    let private = pb::ReceiptPrivate::decode(private)
        .map_err(|e| format!("the receipt's private part does not decode: {e}"))?;
    receipt.checkpoint = private.checkpoint;
    receipt.consistency_from = private.consistency_from;
    receipt.consistency_proof = private.consistency_proof;
    Ok(receipt)
}

/// Checks fork evidence again: both notes signed by the partner, and either the same size with
/// two roots, or the partner's signed receipt whose consistency proof between them fails.
fn open_fork(trust: &Trust, fork: &pb::WitnessFork) -> Result<ReportedFork, String> {
    let partner: NodeAddr = fork.node.parse().map_err(|_| "no valid partner address")?;
    let open = |note: &str| -> Result<SignedCheckpoint, String> {
        let (opened, _) = open_signed(trust, &partner, note, &[])?;
        Ok(SignedCheckpoint {
            checkpoint: opened.checkpoint().clone(),
            note: note.to_owned(),
        })
    };
    let seen = open(&fork.seen).map_err(|e| format!("the checkpoint seen: {e}"))?;
    let presented = open(&fork.presented).map_err(|e| format!("the checkpoint presented: {e}"))?;
    let (a, b) = (&seen.checkpoint, &presented.checkpoint);
    if a.size == b.size {
        if a.root == b.root {
            return Err("both checkpoints are the same".into());
        }
    } else {
        let keys = trust.keys(partner.as_str()).unwrap_or_default();
        let receipt = fork
            .receipt
            .as_ref()
            .ok_or("no receipt carries the proof")
            .and_then(|signed| {
                trm_proto::receipt::verify(signed, keys).map_err(|_| "the receipt does not verify")
            })?
            .receipt;
        let receipt = with_private_part(receipt, &fork.receipt_private)?;
        if receipt.checkpoint != fork.presented || receipt.consistency_from != a.size {
            return Err("the receipt does not carry this checkpoint and proof".into());
        }
        let proof: Option<Vec<Hash>> = receipt
            .consistency_proof
            .iter()
            .map(|h| Hash::try_from(h.as_slice()).ok())
            .collect();
        let holds = a.size > b.size
            || proof.is_some_and(|proof| {
                merkle::verify_consistency(a.size, b.size, &a.root, &b.root, &proof).is_ok()
            });
        if holds {
            return Err("the partner's consistency proof verifies: no fork".into());
        }
    }
    Ok(ReportedFork {
        partner: partner.to_string(),
        seen,
        presented,
        problem: fork.problem.clone(),
    })
}

/// The sizes of `node`'s checkpoints that other nodes witnessed or reported, so that `node`'s
/// bundles compute their roots at those sizes.
pub fn sizes(bundles: &[Opened], node: &str) -> Vec<u64> {
    let mut sizes = Vec::new();
    for bundle in bundles {
        sizes.extend(
            bundle
                .witnessed
                .iter()
                .filter(|w| w.partner == node)
                .map(|w| w.checkpoint.size),
        );
        for fork in bundle.forks.iter().filter(|f| f.partner == node) {
            sizes.extend([fork.seen.checkpoint.size, fork.presented.checkpoint.size]);
        }
    }
    sizes
}

/// The witnessing findings over all bundles (with their `scans`, in order).
pub fn check(bundles: &[Opened], scans: &[Scan]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let of_node = |node: &str| -> Vec<(&Opened, &Scan)> {
        bundles
            .iter()
            .zip(scans)
            .filter(|(b, _)| b.node == node)
            .collect()
    };
    for witness in bundles {
        for fork in &witness.forks {
            findings.push(reported_fork(witness, fork, &of_node(&fork.partner)));
        }
        for cosigned in &witness.witnessed {
            for (partner, scan) in of_node(&cosigned.partner) {
                findings.extend(against_bundle(witness, cosigned, partner, scan));
            }
        }
    }
    findings.extend(between_witnesses(bundles, &of_node));
    findings
}

/// Where `partner`'s bundle departs from `checkpoint`, which `witness` cosigned or held: the
/// largest earlier checkpoint of the partner the witness cosigned that the bundle reproduces
/// bounds it. Answers the entry when it is exact, and words for the detail.
fn departure(
    witness: &Opened,
    partner: &Opened,
    scan: &Scan,
    checkpoint: &Checkpoint,
) -> (Option<u64>, String) {
    let intact = witness
        .witnessed
        .iter()
        .filter(|w| w.partner == partner.node && w.checkpoint.size < checkpoint.size)
        .filter(|w| scan.roots.get(&w.checkpoint.size) == Some(&w.checkpoint.root))
        .map(|w| w.checkpoint.size)
        .max()
        .unwrap_or(0);
    let last = checkpoint.size.saturating_sub(1);
    if intact == last {
        (Some(intact), format!(", first different at entry {intact}"))
    } else {
        (
            None,
            format!(", first different between entries {intact} and {last}"),
        )
    }
}

/// A fork the witness recorded, as a finding about the partner.
fn reported_fork(witness: &Opened, fork: &ReportedFork, partners: &[(&Opened, &Scan)]) -> Finding {
    let mut where_ = (None, String::new());
    for (partner, scan) in partners {
        let reproduces = |c: &Checkpoint| scan.roots.get(&c.size) == Some(&c.root);
        if reproduces(&fork.presented.checkpoint) && !reproduces(&fork.seen.checkpoint) {
            where_ = departure(witness, partner, scan, &fork.seen.checkpoint);
            break;
        }
    }
    let (entry, at) = where_;
    let mut finding = Finding::new(
        FindingKind::Fork,
        &fork.partner,
        &witness.name,
        format!(
            "{} recorded that {} showed it two histories: checkpoints of size {} and {} signed by \
             {}: {}{at}",
            witness.node,
            fork.partner,
            fork.seen.checkpoint.size,
            fork.presented.checkpoint.size,
            fork.partner,
            fork.problem
        ),
    );
    finding.entry = entry;
    finding.evidence = vec![fork.seen.note.clone(), fork.presented.note.clone()];
    finding
}

/// A checkpoint `witness` cosigned against one of the partner's own bundles.
fn against_bundle(
    witness: &Opened,
    cosigned: &Witnessed,
    partner: &Opened,
    scan: &Scan,
) -> Option<Finding> {
    let checkpoint = &cosigned.checkpoint;
    let held = partner.entries.len() as u64;
    if checkpoint.size > held {
        // Only if the partner exported after it showed the witness that checkpoint.
        if cosigned.cosigned_at.saturating_mul(1000) > partner.exported_at_ms {
            return None;
        }
        let mut finding = Finding::new(
            FindingKind::MissingEntries,
            &partner.node,
            &partner.name,
            format!(
                "{} showed {} a checkpoint of {} entries (cosigned in {}) before exporting a \
                 bundle of {held}: entries were removed from entry {held} on",
                partner.node, witness.node, checkpoint.size, witness.name
            ),
        )
        .at(held);
        finding.evidence = vec![cosigned.note.clone()];
        return Some(finding);
    }
    if scan.roots.get(&checkpoint.size) == Some(&checkpoint.root) {
        return None;
    }
    let (entry, at) = departure(witness, partner, scan, checkpoint);
    let mut finding = Finding::new(
        FindingKind::Fork,
        &partner.node,
        &partner.name,
        format!(
            "{} showed {} a checkpoint of size {} (cosigned in {}) that its log does not \
             reproduce: two histories{at}",
            partner.node, witness.node, checkpoint.size, witness.name
        ),
    );
    finding.entry = entry;
    finding = finding.message(
        entry
            .and_then(|e| bundle::message_id(partner, e))
            .as_deref(),
    );
    finding.evidence = vec![cosigned.note.clone()];
    // The partner's own signature over the other history, when its bundle carries one.
    if let Some(own) = partner
        .checkpoints
        .iter()
        .filter(|c| c.checkpoint.size >= checkpoint.size)
        .find(|c| scan.roots.get(&c.checkpoint.size) == Some(&c.checkpoint.root))
    {
        finding.evidence.push(own.note.clone());
    }
    Some(finding)
}

/// For partners with no bundle present: two witnesses holding checkpoints of one size with
/// different roots.
fn between_witnesses<'a>(
    bundles: &'a [Opened],
    of_node: &dyn Fn(&str) -> Vec<(&'a Opened, &'a Scan)>,
) -> Vec<Finding> {
    let mut by_size: HashMap<(&str, u64), Vec<(&Opened, &Witnessed)>> = HashMap::new();
    for witness in bundles {
        for cosigned in &witness.witnessed {
            by_size
                .entry((cosigned.partner.as_str(), cosigned.checkpoint.size))
                .or_default()
                .push((witness, cosigned));
        }
    }
    let mut keys: Vec<_> = by_size.keys().copied().collect();
    keys.sort();
    let mut findings = Vec::new();
    for key in keys {
        let (partner, size) = key;
        if !of_node(partner).is_empty() {
            continue;
        }
        let held = &by_size[&key];
        let Some((first_witness, first)) = held.first() else {
            continue;
        };
        let Some((other_witness, other)) = held
            .iter()
            .find(|(_, w)| w.checkpoint.root != first.checkpoint.root)
        else {
            continue;
        };
        let mut finding = Finding::new(
            FindingKind::Fork,
            partner,
            &other_witness.name,
            format!(
                "{} and {} cosigned checkpoints of {partner} of size {size} with different roots \
                 (in {} and {}): {partner} showed them two histories",
                first_witness.node, other_witness.node, first_witness.name, other_witness.name
            ),
        );
        finding.evidence = vec![first.note.clone(), other.note.clone()];
        findings.push(finding);
    }
    findings
}
