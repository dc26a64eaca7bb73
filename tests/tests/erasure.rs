//! Erasure scoped to what each party disclosed, between real nodes: a consent withdrawal erases
//! at each side what the other side sent in the case and keeps what each side wrote itself
//! (under its own key); the handover logs on both sides say how much; retention later erases
//! the rest.

use trm_dev::lifecycle::{self, Party};
use trm_node::maintenance;
use trm_node::node::Node;
use trm_node::store::NodeStore;
use trm_proto::pb;
use trm_proto::pb::body::Content;
use trm_tests::case_keys::has_case_key;
use trm_tests::fixtures::{self, ASTRA, LEFOE};

const CASE: &str = "AT-LEFOE-2026-0042";
/// Words only Astra wrote, in its own answers.
const ASTRA_OWN: &str = "ASTRA-OWN-WORDS-4d2c";
const DAY_MS: u64 = 24 * 3600 * 1000;

async fn case(party: &mut Party, counterparty: &str) -> anyhow::Result<pb::CaseResponse> {
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

/// The thread's messages as `(direction, holds content, why erased)`.
fn thread(case: &pb::CaseResponse) -> Vec<(String, bool, String)> {
    case.thread
        .iter()
        .map(|e| {
            let m = e.message.clone().unwrap_or_default();
            (m.direction, e.body.is_some(), e.erased.clone())
        })
        .collect()
}

async fn erased_entries(party: &mut Party) -> anyhow::Result<Vec<String>> {
    Ok(fixtures::log_entries(&mut party.admin)
        .await?
        .into_iter()
        .filter(|e| e.event == "erased" && e.case_ref == CASE)
        .map(|e| e.reason)
        .collect())
}

#[tokio::test]
async fn a_withdrawal_erases_what_each_side_received_and_keeps_what_each_wrote()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut astra = fixtures::party(&fed, ASTRA).await?;

    // Messages both ways: LEFÖ refers, Astra accepts and reports.
    let referral = lefoe.admin.send(fixtures::referral(ASTRA)?).await?;
    let referral = referral.into_inner().message_id;
    lifecycle::wait_for_delivery(&lefoe, &referral).await?;
    lifecycle::send(
        &mut astra,
        &lefoe,
        CASE,
        pb::Priority::Routine,
        Content::ReferralResponse(pb::ReferralResponse {
            referral_message_id: referral.clone(),
            decision: pb::referral_response::Decision::Accepted.into(),
            responsible_unit: ASTRA_OWN.into(),
            ..Default::default()
        }),
    )
    .await?;
    lifecycle::send(
        &mut astra,
        &lefoe,
        CASE,
        pb::Priority::Routine,
        Content::CaseUpdate(pb::CaseUpdate {
            status: format!("shelter place found ({ASTRA_OWN})"),
            ..Default::default()
        }),
    )
    .await?;

    let case_key = trm_node::cases::case_key(LEFOE, CASE);
    let (astra_dir, lefoe_dir) = (fed.node_data_dir(ASTRA), fed.node_data_dir(LEFOE));
    let (astra_received, astra_wrote) = (case_key.clone(), trm_node::vault::authored(&case_key));
    let lefoe_received = trm_node::cases::case_key(ASTRA, CASE);
    let lefoe_wrote = trm_node::vault::authored(&lefoe_received);
    for (dir, id) in [
        (&astra_dir, &astra_received),
        (&astra_dir, &astra_wrote),
        (&lefoe_dir, &lefoe_received),
        (&lefoe_dir, &lefoe_wrote),
    ] {
        assert!(
            has_case_key(dir, id)?,
            "{} before the withdrawal",
            dir.display()
        );
    }

    trm_cli::case_commands::withdraw_consent(
        &fed.node_socket(LEFOE),
        CASE,
        "",
        "LEFÖ-IBF caseworker",
        "",
        trm_cli::commands::Output { json: true },
    )
    .await?;
    let withdrawal = case(&mut lefoe, ASTRA)
        .await?
        .thread
        .last()
        .and_then(|e| e.message.clone())
        .map(|m| m.message_id)
        .unwrap_or_default();
    lifecycle::wait_for_delivery(&lefoe, &withdrawal).await?;

    // Astra: LEFÖ's referral (and the withdrawal, whose content is not kept) erased, each saying
    // who withdrew consent; its own two answers still readable.
    let by_lefoe = format!("consent withdrawn by {LEFOE}");
    let at_astra = case(&mut astra, LEFOE).await?;
    assert_eq!(
        thread(&at_astra),
        [
            ("incoming".to_owned(), false, by_lefoe.clone()),
            ("outgoing".to_owned(), true, String::new()),
            ("outgoing".to_owned(), true, String::new()),
            ("incoming".to_owned(), false, by_lefoe.clone()),
        ]
    );
    assert!(format!("{:?}", at_astra.thread).contains(ASTRA_OWN));
    // `trm case` prints it so: the two erased messages say why, the two kept show their text.
    let printed = trm_cli::case_view::case(&at_astra);
    let said = format!("(erased: {by_lefoe})");
    assert_eq!(printed.matches(&said).count(), 2, "{printed}");
    assert_eq!(printed.matches(ASTRA_OWN).count(), 2, "{printed}");
    // So does the HTTP API's and the console's JSON, message by message.
    let json = trm_forms::case_json::case_json(&at_astra);
    let erased: Vec<Option<&str>> = json
        .get("thread")
        .and_then(|t| t.as_array())
        .map(|t| {
            t.iter()
                .map(|m| m.get("erased").and_then(|e| e.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let why = Some(by_lefoe.as_str());
    assert_eq!(erased, [why, None, None, why]);
    assert!(
        !has_case_key(&astra_dir, &astra_received)?,
        "the key of what LEFÖ disclosed is gone"
    );
    assert!(
        has_case_key(&astra_dir, &astra_wrote)?,
        "the key of what Astra wrote stays"
    );
    // The shown message says the same.
    let shown = astra
        .admin
        .show(pb::ShowRequest {
            message_id: referral.clone(),
        })
        .await?
        .into_inner();
    assert!(shown.body.is_none() && shown.erased.ends_with(&by_lefoe));
    // LEFÖ holds Astra's signed receipt: one message erased there.
    let status = lefoe
        .admin
        .status(pb::StatusRequest {
            message_id: withdrawal.clone(),
        })
        .await?
        .into_inner();
    let receipt = status
        .evidence
        .iter()
        .find(|e| e.step == "delivered")
        .and_then(|e| e.receipt.clone())
        .ok_or_else(|| anyhow::anyhow!("no acknowledgement"))?;
    let receipt = <pb::Receipt as prost::Message>::decode(receipt.receipt.as_slice())?;
    // The count is in the part of the receipt only the sender reads, not in clear.
    let lefoe_keys = trm_tests::craft::keys(&fed.federation, LEFOE)?;
    let private = trm_node::receipt_private::read(&receipt, &lefoe_keys)?.unwrap_or_default();
    assert_eq!((receipt.erased_messages, private.erased_messages), (0, 1));

    // LEFÖ, which withdrew: Astra's two answers erased, its own referral and withdrawal kept.
    let at_lefoe = case(&mut lefoe, ASTRA).await?;
    assert_eq!(
        thread(&at_lefoe),
        [
            ("outgoing".to_owned(), true, String::new()),
            ("incoming".to_owned(), false, by_lefoe.clone()),
            ("incoming".to_owned(), false, by_lefoe.clone()),
            ("outgoing".to_owned(), true, String::new()),
        ]
    );
    assert!(!format!("{:?}", at_lefoe.thread).contains(ASTRA_OWN));
    assert!(!has_case_key(&lefoe_dir, &lefoe_received)? && has_case_key(&lefoe_dir, &lefoe_wrote)?);

    // Both handover logs show the erasure, with its counts, and verify.
    assert_eq!(
        erased_entries(&mut astra).await?,
        [format!("{by_lefoe} (1 messages received; 2 sent kept)")]
    );
    assert_eq!(
        erased_entries(&mut lefoe).await?,
        [format!("{by_lefoe} (2 messages received; 1 sent kept)")]
    );
    for party in [&mut astra, &mut lefoe] {
        let verified = party.admin.verify_log(pb::VerifyLogRequest {}).await?;
        assert!(verified.into_inner().ok);
    }
    fed.shutdown().await?;

    // Retention erases the rest at Astra: its own answers, and their key.
    let config = fed.node_config(ASTRA)?.validate()?;
    let node = Node::new(&config, NodeStore::open(&config.data_dir)?);
    let later = trm_proto::time::now_ms() + (5 * 365 + 1) * DAY_MS;
    let swept = maintenance::sweep(&node, later).await?;
    assert_eq!(swept.erased_for_retention, 1);
    assert!(!has_case_key(&astra_dir, &astra_wrote)?);
    let stored = node.store().each_case()?.collect::<Result<Vec<_>, _>>()?;
    let summary = stored
        .first()
        .and_then(|c| c.summary.clone())
        .unwrap_or_default();
    assert!(
        summary.erased_reason.starts_with(&by_lefoe),
        "the first erasure's reason stays"
    );
    let mut kept = 0;
    for entry in stored.first().map(|c| c.thread.clone()).unwrap_or_default() {
        let message = node.store().find(ASTRA, &entry.message_id)?;
        if node.read_stored(&message)?.is_some() {
            kept += 1;
        }
    }
    assert_eq!(kept, 0, "nothing of the case is readable any more");
    let again = maintenance::sweep(&node, later).await?;
    assert_eq!(again.erased_for_retention, 0, "erased once");
    Ok(())
}
