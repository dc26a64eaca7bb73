//! Envelopes for the broker: the test referral padded to a chosen size, sealed ahead of time
//! (on every core) so that only submitting is timed, and submitted by many concurrent callers,
//! or at a fixed offered rate, to the broker or to its ceiling alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use prost::Message;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use trm_node::keys::NodeKeys;
use trm_proto::directory::Directory;
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;

use crate::{craft, fixtures};

/// The test referral to `to` under `handling`, its notes padded (or emptied) so that its
/// sealed envelope is as close to `bytes` as the template allows; answers it with the size its
/// envelope has.
pub fn sized_referral(
    keys: &NodeKeys,
    directory: &Directory,
    to: &str,
    bytes: usize,
    handling: pb::HandlingCode,
) -> anyhow::Result<(pb::SendRequest, usize)> {
    let mut request = fixtures::referral(to)?;
    if let Some(pb::body::Content::Referral(r)) =
        request.body.as_mut().and_then(|b| b.content.as_mut())
    {
        r.handling_code = handling.into();
    }
    request.case_ref = "AT-LOAD-SIZE-PROBE".into();
    set_notes(&mut request, String::new())?;
    let bare = envelope_size(keys, directory, &request)?;
    if bytes > bare {
        // The body may be compressed and length prefixes grow: correct a few times.
        let mut len = bytes - bare;
        for _ in 0..4 {
            set_notes(&mut request, filler(len))?;
            let got = envelope_size(keys, directory, &request)?;
            if got == bytes {
                break;
            }
            len = usize::try_from(len as i64 + bytes as i64 - got as i64).unwrap_or(0);
        }
    }
    let size = envelope_size(keys, directory, &request)?;
    Ok((request, size))
}

fn set_notes(request: &mut pb::SendRequest, notes: String) -> anyhow::Result<()> {
    match request.body.as_mut().and_then(|b| b.content.as_mut()) {
        Some(pb::body::Content::Referral(r)) => {
            r.notes = notes;
            Ok(())
        }
        _ => anyhow::bail!("the test referral has no referral content"),
    }
}

/// `len` characters of words that do not compress away.
fn filler(len: usize) -> String {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|i| {
            if i % 7 == 6 {
                ' '
            } else {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                char::from(b'a' + (state % 26) as u8)
            }
        })
        .collect()
}

fn envelope_size(
    keys: &NodeKeys,
    directory: &Directory,
    request: &pb::SendRequest,
) -> anyhow::Result<usize> {
    Ok(craft::sealed(keys, directory, request)?.encoded_len())
}

/// `count` envelopes of `request`, each opening its own case (`<tag>-<n>`), sealed on every
/// core; answers them with the time one seal took, per envelope, on one core.
pub fn seal_many(
    keys: &NodeKeys,
    directory: &Directory,
    request: &pb::SendRequest,
    tag: &str,
    count: usize,
) -> anyhow::Result<(Vec<pb::Envelope>, Duration)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 16);
    let per = count.div_ceil(threads).max(1);
    let started = Instant::now();
    let parts: Vec<anyhow::Result<Vec<pb::Envelope>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(per)
            .map(|first| {
                scope.spawn(move || {
                    (first..(first + per).min(count))
                        .map(|n| {
                            let mut request = request.clone();
                            request.case_ref = format!("AT-LOAD-{tag}-{n}");
                            craft::sealed(keys, directory, &request)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a sealing thread panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut envelopes = Vec::with_capacity(count);
    for part in parts {
        envelopes.extend(part?);
    }
    let per_seal = if envelopes.is_empty() {
        Duration::ZERO
    } else {
        elapsed.mul_f64(threads.min(envelopes.len()) as f64 / envelopes.len() as f64)
    };
    Ok((envelopes, per_seal))
}

/// `channels` broker clients over mutual-TLS channels made by `connect`.
pub async fn clients<F, Fut>(
    channels: usize,
    connect: F,
) -> anyhow::Result<Vec<BrokerClient<Channel>>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Channel>>,
{
    let mut out = Vec::new();
    for _ in 0..channels.max(1) {
        out.push(crate::raw::broker(connect().await?));
    }
    Ok(out)
}

/// Submits every envelope through `callers` concurrent callers spread over `clients`, each
/// waiting for its receipt before its next submission; answers how long it took. Any refusal
/// ends the run: a figure over refused envelopes would mean nothing.
pub async fn submit_all(
    clients: &[BrokerClient<Channel>],
    envelopes: Arc<Vec<pb::Envelope>>,
    callers: usize,
) -> anyhow::Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for caller in 0..callers.max(1) {
        let mut client = clients
            .get(caller % clients.len().max(1))
            .cloned()
            .context("no broker client")?;
        let (next, envelopes) = (next.clone(), envelopes.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(envelope) = envelopes.get(n) else {
                    return anyhow::Ok(());
                };
                client
                    .submit(envelope.clone())
                    .await
                    .with_context(|| format!("submitting envelope {n}"))?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(started.elapsed())
}

/// Submits `envelopes` at `rate` per second, open loop (a submission starts on time whether
/// or not earlier ones have their receipts), each on its own task; answers each one's time to
/// its receipt.
pub async fn submit_at_rate(
    client: &BrokerClient<Channel>,
    envelopes: Vec<pb::Envelope>,
    rate: f64,
) -> anyhow::Result<Vec<Duration>> {
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = JoinSet::new();
    for envelope in envelopes {
        ticks.tick().await;
        let mut client = client.clone();
        tasks.spawn(async move {
            let started = Instant::now();
            client.submit(envelope).await?;
            anyhow::Ok(started.elapsed())
        });
    }
    let mut times = Vec::new();
    while let Some(result) = tasks.join_next().await {
        times.push(result??);
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_has_the_asked_length_and_varies() {
        let text = filler(700);
        assert_eq!(text.chars().count(), 700);
        assert!(text.contains(' '));
        let distinct: std::collections::BTreeSet<char> = text.chars().collect();
        assert!(distinct.len() > 20);
    }
}
