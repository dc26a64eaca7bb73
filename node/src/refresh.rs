//! Keeping the federation directory current: the node asks its home broker, then every other
//! broker the directory lists, for the signed directory, verifies each answer against the
//! pinned authority key, and adopts one only if it is a newer, unexpired version. Asking every
//! broker means no single broker can freeze the node on an old directory (and so keep a revoked
//! partner trusted). An adopted directory is written to the data folder so that a restart does
//! not fall back to an older one (which would undo a revocation). Some days before the
//! directory in use expires, every refresh warns.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::sync::watch;
use tonic::transport::Channel;
use tracing::{debug, info, warn};
use trm_proto::addr::BrokerName;
use trm_proto::directory::{BrokerInfo, Directory, DirectoryError};
use trm_proto::pb::broker_client::BrokerClient;
use trm_proto::{pb, time};

use crate::node::Node;

/// The file in the data folder holding the newest adopted directory.
pub const ADOPTED_DIRECTORY: &str = "directory.pb";

/// Why a refresh did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// A broker could not be asked.
    #[error("cannot fetch the directory from broker {broker}: {status}")]
    Fetch {
        /// The broker asked.
        broker: BrokerName,
        /// Its answer, or why there was none.
        status: tonic::Status,
    },
    /// No channel to a broker could be built from its directory entry.
    #[error("cannot reach broker {broker} at {}: {cause}", .endpoints.join(", "))]
    Dial {
        /// The broker.
        broker: BrokerName,
        /// Its endpoints in the directory.
        endpoints: Vec<String>,
        /// What was wrong.
        cause: String,
    },
    /// The offered directory was refused.
    #[error(transparent)]
    Refused(#[from] DirectoryError),
    /// The adopted directory could not be written.
    #[error("cannot store the adopted directory: {0}")]
    Store(#[from] std::io::Error),
}

/// Verifies `signed` and adopts it if newer; returns whether it was adopted.
pub fn offer(node: &Node, signed: pb::SignedDirectory) -> Result<bool, RefreshError> {
    let candidate = Directory::verify(
        signed,
        node.authority_key(),
        node.federation(),
        trm_proto::time::now_ms(),
    )?;
    let version = candidate.version();
    // Adoption and persistence happen under one lock, and a newer directory is written before
    // it is used: a restart never goes back behind a directory the node has acted on, and a
    // failed write leaves the older one in use, to be tried again at the next refresh.
    let _persisting = node.directory_persist();
    if version <= node.directory().current().version() {
        // Unchanged, older or a conflicting copy: `offer` says which.
        return Ok(node.directory().offer(candidate)?);
    }
    persist(node.data_dir(), &candidate.signed().encode_to_vec())?;
    node.directory().offer(candidate)?;
    node.follow_directory();
    info!(version, "adopted a newer federation directory");
    Ok(true)
}

/// Writes the adopted directory whole and durably (public, but in the private data
/// folder, whose files are all 0600).
fn persist(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    trm_storage::fs::write_atomically(
        &dir.join(ADOPTED_DIRECTORY),
        bytes,
        trm_storage::fs::PRIVATE,
    )?;
    Ok(())
}

/// At start-up: adopts the directory kept from before a restart if it is newer than the
/// configured file, then keeps whichever is in use, so that rolling the configured file back
/// never rolls the node back.
pub fn load_adopted(node: &Node) -> Result<(), RefreshError> {
    let path = node.data_dir().join(ADOPTED_DIRECTORY);
    let kept = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(bytes) = &kept {
        match pb::SignedDirectory::decode(bytes.as_slice()) {
            Ok(signed) => {
                if let Err(e) = offer(node, signed) {
                    debug!(cause = %e, "kept directory not used");
                }
            }
            Err(e) => warn!(path = %path.display(), cause = %e, "kept directory is unreadable"),
        }
    }
    let current = node.directory().current().signed().encode_to_vec();
    if kept.as_deref() != Some(current.as_slice()) {
        persist(node.data_dir(), &current)?;
    }
    Ok(())
}

/// How long asking one broker for the directory may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a channel to a broker from its directory entry.
pub type Dial =
    Arc<dyn Fn(&BrokerInfo) -> Result<Channel, crate::connect::ConnectError> + Send + Sync>;

/// Where directories come from: the home broker's channel, a way to reach the other brokers
/// the directory lists, and how long before expiry to warn.
#[derive(Clone)]
pub struct Sources {
    home: Channel,
    dial: Dial,
    warn_before: Duration,
    /// When a refresh asked for by a delivery (an unknown sender or agreement) last ran, shared
    /// by every clone.
    on_demand: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

/// How often a delivery from an unknown sender (or without an agreement) may make the node ask
/// every broker for a newer directory: the sender's name is not authenticated yet, so a broker
/// could otherwise make the node call the whole federation once per batch.
pub const ON_DEMAND_INTERVAL: Duration = Duration::from_secs(30);

impl Sources {
    /// Sources with the home broker's channel, `dial` for the others, warning `warn_before`
    /// the directory in use expires.
    pub fn new(home: Channel, dial: Dial, warn_before: Duration) -> Self {
        Self {
            home,
            dial,
            warn_before,
            on_demand: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// Whether a refresh asked for by a delivery may run at `now` (at most once per
    /// [`ON_DEMAND_INTERVAL`]); if so, it is counted as run.
    pub fn may_refresh_on_demand(&self, now: std::time::Instant) -> bool {
        let mut last = self
            .on_demand
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| now.saturating_duration_since(at) < ON_DEMAND_INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// The home broker's channel.
    pub fn home(&self) -> &Channel {
        &self.home
    }

    /// The warning due about `directory` at `now_ms`, if it expires within the warning period
    /// or has expired.
    pub fn expiry_warning(&self, directory: &Directory, now_ms: u64) -> Option<String> {
        expiry_warning(directory, now_ms, self.warn_before)
    }
}

/// What to tell people about the expiry of `directory` at `now_ms` when it is less than
/// `warn_before` away (or past).
pub fn expiry_warning(directory: &Directory, now_ms: u64, warn_before: Duration) -> Option<String> {
    let expires = directory.expires_at_ms();
    let version = directory.version();
    let at = time::format_ms(expires);
    if expires <= now_ms {
        return Some(format!(
            "federation directory version {version} expired at {at}: nothing is sent or received until a newer one is adopted; ask the federation authority to publish one"
        ));
    }
    let left = Duration::from_millis(expires - now_ms);
    (left <= warn_before).then(|| {
        format!(
            "federation directory version {version} expires at {at} (in {}): no broker has offered a newer one yet; sending and receiving stop when it expires",
            time_left(left)
        )
    })
}

/// A remaining time as people say it: whole days, else whole hours, else "less than an hour".
fn time_left(left: Duration) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match (left.as_secs() / 86_400, left.as_secs() / 3_600) {
        (0, 0) => "less than an hour".into(),
        (0, hours) => plural(hours, "hour"),
        (days, _) => plural(days, "day"),
    }
}

/// Asks `broker` over `channel` for its directory.
async fn fetch(
    broker: &BrokerName,
    channel: Channel,
    known_version: u64,
) -> Result<pb::SignedDirectory, RefreshError> {
    let failed = |status| RefreshError::Fetch {
        broker: broker.clone(),
        status,
    };
    let mut client = BrokerClient::new(channel);
    let call = client.fetch_directory(pb::FetchDirectoryRequest { known_version });
    crate::connect::within(FETCH_TIMEOUT, call)
        .await
        .map(tonic::Response::into_inner)
        .map_err(failed)
}

/// Asks the home broker, then every other broker the directory in use lists, and offers each
/// answer. Answers whether a newer directory was adopted; the error is the home broker's
/// (unreachable, or offering an older, forged or expired directory) when nothing was adopted.
/// The other brokers' failures are logged: an unreachable peer is routine.
pub async fn refresh_once(node: &Node, sources: &Sources) -> Result<bool, RefreshError> {
    let directory = node.directory().current();
    let known_version = directory.version();
    let home = node.address().broker();
    // Asked at the same time, so that unreachable brokers delay a refresh by one timeout only.
    let others = directory
        .brokers()
        .filter(|b| b.name != home)
        .map(|broker| async move {
            let answer = match (sources.dial)(broker) {
                Ok(channel) => fetch(&broker.name, channel, known_version).await,
                Err(e) => Err(RefreshError::Dial {
                    broker: broker.name.clone(),
                    endpoints: broker.endpoints.clone(),
                    cause: e.to_string(),
                }),
            };
            (broker.name.clone(), answer)
        });
    let (from_home, others) = tokio::join!(
        fetch(&home, sources.home.clone(), known_version),
        futures_util::future::join_all(others)
    );
    let from_home = from_home.and_then(|signed| offer(node, signed));
    let mut adopted = matches!(from_home, Ok(true));
    for (broker, answer) in others {
        match answer.and_then(|signed| offer(node, signed)) {
            Ok(true) => {
                info!(%broker, "adopted a newer directory from a broker other than the home broker");
                adopted = true;
            }
            Ok(false) => {}
            Err(e) => debug!(%broker, cause = %e, "directory not taken from this broker"),
        }
    }
    match from_home {
        Err(e) if !adopted => Err(e),
        Err(e) => {
            warn!(cause = %e, "the home broker did not offer the newest directory");
            Ok(true)
        }
        Ok(_) => Ok(adopted),
    }
}

/// Refreshes every `every` until `shutdown` turns true, warning before the directory expires.
pub async fn run(
    node: Arc<Node>,
    sources: Sources,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let directory = node.directory().current();
        if let Some(warning) = sources.expiry_warning(&directory, time::now_ms()) {
            warn!("{warning}");
        }
        if let Err(e) = crate::webhooks::causes::directory(&node, &directory, time::now_ms()).await
        {
            warn!(cause = %e, "cannot queue the directory's expiry notification");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = refresh_once(&node, &sources).await {
            warn!(cause = %e, "directory refresh failed; keeping the directory in use");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: u64 = 86_400_000;

    /// An empty directory, version 7, expiring at `expires_at_ms`.
    fn expiring_at(expires_at_ms: u64) -> Result<Directory, DirectoryError> {
        let authority = trm_proto::signing::generate_key();
        let signed = trm_proto::directory::sign(
            &pb::Directory {
                federation: "test".into(),
                version: 7,
                expires_at_ms,
                ..Default::default()
            },
            &authority,
        );
        Directory::verify(signed, &authority.verifying_key(), "test", 0)
    }

    #[tokio::test]
    async fn deliveries_ask_for_a_refresh_at_most_once_per_interval() {
        let home = tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
        let sources = Sources::new(
            home,
            Arc::new(|broker: &BrokerInfo| {
                Err(crate::connect::ConnectError::Endpoint {
                    endpoint: broker.endpoints.join(", "),
                    source: tonic::transport::Endpoint::from_shared("not a uri".to_owned())
                        .expect_err("an invalid uri"),
                })
            }),
            Duration::ZERO,
        );
        let start = std::time::Instant::now();
        assert!(sources.may_refresh_on_demand(start));
        assert!(!sources.may_refresh_on_demand(start + Duration::from_secs(1)));
        assert!(
            !sources.may_refresh_on_demand(start + ON_DEMAND_INTERVAL - Duration::from_millis(1))
        );
        assert!(sources.may_refresh_on_demand(start + ON_DEMAND_INTERVAL));
    }

    #[test]
    fn warns_within_the_period_and_says_when_it_has_expired() -> Result<(), DirectoryError> {
        let expires = 100 * DAY_MS;
        let directory = expiring_at(expires)?;
        let period = Duration::from_secs(14 * 86_400);
        assert_eq!(
            expiry_warning(&directory, expires - 15 * DAY_MS, period),
            None
        );
        assert_eq!(
            expiry_warning(&directory, expires - 2 * DAY_MS - 3_600_000, period),
            Some(
                "federation directory version 7 expires at 1970-04-11T00:00:00Z (in 2 days): no broker has offered a newer one yet; sending and receiving stop when it expires".into()
            )
        );
        assert_eq!(
            expiry_warning(&directory, expires, period),
            Some(
                "federation directory version 7 expired at 1970-04-11T00:00:00Z: nothing is sent or received until a newer one is adopted; ask the federation authority to publish one".into()
            )
        );
        assert_eq!(
            expiry_warning(&directory, expires - 1, Duration::ZERO),
            None
        );
        assert_eq!(time_left(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(time_left(Duration::from_secs(59)), "less than an hour");
        assert_eq!(time_left(Duration::from_secs(86_400)), "1 day");
        Ok(())
    }
}
