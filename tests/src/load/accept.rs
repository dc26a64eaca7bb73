//! Broker acceptance against its ceiling: the same pre-sealed envelopes, callers and
//! connections submitted to the ceiling server and to the broker (mutual TLS, verified, flushed
//! before the receipt), at each size; and, in passing, what sealing and opening one envelope
//! costs on one core.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::ceiling::CeilingProcess;
use super::cluster::Cluster;
use super::envelopes::{self, sized_referral};
use super::report::{self, Report, Row};
use super::stats::{Latencies, Spread};
use super::{Options, Tools};
use crate::fixtures::{self, ASTRA, BROKER, LEFOE};
use crate::{craft, raw};

/// Envelopes sealed and opened one at a time for the seal and open figures.
const CRYPTO_SAMPLES: usize = 200;

/// Runs the scenario; answers the ceiling's median rate at the end-to-end size (or the
/// largest size measured), the baseline of the end-to-end and drain figures.
pub async fn run(
    options: &Options,
    tools: &Tools,
    dir: &Path,
    report: &mut Report,
) -> anyhow::Result<Option<f64>> {
    let mut cluster = Cluster::create(&dir.join("federation"), tools.programs.clone()).await?;
    cluster.start_broker().await?;
    let ceiling = CeilingProcess::start(
        &tools.ceiling,
        &cluster.broker_config_path(),
        &dir.join("ceiling"),
    )
    .await?;
    let fed = &cluster.fed;
    let directory = craft::directory(&fed.federation)?;
    let sender = craft::keys(&fed.federation, LEFOE)?;
    let recipient = craft::keys(&fed.federation, ASTRA)?;
    let lefoe = fed.federation.node(LEFOE).context("no sender material")?;
    let to_broker =
        envelopes::clients(options.connections, || fixtures::channel_as(fed, LEFOE)).await?;
    let to_ceiling = envelopes::clients(options.connections, || {
        raw::channel(
            ceiling.addr,
            BROKER,
            &fed.federation.ca_pem,
            Some((&lefoe.cert_pem, &lefoe.key_pem)),
        )
    })
    .await?;
    let count = options.accept_count.max(1);
    let mut baseline = None;
    let mut sizes = options.sizes.clone();
    sizes.sort_unstable();
    for size in sizes {
        let (request, actual) = sized_referral(
            &sender,
            &directory,
            ASTRA,
            size,
            trm_proto::pb::HandlingCode::H2,
        )?;
        let (mut at_broker, mut at_ceiling) = (Vec::new(), Vec::new());
        for rep in 0..options.reps {
            let (sealed, _) = envelopes::seal_many(
                &sender,
                &directory,
                &request,
                &format!("A{size}R{rep}"),
                count,
            )?;
            let sealed = Arc::new(sealed);
            let took = envelopes::submit_all(&to_ceiling, sealed.clone(), options.callers).await?;
            at_ceiling.push(count as f64 / took.as_secs_f64());
            let took = envelopes::submit_all(&to_broker, sealed, options.callers).await?;
            at_broker.push(count as f64 / took.as_secs_f64());
        }
        let (broker, ceiling) = (Spread::of(&at_broker), Spread::of(&at_ceiling));
        let how = format!(
            "{actual}-byte envelopes, {count} per rep, {} callers on {} connection(s)",
            options.callers, options.connections
        );
        report.push(Row::new(
            format!("ceiling-{size}"),
            format!(
                "ceiling (raw tonic mTLS, the same storage engine, group commit) accepts {how}"
            ),
            report::rate(&ceiling, "/s"),
            "the baseline",
        ));
        report.push(
            Row::new(
                format!("accept-{size}"),
                format!(
                    "broker accepts pre-sealed {how}: mTLS, verified, flushed before the receipt"
                ),
                report::rate(&broker, "/s"),
                if size >= 8192 {
                    "≥ 0.8× the ceiling (was 0.23×: 2,969/s against 12,470/s)"
                } else {
                    "≥ 0.8× the ceiling (was 0.20× with ~1.4 KB: 4,239/s against 21,727/s)"
                },
            )
            .against(report::ratio(broker.median, ceiling.median, "/s")),
        );
        if baseline.is_none() || size <= options.e2e_size {
            baseline = Some(ceiling.median);
        }
        if size == options.e2e_size || options.sizes.len() == 1 {
            crypto(&sender, &recipient, &directory, &request, actual, report)?;
        }
    }
    drop(ceiling);
    drop(cluster);
    Ok(baseline)
}

/// Seal and open, one envelope at a time on one core.
fn crypto(
    sender: &trm_node::keys::NodeKeys,
    recipient: &trm_node::keys::NodeKeys,
    directory: &trm_proto::directory::Directory,
    request: &trm_proto::pb::SendRequest,
    size: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (mut seal, mut open) = (Vec::new(), Vec::new());
    for n in 0..CRYPTO_SAMPLES {
        let mut request = request.clone();
        request.case_ref = format!("AT-LOAD-CRYPTO-{n}");
        let started = Instant::now();
        let envelope = craft::sealed(sender, directory, &request)?;
        seal.push(started.elapsed());
        let started = Instant::now();
        trm_node::open::open(recipient, directory, envelope, 4 << 20)?;
        open.push(started.elapsed());
    }
    for (key, what, samples) in [
        ("seal", "seal", seal),
        ("open", "open (verify, decrypt)", open),
    ] {
        let l = Latencies::of(samples);
        report.push(Row::new(
            key,
            format!("{what} one {size}-byte referral envelope, one core, {CRYPTO_SAMPLES} samples"),
            format!(
                "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
                l.p50, l.p90, l.p99
            ),
            "-",
        ));
    }
    Ok(())
}
