//! Witnessing that cannot get stuck, between real nodes over loopback mTLS, and the checkpoint
//! verifier key.
//!
//! Earlier versions signed checkpoints of the empty log, and a partner that cosigned one never
//! cosigned another: the size it had cosigned, 0, also meant "nothing cosigned", so no proof was
//! ever asked again, and the node's log could then be rewritten and re-signed unseen. A node
//! that signed and a partner that cosigned such a checkpoint (their stores set up as those
//! versions left them) now carry on: the empty tree is a prefix of every tree, so the next
//! checkpoint is cosigned without a proof and every later one with a proof, and `trm audit
//! verify` names the rewrite.
//!
//! `trm log vkey` gives the key in the C2SP signed-note form: checked here with an independent
//! reading of that form (the key hash and the signature line computed in this file), and shown
//! for every node by `trm directory search`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};
use trm_audit::verify::{self as audit_verify, FindingKind, Report, Trust};
use trm_cli::audit;
use trm_cli::commands::{Output, exit};
use trm_dev::local::LocalFederation;
use trm_log::checkpoint::{self, Checkpoint, NoteVerifier, SignatureKind};
use trm_log::merkle::MerkleTree;
use trm_node::handover_log;
use trm_node::store::NodeStore;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

const WAIT: Duration = Duration::from_secs(30);
const FEDERATION: &str = "trm-test";
const QUIET: Output = Output { json: false };

/// Sends a referral from `from` to `to` and waits until it is delivered.
async fn deliver(fed: &LocalFederation, from: &str, to: &str) -> anyhow::Result<()> {
    let client = fed.client(from).await?;
    let sent = client
        .clone()
        .send(fixtures::referral(to)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&client, &sent.message_id, "delivered", WAIT).await
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

/// Exports `node`'s log (signing a checkpoint first) to `dir/<name>`; answers the path.
async fn export(
    fed: &LocalFederation,
    node: &str,
    dir: &Path,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    audit::export(&fed.node_socket(node), &path, true, "audit", QUIET).await?;
    Ok(path)
}

fn read(path: &Path) -> anyhow::Result<pb::LogBundle> {
    Ok(pb::LogBundle::decode(std::fs::read(path)?.as_slice())?)
}

/// Exports `node`'s log to `dir/<name>` once it holds `count` cosigned checkpoints of
/// `partner`, or as it is when [`WAIT`] has passed (the assertions that follow then say what is
/// missing); answers the path and the log. A sender witnesses a receipt's checkpoint after it
/// has recorded the receipt, so a delivery shows as delivered before its cosignature is stored.
async fn export_once_cosigned(
    fed: &LocalFederation,
    node: &str,
    partner: &str,
    dir: &Path,
    name: &str,
    count: usize,
) -> anyhow::Result<(PathBuf, pb::LogBundle)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let path = export(fed, node, dir, name).await?;
        let bundle = read(&path)?;
        if cosigned_sizes(&bundle, partner)?.len() >= count
            || tokio::time::Instant::now() >= deadline
        {
            return Ok((path, bundle));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn directory_file(fed: &LocalFederation) -> PathBuf {
    fed.federation.dir.join("directory.pb")
}

fn authority_key(fed: &LocalFederation) -> String {
    hex::encode(fed.federation.authority.verifying_key().as_bytes())
}

fn trust(fed: &LocalFederation) -> anyhow::Result<Trust> {
    Ok(Trust::from_directory_file(
        &directory_file(fed),
        &authority_key(fed),
        FEDERATION,
        trm_proto::time::now_ms(),
    )?)
}

fn verify(trust: &Trust, bundles: &[(&str, &pb::LogBundle)]) -> Report {
    audit_verify::verify(
        bundles
            .iter()
            .map(|(name, bundle)| ((*name).to_owned(), bundle.encode_to_vec()))
            .collect(),
        trust,
    )
}

fn signing_key(fed: &LocalFederation, node: &str) -> anyhow::Result<ed25519_dalek::SigningKey> {
    Ok(fed
        .federation
        .node(node)
        .ok_or_else(|| anyhow::anyhow!("no node {node}"))?
        .signing_key
        .clone())
}

fn origin(node: &str) -> anyhow::Result<String> {
    Ok(checkpoint::node_origin(FEDERATION, &node.parse()?)?)
}

/// The sizes of the checkpoints of `partner` that `bundle`'s node cosigned.
fn cosigned_sizes(bundle: &pb::LogBundle, partner: &str) -> anyhow::Result<Vec<u64>> {
    let prefix = format!("{}\n", origin(partner)?);
    bundle
        .witnessed
        .iter()
        .filter(|note| note.starts_with(&prefix))
        .map(|note| Ok(Checkpoint::from_note(note)?.size))
        .collect()
}

/// Sets up the stores of `node` and its partner `witness` (both stopped) as earlier versions
/// left them: `node` signed a checkpoint of its empty log, and `witness` cosigned it as the
/// latest checkpoint of `node` it had seen.
async fn as_earlier_versions_left_them(
    fed: &LocalFederation,
    node: &str,
    witness: &str,
) -> anyhow::Result<()> {
    let key = signing_key(fed, node)?;
    let node_origin = origin(node)?;
    let empty = checkpoint::sign(
        &Checkpoint {
            origin: node_origin.clone(),
            size: 0,
            root: MerkleTree::new().root(),
        },
        &node_origin,
        &key,
    )?;
    {
        let store = NodeStore::open(&fed.node_data_dir(node))?;
        store.record_checkpoint(0, &empty).await?;
    }
    let verifier = NoteVerifier::new(&node_origin, SignatureKind::Ed25519, key.verifying_key())?;
    let opened = checkpoint::open(&empty, &[verifier])?;
    let cosigned = checkpoint::cosign(
        &opened,
        &origin(witness)?,
        &signing_key(fed, witness)?,
        trm_proto::time::now_ms() / 1000,
    )?;
    let db = trm_storage::open_db(&fed.node_data_dir(witness))?;
    let mut note_key = node.as_bytes().to_vec();
    note_key.push(0);
    note_key.extend_from_slice(&0u64.to_be_bytes());
    db.open_tree(trm_node::store::WITNESS_NOTES_TREE)?
        .insert(note_key, cosigned.as_bytes())?;
    db.open_tree("witness_latest")?
        .insert(node.as_bytes(), &0u64.to_be_bytes()[..])?;
    db.flush()?;
    Ok(())
}

/// `bundle` with entry `index` rewritten (its envelope digest), every later entry re-chained,
/// and each checkpoint re-signed over the rewritten tree at its size with `key`: what the
/// node's operator holding its key and its disk could show an auditor.
fn rewritten(
    bundle: &pb::LogBundle,
    index: usize,
    key: &ed25519_dalek::SigningKey,
) -> anyhow::Result<pb::LogBundle> {
    let mut forged = bundle.clone();
    let mut previous = match index.checked_sub(1) {
        Some(p) => handover_log::entry_hash(&forged.entries[p]),
        None => [0; 32],
    };
    for (i, bytes) in forged.entries.iter_mut().enumerate().skip(index) {
        let mut entry = pb::LogEntry::decode(bytes.as_slice())?;
        if i == index {
            entry.envelope_digest[0] ^= 0x01;
        }
        entry.prev_hash = previous.to_vec();
        *bytes = entry.encode_to_vec();
        previous = handover_log::entry_hash(bytes);
    }
    let tree = MerkleTree::from_leaves(&forged.entries);
    let origin = origin(&forged.node)?;
    forged.checkpoints = bundle
        .checkpoints
        .iter()
        .map(|note| {
            let size = Checkpoint::from_note(note)?.size;
            Ok(checkpoint::sign(
                &Checkpoint {
                    origin: origin.clone(),
                    size,
                    root: tree.root_at(size)?,
                },
                &origin,
                key,
            )?)
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(forged)
}

#[tokio::test]
async fn a_rewrite_after_a_cosigned_empty_checkpoint_is_caught_by_the_audit() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    fed.stop_node(LEFOE).await?;
    fed.stop_node(ASTRA).await?;
    as_earlier_versions_left_them(&fed, ASTRA, LEFOE).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;

    // The first receipt carries Astra's empty checkpoint, which LEFÖ-IBF already holds.
    deliver(&fed, LEFOE, ASTRA).await?;
    // The log grew: Astra signs its first non-empty checkpoint (from the stored empty one),
    // and LEFÖ-IBF cosigns it without a proof, since the empty tree is a prefix of every tree.
    assert_eq!(checkpoint_now(&fed, ASTRA).await?.size, 1);
    deliver(&fed, LEFOE, ASTRA).await?;
    // Cosigned before LEFÖ-IBF seals its next message, whose body asks for a proof from it.
    export_once_cosigned(&fed, LEFOE, ASTRA, dir.path(), "lefoe-1.bundle", 2).await?;
    // From there on, only with a proof from size 1, which the next receipt carries.
    let last = checkpoint_now(&fed, ASTRA).await?;
    assert_eq!(last.size, 2);
    deliver(&fed, LEFOE, ASTRA).await?;
    // And the periodic path signs nothing when the log did not grow.
    let again = checkpoint_now(&fed, ASTRA).await?;
    assert!(again.size > last.size || !again.signed_now, "{again:?}");

    let (lefoe_path, lefoe) =
        export_once_cosigned(&fed, LEFOE, ASTRA, dir.path(), "lefoe.bundle", 3).await?;
    assert!(lefoe.forks.is_empty(), "{:?}", lefoe.forks);
    let astra = read(&export(&fed, ASTRA, dir.path(), "astra.bundle").await?)?;
    fed.shutdown().await?;

    let trust = trust(&fed)?;
    // The genuine history verifies, the cosigned empty checkpoint included.
    let report = verify(&trust, &[("lefoe", &lefoe), ("astra", &astra)]);
    assert!(report.ok, "{}", report.human());

    // Astra's log rewritten at entry 0 and every checkpoint re-signed with Astra's own key: on
    // its own the bundle is consistent, so only what LEFÖ-IBF cosigned can tell.
    let forged = rewritten(&astra, 0, &signing_key(&fed, ASTRA)?)?;
    let alone = verify(&trust, &[("astra", &forged)]);
    assert!(alone.ok, "{}", alone.human());
    let report = verify(&trust, &[("lefoe", &lefoe), ("astra", &forged)]);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::Fork && f.node == ASTRA),
        "the rewrite passed: {}",
        report.human()
    );
    assert!(!report.ok);
    // Because LEFÖ-IBF went on cosigning past the empty checkpoint.
    assert_eq!(
        cosigned_sizes(&lefoe, ASTRA)?,
        [0, 1, 2],
        "{:?}",
        lefoe.witnessed
    );

    // `trm audit verify` exits 1 on it.
    let forged_path = dir.path().join("astra-rewritten.bundle");
    std::fs::write(&forged_path, forged.encode_to_vec())?;
    let error = audit::verify(
        &directory_file(&fed),
        &authority_key(&fed),
        FEDERATION,
        &[lefoe_path, forged_path],
        QUIET,
    )
    .expect_err("the rewrite is a finding");
    assert_eq!(error.code, exit::CHECK_FAILED);
    Ok(())
}

/// A verifier key read by the C2SP signed-note rule, independently of trm-log: the name, the
/// key hash (the first 4 bytes of SHA-256 over the name, a newline, the type byte and the key)
/// and the Ed25519 key.
fn parse_vkey(vkey: &str) -> anyhow::Result<(String, [u8; 4], VerifyingKey)> {
    // The key is base64, which may itself hold '+': only the first two separate.
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("not name+hash+key: {vkey}");
    };
    let key = base64::engine::general_purpose::STANDARD.decode(key)?;
    anyhow::ensure!(
        key.len() == 33 && key[0] == 0x01,
        "not an Ed25519 key: {vkey}"
    );
    let hash: [u8; 4] = hex::decode(hash)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the key hash is not 8 hex digits"))?;
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update(&key);
    let digest = hasher.finalize();
    anyhow::ensure!(digest[..4] == hash, "the key hash does not match: {vkey}");
    let key = VerifyingKey::from_bytes(&key[1..].try_into()?)?;
    Ok((name.to_owned(), hash, key))
}

/// Whether `note` carries a valid signature line by the key of `vkey`, by the C2SP rule: the
/// line `— <name> <base64(key hash || signature)>` after the empty line, the signature over
/// the text up to and with the newline before that empty line.
fn signed_by(note: &str, vkey: &str) -> anyhow::Result<bool> {
    let (name, hash, key) = parse_vkey(vkey)?;
    let Some(split) = note.rfind("\n\n") else {
        anyhow::bail!("no signatures");
    };
    let text = &note[..=split];
    for line in note[split + 2..].lines() {
        let Some(rest) = line.strip_prefix(&format!("\u{2014} {name} ")) else {
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD.decode(rest)?;
        if bytes.len() != 68 || bytes[..4] != hash {
            continue;
        }
        let signature = Signature::from_slice(&bytes[4..])?;
        if key.verify(text.as_bytes(), &signature).is_ok() {
            return Ok(true);
        }
    }
    Ok(false)
}

#[tokio::test]
async fn the_verifier_key_checks_checkpoints_by_the_c2sp_rule_and_the_directory_shows_it()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    deliver(&fed, LEFOE, ASTRA).await?;
    let note = checkpoint_now(&fed, ASTRA).await?.note;

    let shown = fed
        .client(ASTRA)
        .await?
        .verifier_key(pb::VerifierKeyRequest {})
        .await?
        .into_inner();
    assert_eq!(shown.origin, format!("trm/{FEDERATION}/{ASTRA}"));
    let (name, _, key) = parse_vkey(&shown.vkey)?;
    assert_eq!(name, shown.origin);
    assert_eq!(key, signing_key(&fed, ASTRA)?.verifying_key());
    assert!(signed_by(&note, &shown.vkey)?, "{note}");
    // A changed checkpoint, or another node's key, does not verify.
    let changed = note.replacen("\n1\n", "\n2\n", 1);
    assert_ne!(changed, note);
    assert!(!signed_by(&changed, &shown.vkey)?);
    let lefoe_key = fed
        .client(LEFOE)
        .await?
        .verifier_key(pb::VerifierKeyRequest {})
        .await?
        .into_inner()
        .vkey;
    assert!(!signed_by(&note, &lefoe_key)?);
    // trm-log's own reader agrees.
    let verifier = NoteVerifier::from_vkey(&shown.vkey)?;
    assert_eq!(checkpoint::open(&note, &[verifier])?.checkpoint().size, 1);

    // LEFÖ-IBF's directory shows Astra's key, as Astra prints it.
    let directory = fed
        .client(LEFOE)
        .await?
        .search_directory(pb::DirectorySearchRequest::default())
        .await?
        .into_inner();
    assert_eq!(directory.verifier_keys.get(ASTRA), Some(&shown.vkey));
    assert_eq!(directory.verifier_keys.get(LEFOE), Some(&lefoe_key));
    let text = trm_cli::render::directory(&directory);
    assert!(
        text.contains(&format!("checkpoint key: {}", shown.vkey)),
        "{text}"
    );
    fed.shutdown().await?;
    Ok(())
}
