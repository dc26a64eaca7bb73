//! Links that fail, over real processes: two broker programs, `at` and `rs`, each reaching the
//! other through a link proxy ([`trm_tests::proxy`]), with LEFÖ-IBF homed on `at` and Astra on
//! `rs` as real node daemons.
//!
//! - A link blackholed for 150 s (`TRM_LINK_CUT_SECS` to change it) while LEFÖ-IBF keeps
//!   sending: the relay resumes within 30 s of the path coming back (timed from the proxy
//!   passing again to the oldest referral sent meanwhile showing as relayed),
//!   every referral is delivered, once, within 60 s, with no restart; the broker warns once
//!   that its peer is unreachable.
//! - The same with a link that resets every connection, for a shorter cut.
//! - Two brokers that refuse every relayed batch (their data folders vanished, so neither can
//!   read its free space, a transient refusal) call each other at a bounded rate, counted from
//!   the refusals in their logs, and deliver everything once the folders are back.
//! - A node whose own link to its broker is blackholed receives its deliveries without a
//!   restart once the link is back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tonic::transport::Channel;
use trm_dev::local::LocalFederation;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_tests::fixtures;
use trm_tests::fixtures::{received_once, send_referral as send};
use trm_tests::process::{self, BrokerProcess};
use trm_tests::proxy::{LinkProxy, Mode};

const AT: &str = "at";
const RS: &str = "rs";
/// LEFÖ-IBF, Vienna, homed on `at`.
const LEFOE: &str = "lefoe-ibf@at";
/// Astra, Belgrade, homed on `rs`.
const ASTRA: &str = "astra@rs";

/// How long a recovered link may take to carry anything again (the relay resuming).
const RECOVERY: Duration = Duration::from_secs(30);

/// How long a recovered link may take to deliver everything that waited, end to end (relay,
/// delivery stream, node, receipt back), on a busy machine.
const DELIVERY: Duration = Duration::from_secs(60);

/// The blackholed link's cut, in seconds, unless `TRM_LINK_CUT_SECS` says otherwise.
const CUT_SECS: u64 = 150;

/// A running two-broker federation whose broker links go through proxies.
struct Links {
    dir: tempfile::TempDir,
    fed: LocalFederation,
    /// The proxy each broker calls its peer through, by the calling broker's name.
    proxies: HashMap<&'static str, LinkProxy>,
    brokers: HashMap<&'static str, BrokerProcess>,
}

impl Links {
    /// Generates the federation, starts a proxy in front of each broker for the other, and
    /// starts both broker programs (relay backoff and timeouts at their defaults).
    async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let fed = LocalFederation::create(
            dir.path(),
            "trm-links-test",
            &[(AT, "AT"), (RS, "RS")],
            &[
                (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
                (ASTRA, "Astra", "ngo", "RS"),
            ],
        )
        .await?;
        let mut proxies = HashMap::new();
        proxies.insert(AT, LinkProxy::start(fed.broker_addr(RS)?).await?);
        proxies.insert(RS, LinkProxy::start(fed.broker_addr(AT)?).await?);
        let mut links = Self {
            dir,
            fed,
            proxies,
            brokers: HashMap::new(),
        };
        for (name, peer) in [(AT, RS), (RS, AT)] {
            links.start_broker(name, peer).await?;
        }
        Ok(links)
    }

    /// Writes broker `name`'s configuration, reaching `peer` through its proxy, and starts it
    /// with its log going to [`Links::log_path`].
    async fn start_broker(&mut self, name: &'static str, peer: &str) -> anyhow::Result<()> {
        let material = self
            .fed
            .federation
            .broker(name)
            .with_context(|| format!("no broker {name}"))?
            .clone();
        let addr = self.fed.broker_addr(name)?;
        let mut config = trm_dev::devfed::broker_config(
            &self.fed.federation,
            &material,
            addr,
            self.fed.broker_data_dir(name),
        );
        config
            .network
            .peer_endpoints
            .insert(peer.to_owned(), self.proxy(name)?.endpoint().into());
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, toml::to_string(&config)?)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(name))?;
        let broker = process::spawn_broker(
            Path::new(env!("CARGO_BIN_EXE_broker-process")),
            &path,
            addr,
            Stdio::from(log),
        )
        .await?;
        self.brokers.insert(name, broker);
        Ok(())
    }

    /// The proxy broker `name` calls its peer through.
    fn proxy(&self, name: &str) -> anyhow::Result<&LinkProxy> {
        self.proxies
            .get(name)
            .with_context(|| format!("no proxy for {name}"))
    }

    /// Puts both broker links in `mode`.
    fn cut(&self, mode: Mode) {
        for proxy in self.proxies.values() {
            proxy.set(mode);
        }
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    /// Broker `name`'s log so far.
    fn log(&self, name: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(self.log_path(name))?)
    }

    /// Starts both nodes, directly connected to their brokers.
    async fn start_nodes(&mut self) -> anyhow::Result<()> {
        for node in [LEFOE, ASTRA] {
            self.fed.start_node(node).await?;
        }
        Ok(())
    }

    async fn client(&self, node: &str) -> anyhow::Result<NodeAdminClient<Channel>> {
        self.fed.client(node).await
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        self.fed.shutdown().await?;
        for broker in self.brokers.values_mut() {
            broker.kill()?;
        }
        Ok(())
    }
}

/// Sends a referral to `to` every `every` for `during`; the message ids.
async fn keep_sending(
    client: &NodeAdminClient<Channel>,
    to: &str,
    during: Duration,
    every: Duration,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let mut sent = Vec::new();
    while started.elapsed() < during {
        sent.push(send(client, to).await?);
        tokio::time::sleep(every).await;
    }
    Ok(sent)
}

/// Waits until the sender's evidence shows every one of `ids` delivered; how long it took.
async fn wait_delivered(
    client: &NodeAdminClient<Channel>,
    ids: &[String],
    limit: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut waiting: Vec<String> = ids.to_vec();
    while !waiting.is_empty() {
        if started.elapsed() > limit {
            let mut evidence = Vec::new();
            for id in &waiting {
                let status = client
                    .clone()
                    .status(trm_proto::pb::StatusRequest {
                        message_id: id.clone(),
                    })
                    .await?
                    .into_inner();
                let steps: Vec<String> = status
                    .evidence
                    .iter()
                    .map(|e| format!("{} by {} ({})", e.step, e.attested_by, e.detail))
                    .collect();
                evidence.push(format!("{id}: {}", steps.join("; ")));
            }
            anyhow::bail!(
                "{} of {} referrals not delivered {limit:?} after the path came back; their evidence:\n{}",
                waiting.len(),
                ids.len(),
                evidence.join("\n")
            );
        }
        let mut still = Vec::new();
        for id in waiting {
            let steps = fixtures::steps(&mut client.clone(), &id).await?;
            if !steps.iter().any(|s| s == "delivered") {
                still.push(id);
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(started.elapsed())
}

/// How often `needle` appears in `log` after its first `from` bytes.
fn count_after(log: &str, from: usize, needle: &str) -> usize {
    log.get(from..).unwrap_or_default().matches(needle).count()
}

/// The cut: a link that drops every byte for `cut`, or resets every connection.
async fn cut_and_recover(mode: Mode, cut: Duration) -> anyhow::Result<()> {
    let mut links = Links::start().await?;
    links.start_nodes().await?;
    let lefoe = links.client(LEFOE).await?;
    let astra = links.client(ASTRA).await?;
    // The path works, and its connections are open when it is cut.
    let first = send(&lefoe, ASTRA).await?;
    wait_delivered(&lefoe, std::slice::from_ref(&first), RECOVERY).await?;

    let log_mark = links.log(AT)?.len();
    links.cut(mode);
    let sent = keep_sending(&lefoe, ASTRA, cut, Duration::from_secs(2)).await?;
    // Nothing crossed while the link was down.
    assert_eq!(
        fixtures::inbox_ids(&mut astra.clone()).await?,
        std::slice::from_ref(&first)
    );
    links.cut(Mode::Pass);
    let back = Instant::now();
    // The relay resumed once the oldest referral sent meanwhile shows as relayed (its first
    // batch went through; the brokers log at warn level only, so their logs cannot tell).
    let oldest = sent.first().context("nothing sent during the cut")?;
    fixtures::wait_for_step(&lefoe, oldest, "relayed", RECOVERY).await?;
    let resumed = back.elapsed();
    wait_delivered(&lefoe, &sent, DELIVERY).await?;
    let delivered = back.elapsed();
    println!(
        "{mode:?} link for {} s: relay resumed {:.1} s after the path came back; all {} referrals sent meanwhile delivered after {:.1} s",
        cut.as_secs(),
        resumed.as_secs_f64(),
        sent.len(),
        delivered.as_secs_f64()
    );
    assert!(resumed <= RECOVERY, "relay resumed after {resumed:?}");
    let mut all = vec![first];
    all.extend(sent);
    received_once(&astra, &all).await?;

    // The outage was reported once, not at every attempt.
    let log = links.log(AT)?;
    let warned = count_after(&log, log_mark, "peer broker rs unreachable");
    assert_eq!(
        warned,
        1,
        "at's log after the cut:\n{}",
        log.get(log_mark..).unwrap_or_default()
    );
    links.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_delivers_everything_within_30_s_of_coming_back() -> anyhow::Result<()> {
    let cut = std::env::var("TRM_LINK_CUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CUT_SECS);
    cut_and_recover(Mode::Blackhole, Duration::from_secs(cut)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_resets_every_connection_delivers_everything_once_it_passes_again()
-> anyhow::Result<()> {
    cut_and_recover(Mode::Reset, Duration::from_secs(20)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_brokers_that_refuse_each_others_batches_do_not_hammer_each_other() -> anyhow::Result<()>
{
    const WINDOW: Duration = Duration::from_secs(40);
    let mut links = Links::start().await?;
    links.start_nodes().await?;
    let lefoe = links.client(LEFOE).await?;
    let astra = links.client(ASTRA).await?;
    // Referrals both ways wait in the brokers' outboxes while the links reset.
    links.cut(Mode::Reset);
    let mut to_astra = Vec::new();
    let mut to_lefoe = Vec::new();
    for _ in 0..3 {
        to_astra.push(send(&lefoe, ASTRA).await?);
        to_lefoe.push(send(&astra, LEFOE).await?);
    }
    for id in &to_astra {
        fixtures::wait_for_step(&lefoe, id, "accepted", RECOVERY).await?;
    }
    for id in &to_lefoe {
        fixtures::wait_for_step(&astra, id, "accepted", RECOVERY).await?;
    }
    // Each broker's data folder goes away (as an unmounted volume would): neither can read its
    // free space, so each refuses the other's batches as a whole, for now, after taking the
    // call as a sign of life.
    let marks = [links.log(AT)?.len(), links.log(RS)?.len()];
    let moved = |name: &str| -> PathBuf {
        let data = links.fed.broker_data_dir(name);
        data.with_file_name(format!("{name}.away"))
    };
    for name in [AT, RS] {
        std::fs::rename(links.fed.broker_data_dir(name), moved(name))?;
    }
    // A broker reads its free space at most once a second: let the last reading lapse.
    tokio::time::sleep(Duration::from_secs(2)).await;
    links.cut(Mode::Pass);
    tokio::time::sleep(WINDOW).await;
    let refused = |name: &str, mark: usize| -> anyhow::Result<usize> {
        Ok(count_after(&links.log(name)?, mark, "refused relay batch"))
    };
    let (by_at, by_rs) = (refused(AT, marks[0])?, refused(RS, marks[1])?);
    let rate = (by_at + by_rs) as f64 / WINDOW.as_secs_f64();
    println!(
        "while both refused: {by_rs} calls at -> rs and {by_at} calls rs -> at in {} s ({rate:.2} calls/s)",
        WINDOW.as_secs()
    );
    assert!(
        by_at >= 1 && by_rs >= 1,
        "both must have called: {by_at} {by_rs}"
    );
    assert!(rate < 5.0, "{rate:.2} relay calls per second");

    // The folders come back: everything is delivered, once.
    for name in [AT, RS] {
        std::fs::rename(moved(name), links.fed.broker_data_dir(name))?;
    }
    let back = Instant::now();
    let delivered = async {
        wait_delivered(&lefoe, &to_astra, DELIVERY).await?;
        wait_delivered(&astra, &to_lefoe, DELIVERY).await
    };
    if let Err(e) = delivered.await {
        // The brokers' warnings since the folders went away say what held the rest.
        for (name, mark) in [(AT, marks[0]), (RS, marks[1])] {
            let log = links.log(name)?;
            let tail: Vec<&str> = log
                .get(mark..)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(40)
                .collect();
            eprintln!(
                "{name}'s last warnings:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        return Err(e);
    }
    println!(
        "both directions delivered {:.1} s after the folders came back",
        back.elapsed().as_secs_f64()
    );
    received_once(&astra, &to_astra).await?;
    received_once(&lefoe, &to_lefoe).await?;
    links.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_link_to_its_broker_was_blackholed_receives_without_a_restart()
-> anyhow::Result<()> {
    let mut links = Links::start().await?;
    let to_rs = LinkProxy::start(links.fed.broker_addr(RS)?).await?;
    links.fed.start_node(LEFOE).await?;
    let mut config = links.fed.node_config(ASTRA)?;
    config.broker_endpoint = to_rs.endpoint().into();
    links.fed.start_node_with(ASTRA, config).await?;
    let lefoe = links.client(LEFOE).await?;
    let astra = links.client(ASTRA).await?;
    let first = send(&lefoe, ASTRA).await?;
    wait_delivered(&lefoe, std::slice::from_ref(&first), RECOVERY).await?;

    // Astra's delivery stream goes silent; referrals for it arrive at rs meanwhile.
    to_rs.set(Mode::Blackhole);
    let sent = keep_sending(
        &lefoe,
        ASTRA,
        Duration::from_secs(45),
        Duration::from_secs(3),
    )
    .await?;
    for id in &sent {
        fixtures::wait_for_step(&lefoe, id, "relayed", RECOVERY).await?;
    }
    assert_eq!(
        fixtures::inbox_ids(&mut astra.clone()).await?,
        std::slice::from_ref(&first)
    );
    to_rs.set(Mode::Pass);
    let recovery = wait_delivered(&lefoe, &sent, DELIVERY).await?;
    println!(
        "node link blackholed for 45 s: {} referrals delivered {:.1} s after it came back",
        sent.len(),
        recovery.as_secs_f64()
    );
    let mut all = vec![first];
    all.extend(sent);
    received_once(&astra, &all).await?;
    assert!(
        to_rs.connections().accepted >= 2,
        "the node dialled again: {:?}",
        to_rs.connections()
    );
    links.stop().await
}
