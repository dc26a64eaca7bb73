//! Kill -9 rounds under continuous load, over real processes: the broker `at` as two
//! `trm-broker` processes (`at#1`, `at#2`) on one JetStream stream of a three-server NATS
//! cluster on loopback, `rs` as one process on its embedded store, and real node daemons:
//! LEFÖ-IBF and ECPAT homed on `at`, Astra on `rs`.
//!
//! Both processes of `at` are listed in each `at` node's endpoint list, in opposite orders
//! (LEFÖ-IBF prefers `at#1`, ECPAT `at#2`), and in `rs`'s endpoints for its peer `at`; every
//! connection checks its earlier endpoints every second (`broker_failback_secs`,
//! `network.failback_secs`). Referrals flow the whole time on five routes, each at a steady
//! rate: ECPAT → LEFÖ-IBF and back (local to `at`, across its two processes), ECPAT and
//! LEFÖ-IBF → Astra (relayed by whichever process of `at` holds the relay lease for `rs`), and
//! Astra → LEFÖ-IBF (relayed by `rs` to either process of `at`).
//!
//! Rounds alternate: one NATS server killed (SIGKILL) and restarted a few seconds later on the
//! same ports and store; one process of `at` killed (SIGKILL) and restarted on the same
//! configuration and data folder. `TRM_KILL_ROUNDS` rounds (4 by default, the CI run; 20 for the
//! long run). Each broker round shows, from the brokers' logs, that the node preferring the
//! killed process moved to the other one (its delivery stream opened there) and came back once
//! it was restarted, and, when the killed process held the relay lease for `rs`, that the other
//! took it over. Each round prints its figures: the time from the kill to the delivery of the
//! first referral sent after it on each kind of route, and the referrals sent so far.
//!
//! After the last round and a quiet period: every referral acknowledged to its sender (its
//! `send` returned OK) is delivered, with a relayed step before it on the relayed routes; each
//! recipient holds it exactly once and nothing else; each handover log has one `sent` entry for
//! it at its sender and one `received` entry at its recipient; and every node's log verifies.
//! A send refused while its node cannot reach a broker is counted, not checked: the rule is
//! about what was acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use tonic::transport::Channel;
use trm_broker::config::store::{StoreFile, StoreKind};
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_tests::fixtures;
use trm_tests::fixtures::received_once;
use trm_tests::instances::{self, BrokerLaunch, log_path, wait_delivered};
use trm_tests::nats::NatsCluster;
use trm_tests::process::BrokerProcess;

const AT: &str = "at";
const RS: &str = "rs";
/// Homed on `at`, preferring `at#1`.
const LEFOE: &str = "lefoe-ibf@at";
/// Homed on `at`, preferring `at#2`.
const ECPAT: &str = "ecpat@at";
/// Homed on `rs`.
const ASTRA: &str = "astra@rs";

/// The node that prefers each process of `at` (lists it first).
const PREFERS: [&str; 2] = [LEFOE, ECPAT];

/// How many rounds, when `TRM_KILL_ROUNDS` does not say.
const DEFAULT_ROUNDS: usize = 4;

/// How often each route sends a referral.
const SEND_EVERY: Duration = Duration::from_secs(2);

/// How long a killed process stays down at least.
const DOWN: Duration = Duration::from_secs(3);

/// How long a node may take to move to the other process of `at` once its own was killed.
const FAILOVER: Duration = Duration::from_secs(20);

/// How long a node may take to come back to its preferred process once it was restarted: a
/// check each second, a new round of dials, and the node's backoff.
const FAILBACK: Duration = Duration::from_secs(30);

/// Slack on top of the stated takeover time of the relay lease, for a busy machine.
const TAKEOVER_SLACK: Duration = Duration::from_secs(6);

/// How long the first referral sent after a kill may take to be delivered.
const RECOVERY: Duration = Duration::from_secs(60);

/// How long a send (accepted by the node, on its disk) may take before the test calls it hung.
const SEND_LIMIT: Duration = Duration::from_secs(30);

/// The pause between rounds, and the load's last stretch after the last round.
const QUIET: Duration = Duration::from_secs(2);

/// How long everything may take to be delivered once the sending stopped.
const DELIVERY: Duration = Duration::from_secs(120);

/// Where a referral goes, as the figures group the routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Way {
    /// Between two nodes of `at`.
    Local,
    /// From a node of `at` to Astra, relayed by the lease holder.
    AtToRs,
    /// From Astra to a node of `at`, relayed by `rs`.
    RsToAt,
}

impl Way {
    const ALL: [Way; 3] = [Way::Local, Way::AtToRs, Way::RsToAt];

    fn name(self) -> &'static str {
        match self {
            Way::Local => "at→at",
            Way::AtToRs => "at→rs",
            Way::RsToAt => "rs→at",
        }
    }

    fn relayed(self) -> bool {
        self != Way::Local
    }
}

/// A route under load.
#[derive(Debug, Clone, Copy)]
struct Route {
    from: &'static str,
    to: &'static str,
    way: Way,
}

const ROUTES: [Route; 5] = [
    Route {
        from: ECPAT,
        to: LEFOE,
        way: Way::Local,
    },
    Route {
        from: LEFOE,
        to: ECPAT,
        way: Way::Local,
    },
    Route {
        from: ECPAT,
        to: ASTRA,
        way: Way::AtToRs,
    },
    Route {
        from: LEFOE,
        to: ASTRA,
        way: Way::AtToRs,
    },
    Route {
        from: ASTRA,
        to: LEFOE,
        way: Way::RsToAt,
    },
];

/// A referral its sender acknowledged.
#[derive(Debug, Clone)]
struct Acked {
    route: Route,
    id: String,
    /// When its send was asked for.
    asked: Instant,
}

/// What the load has sent so far.
#[derive(Debug, Default)]
struct Ledger {
    acked: Vec<Acked>,
    refused: usize,
    last_refusal: Option<String>,
}

fn lock(ledger: &Mutex<Ledger>) -> MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The admin clients of the three nodes.
type Clients = Arc<HashMap<&'static str, NodeAdminClient<Channel>>>;

fn client<'a>(clients: &'a Clients, node: &str) -> anyhow::Result<&'a NodeAdminClient<Channel>> {
    clients
        .get(node)
        .with_context(|| format!("no client for {node}"))
}

/// Sends on `route` every [`SEND_EVERY`] until `stop` is set.
async fn load(
    route: Route,
    clients: Clients,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let sender = client(&clients, route.from)?.clone();
    let mut tick = tokio::time::interval(SEND_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let asked = Instant::now();
        let sent = tokio::time::timeout(SEND_LIMIT, send(&sender, route.to))
            .await
            .with_context(|| {
                format!(
                    "a send from {} to {} hung for {SEND_LIMIT:?}",
                    route.from, route.to
                )
            })?;
        let mut ledger = lock(&ledger);
        match sent {
            Ok(id) => ledger.acked.push(Acked { route, id, asked }),
            Err(e) => {
                ledger.refused += 1;
                ledger.last_refusal = Some(format!("{} → {}: {e:#}", route.from, route.to));
            }
        }
    }
    Ok(())
}

/// Sends the test referral from the node behind `client` to `to` under handling code H1; its
/// message id. (The demo referral's code is H2, which may not be passed on: a node that received
/// it could not send it on to a third organisation.)
async fn send(client: &NodeAdminClient<Channel>, to: &str) -> anyhow::Result<String> {
    let mut request = fixtures::referral(to)?;
    if let Some(pb::body::Content::Referral(referral)) =
        request.body.as_mut().and_then(|b| b.content.as_mut())
    {
        referral.handling_code = pb::HandlingCode::H1.into();
    }
    Ok(client.clone().send(request).await?.into_inner().message_id)
}

/// The time from `since` until the first referral on `way` sent after `since` was delivered.
async fn first_delivered_after(
    way: Way,
    since: Instant,
    clients: Clients,
    ledger: Arc<Mutex<Ledger>>,
) -> anyhow::Result<Duration> {
    let first = loop {
        let found = lock(&ledger)
            .acked
            .iter()
            .find(|a| a.route.way == way && a.asked >= since)
            .cloned();
        if let Some(first) = found {
            break first;
        }
        if since.elapsed() > RECOVERY {
            let ledger = lock(&ledger);
            anyhow::bail!(
                "no {} referral acknowledged within {RECOVERY:?} of the kill ({} refused so far, the last: {})",
                way.name(),
                ledger.refused,
                ledger.last_refusal.as_deref().unwrap_or("none")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let sender = client(&clients, first.route.from)?;
    fixtures::wait_for_step(
        sender,
        &first.id,
        "delivered",
        RECOVERY.saturating_sub(since.elapsed()),
    )
    .await
    .with_context(|| format!("the first {} referral after the kill", way.name()))?;
    Ok(since.elapsed())
}

/// What a round kills.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// NATS server `i`.
    Nats(usize),
    /// A process of `at`.
    Broker {
        /// Which (`at#1` is 0).
        process: usize,
        /// Whether it is restarted only once the other process took over the relay lease it
        /// held (otherwise after [`DOWN`], and a restarted holder takes its lease back).
        after_takeover: bool,
    },
}

impl Kill {
    /// Round `round`'s: NATS servers and processes of `at` alternately, each in turn; each
    /// process of `at` restarted after a takeover and before one in turn.
    fn of(round: usize) -> Kill {
        let nth = round / 2;
        if round.is_multiple_of(2) {
            Kill::Nats(nth % 3)
        } else {
            Kill::Broker {
                process: nth % 2,
                after_takeover: (nth + nth / 2).is_multiple_of(2),
            }
        }
    }
}

/// One process of `at`, killed and restarted at will.
struct AtProcess {
    launch: BrokerLaunch,
    process: Option<BrokerProcess>,
    /// Where its log stood when it was last started.
    started_at: u64,
}

/// The running federation.
struct Running {
    dir: PathBuf,
    fed: LocalFederation,
    nats: NatsCluster,
    at: [AtProcess; 2],
    _rs: BrokerProcess,
}

const LEASE_TAKEN: &str = "relay lease for rs taken";
const LEASE_LOST: &str = "relay lease for rs lost";

fn stream_opened(node: &str) -> String {
    format!("delivery stream opened node={node}")
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

impl Running {
    /// Starts everything in `dir`.
    async fn start(dir: &Path) -> anyhow::Result<Self> {
        let nats = NatsCluster::start(&dir.join("nats"), 3).await?;
        let mut fed = LocalFederation::create(
            dir,
            "trm-kill-rounds-test",
            &[(AT, "AT"), (RS, "RS")],
            &[
                (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
                (ECPAT, "ECPAT", "ngo", "AT"),
                (ASTRA, "Astra", "ngo", "RS"),
            ],
        )
        .await?;
        let store = StoreFile {
            kind: StoreKind::JetStream,
            servers: nats.urls(),
            stream_prefix: "TRMK".into(),
            ..StoreFile::default()
        };
        let at_addrs = [fed.broker_addr(AT)?, instances::free_port()?];
        let at_endpoints: Vec<String> = at_addrs.iter().map(|a| format!("https://{a}")).collect();
        let launch = |i: usize| BrokerLaunch {
            process_name: format!("at-{}", i + 1),
            broker: AT.into(),
            listen: at_addrs[i],
            store: Some(store.clone()),
            peer_endpoints: Vec::new(),
        };
        // at#1 first, alone: it takes the relay lease for rs.
        let at1 = start_broker(dir, &fed, &launch(0)).await?;
        trm_dev::wait::wait_for(
            Duration::from_secs(30),
            "at#1 to take the relay lease",
            || {
                let log = log_path(dir, "at-1");
                async move { Ok(std::fs::read_to_string(log)?.contains(LEASE_TAKEN)) }
            },
        )
        .await?;
        let at2 = start_broker(dir, &fed, &launch(1)).await?;
        let rs = start_broker(
            dir,
            &fed,
            &BrokerLaunch {
                process_name: "rs".into(),
                broker: RS.into(),
                listen: fed.broker_addr(RS)?,
                store: None,
                peer_endpoints: vec![(AT.into(), at_endpoints.clone())],
            },
        )
        .await?;
        for (i, node) in PREFERS.iter().enumerate() {
            let mut config = fed.node_config(node)?;
            let mut endpoints = at_endpoints.clone();
            endpoints.rotate_left(i);
            config.broker_endpoint = endpoints.into();
            config.broker_failback_secs = 1;
            fed.start_node_with(node, config).await?;
        }
        fed.start_node(ASTRA).await?;
        let at = [
            AtProcess {
                launch: launch(0),
                process: Some(at1),
                started_at: 0,
            },
            AtProcess {
                launch: launch(1),
                process: Some(at2),
                started_at: 0,
            },
        ];
        Ok(Self {
            dir: dir.to_owned(),
            fed,
            nats,
            at,
            _rs: rs,
        })
    }

    fn process(&self, i: usize) -> anyhow::Result<&AtProcess> {
        self.at
            .get(i)
            .with_context(|| format!("no process {i} of at"))
    }

    fn log_of(&self, process_name: &str) -> anyhow::Result<Vec<u8>> {
        Ok(std::fs::read(log_path(&self.dir, process_name))?)
    }

    /// How long process `i`'s log is.
    fn log_len(&self, i: usize) -> anyhow::Result<u64> {
        let name = &self.process(i)?.launch.process_name;
        Ok(std::fs::metadata(log_path(&self.dir, name))?.len())
    }

    /// Process `i`'s log from `offset` on.
    fn log_since(&self, i: usize, offset: u64) -> anyhow::Result<String> {
        let bytes = self.log_of(&self.process(i)?.launch.process_name)?;
        let from = usize::try_from(offset)?;
        Ok(String::from_utf8_lossy(bytes.get(from..).unwrap_or_default()).into_owned())
    }

    /// Whether process `i` says it holds the relay lease for `rs` since it last started.
    fn holds_lease(&self, i: usize) -> anyhow::Result<bool> {
        let process = self.process(i)?;
        if process.process.is_none() {
            return Ok(false);
        }
        let log = self.log_since(i, process.started_at)?;
        Ok(log.rfind(LEASE_TAKEN) > log.rfind(LEASE_LOST))
    }

    /// Waits until process `i`'s log from `offset` on contains `needle`; how long it took from
    /// `since`.
    async fn wait_in_log(
        &self,
        i: usize,
        offset: u64,
        needle: &str,
        since: Instant,
        limit: Duration,
    ) -> anyhow::Result<Duration> {
        let name = &self.process(i)?.launch.process_name;
        trm_dev::wait::wait_for(
            limit,
            &format!("\"{needle}\" in {name}'s log"),
            || async move { Ok(self.log_since(i, offset)?.contains(needle)) },
        )
        .await?;
        Ok(since.elapsed())
    }

    /// Kills process `i` of `at`, makes sure its preferred node moved to the other process,
    /// restarts it (after [`DOWN`], or once the other took over the relay lease it held when
    /// `after_takeover`) and waits until the node came back and the lease is held again; what
    /// happened, for the round's figures.
    async fn broker_round(&mut self, i: usize, after_takeover: bool) -> anyhow::Result<String> {
        let other = 1 - i;
        let node = PREFERS[i];
        let held = self.holds_lease(i)?;
        let other_from = self.log_len(other)?;
        let name = self.process(i)?.launch.process_name.clone();
        let other_name = self.process(other)?.launch.process_name.clone();
        let lease_limit = trm_broker::lease::TAKEOVER + TAKEOVER_SLACK;
        let killed = Instant::now();
        if let Some(mut process) = self.at[i].process.take() {
            process.kill()?;
        }
        let opened = stream_opened(node);
        let moved = self
            .wait_in_log(other, other_from, &opened, killed, FAILOVER)
            .await
            .with_context(|| format!("{node} did not move to {other_name} after {name} died"))?;
        let mut figures = format!("{node} on {other_name} after {:.1} s", moved.as_secs_f64());
        if held && after_takeover {
            let taken = self
                .wait_in_log(other, other_from, LEASE_TAKEN, killed, lease_limit)
                .await
                .with_context(|| format!("{other_name} did not take the relay lease over"))?;
            figures += &format!(
                ", relay lease taken by {other_name} after {:.1} s",
                taken.as_secs_f64()
            );
        }
        tokio::time::sleep(DOWN.saturating_sub(killed.elapsed())).await;
        let restart_from = self.log_len(i)?;
        let restarted = Instant::now();
        let launch = self.process(i)?.launch.clone();
        let process = start_broker(&self.dir, &self.fed, &launch).await?;
        self.at[i].process = Some(process);
        self.at[i].started_at = restart_from;
        let back = self
            .wait_in_log(i, restart_from, &opened, restarted, FAILBACK)
            .await
            .with_context(|| format!("{node} did not come back to {name} once it was restarted"))?;
        figures += &format!(
            ", back on {name} {:.1} s after its restart ({:.1} s down)",
            back.as_secs_f64(),
            (restarted - killed).as_secs_f64()
        );
        if held && !after_takeover {
            // Restarted before its lease lapsed: it takes it back (or the other takes it over).
            let this = &*self;
            trm_dev::wait::wait_for(lease_limit, "the relay lease held again", || async move {
                Ok(
                    this.holds_lease(i)?
                        || this.log_since(other, other_from)?.contains(LEASE_TAKEN),
                )
            })
            .await?;
            let by = if self.holds_lease(i)? {
                format!("taken back by {name}")
            } else {
                format!("taken by {other_name}")
            };
            figures += &format!(
                ", relay lease {by} {:.1} s after the kill",
                killed.elapsed().as_secs_f64()
            );
        }
        Ok(figures)
    }

    /// Kills NATS server `i`, restarts it after [`DOWN`] and waits until the cluster counts it
    /// again.
    async fn nats_round(&mut self, i: usize) -> anyhow::Result<String> {
        let killed = Instant::now();
        self.nats.kill(i)?;
        tokio::time::sleep(DOWN).await;
        self.nats.restart(i)?;
        self.nats.ready_all().await?;
        Ok(format!(
            "cluster whole again {:.1} s after the kill",
            killed.elapsed().as_secs_f64()
        ))
    }
}

/// Every entry of a node's handover log.
async fn whole_log(client: &NodeAdminClient<Channel>) -> anyhow::Result<Vec<pb::LogEntryView>> {
    let mut entries = Vec::new();
    let mut from_index = 0;
    loop {
        let page = client
            .clone()
            .log(pb::LogRequest {
                from_index,
                limit: 1000,
            })
            .await?
            .into_inner()
            .entries;
        let Some(last) = page.last() else {
            return Ok(entries);
        };
        from_index = last.index + 1;
        entries.extend(page);
    }
}

/// How many entries of `event` each message has in `entries`.
fn count_events(entries: &[pb::LogEntryView], event: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.event == event) {
        *counts.entry(entry.message_id.clone()).or_insert(0) += 1;
    }
    counts
}

fn rounds() -> anyhow::Result<usize> {
    match std::env::var("TRM_KILL_ROUNDS") {
        Ok(n) => n
            .parse()
            .with_context(|| format!("TRM_KILL_ROUNDS={n:?} is not a number of rounds")),
        Err(_) => Ok(DEFAULT_ROUNDS),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_rounds_under_load_lose_and_duplicate_nothing_and_nodes_fail_over_and_back()
-> anyhow::Result<()> {
    let rounds = rounds()?;
    let dir = tempfile::tempdir()?;
    let outcome = run(dir.path(), rounds).await;
    if outcome.is_err() {
        let kept = dir.keep();
        eprintln!(
            "the run's folder (configurations, stores, the brokers' and NATS servers' logs) is kept at {}",
            kept.display()
        );
    }
    outcome
}

/// How many referrals acknowledged so far are not yet in their recipients' inboxes.
async fn waiting(clients: &Clients, acked: usize) -> anyhow::Result<usize> {
    let mut received = 0;
    for admin in clients.values() {
        received += fixtures::inbox_ids(&mut admin.clone()).await?.len();
    }
    Ok(acked.saturating_sub(received))
}

/// The rounds, in `dir`.
async fn run(dir: &Path, rounds: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut net = Running::start(dir).await?;
    let mut clients = HashMap::new();
    for node in [LEFOE, ECPAT, ASTRA] {
        clients.insert(node, net.fed.client(node).await?);
    }
    let clients: Clients = Arc::new(clients);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = tokio::task::JoinSet::new();
    for route in ROUTES {
        senders.spawn(load(route, clients.clone(), ledger.clone(), stop.clone()));
    }
    tokio::time::sleep(QUIET).await;

    for round in 0..rounds {
        let kill = Kill::of(round);
        let killed = Instant::now();
        let watch = Way::ALL.map(|way| {
            tokio::spawn(first_delivered_after(
                way,
                killed,
                clients.clone(),
                ledger.clone(),
            ))
        });
        let (what, figures) = match kill {
            Kill::Nats(i) => (format!("NATS server n{i}"), net.nats_round(i).await?),
            Kill::Broker {
                process,
                after_takeover,
            } => (
                format!("at#{}", process + 1),
                net.broker_round(process, after_takeover).await?,
            ),
        };
        let mut firsts = Vec::new();
        for (way, watcher) in Way::ALL.iter().zip(watch) {
            let took = watcher
                .await?
                .with_context(|| format!("round {} ({what} killed)", round + 1))?;
            firsts.push(format!("{} {:.1} s", way.name(), took.as_secs_f64()));
        }
        let (acked, refused) = {
            let ledger = lock(&ledger);
            (ledger.acked.len(), ledger.refused)
        };
        let waiting = waiting(&clients, acked).await?;
        println!(
            "round {}/{rounds}: kill -9 {what}: {figures}; first referral sent after the kill delivered: {}; so far {} sent, {acked} acknowledged ({waiting} not yet received), {refused} refused",
            round + 1,
            firsts.join(", "),
            acked + refused,
        );
        tokio::time::sleep(QUIET).await;
    }

    stop.store(true, Ordering::Relaxed);
    while let Some(finished) = senders.join_next().await {
        finished??;
    }
    let ledger = std::mem::take(&mut *lock(&ledger));
    let quiet = Instant::now();
    for route in ROUTES {
        let ids: Vec<String> = ledger
            .acked
            .iter()
            .filter(|a| a.route.from == route.from && a.route.to == route.to)
            .map(|a| a.id.clone())
            .collect();
        wait_delivered(
            client(&clients, route.from)?,
            &ids,
            route.way.relayed(),
            DELIVERY.saturating_sub(quiet.elapsed()),
        )
        .await
        .with_context(|| format!("{} → {}", route.from, route.to))?;
    }
    let all_delivered = quiet.elapsed();

    // Each recipient holds each referral acknowledged to it once, and nothing else; each
    // handover log has one sent entry per referral at its sender, one received entry at its
    // recipient, and verifies.
    let mut logs = HashMap::new();
    for node in [LEFOE, ECPAT, ASTRA] {
        let admin = client(&clients, node)?;
        let to_it: Vec<String> = ledger
            .acked
            .iter()
            .filter(|a| a.route.to == node)
            .map(|a| a.id.clone())
            .collect();
        received_once(admin, &to_it).await?;
        let verified = admin
            .clone()
            .verify_log(pb::VerifyLogRequest {})
            .await?
            .into_inner();
        assert!(verified.ok, "{node}'s handover log: {}", verified.problem);
        logs.insert(node, whole_log(admin).await?);
    }
    for acked in &ledger.acked {
        let (from, to) = (acked.route.from, acked.route.to);
        let sent = count_events(logs.get(from).context("sender's log")?, "sent");
        let received = count_events(logs.get(to).context("recipient's log")?, "received");
        assert_eq!(
            sent.get(&acked.id),
            Some(&1),
            "{from}'s log: sent entries of {}",
            acked.id
        );
        assert_eq!(
            received.get(&acked.id),
            Some(&1),
            "{to}'s log: received entries of {}",
            acked.id
        );
    }

    // rs moved its connection to at#2 while at#1 was down, and back.
    if (0..rounds).any(|r| matches!(Kill::of(r), Kill::Broker { process: 0, .. })) {
        let rs_log = String::from_utf8_lossy(&net.log_of("rs")?).into_owned();
        assert!(
            rs_log.contains("connected to a later broker endpoint")
                && rs_log.contains("an earlier broker endpoint answers again"),
            "rs's log says nothing of a move to at#2 and back"
        );
    }

    let mut by_way = BTreeMap::new();
    for acked in &ledger.acked {
        *by_way.entry(acked.route.way.name()).or_insert(0) += 1;
    }
    println!(
        "{rounds} rounds in {:.0} s: {} referrals acknowledged ({by_way:?}), each delivered and received once, {:.1} s after the load stopped; {} sends refused (last: {}); three handover logs verify",
        started.elapsed().as_secs_f64(),
        ledger.acked.len(),
        all_delivered.as_secs_f64(),
        ledger.refused,
        ledger.last_refusal.as_deref().unwrap_or("none"),
    );
    net.fed.shutdown().await?;
    Ok(())
}
