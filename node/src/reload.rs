//! Reloading without a restart: on SIGHUP (`systemctl reload trm-node`, or `kill -HUP <pid>`)
//! the node re-reads its configured directory file and adopts the directory in it under the
//! same rules as a refresh from the brokers ([`crate::refresh::offer`]: signed by the pinned
//! authority, for this federation, unexpired, newer than the one in use; kept in the data
//! folder before it is used). What a reload applies is listed in [`RELOADABLE`]; every other
//! key of `node.toml` takes effect at the next restart.

use std::path::PathBuf;
use std::sync::Arc;

use prost::Message as _;
use tokio::sync::watch;
use tracing::{info, warn};
use trm_proto::pb;

use crate::node::Node;

/// The configuration keys a reload applies, each with what it does; every other key of
/// `node.toml` needs a restart. (The configuration reference reads this list.)
pub const RELOADABLE: &[(&str, &str)] = &[(
    "directory",
    "the file is re-read; a newer, authority-signed directory is adopted (the path itself \
     needs a restart)",
)];

/// Why the directory file was not adopted at a reload.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file could not be read.
    #[error("cannot read the directory file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// The file is not a signed directory.
    #[error("the directory file {path} is not a signed directory: {source}")]
    Decode {
        /// The file.
        path: String,
        /// What did not decode.
        source: prost::DecodeError,
    },
    /// The directory was refused or could not be kept.
    #[error(transparent)]
    Refused(#[from] crate::refresh::RefreshError),
}

/// Reloads on every SIGHUP until `shutdown` turns true.
pub async fn on_hangup(
    node: Arc<Node>,
    directory_file: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut hangups = match trm_storage::daemon::hangups() {
        Ok(hangups) => hangups,
        Err(e) => {
            warn!(cause = %e, "cannot listen for SIGHUP: reloading needs a restart");
            return;
        }
    };
    loop {
        tokio::select! {
            heard = hangups.recv() => if heard.is_none() { return },
            _ = shutdown.changed() => return,
        }
        info!(directory = %directory_file.display(), "reloading on SIGHUP");
        let (node, path) = (node.clone(), directory_file.clone());
        match tokio::task::spawn_blocking(move || reload(&node, &path)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => info!("the directory file holds no newer directory"),
            Ok(Err(e)) => warn!(reason = %e, "directory not reloaded"),
            Err(e) => warn!(cause = %e, "reloading did not finish"),
        }
    }
}

/// Offers the directory in `path`: whether it was adopted.
pub fn reload(node: &Node, path: &std::path::Path) -> Result<bool, ReloadError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ReloadError::Read {
        path: shown.clone(),
        source,
    })?;
    let signed =
        pb::SignedDirectory::decode(bytes.as_slice()).map_err(|source| ReloadError::Decode {
            path: shown,
            source,
        })?;
    Ok(crate::refresh::offer(node, signed)?)
}
