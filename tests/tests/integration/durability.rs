//! Crash safety: a broker process killed with SIGKILL right after acknowledging loses nothing.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::task::JoinSet;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};
use trm_tests::process::{self, BrokerProcess};
use trm_tests::{craft, raw};

/// Starts the real broker program on `config` and waits until it accepts connections.
async fn spawn_broker(config: &std::path::Path, addr: SocketAddr) -> anyhow::Result<BrokerProcess> {
    process::spawn_broker(
        std::path::Path::new(env!("CARGO_BIN_EXE_broker-process")),
        config,
        addr,
        Stdio::null(),
    )
    .await
}

#[tokio::test]
async fn envelopes_acknowledged_before_a_sigkill_are_delivered_after_restart() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let addr = fed.broker_addr(BROKER)?;
    let material = fed.federation.broker(BROKER).expect("broker").clone();
    let config = trm_dev::devfed::broker_config(
        &fed.federation,
        &material,
        addr,
        fed.broker_data_dir(BROKER),
    );
    let config_path = dir.path().join("broker.toml");
    std::fs::write(&config_path, toml::to_string(&config)?)?;

    let mut broker = spawn_broker(&config_path, addr).await?;
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let lefoe = fed.federation.node(LEFOE).expect("lefoe");
    let channel = raw::channel(
        addr,
        BROKER,
        &fed.federation.ca_pem,
        Some((&lefoe.cert_pem, &lefoe.key_pem)),
    )
    .await?;

    // Many submissions at once, so group commit batches them; every one is acknowledged.
    let mut submissions = JoinSet::new();
    for _ in 0..40 {
        let envelope = craft::sealed(&keys, &directory, &fixtures::referral(ASTRA)?)?;
        let mut client = raw::broker(channel.clone());
        submissions.spawn(async move { client.submit(envelope).await });
    }
    let mut acknowledged = Vec::new();
    while let Some(result) = submissions.join_next().await {
        let receipt = result??.into_inner();
        acknowledged.push(trm_proto::receipt::peek(&receipt)?.message_id);
    }
    broker.kill()?;

    let mut broker = spawn_broker(&config_path, addr).await?;
    fed.start_node(ASTRA).await?;
    let mut astra = fed.client(ASTRA).await?;
    trm_dev::wait::wait_for(
        Duration::from_secs(60),
        "every acknowledged envelope",
        || {
            let mut astra = astra.clone();
            let expected = acknowledged.len();
            async move { Ok(fixtures::inbox_ids(&mut astra).await?.len() >= expected) }
        },
    )
    .await?;
    let mut delivered = fixtures::inbox_ids(&mut astra).await?;
    delivered.sort();
    acknowledged.sort();
    assert_eq!(delivered, acknowledged);
    fed.shutdown().await?;
    broker.kill()?;
    Ok(())
}
