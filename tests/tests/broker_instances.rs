//! Several processes of one broker name on one JetStream stream, as real programs: two
//! `trm-broker` processes of `at` (`at#1`, `at#2`) on a three-server NATS cluster on loopback,
//! one process of `rs` (embedded store), and real node daemons: LEFÖ-IBF and ECPAT homed on
//! `at`, Astra on `rs`. Each node's `broker_endpoint` names the process it uses, and `rs`
//! reaches `at` at `at#2` (the directory lists one endpoint per broker).
//!
//! - ECPAT submits through `at#2` while LEFÖ-IBF receives through `at#1`: each referral is
//!   delivered, and its DELIVERED receipt back to ECPAT, promptly (wake-ups cross the
//!   processes; the 5 s rescan is only a safety net).
//! - LEFÖ-IBF, stopped, comes back through `at#2`: what waited for it is delivered there once.
//! - ECPAT keeps sending to Astra through `at#2` while `at#1`, which holds the relay lease for
//!   `rs`, is killed (SIGKILL): `at#2` takes the lease over and the relay continues within the
//!   stated takeover time ([`trm_broker::lease::TAKEOVER`]).
//! - Every referral acknowledged to a sender is received exactly once, and each sender's
//!   evidence shows it delivered (relayed first, for Astra's).
//!
//! - With two of the three NATS servers killed, `at#1`'s health says its writes are not served
//!   (`trm.v1.Broker.writes` NOT_SERVING) even though nobody submits; a referral sent
//!   meanwhile waits at its sender, and once the servers are back the broker serves writes again
//!   and delivers it, without a restart.
//!
//! Besides, two store instances applying the same relay answer (a lease lost while a relay
//! call was in flight, and the new holder relaying the same item) remove it once and queue
//! its sender's receipt once.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use prost::Message;
use tonic::transport::Channel;
use trm_broker::config::store::{StoreFile, StoreKind};
use trm_broker::store::{Admission, BrokerStore, Destination, JetStreamStore, RelayAnswer, WakeUp};
use trm_dev::local::LocalFederation;
use trm_proto::addr::{BrokerName, MessageId, NodeAddr};
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_tests::fixtures;
use trm_tests::fixtures::{received_once, send_referral as send};
use trm_tests::instances::{self, BrokerLaunch, log_path, wait_delivered};
use trm_tests::nats::NatsCluster;
use trm_tests::process::BrokerProcess;

const AT: &str = "at";
const RS: &str = "rs";
/// Homed on `at`, connected to `at#1`.
const LEFOE: &str = "lefoe-ibf@at";
/// Homed on `at`, connected to `at#2`.
const ECPAT: &str = "ecpat@at";
/// Homed on `rs`.
const ASTRA: &str = "astra@rs";

/// How long one referral between the two processes of `at` may take end to end (accepted on
/// one, delivered from the other, its receipt back through the first) on a busy machine: half
/// the rescan period (without wake-ups across processes it takes about one period, 5 s).
const PROMPT: Duration = Duration::from_millis(2500);

/// Slack on top of the stated takeover time, for a busy machine: the first batch after the
/// takeover still has to be relayed and answered.
const TAKEOVER_SLACK: Duration = Duration::from_secs(6);

/// How long everything may take to be delivered once the sending stopped.
const DELIVERY: Duration = Duration::from_secs(60);

/// The running federation.
struct Instances {
    dir: tempfile::TempDir,
    fed: LocalFederation,
    nats: NatsCluster,
    at1: Option<BrokerProcess>,
    _at2: BrokerProcess,
    _rs: BrokerProcess,
    at2_addr: SocketAddr,
}

impl Instances {
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let nats = NatsCluster::start(&dir.path().join("nats"), 3).await?;
        let fed = LocalFederation::create(
            dir.path(),
            "trm-instances-test",
            &[(AT, "AT"), (RS, "RS")],
            &[
                (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
                (ECPAT, "ECPAT", "ngo", "AT"),
                (ASTRA, "Astra", "ngo", "RS"),
            ],
        )
        .await?;
        let at2_addr = instances::free_port()?;
        let store = StoreFile {
            kind: StoreKind::JetStream,
            servers: nats.urls(),
            stream_prefix: "TRMI".into(),
            ..StoreFile::default()
        };
        let at1_addr = fed.broker_addr(AT)?;
        let rs_addr = fed.broker_addr(RS)?;
        // at#1 first, alone: it takes the relay lease for rs.
        let at1 = start_broker(
            dir.path(),
            &fed,
            &BrokerLaunch {
                process_name: "at-1".into(),
                broker: AT.into(),
                listen: at1_addr,
                store: Some(store.clone()),
                peer_endpoints: Vec::new(),
            },
        )
        .await?;
        trm_dev::wait::wait_for(Duration::from_secs(30), "at#1 to take the relay lease for rs", || {
            let log = log_path(dir.path(), "at-1");
            async move { Ok(std::fs::read_to_string(log)?.contains("relay lease for rs taken")) }
        })
        .await?;
        let at2 = start_broker(
            dir.path(),
            &fed,
            &BrokerLaunch {
                process_name: "at-2".into(),
                broker: AT.into(),
                listen: at2_addr,
                store: Some(store),
                peer_endpoints: Vec::new(),
            },
        )
        .await?;
        let rs = start_broker(
            dir.path(),
            &fed,
            &BrokerLaunch {
                process_name: "rs".into(),
                broker: RS.into(),
                listen: rs_addr,
                store: None,
                peer_endpoints: vec![(AT.into(), vec![format!("https://{at2_addr}")])],
            },
        )
        .await?;
        Ok(Self {
            dir,
            fed,
            nats,
            at1: Some(at1),
            _at2: at2,
            _rs: rs,
            at2_addr,
        })
    }

    fn log(&self, name: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(log_path(self.dir.path(), name))?)
    }

    /// Starts `node`, connected to `endpoint` (its home broker's directory endpoint if `None`).
    async fn start_node(&mut self, node: &str, endpoint: Option<String>) -> anyhow::Result<()> {
        let mut config = self.fed.node_config(node)?;
        if let Some(endpoint) = endpoint {
            config.broker_endpoint = endpoint.into();
        }
        self.fed.start_node_with(node, config).await
    }

    async fn client(&self, node: &str) -> anyhow::Result<NodeAdminClient<Channel>> {
        self.fed.client(node).await
    }
}

/// Starts `launch` from this test's broker program, in the test's folder `dir`.
async fn start_broker(
    dir: &Path,
    fed: &LocalFederation,
    launch: &BrokerLaunch,
) -> anyhow::Result<BrokerProcess> {
    instances::start_broker(
        Path::new(env!("CARGO_BIN_EXE_broker-process")),
        dir,
        fed,
        launch,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_of_one_broker_deliver_across_each_other_and_the_relay_survives_a_kill()
-> anyhow::Result<()> {
    let mut net = Instances::start().await?;
    net.start_node(LEFOE, None).await?;
    let at2 = format!("https://{}", net.at2_addr);
    net.start_node(ECPAT, Some(at2.clone())).await?;
    net.start_node(ASTRA, None).await?;
    let lefoe = net.client(LEFOE).await?;
    let ecpat = net.client(ECPAT).await?;
    let astra = net.client(ASTRA).await?;

    // Accepted by at#2, delivered by at#1, the receipt back through at#2: one at a time, timed.
    // (ECPAT sends, since a node does not pass on content it received.)
    let mut across = Vec::new();
    let mut took = Vec::new();
    for _ in 0..6 {
        let started = Instant::now();
        let id = send(&ecpat, LEFOE).await?;
        fixtures::wait_for_step(&ecpat, &id, "delivered", Duration::from_secs(30)).await?;
        took.push(started.elapsed());
        across.push(id);
    }
    took.sort();
    let median = took[took.len() / 2];
    println!(
        "across the two processes of at, send to delivered receipt: median {:.2} s, slowest {:.2} s (rescan every {} s)",
        median.as_secs_f64(),
        took.last().copied().unwrap_or_default().as_secs_f64(),
        trm_broker::store::jetstream::RESCAN_EVERY.as_secs()
    );
    // The first one may wait for the nodes' streams to open; the others are woken at once.
    assert!(
        median < PROMPT,
        "deliveries across processes took {took:?}: the wake-ups do not cross"
    );
    received_once(&lefoe, &across).await?;

    // LEFÖ-IBF comes back on at#2 (a reconnect to the other process): what waited for it is
    // delivered there, each once, and nothing acknowledged through at#1 comes again.
    net.fed.stop_node(LEFOE).await?;
    let mut waited = Vec::new();
    for _ in 0..3 {
        waited.push(send(&ecpat, LEFOE).await?);
    }
    net.start_node(LEFOE, Some(at2)).await?;
    let lefoe = net.client(LEFOE).await?;
    wait_delivered(&ecpat, &waited, false, Duration::from_secs(30)).await?;
    across.extend(waited);
    received_once(&lefoe, &across).await?;

    // ECPAT sends to Astra through at#2 while at#1, holding the relay lease, is killed.
    assert!(
        !net.log("at-2")?.contains("relay lease for rs taken"),
        "at#2 holds the lease for rs before at#1 died"
    );
    let sender = {
        let ecpat = ecpat.clone();
        tokio::spawn(async move {
            let mut sent = Vec::new();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(30) {
                sent.push((Instant::now(), send(&ecpat, ASTRA).await?));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            anyhow::Ok(sent)
        })
    };
    tokio::time::sleep(Duration::from_secs(8)).await;
    let killed = Instant::now();
    if let Some(mut at1) = net.at1.take() {
        at1.kill()?;
    }
    // The relay continued once a referral sent after the kill shows as relayed.
    let after = send(&ecpat, ASTRA).await?;
    fixtures::wait_for_step(
        &ecpat,
        &after,
        "relayed",
        trm_broker::lease::TAKEOVER + TAKEOVER_SLACK,
    )
    .await
    .context("the relay did not continue after the lease holder was killed")?;
    let resumed = killed.elapsed();
    let sent = sender.await??;
    let mut ids: Vec<String> = sent.into_iter().map(|(_, id)| id).collect();
    ids.push(after);
    wait_delivered(&ecpat, &ids, true, DELIVERY).await?;
    println!(
        "relay lease holder at#1 killed: a referral sent after the kill relayed by at#2 {:.1} s later (stated takeover {} s); all {} referrals delivered once",
        resumed.as_secs_f64(),
        trm_broker::lease::TAKEOVER.as_secs(),
        ids.len()
    );
    received_once(&astra, &ids).await?;
    let at2_log = net.log("at-2")?;
    assert!(
        at2_log.contains("relay lease for rs taken"),
        "at#2 did not take the lease over"
    );
    net.fed.shutdown().await?;
    Ok(())
}

/// The serving status of `at#1`'s write path, as a node's health check sees it.
async fn writes_status(channel: &Channel) -> anyhow::Result<i32> {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    Ok(health
        .check(tonic_health::pb::HealthCheckRequest {
            service: trm_broker::server::WRITES_HEALTH.into(),
        })
        .await?
        .into_inner()
        .status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_quorum_shows_in_health_and_the_broker_recovers_by_itself()
-> anyhow::Result<()> {
    use tonic_health::pb::health_check_response::ServingStatus;
    let mut net = Instances::start().await?;
    net.start_node(LEFOE, None).await?;
    let at2 = format!("https://{}", net.at2_addr);
    net.start_node(ECPAT, Some(at2)).await?;
    let lefoe = net.client(LEFOE).await?;
    let ecpat = net.client(ECPAT).await?;
    let channel = fixtures::channel_as(&net.fed, LEFOE).await?;
    assert_eq!(
        writes_status(&channel).await?,
        ServingStatus::Serving as i32
    );

    let cut = Instant::now();
    net.nats.kill(1)?;
    net.nats.kill(2)?;
    let channel_ref = &channel;
    trm_dev::wait::wait_for(
        Duration::from_secs(30),
        "writes NOT_SERVING",
        || async move { Ok(writes_status(channel_ref).await? == ServingStatus::NotServing as i32) },
    )
    .await?;
    let noticed = cut.elapsed();
    let id = send(&ecpat, LEFOE).await?;
    // It stays so while the quorum is lost (a connection back to the live server is not
    // enough), through more than one healthy-probe period.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            writes_status(&channel).await?,
            ServingStatus::NotServing as i32,
            "writes served again without a quorum"
        );
    }
    let steps = fixtures::steps(&mut ecpat.clone(), &id).await?;
    assert!(
        !steps.iter().any(|s| s == "delivered"),
        "delivered without a quorum: {steps:?}"
    );

    let back = Instant::now();
    net.nats.restart(1)?;
    net.nats.restart(2)?;
    trm_dev::wait::wait_for(
        Duration::from_secs(60),
        "writes SERVING again",
        || async move { Ok(writes_status(channel_ref).await? == ServingStatus::Serving as i32) },
    )
    .await?;
    let recovered = back.elapsed();
    fixtures::wait_for_step(&ecpat, &id, "delivered", DELIVERY).await?;
    println!(
        "two of three NATS servers killed: health NOT_SERVING after {:.1} s with no submission; SERVING again {:.1} s after they restarted; the referral sent meanwhile delivered {:.1} s after",
        noticed.as_secs_f64(),
        recovered.as_secs_f64(),
        back.elapsed().as_secs_f64()
    );
    received_once(&lefoe, &[id]).await?;
    net.fed.shutdown().await?;
    Ok(())
}

/// A signed envelope from `lefoe-ibf@at` (the suite's) with message id `id`.
fn envelope(
    key: &ed25519_dalek::SigningKey,
    id: &MessageId,
) -> anyhow::Result<trm_proto::envelope::VerifiedEnvelope> {
    trm_broker::store::suite::envelope(key, id, b"sealed").map_err(|e| anyhow::anyhow!("{e}"))
}

/// A receipt about message `id`, as a peer's RELAYED receipt would say it (unsigned: the store
/// does not check signatures).
fn receipt_about(id: &MessageId) -> pb::SignedReceipt {
    pb::SignedReceipt {
        receipt: pb::Receipt {
            message_id: id.as_str().to_owned(),
            ..Default::default()
        }
        .encode_to_vec(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_applied_by_two_processes_removes_the_item_once_and_queues_one_receipt()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = NatsCluster::start(dir.path(), 3).await?;
    let settings = trm_broker::config::store::JetStreamSettings {
        servers: cluster.urls(),
        replicas: 3,
        stream_prefix: "TRM".into(),
        tls_ca: None,
        tls_client: None,
        credentials: None,
    };
    let broker: BrokerName = "at".parse()?;
    let a = JetStreamStore::open(&settings, &broker).await?;
    let b = JetStreamStore::open(&settings, &broker).await?;
    let peer: BrokerName = "rs".parse()?;
    let sender: NodeAddr = "lefoe-ibf@at".parse()?;
    let key = trm_proto::signing::generate_key();

    // Two envelopes in the outbox for rs.
    let ids = [MessageId::random(), MessageId::random()];
    for id in &ids {
        let mut admission: Admission =
            trm_broker::store::suite::admission(envelope(&key, id)?, "accepted");
        admission.destination = Destination::Peer(peer.clone());
        a.accept(admission).await?;
    }
    let outgoing = a.outgoing(&peer, 10, 1 << 20).await?;
    assert_eq!(outgoing.len(), 2);
    let answer = |items: &[usize]| RelayAnswer {
        sequences: items.iter().map(|i| outgoing[*i].sequence).collect(),
        receipts: items
            .iter()
            .map(|i| (sender.clone(), receipt_about(&ids[*i])))
            .collect(),
        records: Vec::new(),
    };
    // Process a answers the first item (its call was in flight when it lost the lease); b,
    // the new holder, relayed both and answers both; a's answer is applied again (a retry).
    a.relayed(peer.clone(), answer(&[0])).await?;
    b.relayed(peer.clone(), answer(&[0, 1])).await?;
    a.relayed(peer.clone(), answer(&[0])).await?;
    b.relayed(peer.clone(), answer(&[0, 1])).await?;

    assert_eq!(a.outbox_len(&peer).await?, 0, "both items left the outbox");
    let queued = b.pending(&sender, 0, 100).await?;
    let mut about: Vec<String> = queued
        .iter()
        .filter_map(|q| match &q.delivery.item {
            Some(pb::delivery::Item::Receipt(r)) => {
                trm_proto::receipt::peek(r).ok().map(|r| r.message_id)
            }
            _ => None,
        })
        .collect();
    about.sort();
    let mut expected: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
    expected.sort();
    assert_eq!(
        about, expected,
        "one receipt per item for the sender: {queued:?}"
    );

    // A wake-up announced by one process reaches the other, and not itself.
    let mut heard_by_b = b
        .wake_ups()
        .await?
        .context("a shared store hears wake-ups")?;
    let mut heard_by_a = a
        .wake_ups()
        .await?
        .context("a shared store hears wake-ups")?;
    // A wake-up is core NATS, not stored: one announced before b's interest reached a's
    // server (cluster routes carry it there a moment after b subscribes) is lost, as the
    // store's rescan allows. So a announces until b hears one.
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            a.announce(WakeUp::Node(sender.clone()));
            if let Ok(heard) =
                tokio::time::timeout(Duration::from_millis(250), heard_by_b.recv()).await
            {
                return heard;
            }
        }
    })
    .await
    .context("no wake-up announced by one process reached the other in 10 s")?;
    assert_eq!(heard, Some(WakeUp::Node(sender.clone())));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), heard_by_a.recv())
            .await
            .is_err(),
        "a process heard its own wake-up"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_lease_is_held_by_one_process_renewed_and_taken_over_once_it_lapses()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = NatsCluster::start(dir.path(), 3).await?;
    let settings = trm_broker::config::store::JetStreamSettings {
        servers: cluster.urls(),
        replicas: 3,
        stream_prefix: "TRM".into(),
        tls_ca: None,
        tls_client: None,
        credentials: None,
    };
    let broker: BrokerName = "at".parse()?;
    let a = JetStreamStore::open(&settings, &broker).await?;
    let b = JetStreamStore::open(&settings, &broker).await?;
    let key = trm_broker::lease::relay_key(&"rs".parse()?);
    let taken_first = a
        .lease(&key, "a", 0)
        .await?
        .context("a free lease is taken")?;
    // The same holder, restarted, takes it back at once.
    let first = a
        .lease(&key, "a", 0)
        .await?
        .context("a holder takes its own lease back")?;
    assert!(first > taken_first);
    assert_eq!(
        b.lease(&key, "b", 0).await?,
        None,
        "a held lease is not taken"
    );
    let renewed = a
        .lease(&key, "a", first)
        .await?
        .context("the holder renews")?;
    assert_eq!(
        b.lease(&key, "b", first).await?,
        None,
        "a stale revision renews nothing"
    );
    // a stops renewing (as if killed): b takes it once it lapsed, and not before.
    let stopped = Instant::now();
    let taken = loop {
        if let Some(revision) = b.lease(&key, "b", 0).await? {
            break revision;
        }
        anyhow::ensure!(
            stopped.elapsed() < trm_broker::lease::TAKEOVER + Duration::from_secs(5),
            "the lease never lapsed"
        );
        tokio::time::sleep(trm_broker::lease::TRY_EVERY).await;
    };
    let lapsed = stopped.elapsed();
    println!(
        "a lease not renewed was taken over after {:.1} s",
        lapsed.as_secs_f64()
    );
    assert!(
        lapsed >= trm_broker::lease::LEASE_TTL - Duration::from_secs(1),
        "taken after {lapsed:?}, before the lease could lapse"
    );
    assert_eq!(
        a.lease(&key, "a", renewed).await?,
        None,
        "the old holder learns that it lost the lease"
    );
    // Given up, it is free at once (within a try or two: a replica may answer a read).
    b.release(&key, taken).await?;
    let released = Instant::now();
    while a.lease(&key, "a", 0).await?.is_none() {
        anyhow::ensure!(
            released.elapsed() < Duration::from_secs(3),
            "a released lease is not free"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
