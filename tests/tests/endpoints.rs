//! Several endpoints per broker, over real processes: two broker programs, `at` and `rs`, with
//! LEFÖ-IBF homed on `at` and Astra on `rs` as node daemons, and two link proxies
//! ([`trm_tests::proxy`]) in front of `rs` standing for two endpoints of that one broker (two
//! instances of one broker name are another piece of work; every endpoint presents `rs`'s
//! certificate either way).
//!
//! - A node whose home broker lists two endpoints (its `broker_endpoint` list) keeps sending
//!   and receiving while the first resets every connection, and comes back to the first once it
//!   passes again: referrals exchanged afterwards do not touch the second.
//! - The same for a broker reaching a peer broker whose directory entry lists two endpoints:
//!   the relay from `at` to `rs` moves to the second and back to the first.
//! - Both cases again with a first endpoint that goes silent (accepts, drops every byte,
//!   never closes) instead of resetting: the open connection is given up on at the keepalive
//!   deadline, each new round spends the handshake deadline on the first before the second, and
//!   (for the node) the delivery stream `rs` keeps on the silent connection until its own
//!   keepalive ends it takes no wake-up from the stream on the new one (what stalled a referral
//!   before).
//!
//! A connection to a later endpoint checks the earlier ones every second here
//! (`broker_failback_secs`, `network.failback_secs`; 30 s by default).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
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

/// How long a referral may take end to end, a failover on its way included, on a busy machine.
const DELIVERY: Duration = Duration::from_secs(60);

/// How long the connection may take to come back to a recovered first endpoint: a check each
/// second, a new round, and the callers' backoff after the moved connection failed their calls.
const RETURN: Duration = Duration::from_secs(45);

/// Which connection goes through the two endpoints in front of `rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Through {
    /// Astra's connection to its home broker (the endpoints are its configuration's list).
    Node,
    /// `at`'s connection to its peer `rs` (the endpoints are `rs`'s directory entry).
    Peer,
}

/// The running federation.
struct Endpoints {
    dir: tempfile::TempDir,
    fed: LocalFederation,
    /// `rs`'s first endpoint.
    first: LinkProxy,
    /// `rs`'s second endpoint.
    second: LinkProxy,
    brokers: HashMap<&'static str, BrokerProcess>,
}

impl Endpoints {
    /// Reserves `rs`'s port, starts both proxies in front of it, generates the federation
    /// (with the two proxies as `rs`'s directory endpoints when `through` is the peer link),
    /// and starts both broker programs and both nodes.
    async fn start(through: Through) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let rs_listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let first = LinkProxy::start(rs_listen).await?;
        let second = LinkProxy::start(rs_listen).await?;
        let rs_endpoints = match through {
            Through::Node => vec![format!("https://{rs_listen}")],
            Through::Peer => vec![first.endpoint(), second.endpoint()],
        };
        let fed = LocalFederation::create_with(
            dir.path(),
            "trm-endpoints-test",
            &[(AT, "AT"), (RS, "RS")],
            &[
                (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
                (ASTRA, "Astra", "ngo", "RS"),
            ],
            |spec| {
                for broker in &mut spec.brokers {
                    if broker.name == RS {
                        broker.endpoints = rs_endpoints.clone().into();
                    }
                }
            },
        )
        .await?;
        let mut running = Self {
            dir,
            fed,
            first,
            second,
            brokers: HashMap::new(),
        };
        // `rs` first: `at` calls it at its start (directory, prekeys), and a first endpoint
        // whose broker is not up yet would send that call to the second.
        running.start_broker(RS, rs_listen).await?;
        let at_listen = running.fed.broker_addr(AT)?;
        running.start_broker(AT, at_listen).await?;
        running.fed.start_node(LEFOE).await?;
        let mut astra = running.fed.node_config(ASTRA)?;
        astra.broker_endpoint = match through {
            Through::Node => vec![running.first.endpoint(), running.second.endpoint()],
            Through::Peer => vec![format!("https://{rs_listen}")],
        }
        .into();
        astra.broker_failback_secs = 1;
        running.fed.start_node_with(ASTRA, astra).await?;
        Ok(running)
    }

    /// Writes broker `name`'s configuration (listening on `listen`, short relay backoff, a
    /// failback check every second) and starts the program.
    async fn start_broker(&mut self, name: &'static str, listen: SocketAddr) -> anyhow::Result<()> {
        let material = self
            .fed
            .federation
            .broker(name)
            .with_context(|| format!("no broker {name}"))?
            .clone();
        let mut config = trm_dev::devfed::broker_config(
            &self.fed.federation,
            &material,
            listen,
            self.fed.broker_data_dir(name),
        );
        config.relay_backoff_initial_ms = trm_dev::local::TEST_RELAY_BACKOFF_INITIAL_MS;
        config.relay_backoff_max_ms = trm_dev::local::TEST_RELAY_BACKOFF_MAX_MS;
        config.network.failback_secs = 1;
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, toml::to_string(&config)?)?;
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log")))?;
        let broker = process::spawn_broker_logging(
            Path::new(env!("CARGO_BIN_EXE_broker-process")),
            &path,
            listen,
            Stdio::from(log),
            "info",
        )
        .await?;
        self.brokers.insert(name, broker);
        Ok(())
    }

    /// Broker `name`'s log so far.
    fn log(&self, name: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.dir.path().join(format!("{name}.log")),
        )?)
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        self.fed.shutdown().await?;
        for broker in self.brokers.values_mut() {
            broker.kill()?;
        }
        Ok(())
    }
}

/// One referral each way between LEFÖ-IBF and Astra, each waited for until delivered; the ids
/// sent by each.
async fn exchange(
    lefoe: &NodeAdminClient<Channel>,
    astra: &NodeAdminClient<Channel>,
) -> anyhow::Result<(String, String)> {
    let to_astra = send(lefoe, ASTRA).await?;
    let to_lefoe = send(astra, LEFOE).await?;
    let started = Instant::now();
    for (sender, id) in [(lefoe, &to_astra), (astra, &to_lefoe)] {
        if let Err(e) = fixtures::wait_for_step(sender, id, "delivered", DELIVERY).await {
            let steps = fixtures::steps(&mut sender.clone(), id).await?;
            anyhow::bail!(
                "{e:#} ({:.1} s after sending; its evidence so far: {steps:?})",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok((to_astra, to_lefoe))
}

/// The scenario, through the node's link or the peer link: both endpoints up, the first in
/// `cut_mode` (resetting every connection, or silent), the first back. On failure, the brokers'
/// logs are printed (the nodes run in this process and log to its captured output).
async fn fail_over_and_come_back(through: Through, cut_mode: Mode) -> anyhow::Result<()> {
    trm_storage::logging::init("info", trm_storage::logging::Stream::Stdout)?;
    let running = Endpoints::start(through).await?;
    match scenario(&running, through, cut_mode).await {
        Ok(()) => running.stop().await,
        Err(e) => {
            for name in [AT, RS] {
                eprintln!("--- {name}'s log ---\n{}", running.log(name)?);
            }
            Err(e)
        }
    }
}

async fn scenario(running: &Endpoints, through: Through, cut_mode: Mode) -> anyhow::Result<()> {
    let lefoe = running.fed.client(LEFOE).await?;
    let astra = running.fed.client(ASTRA).await?;
    let (mut to_astra, mut to_lefoe) = (Vec::new(), Vec::new());
    let mut record = |(a, l): (String, String)| {
        to_astra.push(a);
        to_lefoe.push(l);
    };

    // Both up: the first endpoint carries everything, the second is never dialled.
    record(exchange(&lefoe, &astra).await?);
    assert!(running.first.connections().to_target > 0);
    assert_eq!(running.second.connections().accepted, 0, "second dialled");

    // The first resets every connection, or goes silent: the traffic moves to the second.
    running.first.set(cut_mode);
    let cut = Instant::now();
    record(exchange(&lefoe, &astra).await?);
    println!(
        "{through:?}, first endpoint in {cut_mode:?}: a referral each way delivered {:.1} s after the cut",
        cut.elapsed().as_secs_f64()
    );
    for _ in 0..2 {
        record(exchange(&lefoe, &astra).await?);
    }
    println!(
        "{through:?}, first endpoint in {cut_mode:?}: three referrals each way through the second endpoint in {:.1} s",
        cut.elapsed().as_secs_f64()
    );
    assert!(
        running.second.connections().to_target > 0,
        "the second endpoint carried nothing: {:?}",
        running.second.connections()
    );
    match cut_mode {
        Mode::Reset => assert!(running.first.connections().reset_on_arrival > 0),
        _ => assert!(running.first.connections().dropped > 0),
    }

    // The first passes again: an exchange soon no longer touches the second.
    running.first.set(Mode::Pass);
    let back = Instant::now();
    loop {
        let before = running.second.connections();
        record(exchange(&lefoe, &astra).await?);
        let after = running.second.connections();
        if after.to_target == before.to_target && after.to_client == before.to_client {
            break;
        }
        anyhow::ensure!(
            back.elapsed() < RETURN,
            "{through:?}: still using the second endpoint {RETURN:?} after the first came back"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "{through:?}: back on the first endpoint {:.1} s after it passed again",
        back.elapsed().as_secs_f64()
    );
    // And it stays there: the second's connection is gone, so not even a keepalive crosses it.
    let settled = running.second.connections();
    for _ in 0..2 {
        record(exchange(&lefoe, &astra).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(running.second.connections().to_target, settled.to_target);
    assert_eq!(running.second.connections().accepted, settled.accepted);

    received_once(&astra, &to_astra).await?;
    received_once(&lefoe, &to_lefoe).await?;
    let moved = match through {
        Through::Node => None,
        Through::Peer => Some(running.log(AT)?),
    };
    if let Some(log) = moved {
        assert!(
            log.contains("connected to a later broker endpoint")
                && log.contains("an earlier broker endpoint answers again"),
            "at's log says nothing of the move and the move back:\n{log}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_keeps_exchanging_through_its_brokers_second_endpoint_and_comes_back_to_the_first()
-> anyhow::Result<()> {
    fail_over_and_come_back(Through::Node, Mode::Reset).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_brokers_first_endpoint_goes_silent_moves_to_the_second_and_back()
-> anyhow::Result<()> {
    fail_over_and_come_back(Through::Node, Mode::Blackhole).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_relays_through_its_peers_second_endpoint_and_comes_back_to_the_first()
-> anyhow::Result<()> {
    fail_over_and_come_back(Through::Peer, Mode::Reset).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_whose_peers_first_endpoint_goes_silent_relays_through_the_second_and_back()
-> anyhow::Result<()> {
    fail_over_and_come_back(Through::Peer, Mode::Blackhole).await
}
