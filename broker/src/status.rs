//! `trm-broker status`: the running broker's metrics page ([`crate::metrics`]) read back and
//! written for a person: the directory and certificate expiry, what waits for each node and
//! each peer broker, which peers are unreachable and why, and the counts since the start.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use trm_storage::exposition::{BOUND_ADDRESS_FILE, Sample};

use crate::config::BrokerConfigFile;

/// Why the status could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The configuration file could not be read.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The broker serves no metrics page.
    #[error(
        "the broker serves no metrics: set `listen = \"127.0.0.1:9464\"` in the `[metrics]` \
         table of {0} and restart it"
    )]
    MetricsOff(String),
    /// The metrics port is chosen at start (port 0) and no running broker wrote it.
    #[error("the broker is not running: it has written no metrics address to {0}")]
    NotRunning(String),
    /// The metrics page did not answer.
    #[error("cannot read the broker's metrics at {addr} (is the broker running?): {cause}")]
    Unreachable {
        /// Where it was asked.
        addr: SocketAddr,
        /// What went wrong.
        cause: std::io::Error,
    },
}

/// Where the broker configured at `config_path` serves its metrics: the configured address,
/// or, for port 0, the address the running broker wrote (removed when it stops).
pub fn metrics_address(config_path: &Path) -> Result<SocketAddr, StatusError> {
    let file = BrokerConfigFile::load(config_path)?;
    let configured = file.metrics.validate().map_err(crate::ConfigError::from)?;
    if let Some(addr) = configured.filter(|addr| addr.port() != 0) {
        return Ok(addr);
    }
    let written = file.data_dir.join(BOUND_ADDRESS_FILE);
    match configured {
        None => Err(StatusError::MetricsOff(config_path.display().to_string())),
        Some(_) => std::fs::read_to_string(&written)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| StatusError::NotRunning(written.display().to_string())),
    }
}

/// Reads the metrics page of the broker configured at `config_path` and writes it for a person.
pub async fn status(config_path: &Path) -> Result<String, StatusError> {
    let addr = metrics_address(config_path)?;
    let page = trm_storage::exposition::fetch(addr)
        .await
        .map_err(|cause| StatusError::Unreachable { addr, cause })?;
    Ok(render(
        &trm_storage::exposition::parse(&page),
        trm_proto::time::now_ms(),
    ))
}

/// The samples of a metrics page, for a person, as of `now_ms`.
pub fn render(samples: &[Sample], now_ms: u64) -> String {
    let mut out = String::new();
    let value = |name: &str| samples.iter().find(|s| s.name == name).map(|s| s.value);
    let labelled = |name: &str, label: &str| -> Vec<(String, f64)> {
        samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| Some((s.label(label)?.to_owned(), s.value)))
            .collect()
    };
    if let Some(version) = value("trm_broker_directory_version") {
        let _ = write!(out, "Federation directory: version {version}");
        if let Some(expiry) = value("trm_broker_directory_expiry_timestamp_seconds") {
            let _ = write!(out, ", {}", expiry_words(expiry, now_ms));
        }
        out.push('\n');
    }
    if let Some(expiry) = value("trm_broker_certificate_expiry_timestamp_seconds") {
        let _ = writeln!(out, "TLS certificate: {}", expiry_words(expiry, now_ms));
    }
    if let Some(writable) = value("trm_broker_store_writable") {
        let words = if writable > 0.0 {
            "takes writes"
        } else {
            "REFUSES WRITES (unreachable, lost quorum or full disk): submissions are refused with UNAVAILABLE until it recovers"
        };
        let _ = writeln!(out, "Store: {words}");
    }
    let queues = labelled("trm_broker_queue_items", "node");
    let _ = writeln!(out, "\nWaiting for nodes homed here:");
    if queues.is_empty() {
        let _ = writeln!(out, "  (no nodes homed here)");
    }
    for (node, items) in &queues {
        let _ = writeln!(out, "  {node:<32} {}", items_words(*items));
    }
    let outboxes = labelled("trm_broker_outbox_items", "peer");
    let reachable = labelled("trm_broker_peer_reachable", "peer");
    let failures = labelled("trm_broker_peer_failures", "peer");
    let ceilings = labelled("trm_broker_peer_retry_ceiling_seconds", "peer");
    let leases = labelled("trm_broker_relay_lease_held", "peer");
    let _ = writeln!(out, "\nPeer brokers:");
    if outboxes.is_empty() {
        let _ = writeln!(out, "  (no other brokers in the directory)");
    }
    let find =
        |list: &[(String, f64)], peer: &str| list.iter().find(|(p, _)| p == peer).map(|(_, v)| *v);
    for (peer, items) in &outboxes {
        let up = find(&reachable, peer).unwrap_or(1.0) > 0.0;
        let state = if up { "reachable" } else { "UNREACHABLE" };
        let _ = writeln!(
            out,
            "  {peer:<12} {state:<12} {} to relay",
            items_words(*items)
        );
        if find(&leases, peer) == Some(0.0) {
            let _ = writeln!(
                out,
                "               relayed by another process of this broker (it holds the lease)"
            );
        }
        if !up {
            let failed = find(&failures, peer).unwrap_or(0.0);
            let ceiling = find(&ceilings, peer).unwrap_or(0.0);
            let _ = writeln!(
                out,
                "               {failed} failed attempts in a row; next try within {ceiling:.1} s"
            );
        }
        let error = samples.iter().find(|s| {
            s.name == "trm_broker_peer_last_error" && s.label("peer") == Some(peer.as_str())
        });
        if let Some(error) = error.and_then(|s| s.label("error")) {
            let _ = writeln!(out, "               last error: {}", shown(error));
        }
    }
    let _ = writeln!(out, "\nSince the broker started:");
    let count = |name: &str| value(name).unwrap_or(0.0);
    let _ = writeln!(
        out,
        "  {} envelopes accepted, {} delivered",
        count("trm_broker_submissions_total"),
        count("trm_broker_deliveries_total")
    );
    let refusals = labelled("trm_broker_refusals_total", "reason");
    let refused: f64 = refusals.iter().map(|(_, n)| n).sum();
    let _ = write!(out, "  {refused} submissions refused");
    if !refusals.is_empty() {
        let reasons: Vec<String> = refusals.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        let _ = write!(out, " ({})", reasons.join(", "));
    }
    out.push('\n');
    let commits = count("trm_broker_store_commit_seconds_count");
    if commits > 0.0 {
        let average = count("trm_broker_store_commit_seconds_sum") / commits * 1000.0;
        let _ = writeln!(
            out,
            "  storing a submission took {average:.1} ms on average"
        );
    }
    out
}

fn items_words(items: f64) -> String {
    if (items - 1.0).abs() < f64::EPSILON {
        "1 item".into()
    } else {
        format!("{items} items")
    }
}

/// "expires 2026-12-31T10:00:00Z (in 30 days)" or "EXPIRED at ...".
fn expiry_words(expiry_seconds: f64, now_ms: u64) -> String {
    let expiry_ms = (expiry_seconds.max(0.0) as u64).saturating_mul(1000);
    let when = trm_proto::time::format_ms(expiry_ms);
    if expiry_ms <= now_ms {
        return format!("EXPIRED at {when}");
    }
    let days = (expiry_ms - now_ms) / 86_400_000;
    let hours = (expiry_ms - now_ms) / 3_600_000;
    if days >= 2 {
        format!("expires {when} (in {days} days)")
    } else {
        format!("expires {when} (in {hours} hours)")
    }
}

/// A value read from the page, fit for a terminal: control characters (ESC, CR, ...) dropped,
/// clipped to a few dozen characters.
/// A fixed word (as this broker writes) is shown as it is.
fn shown(text: &str) -> String {
    let word = text.len() <= trm_proto::clip::QUOTED_CHARS
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if word {
        return text.to_owned();
    }
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    trm_proto::clip::quoted(&clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_reads_queues_unreachable_peers_with_their_error_and_refusals() {
        let page = "\
trm_broker_queue_items{node=\"astra@at\"} 3
trm_broker_outbox_items{peer=\"rs\"} 5
trm_broker_outbox_items{peer=\"mk\"} 0
trm_broker_peer_reachable{peer=\"rs\"} 0
trm_broker_peer_reachable{peer=\"mk\"} 1
trm_broker_peer_failures{peer=\"rs\"} 4
trm_broker_peer_retry_ceiling_seconds{peer=\"rs\"} 8
trm_broker_peer_last_error{peer=\"rs\",error=\"unavailable\"} 1
trm_broker_submissions_total 40
trm_broker_deliveries_total 38
trm_broker_refusals_total{reason=\"quota\"} 2
trm_broker_directory_version 7
trm_broker_directory_expiry_timestamp_seconds 864000
trm_broker_store_writable 0
trm_broker_relay_lease_held{peer=\"rs\"} 1
trm_broker_relay_lease_held{peer=\"mk\"} 0
";
        let text = render(&trm_storage::exposition::parse(page), 0);
        assert!(
            text.contains(
                "Federation directory: version 7, expires 1970-01-11T00:00:00Z (in 10 days)"
            ),
            "{text}"
        );
        assert!(text.contains("astra@at"), "{text}");
        assert!(text.contains("3 items"), "{text}");
        assert!(
            text.contains("rs           UNREACHABLE  5 items to relay"),
            "{text}"
        );
        assert!(
            text.contains("4 failed attempts in a row; next try within 8.0 s"),
            "{text}"
        );
        assert!(text.contains("last error: unavailable\n"), "{text}");
        assert!(
            text.contains("mk           reachable    0 items to relay"),
            "{text}"
        );
        assert!(
            text.contains("40 envelopes accepted, 38 delivered"),
            "{text}"
        );
        assert!(text.contains("2 submissions refused (quota: 2)"), "{text}");
        assert!(text.contains("Store: REFUSES WRITES"), "{text}");
        let mk = text
            .split("mk           reachable")
            .nth(1)
            .unwrap_or_default();
        assert!(
            mk.contains("relayed by another process of this broker"),
            "{text}"
        );
        let rs = text
            .split("mk           reachable")
            .next()
            .unwrap_or_default();
        assert!(!rs.contains("relayed by another process"), "{text}");
        let expired = render(&trm_storage::exposition::parse(page), 900_000_000);
        assert!(
            expired.contains("EXPIRED at 1970-01-11T00:00:00Z"),
            "{expired}"
        );
    }

    #[test]
    fn a_last_error_with_control_characters_and_10_kb_is_shown_clipped_and_clean() {
        let long = format!("x\u{1b}[31mred\rforged{}", "y".repeat(10_000));
        let page = format!(
            "trm_broker_outbox_items{{peer=\"rs\"}} 1\n\
             trm_broker_peer_reachable{{peer=\"rs\"}} 0\n\
             trm_broker_peer_last_error{{peer=\"rs\",error=\"{long}\"}} 1\n"
        );
        let text = render(&trm_storage::exposition::parse(&page), 0);
        let line = text
            .lines()
            .find(|l| l.contains("last error:"))
            .unwrap_or_default();
        assert!(line.contains("x[31mredforgedyyy"), "{line}");
        assert!(line.len() < 200, "{line}");
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text}");
    }
}
