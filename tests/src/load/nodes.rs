//! Driving real nodes as a caseworker's `trm` does: referrals sent through a node's admin
//! socket (each opening its own case), concurrently or at a fixed offered rate, and a node's
//! handover log watched for the entries that say a referral arrived (`received`, on the
//! addressee) or that its DELIVERED receipt came back (`delivered`, on the sender).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::task::JoinSet;
use tonic::transport::Channel;
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;

/// A referral the node acknowledged.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its message id.
    pub id: String,
    /// When the tool called `Send`.
    pub started: Instant,
    /// How long `Send` took to answer.
    pub took: Duration,
    /// Where the node logged it as SENT.
    pub log_index: u64,
}

/// Sends `request` as referral `<tag>-<n>` (its own case).
pub async fn send(
    client: &mut NodeAdminClient<Channel>,
    request: &pb::SendRequest,
    tag: &str,
    n: usize,
) -> anyhow::Result<Sent> {
    let mut request = request.clone();
    request.case_ref = format!("AT-LOAD-{tag}-{n}");
    let started = Instant::now();
    let response = client
        .send(request)
        .await
        .with_context(|| format!("sending referral {n}"))?
        .into_inner();
    Ok(Sent {
        id: response.message_id,
        started,
        took: started.elapsed(),
        log_index: response.log_index,
    })
}

/// Sends `count` referrals through `senders` concurrent callers.
pub async fn send_many(
    client: &NodeAdminClient<Channel>,
    request: &pb::SendRequest,
    tag: &str,
    count: usize,
    senders: usize,
) -> anyhow::Result<Vec<Sent>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..senders.max(1) {
        let (mut client, request, tag, next) = (
            client.clone(),
            request.clone(),
            tag.to_owned(),
            next.clone(),
        );
        tasks.spawn(async move {
            let mut sent = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return anyhow::Ok(sent);
                }
                sent.push(send(&mut client, &request, &tag, n).await?);
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(result) = tasks.join_next().await {
        all.extend(result??);
    }
    Ok(all)
}

/// Sends `count` referrals at `rate` per second, open loop (each on time, whether or not the
/// earlier calls have answered).
pub async fn send_at_rate(
    client: &NodeAdminClient<Channel>,
    request: &pb::SendRequest,
    tag: &str,
    count: usize,
    rate: f64,
) -> anyhow::Result<Vec<Sent>> {
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = JoinSet::new();
    for n in 0..count {
        ticks.tick().await;
        let (mut client, request, tag) = (client.clone(), request.clone(), tag.to_owned());
        tasks.spawn(async move { send(&mut client, &request, &tag, n).await });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(result) = tasks.join_next().await {
        all.push(result??);
    }
    Ok(all)
}

/// What a watch saw: when each message's entry was first seen, and where to read on from.
#[derive(Debug, Default)]
pub struct Seen {
    /// Message id → when the tool first read its entry.
    pub at: HashMap<String, Instant>,
    /// The next log index to read.
    pub next: u64,
}

/// Reads node `client`'s handover log from `from` every `poll` until it holds `count` entries
/// of `event` (`received`, `delivered`); an error once `limit` passes without them.
pub async fn watch(
    client: &NodeAdminClient<Channel>,
    event: &str,
    from: u64,
    count: usize,
    poll: Duration,
    limit: Duration,
) -> anyhow::Result<Seen> {
    let mut client = client.clone();
    let mut seen = Seen {
        at: HashMap::new(),
        next: from,
    };
    let deadline = Instant::now() + limit;
    loop {
        loop {
            let entries = client
                .log(pb::LogRequest {
                    from_index: seen.next,
                    limit: 1000,
                })
                .await
                .context("reading the handover log")?
                .into_inner()
                .entries;
            let now = Instant::now();
            let Some(last) = entries.last() else { break };
            seen.next = last.index + 1;
            for entry in entries {
                if entry.event == event {
                    seen.at.entry(entry.message_id).or_insert(now);
                }
            }
        }
        if seen.at.len() >= count {
            return Ok(seen);
        }
        if Instant::now() >= deadline {
            bail!(
                "only {} of {count} `{event}` entries arrived within {limit:?}",
                seen.at.len()
            );
        }
        tokio::time::sleep(poll).await;
    }
}

/// Each sent referral's time from its `Send` call to its entry in `seen`; answers those
/// times and how many referrals have none.
pub fn latencies(sent: &[Sent], seen: &Seen) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(sent.len());
    let mut missing = 0;
    for s in sent {
        match seen.at.get(&s.id) {
            Some(at) => times.push(at.saturating_duration_since(s.started)),
            None => missing += 1,
        }
    }
    (times, missing)
}
