//! The load tool (`trm-load`): real broker and node processes on loopback under load, and the
//! figures that say how fast they are, each beside its target and, for what the broker does,
//! as a ratio to a ceiling measured in the same run: a raw tonic server on the same TLS
//! material storing into the same engine with the same group commit ([`ceiling`]). Figures are
//! printed, never asserted.
//!
//! The scenarios, each on a federation of its own (fresh stores):
//! - `accept`: the broker accepting pre-sealed envelopes of each size from many concurrent
//!   callers (mutual TLS, verified, flushed before the receipt), and the ceiling doing the same;
//!   the cost of sealing and opening one envelope;
//! - `e2e`: referrals per second end to end (sealed by the sender's node, accepted by the
//!   broker, opened, stored and logged by the addressee's node, its DELIVERED receipt logged back
//!   by the sender), and the time from `Send` to that receipt at fixed offered rates, beside the
//!   ceiling's time to a receipt at the same rates;
//! - `queue`: the cost of one `Send` with 0, some and many stored messages; the broker's memory
//!   with a large queue; how fast that queue drains into its addressee, and the addressee's
//!   peak memory;
//! - `log`: handover-log appends by many concurrent appenders through the node's store, and
//!   verifying a long log.
//!
//! `accept` and `e2e` run once per broker store (`--stores`): on the embedded engine, and on a
//! JetStream cluster of three servers started for the pass (its rows' keys end in `-js`, and
//! each sits beside its embedded counterpart in the table). The ceiling is measured once, in
//! the first pass, on the embedded engine; a JetStream pass adds the JetStream ceiling (the same
//! envelopes' bytes published with acknowledgement to the same cluster), the baseline of its
//! acceptance and end-to-end rows. `queue` and `log` run on the embedded store only.
//!
//! # Layout
//! - [`cluster`]: the federation of processes and their memory.
//! - [`ceiling`]: the ceiling server and its process.
//! - [`envelopes`]: sized, pre-sealed envelopes and the callers that submit them.
//! - [`floor`]: the signatures and encryption of one referral's path, and the rate they alone
//!   allow.
//! - [`nodes`]: referrals sent through a node's socket, and its log watched.
//! - [`accept`], [`path`], [`queue`], [`handover`]: one module per scenario.
//! - [`stores`]: the broker stores measured side by side, and the JetStream cluster a pass
//!   starts; [`jetstream_ceiling`]: the JetStream ceiling.
//! - [`stats`], [`report`]: percentiles, medians over repetitions, the rows.

pub mod accept;
pub mod ceiling;
pub mod cluster;
pub mod envelopes;
pub mod floor;
pub mod handover;
pub mod jetstream_ceiling;
pub mod nodes;
pub mod path;
pub mod queue;
pub mod report;
pub mod stats;
pub mod stores;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;

use crate::faults::cluster::Programs;
use ceiling::Ceilings;
use report::Report;
pub use stores::Store;
use stores::StoreUnderTest;

/// A scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Broker acceptance against the ceiling, sealing and opening.
    Accept,
    /// End to end, and latency at offered rates.
    E2e,
    /// Send cost by stored messages, broker memory with a queue, its drain.
    Queue,
    /// Handover-log append and verify.
    Log,
}

impl std::str::FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "accept" => Ok(Self::Accept),
            "e2e" => Ok(Self::E2e),
            "queue" => Ok(Self::Queue),
            "log" => Ok(Self::Log),
            other => Err(format!(
                "unknown scenario {other:?}: use accept, e2e, queue or log"
            )),
        }
    }
}

/// What to run, and how much of it.
#[derive(Clone, Debug)]
pub struct Options {
    /// Repetitions of each measurement (the queue scenario runs once).
    pub reps: usize,
    /// The scenarios to run, in this order.
    pub scenarios: Vec<Scenario>,
    /// The broker stores the `accept` and `e2e` scenarios run on, one pass each, in this order
    /// (the `queue` scenario runs on the embedded store).
    pub stores: Vec<Store>,
    /// Envelope sizes for broker acceptance, bytes.
    pub sizes: Vec<usize>,
    /// Envelopes per acceptance measurement.
    pub accept_count: usize,
    /// Envelopes per acceptance measurement on the JetStream store (fewer: its acceptance
    /// slows as its queue grows, and the full counts would take hours).
    pub jetstream_accept_count: usize,
    /// Concurrent callers submitting to the broker (and to the ceiling).
    pub callers: usize,
    /// Connections the callers share.
    pub connections: usize,
    /// Referrals per end-to-end measurement.
    pub e2e_count: usize,
    /// Referrals per end-to-end measurement on the JetStream store.
    pub jetstream_e2e_count: usize,
    /// Size of the end-to-end referrals' envelopes, bytes.
    pub e2e_size: usize,
    /// The handling code of the end-to-end, latency and queue referrals: under H2 the
    /// recipient indexes each one's content for the onward-sharing check.
    pub handling: trm_proto::pb::HandlingCode,
    /// Concurrent callers of the sender node's `Send`.
    pub senders: usize,
    /// Offered rates for the latency figures, referrals per second.
    pub rates: Vec<f64>,
    /// How long each offered rate is held.
    pub rate_time: Duration,
    /// Envelopes queued for a stopped node (broker memory, drain, the most stored messages).
    pub queue: usize,
    /// The middle count of stored messages for the send cost.
    pub mid: usize,
    /// `Send` calls timed at each count of stored messages.
    pub send_samples: usize,
    /// Handover-log entries appended.
    pub appends: usize,
    /// Concurrent appenders.
    pub appenders: usize,
    /// Handover-log entries verified.
    pub verify: usize,
    /// How long a queue or a batch of referrals may take to arrive.
    pub drain_limit: Duration,
    /// Where to run; a temporary folder otherwise.
    pub folder: Option<PathBuf>,
}

impl Options {
    /// The full run, whose figures `BENCHMARKS.md` records.
    pub fn full() -> Self {
        Self {
            reps: 3,
            scenarios: vec![
                Scenario::Accept,
                Scenario::E2e,
                Scenario::Queue,
                Scenario::Log,
            ],
            stores: vec![Store::Embedded, Store::JetStream],
            sizes: vec![1024, 8192],
            accept_count: 10_000,
            jetstream_accept_count: 5_000,
            callers: 64,
            connections: 1,
            e2e_count: 2_000,
            jetstream_e2e_count: 2_000,
            e2e_size: 8192,
            handling: trm_proto::pb::HandlingCode::H2,
            senders: 32,
            rates: vec![25.0, 100.0, 500.0],
            rate_time: Duration::from_secs(10),
            queue: 100_000,
            mid: 10_000,
            send_samples: 100,
            appends: 200_000,
            appenders: 64,
            verify: 1_000_000,
            drain_limit: Duration::from_secs(900),
            folder: None,
        }
    }

    /// The CI run: every row on the embedded store, on small counts, within a minute on a busy
    /// machine. The JetStream rows are left to [`Options::short_jetstream`], run on their own
    /// since they start a three-server cluster.
    pub fn short() -> Self {
        Self {
            stores: vec![Store::Embedded],
            reps: 1,
            accept_count: 300,
            e2e_count: 60,
            senders: 8,
            rates: vec![25.0, 100.0],
            rate_time: Duration::from_secs(1),
            queue: 300,
            mid: 100,
            send_samples: 10,
            appends: 2_000,
            verify: 20_000,
            drain_limit: Duration::from_secs(120),
            ..Self::full()
        }
    }

    /// The CI run of the JetStream rows: `accept` and `e2e` on the JetStream store alone, one
    /// size, a few envelopes, one offered rate ([`Options::SHORT_JETSTREAM_ARGS`] on the command
    /// line).
    pub fn short_jetstream() -> Self {
        Self {
            scenarios: vec![Scenario::Accept, Scenario::E2e],
            stores: vec![Store::JetStream],
            sizes: vec![8192],
            jetstream_accept_count: 64,
            jetstream_e2e_count: 16,
            senders: 4,
            rates: vec![10.0],
            ..Self::short()
        }
    }

    /// The arguments that make `trm-load` run [`Options::short_jetstream`].
    pub const SHORT_JETSTREAM_ARGS: &[&str] = &[
        "--short",
        "--scenarios",
        "accept,e2e",
        "--stores",
        "jetstream",
        "--sizes",
        "8192",
        "--jetstream-accept-count",
        "64",
        "--jetstream-e2e-count",
        "16",
        "--senders",
        "4",
        "--rates",
        "10",
    ];

    /// Refuses options that would measure nothing or never end, saying which and why.
    pub fn validate(&self) -> Result<(), String> {
        let at_least_one = [
            ("--reps", self.reps),
            ("--accept-count", self.accept_count),
            ("--jetstream-accept-count", self.jetstream_accept_count),
            ("--callers", self.callers),
            ("--connections", self.connections),
            ("--e2e-count", self.e2e_count),
            ("--jetstream-e2e-count", self.jetstream_e2e_count),
            ("--e2e-size", self.e2e_size),
            ("--senders", self.senders),
            ("--queue", self.queue),
            ("--mid", self.mid),
            ("--send-samples", self.send_samples),
            ("--appends", self.appends),
            ("--appenders", self.appenders),
            ("--verify", self.verify),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if self.scenarios.is_empty() {
            return Err("--scenarios names no scenario".into());
        }
        if self.stores.is_empty() {
            return Err("--stores names no store".into());
        }
        if let Some(twice) = self
            .stores
            .iter()
            .enumerate()
            .find_map(|(i, s)| self.stores[..i].contains(s).then_some(s))
        {
            return Err(format!("--stores names {} twice", twice.name()));
        }
        if self.sizes.is_empty() || self.sizes.contains(&0) {
            return Err("--sizes must name at least one size, each at least 1 byte".into());
        }
        if let Some(rate) = self
            .rates
            .iter()
            .find(|r| !r.is_finite() || **r < 0.1 || **r > 1_000_000.0)
        {
            return Err(format!(
                "--rates: {rate} is not a rate between 0.1 and 1,000,000 per second"
            ));
        }
        if self.mid >= self.queue {
            return Err(format!(
                "--mid ({}) must be smaller than --queue ({})",
                self.mid, self.queue
            ));
        }
        Ok(())
    }

    /// Envelopes per acceptance measurement on `store`.
    pub fn accept_count_on(&self, store: Store) -> usize {
        match store {
            Store::Embedded => self.accept_count,
            Store::JetStream => self.jetstream_accept_count,
        }
    }

    /// Referrals per end-to-end measurement on `store`.
    pub fn e2e_count_on(&self, store: Store) -> usize {
        match store {
            Store::Embedded => self.e2e_count,
            Store::JetStream => self.jetstream_e2e_count,
        }
    }

    /// The keys of the rows a run with these options prints.
    pub fn rows(&self) -> Vec<String> {
        let mut rows = Vec::new();
        for scenario in &self.scenarios {
            match scenario {
                Scenario::Accept => {
                    rows.push("seal".into());
                    rows.push("open".into());
                    for size in &self.sizes {
                        rows.push(format!("ceiling-{size}"));
                        if self.stores.contains(&Store::JetStream) {
                            rows.push(format!("ceiling-{size}-js"));
                        }
                        for store in &self.stores {
                            rows.push(store.key(&format!("accept-{size}")));
                            rows.push(store.key(&format!("accept-cpu-{size}")));
                        }
                    }
                }
                Scenario::E2e => {
                    rows.push("crypto-floor".into());
                    for store in &self.stores {
                        rows.push(store.key("e2e"));
                        rows.push(store.key("e2e-cpu"));
                    }
                    for rate in &self.rates {
                        rows.push(format!("ceiling-latency-{rate}"));
                        for store in &self.stores {
                            rows.push(store.key(&format!("latency-{rate}")));
                        }
                    }
                }
                Scenario::Queue => {
                    for stored in [0, self.mid, self.queue] {
                        rows.push(format!("send-cost-{stored}"));
                        rows.push(format!("case-list-{stored}"));
                        rows.push(format!("inbox-{stored}"));
                    }
                    rows.push("queued-rss".into());
                    rows.push("restart".into());
                    rows.push("drain".into());
                }
                Scenario::Log => {
                    rows.push("log-append".into());
                    rows.push("log-verify".into());
                }
            }
        }
        rows
    }
}

/// The programs a run starts.
#[derive(Clone, Debug)]
pub struct Tools {
    /// The broker and the node.
    pub programs: Programs,
    /// This tool, started again as the ceiling server.
    pub ceiling: PathBuf,
}

impl Tools {
    /// The programs built beside the running one.
    pub fn beside_current() -> anyhow::Result<Self> {
        Ok(Self {
            programs: Programs::beside_current()?,
            ceiling: std::env::current_exe()?,
        })
    }
}

/// Runs the scenarios; answers the rows measured.
pub async fn run(options: &Options, tools: &Tools) -> anyhow::Result<Report> {
    if let Err(problem) = options.validate() {
        bail!("{problem}");
    }
    let per_store = options
        .scenarios
        .iter()
        .any(|s| matches!(s, Scenario::Accept | Scenario::E2e));
    if per_store {
        stores::check_available(&options.stores)?;
    }
    let temporary = match &options.folder {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("trm-load-").tempdir()?),
    };
    let root: &Path = match (&options.folder, &temporary) {
        (Some(folder), _) => folder,
        (None, Some(t)) => t.path(),
        (None, None) => bail!("no folder to run in"),
    };
    println!(
        "trm-load: {} reps on {} CPUs, folder {}",
        options.reps,
        std::thread::available_parallelism().map_or(0, usize::from),
        root.display()
    );
    let mut report = Report::default();
    // The ceiling's figures, measured in the first pass: the baselines of what follows.
    let mut ceilings = Ceilings::default();
    for scenario in &options.scenarios {
        let dir = root.join(format!("{scenario:?}").to_lowercase());
        std::fs::create_dir_all(&dir)?;
        match scenario {
            Scenario::Accept => {
                for &store in &options.stores {
                    println!(
                        "\n== broker acceptance on the {}, against the ceiling",
                        store.words()
                    );
                    let dir = dir.join(store.name());
                    let store = StoreUnderTest::start(store, &dir).await?;
                    accept::run(options, tools, &dir, &store, &mut ceilings, &mut report).await?;
                }
            }
            Scenario::E2e => {
                for &store in &options.stores {
                    println!(
                        "\n== end to end, and latency at offered rates, on the {}",
                        store.words()
                    );
                    let dir = dir.join(store.name());
                    let store = StoreUnderTest::start(store, &dir).await?;
                    path::run(options, tools, &dir, &store, &mut ceilings, &mut report).await?;
                }
            }
            Scenario::Queue => {
                println!("\n== send cost by stored messages, a large queue and its drain");
                let baseline = ceilings.baseline(options.e2e_size);
                queue::run(options, tools, &dir, baseline, &mut report).await?;
            }
            Scenario::Log => {
                println!("\n== handover log");
                handover::run(options, &dir, &mut report).await?;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_rows() {
        let rows = Options::full().rows();
        for key in [
            "seal",
            "accept-8192",
            "accept-cpu-8192",
            "crypto-floor",
            "e2e",
            "e2e-cpu",
            "latency-100",
            "accept-8192-js",
            "e2e-cpu-js",
            "ceiling-8192-js",
            "e2e-js",
            "latency-100-js",
            "send-cost-0",
            "case-list-0",
            "drain",
        ] {
            assert!(rows.iter().any(|r| r == key), "{key} missing from {rows:?}");
        }
        let short = Options::short().rows();
        assert!(short.iter().any(|r| r == "accept-8192"));
        assert!(!short.iter().any(|r| r.ends_with("-js")), "{short:?}");
        let jetstream = Options::short_jetstream().rows();
        for key in [
            "ceiling-8192",
            "ceiling-8192-js",
            "accept-8192-js",
            "e2e-js",
            "latency-10-js",
        ] {
            assert!(
                jetstream.iter().any(|r| r == key),
                "{key} missing from {jetstream:?}"
            );
        }
        assert_eq!(
            "queue".parse::<Scenario>(),
            Ok(Scenario::Queue),
            "scenario names parse"
        );
        assert!("everything".parse::<Scenario>().is_err());
    }

    #[test]
    fn options_that_measure_nothing_are_refused_by_name() {
        assert_eq!(Options::full().validate(), Ok(()));
        assert_eq!(Options::short().validate(), Ok(()));
        let refused = |change: fn(&mut Options)| {
            let mut o = Options::short();
            change(&mut o);
            o.validate().err().unwrap_or_default()
        };
        assert_eq!(refused(|o| o.reps = 0), "--reps must be at least 1");
        assert!(refused(|o| o.rates = vec![f64::NAN]).starts_with("--rates: NaN"));
        assert!(refused(|o| o.rates = vec![0.0]).starts_with("--rates: 0"));
        assert!(refused(|o| o.sizes.clear()).starts_with("--sizes"));
        assert!(refused(|o| o.mid = o.queue).starts_with("--mid"));
        assert!(refused(|o| o.scenarios.clear()).starts_with("--scenarios"));
        assert!(refused(|o| o.stores.clear()).starts_with("--stores"));
        assert_eq!(
            refused(|o| o.stores = vec![Store::JetStream, Store::JetStream]),
            "--stores names jetstream twice"
        );
    }
}
