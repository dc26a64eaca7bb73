//! Keeping the federation directory current: every `directory_refresh_secs` (or at once when
//! [`BrokerState::refresh_now`] is notified) the broker re-reads its directory file and asks
//! every peer broker for theirs. Each candidate is verified against the pinned authority key,
//! the federation name and the current time, whoever served it, and offered to the
//! [`DirectoryHandle`](trm_proto::directory::DirectoryHandle): a newer version is adopted, an
//! older, expired, foreign or forged one is refused with a warning naming the reason.
//!
//! Adopting is: verify, keep the directory in the data folder ([`KEPT_DIRECTORY`], written
//! whole and synced), then put it in use. A newer directory that cannot be kept is not
//! adopted (the next refresh tries again), so the broker never uses a directory it would lose
//! at a restart. At start-up the broker uses the newer of its configured file and the kept
//! one ([`start_from_kept`]), so rolling the configured file back never rolls it back.
//!
//! TLS peer checks and signature keys always use the directory in use, so a revocation (a
//! directory without a node or broker) takes effect at the next refresh.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use prost::Message as _;
use tracing::{debug, info, warn};
use trm_proto::directory::{self, Directory, DirectoryError};
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;
use trm_storage::fs::WriteError;

use crate::state::{BrokerState, stopped};
use crate::{connect, relay};

/// How long asking one peer for its directory may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The file in the broker's data folder holding the newest adopted directory.
pub const KEPT_DIRECTORY: &str = "directory.pb";

/// Why a directory offered at a refresh was not adopted.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// It was refused: forged, foreign, expired, older, or a different one under the version
    /// in use.
    #[error(transparent)]
    Refused(#[from] DirectoryError),
    /// It is newer and valid but could not be kept on disk; the version in use stays, and the
    /// next refresh tries again.
    #[error("cannot keep the newer directory on disk, so it is not used yet: {0}")]
    Keep(#[from] WriteError),
}

/// Refreshes until the broker shuts down.
pub async fn run(state: Arc<BrokerState>) {
    let mut shutdown = state.shutdown_signal();
    loop {
        tokio::select! {
            () = tokio::time::sleep(state.federation.directory_refresh) => {}
            () = state.refresh_now.notified() => {}
            () = stopped(&mut shutdown) => return,
        }
        tokio::select! {
            _ = refresh(&state) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

/// What one refresh did.
#[derive(Debug, Default)]
pub struct RefreshReport {
    /// The version in use afterwards.
    pub version: u64,
    /// Candidates not adopted, with where they came from.
    pub refused: Vec<(String, AdoptError)>,
}

/// One refresh: the file, then every peer broker.
pub async fn refresh(state: &Arc<BrokerState>) -> RefreshReport {
    let mut report = RefreshReport::default();
    let settings = &state.federation;
    let (path, key, federation) = (
        settings.directory_file.clone(),
        settings.authority_key,
        settings.name.clone(),
    );
    let source = format!("file {}", settings.directory_file.display());
    match tokio::task::spawn_blocking(move || directory::load(&path, &key, &federation)).await {
        Ok(Ok(candidate)) => offer(state, candidate, source, &mut report).await,
        Ok(Err(e)) => refused(e.into(), source, &mut report),
        Err(e) => warn!(source, cause = %e, "directory file read did not finish"),
    }
    let current = state.directory.current();
    for peer in relay::peers(&current, &state.name) {
        let Some(info) = current.broker(&peer) else {
            continue;
        };
        let source = format!("broker {peer}");
        let channel = match state.link(&peer).channel(&info.endpoints, || {
            connect::channel(&state.federation.tls, info)
        }) {
            Ok(channel) => channel,
            Err(e) => {
                warn!(source, cause = %e, "cannot use peer endpoint");
                continue;
            }
        };
        let request = pb::FetchDirectoryRequest {
            known_version: current.version(),
        };
        let fetched = tokio::time::timeout(
            FETCH_TIMEOUT,
            BrokerClient::new(channel).fetch_directory(request),
        )
        .await;
        match fetched {
            Ok(Ok(response)) => match Directory::verify(
                response.into_inner(),
                &settings.authority_key,
                &settings.name,
                trm_proto::time::now_ms(),
            ) {
                Ok(candidate) => offer(state, candidate, source, &mut report).await,
                Err(e) => refused(e.into(), source, &mut report),
            },
            Ok(Err(status)) => {
                info!(source, cause = %status, "cannot fetch directory from peer");
            }
            Err(_) => info!(source, "fetching the directory from peer timed out"),
        }
    }
    report.version = state.directory.current().version();
    report
}

/// Offers a verified candidate (see [`adopt`]) and reports what happened.
async fn offer(
    state: &Arc<BrokerState>,
    candidate: Directory,
    source: String,
    report: &mut RefreshReport,
) {
    let version = candidate.version();
    let adopting = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || adopt(&state, candidate))
    };
    match adopting.await {
        Ok(Ok(true)) => {
            info!(version, source, "adopted federation directory");
            state.federation.tls.follow(state.directory.current());
            // A broker new in this version gets its relay task.
            relay::ensure_tasks(state, &state.directory.current());
        }
        Ok(Ok(false)) => debug!(version, source, "federation directory unchanged"),
        Ok(Err(e)) => refused(e, source, report),
        Err(e) => warn!(source, cause = %e, "adopting the directory did not finish"),
    }
}

fn refused(e: AdoptError, source: String, report: &mut RefreshReport) {
    warn!(source, reason = %e, "refused federation directory");
    report.refused.push((source, e));
}

/// Adopts a verified candidate if it is newer: keeps it on disk first (written whole and
/// synced), then puts it in use. `Ok(false)` if it is the version in use.
pub fn adopt(state: &BrokerState, candidate: Directory) -> Result<bool, AdoptError> {
    let _adopting = state.adoption();
    if candidate.version() > state.directory.current().version() {
        keep(&state.federation.kept_directory, &candidate)?;
    }
    Ok(state.directory.offer(candidate)?)
}

/// Writes `directory` to `path` whole and durably (public, but in the private data
/// folder, whose files are all 0600).
fn keep(path: &Path, directory: &Directory) -> Result<(), WriteError> {
    trm_storage::fs::write_atomically(
        path,
        &directory.signed().encode_to_vec(),
        trm_storage::fs::PRIVATE,
    )
}

/// At start-up: the newer of the `configured` directory and the one kept at `kept` from
/// before a restart (verified against `authority_key`, `federation` and the current time),
/// which is then kept in turn. A kept file that is missing, unreadable, forged or expired is
/// logged and the configured directory, verified already, is used.
pub fn start_from_kept(
    configured: Directory,
    kept: &Path,
    authority_key: &VerifyingKey,
    federation: &str,
) -> Directory {
    let path = kept.display().to_string();
    let previous = match kept.try_exists() {
        Ok(true) => match directory::load(kept, authority_key, federation) {
            Ok(previous) => Some(previous),
            Err(e) => {
                warn!(path, reason = %e, "kept federation directory not used");
                None
            }
        },
        Ok(false) => None,
        Err(e) => {
            warn!(path, cause = %e, "cannot look for the kept federation directory");
            None
        }
    };
    let kept_version = previous.as_ref().map(Directory::version);
    let (in_use, unchanged) = match previous {
        Some(previous) if previous.version() > configured.version() => {
            info!(
                version = previous.version(),
                configured = configured.version(),
                "starting from the federation directory adopted before the restart"
            );
            (previous, true)
        }
        Some(previous) => {
            let same = previous.signed() == configured.signed();
            (configured, same)
        }
        None => (configured, false),
    };
    if !unchanged && let Err(e) = keep(kept, &in_use) {
        warn!(
            path,
            version = in_use.version(),
            kept = ?kept_version,
            cause = %e,
            "cannot keep the federation directory in use"
        );
    }
    in_use
}
