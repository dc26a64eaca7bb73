//! Broker acceptance against its ceiling: the same pre-sealed envelopes, callers and
//! connections submitted to the ceiling server and to the broker (mutual TLS, verified, flushed
//! before the receipt), at each size, once per broker store; on JetStream, beside the JetStream
//! ceiling (the same bytes published with acknowledgement to the same cluster). In passing,
//! what sealing and opening one envelope costs on one core.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::ceiling::{CeilingProcess, Ceilings};
use super::cluster::{self, Cluster};
use super::envelopes::{self, sized_referral};
use super::jetstream_ceiling::JetStreamCeiling;
use super::report::{self, Report, Row};
use super::stats::{Latencies, Spread};
use super::stores::{Store, StoreUnderTest};
use super::{Options, Tools};
use crate::fixtures::{self, ASTRA, BROKER, LEFOE};
use crate::{craft, raw};

/// Envelopes sealed and opened one at a time for the seal and open figures.
const CRYPTO_SAMPLES: usize = 200;

/// Runs the scenario with the broker on `store`. The ceiling (and sealing and opening) is
/// measured in the first pass only, whatever its store, into `ceilings`; a JetStream pass also
/// measures the JetStream ceiling on its cluster.
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
    let first_pass = ceilings.accept.is_empty();
    let ceiling = if first_pass {
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
    let jetstream_ceiling = match &store.cluster {
        Some(nats) => Some(
            JetStreamCeiling::connect(&nats.urls(), store.file.replicas, options.connections)
                .await?,
        ),
        None => None,
    };
    let fed = &cluster.fed;
    let directory = craft::directory(&fed.federation)?;
    let sender = craft::keys(&fed.federation, LEFOE)?;
    let recipient = craft::keys(&fed.federation, ASTRA)?;
    let lefoe = fed.federation.node(LEFOE).context("no sender material")?;
    let to_broker =
        envelopes::clients(options.connections, || fixtures::channel_as(fed, LEFOE)).await?;
    let to_ceiling = match &ceiling {
        Some(ceiling) => {
            envelopes::clients(options.connections, || {
                raw::channel(
                    ceiling.addr,
                    BROKER,
                    &fed.federation.ca_pem,
                    Some((&lefoe.cert_pem, &lefoe.key_pem)),
                )
            })
            .await?
        }
        None => Vec::new(),
    };
    let count = options.accept_count_on(on).max(1);
    let (broker_pid, own_pid) = (cluster.broker_pid()?, std::process::id());
    // Milliseconds of `pid`'s CPU time per envelope since `before`.
    let per_envelope = |pid: u32, before: std::time::Duration| -> anyhow::Result<f64> {
        Ok(cluster::cpu(pid)?.saturating_sub(before).as_secs_f64() * 1e3 / count as f64)
    };
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
        let (mut at_broker, mut at_ceiling, mut at_jetstream) =
            (Vec::new(), Vec::new(), Vec::new());
        let (mut cpu_broker, mut cpu_callers, mut cpu_ceiling) =
            (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..options.reps {
            let (sealed, _) = envelopes::seal_many(
                &sender,
                &directory,
                &request,
                &format!("A{size}R{rep}{}", on.suffix()),
                count,
            )?;
            let sealed = Arc::new(sealed);
            if let Some(ceiling) = &ceiling {
                let before = cluster::cpu(ceiling.id())?;
                let took =
                    envelopes::submit_all(&to_ceiling, sealed.clone(), options.callers).await?;
                at_ceiling.push(count as f64 / took.as_secs_f64());
                cpu_ceiling.push(per_envelope(ceiling.id(), before)?);
            }
            if let Some(jetstream) = &jetstream_ceiling {
                let took = jetstream.publish_all(&sealed, options.callers).await?;
                at_jetstream.push(count as f64 / took.as_secs_f64());
            }
            let before = (cluster::cpu(broker_pid)?, cluster::cpu(own_pid)?);
            let took = envelopes::submit_all(&to_broker, sealed, options.callers).await?;
            at_broker.push(count as f64 / took.as_secs_f64());
            cpu_broker.push(per_envelope(broker_pid, before.0)?);
            cpu_callers.push(per_envelope(own_pid, before.1)?);
        }
        if !cpu_ceiling.is_empty() {
            ceilings
                .cpu_per_envelope
                .insert(size, Spread::of(&cpu_ceiling).median);
        }
        let broker = Spread::of(&at_broker);
        let how = format!(
            "{actual}-byte envelopes, {count} per rep, {} callers on {} connection(s)",
            options.callers, options.connections
        );
        if !at_ceiling.is_empty() {
            let ceiling = Spread::of(&at_ceiling);
            ceilings.accept.insert(size, ceiling.median);
            report.push(Row::new(
                format!("ceiling-{size}"),
                format!(
                    "ceiling (raw tonic mTLS, the broker's embedded storage engine, group \
                     commit) accepts {how}"
                ),
                report::rate(&ceiling, "/s"),
                "the baseline",
            ));
        }
        let (against, whose) = if at_jetstream.is_empty() {
            (ceilings.accept.get(&size).copied(), "")
        } else {
            let jetstream = Spread::of(&at_jetstream);
            ceilings.accept_jetstream.insert(size, jetstream.median);
            report.push_beside(
                Row::new(
                    format!("ceiling-{size}-js"),
                    format!(
                        "JetStream ceiling: publish-with-ack of the same envelopes' bytes to a \
                         stream of {} replicas on file storage (fsync always), {} concurrent \
                         publishers on {} connection(s), no gRPC or TLS hop",
                        store.file.replicas, options.callers, options.connections
                    ),
                    report::rate(&jetstream, "/s"),
                    "the baseline of the -js rows",
                ),
                &format!("ceiling-{size}"),
            );
            (Some(jetstream.median), " (JetStream ceiling)")
        };
        let target = match on {
            Store::JetStream => "-",
            Store::Embedded if size >= 8192 => {
                "≥ 0.8× the ceiling (was 0.23×: 2,969/s against 12,470/s)"
            }
            Store::Embedded => {
                "≥ 0.8× the ceiling (was 0.20× with ~1.4 KB: 4,239/s against 21,727/s)"
            }
        };
        let row = Row::new(
            on.key(&format!("accept-{size}")),
            format!(
                "broker on the {} accepts pre-sealed {how}: mTLS, verified, flushed before the \
                 receipt",
                on.words()
            ),
            report::rate(&broker, "/s"),
            target,
        )
        .against(
            against
                .map(|c| format!("{}{whose}", report::ratio(broker.median, c, "/s")))
                .unwrap_or_default(),
        );
        report.push_beside(row, &format!("accept-{size}"));
        report.push_beside(
            cpu_row(
                on,
                size,
                actual,
                Spread::of(&cpu_broker).median,
                Spread::of(&cpu_callers).median,
                ceilings.cpu_per_envelope.get(&size).copied(),
            ),
            &format!("accept-cpu-{size}"),
        );
        if first_pass && (size == options.e2e_size || options.sizes.len() == 1) {
            crypto(&sender, &recipient, &directory, &request, actual, report)?;
        }
    }
    drop(jetstream_ceiling);
    drop(ceiling);
    drop(cluster);
    Ok(())
}

/// The row of the CPU time per accepted envelope: the broker's and the callers' in this pass
/// (milliseconds, medians over the repetitions), beside the ceiling server's.
fn cpu_row(
    on: Store,
    size: usize,
    actual: usize,
    broker: f64,
    callers: f64,
    ceiling: Option<f64>,
) -> Row {
    let not_counted = match on {
        Store::JetStream => "; the JetStream servers not counted",
        Store::Embedded => "",
    };
    let row = Row::new(
        on.key(&format!("accept-cpu-{size}")),
        format!(
            "CPU time per accepted {actual}-byte envelope, user and system, all threads, from \
             /proc/<pid>/stat (medians over the repetitions{not_counted}): the broker's, and the \
             load tool's callers' while they submit to it"
        ),
        format!("broker {broker:.3} ms, callers {callers:.3} ms"),
        "-",
    );
    match ceiling {
        Some(ceiling) if ceiling > 0.0 => row.against(format!(
            "{:.1}× the ceiling server's {ceiling:.3} ms",
            broker / ceiling
        )),
        _ => row,
    }
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
