//! Quotas and expiry over real brokers and nodes on loopback mTLS: a node over its queue quota
//! or its submission rate is refused while another is not; an envelope left undelivered
//! expires, leaves the queue, and its sender records the broker's signed EXPIRED receipt;
//! below the free-disk watermark submissions are refused and deliveries go on; a flood of bad
//! envelopes adds a bounded number of entries to the receiving node's handover log.

use std::time::Duration;

use tonic::Code;
use trm_broker::quota::QuotaSettings;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE, OPEN_GATE};
use trm_tests::{craft, inject};

const WAIT: Duration = Duration::from_secs(30);

/// Starts the test broker with `adjust` applied to its `[quotas]`.
async fn start_broker_with_quotas(
    fed: &mut LocalFederation,
    adjust: impl FnOnce(&mut QuotaSettings),
) -> anyhow::Result<()> {
    let mut config = fed.broker_config(BROKER)?;
    adjust(&mut config.quotas);
    fed.start_broker_with(BROKER, config).await
}

/// A sealed test referral from LEFÖ-IBF to `to`.
fn referral_to(fed: &LocalFederation, to: &str) -> anyhow::Result<pb::Envelope> {
    craft::sealed(
        &craft::keys(&fed.federation, LEFOE)?,
        &craft::directory(&fed.federation)?,
        &fixtures::referral(to)?,
    )
}

#[tokio::test]
async fn a_node_over_its_queue_quota_is_refused_while_another_is_not_and_the_cap_survives_a_restart()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    start_broker_with_quotas(&mut fed, |q| q.max_queued_per_node = 2).await?;
    let mut lefoe = fixtures::raw_client_as(&fed, LEFOE).await?;
    for _ in 0..2 {
        lefoe.submit(referral_to(&fed, ASTRA)?).await?;
    }
    let refused = lefoe
        .submit(referral_to(&fed, ASTRA)?)
        .await
        .expect_err("Astra's queue is full");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        refused.message(),
        "quota reached: items waiting for one node, limit 2 items"
    );
    // Another addressee is not affected.
    lefoe.submit(referral_to(&fed, OPEN_GATE)?).await?;
    let state = fed.broker_state(BROKER)?;
    assert_eq!(state.store.queue_len(&ASTRA.parse()?).await?, 2);
    assert_eq!(state.store.queue_len(&OPEN_GATE.parse()?).await?, 1);
    drop(state);

    // The count comes from the store: a restart does not reset it.
    fed.stop_broker(BROKER).await?;
    start_broker_with_quotas(&mut fed, |q| q.max_queued_per_node = 2).await?;
    let mut lefoe = fixtures::raw_client_as(&fed, LEFOE).await?;
    let refused = lefoe
        .submit(referral_to(&fed, ASTRA)?)
        .await
        .expect_err("Astra's queue is still full after a restart");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");

    // Deliveries free room.
    fed.start_node(ASTRA).await?;
    let astra = fed.client(ASTRA).await?;
    fixtures::wait_for_inbox(&astra, 2, WAIT).await?;
    let state = fed.broker_state(BROKER)?;
    trm_dev::wait::wait_for(WAIT, "Astra's queue to empty", || {
        let state = state.clone();
        async move { Ok(state.store.queue_len(&ASTRA.parse()?).await? == 0) }
    })
    .await?;
    drop(state);
    lefoe.submit(referral_to(&fed, ASTRA)?).await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_for_one_node_fill_its_queue_to_the_cap_and_no_further()
-> anyhow::Result<()> {
    const CAP: u64 = 5;
    const SUBMISSIONS: usize = 40;
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    start_broker_with_quotas(&mut fed, |q| {
        q.max_queued_per_node = CAP;
        q.submission_burst = 1_000;
    })
    .await?;
    let lefoe = fixtures::raw_client_as(&fed, LEFOE).await?;
    let mut submissions = tokio::task::JoinSet::new();
    for _ in 0..SUBMISSIONS {
        let mut lefoe = lefoe.clone();
        let referral = referral_to(&fed, ASTRA)?;
        submissions.spawn(async move { lefoe.submit(referral).await });
    }
    let (mut accepted, mut refused) = (0, 0);
    while let Some(outcome) = submissions.join_next().await {
        match outcome? {
            Ok(_) => accepted += 1,
            Err(status) if status.code() == Code::ResourceExhausted => refused += 1,
            Err(status) => anyhow::bail!("unexpected refusal: {status:?}"),
        }
    }
    assert_eq!(
        (accepted, refused),
        (CAP as usize, SUBMISSIONS - CAP as usize),
        "concurrent submissions passed the cap together, or were refused below it"
    );
    let state = fed.broker_state(BROKER)?;
    assert_eq!(state.store.queue_len(&ASTRA.parse()?).await?, CAP as usize);
    drop(state);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_over_its_submission_rate_is_refused_while_another_node_submits()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    start_broker_with_quotas(&mut fed, |q| {
        q.submission_burst = 3;
        q.submissions_per_minute = 1;
    })
    .await?;
    let mut lefoe = fixtures::raw_client_as(&fed, LEFOE).await?;
    for _ in 0..3 {
        lefoe.submit(referral_to(&fed, ASTRA)?).await?;
    }
    let refused = lefoe
        .submit(referral_to(&fed, ASTRA)?)
        .await
        .expect_err("over the rate");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        refused.message(),
        "quota reached: submissions per node, limit 1 a minute, 3 at once"
    );
    let state = fed.broker_state(BROKER)?;
    assert_eq!(state.store.queue_len(&ASTRA.parse()?).await?, 3);
    drop(state);
    // Open Gate has its own allowance: its envelope is checked, and refused only for what it
    // is (no agreement covers it), not for LEFÖ-IBF's rate.
    let mut open_gate = fixtures::raw_client_as(&fed, OPEN_GATE).await?;
    let other = craft::sealed(
        &craft::keys(&fed.federation, OPEN_GATE)?,
        &craft::directory(&fed.federation)?,
        &fixtures::referral(ASTRA)?,
    )?;
    match open_gate.submit(other).await {
        Ok(_) => {}
        Err(status) => assert_ne!(status.code(), Code::ResourceExhausted, "{status:?}"),
    }
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_undelivered_envelope_expires_and_its_sender_records_the_brokers_signed_expired_receipt()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    start_broker_with_quotas(&mut fed, |q| q.expiry_sweep_secs = 1).await?;
    let mut config = fed.node_config(LEFOE)?;
    config.message_ttl_secs = 3;
    fed.start_node_with(LEFOE, config).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    // Astra stays offline: the envelope waits in its queue until it expires.
    let sent = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "accepted", WAIT).await?;
    let state = fed.broker_state(BROKER)?;
    assert_eq!(state.store.queue_len(&ASTRA.parse()?).await?, 1);
    fixtures::wait_for_step(&lefoe, &sent.message_id, "expired", WAIT).await?;
    assert_eq!(state.store.queue_len(&ASTRA.parse()?).await?, 0);
    let log = state.store.relay_log().await?;
    assert!(
        log.iter()
            .any(|r| r.event == "expired" && r.message_id == sent.message_id),
        "{log:?}"
    );

    // The evidence holds the broker's receipt, which verifies with its directory key.
    let status = lefoe
        .status(pb::StatusRequest {
            message_id: sent.message_id.clone(),
        })
        .await?
        .into_inner();
    let expired = status
        .evidence
        .iter()
        .find(|e| e.step == "expired")
        .ok_or_else(|| anyhow::anyhow!("no expired step"))?;
    assert_eq!(expired.attested_by, BROKER);
    assert!(
        expired.detail.starts_with("expired, not delivered"),
        "{}",
        expired.detail
    );
    let signed = expired
        .receipt
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no receipt"))?;
    let directory = craft::directory(&fed.federation)?;
    let key = directory
        .broker(&BROKER.parse()?)
        .ok_or_else(|| anyhow::anyhow!("broker not listed"))?
        .signing_key;
    let verified = trm_proto::receipt::verify(&signed, &[key])?;
    assert_eq!(verified.kind(), pb::ReceiptKind::Expired);
    assert_eq!(verified.receipt.message_id, sent.message_id);
    // A broker's EXPIRED says no more than its kind, signer and time.
    assert!(verified.receipt.reason.is_empty());
    assert!(verified.receipt.sealed_for_sender.is_empty());
    assert!(!status.queued);

    // Astra, connecting later, gets nothing of it.
    drop(state);
    fed.start_node(ASTRA).await?;
    let mut astra = fed.client(ASTRA).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(fixtures::inbox_ids(&mut astra).await?.is_empty());
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn below_the_free_disk_watermark_submissions_are_refused_and_deliveries_go_on()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE]).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let sent = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "accepted", WAIT).await?;

    // The same broker with a watermark above any disk's free space.
    fed.stop_broker(BROKER).await?;
    start_broker_with_quotas(&mut fed, |q| q.min_free_disk_bytes = u64::MAX).await?;
    let mut raw = fixtures::raw_client_as(&fed, LEFOE).await?;
    let refused = raw
        .submit(referral_to(&fed, ASTRA)?)
        .await
        .expect_err("below the watermark");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let folder = fed.broker_data_dir(BROKER).display().to_string();
    assert!(
        refused
            .message()
            .starts_with(&format!("the broker's data folder {folder} has ")),
        "{}",
        refused.message()
    );
    assert!(refused.message().contains("new envelopes are refused"));

    // What was queued before is delivered and acknowledged, and the receipt reaches the sender.
    fed.start_node(ASTRA).await?;
    let astra = fed.client(ASTRA).await?;
    fixtures::wait_for_inbox(&astra, 1, WAIT).await?;
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_flood_of_bad_envelopes_adds_a_bounded_number_of_log_entries() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let state = fed.broker_state(BROKER)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let directory = craft::directory(&fed.federation)?;
    let now = trm_proto::time::now_ms();
    let hour = 3_600_000;
    let content = fixtures::referral(ASTRA)?
        .body
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("the test referral has no content"))?;
    const FLOOD: usize = 40;
    for _ in 0..FLOOD {
        // Expired an hour ago: Astra refuses each, whatever its broker let through.
        let expired = craft::dated(
            &keys,
            &directory,
            &ASTRA.parse()?,
            (now - 2 * hour, now - hour),
            content.clone(),
        )?;
        inject::queue_unchecked(&fed, &state, expired).await?;
    }
    // Every one is answered (a signed REJECTED receipt each, queued for LEFÖ-IBF)...
    trm_dev::wait::wait_for(WAIT, "every refusal to be answered", || {
        let state = state.clone();
        async move {
            Ok(state.store.queue_len(&ASTRA.parse()?).await? == 0
                && state.store.queue_len(&LEFOE.parse()?).await? == FLOOD)
        }
    })
    .await?;
    // ...but only a few are logged one by one.
    let mut astra = fed.client(ASTRA).await?;
    let entries = fixtures::log_entries(&mut astra).await?;
    let refused = entries.iter().filter(|e| e.event == "refused").count();
    assert_eq!(
        refused,
        trm_node::refusal_log::ENTRIES_PER_INTERVAL as usize,
        "{entries:?}"
    );
    assert_eq!(entries.len(), refused);
    drop(state);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_stops_trying_an_envelope_that_expired_before_its_broker_took_it()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    // The broker is down: the envelope waits in the node's own outbox until it expires.
    let mut config = fed.node_config(LEFOE)?;
    config.message_ttl_secs = 1;
    fed.start_node_with(LEFOE, config).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let sent = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "expired", WAIT).await?;
    let status = lefoe
        .status(pb::StatusRequest {
            message_id: sent.message_id.clone(),
        })
        .await?
        .into_inner();
    assert!(!status.queued, "the expired envelope left the outbox");
    let expired = status
        .evidence
        .iter()
        .find(|e| e.step == "expired")
        .ok_or_else(|| anyhow::anyhow!("no expired step"))?;
    assert!(
        expired
            .detail
            .starts_with("expired, not delivered: its delivery window ended at "),
        "{}",
        expired.detail
    );

    // The broker, once up, is never sent it.
    fed.start_broker(BROKER).await?;
    let ok = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &ok.message_id, "accepted", WAIT).await?;
    let state = fed.broker_state(BROKER)?;
    assert_eq!(state.store.queue_len(&ASTRA.parse()?).await?, 1);
    drop(state);
    fed.shutdown().await?;
    Ok(())
}

const RS: &str = "rs";
const AT: &str = "at";
/// Astra, Belgrade, homed on `rs`.
const ASTRA_RS: &str = "astra@rs";
/// LEFÖ-IBF, Vienna, homed on `at`.
const LEFOE_AT: &str = "lefoe-ibf@at";

/// Two brokers, `rs` and `at`, with one organisation each (nothing started).
async fn two_brokers(root: &std::path::Path) -> anyhow::Result<LocalFederation> {
    LocalFederation::create(
        root,
        "trm-quota-test",
        &[(RS, "RS"), (AT, "AT")],
        &[
            (ASTRA_RS, "Astra", "ngo", "RS"),
            (LEFOE_AT, "LEFÖ-IBF", "ngo", "AT"),
        ],
    )
    .await
}

/// The evidence step `step` of message `id` as `client`'s node recorded it.
async fn evidence(
    client: &mut pb::node_admin_client::NodeAdminClient<tonic::transport::Channel>,
    id: &str,
    step: &str,
) -> anyhow::Result<pb::Evidence> {
    let status = client
        .status(pb::StatusRequest {
            message_id: id.to_owned(),
        })
        .await?
        .into_inner();
    status
        .evidence
        .into_iter()
        .find(|e| e.step == step)
        .ok_or_else(|| anyhow::anyhow!("no {step} step for {id}"))
}

#[tokio::test]
async fn an_envelope_that_expires_in_the_outbox_for_an_unreachable_broker_is_reported_by_the_senders_broker()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = two_brokers(dir.path()).await?;
    // rs stays down: the envelope waits in at's outbox for rs until it expires.
    let mut config = fed.broker_config(AT)?;
    config.quotas.expiry_sweep_secs = 1;
    fed.start_broker_with(AT, config).await?;
    let mut config = fed.node_config(LEFOE_AT)?;
    config.message_ttl_secs = 2;
    fed.start_node_with(LEFOE_AT, config).await?;
    let mut lefoe = fed.client(LEFOE_AT).await?;
    let sent = lefoe
        .send(fixtures::referral(ASTRA_RS)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "accepted", WAIT).await?;
    fixtures::wait_for_step(&lefoe, &sent.message_id, "expired", WAIT).await?;
    let expired = evidence(&mut lefoe, &sent.message_id, "expired").await?;
    assert_eq!(expired.attested_by, AT);
    // The broker's EXPIRED carries no words: the signer says where it waited.
    assert_eq!(
        expired.detail,
        "expired, not delivered: removed by broker at"
    );
    let at = fed.broker_state(AT)?;
    assert_eq!(at.store.outbox_len(&RS.parse()?).await?, 0);
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn across_brokers_a_peer_over_its_relay_cap_is_refused_and_an_expiry_is_reported_by_the_addressees_broker()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = two_brokers(dir.path()).await?;
    for (broker, relayed) in [(AT, 10), (RS, 1)] {
        let mut config = fed.broker_config(broker)?;
        config.quotas.max_relayed_per_peer = relayed;
        config.quotas.expiry_sweep_secs = 1;
        fed.start_broker_with(broker, config).await?;
    }
    let mut config = fed.node_config(LEFOE_AT)?;
    config.message_ttl_secs = 4;
    fed.start_node_with(LEFOE_AT, config).await?;
    let mut lefoe = fed.client(LEFOE_AT).await?;

    // Astra is offline: the first envelope waits on rs and fills at's allowance there.
    let first = lefoe
        .send(fixtures::referral(ASTRA_RS)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&lefoe, &first.message_id, "relayed", WAIT).await?;
    let second = lefoe
        .send(fixtures::referral(ASTRA_RS)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&lefoe, &second.message_id, "rejected", WAIT).await?;
    let rejected = evidence(&mut lefoe, &second.message_id, "rejected").await?;
    assert!(
        // A code only: the peer's words stay out of what a broker signs.
        rejected
            .detail
            .contains("broker at reports: a peer broker refused to relay it"),
        "{}",
        rejected.detail
    );

    // The first expires on rs, which signs EXPIRED and relays it back to the sender.
    fixtures::wait_for_step(&lefoe, &first.message_id, "expired", WAIT).await?;
    let expired = evidence(&mut lefoe, &first.message_id, "expired").await?;
    assert_eq!(expired.attested_by, RS);
    let rs = fed.broker_state(RS)?;
    assert_eq!(rs.store.queue_len(&ASTRA_RS.parse()?).await?, 0);
    drop(rs);
    fed.shutdown().await?;
    Ok(())
}
