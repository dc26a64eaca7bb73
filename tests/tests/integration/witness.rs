//! Witnessing between real nodes: a receipt carries the addressee's latest checkpoint, the
//! sender cosigns it on first sight and then only with a consistency proof; a node whose log is
//! replaced by another history (a copy of its store from before, grown differently) is caught
//! by its partner as a fork, the delivery still counts, and `trm audit verify` names the node
//! and the entry where the histories part. The empty log is never signed, so witnessing never
//! starts from a size that means "nothing seen".

use std::path::Path;
use std::time::Duration;

use trm_audit::verify::FindingKind;
use trm_cli::audit;
use trm_cli::commands::{Output, exit};
use trm_dev::local::LocalFederation;
use trm_log::checkpoint::{self, NoteVerifier, SignatureKind};
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE, OPEN_GATE};

use super::audit::{authority_key, directory_file, export, find, read, trust, verify};

const WAIT: Duration = Duration::from_secs(30);
const FEDERATION: &str = "trm-test";
const QUIET: Output = Output { json: false };

/// Sends a referral from `from` to `to` and waits until it is delivered; answers its id.
async fn deliver(fed: &LocalFederation, from: &str, to: &str) -> anyhow::Result<String> {
    let client = fed.client(from).await?;
    let sent = client
        .clone()
        .send(fixtures::referral(to)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&client, &sent.message_id, "delivered", WAIT).await?;
    Ok(sent.message_id)
}

/// `node`'s exported log once `done` holds for it, or as it is when [`WAIT`] has passed (the
/// assertions that follow then say what is missing). A sender witnesses a receipt's
/// checkpoint after it has recorded the receipt, so a delivery shows as delivered before its
/// cosignature or fork evidence is stored.
async fn export_when(
    fed: &LocalFederation,
    node: &str,
    dir: &Path,
    name: &str,
    done: impl Fn(&pb::LogBundle) -> bool,
) -> anyhow::Result<pb::LogBundle> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let bundle = read(&export(fed, node, dir, name).await?)?;
        if done(&bundle) || tokio::time::Instant::now() >= deadline {
            return Ok(bundle);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Has `node` sign a checkpoint now; answers it.
async fn checkpoint_now(
    fed: &LocalFederation,
    node: &str,
) -> anyhow::Result<pb::CheckpointResponse> {
    Ok(fed
        .client(node)
        .await?
        .checkpoint(pb::CheckpointRequest {})
        .await?
        .into_inner())
}

/// The verifiers of `node`'s log signature and of its cosignatures.
fn verifiers(fed: &LocalFederation, node: &str) -> anyhow::Result<[NoteVerifier; 2]> {
    let key = fed
        .federation
        .node(node)
        .ok_or_else(|| anyhow::anyhow!("no node {node}"))?
        .signing_key
        .verifying_key();
    let origin = checkpoint::node_origin(FEDERATION, &node.parse()?)?;
    Ok([
        NoteVerifier::new(&origin, SignatureKind::Ed25519, key)?,
        NoteVerifier::new(&origin, SignatureKind::CosignatureV1, key)?,
    ])
}

/// The size of a checkpoint `witness` cosigned, after checking it is signed by `partner` and
/// cosigned by `witness`.
fn cosigned_size(
    fed: &LocalFederation,
    note: &str,
    partner: &str,
    witness: &str,
) -> anyhow::Result<u64> {
    let [log, _] = verifiers(fed, partner)?;
    let [_, cosigner] = verifiers(fed, witness)?;
    let opened = checkpoint::open(note, &[log.clone(), cosigner.clone()])?;
    anyhow::ensure!(opened.signed_by(log.name()), "not signed by {partner}");
    anyhow::ensure!(
        opened.signed_by(cosigner.name()),
        "not cosigned by {witness}"
    );
    Ok(opened.checkpoint().size)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_sender_cosigns_the_first_checkpoint_then_only_proved_extensions() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;

    // Astra has no checkpoint yet: the first receipt carries none.
    deliver(&fed, LEFOE, ASTRA).await?;
    let bundle = read(&export(&fed, LEFOE, dir.path(), "lefoe-0.bundle").await?)?;
    assert!(bundle.witnessed.is_empty());
    let first = checkpoint_now(&fed, ASTRA).await?;
    assert_eq!(first.size, 1);

    // The next receipt carries it; LEFÖ-IBF has seen nothing of Astra, so it cosigns it.
    deliver(&fed, LEFOE, ASTRA).await?;
    let bundle = export_when(&fed, LEFOE, dir.path(), "lefoe-1.bundle", |b| {
        !b.witnessed.is_empty()
    })
    .await?;
    assert_eq!(bundle.witnessed.len(), 1, "{:?}", bundle.witnessed);
    assert!(bundle.witnessed[0].starts_with(&first.note));
    assert_eq!(cosigned_size(&fed, &bundle.witnessed[0], ASTRA, LEFOE)?, 1);

    // A larger checkpoint is cosigned only with a proof from size 1, which the receipt carries
    // because the body said what LEFÖ-IBF had witnessed.
    let second = checkpoint_now(&fed, ASTRA).await?;
    assert_eq!(second.size, 2);
    deliver(&fed, LEFOE, ASTRA).await?;
    let lefoe = export_when(&fed, LEFOE, dir.path(), "lefoe-2.bundle", |b| {
        b.witnessed.len() >= 2 || !b.forks.is_empty()
    })
    .await?;
    let sizes = lefoe
        .witnessed
        .iter()
        .map(|note| cosigned_size(&fed, note, ASTRA, LEFOE))
        .collect::<anyhow::Result<Vec<_>>>()?;
    assert_eq!(sizes, [1, 2]);
    assert!(lefoe.forks.is_empty());

    // Astra's own export agrees with what LEFÖ-IBF cosigned.
    let astra = read(&export(&fed, ASTRA, dir.path(), "astra.bundle").await?)?;
    fed.shutdown().await?;
    let report = verify(&trust(&fed)?, &[("lefoe", &lefoe), ("astra", &astra)]);
    assert!(report.ok, "{}", report.human());
    Ok(())
}

#[tokio::test]
async fn periodic_checkpoints_are_signed_when_the_log_grew() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    let mut config = fed.node_config(ASTRA)?;
    config.checkpoint_interval_secs = 1;
    fed.start_node_with(ASTRA, config).await?;
    // Idle and empty, Astra signs nothing: a checkpoint of the empty log, once cosigned, left
    // its partners no size to ask the next proof from, and witnessing stopped for good.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let astra = read(&export(&fed, ASTRA, dir.path(), "astra-idle.bundle").await?)?;
    assert!(astra.checkpoints.is_empty(), "{:?}", astra.checkpoints);
    deliver(&fed, LEFOE, ASTRA).await?;
    // Nobody asks Astra for a checkpoint, yet the next receipt carries one.
    trm_dev::wait::wait_for(WAIT, "a periodic checkpoint", || async {
        deliver(&fed, LEFOE, ASTRA).await?;
        let bundle = read(&export(&fed, LEFOE, dir.path(), "lefoe.bundle").await?)?;
        Ok(!bundle.witnessed.is_empty())
    })
    .await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_showing_two_histories_is_caught_by_its_partner_and_named_by_the_audit()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    for node in [LEFOE, ASTRA, OPEN_GATE] {
        fed.start_node(node).await?;
    }
    // The empty log is not signed: had LEFÖ-IBF cosigned a checkpoint of size 0, it would
    // never have cosigned another, and the fork below would pass unseen.
    let refused = checkpoint_now(&fed, ASTRA)
        .await
        .expect_err("a checkpoint of the empty log");
    assert!(
        refused.to_string().contains("the handover log is empty"),
        "{refused}"
    );
    deliver(&fed, LEFOE, ASTRA).await?;
    assert_eq!(checkpoint_now(&fed, ASTRA).await?.size, 1);

    // A copy of Astra's store as it is now: later it will grow another history.
    fed.stop_node(ASTRA).await?;
    let fork_dir = dir.path().join("astra-fork");
    copy_dir(&fed.node_data_dir(ASTRA), &fork_dir)?;
    fed.start_node(ASTRA).await?;

    // LEFÖ-IBF witnesses Astra's genuine history at sizes 1 and 2.
    deliver(&fed, LEFOE, ASTRA).await?;
    let genuine = checkpoint_now(&fed, ASTRA).await?;
    assert_eq!(genuine.size, 2);
    deliver(&fed, LEFOE, ASTRA).await?;
    export_when(&fed, LEFOE, dir.path(), "lefoe-genuine.bundle", |b| {
        b.witnessed.len() >= 2
    })
    .await?;
    let astra_genuine = read(&export(&fed, ASTRA, dir.path(), "astra-genuine.bundle").await?)?;

    // Astra comes back on the copy and grows another entry 1: a message from Open Gate.
    fed.stop_node(ASTRA).await?;
    let mut config = fed.node_config(ASTRA)?;
    config.data_dir = fork_dir;
    fed.start_node_with(ASTRA, config).await?;
    deliver(&fed, OPEN_GATE, ASTRA).await?;
    // Open Gate must have cosigned size 1 before it seals its next message, whose body tells
    // Astra to prove the next checkpoint from there.
    export_when(&fed, OPEN_GATE, dir.path(), "open-gate-1.bundle", |b| {
        !b.witnessed.is_empty()
    })
    .await?;
    let other = checkpoint_now(&fed, ASTRA).await?;
    assert_eq!(other.size, 2);
    assert_ne!(other.root, genuine.root);
    // Open Gate has seen only this history: it cosigns it (its first receipt from Astra carried
    // the checkpoint of size 1 both histories share).
    deliver(&fed, OPEN_GATE, ASTRA).await?;

    // LEFÖ-IBF gets the other checkpoint of size 2: the delivery counts, the fork is kept.
    let delivered = deliver(&fed, LEFOE, ASTRA).await?;
    let lefoe = export_when(&fed, LEFOE, dir.path(), "lefoe.bundle", |b| {
        !b.forks.is_empty()
    })
    .await?;
    let open_gate = export_when(&fed, OPEN_GATE, dir.path(), "open-gate.bundle", |b| {
        b.witnessed.len() >= 2
    })
    .await?;
    let astra_other = read(&export(&fed, ASTRA, dir.path(), "astra-other.bundle").await?)?;
    let mut client = fed.client(LEFOE).await?;
    assert!(
        fixtures::steps(&mut client, &delivered)
            .await?
            .contains(&"delivered".to_owned())
    );
    assert_eq!(lefoe.forks.len(), 1, "{:?}", lefoe.forks);
    let fork = &lefoe.forks[0];
    assert_eq!(fork.node, ASTRA);
    assert!(fork.seen.starts_with(&genuine.note), "{}", fork.seen);
    assert_eq!(fork.presented, other.note);
    assert!(fork.problem.contains("different roots"), "{}", fork.problem);
    let receipt = fork.receipt.as_ref().expect("the receipt is kept");
    let astra_key = fed
        .federation
        .node(ASTRA)
        .expect("material")
        .signing_key
        .verifying_key();
    let verified = trm_proto::receipt::verify(receipt, &[astra_key])?;
    // The checkpoint travels in the part of the receipt only LEFÖ-IBF reads.
    let lefoe_keys = trm_tests::craft::keys(&fed.federation, LEFOE)?;
    let verified = trm_node::receipt_private::open(&verified, &lefoe_keys)?;
    assert_eq!(verified.receipt.checkpoint, other.note);
    // The latest LEFÖ-IBF cosigned is still the genuine one.
    let sizes = lefoe
        .witnessed
        .iter()
        .map(|note| cosigned_size(&fed, note, ASTRA, LEFOE))
        .collect::<anyhow::Result<Vec<_>>>()?;
    assert_eq!(sizes, [1, 2]);
    assert!(lefoe.witnessed[1].starts_with(&genuine.note));
    // Open Gate first saw the checkpoint of size 1 the copy kept, then the other size 2.
    let sizes = open_gate
        .witnessed
        .iter()
        .map(|note| cosigned_size(&fed, note, ASTRA, OPEN_GATE))
        .collect::<anyhow::Result<Vec<_>>>()?;
    assert_eq!(sizes, [1, 2]);
    assert!(open_gate.witnessed[1].starts_with(&other.note));
    fed.shutdown().await?;

    let trust = trust(&fed)?;
    // Each witness and each of Astra's histories looks fine on its own.
    for (name, bundle) in [
        ("open-gate", &open_gate),
        ("astra-genuine", &astra_genuine),
        ("astra-other", &astra_other),
    ] {
        let report = verify(&trust, &[(name, bundle)]);
        assert!(report.ok, "{}", report.human());
    }
    // With the bundle of the history Astra kept, the one it showed LEFÖ-IBF is named: it parts
    // at entry 1, after the checkpoint of size 1 LEFÖ-IBF also cosigned.
    let report = verify(
        &trust,
        &[
            ("lefoe", &lefoe),
            ("open-gate", &open_gate),
            ("astra-other", &astra_other),
        ],
    );
    let forks: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Fork && f.node == ASTRA)
        .collect();
    assert!(
        forks
            .iter()
            .any(|f| f.entry == Some(1) && f.evidence.iter().any(|n| n.starts_with(&genuine.note))),
        "{}",
        report.human()
    );
    assert!(
        report.findings.iter().all(|f| f.node == ASTRA),
        "{}",
        report.human()
    );
    // With the other bundle, the history shown to Open Gate is named, at size 2 (one root
    // alone does not say which of the two entries differs).
    let report = verify(
        &trust,
        &[
            ("lefoe", &lefoe),
            ("open-gate", &open_gate),
            ("astra-genuine", &astra_genuine),
        ],
    );
    assert!(
        report.findings.iter().any(|f| f.kind == FindingKind::Fork
            && f.node == ASTRA
            && f.detail
                .contains("showed open-gate@marri a checkpoint of size 2")),
        "{}",
        report.human()
    );
    assert!(
        report.findings.iter().all(|f| f.node == ASTRA),
        "{}",
        report.human()
    );
    // Without any bundle of Astra: the two witnesses' checkpoints of size 2 differ.
    let report = verify(&trust, &[("lefoe", &lefoe), ("open-gate", &open_gate)]);
    let fork = find(&report, FindingKind::Fork, ASTRA)
        .unwrap_or_else(|| panic!("no fork: {}", report.human()));
    assert_eq!(fork.evidence.len(), 2);
    assert!(fork.evidence.iter().any(|n| n.starts_with(&genuine.note)));
    assert!(fork.evidence.iter().any(|n| n.starts_with(&other.note)));

    // The command exits non-zero.
    let lefoe_path = dir.path().join("lefoe.bundle");
    let error = audit::verify(
        &directory_file(&fed),
        &authority_key(&fed),
        FEDERATION,
        &[lefoe_path],
        QUIET,
    )
    .expect_err("the fork LEFÖ-IBF recorded");
    assert_eq!(error.code, exit::CHECK_FAILED);
    Ok(())
}
