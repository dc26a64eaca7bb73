//! Erasure is forward-secure: after a consent withdrawal and the end of the epoch, no copy of
//! any envelope left anywhere can be decrypted with anything the addressee still holds.
//!
//! Two brokers (`at`, `rs`) and two nodes (LEFÖ-IBF on `at`, Astra on `rs`) with epochs of a
//! few seconds exchange a referral with consent and then its withdrawal. Once every content key
//! Astra held then is destroyed, the raw bytes of every file under both brokers' and both
//! nodes' data folders are read, every age payload in them is extracted (at each
//! `age-encryption.org/v1` header), and each is tried with every age identity found in Astra's
//! data folder and its long-term key file: none decrypts. Before the withdrawal, the same scan
//! found a payload that did decrypt with the content key then current, so the scan is not
//! vacuous.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use trm_dev::local::LocalFederation;
use trm_node::epochs::ContentKeySettings;
use trm_node::epochs::ring::FOLDER;
use trm_proto::pb;
use trm_proto::pb::body::Content;
use trm_proto::pb::prekeys_client::PrekeysClient;
use trm_tests::fixtures;

const AT: &str = "at";
const RS: &str = "rs";
/// LEFÖ-IBF, Vienna, homed on `at`.
const LEFOE: &str = "lefoe-ibf@at";
/// Astra, Belgrade, homed on `rs`.
const ASTRA: &str = "astra@rs";

/// Short epochs, kept long enough after their end for a delivery on a busy machine.
const SHORT: ContentKeySettings = ContentKeySettings {
    epoch_secs: 4,
    keep_after_secs: 8,
};

const WAIT: Duration = Duration::from_secs(60);

/// What marks the start of an age file.
const AGE_HEADER: &[u8] = b"age-encryption.org/v1\n";

/// The largest payload tried (every envelope here is far smaller).
const MAX_PAYLOAD: usize = 1 << 20;

async fn federation(root: &Path) -> anyhow::Result<LocalFederation> {
    LocalFederation::create(
        root,
        "trm-forward-secrecy-test",
        &[(AT, "AT"), (RS, "RS")],
        &[
            (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
            (ASTRA, "Astra", "ngo", "RS"),
        ],
    )
    .await
}

/// Every file under `dir`, recursively.
fn files(dir: &Path, into: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, into)?;
        } else if path.is_file() {
            into.push(path);
        }
    }
    Ok(())
}

/// Every age payload in the raw bytes of every file under `dirs`: the bytes from each age
/// header to the end of its file (the payload's end is found when decrypting).
fn payloads(dirs: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut paths = Vec::new();
    for dir in dirs {
        files(dir, &mut paths)?;
    }
    let mut found = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path)?;
        let mut at = 0;
        while let Some(offset) = bytes
            .get(at..)
            .and_then(|rest| rest.windows(AGE_HEADER.len()).position(|w| w == AGE_HEADER))
        {
            let start = at + offset;
            let end = bytes.len().min(start + MAX_PAYLOAD);
            found.push(bytes.get(start..end).unwrap_or_default().to_vec());
            at = start + 1;
        }
    }
    Ok(found)
}

/// Every age identity written in any file under `dir`, and in `more`.
fn identities(dir: &Path, more: &[PathBuf]) -> anyhow::Result<Vec<age::x25519::Identity>> {
    let mut paths = Vec::new();
    files(dir, &mut paths)?;
    paths.extend(more.iter().cloned());
    let mut found = Vec::new();
    for path in paths {
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
        for word in text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-') {
            if word.starts_with("AGE-SECRET-KEY-")
                && let Ok(identity) = word.parse::<age::x25519::Identity>()
            {
                found.push(identity);
            }
        }
    }
    Ok(found)
}

/// Whether `payload` (an age header and what follows it, to an unknown end) decrypts with
/// `identity`: its header opens with it, and for some end the whole payload authenticates.
fn decrypts(payload: &[u8], identity: &age::x25519::Identity) -> bool {
    let opens = age::Decryptor::new_buffered(payload)
        .ok()
        .and_then(|d| {
            d.decrypt(std::iter::once(identity as &dyn age::Identity))
                .ok()
        })
        .is_some();
    if !opens {
        return false;
    }
    // The header opened: find the end at which the payload authenticates whole.
    (1..=payload.len()).any(|end| {
        let Some(candidate) = payload.get(..end) else {
            return false;
        };
        age::Decryptor::new_buffered(candidate)
            .ok()
            .and_then(|d| {
                d.decrypt(std::iter::once(identity as &dyn age::Identity))
                    .ok()
            })
            .is_some_and(|mut reader| {
                let mut plaintext = Vec::new();
                reader.read_to_end(&mut plaintext).is_ok()
            })
    })
}

/// The data folders of both brokers and both nodes.
fn data_folders(fed: &LocalFederation) -> Vec<PathBuf> {
    vec![
        fed.broker_data_dir(AT),
        fed.broker_data_dir(RS),
        fed.node_data_dir(LEFOE),
        fed.node_data_dir(ASTRA),
    ]
}

/// The ids of Astra's content keys on disk now.
fn astra_key_ids(fed: &LocalFederation) -> anyhow::Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    for entry in std::fs::read_dir(fed.node_data_dir(ASTRA).join(FOLDER))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".key") {
            ids.insert(id.to_owned());
        }
    }
    Ok(ids)
}

#[tokio::test]
async fn after_a_withdrawal_and_the_end_of_the_epoch_no_stored_copy_decrypts() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(AT).await?;
    fed.start_broker(RS).await?;
    for node in [LEFOE, ASTRA] {
        let mut config = fed.node_config(node)?;
        config.content_keys = SHORT;
        fed.start_node_with(node, config).await?;
    }
    // Astra's keys reach LEFÖ-IBF's broker through Astra's (checked there and by the sender).
    let mut prekeys = PrekeysClient::new(fixtures::channel_as(&fed, LEFOE).await?);
    trm_dev::wait::wait_for(WAIT, "Astra's content keys to be published", || {
        let mut prekeys = prekeys.clone();
        async move {
            let set = prekeys
                .fetch_prekeys(pb::FetchPrekeysRequest { node: ASTRA.into() })
                .await?
                .into_inner();
            Ok(!set.prekeys.is_empty())
        }
    })
    .await?;
    let published = prekeys
        .fetch_prekeys(pb::FetchPrekeysRequest { node: ASTRA.into() })
        .await?
        .into_inner();
    assert!(published.prekeys.len() >= 2, "the current key and the next");

    let lefoe = fixtures::party(&fed, LEFOE).await?;
    let astra = fixtures::party(&fed, ASTRA).await?;
    let referral = fixtures::referral(ASTRA)?;
    let case_ref = referral.case_ref.clone();
    let mut admin = lefoe.admin.clone();
    let id = admin.send(referral).await?.into_inner().message_id;
    trm_dev::lifecycle::wait_for_delivery(&lefoe, &id).await?;

    // Not vacuous: a copy of the referral left in the files decrypts with Astra's key now.
    let keys_then = astra_key_ids(&fed)?;
    let content_identities = identities(&fed.node_data_dir(ASTRA).join(FOLDER), &[])?;
    assert!(!content_identities.is_empty());
    let found = payloads(&data_folders(&fed))?;
    assert!(!found.is_empty(), "no age payload in any file");
    assert!(
        found
            .iter()
            .any(|p| content_identities.iter().any(|i| decrypts(p, i))),
        "none of {} payloads decrypts with Astra's content keys before the withdrawal",
        found.len()
    );
    // ... and not with the long-term key: it was sealed to a content key.
    let long_term = fed.node_config(ASTRA)?.validate()?.keys.age;
    assert!(!found.iter().any(|p| decrypts(p, &long_term)));

    // The withdrawal, then every key Astra held until then reaches its end and is destroyed.
    let withdrawal = pb::SendRequest {
        to: ASTRA.into(),
        case_ref,
        priority: pb::Priority::Urgent.into(),
        body: Some(pb::Body {
            content: Some(Content::ConsentWithdrawal(pb::ConsentWithdrawal::default())),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    };
    let withdrawn = admin.send(withdrawal).await?.into_inner().message_id;
    trm_dev::lifecycle::wait_for_delivery(&lefoe, &withdrawn).await?;
    let keys_at_withdrawal: BTreeSet<String> =
        keys_then.union(&astra_key_ids(&fed)?).cloned().collect();
    trm_dev::wait::wait_for(WAIT, "the content keys of the case to be destroyed", || {
        let left =
            astra_key_ids(&fed).map(|now| now.intersection(&keys_at_withdrawal).next().is_none());
        async move { left }
    })
    .await?;
    // Each destruction is in Astra's handover log (written right after the file is gone).
    trm_dev::wait::wait_for(WAIT, "a key_retired entry for each", || {
        let mut admin = astra.admin.clone();
        let count = keys_at_withdrawal.len();
        async move {
            let retired = fixtures::log_entries(&mut admin)
                .await?
                .into_iter()
                .filter(|e| e.event == "key_retired")
                .count();
            Ok(retired >= count)
        }
    })
    .await?;
    fed.shutdown().await?;

    // Everything at rest now: no payload decrypts with anything Astra still holds.
    let astra_config = fed.node_config(ASTRA)?;
    let held = identities(
        &fed.node_data_dir(ASTRA),
        std::slice::from_ref(&astra_config.age_key),
    )?;
    assert!(
        held.len() >= 2,
        "the long-term key and the keys made ahead are still held"
    );
    let found = payloads(&data_folders(&fed))?;
    assert!(!found.is_empty(), "no age payload in any file");
    for payload in &found {
        for identity in &held {
            assert!(
                !decrypts(payload, identity),
                "a stored copy still decrypts after the erasure"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_message_sealed_to_a_key_the_addressee_lost_is_refused_with_a_code_and_sealed_again()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(AT).await?;
    fed.start_broker(RS).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    // Astra's keys are published, then Astra stops and loses them (a disk restored from
    // before they were made, say): the broker still serves them.
    let mut prekeys = PrekeysClient::new(fixtures::channel_as(&fed, LEFOE).await?);
    let ask = pb::FetchPrekeysRequest { node: ASTRA.into() };
    let before = prekeys.fetch_prekeys(ask.clone()).await?.into_inner();
    assert!(!before.prekeys.is_empty());
    fed.stop_node(ASTRA).await?;
    std::fs::remove_dir_all(fed.node_data_dir(ASTRA).join(FOLDER))?;

    // LEFÖ-IBF seals to a key Astra no longer holds; Astra refuses it with the code when it
    // is back, and LEFÖ-IBF sends the content again to Astra's new key.
    let lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut admin = lefoe.admin.clone();
    let first = admin
        .send(fixtures::referral(ASTRA)?)
        .await?
        .into_inner()
        .message_id;
    fed.start_node(ASTRA).await?;
    let astra = fixtures::party(&fed, ASTRA).await?;
    trm_dev::wait::wait_for(WAIT, "the refusal of the first referral", || {
        let mut admin = admin.clone();
        let first = first.clone();
        async move {
            let status = admin
                .status(pb::StatusRequest { message_id: first })
                .await?
                .into_inner();
            Ok(status.evidence.iter().any(|e| e.step == "rejected"))
        }
    })
    .await?;
    fixtures::wait_for_inbox(&astra.admin, 1, WAIT).await?;
    let after = prekeys.fetch_prekeys(ask).await?.into_inner();
    assert_ne!(before, after, "Astra published new keys");

    // Both are in LEFÖ-IBF's log: the refusal, with its code, and the second SENT.
    let entries = fixtures::log_entries(&mut admin).await?;
    let rejected = entries
        .iter()
        .find(|e| e.event == "rejected" && e.message_id == first)
        .ok_or_else(|| anyhow::anyhow!("no rejected entry: {entries:?}"))?;
    assert!(
        rejected.reason.contains(trm_proto::receipt::reason_words(
            trm_proto::pb::RejectReason::KeyRetired
        )),
        "{}",
        rejected.reason
    );
    let sent: Vec<_> = entries.iter().filter(|e| e.event == "sent").collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let second = sent
        .iter()
        .map(|e| e.message_id.clone())
        .find(|id| *id != first)
        .ok_or_else(|| anyhow::anyhow!("no second message"))?;
    trm_dev::lifecycle::wait_for_delivery(&lefoe, &second).await?;
    // Astra's log has the refusal too, and the content arrived once.
    let mut astra_admin = astra.admin.clone();
    let astra_log = fixtures::log_entries(&mut astra_admin).await?;
    assert!(
        astra_log
            .iter()
            .any(|e| e.event == "refused" && e.message_id == first)
    );
    assert_eq!(fixtures::inbox_ids(&mut astra_admin).await?, vec![second]);
    fed.shutdown().await?;
    Ok(())
}
