//! The checks: every acknowledged referral ends with its whole evidence chain at its sender
//! (accepted, relayed, delivered), is in its addressee's inbox exactly once under the id its
//! sender was given, and nothing arrives that no sender was given an id for; every node's
//! handover log verifies, and at the end the exported logs pass the offline audit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context;
use tonic::transport::Channel;
use trm_audit::verify::{self as audit_verify, Trust};
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;

use super::cluster::{Cluster, NODES};
use super::load::{Sent, Unknown};

/// The receipts a referral to another broker's organisation collects at its sender.
const CHAIN: [&str; 3] = ["accepted", "relayed", "delivered"];
/// The steps that end a referral undelivered: refused by the addressee, or given up by its
/// sender's node after its broker refused it.
const FAILED: [&str; 2] = ["rejected", "submit_failed"];
/// Every case reference the load uses starts so.
const CASE_PREFIX: &str = "FAULTS-";
/// Between two looks at the pending referrals.
const POLL: Duration = Duration::from_millis(200);

/// Problems of one kind counted, with the first as the example: one line per kind instead of
/// one per referral.
#[derive(Debug, Default)]
pub struct Tally(BTreeMap<String, (usize, String)>);

impl Tally {
    /// Counts one problem of kind `what`, `example` naming the referral.
    fn add(&mut self, what: String, example: impl FnOnce() -> String) {
        self.0.entry(what).or_insert_with(|| (0, example())).0 += 1;
    }

    /// One line per kind: `N referral(s) <what> (first: <example>)`.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(what, (count, example))| {
                format!("{count} referral(s) {what} (first: {example})")
            })
            .collect()
    }
}

/// How the acknowledged referrals of a round were delivered.
#[derive(Debug, Default)]
pub struct Drain {
    /// The delivered ones: id, and when the addressee's receipt says it was delivered (Unix ms).
    pub delivered: Vec<(String, u64)>,
    /// Those not delivered (with their whole chain) within the limit.
    pub pending: Vec<Sent>,
    /// Referrals whose evidence ends undelivered (rejected, or given up after a refusal).
    pub problems: Tally,
}

/// Waits up to `limit` for every referral in `sent` to carry its whole evidence chain at its
/// sender.
pub async fn drain(cluster: &Cluster, sent: Vec<Sent>, limit: Duration) -> anyhow::Result<Drain> {
    let started = Instant::now();
    let mut clients: HashMap<String, NodeAdminClient<Channel>> = HashMap::new();
    let mut drain = Drain {
        pending: sent,
        ..Drain::default()
    };
    loop {
        let mut still = Vec::new();
        for s in std::mem::take(&mut drain.pending) {
            match evidence(cluster, &mut clients, &s).await {
                Ok(Some(steps)) => {
                    if let Some(failed) = steps.iter().find(|e| FAILED.contains(&e.step.as_str())) {
                        drain
                            .problems
                            .add(format!("ended {}: {}", failed.step, failed.detail), || {
                                format!("{} from {} to {}", s.id, s.from, s.to)
                            });
                    } else if let Some(delivered) = complete(&steps) {
                        drain.delivered.push((s.id, delivered));
                    } else {
                        still.push(s);
                    }
                }
                Ok(None) | Err(_) => {
                    clients.remove(&s.from);
                    still.push(s);
                }
            }
        }
        drain.pending = still;
        if drain.pending.is_empty() || started.elapsed() > limit {
            return Ok(drain);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// When the chain is whole: the delivery's time.
fn complete(steps: &[pb::Evidence]) -> Option<u64> {
    let has = |step: &str| steps.iter().find(|e| e.step == step);
    if CHAIN.iter().all(|step| has(step).is_some()) {
        has("delivered").map(|e| e.at_ms)
    } else {
        None
    }
}

/// The sender's evidence for `s`; `None` when its node cannot be asked right now.
async fn evidence(
    cluster: &Cluster,
    clients: &mut HashMap<String, NodeAdminClient<Channel>>,
    s: &Sent,
) -> anyhow::Result<Option<Vec<pb::Evidence>>> {
    if !clients.contains_key(&s.from) {
        let Ok(client) = cluster.client(&s.from).await else {
            return Ok(None);
        };
        clients.insert(s.from.clone(), client);
    }
    let client = clients.get_mut(&s.from).context("no client")?;
    let status = client
        .status(pb::StatusRequest {
            message_id: s.id.clone(),
        })
        .await?
        .into_inner();
    Ok(Some(status.evidence))
}

/// Exactly once: each acknowledged referral in `delivered` is in its addressee's inbox under
/// its id; no case reference is there twice; nothing is there that no sender was given an id
/// for (unless its sender gave up on it, in `unknown`). Answers the violations.
pub async fn exactly_once(
    cluster: &Cluster,
    sent: &[Sent],
    delivered: &BTreeSet<String>,
    unknown: &[Unknown],
) -> anyhow::Result<Vec<String>> {
    let acknowledged: HashMap<&str, &Sent> =
        sent.iter().map(|s| (s.case_ref.as_str(), s)).collect();
    let unknown: BTreeSet<&str> = unknown.iter().map(|u| u.case_ref.as_str()).collect();
    let mut problems = Tally::default();
    let mut seen = BTreeSet::new();
    for (address, ..) in NODES {
        let inbox = cluster
            .client(address)
            .await?
            .inbox(pb::InboxRequest { limit: u32::MAX })
            .await?
            .into_inner()
            .messages;
        let mut by_case: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in inbox.iter().filter(|m| m.case_ref.starts_with(CASE_PREFIX)) {
            by_case
                .entry(m.case_ref.as_str())
                .or_default()
                .push(m.message_id.as_str());
            seen.insert(m.message_id.clone());
        }
        for (case_ref, ids) in by_case {
            if ids.len() > 1 {
                problems.add(format!("arrived at {address} more than once"), || {
                    format!("case {case_ref} as {}", ids.join(", "))
                });
            }
            match acknowledged.get(case_ref) {
                Some(s) if !ids.contains(&s.id.as_str()) => problems.add(
                    format!("arrived at {address} under another id than their sender was given"),
                    || format!("case {case_ref} as {}, given {}", ids.join(", "), s.id),
                ),
                Some(_) => {}
                None if unknown.contains(case_ref) => {}
                None => problems.add(
                    format!("arrived at {address} although no sender was given an id for them"),
                    || format!("case {case_ref} as {}", ids.join(", ")),
                ),
            }
        }
    }
    for s in sent.iter().filter(|s| delivered.contains(&s.id)) {
        if !seen.contains(&s.id) {
            problems.add(
                format!(
                    "delivered by their evidence are missing from {}'s inbox",
                    s.to
                ),
                || format!("{} from {}", s.id, s.from),
            );
        }
    }
    Ok(problems.lines())
}

/// `trm log verify` on every node: answers the violations.
pub async fn logs(cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for (address, ..) in NODES {
        let verified = cluster
            .client(address)
            .await?
            .verify_log(pb::VerifyLogRequest {})
            .await?
            .into_inner();
        if !verified.ok {
            problems.push(format!(
                "the handover log of {address} does not verify at entry {}: {}",
                verified.bad_index, verified.problem
            ));
        }
    }
    Ok(problems)
}

/// `trm log export` on every node and `trm audit verify` over the bundles: answers the
/// findings as violations.
pub async fn audit(cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let mut bundles = Vec::new();
    for (address, ..) in NODES {
        let mut stream = cluster
            .client(address)
            .await?
            .export_log(pb::ExportLogRequest {
                checkpoint: true,
                ..Default::default()
            })
            .await?
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.message().await? {
            bytes.extend(chunk.data);
        }
        bundles.push((format!("{address}.bundle"), bytes));
    }
    let federation = &cluster.fed.federation;
    let trust = Trust::from_directory_file(
        &federation.dir.join("directory.pb"),
        &hex::encode(federation.authority.verifying_key().as_bytes()),
        &federation.federation,
        trm_proto::time::now_ms(),
    )?;
    let report = audit_verify::verify(bundles, &trust);
    Ok(report
        .findings
        .iter()
        .map(|f| format!("audit of {}: {:?}: {}", f.node, f.kind, f.detail))
        .collect())
}
