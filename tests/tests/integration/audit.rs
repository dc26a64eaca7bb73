//! Checkpoints, log export and offline audit (`trm log checkpoint`, `trm log export`, `trm audit
//! verify`): clean bundles verify; an entry removed, an entry rewritten and two histories shown
//! to two partners are each found and named; a bundle holds no case content.

use std::path::{Path, PathBuf};
use std::time::Duration;

use prost::Message;
use trm_audit::verify::{self as audit_verify, Finding, FindingKind, Report, Trust};
use trm_cli::audit;
use trm_cli::commands::{Output, exit};
use trm_dev::local::LocalFederation;
use trm_log::checkpoint::{self, Checkpoint};
use trm_log::merkle::MerkleTree;
use trm_node::handover_log;
use trm_node::store::danger::{
    danger_overwrite_log_entry, danger_overwrite_log_head, danger_read_log_entry,
};
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER, CANARY, LEFOE};

const WAIT: Duration = Duration::from_secs(30);
const FEDERATION: &str = "trm-test";
const QUIET: Output = Output { json: false };

/// A federation where LEFÖ-IBF sent Astra two referrals and Astra sent one back, all delivered.
/// Answers the three message ids in order.
pub(super) async fn exchanged(root: &Path) -> anyhow::Result<(LocalFederation, Vec<String>)> {
    let mut fed = fixtures::federation(root).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut ids = Vec::new();
    for (from, to) in [(LEFOE, ASTRA), (LEFOE, ASTRA), (ASTRA, LEFOE)] {
        let client = fed.client(from).await?;
        let sent = client
            .clone()
            .send(fixtures::referral(to)?)
            .await?
            .into_inner();
        fixtures::wait_for_step(&client, &sent.message_id, "delivered", WAIT).await?;
        ids.push(sent.message_id);
    }
    Ok((fed, ids))
}

/// Exports `node`'s log with `trm log export` (signing a checkpoint first) to `dir/<name>`.
pub(super) async fn export(
    fed: &LocalFederation,
    node: &str,
    dir: &Path,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    audit::export(&fed.node_socket(node), &path, true, "audit", QUIET).await?;
    Ok(path)
}

pub(super) fn trust(fed: &LocalFederation) -> anyhow::Result<Trust> {
    Ok(Trust::from_directory_file(
        &directory_file(fed),
        &authority_key(fed),
        FEDERATION,
        trm_proto::time::now_ms(),
    )?)
}

pub(super) fn directory_file(fed: &LocalFederation) -> PathBuf {
    fed.federation.dir.join("directory.pb")
}

pub(super) fn authority_key(fed: &LocalFederation) -> String {
    hex::encode(fed.federation.authority.verifying_key().as_bytes())
}

pub(super) fn read(path: &Path) -> anyhow::Result<pb::LogBundle> {
    Ok(pb::LogBundle::decode(std::fs::read(path)?.as_slice())?)
}

pub(super) fn verify(trust: &Trust, bundles: &[(&str, &pb::LogBundle)]) -> Report {
    audit_verify::verify(
        bundles
            .iter()
            .map(|(name, bundle)| ((*name).to_owned(), bundle.encode_to_vec()))
            .collect(),
        trust,
    )
}

fn entry(bundle: &pb::LogBundle, index: usize) -> anyhow::Result<pb::LogEntry> {
    Ok(pb::LogEntry::decode(bundle.entries[index].as_slice())?)
}

/// The index of the entry for `message_id` with `event`.
fn position(
    bundle: &pb::LogBundle,
    event: pb::LogEvent,
    message_id: &str,
) -> anyhow::Result<usize> {
    for index in 0..bundle.entries.len() {
        let e = entry(bundle, index)?;
        if e.event == i32::from(event) && e.message_id == message_id {
            return Ok(index);
        }
    }
    anyhow::bail!("no {event:?} entry for {message_id}")
}

pub(super) fn find<'a>(report: &'a Report, kind: FindingKind, node: &str) -> Option<&'a Finding> {
    report
        .findings
        .iter()
        .find(|f| f.kind == kind && f.node == node)
}

fn kinds(report: &Report) -> Vec<(FindingKind, String, Option<u64>)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind, f.node.clone(), f.entry))
        .collect()
}

#[tokio::test]
async fn clean_bundles_verify_carry_no_content_and_checkpoints_survive_a_restart()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut fed, ids) = exchanged(dir.path()).await?;
    let lefoe_path = export(&fed, LEFOE, dir.path(), "lefoe.bundle").await?;
    let astra_path = export(&fed, ASTRA, dir.path(), "astra.bundle").await?;
    let (lefoe, astra) = (read(&lefoe_path)?, read(&astra_path)?);
    assert_eq!(lefoe.node, LEFOE);
    assert_eq!(lefoe.federation, FEDERATION);
    // Sent, accepted and delivered for two referrals; one received.
    assert_eq!(lefoe.entries.len(), 7);
    assert_eq!(astra.entries.len(), 5);
    assert_eq!(lefoe.checkpoints.len(), 1);

    let trust = trust(&fed)?;
    let report = verify(&trust, &[("lefoe", &lefoe), ("astra", &astra)]);
    assert!(report.ok, "{}", report.human());
    assert_eq!(report.cross_check.matched, 3);
    assert_eq!(report.cross_check.pending, 0);
    assert!(report.bundles.iter().all(|b| b.chain_intact));
    // The command itself, as an auditor runs it.
    audit::verify(
        &directory_file(&fed),
        &authority_key(&fed),
        FEDERATION,
        &[lefoe_path.clone(), astra_path.clone()],
        Output { json: true },
    )?;

    // Metadata only: no canary from the notes, no name from the referral.
    let request = fixtures::referral(ASTRA)?;
    let Some(pb::body::Content::Referral(referral)) = request.body.and_then(|b| b.content) else {
        anyhow::bail!("the fixture is a referral");
    };
    let person = referral.person.unwrap_or_default();
    for path in [&lefoe_path, &astra_path] {
        let bytes = std::fs::read(path)?;
        let names = [&person.given_name, &person.family_name];
        for needle in names
            .into_iter()
            .filter(|n| !n.is_empty())
            .chain([&CANARY.to_owned()])
        {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} contains {needle:?}",
                path.display()
            );
        }
    }

    // After a restart the node resumes from its stored checkpoint, and extends it.
    fed.stop_node(LEFOE).await?;
    fed.start_node(LEFOE).await?;
    let mut client = fed.client(LEFOE).await?;
    let again = client
        .checkpoint(pb::CheckpointRequest {})
        .await?
        .into_inner();
    assert!(!again.signed_now);
    assert_eq!(again.size, 7);
    assert_eq!(again.note, lefoe.checkpoints[0]);
    let sent = client.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&client, &sent.message_id, "delivered", WAIT).await?;
    let grown = client
        .checkpoint(pb::CheckpointRequest {})
        .await?
        .into_inner();
    assert!(grown.signed_now);
    assert_eq!(grown.size, 10);
    let later = read(&export(&fed, LEFOE, dir.path(), "lefoe-later.bundle").await?)?;
    assert_eq!(later.checkpoints.len(), 2);
    // Both exports of one node, and the partner's: one consistent history.
    let report = verify(
        &trust,
        &[
            ("lefoe", &lefoe),
            ("lefoe-later", &later),
            ("astra", &astra),
        ],
    );
    assert!(report.ok, "{}", report.human());
    assert_eq!(ids.len(), 3);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_removed_or_rewritten_entry_is_named_with_its_node() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut fed, ids) = exchanged(dir.path()).await?;
    let lefoe_path = export(&fed, LEFOE, dir.path(), "lefoe.bundle").await?;
    let astra_path = export(&fed, ASTRA, dir.path(), "astra.bundle").await?;
    fed.shutdown().await?;
    let (lefoe, astra) = (read(&lefoe_path)?, read(&astra_path)?);
    let trust = trust(&fed)?;

    // Astra removes the entry that it received the second referral from its bundle.
    let received = position(&astra, pb::LogEvent::Received, &ids[1])?;
    assert!(received + 1 < astra.entries.len(), "a middle entry");
    let mut removed = astra.clone();
    removed.entries.remove(received);
    let report = verify(&trust, &[("lefoe", &lefoe), ("astra", &removed)]);
    assert!(!report.ok);
    let broken = find(&report, FindingKind::BrokenChain, ASTRA)
        .unwrap_or_else(|| panic!("no chain finding: {}", report.human()));
    assert_eq!(broken.entry, Some(received as u64), "{}", report.human());
    assert!(broken.detail.contains("missing"), "{}", broken.detail);
    let missing = find(&report, FindingKind::MissingEntries, ASTRA).expect("checkpoint finding");
    assert_eq!(missing.entry, Some(received as u64));
    let counterpart = find(&report, FindingKind::MissingCounterpart, ASTRA).expect("cross-check");
    assert_eq!(counterpart.message_id.as_deref(), Some(ids[1].as_str()));
    assert_eq!(
        counterpart.counterpart.as_ref().map(|c| c.node.as_str()),
        Some(LEFOE)
    );

    // Or the last entry, which leaves the chain intact: the checkpoint covers it.
    let mut truncated = astra.clone();
    truncated.entries.pop();
    let report = verify(&trust, &[("astra", &truncated)]);
    assert_eq!(
        kinds(&report),
        [(
            FindingKind::MissingEntries,
            ASTRA.to_owned(),
            Some(truncated.entries.len() as u64)
        )],
        "{}",
        report.human()
    );

    // LEFÖ-IBF changes one byte of the digest in its SENT entry for the second referral.
    let sent = position(&lefoe, pb::LogEvent::Sent, &ids[1])?;
    let digest = entry(&lefoe, sent)?.envelope_digest;
    let mut rewritten = lefoe.clone();
    let bytes = &mut rewritten.entries[sent];
    let at = bytes
        .windows(digest.len())
        .position(|w| w == digest.as_slice())
        .expect("the digest is in the entry's bytes");
    bytes[at] ^= 0x01;
    let report = verify(&trust, &[("lefoe", &rewritten), ("astra", &astra)]);
    for kind in [
        FindingKind::BrokenChain,
        FindingKind::RewrittenEntries,
        FindingKind::DigestMismatch,
    ] {
        let finding =
            find(&report, kind, LEFOE).unwrap_or_else(|| panic!("{kind:?}: {}", report.human()));
        assert_eq!(
            finding.entry,
            Some(sent as u64),
            "{kind:?}: {}",
            report.human()
        );
        assert_eq!(
            finding.message_id.as_deref(),
            Some(ids[1].as_str()),
            "{kind:?}"
        );
    }

    // The command exits 1 on findings.
    let tampered = dir.path().join("tampered.bundle");
    std::fs::write(&tampered, rewritten.encode_to_vec())?;
    let error = audit::verify(
        &directory_file(&fed),
        &authority_key(&fed),
        FEDERATION,
        &[tampered, astra_path],
        QUIET,
    )
    .expect_err("findings");
    assert_eq!(error.code, exit::CHECK_FAILED);
    Ok(())
}

/// Rewrites entry `index` of the node's stored log (its envelope digest) and re-chains every
/// entry after it, head record included, as someone with the disk and the code could.
fn rewrite_stored_log(data_dir: &Path, index: u64) -> anyhow::Result<()> {
    let mut previous = match index.checked_sub(1) {
        Some(p) => handover_log::entry_hash(&danger_read_log_entry(data_dir, p)?.expect("entry")),
        None => [0; 32],
    };
    let mut i = index;
    while let Some(bytes) = danger_read_log_entry(data_dir, i)? {
        let mut entry = pb::LogEntry::decode(bytes.as_ref())?;
        if i == index {
            entry.envelope_digest[0] ^= 0x01;
        }
        entry.prev_hash = previous.to_vec();
        let bytes = entry.encode_to_vec();
        previous = handover_log::entry_hash(&bytes);
        danger_overwrite_log_entry(data_dir, i, &bytes)?;
        i += 1;
    }
    danger_overwrite_log_head(data_dir, i, previous)?;
    Ok(())
}

/// `bundle` with `extra` more entries chained on, and one checkpoint over all of it signed with
/// `key`: what a node's operator holding its key could show someone.
fn forged(
    bundle: &pb::LogBundle,
    extra: u64,
    key: &ed25519_dalek::SigningKey,
) -> anyhow::Result<pb::LogBundle> {
    let mut forged = bundle.clone();
    for _ in 0..extra {
        let last = forged.entries.last().expect("entries");
        let mut next = pb::LogEntry::decode(last.as_slice())?;
        next.index += 1;
        next.prev_hash = handover_log::entry_hash(last).to_vec();
        next.at_ms += 1;
        forged.entries.push(next.encode_to_vec());
    }
    let tree = MerkleTree::from_leaves(&forged.entries);
    let origin = checkpoint::node_origin(FEDERATION, &LEFOE.parse()?)?;
    let note = checkpoint::sign(
        &Checkpoint {
            origin: origin.clone(),
            size: tree.size(),
            root: tree.root(),
        },
        &origin,
        key,
    )?;
    forged.checkpoints = vec![note];
    Ok(forged)
}

#[tokio::test]
async fn two_histories_shown_to_two_partners_are_a_fork_named_with_both_checkpoints()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut fed, ids) = exchanged(dir.path()).await?;
    let shown_first = read(&export(&fed, LEFOE, dir.path(), "lefoe.bundle").await?)?;
    let astra = read(&export(&fed, ASTRA, dir.path(), "astra.bundle").await?)?;
    let sent = position(&shown_first, pb::LogEvent::Sent, &ids[1])?;

    // LEFÖ-IBF's log is rewritten on disk and re-chained, so the chain alone verifies...
    fed.stop_node(LEFOE).await?;
    rewrite_stored_log(&fed.node_data_dir(LEFOE), sent as u64)?;
    fed.start_node(LEFOE).await?;
    // ...but the node will not sign a checkpoint that is inconsistent with the one it signed.
    let refused = audit::checkpoint(&fed.node_socket(LEFOE), QUIET)
        .await
        .expect_err("an inconsistent checkpoint");
    assert_eq!(refused.code, exit::REFUSED, "{}", refused.message);
    assert!(
        refused.message.contains("no longer matches"),
        "{}",
        refused.message
    );
    let path = dir.path().join("rewritten.bundle");
    audit::export(&fed.node_socket(LEFOE), &path, false, "audit", QUIET).await?;
    fed.shutdown().await?;
    let rewritten = read(&path)?;
    let trust = trust(&fed)?;

    // Exported as is, the rewritten log no longer hashes to the checkpoint it carries.
    let report = verify(&trust, &[("rewritten", &rewritten), ("astra", &astra)]);
    assert!(
        find(&report, FindingKind::RewrittenEntries, LEFOE).is_some(),
        "{}",
        report.human()
    );
    let mismatch = find(&report, FindingKind::DigestMismatch, LEFOE).expect("cross-check");
    assert_eq!(mismatch.entry, Some(sent as u64));

    // Whoever controls the node's key signs checkpoints of the rewritten history directly.
    let key = &fed.federation.node(LEFOE).expect("material").signing_key;
    for extra in [0, 2] {
        let shown_second = forged(&rewritten, extra, key)?;
        // Each history verifies on its own...
        for bundle in [&shown_first, &shown_second] {
            let report = verify(&trust, &[("alone", bundle)]);
            assert!(report.ok, "{}", report.human());
        }
        // ...and together they are a fork, named with both signed checkpoints.
        let report = verify(
            &trust,
            &[("first", &shown_first), ("second", &shown_second)],
        );
        let fork = find(&report, FindingKind::Fork, LEFOE)
            .unwrap_or_else(|| panic!("no fork found: {}", report.human()));
        assert_eq!(fork.entry, Some(sent as u64), "{}", report.human());
        assert_eq!(fork.message_id.as_deref(), Some(ids[1].as_str()));
        assert_eq!(
            fork.evidence,
            [
                shown_first.checkpoints[0].clone(),
                shown_second.checkpoints[0].clone()
            ]
        );
    }
    Ok(())
}
