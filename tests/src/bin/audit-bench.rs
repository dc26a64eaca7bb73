//! `audit-bench`: the figures of the handover log's audit machinery, printed against their
//! targets, never asserted.
//!
//! - verifying an exported bundle of 1,000,000 synthetic but realistic entries offline, as
//!   `trm audit verify` does (decode, hash chain, Merkle tree, checkpoint signature), against
//!   3 s;
//! - the median time to produce one inclusion proof in a 1,000,000-entry tree, against 1 ms;
//! - appending to a log with group commit while checkpoints are signed every 100 ms, against
//!   50,000 entries/s: first the node's own path (64, then 256 concurrent appenders, each
//!   appending one entry through `NodeStore` and waiting until it is on disk; the store's
//!   writer combines whatever is waiting into one store transaction), then,
//!   for reference, the bare log format with 16 or 64 entries per transaction written directly
//!   (one transaction costs about the same whatever it holds).
//!
//! Run with `cargo run --release -p trm-tests --bin audit-bench [-- ENTRIES]`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use prost::Message;
use tokio::task::JoinSet;
use trm_audit::verify::{self as audit_verify, Trust};
use trm_log::checkpoint::{self, Checkpoint, CheckpointSigner};
use trm_log::merkle::{self, MerkleTree};
use trm_node::checkpointer::{Checkpointer, CheckpointerError};
use trm_node::store::NodeStore;
use trm_node::store::danger::BareLog;
use trm_proto::pb;

const FEDERATION: &str = "bench";
const NODE: &str = "lefoe-ibf@at";

/// Entries appended per appender count in the group-commit figure.
const APPENDS: u64 = 200_000;

/// A handover-log entry as a busy node writes them: a referral's SENT, ACCEPTED, RELAYED and
/// DELIVERED, or a RECEIVED, with realistic ids, digests and flags.
fn entry(n: u64) -> pb::LogEntry {
    let message = n / 4;
    let event = match n % 4 {
        0 => pb::LogEvent::Sent,
        1 => pb::LogEvent::Accepted,
        2 => pb::LogEvent::Delivered,
        _ => pb::LogEvent::Received,
    };
    let digest = |salt: u8| {
        let mut d = [salt; 32];
        d[..8].copy_from_slice(&message.to_be_bytes());
        d.to_vec()
    };
    pb::LogEntry {
        at_ms: 1_700_000_000_000 + n * 37,
        event: event.into(),
        message_id: format!("{:032x}", message.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        counterparty: ["astra@rs", "atina@rs", "open-gate@mk", "tjeter-vizion@al"]
            [(message % 4) as usize]
            .into(),
        kind: pb::MessageKind::Referral.into(),
        case_ref: format!("AT-LEF-2025-{:05}", message % 100_000),
        envelope_digest: digest(0xe0),
        receipt_digest: if matches!(event, pb::LogEvent::Accepted | pb::LogEvent::Delivered) {
            digest(0x7c)
        } else {
            Vec::new()
        },
        flags: matches!(event, pb::LogEvent::Sent | pb::LogEvent::Received).then(|| {
            pb::AuditFlags {
                consent_given: true,
                child: message.is_multiple_of(7),
                risk_assessment_present: !message.is_multiple_of(3),
                ..Default::default()
            }
        }),
        actor: if event == pb::LogEvent::Sent {
            "caseworker-17".into()
        } else {
            "node".into()
        },
        ..Default::default()
    }
}

/// `entries` chained as the node stores them: index, previous hash, encoded once.
fn chained(entries: u64) -> Vec<Vec<u8>> {
    let mut previous = [0u8; 32];
    (0..entries)
        .map(|n| {
            let mut e = entry(n);
            e.index = n;
            e.prev_hash = previous.to_vec();
            let bytes = e.encode_to_vec();
            previous = trm_log::entry::entry_hash(&bytes);
            bytes
        })
        .collect()
}

fn verify_bundle(entries: u64) -> anyhow::Result<()> {
    let key = SigningKey::from_bytes(&[42; 32]);
    let started = Instant::now();
    let chained = chained(entries);
    let tree = MerkleTree::from_leaves(&chained);
    let origin = checkpoint::node_origin(FEDERATION, &NODE.parse()?)?;
    let note = checkpoint::sign(
        &Checkpoint {
            origin: origin.clone(),
            size: tree.size(),
            root: tree.root(),
        },
        &origin,
        &key,
    )?;
    let bundle = pb::LogBundle {
        format: trm_node::export::BUNDLE_FORMAT,
        federation: FEDERATION.into(),
        node: NODE.into(),
        exported_at_ms: 1_800_000_000_000,
        checkpoints: vec![note],
        entries: chained,
        ..Default::default()
    }
    .encode_to_vec();
    drop(tree);
    println!(
        "  bundle of {entries} entries: {:.1} MB (built in {:.2?}, {:.0} bytes per entry)",
        bundle.len() as f64 / 1e6,
        started.elapsed(),
        bundle.len() as f64 / entries as f64
    );
    let trust = Trust::new(
        FEDERATION,
        HashMap::from([(NODE.to_owned(), vec![key.verifying_key()])]),
    );
    let mut times = Vec::new();
    for _ in 0..3 {
        let input = vec![("bench.bundle".to_owned(), bundle.clone())];
        let started = Instant::now();
        let report = audit_verify::verify(input, &trust);
        let elapsed = started.elapsed();
        anyhow::ensure!(
            report.ok,
            "the bench bundle has findings: {}",
            report.human()
        );
        times.push(elapsed);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "verify a bundle of {entries} entries (decode, hash chain, Merkle tree, checkpoint \
         signature): median of 3 runs {median:.2?}, best {:.2?} (target < 3 s: {})",
        times[0],
        verdict(median < Duration::from_secs(3))
    );
    Ok(())
}

fn inclusion(entries: u64) -> anyhow::Result<()> {
    let measured = merkle::measure_inclusion(entries, 2000)?;
    println!(
        "inclusion proof in a {entries}-entry tree: median {:.2?} to produce, {:.2?} to verify \
         (tree built in {:.2?}) (target < 1 ms: {})",
        measured.prove_median,
        measured.verify_median,
        measured.build,
        verdict(measured.prove_median < Duration::from_millis(1))
    );
    Ok(())
}

/// The node's path: `appenders` tasks append `APPENDS` entries in all through `NodeStore`, each
/// in its own transaction followed by a wait for durability, while the node's `Checkpointer`
/// signs a checkpoint every 100 ms.
async fn append(appenders: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    let origin = checkpoint::node_origin(FEDERATION, &NODE.parse()?)?;
    let checkpointer = Arc::new(Checkpointer::open(
        &store,
        &origin,
        SigningKey::from_bytes(&[42; 32]),
    )?);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let checkpoints = tokio::spawn({
        let (store, checkpointer, done) = (store.clone(), checkpointer.clone(), done.clone());
        async move {
            let mut signed = 0u64;
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                match checkpointer.checkpoint(&store).await {
                    Ok(checkpoint) if checkpoint.signed_now => signed += 1,
                    Ok(_) | Err(CheckpointerError::Empty) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            anyhow::Ok(signed)
        }
    });
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..appenders {
        let (store, next) = (store.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= APPENDS {
                    return anyhow::Ok(());
                }
                let e = entry(n);
                let header = pb::EnvelopeHeader {
                    message_id: e.message_id,
                    from: e.counterparty,
                    kind: e.kind,
                    ..Default::default()
                };
                let digest: [u8; 32] = e.envelope_digest.as_slice().try_into()?;
                store
                    .record_refused(&header, &digest, e.at_ms, "signature does not verify")
                    .await?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let signed = checkpoints.await??;
    let last = checkpointer.checkpoint(&store).await?;
    anyhow::ensure!(
        last.checkpoint.size == APPENDS,
        "the final checkpoint covers everything"
    );
    anyhow::ensure!(store.verify_log()?.entries == APPENDS, "the chain verifies");
    let rate = APPENDS as f64 / elapsed.as_secs_f64();
    println!(
        "append through the node's store, {appenders} appenders, 1 entry each, combined by the writer: \
         {APPENDS} entries in {elapsed:.2?} = {rate:.0} entries/s, each durable before its \
         appender goes on; {signed} checkpoints signed meanwhile (target >= 50,000/s: {})",
        verdict(rate >= 50_000.0)
    );
    Ok(())
}

/// The same log format with `batch` entries per transaction: `appenders` tasks append
/// `APPENDS` entries in all and wait for durability after each transaction, while a task
/// catches a Merkle tree up from the log every 100 ms and signs and stores a checkpoint, as
/// the node's `Checkpointer` does.
async fn append_batched(appenders: u64, batch: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let log = BareLog::open(dir.path())?;
    let origin = checkpoint::node_origin(FEDERATION, &NODE.parse()?)?;
    let mut signer = CheckpointSigner::new(&origin, SigningKey::from_bytes(&[42; 32]), None)?;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let checkpoints = tokio::spawn({
        let (log, done) = (log.clone(), done.clone());
        async move {
            let mut tree = MerkleTree::new();
            let mut signed = 0u64;
            loop {
                let finished = done.load(Ordering::Relaxed);
                let len = log.entry_count()?;
                while tree.size() < len {
                    for entry in log.read_bytes(tree.size(), 4096)? {
                        tree.push(&entry);
                    }
                }
                log.durable().await?;
                let from = signer.last_signed().size;
                if tree.size() > from {
                    let next = Checkpoint {
                        origin: origin.clone(),
                        size: tree.size(),
                        root: tree.root(),
                    };
                    let note = signer.sign(&next, &tree.consistency_proof(from, tree.size())?)?;
                    log.store_checkpoint(tree.size(), &note)?;
                    log.durable().await?;
                    signed += 1;
                }
                if finished {
                    return anyhow::Ok((signed, tree.size()));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..appenders {
        let (log, next) = (log.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= APPENDS {
                    return anyhow::Ok(());
                }
                let entries: Vec<pb::LogEntry> =
                    (first..(first + batch).min(APPENDS)).map(entry).collect();
                log.append_batch(&entries)?;
                log.durable().await?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (signed, covered) = checkpoints.await??;
    anyhow::ensure!(covered == APPENDS, "the final checkpoint covers everything");
    anyhow::ensure!(log.verify()?.entries == APPENDS, "the chain verifies");
    let rate = APPENDS as f64 / elapsed.as_secs_f64();
    println!(
        "append with group commit, {appenders} appenders, {batch} entries per transaction: \
         {APPENDS} entries in {elapsed:.2?} = {rate:.0} entries/s, each durable before its \
         appender goes on; {signed} checkpoints signed meanwhile, {} flushes (target >= \
         50,000/s: {})",
        log.flushes(),
        verdict(rate >= 50_000.0)
    );
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let entries: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    println!(
        "audit-bench on {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    verify_bundle(entries)?;
    inclusion(entries)?;
    for appenders in [64, 256] {
        append(appenders).await?;
    }
    for batch in [16, 64] {
        append_batched(64, batch).await?;
    }
    Ok(())
}
