//! `trm audit report` over bundles exported by real nodes after a real exchange: the command
//! writes all three formats through files, they count what happened, and none of them carries
//! case content (the canary, the person's names, the notes).

use trm_cli::audit_report::command::{self, Request};
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
        assert_eq!(
            (f.referrals.sent, f.referrals.awaiting_not_yet_due),
            (3, 3)
        );
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
    }
    Ok(())
}
