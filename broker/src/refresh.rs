//! Keeping the federation directory current: every `directory_refresh_secs` (or at once when
//! [`BrokerState::refresh_now`] is notified) the broker re-reads its directory file and asks
//! every peer broker for theirs. Each candidate is verified against the pinned authority key,
//! the federation name and the current time, whoever served it, and offered to the
//! [`DirectoryHandle`](trm_proto::directory::DirectoryHandle): a newer version is adopted, an
//! older, expired, foreign or forged one is refused with a warning naming the reason.
//!
//! TLS peer checks and signature keys always use the directory in use, so a revocation (a
//! directory without a node or broker) takes effect at the next refresh.

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};
use trm_proto::directory::{self, Directory, DirectoryError};
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;

use crate::state::{BrokerState, stopped};
use crate::{connect, relay};

/// How long asking one peer for its directory may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Candidates refused, with where they came from.
    pub refused: Vec<(String, DirectoryError)>,
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
        Ok(Ok(candidate)) => offer(state, candidate, source, &mut report),
        Ok(Err(e)) => refused(e, source, &mut report),
        Err(e) => warn!(source, cause = %e, "directory file read did not finish"),
    }
    let current = state.directory.current();
    for peer in relay::peers(&current, &state.name) {
        let Some(info) = current.broker(&peer) else {
            continue;
        };
        let source = format!("broker {peer}");
        let channel = match state.link(&peer).channel(&info.endpoint, || {
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
                Ok(candidate) => offer(state, candidate, source, &mut report),
                Err(e) => refused(e, source, &mut report),
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

/// Offers a verified candidate to the handle and reports what happened.
fn offer(
    state: &Arc<BrokerState>,
    candidate: Directory,
    source: String,
    report: &mut RefreshReport,
) {
    let version = candidate.version();
    match state.directory.offer(candidate) {
        Ok(true) => {
            info!(version, source, "adopted federation directory");
            state.federation.tls.follow(state.directory.current());
            // A broker new in this version gets its relay task.
            relay::ensure_tasks(state, &state.directory.current());
        }
        Ok(false) => debug!(version, source, "federation directory unchanged"),
        Err(e) => refused(e, source, report),
    }
}

fn refused(e: DirectoryError, source: String, report: &mut RefreshReport) {
    warn!(source, reason = %e, "refused federation directory");
    report.refused.push((source, e));
}
