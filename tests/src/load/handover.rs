//! The handover log: appends by many concurrent appenders through the node's own store (each
//! entry durable before its appender goes on, as every handover is), and verifying a long log
//! as the node verifies its stored one (every entry read, decoded and chained, against the
//! head record).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::ensure;
use tokio::task::JoinSet;
use trm_node::store::NodeStore;
use trm_node::store::danger::BareLog;
use trm_proto::pb;

use super::Options;
use super::report::{self, Report, Row};
use super::stats::Spread;

/// Entries per transaction while the long log is written (not timed).
const FILL_BATCH: usize = 1_000;

/// Runs the scenario.
pub async fn run(options: &Options, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    let appends = options.appends.max(1);
    let mut rates = Vec::new();
    for rep in 0..options.reps {
        let store = NodeStore::open(&dir.join(format!("append-{rep}")))?;
        let started = Instant::now();
        append(&store, appends, options.appenders).await?;
        rates.push(appends as f64 / started.elapsed().as_secs_f64());
        ensure!(
            store.verify_log()?.entries == appends as u64,
            "the appended log does not hold every entry"
        );
    }
    report.push(Row::new(
        "log-append",
        format!(
            "handover-log appends through the node's store, {} concurrent appenders, one entry \
             each, durable before the appender goes on; {} entries per rep",
            options.appenders,
            report::thousands(appends as f64)
        ),
        report::rate(&Spread::of(&rates), " entries/s"),
        "≥ 50,000 entries/s",
    ));

    let entries = options.verify.max(1);
    let log = BareLog::open(&dir.join("verify"))?;
    let mut written = 0;
    while written < entries {
        let batch: Vec<pb::LogEntry> = (written..(written + FILL_BATCH).min(entries))
            .map(|n| entry(n as u64))
            .collect();
        log.append_batch(&batch)?;
        written += batch.len();
    }
    log.durable().await?;
    let mut seconds = Vec::new();
    for _ in 0..options.reps {
        let started = Instant::now();
        let summary = log.verify()?;
        seconds.push(started.elapsed().as_secs_f64());
        ensure!(
            summary.entries == entries as u64,
            "the verified log does not hold every entry"
        );
    }
    let spread = Spread::of(&seconds);
    report.push(Row::new(
        "log-verify",
        format!(
            "verify a stored handover log of {} entries (read, decode, chain, head record)",
            report::thousands(entries as f64)
        ),
        format!(
            "{:.3} s ({:.3}–{:.3}, {} reps)",
            spread.median, spread.min, spread.max, spread.reps
        ),
        "< 1 s for 1,000,000 entries",
    ));
    Ok(())
}

/// The `n`th entry of a made-up log: a referral SENT to Astra, one case in ten a child's.
fn entry(n: u64) -> pb::LogEntry {
    pb::LogEntry {
        at_ms: 1_700_000_000_000 + n,
        event: pb::LogEvent::Sent.into(),
        message_id: format!("{:032x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        counterparty: crate::fixtures::ASTRA.into(),
        kind: pb::MessageKind::Referral.into(),
        case_ref: format!("AT-LOAD-{}", n % 10_000),
        envelope_digest: [n as u8; 32].to_vec(),
        flags: Some(pb::AuditFlags {
            consent_given: true,
            child: n.is_multiple_of(10),
            ..Default::default()
        }),
        actor: "node".into(),
        ..Default::default()
    }
}

/// Appends `count` entries through `store` from `appenders` concurrent tasks.
async fn append(store: &NodeStore, count: usize, appenders: usize) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..appenders.max(1) {
        let (store, next) = (store.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return anyhow::Ok(());
                }
                let entry = entry(n as u64);
                let header = pb::EnvelopeHeader {
                    message_id: entry.message_id,
                    from: entry.counterparty,
                    kind: entry.kind,
                    ..Default::default()
                };
                let mut digest = [0u8; 32];
                digest[..8].copy_from_slice(&(n as u64).to_be_bytes());
                store
                    .record_refused(&header, &digest, entry.at_ms, "a load-tool entry")
                    .await?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}
