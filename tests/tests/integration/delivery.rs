//! A referral goes from LEFÖ-IBF to Astra: delivered, decrypted, evidenced, and never in
//! plaintext where it should not be; a case's steps that waited together are taken in order.

use std::time::Duration;

use trm_dev::wait::tree_contains;
use trm_proto::{pb, receipt};
use trm_tests::fixtures::{self, ASTRA, BROKER, CANARY, LEFOE};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_referral_is_delivered_decrypted_and_the_sender_holds_signed_receipts()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let mut astra = fed.client(ASTRA).await?;

    let sent = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;

    let shown = astra
        .show(pb::ShowRequest {
            message_id: sent.message_id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(shown.direction, "incoming");
    let Some(pb::body::Content::Referral(referral)) = shown.body.and_then(|b| b.content) else {
        panic!("no referral content");
    };
    assert!(referral.notes.contains(CANARY));
    assert_eq!(
        referral.person.map(|p| p.nationality),
        Some("RS".to_owned())
    );

    let status = lefoe
        .status(pb::StatusRequest {
            message_id: sent.message_id.clone(),
        })
        .await?
        .into_inner();
    let steps: Vec<&str> = status.evidence.iter().map(|e| e.step.as_str()).collect();
    assert_eq!(steps, ["submitted", "accepted", "delivered"]);
    assert!(!status.queued);

    // Both receipts verify with their signers' directory keys and describe this envelope.
    let directory = trm_tests::craft::directory(&fed.federation)?;
    let accepted = status.evidence[1].receipt.as_ref().expect("broker receipt");
    let broker_key = directory
        .broker(&BROKER.parse()?)
        .expect("broker")
        .signing_key;
    let accepted = receipt::verify(accepted, &[broker_key])?;
    assert_eq!(accepted.receipt.envelope_digest, sent.envelope_digest);
    let delivered = status.evidence[2]
        .receipt
        .as_ref()
        .expect("delivery receipt");
    let astra_key = directory.node(&ASTRA.parse()?).expect("astra").signing_key;
    let delivered = receipt::verify(delivered, &[astra_key])?;
    assert_eq!(delivered.kind(), pb::ReceiptKind::Delivered);
    assert_eq!(delivered.receipt.envelope_digest, sent.envelope_digest);
    // The receipt names the entry in Astra's log that recorded the message, in the part only
    // the sender reads (in clear, the index is 0).
    assert_eq!(delivered.receipt.log_index, 0);
    let lefoe_keys = trm_tests::craft::keys(&fed.federation, LEFOE)?;
    let delivered = trm_node::receipt_private::open(&delivered, &lefoe_keys)?;
    let astra_entries = fixtures::log_entries(&mut astra).await?;
    let entry = &astra_entries[delivered.receipt.log_index as usize];
    assert_eq!(entry.event, "received");
    assert_eq!(entry.message_id, sent.message_id);

    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn broker_and_node_stores_never_hold_the_plaintext() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    // Astra stays offline, so the envelope is still in the broker's queue when we look.
    let mut lefoe = fed.client(LEFOE).await?;
    let sent = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "accepted", WAIT).await?;
    fed.start_node(ASTRA).await?;
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    fed.shutdown().await?;

    // The canary is really in what was sent (so the search below could find it) ...
    let request = fixtures::referral(ASTRA)?;
    assert!(format!("{request:?}").contains(CANARY));
    // ... and in no file of the broker or of either node.
    for store in [
        fed.broker_data_dir(BROKER),
        fed.node_data_dir(LEFOE),
        fed.node_data_dir(ASTRA),
    ] {
        assert!(store.exists(), "{} was never written", store.display());
        assert!(
            !tree_contains(&store, CANARY.as_bytes())?,
            "plaintext in {}",
            store.display()
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_offline_recipient_gets_the_referral_when_it_connects() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    let lefoe = fed.client(LEFOE).await?;
    let sent = lefoe
        .clone()
        .send(fixtures::referral(ASTRA)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "accepted", WAIT).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fixtures::steps(&mut lefoe.clone(), &sent.message_id).await?,
        ["submitted", "accepted"],
        "nothing can be delivered while Astra is offline"
    );

    fed.start_node(ASTRA).await?;
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    let mut astra = fed.client(ASTRA).await?;
    assert_eq!(fixtures::inbox_ids(&mut astra).await?, [sent.message_id]);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn the_outbox_delivers_once_the_senders_broker_is_up() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let lefoe = fed.client(LEFOE).await?;

    // The broker is down: sending still succeeds, the message waits in the outbox.
    let sent = lefoe
        .clone()
        .send(fixtures::referral(ASTRA)?)
        .await?
        .into_inner();
    let status = lefoe
        .clone()
        .status(pb::StatusRequest {
            message_id: sent.message_id.clone(),
        })
        .await?
        .into_inner();
    assert!(status.queued);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fixtures::steps(&mut lefoe.clone(), &sent.message_id).await?,
        ["submitted"]
    );

    fed.start_broker(BROKER).await?;
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    let mut astra = fed.client(ASTRA).await?;
    assert_eq!(fixtures::inbox_ids(&mut astra).await?, [sent.message_id]);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_recipient_takes_a_cases_waiting_steps_in_the_order_they_were_sent() -> anyhow::Result<()>
{
    // Several steps of each case wait at the broker, so that they reach Astra in one delivery
    // batch: the batch is handled concurrently, yet each case's steps must be taken in order
    // (a step that comes after a later one of its case is refused as replayed or held back).
    const CASES: usize = 6;
    const STEPS: usize = 3;
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    let lefoe = fed.client(LEFOE).await?;
    let mut sent = Vec::new();
    for step in 0..STEPS {
        for case in 0..CASES {
            let mut request = fixtures::referral(ASTRA)?;
            if let Some(body) = request.body.as_mut() {
                body.case_ref = format!("AT-LEFOE-2026-ORDER-{case}");
            }
            let id = lefoe.clone().send(request).await?.into_inner().message_id;
            sent.push((case, step, id));
        }
    }
    for (_, _, id) in &sent {
        fixtures::wait_for_step(&lefoe, id, "accepted", WAIT).await?;
    }

    fed.start_node(ASTRA).await?;
    for (case, step, id) in &sent {
        trm_dev::wait::wait_for(WAIT, "a receipt from Astra", || {
            let mut lefoe = lefoe.clone();
            let id = id.clone();
            async move {
                let steps = fixtures::steps(&mut lefoe, &id).await?;
                Ok(steps.iter().any(|s| s == "delivered" || s == "rejected"))
            }
        })
        .await?;
        let steps = fixtures::steps(&mut lefoe.clone(), id).await?;
        assert!(
            !steps.iter().any(|s| s == "rejected"),
            "step {} of case {case} was refused: {steps:?}",
            step + 1
        );
    }
    fed.shutdown().await?;
    Ok(())
}
