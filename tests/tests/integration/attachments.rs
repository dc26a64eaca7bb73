//! Attachments end to end between real nodes: sent from files with `trm send`, received,
//! listed and saved byte for byte; refused over the limits before anything is sealed; a forged
//! hash or an unsafe name refused by the receiver; never on disk in clear and gone with the
//! case after a consent withdrawal; covered by the H2 onward-sharing check.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::Code;
use trm_cli::attachments::{self, Pick};
use trm_cli::commands::{self, Output, exit};
use trm_dev::local::LocalFederation;
use trm_node::attachments::AttachmentLimits;
use trm_proto::attachment::sha256;
use trm_proto::pb;
use trm_proto::pb::body::Content;
use trm_tests::craft;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE, OPEN_GATE};

const WAIT: Duration = Duration::from_secs(60);
const QUIET: Output = Output { json: true };
const MIB: usize = 1024 * 1024;
/// The case of the referral template.
const CASE: &str = "AT-LEFOE-2026-0042";
/// A byte string found only in the attachments of these tests.
const MARKER: &[u8] = b"ATTACHMENT-MARKER-4c1d-scan-of-a-residence-permit";

/// `len` bytes that start with [`MARKER`], repeat it, and are otherwise not text.
fn distinctive(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = MARKER.to_vec();
    let mut state = seed | 1;
    while bytes.len() < len {
        if bytes.len().is_multiple_of(4096) {
            bytes.extend_from_slice(MARKER);
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.push((state >> 24) as u8);
    }
    bytes.truncate(len);
    bytes
}

/// The referral template, addressed to `to`, listing `listed` as its attachments.
fn referral_file(folder: &Path, to: &str, listed: &[&str]) -> anyhow::Result<PathBuf> {
    let list = listed
        .iter()
        .map(|p| format!("{p:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = trm_cli::referral_file::TEMPLATE
        .replace("to = \"astra@rs\"", &format!("to = {to:?}"))
        .replace(
            "# attachments = [\"risk-assessment.pdf\"]",
            &format!("attachments = [{list}]"),
        );
    anyhow::ensure!(
        text.contains("attachments = ["),
        "the template lists attachments"
    );
    anyhow::ensure!(text.contains(CASE), "the template's case");
    std::fs::create_dir_all(folder)?;
    let path = folder.join("referral.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::write(path, bytes)?;
    Ok(path.to_owned())
}

/// The only message in `address`'s inbox, once it has arrived.
async fn received(fed: &LocalFederation, address: &str) -> anyhow::Result<String> {
    let mut client = fed.client(address).await?;
    fixtures::wait_for_inbox(&client, 1, WAIT).await?;
    let ids = fixtures::inbox_ids(&mut client).await?;
    anyhow::ensure!(ids.len() == 1, "one message received, not {}", ids.len());
    Ok(ids.into_iter().next().unwrap_or_default())
}

/// The attachments of message `id` as `address` shows it.
async fn shown(
    fed: &LocalFederation,
    address: &str,
    id: &str,
) -> anyhow::Result<Vec<pb::Attachment>> {
    let response = fed
        .client(address)
        .await?
        .show(pb::ShowRequest {
            message_id: id.to_owned(),
        })
        .await?
        .into_inner();
    Ok(response
        .body
        .and_then(|b| b.content)
        .map(|c| trm_proto::attachment::of(&c).to_vec())
        .unwrap_or_default())
}

#[tokio::test]
async fn an_attachment_is_sent_received_listed_and_saved_byte_identical() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;

    // One file listed in the referral file (relative to it, in a subfolder), one given with
    // --attach.
    let scan = distinctive(300 * 1024, 7);
    let photo = distinctive(40 * 1024, 11);
    write(&work.path().join("case/scans/risk-assessment.pdf"), &scan)?;
    let photo_path = write(&work.path().join("elsewhere/photo.JPG"), &photo)?;
    let file = referral_file(
        &work.path().join("case"),
        ASTRA,
        &["scans/risk-assessment.pdf"],
    )?;
    commands::send_referral(&fed.node_socket(LEFOE), &file, &[photo_path], QUIET).await?;

    // Astra holds both, base names only, with their types and hashes.
    let id = received(&fed, ASTRA).await?;
    let held = shown(&fed, ASTRA, &id).await?;
    let summary: Vec<_> = held
        .iter()
        .map(|a| {
            (
                a.file_name.as_str(),
                a.media_type.as_str(),
                a.content.len(),
                a.sha256 == sha256(&a.content),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("risk-assessment.pdf", "application/pdf", scan.len(), true),
            ("photo.JPG", "image/jpeg", photo.len(), true),
        ]
    );
    let astra = fed.node_socket(ASTRA);
    attachments::list(&astra, &id, QUIET).await?;
    attachments::list(&astra, &id, Output { json: false }).await?;

    // Saved byte for byte, readable by the user only.
    let out = work.path().join("saved");
    std::fs::create_dir_all(&out)?;
    let two = attachments::save(&astra, &id, &Pick::Only, Some(&out), false, QUIET)
        .await
        .expect_err("two attachments: which one?");
    assert_eq!(two.code, exit::USAGE, "{}", two.message);
    assert!(
        two.message.contains("1 risk-assessment.pdf, 2 photo.JPG"),
        "{}",
        two.message
    );
    let pick = Pick::Name("risk-assessment.pdf".into());
    attachments::save(&astra, &id, &pick, Some(&out), false, QUIET).await?;
    let saved_path = out.join("risk-assessment.pdf");
    let saved = std::fs::read(&saved_path)?;
    assert!(saved == scan, "byte-identical");
    assert_eq!(sha256(&saved), sha256(&scan));
    assert_eq!(
        std::fs::metadata(&saved_path)?.permissions().mode() & 0o777,
        0o600
    );

    // Never over an existing file, unless asked.
    std::fs::write(&saved_path, b"the caseworker's own notes")?;
    let exists = attachments::save(&astra, &id, &pick, Some(&out), false, QUIET)
        .await
        .expect_err("exists");
    assert_eq!(exists.code, exit::REFUSED);
    assert!(
        exists.message.contains("already exists"),
        "{}",
        exists.message
    );
    assert_eq!(std::fs::read(&saved_path)?, b"the caseworker's own notes");
    attachments::save(&astra, &id, &pick, Some(&out), true, QUIET).await?;
    assert!(std::fs::read(&saved_path)? == scan, "replaced with --force");

    // By number, to a file of the user's choosing.
    let chosen = out.join("chosen.jpg");
    attachments::save(&astra, &id, &Pick::Index(2), Some(&chosen), false, QUIET).await?;
    assert!(std::fs::read(&chosen)? == photo);
    let third = attachments::save(&astra, &id, &Pick::Index(3), Some(&out), false, QUIET)
        .await
        .expect_err("no third");
    assert_eq!(third.code, exit::NOT_FOUND);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn attachments_as_large_as_the_configured_limits_pass_the_admin_socket() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    // Larger than gRPC's default of 4 MiB a message, everywhere.
    let mut broker = fed.broker_config(BROKER)?;
    broker.max_envelope_bytes = 12 * MIB;
    fed.start_broker_with(BROKER, broker).await?;
    for node in [LEFOE, ASTRA] {
        let mut config = fed.node_config(node)?;
        config.max_envelope_bytes = 12 * MIB;
        config.attachments = AttachmentLimits {
            max_file_bytes: Some(8 * MIB as u64),
            max_total_bytes: Some(10 * MIB as u64),
        };
        fed.start_node_with(node, config).await?;
    }
    let big = distinctive(6 * MIB, 3);
    let path = write(&work.path().join("interview.odt"), &big)?;
    let file = referral_file(&work.path().join("case"), ASTRA, &[])?;
    commands::send_referral(&fed.node_socket(LEFOE), &file, &[path], QUIET).await?;
    let id = received(&fed, ASTRA).await?;
    let out = work.path().join("saved.odt");
    attachments::save(
        &fed.node_socket(ASTRA),
        &id,
        &Pick::Only,
        Some(&out),
        false,
        QUIET,
    )
    .await?;
    let saved = std::fs::read(&out)?;
    assert_eq!(saved.len(), big.len());
    assert!(saved == big, "byte-identical");
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn attachments_over_the_limits_are_refused_before_sealing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let lefoe = fed.node_socket(LEFOE);
    let file = referral_file(&work.path().join("case"), ASTRA, &[])?;

    // One file over 2 MiB.
    let large = write(
        &work.path().join("large-scan.pdf"),
        &distinctive(2 * MIB + 1, 5),
    )?;
    let refused = commands::send_referral(&lefoe, &file, &[large], QUIET)
        .await
        .expect_err("over the per-file limit");
    assert_eq!(refused.code, exit::DATA, "{}", refused.message);
    assert_eq!(
        refused.message,
        "referral.attachments: attachment 1 (large-scan.pdf) is 2097153 bytes; the limit is 2097152 bytes (2 MiB) per file"
    );

    // Two files under 2 MiB each, over 3 MiB together.
    let first = write(&work.path().join("a.pdf"), &distinctive(MIB + MIB / 2, 1))?;
    let second = write(
        &work.path().join("b.pdf"),
        &distinctive(MIB + MIB / 2 + 1, 2),
    )?;
    let refused = commands::send_referral(&lefoe, &file, &[first.clone(), second], QUIET)
        .await
        .expect_err("over the per-message limit");
    assert!(
        refused
            .message
            .contains("the limit is 3145728 bytes (3 MiB) per message"),
        "{}",
        refused.message
    );

    // A kind that carries no attachments: a usage error, before the node is even asked.
    let update = work.path().join("update.toml");
    std::fs::write(
        &update,
        trm_cli::message_file::template("case_update").unwrap_or_default(),
    )?;
    let refused = commands::send_message_attaching(
        Path::new("/nonexistent/node.sock"),
        "case_update",
        &update,
        &[first],
        QUIET,
    )
    .await
    .expect_err("a case update carries no attachments");
    assert_eq!(refused.code, exit::USAGE);
    assert!(
        refused
            .message
            .contains("a case update cannot carry attachments"),
        "{}",
        refused.message
    );

    // Nothing was sealed, logged or queued; nothing arrived.
    let mut client = fed.client(LEFOE).await?;
    assert!(
        fixtures::log_entries(&mut client).await?.is_empty(),
        "nothing logged"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        fixtures::inbox_ids(&mut fed.client(ASTRA).await?)
            .await?
            .is_empty()
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_forged_hash_or_an_unsafe_name_is_refused_by_the_receiver() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let directory = craft::directory(&fed.federation)?;
    let with_attachment = |attachment: pb::Attachment| -> anyhow::Result<pb::Envelope> {
        let mut request = fixtures::referral(ASTRA)?;
        if let Some(Content::Referral(r)) = request.body.as_mut().and_then(|b| b.content.as_mut()) {
            r.attachments.push(attachment);
        }
        // Sealed as a node would, but without the sending node's checks.
        craft::sealed(&keys, &directory, &request)
    };
    let content = distinctive(1024, 9);
    let forged = with_attachment(pb::Attachment {
        file_name: "scan.pdf".into(),
        media_type: "application/pdf".into(),
        sha256: sha256(b"what the sender claims it is").to_vec(),
        content: content.clone(),
    })?;
    let unsafe_name = with_attachment(pb::Attachment {
        file_name: "../../.bashrc".into(),
        media_type: "text/plain".into(),
        sha256: sha256(&content).to_vec(),
        content,
    })?;
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    client.submit(forged).await?;
    client.submit(unsafe_name).await?;

    let mut astra = fed.client(ASTRA).await?;
    trm_dev::wait::wait_for(WAIT, "two refusals", || {
        let mut astra = astra.clone();
        async move {
            Ok(fixtures::log_entries(&mut astra)
                .await?
                .iter()
                .filter(|e| e.event == "refused")
                .count()
                == 2)
        }
    })
    .await?;
    let mut reasons: Vec<String> = fixtures::log_entries(&mut astra)
        .await?
        .into_iter()
        .map(|e| e.reason)
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "referral.attachments: attachment 1 (../../.bashrc): the file name has folders in it (a path separator)",
            "referral.attachments: attachment 1 (scan.pdf): its SHA-256 does not match its content",
        ]
    );
    assert!(
        fixtures::inbox_ids(&mut astra).await?.is_empty(),
        "nothing kept"
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn attachments_are_never_on_disk_in_clear_and_are_erased_with_the_case() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let scan = distinctive(200 * 1024, 13);
    let case_ref = CASE;
    let path = write(&work.path().join("permit.png"), &scan)?;
    commands::send_referral(
        &fed.node_socket(LEFOE),
        &referral_file(&work.path().join("case"), ASTRA, &[])?,
        &[path],
        QUIET,
    )
    .await?;
    let id = received(&fed, ASTRA).await?;
    let astra = fed.node_socket(ASTRA);
    let before = work.path().join("before.png");
    attachments::save(&astra, &id, &Pick::Only, Some(&before), false, QUIET).await?;
    assert!(std::fs::read(&before)? == scan);

    // The marker is really in what was sent, and in no store file in clear: the attachment is
    // encrypted with the message (under the case key at both ends, to Astra on the way).
    assert!(scan.windows(MARKER.len()).any(|w| w == MARKER));
    let stores = [
        fed.broker_data_dir(BROKER),
        fed.node_data_dir(LEFOE),
        fed.node_data_dir(ASTRA),
    ];
    for store in &stores {
        assert!(
            !trm_dev::wait::tree_contains(store, MARKER)?,
            "attachment in clear in {}",
            store.display()
        );
    }
    let (astra_dir, case_key) = (
        fed.node_data_dir(ASTRA),
        trm_node::cases::case_key(LEFOE, case_ref),
    );
    assert!(
        trm_tests::case_keys::has_case_key(&astra_dir, &case_key)?,
        "Astra's copy is under the case key"
    );

    // The person withdraws consent: Astra erases the case, attachments included.
    trm_cli::case_commands::withdraw_consent(
        &fed.node_socket(LEFOE),
        case_ref,
        "",
        "LEFÖ-IBF caseworker",
        "",
        QUIET,
    )
    .await?;
    trm_dev::wait::wait_for(WAIT, "the erasure at Astra", || {
        let fed = &fed;
        let id = id.clone();
        async move { Ok(shown(fed, ASTRA, &id).await?.is_empty()) }
    })
    .await?;
    let erased = attachments::save(
        &astra,
        &id,
        &Pick::Only,
        Some(&work.path().join("after.png")),
        false,
        QUIET,
    )
    .await
    .expect_err("erased");
    assert_eq!(erased.code, exit::NOT_FOUND);
    assert!(
        erased.message.contains("erased") && erased.message.contains("consent withdrawn"),
        "{}",
        erased.message
    );
    assert!(!work.path().join("after.png").exists());
    let listed = attachments::list(&astra, &id, QUIET)
        .await
        .expect_err("erased");
    assert!(listed.message.contains("erased"), "{}", listed.message);
    fed.shutdown().await?;

    // On disk: Astra's case key is gone, and the attachment is in no store file in clear.
    assert!(
        !trm_tests::case_keys::has_case_key(&astra_dir, &case_key)?,
        "the case key is destroyed"
    );
    for store in &stores {
        assert!(!trm_dev::wait::tree_contains(store, MARKER)?);
    }
    Ok(())
}

#[tokio::test]
async fn an_attachment_received_under_h2_cannot_be_passed_to_a_third_organisation()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA, OPEN_GATE]).await?;
    // LEFÖ-IBF refers under H2 (as its template does) with a file.
    let evidence = distinctive(64 * 1024, 17);
    let path = write(&work.path().join("evidence.pdf"), &evidence)?;
    let file = referral_file(&work.path().join("case"), ASTRA, &[])?;
    assert!(std::fs::read_to_string(&file)?.contains("handling_code = \"H2\""));
    commands::send_referral(&fed.node_socket(LEFOE), &file, &[path], QUIET).await?;
    received(&fed, ASTRA).await?;

    // Astra refers on to Open Gate in its own words, with the same file under another name.
    let renamed = write(&work.path().join("to-open-gate.pdf"), &evidence)?;
    let mut onward = fixtures::referral(OPEN_GATE)?;
    onward.case_ref = "RS-ASTRA-2026-0007".into();
    if let Some(Content::Referral(r)) = onward.body.as_mut().and_then(|b| b.content.as_mut()) {
        r.notes = "Referred on for shelter in Skopje.".into();
        r.services_given = vec!["shelter in Belgrade".into()];
        r.risk_assessment = None;
        r.attachments
            .push(attachments::read(&renamed).map_err(|e| anyhow::anyhow!(e.message))?);
    }
    let mut astra = fed.client(ASTRA).await?;
    let before = fixtures::log_entries(&mut astra).await?.len();
    let refused = astra
        .send(onward.clone())
        .await
        .expect_err("H2 attachment to a third organisation");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused
            .message()
            .starts_with("attachments: carries content received from")
            && refused.message().contains(LEFOE),
        "{}",
        refused.message()
    );
    assert_eq!(
        fixtures::log_entries(&mut astra).await?.len(),
        before,
        "nothing logged"
    );

    // Without the file, the same referral goes: it was the attachment that was refused.
    if let Some(Content::Referral(r)) = onward.body.as_mut().and_then(|b| b.content.as_mut()) {
        r.attachments.clear();
    }
    astra.send(onward).await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_partner_with_smaller_limits_refuses_with_a_reason_the_sender_sees() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    let mut astra = fed.node_config(ASTRA)?;
    astra.attachments = AttachmentLimits {
        max_file_bytes: Some(64 * 1024),
        max_total_bytes: Some(64 * 1024),
    };
    fed.start_node_with(ASTRA, astra).await?;
    let path = write(&work.path().join("scan.pdf"), &distinctive(100 * 1024, 19))?;
    let file = referral_file(&work.path().join("case"), ASTRA, &[])?;
    commands::send_referral(&fed.node_socket(LEFOE), &file, &[path], QUIET).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let sent = fixtures::log_entries(&mut lefoe)
        .await?
        .into_iter()
        .find(|e| e.event == "sent")
        .map(|e| e.message_id)
        .ok_or_else(|| anyhow::anyhow!("nothing sent"))?;
    fixtures::wait_for_step(&lefoe, &sent, "rejected", WAIT).await?;
    let status = lefoe
        .status(pb::StatusRequest { message_id: sent })
        .await?
        .into_inner();
    let rejected = status
        .evidence
        .iter()
        .find(|e| e.step == "rejected")
        .ok_or_else(|| anyhow::anyhow!("no rejection"))?;
    let signed = rejected.receipt.clone().unwrap_or_default();
    let receipt = <pb::Receipt as prost::Message>::decode(signed.receipt.as_slice())?;
    assert_eq!(receipt.signer, ASTRA);
    // In clear a code only; the words reach the sender encrypted, and its evidence shows them.
    assert_eq!(receipt.reason_code, i32::from(pb::RejectReason::Rule));
    assert!(receipt.reason.is_empty());
    assert!(
        rejected.detail.contains(
            "referral.attachments: attachment 1 (scan.pdf) is 102400 bytes; the limit is 65536 bytes per file"
        ),
        "{}",
        rejected.detail
    );
    assert!(
        fixtures::inbox_ids(&mut fed.client(ASTRA).await?)
            .await?
            .is_empty()
    );
    fed.shutdown().await?;
    Ok(())
}
