//! Waiting for a federation to reach a state, and searching its files: shared by the demo, the
//! case lifecycle and the integration tests.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;

/// Waits for `check` to hold, polling, for at most `limit`.
pub async fn wait_for<F, Fut>(limit: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("timed out after {limit:?} waiting for {what}")
}

/// Whether any file below `dir` contains `needle`.
pub fn tree_contains(dir: &Path, needle: &[u8]) -> anyhow::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let found = if path.is_dir() {
            tree_contains(&path, needle)?
        } else {
            let bytes = std::fs::read(&path)?;
            bytes.windows(needle.len()).any(|w| w == needle)
        };
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}
