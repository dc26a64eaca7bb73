//! `trm-bench`: the baseline figures of the foundation, printed, never asserted.
//!
//! - the cost of sealing and opening one referral (median and 90th percentile), against a
//!   baseline of one bare Ed25519 signature over the same header in the same process;
//! - envelopes accepted per second by one broker (mutual TLS, verified, flushed to disk
//!   before each answer, 64 concurrent submitters);
//! - referrals delivered per second end to end (node → broker → node, each stored, logged,
//!   flushed and receipted), against the accepted rate as its baseline.
//!
//! Run with `cargo run --release -p trm-tests --bin trm-bench [-- N]`.

use std::time::{Duration, Instant};

use anyhow::Context;
use ed25519_dalek::Signer;
use tokio::task::JoinSet;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};
use trm_tests::{craft, raw};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.9))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(500);
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let directory = craft::directory(&fed.federation)?;
    let sender = craft::keys(&fed.federation, LEFOE)?;
    let recipient = craft::keys(&fed.federation, ASTRA)?;
    let request = fixtures::referral(ASTRA)?;

    println!("trm-bench: {n} messages per figure, referral as in `trm template referral`");
    let mut seal_times = Vec::with_capacity(n);
    let mut open_times = Vec::with_capacity(n);
    let mut sign_times = Vec::with_capacity(n);
    let mut size = 0;
    for _ in 0..n {
        let start = Instant::now();
        let envelope = craft::sealed(&sender, &directory, &request)?;
        seal_times.push(start.elapsed());
        size = prost::Message::encoded_len(&envelope);
        let header = envelope.header.clone();
        let start = Instant::now();
        trm_node::open::open(&recipient, &directory, envelope, 4 << 20)?;
        open_times.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(sender.signing.sign(&header));
        sign_times.push(start.elapsed());
    }
    let (seal_median, seal_p90) = summary(seal_times);
    let (open_median, open_p90) = summary(open_times);
    let (sign_median, _) = summary(sign_times);
    println!("envelope size                  {size} bytes");
    println!(
        "seal   median {seal_median:>10.1?}  p90 {seal_p90:>10.1?}  ({:.1}x one Ed25519 signature)",
        seal_median.as_secs_f64() / sign_median.as_secs_f64()
    );
    println!(
        "open   median {open_median:>10.1?}  p90 {open_p90:>10.1?}  ({:.1}x one Ed25519 signature)",
        open_median.as_secs_f64() / sign_median.as_secs_f64()
    );
    println!("baseline: one Ed25519 signature, median {sign_median:.1?}");

    fed.start_broker(BROKER).await?;
    let lefoe = fed.federation.node(LEFOE).context("lefoe")?;
    let channel = raw::channel(
        fed.broker_addr(BROKER)?,
        BROKER,
        &fed.federation.ca_pem,
        Some((&lefoe.cert_pem, &lefoe.key_pem)),
    )
    .await?;
    let envelopes: Vec<_> = (0..n)
        .map(|_| craft::sealed(&sender, &directory, &request))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let mut submitters = JoinSet::new();
    for chunk in envelopes.chunks(n.div_ceil(64)) {
        let chunk = chunk.to_vec();
        let mut client = raw::broker(channel.clone());
        submitters.spawn(async move {
            for envelope in chunk {
                client.submit(envelope).await?;
            }
            Ok::<_, tonic::Status>(())
        });
    }
    while let Some(result) = submitters.join_next().await {
        result??;
    }
    let accepted_rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "broker accepted       {accepted_rate:>8.0} envelopes/s  (64 concurrent submitters, each flushed before its receipt)"
    );

    // Drain what the raw submissions queued for Astra, then measure end to end from a quiet start.
    fed.start_node(ASTRA).await?;
    let astra = fed.client(ASTRA).await?;
    trm_dev::wait::wait_for(Duration::from_secs(300), "the queue to drain", || {
        let mut astra = astra.clone();
        async move { Ok(fixtures::inbox_ids(&mut astra).await?.len() >= n) }
    })
    .await?;
    fed.start_node(LEFOE).await?;
    let client = fed.client(LEFOE).await?;
    let start = Instant::now();
    let mut senders = JoinSet::new();
    for sender in 0..8 {
        let mut client = client.clone();
        let request = request.clone();
        let count = n / 8;
        senders.spawn(async move {
            // Each referral opens its own case, as referrals do.
            for i in 0..count {
                let mut request = request.clone();
                request.case_ref = format!("AT-LEFOE-BENCH-{sender}-{i}");
                client.send(request).await?;
            }
            Ok::<_, tonic::Status>(())
        });
    }
    while let Some(result) = senders.join_next().await {
        result??;
    }
    let sent = (n / 8) * 8;
    trm_dev::wait::wait_for(
        Duration::from_secs(600),
        "every referral to be delivered",
        || {
            let mut astra = astra.clone();
            async move { Ok(fixtures::inbox_ids(&mut astra).await?.len() >= n + sent) }
        },
    )
    .await?;
    let delivered_rate = sent as f64 / start.elapsed().as_secs_f64();
    println!(
        "delivered end to end  {delivered_rate:>8.0} referrals/s  ({:.2}x the broker's accepted rate; sealed, submitted, stored, opened, logged and receipted)",
        delivered_rate / accepted_rate
    );
    fed.shutdown().await?;
    Ok(())
}
