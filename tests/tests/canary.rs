//! What a broker keeps and logs is routing metadata only. Two brokers run as processes of their
//! own (logging at INFO to files), two organisations exchange a whole case through them whose
//! case references and free texts are unique canary strings: a referral, its acceptance, a
//! message the addressee refuses, one that expires on the way, and a consent withdrawal. Then
//! every byte of both brokers' data folders and both logs is read, and no canary string, case
//! reference or refusal wording is found; the receipts a broker holds are decoded, and carry
//! no log index, checkpoint, proof, erasure count or words in clear.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use trm_cli::case_commands::Answer;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_tests::{craft, fixtures, process};

const AT: &str = "at";
const RS: &str = "rs";
/// The sender, homed on `at`.
const LEFOE: &str = "lefoe-ibf@at";
/// The addressee, homed on `rs`.
const ASTRA: &str = "astra@rs";
/// An addressee that never comes online: what is sent to it expires on `rs`.
const OPEN_GATE: &str = "open-gate@rs";
const WAIT: Duration = Duration::from_secs(30);

/// The case's reference.
const CASE: &str = "CNRY-c4se-7f3a9e-0001";
/// The reference of the case a crafted, refused message names.
const REFUSED_CASE: &str = "CNRY-r3fu-5ed0b2-0002";
/// The reference every crafted envelope carries (`craft`'s own).
const CRAFTED_CASE: &str = "AT-LEFOE-2026-0042";
/// Free text in the acceptance.
const UNIT: &str = "CNRY-unit-9b1c4d-reintegration";
/// Free text in the withdrawal.
const WITHDRAWAL_NOTES: &str = "CNRY-notes-e2a871-withdrawn-by-phone";
/// What the addressee's refusal says in words (it names the case).
const REFUSAL_WORDS: &str = "has no referral";

async fn federation(root: &Path) -> anyhow::Result<LocalFederation> {
    LocalFederation::create(
        root,
        "trm-canary-test",
        &[(RS, "RS"), (AT, "AT")],
        &[
            (ASTRA, "Astra", "ngo", "RS"),
            (OPEN_GATE, "Open Gate", "ngo", "RS"),
            (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
        ],
    )
    .await
}

/// Starts broker `name` as a process logging at INFO to `log`.
async fn spawn_broker(
    fed: &LocalFederation,
    dir: &Path,
    name: &str,
    log: &Path,
) -> anyhow::Result<process::BrokerProcess> {
    let material = fed
        .federation
        .broker(name)
        .ok_or_else(|| anyhow::anyhow!("no broker {name}"))?
        .clone();
    let addr = fed.broker_addr(name)?;
    let mut config =
        trm_dev::devfed::broker_config(&fed.federation, &material, addr, fed.broker_data_dir(name));
    config.relay_backoff_initial_ms = 100;
    config.relay_backoff_max_ms = 500;
    config.quotas.expiry_sweep_secs = 1;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(&config)?)?;
    process::spawn_broker_logging(
        Path::new(env!("CARGO_BIN_EXE_broker-process")),
        &path,
        addr,
        Stdio::from(std::fs::File::create(log)?),
        "info",
    )
    .await
}

/// Every file under `dir`.
fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(files(&path)?);
        } else {
            found.push(path);
        }
    }
    Ok(found)
}

/// The files among `paths` whose bytes contain `needle`.
fn holding(paths: &[PathBuf], needle: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path)?;
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            found.push(path.clone());
        }
    }
    Ok(found)
}

/// Waits until the file at `path` holds a line with all of `words`.
async fn wait_for_line(path: &Path, words: &[&str]) -> anyhow::Result<()> {
    trm_dev::wait::wait_for(WAIT, "a line in a broker's log", || async move {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        Ok(text.lines().any(|l| words.iter().all(|w| l.contains(w))))
    })
    .await
}

fn send_request(to: &str, case_ref: &str, content: pb::body::Content) -> pb::SendRequest {
    pb::SendRequest {
        to: to.into(),
        case_ref: case_ref.into(),
        priority: pb::Priority::Routine.into(),
        body: Some(pb::Body {
            content: Some(content),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    }
}

#[tokio::test]
async fn brokers_keep_and_log_no_case_reference_and_no_free_text() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    let (at_log, rs_log) = (dir.path().join("at.log"), dir.path().join("rs.log"));
    let mut at = spawn_broker(&fed, dir.path(), AT, &at_log).await?;
    let mut rs = spawn_broker(&fed, dir.path(), RS, &rs_log).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let lefoe = fed.client(LEFOE).await?;
    let astra = fed.client(ASTRA).await?;

    // A referral (its notes carry `fixtures::CANARY`) and its acceptance.
    let mut referral = fixtures::referral(ASTRA)?;
    referral.case_ref = CASE.into();
    let sent = lefoe.clone().send(referral.clone()).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    let accept = Answer::Accept { unit: UNIT.into() }.to_pb(&sent.message_id);
    let accepted = astra
        .clone()
        .send(send_request(
            LEFOE,
            CASE,
            pb::body::Content::ReferralResponse(accept),
        ))
        .await?
        .into_inner();
    fixtures::wait_for_step(&astra, &accepted.message_id, "delivered", WAIT).await?;

    // A step the addressee refuses: an answer to a referral it never received. Its refusal in
    // words names the case; it goes back to the sender encrypted.
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let directory = craft::directory(&fed.federation)?;
    let answer = Answer::Accept { unit: UNIT.into() }.to_pb("0000-no-such-referral");
    let refused = craft::sealed(
        &keys,
        &directory,
        &send_request(
            ASTRA,
            REFUSED_CASE,
            pb::body::Content::ReferralResponse(answer),
        ),
    )?;
    let mut raw = fixtures::raw_client_as(&fed, LEFOE).await?;
    raw.submit(refused).await?;
    fixtures::wait_for_log_event(&astra, "refused", WAIT).await?;

    // A referral to an organisation that never comes online: it expires on rs.
    let content = referral
        .body
        .clone()
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("no content"))?;
    let now = trm_proto::time::now_ms();
    let expiring = craft::dated(
        &keys,
        &directory,
        &OPEN_GATE.parse()?,
        (now, now + 3_000),
        content,
    )?;
    let expiring_id = trm_proto::envelope::Header::decode(&expiring.header)?
        .message_id
        .to_string();
    raw.submit(expiring).await?;
    wait_for_line(&rs_log, &["expired envelope removed", &expiring_id]).await?;

    // The withdrawal, delivered while its sender is offline: the addressee's DELIVERED
    // receipt then waits on at, where it is read below.
    fed.stop_node(ASTRA).await?;
    let withdrawal = pb::body::Content::ConsentWithdrawal(pb::ConsentWithdrawal {
        withdrawn_at_ms: trm_proto::time::now_ms(),
        recorded_by_role: "caseworker".into(),
        notes: WITHDRAWAL_NOTES.into(),
    });
    let withdrawn = lefoe
        .clone()
        .send(send_request(ASTRA, CASE, withdrawal))
        .await?
        .into_inner();
    fixtures::wait_for_step(&lefoe, &withdrawn.message_id, "relayed", WAIT).await?;
    fed.stop_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    wait_for_line(
        &at_log,
        &["relayed receipt queued for sender", &withdrawn.message_id],
    )
    .await?;
    fed.stop_node(ASTRA).await?;
    at.kill()?;
    rs.kill()?;

    // Every byte both brokers keep and logged.
    let mut paths = files(&fed.broker_data_dir(AT))?;
    paths.extend(files(&fed.broker_data_dir(RS))?);
    paths.extend([at_log.clone(), rs_log.clone()]);
    assert!(paths.len() > 4, "{paths:?}");
    for needle in [
        CASE,
        REFUSED_CASE,
        CRAFTED_CASE,
        fixtures::CANARY,
        UNIT,
        WITHDRAWAL_NOTES,
        REFUSAL_WORDS,
    ] {
        assert_eq!(holding(&paths, needle)?, Vec::<PathBuf>::new(), "{needle}");
    }
    // The check can fail: the ids it waited for are in the logs.
    assert!(!holding(&paths, &withdrawn.message_id)?.is_empty());

    // The receipts waiting on at for the sender carry a code and a sealed part, nothing else.
    let store = trm_broker::store::EmbeddedStore::open(&fed.broker_data_dir(AT))?;
    let lefoe_addr = LEFOE.parse()?;
    let queued =
        trm_broker::store::BrokerStore::pending(&store, &lefoe_addr, 0, usize::MAX).await?;
    let receipts: Vec<pb::Receipt> = queued
        .into_iter()
        .filter_map(|q| match q.delivery.item {
            Some(pb::delivery::Item::Receipt(signed)) => trm_proto::receipt::peek(&signed).ok(),
            _ => None,
        })
        .collect();
    let delivered = receipts
        .iter()
        .find(|r| r.message_id == withdrawn.message_id && r.signer == ASTRA)
        .ok_or_else(|| anyhow::anyhow!("no DELIVERED receipt waits on at: {receipts:?}"))?;
    assert_eq!(delivered.kind, i32::from(pb::ReceiptKind::Delivered));
    assert!(!delivered.sealed_for_sender.is_empty());
    for receipt in &receipts {
        assert_eq!(
            (
                receipt.log_index,
                receipt.erased_messages,
                receipt.checkpoint.as_str(),
                receipt.consistency_from,
                receipt.consistency_proof.len(),
                receipt.reason.as_str(),
            ),
            (0, 0, "", 0, 0, ""),
            "{receipt:?}"
        );
    }
    // What the sender reads in it: the erasure it acknowledges.
    let private = trm_node::receipt_private::read(delivered, &keys)?
        .ok_or_else(|| anyhow::anyhow!("no part for the sender"))?;
    assert!(private.erased_messages >= 1, "{private:?}");
    assert!(private.log_index > 0);
    drop(store);
    fed.shutdown().await?;
    Ok(())
}
