//! The mark a restore leaves in the restored node's data folder, so that a restored copy does
//! not start next to the original by mistake: both would hold the same identity, talk to the
//! same broker and sign diverging handover logs. The daemon refuses to start while the mark is
//! there ([`check`]); `trm-node --config ... --take-over` removes it ([`take_over`]) once the
//! operator has stopped the original.

use std::path::{Path, PathBuf};

/// The mark's file name, in the data folder.
pub const FILE: &str = "RESTORED";

/// Why a restored node does not start.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// The data folder was restored from a backup and not taken over yet.
    #[error(
        "this node was restored from a backup ({said}) and is not started until you confirm: \
         stop the original node first (two nodes with one identity corrupt each other's \
         history), then run trm-node --config <node.toml> --take-over once. Partners' \
         witnessed checkpoints made after the backup will show a fork of the handover log"
    )]
    NotTakenOver {
        /// What the mark says (the backup's node and time).
        said: String,
    },
    /// The mark could not be read or removed.
    #[error("{path}: {source}")]
    Io {
        /// The mark.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The text of the mark for a backup of `node` taken at `taken_at_ms`.
pub fn text(node: &str, taken_at_ms: u64) -> String {
    format!(
        "backup of {node} taken {}\n",
        trm_proto::time::format_ms(taken_at_ms)
    )
}

/// Refuses to go on while `data_dir` holds the mark.
pub fn check(data_dir: &Path) -> Result<(), MarkerError> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(said) => Err(MarkerError::NotTakenOver {
            said: said.trim().to_owned(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(MarkerError::Io { path, source }),
    }
}

/// Removes the mark from `data_dir`; returns what it said, or `None` if there was none.
pub fn take_over(data_dir: &Path) -> Result<Option<String>, MarkerError> {
    let path = data_dir.join(FILE);
    let said = match std::fs::read_to_string(&path) {
        Ok(said) => said.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(MarkerError::Io { path, source }),
    };
    std::fs::remove_file(&path).map_err(|source| MarkerError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(Some(said))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_folder_is_refused_until_taken_over() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        check(dir.path())?;
        assert_eq!(take_over(dir.path())?, None);
        std::fs::write(dir.path().join(FILE), text("astra@rs", 1_700_000_000_000))?;
        let refused = check(dir.path())
            .err()
            .ok_or("a marked folder was accepted")?;
        let said = refused.to_string();
        assert!(
            said.contains("--take-over") && said.contains("astra@rs"),
            "{said}"
        );
        assert!(take_over(dir.path())?.is_some_and(|s| s.contains("astra@rs")));
        check(dir.path())?;
        Ok(())
    }
}
