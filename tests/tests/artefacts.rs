//! Audit artefacts name no case, between real nodes over loopback mTLS: bundles (`trm log
//! export`) and all three formats of `trm audit report` hold none of the federation's case
//! references, byte for byte; cases are named by pseudonyms, the same for one case within one
//! audience's export and different for another audience; and a case reference that reads like
//! a personal name is refused at send, naming the field, with nothing stored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use prost::Message;
use trm_cli::audit;
use trm_cli::audit_report::command::{self as report, Request};
use trm_cli::commands::Output;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

const WAIT: Duration = Duration::from_secs(30);
const FEDERATION: &str = "trm-test";
const QUIET: Output = Output { json: false };

/// Sends the demo referral from `from` to `to` under `case_ref` and waits until it is
/// delivered; answers its id.
async fn deliver(
    fed: &LocalFederation,
    from: &str,
    to: &str,
    case_ref: &str,
) -> anyhow::Result<String> {
    let client = fed.client(from).await?;
    let mut request = fixtures::referral(to)?;
    request.case_ref = case_ref.to_owned();
    let sent = client.clone().send(request).await?.into_inner();
    fixtures::wait_for_step(&client, &sent.message_id, "delivered", WAIT).await?;
    Ok(sent.message_id)
}

async fn export(
    fed: &LocalFederation,
    node: &str,
    path: &Path,
    audience: &str,
) -> anyhow::Result<pb::LogBundle> {
    audit::export(&fed.node_socket(node), path, true, audience, QUIET).await?;
    Ok(pb::LogBundle::decode(std::fs::read(path)?.as_slice())?)
}

/// Each message's case pseudonyms in `bundle` (one per entry about it).
fn pseudonyms_by_message(
    bundle: &pb::LogBundle,
) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    anyhow::ensure!(bundle.case_pseudonyms.len() == bundle.entries.len());
    let mut by_message: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (bytes, pseudonym) in bundle.entries.iter().zip(&bundle.case_pseudonyms) {
        let entry = pb::LogEntry::decode(bytes.as_slice())?;
        anyhow::ensure!(entry.case_ref.is_empty(), "a raw reference: {entry:?}");
        if entry.case_tag.is_empty() {
            continue;
        }
        by_message
            .entry(entry.message_id)
            .or_default()
            .insert(pseudonym.clone());
    }
    Ok(by_message)
}

/// The one pseudonym of `message` in `by_message`.
fn one(by_message: &BTreeMap<String, BTreeSet<String>>, message: &str) -> anyhow::Result<String> {
    let names = by_message
        .get(message)
        .ok_or_else(|| anyhow::anyhow!("no entry names the case of {message}"))?;
    anyhow::ensure!(
        names.len() == 1,
        "{message} has several pseudonyms: {names:?}"
    );
    let name = names.iter().next().cloned().unwrap_or_default();
    anyhow::ensure!(name.starts_with("case-"), "{name}");
    Ok(name)
}

#[tokio::test]
async fn bundles_and_reports_carry_no_case_reference_and_pseudonyms_follow_the_audience()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let demo_ref = fixtures::referral(ASTRA)?.case_ref;
    let refs = [demo_ref.as_str(), "AT-LEFOE-2026-0043", "rs-astra-17"];
    let first = deliver(&fed, LEFOE, ASTRA, refs[0]).await?;
    let second = deliver(&fed, LEFOE, ASTRA, refs[0]).await?;
    let other = deliver(&fed, LEFOE, ASTRA, refs[1]).await?;
    let back = deliver(&fed, ASTRA, LEFOE, refs[2]).await?;

    let files = |name: &str| dir.path().join(name);
    let court = export(&fed, LEFOE, &files("lefoe-court.bundle"), "court").await?;
    let court_again = export(&fed, LEFOE, &files("lefoe-court-2.bundle"), "court").await?;
    let ministry = export(&fed, LEFOE, &files("lefoe-ministry.bundle"), "ministry").await?;
    let astra = export(&fed, ASTRA, &files("astra-court.bundle"), "court").await?;
    assert_eq!(court.audience, "court");

    // Within one audience: one pseudonym per case, stable from export to export; two cases,
    // two pseudonyms.
    let by_court = pseudonyms_by_message(&court)?;
    let case = one(&by_court, &first)?;
    assert_eq!(one(&by_court, &second)?, case);
    assert_ne!(one(&by_court, &other)?, case);
    assert_eq!(one(&pseudonyms_by_message(&court_again)?, &first)?, case);
    // Another audience cannot link its pseudonyms to the court's.
    let by_ministry = pseudonyms_by_message(&ministry)?;
    assert_ne!(one(&by_ministry, &first)?, case);
    assert_eq!(one(&by_ministry, &second)?, one(&by_ministry, &first)?);
    let court_names: BTreeSet<&String> = by_court.values().flatten().collect();
    assert!(
        by_ministry
            .values()
            .flatten()
            .all(|n| !court_names.contains(n))
    );
    // Astra names the case its own way: its pseudonyms are not LEFÖ-IBF's.
    let by_astra = pseudonyms_by_message(&astra)?;
    assert_ne!(one(&by_astra, &first)?, case);
    assert!(by_astra.contains_key(&back));

    // The three formats of `trm audit report` over the court's bundles.
    let bundles = vec![files("lefoe-court.bundle"), files("astra-court.bundle")];
    let mut written: Vec<(String, Vec<u8>)> = Vec::new();
    for format in ["json", "csv", "html"] {
        let out = files(&format!("report.{format}"));
        report::run_and_judge(&Request {
            directory: fed.federation.dir.join("directory.pb"),
            authority_key: hex::encode(fed.federation.authority.verifying_key().as_bytes()),
            federation: FEDERATION.into(),
            bundles: bundles.clone(),
            format: Some(format.into()),
            json: false,
            out: Some(out.clone()),
        })?;
        written.push((format.into(), std::fs::read(&out)?));
    }
    let json: serde_json::Value = serde_json::from_slice(&written[0].1)?;
    assert_eq!(json["verification"]["ok"], true, "{json}");
    assert!(
        json["figures"]["handovers_total"].as_u64() >= Some(4),
        "{json}"
    );
    fed.shutdown().await?;

    // No artefact holds a case reference, nor the tag a node keeps in its entries.
    let mut artefacts: Vec<(String, Vec<u8>)> = written;
    for name in [
        "lefoe-court.bundle",
        "lefoe-court-2.bundle",
        "lefoe-ministry.bundle",
        "astra-court.bundle",
    ] {
        artefacts.push((name.into(), std::fs::read(files(name))?));
    }
    for (name, bytes) in &artefacts {
        for reference in refs {
            assert!(
                !contains(bytes, reference.as_bytes()),
                "{name} holds the case reference {reference}"
            );
        }
    }
    let tags: BTreeSet<Vec<u8>> = court
        .entries
        .iter()
        .filter_map(|bytes| pb::LogEntry::decode(bytes.as_slice()).ok())
        .map(|entry| entry.case_tag)
        .filter(|tag| !tag.is_empty())
        .collect();
    assert!(!tags.is_empty());
    for (name, bytes) in artefacts.iter().take(3) {
        let text = String::from_utf8_lossy(bytes);
        for tag in &tags {
            assert!(!text.contains(&hex::encode(tag)), "{name} shows a case tag");
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn a_case_reference_that_reads_like_a_name_is_refused_at_send() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut client = fed.client(LEFOE).await?;
    let before = fixtures::log_entries(&mut client).await?.len();
    for name in [
        "Maria.Petrovic",
        "Maria-Petrovic",
        "Jelena Markovic",
        "maria.petrovic",
    ] {
        let mut request = fixtures::referral(ASTRA)?;
        request.case_ref = name.to_owned();
        let refused = client
            .send(request)
            .await
            .expect_err("a name as case reference");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        let message = refused.message();
        assert!(message.starts_with("case_ref: "), "{message}");
        assert!(message.contains("looks like a personal name"), "{message}");
        assert!(!message.contains(name), "the name is echoed: {message}");
    }
    // Nothing was stored, logged or sent.
    assert_eq!(fixtures::log_entries(&mut client).await?.len(), before);
    for accepted in ["AT-LEFOE-2026-0043", "rs-astra-17"] {
        deliver(&fed, LEFOE, ASTRA, accepted).await?;
    }
    fed.shutdown().await?;
    Ok(())
}
