//! No item wedges an outbox, shown over real brokers and nodes (loopback mutual TLS, real
//! stores): an envelope in broker `at`'s outbox that broker `rs` answers wrongly for ever
//! (the state the issue found: a node had submitted it to `rs` directly, and later to its home
//! broker `at`, so `rs` answers with its own ACCEPTED receipt, not a RELAYED one) once stopped
//! every later message from `at` to `rs`. Now the referrals behind it are delivered, and the
//! bad one is set aside after a bounded number of attempts, visible in the relay status and in
//! the store, and stays so across a restart. A set-aside envelope still expires: its sender is
//! told.

use std::path::Path;
use std::time::Duration;

use prost::Message;
use trm_broker::relay::aside::triage::MAX_ATTEMPTS;
use trm_broker::store::Destination;
use trm_dev::local::LocalFederation;
use trm_proto::addr::BrokerName;
use trm_proto::pb;
use trm_tests::{craft, fixtures, inject};

const WAIT: Duration = Duration::from_secs(30);

const RS: &str = "rs";
const AT: &str = "at";
/// LEFÖ-IBF, Vienna.
const LEFOE: &str = "lefoe-ibf@at";
/// A second organisation in Vienna.
const HERZWERK: &str = "herzwerk@at";
/// Astra, Belgrade.
const ASTRA: &str = "astra@rs";
/// Atina, Belgrade: listed, never started here, so what is queued for it stays queued.
const ATINA: &str = "atina@rs";

/// Two brokers, `rs` and `at`, with two organisations each.
async fn federation(root: &Path) -> anyhow::Result<LocalFederation> {
    LocalFederation::create(
        root,
        "trm-wedge-test",
        &[(RS, "RS"), (AT, "AT")],
        &[
            (ASTRA, "Astra", "ngo", "RS"),
            (ATINA, "Atina", "ngo", "RS"),
            (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
            (HERZWERK, "Herzwerk", "ngo", "AT"),
        ],
    )
    .await
}

/// Sends a referral from `from` to `to` and waits until `from` holds its DELIVERED receipt.
async fn delivered(fed: &LocalFederation, from: &str, to: &str) -> anyhow::Result<String> {
    let client = fed.client(from).await?;
    let sent = client
        .clone()
        .send(fixtures::referral(to)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&client, &sent.message_id, "delivered", WAIT).await?;
    Ok(sent.message_id)
}

#[tokio::test]
async fn an_envelope_the_peer_answers_wrongly_is_set_aside_and_everything_behind_it_is_delivered()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(RS).await?;
    fed.start_broker(AT).await?;
    for node in [ASTRA, LEFOE, HERZWERK] {
        fed.start_node(node).await?;
    }
    let rs: BrokerName = RS.parse()?;

    // Genuinely signed by LEFÖ-IBF's key, for Atina. `rs` holds it under its own ACCEPTED
    // receipt, as if LEFÖ-IBF had submitted it there; `at` holds it in its outbox for `rs`.
    let directory = craft::directory(&fed.federation)?;
    let bad = craft::sealed(
        &craft::keys(&fed.federation, LEFOE)?,
        &directory,
        &fixtures::referral(ATINA)?,
    )?;
    let rs_state = fed.broker_state(RS)?;
    inject::queue_unchecked(&fed, &rs_state, bad.clone()).await?;
    drop(rs_state);
    let at = fed.broker_state(AT)?;
    inject::store_unchecked(&fed, &at, bad.clone(), Destination::Peer(rs.clone())).await?;

    // Referrals from both organisations on `at`, one after the other, so that each is a
    // success of its own after which the bad envelope is tried again (and charged).
    let mut sent = Vec::new();
    for round in 0..=MAX_ATTEMPTS {
        let from = if round % 2 == 0 { LEFOE } else { HERZWERK };
        sent.push(delivered(&fed, from, ASTRA).await?);
    }
    trm_dev::wait::wait_for(WAIT, "the bad envelope to be set aside", || {
        let status = at.relay_status(&rs);
        async move { Ok(status.is_some_and(|s| s.set_aside == 1)) }
    })
    .await?;
    let aside = at.store.set_aside_items(Some(&rs)).await?;
    let [item] = aside.as_slice() else {
        anyhow::bail!("one set-aside item expected: {aside:?}");
    };
    assert_eq!(item.peer, rs);
    assert_eq!(item.attempts, MAX_ATTEMPTS);
    assert!(
        item.reason.contains("broker rs answered item"),
        "{}",
        item.reason
    );
    // Kept as it was stored, for an operator.
    let kept = pb::RelayItem::decode(item.item.as_slice())?;
    assert_eq!(kept.item, Some(pb::relay_item::Item::Envelope(bad.clone())));
    assert_eq!(at.store.outbox_len(&rs).await?, 0);

    // A restart keeps it so, and relaying goes on.
    drop(at);
    fed.stop_broker(AT).await?;
    fed.start_broker(AT).await?;
    let at = fed.broker_state(AT)?;
    sent.push(delivered(&fed, HERZWERK, ASTRA).await?);
    assert_eq!(at.store.set_aside_items(None).await?.len(), 1);
    assert_eq!(at.store.outbox_len(&rs).await?, 0);
    assert_eq!(at.relay_status(&rs).map(|s| s.set_aside), Some(1));
    // Every referral arrived once.
    let mut inbox = fixtures::inbox_ids(&mut fed.client(ASTRA).await?).await?;
    inbox.sort();
    sent.sort();
    assert_eq!(inbox, sent);
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_set_aside_envelope_still_expires_and_its_sender_gets_the_signed_expired_receipt()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    // `rs` stays down: what `at` holds for it stays in its outbox.
    fed.start_broker(AT).await?;
    let rs: BrokerName = RS.parse()?;
    let at = fed.broker_state(AT)?;
    let content = fixtures::referral(ATINA)?
        .body
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("the test referral has no content"))?;
    let now = trm_proto::time::now_ms();
    let envelope = craft::dated(
        &craft::keys(&fed.federation, LEFOE)?,
        &craft::directory(&fed.federation)?,
        &ATINA.parse()?,
        (now, now + 60_000),
        content,
    )?;
    let id = trm_proto::envelope::Header::decode(&envelope.header)?.message_id;
    inject::store_unchecked(&fed, &at, envelope, Destination::Peer(rs.clone())).await?;
    let waiting = at.store.outgoing(&rs, 10, 1 << 20).await?;
    let [item] = waiting.as_slice() else {
        anyhow::bail!("one outbox item expected: {waiting:?}");
    };
    let set = trm_broker::store::SetAside {
        peer: rs.clone(),
        sequence: item.sequence,
        attempts: MAX_ATTEMPTS,
        reason: "kept failing".into(),
        at_ms: now,
        item: Vec::new(),
    };
    assert_eq!(at.store.set_aside(vec![set]).await?, 1);

    // Before its window ends the sweep leaves it; after, it removes it and tells the sender.
    assert_eq!(trm_broker::expiry::sweep(&at, now + 59_000).await?, 0);
    assert_eq!(trm_broker::expiry::sweep(&at, now + 61_000).await?, 1);
    assert!(at.store.set_aside_items(None).await?.is_empty());
    assert_eq!(at.store.outbox_len(&rs).await?, 0);
    let log = at.store.relay_log().await?;
    assert!(
        log.iter()
            .any(|r| r.event == "expired" && r.message_id == id.to_string()),
        "{log:?}"
    );
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_receipt_about_another_message_does_not_take_the_submitted_one_out_of_the_outbox()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    // The broker is down: both referrals wait in LEFÖ-IBF's outbox.
    fed.start_node(LEFOE).await?;
    let client = fed.client(LEFOE).await?;
    for _ in 0..2 {
        client.clone().send(fixtures::referral(ASTRA)?).await?;
    }
    fed.stop_node(LEFOE).await?;
    fed.start_broker(AT).await?;
    let at = fed.broker_state(AT)?;
    let config = fed.node_config(LEFOE)?.validate()?;
    let node =
        trm_node::node::Node::new(&config, trm_node::store::NodeStore::open(&config.data_dir)?);
    let store = node.store();
    let first = store
        .next_outgoing()?
        .ok_or_else(|| anyhow::anyhow!("nothing queued"))?;
    let second = store
        .next_outgoing_except(&[first.sequence].into())?
        .ok_or_else(|| anyhow::anyhow!("one queued"))?;
    anyhow::ensure!(second.sequence != first.sequence, "two messages expected");
    // The broker's genuine ACCEPTED receipt for the second, as the answer to the first.
    let header = trm_proto::envelope::Header::decode(&second.envelope.header)?;
    let digest = trm_proto::envelope::digest(&second.envelope.header);
    let receipt = trm_broker::admit::broker_receipt(
        &at,
        pb::ReceiptKind::Accepted,
        &header,
        &digest,
        pb::RejectReason::Unspecified,
        trm_proto::time::now_ms(),
    );
    let wrong = node.accept_receipt(&receipt, Some(first.sequence)).await;
    let Err(e) = wrong else {
        anyhow::bail!("a receipt about another message was taken");
    };
    assert!(e.to_string().contains("another message"), "{e}");
    assert_eq!(store.outbox_len()?, 2, "nothing left the outbox");
    // As the answer to its own submission, it is taken.
    assert!(node.accept_receipt(&receipt, Some(second.sequence)).await?);
    assert_eq!(store.outbox_len()?, 1);
    assert!(store.is_queued(&first.key)?);
    drop((node, at));
    fed.shutdown().await?;
    Ok(())
}
