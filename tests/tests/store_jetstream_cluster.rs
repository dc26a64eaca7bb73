//! What the JetStream engine adds to the store's suite: several broker processes on one
//! stream store an envelope once and route one receipt per acknowledged item, and a store whose
//! cluster lost its quorum refuses writes (UNAVAILABLE to a caller) and takes them again by
//! itself once the servers are back, with nothing acknowledged lost; completing items does not
//! have the servers rewrite their files. Real `nats-server` processes on loopback, streams
//! replicated three times.

use std::sync::Arc;

use trm_broker::config::store::JetStreamSettings;
use trm_broker::error::BrokerError;
use trm_broker::store::suite::admission;
use trm_broker::store::{Accepted, BrokerStore, Destination, JetStreamStore, Route};
use trm_proto::addr::{MessageId, NodeAddr};
use trm_proto::pb;
use trm_tests::nats::NatsCluster;

fn settings(cluster: &NatsCluster) -> JetStreamSettings {
    JetStreamSettings {
        servers: cluster.urls(),
        replicas: 3,
        stream_prefix: "TRM".into(),
        tls_ca: None,
        tls_client: None,
        credentials: None,
    }
}

/// A signed envelope from `lefoe-ibf@at` to `astra@at` (the suite's).
fn envelope(
    key: &ed25519_dalek::SigningKey,
    id: &MessageId,
    ciphertext: &[u8],
) -> anyhow::Result<trm_proto::envelope::VerifiedEnvelope> {
    trm_broker::store::suite::envelope(key, id, ciphertext).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn open(cluster: &NatsCluster) -> anyhow::Result<Arc<dyn BrokerStore>> {
    Ok(Arc::new(
        JetStreamStore::open(&settings(cluster), &"at".parse()?).await?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_broker_processes_store_an_envelope_once_and_route_one_receipt_per_item()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = NatsCluster::start(dir.path(), 3).await?;
    let (a, b) = (open(&cluster).await?, open(&cluster).await?);
    let key = trm_proto::signing::generate_key();
    let from: NodeAddr = "lefoe-ibf@at".parse()?;
    let to: NodeAddr = "astra@at".parse()?;
    for round in 0..10 {
        let sealed = envelope(&key, &MessageId::random(), format!("{round}").as_bytes())?;
        // The sender submits the same envelope to both processes at once.
        let (one, two) = tokio::join!(
            a.accept(admission(sealed.clone(), "from a")),
            b.accept(admission(sealed, "from b"))
        );
        match (one?, two?) {
            (Accepted::New(first), Accepted::Duplicate(original))
            | (Accepted::Duplicate(original), Accepted::New(first)) => {
                assert_eq!(first, original, "a duplicate gets the first receipt")
            }
            other => panic!("round {round}: not one new and one duplicate: {other:?}"),
        }
    }
    assert_eq!(a.queue_len(&to).await?, 10);
    // The recipient acknowledges every item on both processes at once.
    let items = b.pending(&to, 0, 100).await?;
    assert_eq!(items.len(), 10);
    let route = Route {
        destination: Destination::Local(from.clone()),
        receipt: pb::SignedReceipt::default(),
        record: pb::RelayRecord::default(),
    };
    for item in &items {
        let (one, two) = tokio::join!(
            a.complete(to.clone(), item.sequence, Some(route.clone())),
            b.complete(to.clone(), item.sequence, Some(route.clone()))
        );
        let routed = [one?, two?].iter().filter(|r| r.is_some()).count();
        assert_eq!(
            routed, 1,
            "item {}: {routed} receipts routed",
            item.sequence
        );
    }
    assert_eq!(a.queue_len(&to).await?, 0);
    assert_eq!(b.queue_len(&from).await?, 10, "one receipt per item");
    // 10 accepted, 10 completed.
    assert_eq!(a.relay_log().await?.len(), 20);
    Ok(())
}

/// Completing delivered items removes them without having the servers overwrite them first.
/// An overwrite (an "erase", what `async_nats`'s `delete_message` asks for) rewrote megabytes
/// of the stream's files on every server for each item delivered, and held the end-to-end
/// rate on JetStream to about 50 referrals a second (BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completing_items_does_not_rewrite_the_stream() -> anyhow::Result<()> {
    const ITEMS: usize = 100;
    /// Bytes each server may write per completed item: its completion marker and the
    /// removal, with room for the servers' own bookkeeping.
    const PER_ITEM: u64 = 64 * 1024;
    let dir = tempfile::tempdir()?;
    let cluster = NatsCluster::start(dir.path(), 3).await?;
    let store = open(&cluster).await?;
    let key = trm_proto::signing::generate_key();
    let to: NodeAddr = "astra@at".parse()?;
    let ciphertext = vec![7u8; 8 * 1024];
    let at_start = cluster.written_bytes()?;
    for _ in 0..ITEMS {
        let sealed = envelope(&key, &MessageId::random(), &ciphertext)?;
        store.accept(admission(sealed, "test")).await?;
    }
    let items = store.pending(&to, 0, ITEMS).await?;
    assert_eq!(items.len(), ITEMS);
    let before = cluster.written_bytes()?;
    // The measure must see the servers' writes at all: on a file system without write-back
    // (tmpfs) `write_bytes` stays 0 and the bound below would hold whatever they did.
    let stored = ITEMS as u64 * ciphertext.len() as u64 * cluster.len() as u64;
    anyhow::ensure!(
        before.saturating_sub(at_start) >= stored,
        "the servers' disk writes are not counted here ({} bytes for {stored} stored): \
         run this test on a disk, not on tmpfs",
        before.saturating_sub(at_start)
    );
    for item in &items {
        store.complete(to.clone(), item.sequence, None).await?;
    }
    let written = cluster.written_bytes()?.saturating_sub(before);
    assert_eq!(store.queue_len(&to).await?, 0, "every item completed");
    let per_item = written / (ITEMS as u64 * cluster.len() as u64);
    assert!(
        per_item < PER_ITEM,
        "each server wrote {per_item} bytes per completed item ({written} in all)"
    );
    Ok(())
}

#[tokio::test]
async fn without_a_quorum_writes_are_refused_as_unavailable_and_resume_by_themselves()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cluster = NatsCluster::start(dir.path(), 3).await?;
    let store = open(&cluster).await?;
    let key = trm_proto::signing::generate_key();
    let to: NodeAddr = "astra@at".parse()?;
    let before = envelope(&key, &MessageId::random(), b"before")?;
    assert!(matches!(
        store.accept(admission(before, "before")).await?,
        Accepted::New(_)
    ));

    cluster.kill(1)?;
    cluster.kill(2)?;
    let during = envelope(&key, &MessageId::random(), b"during")?;
    let refused = store.accept(admission(during.clone(), "during")).await;
    let Err(error) = refused else {
        panic!("one server of three acknowledged a write: {refused:?}");
    };
    assert_eq!(
        BrokerError::Store(error).code(),
        tonic::Code::Unavailable,
        "a submission is refused as UNAVAILABLE"
    );

    cluster.restart(1)?;
    cluster.restart(2)?;
    cluster.ready_all().await?;
    // The same store, no reopening: the client reconnects and the stream elects a leader.
    let mut outcome = None;
    for _ in 0..60 {
        match store.accept(admission(during.clone(), "again")).await {
            Ok(accepted) => {
                outcome = Some(accepted);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
    // Stored now, or stored by the refused attempt after all (it was never acknowledged).
    assert!(
        matches!(outcome, Some(Accepted::New(_) | Accepted::Duplicate(_))),
        "{outcome:?}"
    );
    assert_eq!(
        store.queue_len(&to).await?,
        2,
        "nothing lost, nothing twice"
    );
    // The health the broker reports follows: it says the store takes writes again (the
    // store's probe writes once a second while it does not).
    let Some(mut writable) = store.writable() else {
        panic!("the JetStream store does not tell whether it takes writes");
    };
    if !*writable.borrow_and_update() {
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            writable.wait_for(|w| *w),
        )
        .await??;
    }
    Ok(())
}
