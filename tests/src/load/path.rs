//! The whole path of a referral: sealed by the sender's node, accepted by the broker, opened,
//! stored and logged by the addressee's node, and its DELIVERED receipt logged back by the
//! sender. Throughput with many concurrent `Send` callers, and the time from `Send` to that
//! receipt at fixed offered rates, beside the ceiling's time to a receipt at the same rates;
//! once per broker store (the ceiling's latency in the first pass only). Beside the rate, the
//! CPU time each process spent per referral while it was measured, and (in the first pass) the
//! floor the path's signatures and encryption alone put under it ([`super::floor`]).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::ceiling::{CeilingProcess, Ceilings};
use super::cluster::{self, Cluster};
use super::envelopes::{self, sized_referral};
use super::floor;
use super::nodes::{self, Seen};
use super::report::{self, Report, Row};
use super::stats::{Latencies, Spread};
use super::stores::{Store, StoreUnderTest};
use super::{Options, Tools};
use crate::fixtures::{ASTRA, BROKER, LEFOE};
use crate::{craft, raw};
use trm_proto::pb;

/// How often the sender's log is read while throughput is measured.
const THROUGHPUT_POLL: Duration = Duration::from_millis(20);
/// How often the sender's log is read while latency is measured: the figures carry up to this
/// much of polling.
const LATENCY_POLL: Duration = Duration::from_millis(2);

/// Runs the scenario with the broker on `store`. `ceilings` holds the acceptance rates measured
/// before (the baseline of the end-to-end rate: the JetStream ceiling's for a JetStream pass,
/// when it was measured); the ceiling's latency is measured in the first pass only, into it.
pub async fn run(
    options: &Options,
    tools: &Tools,
    dir: &Path,
    store: &StoreUnderTest,
    ceilings: &mut Ceilings,
    report: &mut Report,
) -> anyhow::Result<()> {
    let on = store.store;
    let mut cluster =
        Cluster::create_on(&dir.join("federation"), tools.programs.clone(), &store.file).await?;
    cluster.start_broker().await?;
    cluster.start_node(LEFOE).await?;
    cluster.start_node(ASTRA).await?;
    let ceiling = if ceilings.latency_p99.is_empty() {
        Some(
            CeilingProcess::start(
                &tools.ceiling,
                &cluster.broker_config_path(),
                &dir.join("ceiling"),
            )
            .await?,
        )
    } else {
        None
    };
    let fed = &cluster.fed;
    let directory = craft::directory(&fed.federation)?;
    let sender = craft::keys(&fed.federation, LEFOE)?;
    let (request, size) = sized_referral(
        &sender,
        &directory,
        ASTRA,
        options.e2e_size,
        options.handling,
    )?;
    let cores = floor::cores()?;
    if ceiling.is_some() {
        let recipient = craft::keys(&fed.federation, ASTRA)?;
        let floor = floor::measure(&sender, &recipient, &directory, &request)?;
        report.push(floor.row("crypto-floor".into(), size, cores));
    }
    let client = cluster.client(LEFOE).await?;
    let processes = [
        ("LEFÖ-IBF (sender)", cluster.node_pid(LEFOE)?),
        ("broker", cluster.broker_pid()?),
        ("Astra (addressee)", cluster.node_pid(ASTRA)?),
        ("the load tool", std::process::id()),
    ];
    let cpu_of = || -> anyhow::Result<Vec<Duration>> {
        processes
            .iter()
            .map(|&(_, pid)| cluster::cpu(pid))
            .collect()
    };

    // One referral first, all the way: connections are up and both nodes warm.
    let first = nodes::send(&mut client.clone(), &request, "WARM", 0).await?;
    let mut from = nodes::watch(
        &client,
        "delivered",
        first.log_index,
        1,
        THROUGHPUT_POLL,
        options.drain_limit,
    )
    .await?
    .next;

    let count = options.e2e_count_on(on).max(1);
    let mut rates = Vec::new();
    let mut cpu_per_referral: Vec<Vec<f64>> = vec![Vec::new(); processes.len()];
    for rep in 0..options.reps {
        let cpu_before = cpu_of()?;
        let started = std::time::Instant::now();
        let watcher = spawn_watch(&client, from, count, THROUGHPUT_POLL, options.drain_limit);
        nodes::send_many(
            &client,
            &request,
            &format!("E{rep}"),
            count,
            options.senders,
        )
        .await?;
        let seen = watcher.await.context("the log watcher stopped")??;
        let last = seen
            .at
            .values()
            .max()
            .copied()
            .unwrap_or_else(std::time::Instant::now);
        rates.push(count as f64 / last.duration_since(started).as_secs_f64());
        from = seen.next;
        for ((spent, after), before) in cpu_per_referral.iter_mut().zip(cpu_of()?).zip(cpu_before) {
            spent.push(after.saturating_sub(before).as_secs_f64() * 1e3 / count as f64);
        }
    }
    let spread = Spread::of(&rates);
    let mut row = Row::new(
        on.key("e2e"),
        format!(
            "end to end, broker on the {}, {size}-byte {} referrals, {count} per rep from {} \
             concurrent `Send` callers: sealed, accepted, opened, stored, logged, DELIVERED \
             receipt logged back (stores start empty and keep what earlier reps stored)",
            on.words(),
            handling_name(options.handling),
            options.senders
        ),
        report::rate(&spread, "/s"),
        match on {
            Store::Embedded => "≥ 2,000/s on 2 cores, aiming at 3,000/s (was 201/s)",
            Store::JetStream => "-",
        },
    );
    let baseline = match on {
        Store::JetStream => ceilings
            .baseline_jetstream(options.e2e_size)
            .map(|rate| (rate, " (JetStream ceiling)")),
        Store::Embedded => None,
    }
    .or_else(|| {
        let whose = match on {
            Store::JetStream => " (embedded-engine ceiling)",
            Store::Embedded => "",
        };
        ceilings
            .baseline(options.e2e_size)
            .map(|rate| (rate, whose))
    });
    if let Some((ceiling_rate, whose)) = baseline {
        row = row.against(format!(
            "{}{whose}",
            report::ratio(spread.median, ceiling_rate, "/s")
        ));
    }
    report.push_beside(row, "e2e");
    report.push_beside(cpu_row(on, &processes, &cpu_per_referral, cores), "e2e-cpu");

    let lefoe = fed.federation.node(LEFOE).context("no sender material")?;
    let to_ceiling = match &ceiling {
        Some(ceiling) => Some(raw::broker(
            raw::channel(
                ceiling.addr,
                BROKER,
                &fed.federation.ca_pem,
                Some((&lefoe.cert_pem, &lefoe.key_pem)),
            )
            .await?,
        )),
        None => None,
    };
    for (place, &rate) in options.rates.iter().enumerate() {
        let n = ((rate * options.rate_time.as_secs_f64()).round() as usize).max(1);
        let (mut at_ceiling, mut at_node, mut missing) = (Vec::new(), Vec::new(), 0);
        for rep in 0..options.reps {
            if let Some(to_ceiling) = &to_ceiling {
                let (sealed, _) = envelopes::seal_many(
                    &sender,
                    &directory,
                    &request,
                    &format!("C{rate}R{rep}"),
                    n,
                )?;
                let times = envelopes::submit_at_rate(to_ceiling, sealed, rate).await?;
                at_ceiling.push(Latencies::of(times));
            }

            let watcher = spawn_watch(&client, from, n, LATENCY_POLL, options.drain_limit);
            let sent = nodes::send_at_rate(
                &client,
                &request,
                &format!("L{rate}R{rep}{}", on.suffix()),
                n,
                rate,
            )
            .await?;
            let seen = watcher.await.context("the log watcher stopped")??;
            from = seen.next;
            let (times, lost) = nodes::latencies(&sent, &seen);
            missing += lost;
            at_node.push(Latencies::of(times));
        }
        let p99 = |runs: &[Latencies]| Spread::of(&runs.iter().map(|l| l.p99).collect::<Vec<_>>());
        let node_p99 = p99(&at_node);
        if !at_ceiling.is_empty() {
            ceilings.latency_p99.insert(place, p99(&at_ceiling).median);
            report.push(Row::new(
                format!("ceiling-latency-{rate}"),
                format!(
                    "ceiling (embedded storage engine): submit → receipt, {size}-byte envelopes \
                     offered at {rate}/s for {:?}",
                    options.rate_time
                ),
                report::latencies(&at_ceiling),
                "the baseline",
            ));
        }
        let ceiling_p99 = ceilings.latency_p99.get(&place).copied().unwrap_or(0.0);
        let unmatched = if missing > 0 {
            format!(" ({missing} receipts seen under other ids)")
        } else {
            String::new()
        };
        let row_key = format!("latency-{rate}");
        report.push_beside(
            Row::new(
                on.key(&row_key),
                format!(
                    "`Send` → DELIVERED receipt logged by the sender, broker on the {}, \
                     {size}-byte {} referrals offered at {rate}/s for {:?} (log read every \
                     {LATENCY_POLL:?}){unmatched}",
                    on.words(),
                    handling_name(options.handling),
                    options.rate_time
                ),
                report::latencies(&at_node),
                if on == Store::JetStream {
                    "-"
                } else if rate >= 500.0 {
                    "p99 < 10 ms at 500/s"
                } else if rate <= 25.0 {
                    "(was p50 46 ms, p99 53 ms at 25/s)"
                } else {
                    "-"
                },
            )
            .against(if ceiling_p99 > 0.0 {
                format!(
                    "p99 {:.1}× the {}ceiling's {:.1} ms",
                    node_p99.median / ceiling_p99,
                    if on == Store::JetStream {
                        "embedded-engine "
                    } else {
                        ""
                    },
                    ceiling_p99
                )
            } else {
                String::new()
            }),
            &row_key,
        );
    }
    drop(ceiling);
    drop(cluster);
    Ok(())
}

/// The row of the CPU time each process spent per referral (`per_referral[i]`: process `i`'s
/// milliseconds in each repetition), with the rate `cores` cores would allow at that cost.
fn cpu_row(on: Store, processes: &[(&str, u32)], per_referral: &[Vec<f64>], cores: usize) -> Row {
    let medians: Vec<f64> = per_referral
        .iter()
        .map(|ms| Spread::of(ms).median)
        .collect();
    let total: f64 = medians.iter().sum();
    let each: Vec<String> = processes
        .iter()
        .zip(&medians)
        .map(|((name, _), ms)| format!("{name} {ms:.2} ms"))
        .collect();
    let not_counted = match on {
        Store::JetStream => "; the JetStream servers not counted",
        Store::Embedded => "",
    };
    Row::new(
        on.key("e2e-cpu"),
        format!(
            "CPU time per referral in the end-to-end runs above, user and system, all threads, \
             from /proc/<pid>/stat (medians over the repetitions{not_counted}): {}",
            each.join(", ")
        ),
        format!("{total:.2} ms per referral in all"),
        "-",
    )
    .against(if total > 0.0 {
        format!(
            "{cores} cores carry at most {}/s at this cost",
            report::thousands(cores as f64 * 1e3 / total)
        )
    } else {
        String::new()
    })
}

/// Watches the sender's log for `count` DELIVERED receipts from `from`, on a task of its own.
fn spawn_watch(
    client: &trm_proto::pb::node_admin_client::NodeAdminClient<tonic::transport::Channel>,
    from: u64,
    count: usize,
    poll: Duration,
    limit: Duration,
) -> tokio::task::JoinHandle<anyhow::Result<Seen>> {
    let client = client.clone();
    tokio::spawn(async move { nodes::watch(&client, "delivered", from, count, poll, limit).await })
}

/// "H2" for `HANDLING_CODE_H2`.
pub(super) fn handling_name(code: pb::HandlingCode) -> &'static str {
    code.as_str_name()
        .strip_prefix("HANDLING_CODE_")
        .unwrap_or("unspecified")
}
