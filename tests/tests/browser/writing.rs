//! The demo's whole case carried by two caseworkers in two browsers, by clicking and typing
//! only: LEFÖ-IBF (Vienna, in German) refers the case to Astra (Belgrade, in Serbian) with the
//! person's consent — first with a wrong nationality, which shows its error beside the field
//! and sends nothing — Astra accepts, LEFÖ-IBF requests the return with its pre-return risk
//! assessment, Astra confirms the reception, LEFÖ-IBF records that she travelled, Astra
//! reports a follow-up, and LEFÖ-IBF records the withdrawal of her consent in two steps.
//! Every step is taken from the case's page; after each, the other side's page shows the
//! message whole. Every page is checked with axe and
//! photographed under `target/browser/writing/`.

use std::time::Duration;

use anyhow::Context;
use trm_dev::demo::web::{Console, WebDemo};
use trm_dev::demo::{RECIPIENT, SENDER};
use trm_node::accounts::Role;
use trm_proto::pb;
use trm_proto::pb::body::Content;
use trm_tests::browser::Browser;
use trm_tests::web;

const CASE: &str = "AT-LEFOE-2026-0042";

/// The attached consent form's bytes (text, so the page's download can be compared).
const CONSENT_FORM: &[u8] = b"%PDF-1.4 signed consent form, AT-LEFOE-2026-0042";

/// The caseworker account of a console: name and password.
fn caseworker(console: &Console) -> anyhow::Result<(String, String)> {
    console
        .accounts
        .iter()
        .find(|(_, role, _)| *role == Role::Caseworker)
        .map(|(name, _, password)| (name.clone(), password.clone()))
        .context("no caseworker account")
}

/// Signs the console's caseworker in.
async fn sign_in(browser: &Browser, console: &Console) -> anyhow::Result<()> {
    let (name, password) = caseworker(console)?;
    browser.sign_in(&name, &password).await
}

/// Types into text fields, ticks boxes (`[x]`) and chooses in lists (`=code`).
async fn fill(browser: &Browser, fields: &[(&str, &str)]) -> anyhow::Result<()> {
    for (id, value) in fields {
        if *value == "[x]" {
            browser.click(id).await?;
        } else if let Some(code) = value.strip_prefix('=') {
            browser.find(id).await?.select_by_value(code).await?;
        } else {
            browser.fill(id, value).await?;
        }
    }
    Ok(())
}

/// The message of `kind` from `from` that `node` holds, waited for, with its content.
async fn received(
    demo: &WebDemo,
    node: &str,
    from: &str,
    kind: pb::MessageKind,
    seen: usize,
) -> anyhow::Result<pb::ShowResponse> {
    let mut admin = trm_dev::socket::connect(&demo.socket(node)).await?;
    for _ in 0..120 {
        let inbox = admin
            .inbox(pb::InboxRequest { limit: 100 })
            .await?
            .into_inner();
        let mut of_kind: Vec<&pb::MessageSummary> = inbox
            .messages
            .iter()
            .filter(|m| m.from == from && m.kind == kind as i32)
            .collect();
        of_kind.sort_by_key(|m| m.created_at_ms);
        if let Some(m) = of_kind.get(seen) {
            return Ok(admin
                .show(pb::ShowRequest {
                    message_id: m.message_id.clone(),
                })
                .await?
                .into_inner());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!("{node} did not receive a {kind:?} from {from}")
}

/// The case's page at the node whose partner in it is `partner`.
fn case_page(partner: &str) -> String {
    format!("/cases/{CASE}?counterparty={}", partner.replace('@', "%40"))
}

/// Opens the case's page and follows the link of the next step `action`.
async fn take(browser: &Browser, partner: &str, action: &str) -> anyhow::Result<()> {
    browser.open(&case_page(partner)).await?;
    browser.click(action).await?;
    browser.arrive_under(&format!("/cases/{CASE}/")).await
}

/// The text of field `key` of message `id` on the page the browser shows.
async fn shown(browser: &Browser, id: &str, key: &str) -> anyhow::Result<String> {
    browser.text(&format!("{id}-{key}")).await
}

#[tokio::test]
async fn two_caseworkers_carry_the_whole_case_by_clicking_and_typing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let demo = WebDemo::start(dir.path()).await?;
    let (lefoe, astra) = match demo.consoles.as_slice() {
        [lefoe, astra] => (lefoe.clone(), astra.clone()),
        _ => anyhow::bail!("the demo has two consoles"),
    };
    let mut vienna = Browser::start("writing", &lefoe.url, "de").await?;
    let mut belgrade = Browser::start("writing", &astra.url, "sr-Latn").await?;
    sign_in(&vienna, &lefoe).await?;
    sign_in(&belgrade, &astra).await?;

    // The referral, first with a wrong nationality: the error beside the field, nothing sent.
    vienna.open("/compose/referral").await?;
    vienna.check("referral-empty-de").await?;
    fill(
        &vienna,
        &[
            ("to", RECIPIENT),
            ("case_ref", CASE),
            ("priority", "=urgent"),
            ("referral.victim_status", "=identified"),
            ("referral.status_designated_by", "Bundeskriminalamt"),
            ("referral.status_designated_at", "2026-11-03"),
            ("referral.exploitation_types-sexual", "[x]"),
            ("referral.indicators-debt-bondage", "[x]"),
            ("referral.needs-shelter", "[x]"),
            ("referral.needs-return", "[x]"),
            ("referral.person.age_years", "24"),
            ("referral.person.sex", "=female"),
            ("referral.person.nationality", "Serbia"),
            ("referral.risk_assessment.level", "=medium"),
            (
                "referral.risk_assessment.assessed_by",
                "LEFÖ-IBF counselling team",
            ),
            ("referral.risk_assessment.assessed_at", "2026-11-05"),
            ("referral.consent.given", "[x]"),
            (
                "referral.consent.scope",
                "Referral to Astra for return and reintegration",
            ),
            ("referral.consent.obtained_by_role", "LEFÖ-IBF caseworker"),
            ("referral.consent.obtained_at", "2026-11-05"),
            ("referral.consent.language", "sr"),
            ("referral.handling_code", "=H1"),
            ("referral.notes", "Möchte nach Serbien zurückkehren."),
        ],
    )
    .await?;
    let before = web::sent_count(&demo.socket(SENDER)).await?;
    vienna.click("send").await?;
    vienna.find("referral.person.nationality-error").await?;
    vienna.find("error-summary").await?;
    assert_eq!(
        vienna
            .find("referral.person.nationality")
            .await?
            .attr("aria-invalid")
            .await?
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        vienna
            .find("referral.person.nationality")
            .await?
            .prop("value")
            .await?
            .as_deref(),
        Some("Serbia"),
        "the value typed is kept"
    );
    vienna.check("referral-wrong-nationality-de").await?;
    assert_eq!(
        web::sent_count(&demo.socket(SENDER)).await?,
        before,
        "nothing was sent"
    );
    vienna.fill("referral.person.nationality", "RS").await?;
    // The signed consent form goes with it, chosen in the file field.
    let consent_form = dir.path().join("Einverständnis.pdf");
    std::fs::write(&consent_form, CONSENT_FORM)?;
    vienna
        .find("referral.attachments")
        .await?
        .send_keys(&consent_form.display().to_string())
        .await?;
    vienna.click("send").await?;
    vienna.arrive_under(&format!("/cases/{CASE}")).await?;

    let referral = received(&demo, RECIPIENT, SENDER, pb::MessageKind::Referral, 0).await?;
    let body = referral.body.context("Astra cannot read the referral")?;
    assert_eq!(body.text_language, "de", "the author's language");
    let referral_id = referral
        .summary
        .map(|s| s.message_id)
        .context("no summary")?;
    match body.content {
        Some(Content::Referral(r)) => {
            assert_eq!(r.person.map(|p| p.nationality), Some("RS".into()));
            assert_eq!(r.notes, "Möchte nach Serbien zurückkehren.");
            assert_eq!(r.needs.len(), 2);
            assert_eq!(r.indicators, ["debt-bondage"]);
            assert_eq!(r.indicator_list_version, trm_proto::indicators::VERSION);
            let files: Vec<(&str, &[u8])> = r
                .attachments
                .iter()
                .map(|a| (a.file_name.as_str(), a.content.as_slice()))
                .collect();
            assert_eq!(files, [("Einverständnis.pdf", CONSENT_FORM)]);
        }
        other => anyhow::bail!("not a referral: {other:?}"),
    }

    // Astra's page shows the referral whole: codes in Serbian, free text as written, in German.
    belgrade.open(&case_page(SENDER)).await?;
    assert_eq!(
        shown(&belgrade, &referral_id, "referral.exploitation_types").await?,
        "seksualna eksploatacija"
    );
    assert_eq!(
        shown(&belgrade, &referral_id, "referral.indicators").await?,
        "dužničko ropstvo",
        "a code of the shared indicator list, in the reader's words"
    );
    assert_eq!(
        shown(&belgrade, &referral_id, "referral.notes").await?,
        "Möchte nach Serbien zurückkehren."
    );
    assert_eq!(
        belgrade
            .find(&format!("{referral_id}-referral.notes"))
            .await?
            .find(fantoccini::Locator::Css("[lang]"))
            .await?
            .attr("lang")
            .await?
            .as_deref(),
        Some("de"),
        "the free text is marked as German"
    );
    // The file, downloaded from the case's page as it was sent.
    let link = format!("{referral_id}-file-1");
    let href = belgrade
        .find(&link)
        .await?
        .attr("href")
        .await?
        .context("the file has no link")?;
    let downloaded = belgrade
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(r => r.text()).then(done, e => done('failed: ' + e));",
            vec![serde_json::Value::String(href)],
        )
        .await?;
    assert_eq!(
        downloaded.as_str(),
        std::str::from_utf8(CONSENT_FORM).ok(),
        "the file Astra downloads is the one LEFÖ-IBF attached"
    );
    belgrade.check("case-received-referral-sr").await?;

    // Astra accepts, from the case's page.
    take(&belgrade, SENDER, &format!("action-respond-{referral_id}")).await?;
    belgrade.check("respond-sr").await?;
    fill(
        &belgrade,
        &[
            ("referral_response.decision", "=accepted"),
            (
                "referral_response.responsible_unit",
                "Astra tim za reintegraciju",
            ),
        ],
    )
    .await?;
    belgrade.click("send").await?;
    belgrade.arrive_under(&format!("/cases/{CASE}")).await?;
    let response = received(
        &demo,
        SENDER,
        RECIPIENT,
        pb::MessageKind::ReferralResponse,
        0,
    )
    .await?;
    let response_id = response
        .summary
        .as_ref()
        .map(|s| s.message_id.clone())
        .context("no summary")?;
    assert!(matches!(
        response.body.and_then(|b| b.content),
        Some(Content::ReferralResponse(r)) if r.responsible_unit == "Astra tim za reintegraciju"
    ));
    vienna.open(&case_page(RECIPIENT)).await?;
    assert_eq!(
        shown(&vienna, &response_id, "referral_response.decision").await?,
        "angenommen"
    );
    assert_eq!(
        shown(&vienna, &response_id, "referral_response.responsible_unit").await?,
        "Astra tim za reintegraciju"
    );
    vienna.check("case-accepted-de").await?;

    // LEFÖ-IBF requests the return, with its pre-return risk assessment.
    take(&vienna, RECIPIENT, "action-return-request").await?;
    vienna.check("return-request-de").await?;
    fill(
        &vienna,
        &[
            ("return_request.voluntary_return_consent", "[x]"),
            ("return_request.travel_date", "2026-12-10"),
            ("return_request.route", "Wien - Beograd"),
            ("return_request.means", "Bus"),
            ("return_request.pre_return_risk_assessment.level", "=medium"),
            (
                "return_request.pre_return_risk_assessment.assessed_by",
                "LEFÖ-IBF counselling team",
            ),
            (
                "return_request.pre_return_risk_assessment.assessed_at",
                "2026-11-20",
            ),
            ("return_request.reception_wanted.met_by", "Astra caseworker"),
            ("return_request.consent.given", "[x]"),
            (
                "return_request.consent.scope",
                "Return arrangements with Astra",
            ),
            (
                "return_request.consent.obtained_by_role",
                "LEFÖ-IBF caseworker",
            ),
            ("return_request.consent.obtained_at", "2026-11-20"),
            ("return_request.consent.language", "sr"),
        ],
    )
    .await?;
    vienna.click("send").await?;
    vienna.arrive_under(&format!("/cases/{CASE}")).await?;
    let request = received(&demo, RECIPIENT, SENDER, pb::MessageKind::ReturnRequest, 0).await?;
    let request_id = request
        .summary
        .as_ref()
        .map(|s| s.message_id.clone())
        .context("no summary")?;
    assert!(matches!(
        request.body.and_then(|b| b.content),
        Some(Content::ReturnRequest(r))
            if r.pre_return_risk_assessment.as_ref().is_some_and(|a| a.assessed_by == "LEFÖ-IBF counselling team")
    ));

    // Astra confirms the reception.
    belgrade.open(&case_page(SENDER)).await?;
    assert_eq!(
        shown(
            &belgrade,
            &request_id,
            "return_request.pre_return_risk_assessment.assessed_by"
        )
        .await?,
        "LEFÖ-IBF counselling team"
    );
    take(
        &belgrade,
        SENDER,
        &format!("action-return-confirmation-{request_id}"),
    )
    .await?;
    belgrade.check("return-confirmation-sr").await?;
    fill(
        &belgrade,
        &[
            ("return_confirmation.reception.met_by", "Astra caseworker"),
            (
                "return_confirmation.reception.meeting_point",
                "Autobuska stanica Beograd",
            ),
        ],
    )
    .await?;
    belgrade.click("send").await?;
    belgrade.arrive_under(&format!("/cases/{CASE}")).await?;
    received(
        &demo,
        SENDER,
        RECIPIENT,
        pb::MessageKind::ReturnConfirmation,
        0,
    )
    .await?;

    // LEFÖ-IBF records that she travelled.
    take(&vienna, RECIPIENT, "action-update").await?;
    fill(
        &vienna,
        &[
            ("case_update.status", "travelled"),
            ("case_update.notes", "In Belgrad angekommen."),
        ],
    )
    .await?;
    vienna.check("update-de").await?;
    vienna.click("send").await?;
    vienna.arrive_under(&format!("/cases/{CASE}")).await?;
    let update = received(&demo, RECIPIENT, SENDER, pb::MessageKind::CaseUpdate, 0).await?;
    assert!(matches!(
        update.body.and_then(|b| b.content),
        Some(Content::CaseUpdate(u)) if u.status == "travelled"
    ));

    // Astra's follow-up a month after the return.
    take(&belgrade, SENDER, &format!("action-follow-up-{request_id}")).await?;
    fill(
        &belgrade,
        &[
            ("follow_up.months_after_return", "1"),
            (
                "follow_up.reintegration_status",
                "U programu stručne obuke.",
            ),
            ("follow_up.contact_maintained", "[x]"),
        ],
    )
    .await?;
    belgrade.check("follow-up-sr").await?;
    belgrade.click("send").await?;
    belgrade.arrive_under(&format!("/cases/{CASE}")).await?;
    let follow_up = received(&demo, SENDER, RECIPIENT, pb::MessageKind::FollowUp, 0).await?;
    assert!(matches!(
        follow_up.body.and_then(|b| b.content),
        Some(Content::FollowUp(f)) if f.months_after_return == 1 && f.contact_maintained
    ));

    // The withdrawal of consent: what is erased where, then the confirmation.
    take(&vienna, RECIPIENT, "action-withdraw-consent").await?;
    vienna.find("what-is-erased").await?;
    vienna
        .fill("consent_withdrawal.recorded_by_role", "LEFÖ-IBF caseworker")
        .await?;
    vienna.check("withdraw-step-1-de").await?;
    let before = web::sent_count(&demo.socket(SENDER)).await?;
    vienna.click("send").await?;
    vienna.find("confirm-withdrawal").await?;
    vienna.check("withdraw-step-2-de").await?;
    assert_eq!(
        web::sent_count(&demo.socket(SENDER)).await?,
        before,
        "step one sends nothing"
    );
    vienna.click("confirm-withdrawal").await?;
    vienna.arrive_under(&format!("/cases/{CASE}")).await?;
    received(
        &demo,
        RECIPIENT,
        SENDER,
        pb::MessageKind::ConsentWithdrawal,
        0,
    )
    .await?;
    let mut astra_admin = trm_dev::socket::connect(&demo.socket(RECIPIENT)).await?;
    for _ in 0..120 {
        let shown = astra_admin
            .show(pb::ShowRequest {
                message_id: referral_id.clone(),
            })
            .await?
            .into_inner();
        if shown.body.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let shown = astra_admin
        .show(pb::ShowRequest {
            message_id: referral_id,
        })
        .await?
        .into_inner();
    assert!(shown.body.is_none(), "Astra can still read the referral");

    // The directory, in both languages.
    vienna.open("/directory").await?;
    vienna.find(&format!("partner-{RECIPIENT}")).await?;
    vienna.check("directory-de").await?;
    belgrade.open("/directory?children=true").await?;
    belgrade.check("directory-sr").await?;

    vienna.close().await?;
    belgrade.close().await?;
    demo.stop().await
}
