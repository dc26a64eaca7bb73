//! The full-disk fault: a broker's store sits on its own small tmpfs, mounted by the tool (which
//! needs root, or the right to mount); a ballast file fills it to the last byte, stays a while,
//! and is deleted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// The name of the ballast file, in the store's folder.
const BALLAST: &str = "faults-ballast";

/// A tmpfs mounted on a folder; unmounted when dropped.
#[derive(Debug)]
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB on `path` (created if missing).
    pub fn mount(path: &Path, mib: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path)?;
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .context("cannot run mount")?;
        if !output.status.success() {
            bail!(
                "mount -t tmpfs on {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// Fills the filesystem with a ballast file for `hold`, then deletes it. Answers the bytes
    /// the ballast took.
    pub async fn fill_for(&self, hold: Duration) -> anyhow::Result<u64> {
        let ballast = self.path.join(BALLAST);
        let filled = tokio::task::spawn_blocking({
            let ballast = ballast.clone();
            move || fill(&ballast)
        })
        .await??;
        tokio::time::sleep(hold).await;
        std::fs::remove_file(&ballast)
            .with_context(|| format!("cannot delete {}", ballast.display()))?;
        Ok(filled)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a process still holding a file there lets go when it is killed.
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
    }
}

/// Writes `path` until the filesystem has no byte left; answers the bytes written.
fn fill(path: &Path) -> anyhow::Result<u64> {
    let mut file = std::fs::File::create(path)?;
    let mut written = 0u64;
    for block in [1 << 20, 4096, 1] {
        let bytes = vec![0u8; block];
        loop {
            match file.write(&bytes) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let _ = file.sync_all();
    Ok(written)
}
