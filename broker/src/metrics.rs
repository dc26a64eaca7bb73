//! The broker's Prometheus metrics, served on the `[metrics] listen` loopback address (see
//! [`trm_storage::exposition::settings`]) by [`trm_storage::exposition::serve`]. Every series is metadata:
//! node and broker names, counts, times. Nothing about a message's content or case.
//!
//! | series | kind | labels | meaning |
//! |---|---|---|---|
//! | `trm_broker_queue_items` | gauge | `node` | items waiting for a node homed here |
//! | `trm_broker_outbox_items` | gauge | `peer` | items waiting to be relayed to a peer broker |
//! | `trm_broker_peer_reachable` | gauge | `peer` | 1 unless the last relay attempt failed |
//! | `trm_broker_peer_failures` | gauge | `peer` | failed relay attempts in a row |
//! | `trm_broker_peer_retry_ceiling_seconds` | gauge | `peer` | the current retry ceiling |
//! | `trm_broker_peer_last_error` | gauge | `peer`, `error` | 1, with the kind of the last failure (`timed_out`, `unavailable`, `bad_answer`, ...) |
//! | `trm_broker_peer_batches_total` | counter | `peer` | batches the peer accepted |
//! | `trm_broker_peer_contacts_total` | counter | `peer` | calls the peer made to this broker |
//! | `trm_broker_relay_lease_held` | gauge | `peer` | 1 while this process holds the lease to relay to the peer (always 1 on the embedded store) |
//! | `trm_broker_store_writable` | gauge | | 1 while the store takes writes, 0 while it refuses them (unreachable, lost quorum, full disk) |
//! | `trm_broker_submissions_total` | counter | | envelopes accepted from nodes |
//! | `trm_broker_deliveries_total` | counter | | envelopes a node acknowledged |
//! | `trm_broker_refusals_total` | counter | `reason` | submissions refused, by reason |
//! | `trm_broker_store_commit_seconds` | histogram | | time to store a submission durably |
//! | `trm_broker_directory_version` | gauge | | the directory version in use |
//! | `trm_broker_directory_expiry_timestamp_seconds` | gauge | | when it expires (Unix time) |
//! | `trm_broker_certificate_expiry_timestamp_seconds` | gauge | | when this broker's TLS certificate expires |
//!
//! Counters start at zero when the broker starts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::warn;
use trm_storage::exposition::{self, Histogram, Kind, Page};

use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::relay;
use crate::state::{BrokerState, stopped};

/// What the request handlers count, read by the metrics page.
#[derive(Debug)]
pub struct Counters {
    submissions: AtomicU64,
    deliveries: AtomicU64,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
    commit: Histogram,
    /// Whether this process holds the relay lease, per peer (those it tried to take).
    leases: Mutex<BTreeMap<String, bool>>,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            submissions: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            refusals: Mutex::new(BTreeMap::new()),
            commit: Histogram::new(exposition::WRITE_SECONDS),
            leases: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Counters {
    /// A node's envelope was accepted.
    pub fn submitted(&self) {
        self.submissions.fetch_add(1, Ordering::Relaxed);
    }

    /// A node acknowledged an envelope delivered to it.
    pub fn delivered(&self) {
        self.deliveries.fetch_add(1, Ordering::Relaxed);
    }

    /// A node's submission was refused.
    pub fn refused(&self, error: &BrokerError) {
        let mut refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        *refusals.entry(reason(error)).or_default() += 1;
    }

    /// This process took (`true`) or lost (`false`) the lease to relay to `peer`.
    pub fn lease_held(&self, peer: &trm_proto::addr::BrokerName, held: bool) {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        leases.insert(peer.to_string(), held);
    }

    /// Whether this process holds the lease to relay to `peer`: `None` before it first tried.
    pub fn holds_lease(&self, peer: &trm_proto::addr::BrokerName) -> Option<bool> {
        let leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        leases.get(peer.as_str()).copied()
    }

    /// A submission's durable write took `took`.
    pub fn committed(&self, took: Duration) {
        self.commit.observe(took);
    }
}

/// A refusal's short, stable name for the `reason` label.
pub fn reason(error: &BrokerError) -> &'static str {
    use trm_proto::envelope::EnvelopeError;
    match error {
        BrokerError::NoClientCertificate => "no_client_certificate",
        BrokerError::UnknownCertificate { .. } => "unknown_certificate",
        BrokerError::NotHomedHere { .. } => "not_homed_here",
        BrokerError::NotANode(_) => "not_a_node",
        BrokerError::SenderMismatch { .. } => "sender_mismatch",
        BrokerError::Envelope(EnvelopeError::TooLarge { .. }) => "too_large",
        BrokerError::Envelope(EnvelopeError::BadSignature { .. }) => "bad_signature",
        BrokerError::Envelope(_) => "invalid_envelope",
        BrokerError::UnknownRecipient(_) | BrokerError::UnknownBroker { .. } => "unknown_recipient",
        BrokerError::Agreement(_) => "no_agreement",
        BrokerError::DirectoryExpired { .. } => "directory_expired",
        BrokerError::Expired { .. } => "expired",
        BrokerError::FromTheFuture { .. } | BrokerError::LivesTooLong { .. } => "bad_dates",
        BrokerError::MessageIdReused(_) => "message_id_reused",
        BrokerError::QuotaExceeded { .. } => "quota",
        BrokerError::DiskLow { .. } | BrokerError::DiskUnreadable { .. } => "disk",
        BrokerError::Store(_) => "store",
        _ => "other",
    }
}

/// Serves the metrics page if `[metrics] listen` is set, until the broker shuts down; the
/// bound address is logged and written to [`exposition::BOUND_ADDRESS_FILE`] in the data
/// folder.
pub async fn start(
    state: &Arc<BrokerState>,
    config: &BrokerConfig,
) -> Result<(), exposition::serve::ServeError> {
    let Some(addr) = config.metrics_listen else {
        return Ok(());
    };
    let listener = exposition::serve::start(addr, &config.data_dir).await?;
    let certificate_expiry = certificate_expiry(&config.tls_cert_pem);
    let page_state = state.clone();
    let stop_state = state.clone();
    let data_dir = config.data_dir.clone();
    state.spawn(async move {
        let mut shutdown = stop_state.shutdown_signal();
        exposition::serve(
            listener,
            move || {
                let state = page_state.clone();
                async move { page(&state, certificate_expiry).await }
            },
            async move { stopped(&mut shutdown).await },
        )
        .await;
        exposition::serve::forget(&data_dir);
    });
    Ok(())
}

/// When the first certificate in `pem` expires, Unix seconds.
fn certificate_expiry(pem: &str) -> Option<i64> {
    let parsed = x509_parser::pem::parse_x509_pem(pem.as_bytes());
    match parsed {
        Ok((_, pem)) => match pem.parse_x509() {
            Ok(certificate) => Some(certificate.validity().not_after.timestamp()),
            Err(e) => {
                warn!(cause = %e, "cannot read this broker's certificate expiry for the metrics");
                None
            }
        },
        Err(e) => {
            warn!(cause = %e, "cannot read this broker's certificate expiry for the metrics");
            None
        }
    }
}

/// The metrics page as it is now.
pub async fn page(state: &BrokerState, certificate_expiry: Option<i64>) -> String {
    let mut page = Page::default();
    let directory = state.directory.current();
    let mut homed: Vec<_> = directory
        .nodes()
        .filter(|node| node.address.broker() == state.name)
        .map(|node| node.address.clone())
        .collect();
    homed.sort();
    page.family(
        "trm_broker_queue_items",
        Kind::Gauge,
        "Items waiting for a node homed on this broker.",
    );
    for node in &homed {
        if let Ok(items) = state.store.queue_len(node).await {
            page.sample(
                "trm_broker_queue_items",
                &[("node", node.as_str())],
                items as f64,
            );
        }
    }
    let peers = relay::peers(&directory, &state.name);
    page.family(
        "trm_broker_outbox_items",
        Kind::Gauge,
        "Items waiting to be relayed to a peer broker.",
    );
    for peer in &peers {
        if let Ok(items) = state.store.outbox_len(peer).await {
            page.sample(
                "trm_broker_outbox_items",
                &[("peer", peer.as_str())],
                items as f64,
            );
        }
    }
    peer_families(&mut page, state, &peers);
    page.family(
        "trm_broker_relay_lease_held",
        Kind::Gauge,
        "1 while this process holds the lease to relay to the peer.",
    );
    for peer in &peers {
        let held = !state.store.shared() || state.metrics.holds_lease(peer) == Some(true);
        page.sample(
            "trm_broker_relay_lease_held",
            &[("peer", peer.as_str())],
            if held { 1.0 } else { 0.0 },
        );
    }
    let writable = state.store.writable().is_none_or(|w| *w.borrow());
    page.single(
        "trm_broker_store_writable",
        Kind::Gauge,
        "1 while the store takes writes, 0 while it refuses them.",
        if writable { 1.0 } else { 0.0 },
    );
    let counters = &state.metrics;
    page.single(
        "trm_broker_submissions_total",
        Kind::Counter,
        "Envelopes accepted from nodes since the broker started.",
        counters.submissions.load(Ordering::Relaxed) as f64,
    );
    page.single(
        "trm_broker_deliveries_total",
        Kind::Counter,
        "Envelopes nodes acknowledged since the broker started.",
        counters.deliveries.load(Ordering::Relaxed) as f64,
    );
    page.family(
        "trm_broker_refusals_total",
        Kind::Counter,
        "Submissions refused since the broker started, by reason.",
    );
    let refusals = counters
        .refusals
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for (reason, count) in refusals {
        page.sample(
            "trm_broker_refusals_total",
            &[("reason", reason)],
            count as f64,
        );
    }
    counters.commit.write(
        &mut page,
        "trm_broker_store_commit_seconds",
        "Time to store a submitted envelope durably.",
    );
    page.single(
        "trm_broker_directory_version",
        Kind::Gauge,
        "The federation directory version in use.",
        directory.version() as f64,
    );
    page.single(
        "trm_broker_directory_expiry_timestamp_seconds",
        Kind::Gauge,
        "When the directory in use expires, Unix time.",
        (directory.expires_at_ms() / 1000) as f64,
    );
    if let Some(expiry) = certificate_expiry {
        page.single(
            "trm_broker_certificate_expiry_timestamp_seconds",
            Kind::Gauge,
            "When this broker's TLS certificate expires, Unix time.",
            expiry as f64,
        );
    }
    page.finish()
}

/// A per-peer family: name, kind, help and how its value is read from the relay status.
type PeerFamily = (
    &'static str,
    Kind,
    &'static str,
    fn(&crate::link::RelayStatus) -> f64,
);

/// The relay state towards every peer broker.
fn peer_families(page: &mut Page, state: &BrokerState, peers: &[trm_proto::addr::BrokerName]) {
    let statuses: Vec<_> = peers
        .iter()
        .map(|peer| (peer.as_str(), state.relay_status(peer).unwrap_or_default()))
        .collect();
    let families: [PeerFamily; 5] = [
        (
            "trm_broker_peer_reachable",
            Kind::Gauge,
            "1 unless the last relay attempt to the peer failed.",
            |s| if s.failures == 0 { 1.0 } else { 0.0 },
        ),
        (
            "trm_broker_peer_failures",
            Kind::Gauge,
            "Failed relay attempts to the peer in a row.",
            |s| f64::from(s.failures),
        ),
        (
            "trm_broker_peer_retry_ceiling_seconds",
            Kind::Gauge,
            "The current retry ceiling towards the peer.",
            |s| s.ceiling.as_secs_f64(),
        ),
        (
            "trm_broker_peer_batches_total",
            Kind::Counter,
            "Relay batches the peer accepted since the broker started.",
            |s| s.batches as f64,
        ),
        (
            "trm_broker_peer_contacts_total",
            Kind::Counter,
            "Calls the peer made to this broker since the broker started.",
            |s| s.contacts as f64,
        ),
    ];
    for (name, kind, help, value) in families {
        page.family(name, kind, help);
        for (peer, status) in &statuses {
            page.sample(name, &[("peer", *peer)], value(status));
        }
    }
    page.family(
        "trm_broker_peer_last_error",
        Kind::Gauge,
        "1 for a peer whose last relay attempt failed, with the kind of failure.",
    );
    for (peer, status) in &statuses {
        if let Some(error) = status.last_error_kind.filter(|_| status.failures > 0) {
            page.sample(
                "trm_broker_peer_last_error",
                &[("peer", *peer), ("error", error)],
                1.0,
            );
        }
    }
}

/// The name of a gRPC status code in snake case (`unavailable`, `deadline_exceeded`, ...):
/// a fixed word, fit for a metric label.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}
