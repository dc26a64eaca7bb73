//! `trm audit verify` on synthetic bundles: what it refuses, what it accepts, and how it names
//! what it finds. The integration tests run it on real nodes' exports.

use std::collections::HashMap;

use ed25519_dalek::SigningKey;
use prost::Message;
use sha2::Digest as _;
use trm_log::checkpoint::{self, Checkpoint};
use trm_log::entry::entry_hash;
use trm_log::merkle::MerkleTree;
use trm_proto::pb;

use super::*;

const FEDERATION: &str = "fed";
const ALPHA: &str = "alpha@hub";
const BETA: &str = "beta@hub";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn trust(keys: &[(&str, Vec<SigningKey>)]) -> Trust {
    Trust::new(
        FEDERATION,
        keys.iter()
            .map(|(node, keys)| {
                (
                    (*node).to_owned(),
                    keys.iter().map(SigningKey::verifying_key).collect(),
                )
            })
            .collect::<HashMap<_, _>>(),
    )
}

/// `entries` chained as a node stores them.
fn chain(entries: Vec<pb::LogEntry>) -> Vec<Vec<u8>> {
    let mut previous = [0u8; 32];
    entries
        .into_iter()
        .enumerate()
        .map(|(index, mut entry)| {
            entry.index = index as u64;
            entry.prev_hash = previous.to_vec();
            let bytes = entry.encode_to_vec();
            previous = entry_hash(&bytes);
            bytes
        })
        .collect()
}

fn plain(n: u64) -> Vec<pb::LogEntry> {
    (0..n)
        .map(|i| pb::LogEntry {
            at_ms: 1_000 + i,
            event: pb::LogEvent::Accepted.into(),
            message_id: format!("{i:032x}"),
            counterparty: "gamma@hub".into(),
            ..Default::default()
        })
        .collect()
}

/// A checkpoint note over the first `size` of `entries`, signed by `key` for `node`.
fn note(node: &str, entries: &[Vec<u8>], size: usize, key: &SigningKey) -> String {
    let tree = MerkleTree::from_leaves(&entries[..size]);
    let origin =
        checkpoint::node_origin(FEDERATION, &node.parse().expect("address")).expect("origin");
    checkpoint::sign(
        &Checkpoint {
            origin: origin.clone(),
            size: tree.size(),
            root: tree.root(),
        },
        &origin,
        key,
    )
    .expect("signed")
}

fn bundle(node: &str, entries: Vec<Vec<u8>>, checkpoints: Vec<String>) -> Vec<u8> {
    pb::LogBundle {
        format: bundle::FORMAT,
        federation: FEDERATION.into(),
        node: node.into(),
        exported_at_ms: 10_000,
        checkpoints,
        entries,
        ..Default::default()
    }
    .encode_to_vec()
}

fn run(trust: &Trust, bundles: Vec<Vec<u8>>) -> Report {
    verify(
        bundles
            .into_iter()
            .enumerate()
            .map(|(i, b)| (format!("b{i}"), b))
            .collect(),
        trust,
    )
}

fn found(report: &Report) -> Vec<(FindingKind, &str, Option<u64>)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind, f.node.as_str(), f.entry))
        .collect()
}

#[test]
fn a_signed_intact_bundle_verifies_alone_and_twice() {
    let entries = chain(plain(10));
    let notes = vec![
        note(ALPHA, &entries, 4, &key(1)),
        note(ALPHA, &entries, 10, &key(1)),
    ];
    let b = bundle(ALPHA, entries, notes);
    let trust = trust(&[(ALPHA, vec![key(1)])]);
    let report = run(&trust, vec![b.clone()]);
    assert!(report.ok, "{}", report.human());
    assert_eq!(report.bundles[0].latest_checkpoint, Some(10));
    assert!(run(&trust, vec![b.clone(), b]).ok);
}

#[test]
fn bundles_that_cannot_be_attributed_or_trusted_are_findings() {
    let entries = chain(plain(3));
    let signed = note(ALPHA, &entries, 3, &key(1));
    let trust = trust(&[(ALPHA, vec![key(1)])]);

    let garbage = run(&trust, vec![b"\xff\xff not a bundle".to_vec()]);
    assert_eq!(found(&garbage), [(FindingKind::Unreadable, "", None)]);

    let mut other =
        pb::LogBundle::decode(bundle(ALPHA, entries.clone(), vec![]).as_slice()).expect("bundle");
    other.federation = "elsewhere".into();
    let report = run(&trust, vec![other.encode_to_vec()]);
    assert_eq!(found(&report), [(FindingKind::Unreadable, ALPHA, None)]);

    let stranger = note(ALPHA, &entries, 3, &key(9));
    let report = run(&trust, vec![bundle(ALPHA, entries.clone(), vec![stranger])]);
    assert_eq!(
        found(&report),
        [
            (FindingKind::BadCheckpoint, ALPHA, None),
            (FindingKind::Unsigned, ALPHA, None)
        ]
    );

    // Beta's checkpoint in Alpha's bundle is not Alpha's.
    let trust_both = self::trust(&[(ALPHA, vec![key(1)]), (BETA, vec![key(2)])]);
    let borrowed = note(BETA, &entries, 3, &key(2));
    let report = run(
        &trust_both,
        vec![bundle(ALPHA, entries.clone(), vec![borrowed])],
    );
    assert!(found(&report).contains(&(FindingKind::BadCheckpoint, ALPHA, None)));

    let report = run(
        &trust,
        vec![bundle(BETA, entries.clone(), vec![signed.clone()])],
    );
    assert_eq!(found(&report), [(FindingKind::UnknownNode, BETA, None)]);

    assert!(run(&trust, vec![bundle(ALPHA, entries, vec![signed])]).ok);
}

#[test]
fn the_previous_key_is_accepted_while_the_directory_lists_it() {
    let entries = chain(plain(3));
    let old = note(ALPHA, &entries, 3, &key(1));
    let rotating = trust(&[(ALPHA, vec![key(2), key(1)])]);
    assert!(
        run(
            &rotating,
            vec![bundle(ALPHA, entries.clone(), vec![old.clone()])]
        )
        .ok
    );
    let rotated = trust(&[(ALPHA, vec![key(2)])]);
    assert!(!run(&rotated, vec![bundle(ALPHA, entries, vec![old])]).ok);
}

#[test]
fn a_rewrite_is_bounded_by_the_checkpoints_the_entries_still_reproduce() {
    let original = chain(plain(10));
    let notes = vec![
        note(ALPHA, &original, 5, &key(1)),
        note(ALPHA, &original, 8, &key(1)),
        note(ALPHA, &original, 9, &key(1)),
    ];
    // Entry 8 is changed and the chain remade after it, so only the checkpoints tell.
    let mut changed = plain(10);
    changed[8].at_ms += 1;
    let report = run(
        &trust(&[(ALPHA, vec![key(1)])]),
        vec![bundle(ALPHA, chain(changed), notes.clone())],
    );
    assert_eq!(
        found(&report),
        [(FindingKind::RewrittenEntries, ALPHA, Some(8))],
        "{}",
        report.human()
    );
    assert_eq!(
        report.findings[0].message_id.as_deref(),
        Some(&*format!("{:032x}", 8))
    );
    // Entry 6: between the checkpoints of 5 and 8, and no more is known.
    let mut changed = plain(10);
    changed[6].at_ms += 1;
    let report = run(
        &trust(&[(ALPHA, vec![key(1)])]),
        vec![bundle(ALPHA, chain(changed), notes)],
    );
    let kinds: Vec<_> = found(&report);
    assert!(
        kinds.contains(&(FindingKind::RewrittenEntries, ALPHA, None)),
        "{kinds:?}"
    );
    assert!(
        report.findings[0].detail.contains("between 5 and 7"),
        "{}",
        report.human()
    );
}

#[test]
fn a_received_message_missing_from_the_senders_log_is_named() {
    let sent = pb::LogEntry {
        at_ms: 2_000,
        event: pb::LogEvent::Sent.into(),
        message_id: "m1".into(),
        counterparty: BETA.into(),
        envelope_digest: vec![7; 32],
        ..Default::default()
    };
    let received = |id: &str| pb::LogEntry {
        at_ms: 3_000,
        event: pb::LogEvent::Received.into(),
        message_id: id.into(),
        counterparty: ALPHA.into(),
        envelope_digest: vec![7; 32],
        ..Default::default()
    };
    let alpha = chain(vec![sent]);
    let beta = chain(vec![received("m1"), received("m2")]);
    let trust = trust(&[(ALPHA, vec![key(1)]), (BETA, vec![key(2)])]);
    let report = run(
        &trust,
        vec![
            bundle(ALPHA, alpha.clone(), vec![note(ALPHA, &alpha, 1, &key(1))]),
            bundle(BETA, beta.clone(), vec![note(BETA, &beta, 2, &key(2))]),
        ],
    );
    assert_eq!(report.cross_check.matched, 1);
    assert_eq!(
        found(&report),
        [(FindingKind::MissingCounterpart, ALPHA, None)]
    );
    let finding = &report.findings[0];
    assert_eq!(finding.message_id.as_deref(), Some("m2"));
    assert_eq!(
        finding.counterpart,
        Some(Counterpart {
            node: BETA.into(),
            entry: 1
        })
    );
    let json = report.json();
    assert_eq!(json["findings"][0]["kind"], "missing_counterpart");
    assert_eq!(json["ok"], false);
}

#[test]
fn bundles_of_one_node_that_differ_beyond_their_checkpoints_are_a_fork() {
    let first = chain(plain(6));
    let mut other = plain(6);
    other[4].at_ms += 1;
    let second = chain(other);
    let signed = note(ALPHA, &first, 3, &key(1));
    assert_eq!(signed, note(ALPHA, &second, 3, &key(1)));
    let trust = trust(&[(ALPHA, vec![key(1)])]);
    let report = run(
        &trust,
        vec![
            bundle(ALPHA, first.clone(), vec![signed.clone()]),
            bundle(ALPHA, second, vec![signed.clone()]),
        ],
    );
    assert_eq!(
        found(&report),
        [(FindingKind::Fork, ALPHA, Some(4))],
        "{}",
        report.human()
    );
    assert!(report.findings[0].evidence.is_empty());
    // A shorter export of the same history is no fork.
    let shorter = first[..5].to_vec();
    let report = run(
        &trust,
        vec![
            bundle(ALPHA, first, vec![signed.clone()]),
            bundle(ALPHA, shorter, vec![signed]),
        ],
    );
    assert!(report.ok, "{}", report.human());
}

/// `note` cosigned by `witness` with `key` at Unix second 1.
fn cosigned(note: &str, witness: &str, key: &SigningKey) -> String {
    let origin =
        checkpoint::node_origin(FEDERATION, &witness.parse().expect("address")).expect("origin");
    let partner = note
        .split('\n')
        .next()
        .and_then(|origin| origin.rsplit('/').next())
        .expect("origin");
    let verifier = checkpoint::NoteVerifier::new(
        &checkpoint::node_origin(FEDERATION, &partner.parse().expect("address")).expect("origin"),
        checkpoint::SignatureKind::Ed25519,
        key_of(partner).verifying_key(),
    )
    .expect("verifier");
    let opened = checkpoint::open(note, &[verifier]).expect("signed by the partner");
    checkpoint::cosign(&opened, &origin, key, 1).expect("cosigned")
}

/// The keys the witnessing test gives each node.
fn key_of(node: &str) -> SigningKey {
    key(if node == ALPHA { 1 } else { 2 })
}

/// `node`'s bundle with `witnessed` notes and `forks`.
fn witness_bundle(node: &str, witnessed: Vec<String>, forks: Vec<pb::WitnessFork>) -> Vec<u8> {
    let entries = chain(plain(3));
    let own = note(node, &entries, 3, &key_of(node));
    let mut bundle =
        pb::LogBundle::decode(bundle(node, entries, vec![own]).as_slice()).expect("a bundle");
    bundle.witnessed = witnessed;
    bundle.forks = forks;
    bundle.encode_to_vec()
}

#[test]
fn witnessed_checkpoints_must_be_cosigned_and_fit_the_partner_s_own_log() {
    let trust = trust(&[(ALPHA, vec![key(1)]), (BETA, vec![key(2)])]);
    let alpha = chain(plain(6));
    let alpha_bundle = bundle(ALPHA, alpha.clone(), vec![note(ALPHA, &alpha, 6, &key(1))]);
    // Beta cosigned alpha's checkpoints of sizes 2 and 4: consistent with alpha's bundle.
    let good: Vec<String> = [2, 4]
        .iter()
        .map(|size| cosigned(&note(ALPHA, &alpha, *size, &key(1)), BETA, &key(2)))
        .collect();
    let report = run(
        &trust,
        vec![
            alpha_bundle.clone(),
            witness_bundle(BETA, good.clone(), vec![]),
        ],
    );
    assert!(report.ok, "{}", report.human());

    // A cosignature by another key than beta's is not beta's.
    let forged = cosigned(&note(ALPHA, &alpha, 4, &key(1)), BETA, &key(9));
    let report = run(&trust, vec![witness_bundle(BETA, vec![forged], vec![])]);
    assert_eq!(
        found(&report),
        [(FindingKind::BadWitnessRecord, BETA, None)],
        "{}",
        report.human()
    );

    // Alpha showed beta another entry 4: its bundle is named at that entry, after size 4
    // which beta also cosigned.
    let mut other = plain(6);
    other[4].message_id = "f".repeat(32);
    let other = chain(other);
    let shown = cosigned(&note(ALPHA, &other, 5, &key(1)), BETA, &key(2));
    let report = run(
        &trust,
        vec![
            alpha_bundle.clone(),
            witness_bundle(
                BETA,
                vec![good[0].clone(), good[1].clone(), shown.clone()],
                vec![],
            ),
        ],
    );
    assert_eq!(
        found(&report),
        [(FindingKind::Fork, ALPHA, Some(4))],
        "{}",
        report.human()
    );

    // Fork evidence beta recorded is re-checked: a genuine one is a finding, one whose proof
    // verifies is not evidence of anything.
    let fork = |seen: &str, presented: &str, proof: Vec<Vec<u8>>| {
        let receipt = pb::Receipt {
            signer: ALPHA.into(),
            checkpoint: presented.to_owned(),
            consistency_from: 2,
            consistency_proof: proof,
            ..Default::default()
        };
        pb::WitnessFork {
            node: ALPHA.into(),
            seen: seen.to_owned(),
            presented: presented.to_owned(),
            problem: "the proof fails".into(),
            detected_at_ms: 1,
            receipt: Some(trm_proto::receipt::sign(&receipt, &key(1))),
            receipt_private: Vec::new(),
        }
    };
    let proof = |entries: &[Vec<u8>]| -> Vec<Vec<u8>> {
        MerkleTree::from_leaves(entries)
            .consistency_proof(2, 5)
            .expect("sizes")
            .into_iter()
            .map(|h| h.to_vec())
            .collect()
    };
    let mut third = plain(6);
    third[1].message_id = "e".repeat(32);
    let third = chain(third);
    let genuine = fork(&good[0], &note(ALPHA, &third, 5, &key(1)), proof(&third));
    let report = run(
        &trust,
        vec![witness_bundle(BETA, good.clone(), vec![genuine])],
    );
    assert_eq!(
        found(&report),
        [(FindingKind::Fork, ALPHA, None)],
        "{}",
        report.human()
    );
    assert_eq!(report.findings[0].evidence.len(), 2);
    let bogus = fork(&good[0], &note(ALPHA, &alpha, 5, &key(1)), proof(&alpha));
    let report = run(
        &trust,
        vec![witness_bundle(BETA, good.clone(), vec![bogus])],
    );
    assert_eq!(
        found(&report),
        [(FindingKind::BadWitnessRecord, BETA, None)],
        "{}",
        report.human()
    );

    // Receipts carry the checkpoint and proof in a private part the signature commits to: the
    // witness keeps the decrypted part, and the audit checks it against the signed digest.
    let private_fork = |presented: &str, proof: Vec<Vec<u8>>, kept: Option<Vec<u8>>| {
        let private = pb::ReceiptPrivate {
            checkpoint: presented.to_owned(),
            consistency_from: 2,
            consistency_proof: proof,
            salt: vec![9; 16],
            ..Default::default()
        }
        .encode_to_vec();
        let receipt = pb::Receipt {
            signer: ALPHA.into(),
            private_sha256: sha2::Sha256::digest(&private).to_vec(),
            ..Default::default()
        };
        pb::WitnessFork {
            node: ALPHA.into(),
            seen: good[0].clone(),
            presented: presented.to_owned(),
            problem: "the proof fails".into(),
            detected_at_ms: 1,
            receipt: Some(trm_proto::receipt::sign(&receipt, &key(1))),
            receipt_private: kept.unwrap_or(private),
        }
    };
    let genuine = private_fork(&note(ALPHA, &third, 5, &key(1)), proof(&third), None);
    let report = run(
        &trust,
        vec![witness_bundle(BETA, good.clone(), vec![genuine])],
    );
    assert_eq!(
        found(&report),
        [(FindingKind::Fork, ALPHA, None)],
        "{}",
        report.human()
    );
    // A private part other than the one signed is no evidence.
    let swapped = private_fork(
        &note(ALPHA, &third, 5, &key(1)),
        proof(&third),
        Some(b"another part".to_vec()),
    );
    let report = run(&trust, vec![witness_bundle(BETA, good, vec![swapped])]);
    assert_eq!(
        found(&report),
        [(FindingKind::BadWitnessRecord, BETA, None)],
        "{}",
        report.human()
    );
}
