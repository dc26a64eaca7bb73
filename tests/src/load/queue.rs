//! What grows: the cost of one `Send` as a node's store fills, the broker's memory with a large
//! queue for a node that is away, and how fast that queue drains into the node when it comes
//! back, with the node's peak memory.
//!
//! Three nodes hold three counts of stored messages: LEFÖ-IBF none, Open Gate the middle count
//! and Astra the large queue, each filled the way stores fill, by receiving: envelopes from
//! LEFÖ-IBF are sealed here, submitted to the broker while the addressee is stopped, then
//! drained into it. Each then sends to LEFÖ-IBF, the provider of what it holds. The referrals
//! carry the handling code of `--handling`: under H2 (content may go back to its provider but
//! not onward) the addressee also indexes each one for the onward-sharing check, and each
//! `Send` looks its text up in that index.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cluster::{self, Cluster};
use super::envelopes::{self, sized_referral};
use super::nodes;
use super::report::{self, Report, Row};
use super::stats::Latencies;
use super::{Options, Tools};
use crate::craft;
use crate::fixtures::{ASTRA, LEFOE, OPEN_GATE};
use trm_proto::pb;

/// How often the addressee's log is read while a queue drains.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// Runs the scenario; `ceiling_rate` is the ceiling's acceptance rate measured before, the
/// baseline of the drain rate.
pub async fn run(
    options: &Options,
    tools: &Tools,
    dir: &Path,
    ceiling_rate: Option<f64>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut cluster = Cluster::create(&dir.join("federation"), tools.programs.clone()).await?;
    cluster.start_broker().await?;
    let fed = &cluster.fed.federation.clone();
    let directory = craft::directory(fed)?;
    let size = options.e2e_size;
    let samples = options.send_samples.max(1);

    // None stored: LEFÖ-IBF sends to Open Gate, which is away (its queue grows by the calls).
    cluster.start_node(LEFOE).await?;
    let lefoe = craft::keys(fed, LEFOE)?;
    let (to_open_gate, _) = sized_referral(&lefoe, &directory, OPEN_GATE, size, options.handling)?;
    let cost = send_cost(&cluster, LEFOE, &to_open_gate, "S0", samples).await?;
    let handling = super::path::handling_name(options.handling);
    push_cost(report, 0, size, handling, samples, &cost, None);
    let views = views_cost(&cluster, LEFOE, samples).await?;
    push_views(report, 0, samples, &views, None);

    // The middle count: Open Gate receives `mid` referrals from LEFÖ-IBF, then answers
    // LEFÖ-IBF (content received under H2 too may go back to its provider).
    queue_for(
        &cluster,
        LEFOE,
        &lefoe,
        &to_open_gate,
        "M",
        options.mid,
        options,
    )
    .await?;
    cluster.start_node(OPEN_GATE).await?;
    drain(
        &cluster,
        OPEN_GATE,
        options.mid + samples + 1,
        options.drain_limit,
    )
    .await?;
    let (open_gate_to_lefoe, _) = sized_referral(
        &craft::keys(fed, OPEN_GATE)?,
        &directory,
        LEFOE,
        size,
        options.handling,
    )?;
    let mid = send_cost(&cluster, OPEN_GATE, &open_gate_to_lefoe, "SM", samples).await?;
    push_cost(
        report,
        options.mid,
        size,
        handling,
        samples,
        &mid,
        Some(&cost),
    );
    let mid_views = views_cost(&cluster, OPEN_GATE, samples).await?;
    push_views(report, options.mid, samples, &mid_views, Some((&views, 0)));
    cluster.stop_node(OPEN_GATE);
    cluster.stop_node(LEFOE);

    // The large queue, for Astra while it is away.
    let (to_astra, actual) = sized_referral(&lefoe, &directory, ASTRA, size, options.handling)?;
    let before = cluster::memory(cluster.broker_pid()?)?;
    queue_for(
        &cluster,
        LEFOE,
        &lefoe,
        &to_astra,
        "Q",
        options.queue,
        options,
    )
    .await?;
    let queued = cluster::memory(cluster.broker_pid()?)?;
    report.push(Row::new(
        "queued-rss",
        format!(
            "broker resident memory with {} queued {actual}-byte {handling} envelopes (before queueing: {})",
            report::thousands(options.queue as f64),
            report::mib(before.rss_kib)
        ),
        format!(
            "{} (peak {})",
            report::mib(queued.rss_kib),
            report::mib(queued.peak_kib)
        ),
        "< 100 MiB (was 245 MiB with 1.4 KB envelopes)",
    ));
    restart_with_queue(&mut cluster, &lefoe, &to_astra, options.queue, report).await?;
    let broker_cpu = cluster::cpu(cluster.broker_pid()?)?;
    let started = Instant::now();
    cluster.start_node(ASTRA).await?;
    drain(&cluster, ASTRA, options.queue, options.drain_limit).await?;
    let took = started.elapsed();
    // CPU time per drained referral, milliseconds: the addressee's since it started.
    let per_referral = |spent: Duration| spent.as_secs_f64() * 1e3 / options.queue.max(1) as f64;
    let broker_ms = per_referral(cluster::cpu(cluster.broker_pid()?)?.saturating_sub(broker_cpu));
    let addressee_ms = per_referral(cluster::cpu(cluster.node_pid(ASTRA)?)?);
    let cores = super::floor::cores()?;
    let recipient = cluster::memory(cluster.node_pid(ASTRA)?)?;
    let broker_after = cluster::memory(cluster.broker_pid()?)?;
    let rate = options.queue as f64 / took.as_secs_f64();
    let mut row = Row::new(
        "drain",
        format!(
            "a queue of {} {handling} referrals drains into its addressee (from its start to the last logged; \
             broker memory after: {}); CPU time per referral (user and system, from /proc): the \
             broker {broker_ms:.2} ms, the addressee {addressee_ms:.2} ms, so {cores} cores \
             carry at most {}/s at this cost; 1 run",
            report::thousands(options.queue as f64),
            report::mib(broker_after.rss_kib),
            report::thousands(cores as f64 * 1e3 / (broker_ms + addressee_ms).max(1e-9))
        ),
        format!(
            "{}/s, addressee peak {}",
            report::thousands(rate),
            report::mib(recipient.peak_kib)
        ),
        "≥ 5,000/s, addressee < 200 MiB (was 691/s, 687 MiB)",
    );
    if let Some(ceiling_rate) = ceiling_rate {
        row = row.against(report::ratio(rate, ceiling_rate, "/s"));
    }
    report.push(row);

    // The most stored: Astra, now holding the queue, answers LEFÖ-IBF (away).
    let (astra_to_lefoe, _) = sized_referral(
        &craft::keys(fed, ASTRA)?,
        &directory,
        LEFOE,
        size,
        options.handling,
    )?;
    let most = send_cost(&cluster, ASTRA, &astra_to_lefoe, "SQ", samples).await?;
    push_cost(
        report,
        options.queue,
        size,
        handling,
        samples,
        &most,
        Some(&cost),
    );
    let most_views = views_cost(&cluster, ASTRA, samples).await?;
    push_views(
        report,
        options.queue,
        samples,
        &most_views,
        Some((&mid_views, options.mid)),
    );
    Ok(())
}

/// How many cases the console's case list shows on a page.
const LIST_PAGE: u32 = 25;
/// How many received messages the console's inbox shows.
const INBOX_LIMIT: u32 = 200;

/// What two pages of the console cost on a node: its case list's first page and its inbox.
struct Views {
    list: Latencies,
    inbox: Latencies,
}

/// Times `samples` requests of node `address`'s case list, first page (most recently active
/// first), and of its inbox (the newest received messages, then the cases they belong to, for
/// their due times), one after another, asked for as the console asks.
async fn views_cost(cluster: &Cluster, address: &str, samples: usize) -> anyhow::Result<Views> {
    let mut cases = cluster.fed.cases_client(address).await?;
    let mut admin = cluster.client(address).await?;
    let request = pb::CasesRequest {
        page_size: LIST_PAGE,
        ..Default::default()
    };
    let (mut list, mut inbox) = (Vec::new(), Vec::new());
    // The first requests are not timed, as with `Send`.
    for n in 0..=samples {
        let started = Instant::now();
        let page = cases.cases(request.clone()).await?.into_inner();
        anyhow::ensure!(!page.cases.is_empty(), "node {address} listed no case");
        let took = started.elapsed();
        if n > 0 {
            list.push(took);
        }
        let started = Instant::now();
        let messages = admin
            .inbox(pb::InboxRequest { limit: INBOX_LIMIT })
            .await?
            .into_inner()
            .messages;
        let only: std::collections::BTreeSet<(String, String)> = messages
            .iter()
            .map(|m| (m.from.clone(), m.case_ref.clone()))
            .collect();
        if !only.is_empty() {
            let only = only
                .into_iter()
                .map(|(counterparty, case_ref)| pb::CaseName {
                    counterparty,
                    case_ref,
                })
                .collect();
            cases
                .cases(pb::CasesRequest {
                    only,
                    ..Default::default()
                })
                .await?;
        }
        let took = started.elapsed();
        if n > 0 {
            inbox.push(took);
        }
    }
    Ok(Views {
        list: Latencies::of(list),
        inbox: Latencies::of(inbox),
    })
}

/// The rows of [`views_cost`] on the node that sent or received `messages` messages, against
/// those measured before on a node that held fewer (`fewer`: its views and count).
fn push_views(
    report: &mut Report,
    messages: usize,
    samples: usize,
    views: &Views,
    fewer: Option<(&Views, usize)>,
) {
    let held = format!(
        "on the node that sent or received {} messages above, one case each, {samples} requests in a row",
        report::thousands(messages as f64)
    );
    let pages = [
        (
            "case-list",
            format!(
                "the first page of the case list ({LIST_PAGE} cases, most recently active first) {held}"
            ),
            &views.list,
            fewer.map(|(f, _)| &f.list),
        ),
        (
            "inbox",
            format!(
                "the inbox as the console asks for it (the {INBOX_LIMIT} newest received messages, then their cases; empty on the node that only sent) {held}"
            ),
            &views.inbox,
            fewer.map(|(f, _)| &f.inbox),
        ),
    ];
    for (name, what, cost, before) in pages {
        let mut row = Row::new(
            format!("{name}-{messages}"),
            what,
            format!(
                "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
                cost.p50, cost.p90, cost.p99
            ),
            "the same at 100k as at 10k",
        );
        if let (Some(before), Some((_, count))) = (before, fewer)
            && before.p50 > 0.0
        {
            row = row.against(format!(
                "p50 {:.2}× the cost at {}",
                cost.p50 / before.p50,
                report::thousands(count as f64)
            ));
        }
        report.push(row);
    }
}

/// Restarts the broker holding a queue of `queued` for Astra, then submits three more
/// envelopes for Astra on a new connection: the broker's memory after the start and after the
/// submissions, how long after the start the first was answered (the broker listens at once but
/// accepts connections only once its store is open, which replays the storage engine's log
/// since its last snapshot; the first is also the first quota check that asks for the size of
/// that queue), and what the next two took.
async fn restart_with_queue(
    cluster: &mut Cluster,
    lefoe: &trm_node::keys::NodeKeys,
    to_astra: &pb::SendRequest,
    queued: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let directory = craft::directory(&cluster.fed.federation)?;
    let (sealed, _) = envelopes::seal_many(lefoe, &directory, to_astra, "R", 3)?;
    let started = Instant::now();
    cluster.start_broker().await?;
    let listening = started.elapsed();
    let restarted = cluster::memory(cluster.broker_pid()?)?;
    let mut client = cluster.broker_client_as(LEFOE).await?;
    let mut took = Vec::new();
    for envelope in sealed {
        let submitted = Instant::now();
        client.submit(envelope).await?;
        took.push(submitted.elapsed());
    }
    let serving = started.elapsed() - took.iter().skip(1).sum::<std::time::Duration>();
    let after = cluster::memory(cluster.broker_pid()?)?;
    let [_, second, third] = took.as_slice() else {
        anyhow::bail!("three submissions were timed");
    };
    report.push(Row::new(
        "restart",
        format!(
            "the broker restarted with {} envelopes queued for a node that is away, then three submissions for that node on a new connection: its resident memory after the start and after them, when the first was answered (the broker listens at once, in {:.2} s here, and accepts connections once its store is open) and what the next two took",
            report::thousands(queued as f64),
            listening.as_secs_f64()
        ),
        format!(
            "{} after the start, {} after the submissions (peak {}); the first answered {:.1} ms after the start; then {:.1} ms and {:.1} ms",
            report::mib(restarted.rss_kib),
            report::mib(after.rss_kib),
            report::mib(after.peak_kib),
            serving.as_secs_f64() * 1e3,
            second.as_secs_f64() * 1e3,
            third.as_secs_f64() * 1e3
        ),
        "< 100 MiB, a submission costs what it costs without the queue",
    ));
    Ok(())
}

/// Times `samples` `Send` calls of node `from`, one after another.
async fn send_cost(
    cluster: &Cluster,
    from: &str,
    request: &trm_proto::pb::SendRequest,
    tag: &str,
    samples: usize,
) -> anyhow::Result<Latencies> {
    let mut client = cluster.client(from).await?;
    // The first call also sets up the node's connection to the broker: not timed.
    nodes::send(&mut client, request, tag, 0).await?;
    let mut times = Vec::new();
    for n in 1..=samples {
        times.push(nodes::send(&mut client, request, tag, n).await?.took);
    }
    Ok(Latencies::of(times))
}

fn push_cost(
    report: &mut Report,
    stored: usize,
    size: usize,
    handling: &str,
    samples: usize,
    cost: &Latencies,
    empty: Option<&Latencies>,
) {
    let mut row = Row::new(
        format!("send-cost-{stored}"),
        format!(
            "one `Send` ({size}-byte {handling} referral, a new case) with {} stored {handling} messages, {samples} calls in a row",
            report::thousands(stored as f64)
        ),
        format!(
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
            cost.p50, cost.p90, cost.p99
        ),
        "at 100k within 1.2× of the cost at 0 (was 3.3 ms at 0, 27 ms at 10k)",
    );
    if let Some(empty) = empty
        && empty.p50 > 0.0
    {
        row = row.against(format!("p50 {:.2}× the cost at 0", cost.p50 / empty.p50));
    }
    report.push(row);
}

/// Seals `count` envelopes of `request` from node `from` and submits them to the broker with
/// its certificate.
async fn queue_for(
    cluster: &Cluster,
    from: &str,
    keys: &trm_node::keys::NodeKeys,
    request: &trm_proto::pb::SendRequest,
    tag: &str,
    count: usize,
    options: &Options,
) -> anyhow::Result<()> {
    let directory = craft::directory(&cluster.fed.federation)?;
    let clients = envelopes::clients(options.connections, || {
        crate::fixtures::channel_as(&cluster.fed, from)
    })
    .await?;
    // Sealed and submitted a slice at a time, so that the tool's own memory stays small.
    let mut done = 0;
    while done < count {
        let slice = (count - done).min(10_000);
        let (sealed, _) =
            envelopes::seal_many(keys, &directory, request, &format!("{tag}{done}"), slice)?;
        envelopes::submit_all(&clients, Arc::new(sealed), options.callers).await?;
        done += slice;
    }
    Ok(())
}

/// Waits until node `address` has logged `count` received referrals.
async fn drain(
    cluster: &Cluster,
    address: &str,
    count: usize,
    limit: Duration,
) -> anyhow::Result<()> {
    let client = cluster.client(address).await?;
    nodes::watch(&client, "received", 0, count, DRAIN_POLL, limit).await?;
    Ok(())
}
