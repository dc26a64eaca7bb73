//! The pages that show cases: a referral Astra wrote in Belgrade, received by LEFÖ-IBF's node,
//! found in the inbox, opened from the cases list, and read whole — in German and then in
//! Serbian, its coded fields (exploitation, needs, risk level, victim status) in the reader's
//! language, its free text as written, the H2 banner on top. Every page checked with axe-core
//! and photographed. The coordinator sees the audit page and the report with its charts, and no
//! content.

use std::path::Path;
use std::time::Duration;

use trm_node::accounts::Role;
use trm_tests::browser::Browser;
use trm_tests::fixtures::{self, ASTRA, LEFOE};
use trm_tests::web::{self, PASSWORD, name_of};

#[tokio::test]
async fn a_received_referral_read_in_german_and_in_serbian() -> anyhow::Result<()> {
    let node = web::start(Path::new(env!("CARGO_BIN_EXE_node-process")), 900).await?;
    // Astra, in Belgrade, refers the case to LEFÖ-IBF.
    let mut astra = node.fed.client(ASTRA).await?;
    let sent = astra
        .send(fixtures::referral(LEFOE)?)
        .await?
        .into_inner()
        .message_id;
    fixtures::wait_for_step(&astra, &sent, "delivered", Duration::from_secs(30)).await?;

    let mut b = Browser::start("reading", &node.base(), "de").await?;
    b.sign_in(&name_of(Role::Caseworker), PASSWORD).await?;
    b.choose_language("de").await?;

    // The inbox: the referral waits for an answer, so it is new.
    b.open("/").await?;
    let row = format!("inbox-{sent}");
    assert_eq!(
        b.find(&row).await?.attr("data-group").await?.as_deref(),
        Some("new")
    );
    b.check("inbox-de").await?;

    // The cases list, filtered to open cases with a referral, then the case.
    b.open("/cases?state=open&kind=referral").await?;
    b.check("cases-de").await?;
    let case_row = format!("case-{ASTRA}-AT-LEFOE-2026-0042");
    b.find(&case_row)
        .await?
        .find(fantoccini::Locator::Css("a"))
        .await?
        .click()
        .await?;
    b.find("thread").await?;

    let field = |key: &str| format!("{sent}-referral.{key}");
    assert_eq!(
        b.text(&field("exploitation_types")).await?,
        "sexuelle Ausbeutung"
    );
    assert!(
        b.text(&field("needs"))
            .await?
            .contains("sichere Unterbringung")
    );
    assert!(
        b.text(&field("needs"))
            .await?
            .contains("psychosoziale Unterstützung")
    );
    assert_eq!(b.text(&field("risk_assessment.level")).await?, "mittel");
    assert_eq!(
        b.text(&field("victim_status")).await?,
        "identifiziertes Opfer"
    );
    let banner = b.text(&format!("{sent}-banner")).await?;
    assert!(banner.starts_with("H2: ohne Erlaubnis von"), "{banner}");
    assert!(b.has("case-banner-1").await, "the case's own H2 banner");
    assert!(b.has(&format!("action-respond-{sent}")).await);
    b.check("case-de").await?;

    // The same case in Serbian.
    let case_path = b.path().await?;
    b.choose_language("sr-Latn").await?;
    b.open(&case_path).await?;
    assert_eq!(b.lang().await?, "sr-Latn");
    assert_eq!(
        b.text(&field("exploitation_types")).await?,
        "seksualna eksploatacija"
    );
    assert!(b.text(&field("needs")).await?.contains("sklonište"));
    assert_eq!(b.text(&field("risk_assessment.level")).await?, "srednji");
    assert_eq!(
        b.text(&field("victim_status")).await?,
        "identifikovana žrtva"
    );
    b.check("case-sr-Latn").await?;
    b.open("/").await?;
    b.check("inbox-sr-Latn").await?;

    // The coordinator: the audit page, and no content anywhere.
    b.click("sign-out").await?;
    b.arrive("/signed-out").await?;
    b.sign_in(&name_of(Role::Coordinator), PASSWORD).await?;
    b.open("/coordinator").await?;
    b.find("own-log").await?;
    b.find("collect").await?;
    let page = b.find("main").await?.text().await?;
    assert!(
        !page.contains(fixtures::CANARY),
        "content on the audit page"
    );
    b.check("coordinator-de").await?;
    // The report over the node's own log, with its charts: figures, never content.
    b.click("own-report").await?;
    b.arrive("/coordinator/report").await?;
    let report = b
        .client
        .find(fantoccini::Locator::Css("body"))
        .await?
        .text()
        .await?;
    assert!(!report.contains(fixtures::CANARY), "content in the report");
    assert!(
        !report.contains("Problems found in the logs"),
        "the node's own log verifies: {report}"
    );
    assert!(
        !report.contains("AT-LEFOE-2026-0042"),
        "a case reference in the report"
    );
    assert!(
        !b.client
            .find_all(fantoccini::Locator::Css("svg"))
            .await?
            .is_empty(),
        "the report has its charts"
    );
    b.check("coordinator-report").await?;
    b.open(&case_path).await?;
    b.find("error-text").await?;
    let page = b.find("main").await?.text().await?;
    assert!(
        !page.contains(fixtures::CANARY),
        "content shown to the coordinator"
    );
    assert!(!b.has(&field("needs")).await);
    b.close().await
}
