//! The fault tool (`trm-faults`): a real federation of broker and node processes on loopback
//! under a steady load of referrals, and one fault per round, chosen by a seeded random number
//! generator (the same seed replays the same faults): kill -9 of a broker or a node, the link
//! between the brokers reset, blackholed or held, or a broker's disk filled. After each round the
//! senders pause and the checks run: every acknowledged referral delivered exactly once with
//! its receipts, the handover logs intact, and how long recovery took. A round whose referrals
//! do not all arrive within the limit is a violation; the tool then restarts every process (as
//! an operator would) to tell a stall from a loss, and goes on.
//!
//! # Layout
//! - [`cluster`]: the federation of processes, its link proxies and tmpfs stores.
//! - [`load`]: the senders.
//! - [`kill`], [`link`], [`disk`]: one module per fault kind.
//! - [`checks`]: exactly once, evidence, logs, audit.
//! - [`figures`]: recovery times and violations, printed.

pub mod checks;
pub mod cluster;
pub mod disk;
pub mod figures;
pub mod kill;
pub mod link;
pub mod load;

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::proxy::Mode;
use cluster::{BROKERS, Cluster, NODES, Programs};
use figures::{Figures, Recovery, Violation};
use load::{Load, Sent};

/// A kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SIGKILL of a broker or a node, started again after a pause.
    Kill,
    /// The link between the brokers reset, blackholed or held.
    Link,
    /// A broker's disk filled, then freed.
    Disk,
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kill" => Ok(Self::Kill),
            "link" => Ok(Self::Link),
            "disk" => Ok(Self::Disk),
            other => Err(format!(
                "unknown fault kind {other:?}: use kill, link or disk"
            )),
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Rounds, one fault each.
    pub rounds: usize,
    /// The seed of the fault choices.
    pub seed: u64,
    /// The kinds of fault to choose from.
    pub kinds: Vec<Kind>,
    /// How long a round's referrals may take to arrive after the fault's end.
    pub drain_limit: Duration,
    /// Sending before the fault and after it, in each round.
    pub lead: Duration,
    /// Where to run; a temporary folder (kept when something is wrong) when `None`.
    pub folder: Option<PathBuf>,
}

impl Options {
    /// `rounds` rounds of every kind of fault, with `seed`.
    pub fn new(rounds: usize, seed: u64) -> Self {
        Self {
            rounds,
            seed,
            kinds: vec![Kind::Kill, Kind::Link, Kind::Disk],
            drain_limit: Duration::from_secs(60),
            lead: Duration::from_secs(2),
            folder: None,
        }
    }
}

/// One round's fault.
enum Fault {
    KillBroker(String),
    KillNode(String),
    Link(Mode, &'static str),
    Disk(String),
}

impl Fault {
    /// The fault kind its recovery is counted under.
    fn kind(&self) -> String {
        match self {
            Self::KillBroker(_) => "kill broker".into(),
            Self::KillNode(_) => "kill node".into(),
            Self::Link(_, name) => (*name).into(),
            Self::Disk(_) => "disk full".into(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::KillBroker(name) => format!("kill -9 broker {name}"),
            Self::KillNode(address) => format!("kill -9 node {address}"),
            Self::Link(_, name) => format!("{name} between the brokers"),
            Self::Disk(name) => format!("disk full under broker {name}"),
        }
    }
}

/// Draws the next fault and how long it lasts.
fn choose(rng: &mut StdRng, kinds: &[Kind]) -> (Fault, Duration) {
    let kind = kinds
        .get(rng.gen_range(0..kinds.len().max(1)))
        .copied()
        .unwrap_or(Kind::Kill);
    let pick = |rng: &mut StdRng, names: &[&'static str]| {
        names
            .get(rng.gen_range(0..names.len()))
            .map_or_else(String::new, |n| (*n).to_owned())
    };
    let brokers: Vec<&str> = BROKERS.iter().map(|(name, _)| *name).collect();
    let (fault, range) = match kind {
        Kind::Kill => {
            let targets = brokers.len() + NODES.len();
            let target = rng.gen_range(0..targets);
            let fault = match brokers.get(target) {
                Some(name) => Fault::KillBroker((*name).to_owned()),
                None => Fault::KillNode(
                    NODES
                        .get(target - brokers.len())
                        .map_or_else(String::new, |n| n.0.to_owned()),
                ),
            };
            (fault, 500..=5_000)
        }
        Kind::Link => {
            let (mode, name) = link::MODES[rng.gen_range(0..link::MODES.len())];
            (Fault::Link(mode, name), 2_000..=12_000)
        }
        Kind::Disk => (Fault::Disk(pick(rng, &brokers)), 2_000..=8_000),
    };
    (fault, Duration::from_millis(rng.gen_range(range)))
}

/// Puts `fault` on the federation for `hold`; returns once it is over (the process is up again,
/// the link passes, the ballast is gone).
async fn inject(cluster: &mut Cluster, fault: &Fault, hold: Duration) -> anyhow::Result<()> {
    match fault {
        Fault::KillBroker(name) => kill::broker(cluster, name, hold).await,
        Fault::KillNode(address) => kill::node(cluster, address, hold).await,
        Fault::Link(mode, _) => {
            link::cut(cluster.links.values(), *mode, hold).await;
            Ok(())
        }
        Fault::Disk(name) => {
            let disk = cluster
                .disks
                .get(name)
                .with_context(|| format!("broker {name} has no tmpfs"))?;
            disk.fill_for(hold).await.map(|_| ())
        }
    }
}

/// The run's state between rounds.
struct Run {
    figures: Figures,
    /// Problems already reported (the inbox checks find them again every round).
    reported: HashSet<String>,
    /// Referrals whose whole evidence chain arrived.
    delivered: BTreeSet<String>,
    /// Referrals not delivered even after a restart: looked for again at the end.
    lost: Vec<Sent>,
}

impl Run {
    fn violation(&mut self, round: usize, fault: &str, what: String) {
        if self.reported.insert(what.clone()) {
            println!("  VIOLATION: {what}");
            self.figures.violations.push(Violation {
                round,
                fault: fault.to_owned(),
                what,
            });
        }
    }
}

/// Runs the tool: answers the figures (their violations say whether the run passed).
pub async fn run(options: &Options, programs: Programs) -> anyhow::Result<Figures> {
    if options.rounds == 0 {
        bail!("no rounds to run");
    }
    let temporary = match &options.folder {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("trm-faults-").tempdir()?),
    };
    let root = match (&options.folder, &temporary) {
        (Some(folder), _) => folder.clone(),
        (None, Some(t)) => t.path().to_owned(),
        (None, None) => bail!("no folder"),
    };
    let mut kinds = options.kinds.clone();
    let mut cluster = Cluster::start(&root, programs, kinds.contains(&Kind::Disk)).await?;
    let mut run = Run {
        figures: Figures {
            seed: options.seed,
            ..Figures::default()
        },
        reported: HashSet::new(),
        delivered: BTreeSet::new(),
        lost: Vec::new(),
    };
    println!(
        "trm-faults: seed {}, {} rounds, folder {}",
        options.seed,
        options.rounds,
        root.display()
    );
    if kinds.contains(&Kind::Disk) && cluster.disks.is_empty() {
        let why = cluster.no_disks.clone().unwrap_or_default();
        println!("SKIPPING the full-disk fault: cannot mount a tmpfs ({why})");
        run.figures
            .skipped
            .push(format!("disk full: cannot mount a tmpfs ({why})"));
        kinds.retain(|k| *k != Kind::Disk);
    }
    if kinds.is_empty() {
        bail!("no fault kind left to run");
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let (mut load, mut paused) = Load::start(&cluster, options.seed)?;
    for round in 1..=options.rounds {
        let (fault, hold) = choose(&mut rng, &kinds);
        load.resume(paused, round);
        tokio::time::sleep(options.lead).await;
        let violations_before = run.figures.violations.len();
        if let Err(e) = inject(&mut cluster, &fault, hold).await {
            run.violation(
                round,
                &fault.describe(),
                format!("the fault did not end cleanly: {e:#}"),
            );
            cluster.restart_all().await?;
        }
        let end_ms = trm_proto::time::now_ms();
        tokio::time::sleep(options.lead).await;
        paused = load.pause().await;
        let mut recovery = check_round(
            &mut run,
            &mut cluster,
            &load,
            round,
            &fault,
            end_ms,
            options,
        )
        .await?;
        recovery.clean = run.figures.violations.len() == violations_before;
        run.figures.rounds = round;
        run.figures
            .recoveries
            .entry(fault.kind())
            .or_default()
            .push(recovery);
        println!(
            "round {round}/{}: {} for {:.1}s; first delivery after {}, all after {}",
            options.rounds,
            fault.describe(),
            hold.as_secs_f64(),
            seconds(recovery.first_ms),
            seconds(recovery.drained_ms),
        );
    }
    let lost = std::mem::take(&mut run.lost);
    let drain = checks::drain(&cluster, lost, options.drain_limit).await?;
    run.delivered
        .extend(drain.delivered.iter().map(|(id, _)| id.clone()));
    for p in drain.problems.lines() {
        run.violation(0, "end", p);
    }
    if let Some(s) = drain.pending.first() {
        run.violation(
            0,
            "end",
            format!(
                "{} acknowledged referrals were never delivered (first: {} from {} to {}, case {})",
                drain.pending.len(),
                s.id,
                s.from,
                s.to,
                s.case_ref
            ),
        );
    }
    let (sent, unknown, retries) = load.snapshot();
    for problem in checks::exactly_once(&cluster, &sent, &run.delivered, &unknown).await? {
        run.violation(0, "end", problem);
    }
    for problem in checks::audit(&cluster).await? {
        run.violation(0, "end", problem);
    }
    load.stop();
    drop(paused);
    cluster.stop()?;
    run.figures.messages = sent.len();
    run.figures.unknown = unknown.len();
    run.figures.retries = retries;
    drop(cluster);
    if !run.figures.violations.is_empty()
        && let Some(t) = temporary
    {
        println!(
            "the run's folder (logs, stores) is kept: {}",
            t.keep().display()
        );
    }
    Ok(run.figures)
}

/// `12.3s`, or `never` when it did not happen without a restart.
fn seconds(ms: Option<u64>) -> String {
    ms.map_or_else(
        || "never".into(),
        |ms| format!("{:.1}s", ms as f64 / 1000.0),
    )
}

/// The checks after a round; answers its recovery.
async fn check_round(
    run: &mut Run,
    cluster: &mut Cluster,
    load: &Load,
    round: usize,
    fault: &Fault,
    end_ms: u64,
    options: &Options,
) -> anyhow::Result<Recovery> {
    let what = fault.describe();
    let (sent, unknown, _) = load.snapshot();
    let this_round: Vec<Sent> = sent.iter().filter(|s| s.round == round).cloned().collect();
    let count = this_round.len();
    let drain = checks::drain(cluster, this_round, options.drain_limit).await?;
    let after = |at: &u64| at.checked_sub(end_ms);
    let mut recovery = Recovery {
        first_ms: drain
            .delivered
            .iter()
            .map(|(_, at)| at)
            .filter_map(after)
            .min(),
        drained_ms: None,
        clean: false,
    };
    run.delivered
        .extend(drain.delivered.iter().map(|(id, _)| id.clone()));
    if drain.pending.is_empty() {
        let last = drain.delivered.iter().map(|(_, at)| at).max();
        recovery.drained_ms = Some(last.and_then(after).unwrap_or(0));
    } else {
        run.violation(
            round,
            &what,
            format!(
                "{} of the round's {count} acknowledged referrals not delivered within {}s of the fault's end (first: {} from {} to {}); restarting every process",
                drain.pending.len(),
                options.drain_limit.as_secs(),
                drain.pending.first().map_or("", |s| s.id.as_str()),
                drain.pending.first().map_or("", |s| s.from.as_str()),
                drain.pending.first().map_or("", |s| s.to.as_str()),
            ),
        );
        run.figures.restarts += 1;
        cluster.restart_all().await?;
        let again = checks::drain(cluster, drain.pending, options.drain_limit).await?;
        run.delivered
            .extend(again.delivered.iter().map(|(id, _)| id.clone()));
        if !again.pending.is_empty() {
            run.violation(
                round,
                &what,
                format!(
                    "{} referrals still not delivered after every process was restarted",
                    again.pending.len()
                ),
            );
        }
        for p in again.problems.lines() {
            run.violation(round, &what, p);
        }
        run.lost.extend(again.pending);
    }
    for p in drain.problems.lines() {
        run.violation(round, &what, p);
    }
    for p in checks::exactly_once(cluster, &sent, &run.delivered, &unknown).await? {
        run.violation(round, &what, p);
    }
    for p in checks::logs(cluster).await? {
        run.violation(round, &what, p);
    }
    Ok(recovery)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(seed: u64, kinds: &[Kind]) -> Vec<(String, String, Duration)> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..60)
            .map(|_| {
                let (fault, hold) = choose(&mut rng, kinds);
                (fault.kind(), fault.describe(), hold)
            })
            .collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_and_every_kind_comes_up() {
        let all = [Kind::Kill, Kind::Link, Kind::Disk];
        assert_eq!(draw(7, &all), draw(7, &all));
        assert_ne!(draw(7, &all), draw(8, &all));
        let kinds: BTreeSet<String> = draw(7, &all).into_iter().map(|(k, ..)| k).collect();
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            [
                "disk full",
                "kill broker",
                "kill node",
                "link blackhole",
                "link hold",
                "link reset"
            ]
        );
        assert!(
            draw(7, &[Kind::Kill])
                .iter()
                .all(|(_, what, _)| what.starts_with("kill -9"))
        );
    }
}
