//! The kill fault: SIGKILL of one broker or one node, mid-work (no shutdown, no flush), and the
//! same program started again on the same store after a pause.

use std::time::Duration;

use super::cluster::Cluster;

/// Kills broker `name`, waits `pause`, starts it again.
pub async fn broker(cluster: &mut Cluster, name: &str, pause: Duration) -> anyhow::Result<()> {
    cluster.kill_broker(name)?;
    tokio::time::sleep(pause).await;
    cluster.start_broker(name).await
}

/// Kills node `address`, waits `pause`, starts it again.
pub async fn node(cluster: &mut Cluster, address: &str, pause: Duration) -> anyhow::Result<()> {
    cluster.kill_node(address)?;
    tokio::time::sleep(pause).await;
    cluster.start_node(address).await
}
