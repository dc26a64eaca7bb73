//! `trm audit report` over bundles exported by real nodes after a real exchange: the command
//! writes all three formats through files, they count what happened, and none of them carries
//! case content (the canary, the person's names, the notes); over a tampered bundle it still
//! writes the report, which lists the finding, and fails as `trm audit verify` does.

use prost::Message;
use trm_cli::audit_report::command::{self, Request};
use trm_cli::commands::exit;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, CANARY, LEFOE};

use super::audit::{authority_key, directory_file, exchanged, export};

#[tokio::test]
async fn reports_in_every_format_count_the_exchange_and_carry_no_content() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (fed, ids) = exchanged(dir.path()).await?;
    let bundles = vec![
        export(&fed, LEFOE, dir.path(), "lefoe.bundle").await?,
        export(&fed, ASTRA, dir.path(), "astra.bundle").await?,
    ];
    let request = fixtures::referral(ASTRA)?;
    let Some(pb::body::Content::Referral(referral)) = request.body.and_then(|b| b.content) else {
        anyhow::bail!("the fixture is a referral");
    };
    let person = referral.person.unwrap_or_default();
    let content: Vec<String> = [
        CANARY.to_owned(),
        person.given_name,
        person.family_name,
        referral.notes,
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();

    for format in ["json", "csv", "html"] {
        let out = dir.path().join(format!("report.{format}"));
        let report = command::run(&Request {
            directory: directory_file(&fed),
            authority_key: authority_key(&fed),
            federation: "trm-test".into(),
            bundles: bundles.clone(),
            format: Some(format.into()),
            json: false,
            out: Some(out.clone()),
        })?;
        // LEFÖ-IBF sent Astra two referrals and Astra one back, all delivered seconds ago;
        // none answered yet, and none due yet.
        assert!(report.verification.ok, "{:?}", report.verification);
        let f = &report.figures;
        assert_eq!(f.handovers_total, 3);
        assert_eq!(f.timings[0].count, 3);
        assert_eq!(f.unanswered_referrals.len(), 0);
        assert_eq!(f.awaiting_referrals.len(), 3);
        assert_eq!((f.referrals.sent, f.referrals.awaiting_not_yet_due), (3, 3));
        assert_eq!(
            f.initiators
                .iter()
                .map(|c| (c.label.as_str(), c.count))
                .collect::<Vec<_>>(),
            [("ngo", 3)]
        );
        assert_eq!(
            f.per_country_pair
                .iter()
                .map(|c| (c.label.as_str(), c.count))
                .collect::<Vec<_>>(),
            [("AT→RS", 2), ("RS→AT", 1)]
        );
        let text = std::fs::read_to_string(&out)?;
        assert!(
            text.contains(&ids[0]),
            "{format} lists the referral awaiting its answer"
        );
        for needle in &content {
            assert!(
                !text.contains(needle.as_str()),
                "{format} contains {needle:?}"
            );
        }
        // Organisations go by the directory's names.
        assert!(text.contains("Astra"), "{format} names Astra");
    }

    // Astra's first entry rewritten: the report is still written, lists the finding, and the
    // command fails with verification's exit code.
    let mut bundle = pb::LogBundle::decode(std::fs::read(&bundles[1])?.as_slice())?;
    let first = bundle
        .entries
        .first_mut()
        .ok_or_else(|| anyhow::anyhow!("no entry"))?;
    let mut entry = pb::LogEntry::decode(first.as_slice())?;
    entry.at_ms += 1;
    *first = entry.encode_to_vec();
    let tampered = dir.path().join("astra-tampered.bundle");
    std::fs::write(&tampered, bundle.encode_to_vec())?;
    let out = dir.path().join("tampered.html");
    let request = Request {
        directory: directory_file(&fed),
        authority_key: authority_key(&fed),
        federation: "trm-test".into(),
        bundles: vec![bundles[0].clone(), tampered],
        format: None,
        json: false,
        out: Some(out.clone()),
    };
    let Err(failed) = command::run_and_judge(&request) else {
        anyhow::bail!("a report over a tampered bundle succeeded");
    };
    assert_eq!(failed.code, exit::CHECK_FAILED, "{}", failed.message);
    let page = std::fs::read_to_string(&out)?;
    assert!(page.contains("Problems found in the logs"));
    assert!(page.contains("entries were changed after the organisation signed for them"));

    // --json is the JSON report; with --format it is a usage error, and nothing is written.
    let json_out = dir.path().join("report-json");
    let as_json = Request {
        format: None,
        json: true,
        out: Some(json_out.clone()),
        bundles: bundles.clone(),
        ..request.clone()
    };
    command::run_and_judge(&as_json)?;
    let json = std::fs::read_to_string(&json_out)?;
    assert!(json.starts_with('{'), "{json}");
    assert!(json.contains("\"awaiting_not_yet_due\": 3"), "{json}");
    let both = Request {
        format: Some("csv".into()),
        out: Some(dir.path().join("both.csv")),
        ..as_json
    };
    let Err(usage) = command::run_and_judge(&both) else {
        anyhow::bail!("--json with --format was accepted");
    };
    assert_eq!(usage.code, exit::USAGE, "{}", usage.message);
    assert!(!dir.path().join("both.csv").exists());
    Ok(())
}
