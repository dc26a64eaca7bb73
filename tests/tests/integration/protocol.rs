//! The referral protocol's rules and lifecycle between real nodes: the Serbian woman's whole
//! case, the unaccompanied child, consent and its override, H2 information kept from third
//! organisations, consent withdrawal with erasure, and deadlines judged by a controllable clock.

use std::time::Duration;

use tonic::Code;
use trm_dev::lifecycle::{self, Party};
use trm_node::maintenance;
use trm_node::node::Node;
use trm_node::store::NodeStore;
use trm_proto::pb;
use trm_proto::pb::body::Content;
use trm_tests::craft;
use trm_tests::fixtures::{self, ASTRA, CANARY, LEFOE, OPEN_GATE, POLICE};

const CASE: &str = "AT-LEFOE-2026-0042";
const HOUR_MS: u64 = 3600 * 1000;

fn referral_content(request: &pb::SendRequest) -> anyhow::Result<pb::Referral> {
    match request.body.as_ref().and_then(|b| b.content.clone()) {
        Some(Content::Referral(r)) => Ok(r),
        _ => anyhow::bail!("not a referral"),
    }
}

/// A request to send `content` to `to` in `case_ref`.
fn message(to: &str, case_ref: &str, priority: pb::Priority, content: Content) -> pb::SendRequest {
    pb::SendRequest {
        to: to.into(),
        case_ref: case_ref.into(),
        priority: priority.into(),
        body: Some(pb::Body {
            content: Some(content),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    }
}

fn with_referral(to: &str, referral: pb::Referral) -> anyhow::Result<pb::SendRequest> {
    let mut request = fixtures::referral(to)?;
    request.body = Some(pb::Body {
        content: Some(Content::Referral(referral)),
        ..Default::default()
    });
    Ok(request)
}

async fn log_len(party: &mut Party) -> anyhow::Result<usize> {
    Ok(fixtures::log_entries(&mut party.admin).await?.len())
}

async fn log_verifies(party: &mut Party) -> anyhow::Result<bool> {
    Ok(party
        .admin
        .verify_log(pb::VerifyLogRequest {})
        .await?
        .into_inner()
        .ok)
}

async fn send(party: &mut Party, request: pb::SendRequest) -> anyhow::Result<String> {
    Ok(party.admin.send(request).await?.into_inner().message_id)
}

/// Sends `request` and waits until the addressee's DELIVERED receipt is back.
async fn deliver(party: &mut Party, request: pb::SendRequest) -> anyhow::Result<String> {
    let id = send(party, request).await?;
    lifecycle::wait_for_delivery(party, &id).await?;
    Ok(id)
}

async fn case_of(party: &mut Party, counterparty: &str) -> anyhow::Result<pb::CaseResponse> {
    Ok(party
        .cases
        .case(pb::CaseRequest {
            case_ref: CASE.into(),
            counterparty: counterparty.into(),
            content: true,
        })
        .await?
        .into_inner())
}

fn item<'a>(case: &'a pb::CaseResponse, message_id: &str) -> anyhow::Result<&'a pb::CaseItem> {
    case.summary
        .as_ref()
        .and_then(|s| s.items.iter().find(|i| i.message_id == message_id))
        .ok_or_else(|| anyhow::anyhow!("no item {message_id}"))
}

#[tokio::test]
async fn the_serbian_womans_case_runs_its_whole_lifecycle_across_both_nodes() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut astra = fixtures::party(&fed, ASTRA).await?;

    let referral = deliver(&mut lefoe, fixtures::referral(ASTRA)?).await?;
    let transcript = lifecycle::run(&mut lefoe, &mut astra, CASE, &referral, |_, _| {}).await?;
    let kinds: Vec<&str> = transcript.iter().map(|(_, kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [
            "acceptance",
            "return request",
            "return confirmation",
            "travelled update",
            "follow-up",
            "follow-up",
            "court-travel update"
        ]
    );
    let return_id = &transcript[1].2;
    for (side, counterparty) in [(&mut lefoe, ASTRA), (&mut astra, LEFOE)] {
        let case = case_of(side, counterparty).await?;
        let summary = case.summary.clone().unwrap_or_default();
        assert_eq!(
            summary.messages, 8,
            "{}: every message in the thread",
            side.address
        );
        assert_eq!(item(&case, &referral)?.state, "accepted");
        let ret = item(&case, return_id)?;
        assert_eq!((ret.state.as_str(), ret.follow_ups), ("followed_up", 2));
        // The next follow-up (6 months) is what the return now owes.
        assert!(
            ret.due.contains("6 months"),
            "{}: {:?}",
            side.address,
            ret.due
        );
        // Every message reads back on both sides, the court-travel details included.
        let court = case
            .thread
            .last()
            .and_then(|e| e.body.as_ref())
            .and_then(|b| b.content.clone());
        assert!(
            matches!(court, Some(Content::CaseUpdate(u)) if u.court_travel.as_ref().is_some_and(|t| !t.video_link && !t.lawyer.is_empty()))
        );
        assert!(log_verifies(side).await?, "{} log", side.address);
    }
    // Every message the lifecycle sent holds the addressee's signed DELIVERED receipt.
    for (sender, _, id) in &transcript {
        let side = if sender == LEFOE {
            &mut lefoe
        } else {
            &mut astra
        };
        let steps = fixtures::steps(&mut side.admin, id).await?;
        assert!(steps.contains(&"delivered".to_owned()), "{id}: {steps:?}");
    }
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_unaccompanied_child_is_refused_without_a_guardian_and_accepted_with_one()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Open Gate does not take referrals of children, as its directory entry says.
    let mut fed = fixtures::federation_with(dir.path(), |spec| {
        for node in &mut spec.nodes {
            node.accepts_child_referrals = node.address != OPEN_GATE;
        }
    })
    .await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut astra = fixtures::party(&fed, ASTRA).await?;

    let mut child = referral_content(&fixtures::referral(ASTRA)?)?;
    if let Some(person) = child.person.as_mut() {
        person.age_years = 16;
    }
    child.child = true;
    child.unaccompanied = true;
    child.guardian = None;
    if let Some(consent) = child.consent.as_mut() {
        consent.child_view = "wants to finish school in Belgrade".into();
    }
    let before = log_len(&mut lefoe).await?;
    let refused = lefoe
        .admin
        .send(with_referral(ASTRA, child.clone())?)
        .await
        .expect_err("a child without a guardian is refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("referral.guardian:"),
        "{}",
        refused.message()
    );
    assert_eq!(log_len(&mut lefoe).await?, before, "nothing logged");

    child.guardian = Some(pb::Guardian {
        appointed_by: "Vienna child and youth welfare (MA 11)".into(),
        role: "legal guardian for unaccompanied minors".into(),
        contact_via: "MA 11 duty line".into(),
    });
    let elsewhere = lefoe
        .admin
        .send(with_referral(OPEN_GATE, child.clone())?)
        .await
        .expect_err("a partner that does not take children");
    assert!(
        elsewhere.message().starts_with("referral.child:")
            && elsewhere.message().contains(OPEN_GATE),
        "{}",
        elsewhere.message()
    );
    assert_eq!(log_len(&mut lefoe).await?, before, "nothing logged");
    let id = send(&mut lefoe, with_referral(ASTRA, child)?).await?;
    lifecycle::wait_for_delivery(&lefoe, &id).await?;
    lifecycle::send(
        &mut astra,
        &lefoe,
        CASE,
        pb::Priority::Urgent,
        Content::ReferralResponse(pb::ReferralResponse {
            referral_message_id: id.clone(),
            decision: pb::referral_response::Decision::Accepted.into(),
            responsible_unit: "Astra child protection team".into(),
            ..Default::default()
        }),
    )
    .await?;
    lifecycle::wait_for_item(&lefoe, ASTRA, CASE, &id, "accepted").await?;
    let entries = fixtures::log_entries(&mut lefoe.admin).await?;
    let sent = entries
        .iter()
        .find(|e| e.event == "sent" && e.message_id == id)
        .ok_or_else(|| anyhow::anyhow!("no SENT entry"))?;
    assert!(sent.flags.contains(&"child".to_owned()), "{:?}", sent.flags);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_referral_without_consent_is_refused_and_an_override_is_sent_and_shown_in_the_log()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;

    let mut referral = referral_content(&fixtures::referral(ASTRA)?)?;
    referral.consent = None;
    let before = log_len(&mut lefoe).await?;
    let refused = lefoe
        .admin
        .send(with_referral(ASTRA, referral.clone())?)
        .await
        .expect_err("no consent record");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("referral.consent:"),
        "{}",
        refused.message()
    );
    referral.consent = Some(pb::ConsentRecord {
        given: false,
        ..Default::default()
    });
    let refused = lefoe
        .admin
        .send(with_referral(ASTRA, referral.clone())?)
        .await
        .expect_err("consent refused and no legal basis");
    assert!(
        refused.message().contains("override_legal_basis"),
        "{}",
        refused.message()
    );
    assert_eq!(log_len(&mut lefoe).await?, before, "nothing logged");
    let inbox = fed
        .client(ASTRA)
        .await?
        .inbox(pb::InboxRequest { limit: 10 })
        .await?;
    assert!(inbox.into_inner().messages.is_empty(), "nothing sent");

    referral.consent = Some(pb::ConsentRecord {
        given: false,
        override_legal_basis: "Austrian Criminal Procedure Code §66a: danger to life".into(),
        obtained_by_role: "LEFÖ-IBF caseworker".into(),
        ..Default::default()
    });
    let id = send(&mut lefoe, with_referral(ASTRA, referral)?).await?;
    lifecycle::wait_for_delivery(&lefoe, &id).await?;
    for side in [LEFOE, ASTRA] {
        let mut client = fed.client(side).await?;
        let entries = fixtures::log_entries(&mut client).await?;
        let entry = entries
            .iter()
            .find(|e| e.message_id == id && (e.event == "sent" || e.event == "received"))
            .ok_or_else(|| anyhow::anyhow!("{side}: no entry"))?;
        assert!(
            entry.flags.contains(&"consent_overridden".to_owned())
                && !entry.flags.contains(&"consent".to_owned()),
            "{side}: {:?}",
            entry.flags
        );
    }
    fed.shutdown().await?;
    Ok(())
}

/// What the Serbian contact told the police about the recruiter; passed on under H2.
const H2_INFORMATION: &str = "The recruiter works from a cafe near the Subotica bus station \
    under the alias Marko and moved two more women from the same village to Vienna in March.";

#[tokio::test]
async fn information_answered_under_h2_cannot_be_passed_to_a_third_organisation()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation_with_police(dir.path()).await?;
    fixtures::start(&mut fed, &[POLICE, ASTRA, OPEN_GATE]).await?;
    let mut police = fixtures::party(&fed, POLICE).await?;
    let mut astra = fixtures::party(&fed, ASTRA).await?;
    let open_gate = fixtures::party(&fed, OPEN_GATE).await?;

    let request = lifecycle::send(
        &mut police,
        &astra,
        CASE,
        pb::Priority::Urgent,
        Content::InfoRequest(pb::InfoRequest {
            requesting_authority: "Federal Criminal Police Office, human trafficking unit".into(),
            legal_basis: "Police Cooperation Act §8; consent of the victim on file".into(),
            own_reference: "BK-2026-117".into(),
            purpose: pb::InvestigationPurpose::Criminal.into(),
            categories: vec![pb::InformationCategory::Perpetrator.into()],
            handling_code: pb::HandlingCode::H2.into(),
            questions: "What is known about the recruiter?".into(),
            ..Default::default()
        }),
    )
    .await?;
    let answer = lifecycle::send(
        &mut astra,
        &police,
        CASE,
        pb::Priority::Urgent,
        Content::InfoResponse(pb::InfoResponse {
            request_message_id: request.clone(),
            information: H2_INFORMATION.into(),
            source_reliability: pb::SourceReliability::B.into(),
            accuracy: 2,
            handling_code: pb::HandlingCode::H2.into(),
            consent: Some(pb::ConsentRecord {
                given: true,
                scope: "information to the Austrian police about the recruiter".into(),
                obtained_by_role: "Astra caseworker".into(),
                obtained_at_ms: 1,
                language: "sr".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    )
    .await?;
    lifecycle::wait_for_item(&police, ASTRA, CASE, &request, "answered").await?;
    let shown = police
        .admin
        .show(pb::ShowRequest {
            message_id: answer.clone(),
        })
        .await?
        .into_inner();
    assert!(
        shown.handling_notice.starts_with("H2:"),
        "{}",
        shown.handling_notice
    );

    // The police pass a sentence of it on to a third organisation: refused, nothing sent.
    let before = log_len(&mut police).await?;
    let passing_on = message(
        OPEN_GATE,
        "AT-BK-2026-117",
        pb::Priority::Routine,
        Content::CaseUpdate(pb::CaseUpdate {
            status: "investigation".into(),
            notes: "For your information: the recruiter WORKS from a cafe near the Subotica \
                        bus station under the alias Marko."
                .into(),
            ..Default::default()
        }),
    );
    let refused = police
        .admin
        .send(passing_on.clone())
        .await
        .expect_err("H2 content to a third organisation");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("case_update.notes:")
            && refused.message().contains(ASTRA)
            && refused.message().contains(&answer),
        "{}",
        refused.message()
    );
    assert_eq!(log_len(&mut police).await?, before, "nothing logged");
    assert!(
        open_gate
            .admin
            .clone()
            .inbox(pb::InboxRequest { limit: 10 })
            .await?
            .into_inner()
            .messages
            .is_empty()
    );
    // Their own words are fine, and so is quoting it back to its provider.
    let mut own_words = passing_on.clone();
    if let Some(Content::CaseUpdate(u)) = own_words.body.as_mut().and_then(|b| b.content.as_mut()) {
        u.notes = "We are investigating a recruiter active in northern Serbia.".into();
    }
    send(&mut police, own_words).await?;
    let mut back = passing_on;
    back.to = ASTRA.into();
    back.case_ref = CASE.into();
    send(&mut police, back).await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn consent_withdrawal_erases_the_recipients_content_and_is_acknowledged() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut astra = fixtures::party(&fed, ASTRA).await?;

    let referral = deliver(&mut lefoe, fixtures::referral(ASTRA)?).await?;
    let other_case = {
        let mut request = fixtures::referral(ASTRA)?;
        request.case_ref = "AT-LEFOE-2026-0043".into();
        send(&mut lefoe, request).await?
    };
    lifecycle::wait_for_delivery(&lefoe, &other_case).await?;
    // The case key that encrypts Astra's copy, read before the withdrawal.
    let astra_dir = fed.node_data_dir(ASTRA);
    let case_key = trm_node::cases::case_key(LEFOE, CASE);
    let key = trm_tests::case_keys::case_key_on_disk(&astra_dir, &case_key)?;
    assert!(key.text.starts_with("TRM-CASE-KEY-1 "), "a case key");
    assert!(key.found_in(&astra_dir)?, "the search finds it before");

    // As a caseworker does it: `trm withdraw-consent --case ... --recorded-by ...`.
    trm_cli::case_commands::withdraw_consent(
        &fed.node_socket(LEFOE),
        CASE,
        "",
        "LEFÖ-IBF caseworker",
        "",
        trm_cli::commands::Output { json: true },
    )
    .await?;
    let withdrawal = case_of(&mut lefoe, ASTRA)
        .await?
        .thread
        .last()
        .and_then(|e| e.message.clone())
        .map(|m| m.message_id)
        .unwrap_or_default();
    lifecycle::wait_for_delivery(&lefoe, &withdrawal).await?;
    // The sender holds the acknowledgement: Astra's signed receipt says what it erased.
    let status = lefoe
        .admin
        .status(pb::StatusRequest {
            message_id: withdrawal,
        })
        .await?
        .into_inner();
    let delivered = status
        .evidence
        .iter()
        .find(|e| e.step == "delivered")
        .ok_or_else(|| anyhow::anyhow!("no acknowledgement"))?;
    let signed = delivered.receipt.clone().unwrap_or_default();
    let receipt = <pb::Receipt as prost::Message>::decode(signed.receipt.as_slice())?;
    // The count is in the part of the receipt only the sender reads; the evidence shows it.
    let lefoe_keys = trm_tests::craft::keys(&fed.federation, LEFOE)?;
    let private = trm_node::receipt_private::read(&receipt, &lefoe_keys)?.unwrap_or_default();
    assert_eq!(
        (
            receipt.signer.as_str(),
            receipt.erased_messages,
            private.erased_messages
        ),
        (ASTRA, 0, 1)
    );
    assert!(
        delivered
            .detail
            .contains("the content of 1 messages of the case erased there"),
        "{}",
        delivered.detail
    );

    // Astra: the content is gone, the other case untouched, the log intact.
    let shown = astra
        .admin
        .show(pb::ShowRequest {
            message_id: referral.clone(),
        })
        .await?
        .into_inner();
    assert!(shown.body.is_none() && shown.erased.contains("consent withdrawn"));
    let other = astra
        .admin
        .show(pb::ShowRequest {
            message_id: other_case,
        })
        .await?
        .into_inner();
    assert!(other.body.is_some(), "another case keeps its content");
    assert!(log_verifies(&mut astra).await? && log_verifies(&mut lefoe).await?);
    let entries = fixtures::log_entries(&mut astra.admin).await?;
    assert!(
        entries
            .iter()
            .any(|e| e.event == "received" && e.message_id == referral)
    );
    assert!(
        entries
            .iter()
            .any(|e| e.event == "erased" && e.case_ref == CASE)
    );
    // Nothing more is exchanged in the case, from either side.
    let refused = astra
        .admin
        .send(message(
            LEFOE,
            CASE,
            pb::Priority::Routine,
            Content::CaseUpdate(pb::CaseUpdate {
                status: "shelter place found".into(),
                ..Default::default()
            }),
        ))
        .await
        .expect_err("the case has ended");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("erased"),
        "{}",
        refused.message()
    );
    fed.shutdown().await?;

    // On disk: the key is gone and its bytes are nowhere in Astra's data; no plaintext.
    assert!(!trm_tests::case_keys::has_case_key(&astra_dir, &case_key)?);
    assert!(!key.found_in(&astra_dir)?);
    assert!(!trm_dev::wait::tree_contains(
        &astra_dir,
        CANARY.as_bytes()
    )?);
    Ok(())
}

/// The node of `address` built on its own store, to drive its clock by hand.
fn offline_node(fed: &trm_dev::local::LocalFederation, address: &str) -> anyhow::Result<Node> {
    let config = fed.node_config(address)?.validate()?;
    let store = NodeStore::open(&config.data_dir)?;
    Ok(Node::new(&config, store))
}

#[tokio::test]
async fn overdue_items_are_found_and_logged_once_and_retention_erases_by_a_controllable_clock()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let sent_at = trm_proto::time::now_ms();
    // An urgent referral is answered within 48 hours by default; Astra does not answer.
    let referral = deliver(&mut lefoe, fixtures::referral(ASTRA)?).await?;
    let listed = |at_ms| {
        let mut admin = lefoe.admin.clone();
        async move {
            let answer = admin
                .overdue(pb::OverdueRequest { at_ms, limit: 0 })
                .await?
                .into_inner();
            assert_eq!(
                answer.total,
                answer.items.len() as u64,
                "all fit in one answer"
            );
            anyhow::Ok(answer.items)
        }
    };
    assert!(listed(sent_at + 47 * HOUR_MS).await?.is_empty());
    let overdue = listed(sent_at + 49 * HOUR_MS).await?;
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(
        (overdue[0].awaiting.as_str(), overdue[0].due.as_str()),
        (ASTRA, "answer to the referral")
    );
    // One answer holds at most 1,000 items.
    let too_many = lefoe
        .admin
        .clone()
        .overdue(pb::OverdueRequest {
            at_ms: 0,
            limit: 1_001,
        })
        .await
        .expect_err("over the limit");
    assert_eq!(too_many.code(), Code::InvalidArgument, "{too_many:?}");
    assert!(
        too_many.message().starts_with("limit: at most 1000"),
        "{too_many:?}"
    );
    // The command line takes a date or a time, and says what it cannot read.
    let socket = fed.node_socket(LEFOE);
    let quiet = trm_cli::commands::Output { json: true };
    trm_cli::case_commands::overdue(&socket, Some("2030-01-01"), 50, quiet).await?;
    let unreadable = trm_cli::case_commands::overdue(&socket, Some("next friday"), 50, quiet)
        .await
        .expect_err("not a time");
    assert_eq!(unreadable.code, trm_cli::commands::exit::USAGE);
    assert!(
        unreadable.message.contains("\"next friday\" is not a time"),
        "{}",
        unreadable.message
    );
    // Listing does not log.
    assert!(
        !fixtures::log_entries(&mut lefoe.admin)
            .await?
            .iter()
            .any(|e| e.event == "overdue")
    );
    fed.stop_node(LEFOE).await?;
    fed.stop_node(ASTRA).await?;

    // Astra owes the answer, as both logs say.
    for address in [LEFOE, ASTRA] {
        let node = offline_node(&fed, address)?;
        let early = maintenance::sweep(&node, sent_at + 47 * HOUR_MS).await?;
        assert_eq!(early.overdue_logged, 0, "{address}: not due yet");
        let late = maintenance::sweep(&node, sent_at + 49 * HOUR_MS).await?;
        assert_eq!(late.overdue_logged, 1, "{address}");
        let again = maintenance::sweep(&node, sent_at + 60 * HOUR_MS).await?;
        assert_eq!(again.overdue_logged, 0, "{address}: logged once");
        let entries = node.store().log_entries(0, 1000)?;
        let logged: Vec<_> = entries
            .iter()
            .filter(|e| e.entry.event == i32::from(pb::LogEvent::Overdue))
            .collect();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].entry.message_id, referral);
        assert!(
            logged[0].entry.reason.contains(&format!("from {ASTRA}")),
            "{}",
            logged[0].entry.reason
        );
        let due = logged[0].entry.due_at_ms;
        assert!(due > sent_at + 47 * HOUR_MS && due <= sent_at + 49 * HOUR_MS);
        assert!(node.store().verify_log().is_ok());
    }

    // Five years and a day later Astra's retention erases the case like a withdrawal would.
    let node = offline_node(&fed, ASTRA)?;
    let stored = node.store().find(ASTRA, &referral)?;
    assert!(node.read_stored(&stored)?.is_some());
    let later = sent_at + (5 * 365 + 1) * 24 * HOUR_MS;
    let swept = maintenance::sweep(&node, later).await?;
    assert_eq!(swept.erased_for_retention, 1);
    let stored = node.store().find(ASTRA, &referral)?;
    assert_eq!(node.read_stored(&stored)?, None);
    assert!(stored.erased_reason.starts_with("retention"));
    assert!(
        !node
            .store()
            .has_case_key(&trm_node::cases::case_key(LEFOE, CASE))
    );
    assert!(node.store().verify_log().is_ok());
    assert!(
        maintenance::overdue(&node, later, 10)?.0.is_empty(),
        "an erased case owes nothing"
    );
    drop(node);

    // The running node lists the logged item too, with its due time in `trm cases`.
    fed.start_node(LEFOE).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let case = case_of(&mut lefoe, ASTRA).await?;
    let item = item(&case, &referral)?;
    assert_eq!(item.due, "answer to the referral");
    assert_eq!(item.overdue_logged_for_ms, item.due_at_ms);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_withdrawal_is_refused_where_nothing_was_exchanged() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let refused = lefoe
        .admin
        .send(message(
            ASTRA,
            "AT-LEFOE-2026-0099",
            pb::Priority::Urgent,
            Content::ConsentWithdrawal(pb::ConsentWithdrawal::default()),
        ))
        .await
        .expect_err("nothing to withdraw");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("consent withdrawn"),
        "{}",
        refused.message()
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_third_organisation_cannot_erase_a_case_it_is_not_part_of() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA, OPEN_GATE]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut astra = fixtures::party(&fed, ASTRA).await?;
    let mut open_gate = fixtures::party(&fed, OPEN_GATE).await?;
    let referral = deliver(&mut lefoe, fixtures::referral(ASTRA)?).await?;
    // Open Gate's own node refuses: it has exchanged nothing in this case with Astra.
    let withdrawal = message(
        ASTRA,
        CASE,
        pb::Priority::Urgent,
        Content::ConsentWithdrawal(pb::ConsentWithdrawal::default()),
    );
    let refused = open_gate
        .admin
        .send(withdrawal)
        .await
        .expect_err("no such case");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    // A misbehaving node that seals one anyway is refused by Astra with a signed receipt.
    let directory = fed.node_config(OPEN_GATE)?.validate()?.directory;
    let keys = fed.node_config(OPEN_GATE)?.validate()?.keys;
    let sealed = trm_node::seal::seal(
        &keys,
        &directory,
        trm_node::seal::Draft {
            to: ASTRA.parse()?,
            case_ref: CASE.parse()?,
            priority: pb::Priority::Urgent,
            content: Content::ConsentWithdrawal(pb::ConsentWithdrawal::default()),
            text_language: String::new(),
        },
        trm_proto::time::now_ms(),
        3_600_000,
    )?;
    let mut broker = fixtures::raw_client_as(&fed, OPEN_GATE).await?;
    broker.submit(sealed.envelope).await?;
    fixtures::wait_for_log_event(&astra.admin, "refused", Duration::from_secs(30)).await?;
    // Astra still reads LEFÖ-IBF's referral; nothing was erased.
    let shown = astra
        .admin
        .show(pb::ShowRequest {
            message_id: referral,
        })
        .await?
        .into_inner();
    assert!(shown.body.is_some() && shown.erased.is_empty());
    let entries = fixtures::log_entries(&mut astra.admin).await?;
    assert!(!entries.iter().any(|e| e.event == "erased"));
    assert!(log_verifies(&mut astra).await?);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_erasure_interrupted_before_its_key_was_destroyed_is_finished_by_the_sweep()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let referral = deliver(&mut lefoe, fixtures::referral(ASTRA)?).await?;
    fed.shutdown().await?;
    let node = offline_node(&fed, ASTRA)?;
    let case_key = trm_node::cases::case_key(LEFOE, CASE);
    let astra_dir = fed.node_data_dir(ASTRA);
    let key = trm_tests::case_keys::case_key_on_disk(&astra_dir, &case_key)?;
    let key_file = trm_node::vault::Vault::open(&astra_dir)?.key_path(&case_key);
    let erased = node
        .store()
        .erase_case(trm_node::store::Erasure {
            case_key: case_key.clone(),
            own: ASTRA.into(),
            at_ms: trm_proto::time::now_ms(),
            reason: "consent withdrawn".into(),
            message_id: String::new(),
            actor: "node".into(),
            idle_since_ms: None,
            scope: trm_node::store::Scope::Disclosed,
        })
        .await?;
    assert_eq!(erased, Some(1));
    // As if the node had stopped between recording the erasure and destroying the key (a key
    // in its own file, as a restore writes it).
    std::fs::write(&key_file, &key.text)?;
    let swept = maintenance::sweep(&node, trm_proto::time::now_ms()).await?;
    assert_eq!(swept.erasures_finished, 1);
    assert!(!key_file.exists());
    assert_eq!(
        node.read_stored(&node.store().find(ASTRA, &referral)?)?,
        None
    );
    Ok(())
}

#[tokio::test]
async fn an_erased_case_sends_nothing_more_and_its_sender_cannot_read_its_own_envelope()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    // The broker is down: the referral waits in LEFÖ-IBF's outbox.
    fed.start_node(LEFOE).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let referral = send(&mut lefoe, fixtures::referral(ASTRA)?).await?;
    fed.stop_node(LEFOE).await?;
    let node = offline_node(&fed, LEFOE)?;
    let queued = node
        .store()
        .next_outgoing()?
        .ok_or_else(|| anyhow::anyhow!("nothing queued"))?;
    // The envelope is sealed to the addressee only: the sender's long-term key cannot open it.
    let decryptor = age::Decryptor::new(queued.envelope.ciphertext.as_slice())?;
    let own_key = craft::keys(&fed.federation, LEFOE)?.age;
    assert!(
        decryptor
            .decrypt(std::iter::once(&own_key as &dyn age::Identity))
            .is_err()
    );
    // Retention erases the case before the broker ever had it: it leaves the outbox.
    let later = trm_proto::time::now_ms() + (5 * 365 + 1) * 24 * HOUR_MS;
    assert_eq!(
        maintenance::sweep(&node, later).await?.erased_for_retention,
        1
    );
    assert_eq!(node.store().outbox_len()?, 0);
    let stored = node.store().find(LEFOE, &referral)?;
    assert!(
        stored
            .evidence
            .iter()
            .any(|e| e.step == "submit_failed" && e.detail.starts_with("not sent"))
    );
    drop(node);
    // With the broker up, a later referral arrives, and it alone: the erased one was never sent.
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut later = fixtures::referral(ASTRA)?;
    later.case_ref = "AT-LEFOE-2026-0044".into();
    let later = deliver(&mut lefoe, later).await?;
    let mut astra = fed.client(ASTRA).await?;
    assert_eq!(fixtures::inbox_ids(&mut astra).await?, [later]);
    fed.shutdown().await?;
    Ok(())
}
