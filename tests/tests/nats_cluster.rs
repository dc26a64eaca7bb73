//! The JetStream cluster the broker's store runs on in tests: three real `nats-server`
//! processes on loopback keep taking replicated writes with one of them killed, refuse writes
//! with two killed, and take them again on the same client connection once both are back, with
//! every acknowledged write still there.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use trm_tests::nats::NatsCluster;

/// Publishes `payload` and returns the stream sequence JetStream acknowledged it at.
async fn publish(js: &jetstream::Context, payload: &'static str) -> anyhow::Result<u64> {
    let ack = js
        .publish("probe.one", payload.into())
        .await
        .map_err(|e| anyhow::anyhow!("publish: {e}"))?
        .await
        .map_err(|e| anyhow::anyhow!("acknowledgement: {e}"))?;
    Ok(ack.sequence)
}

/// [`publish`] until it is acknowledged (a leader election, or a new stream reaching every
/// server, takes a moment), for at most 30 s.
async fn retried(js: &jetstream::Context, payload: &'static str) -> anyhow::Result<u64> {
    let mut last = None;
    for _ in 0..60 {
        match publish(js, payload).await {
            Ok(sequence) => return Ok(sequence),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("never tried")))
}

#[tokio::test]
async fn writes_go_on_with_one_server_down_stop_with_two_and_resume_when_they_return()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cluster = NatsCluster::start(dir.path(), 3).await?;
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(cluster.urls())
        .await?;
    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_secs(2));
    js.create_stream(stream::Config {
        name: "PROBE".into(),
        subjects: vec!["probe.>".into()],
        num_replicas: 3,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    // The stream is created through one server; the one this client publishes through may
    // learn of it a moment later ("no stream found for given subject").
    let mut acknowledged = vec![(retried(&js, "all three").await?, "all three")];

    cluster.kill(0)?;
    // Two of three are a quorum: the write is taken (after a leader election, if the killed
    // server led the stream).
    acknowledged.push((retried(&js, "two of three").await?, "two of three"));

    cluster.kill(1)?;
    let refused = publish(&js, "one of three").await;
    assert!(
        refused.is_err(),
        "one server of three acknowledged a write: {refused:?}"
    );

    cluster.restart(0)?;
    cluster.restart(1)?;
    cluster.ready_all().await?;
    acknowledged.push((retried(&js, "back to three").await?, "back to three"));

    // Every acknowledged write is there, at the sequence it was acknowledged at.
    let stream = js.get_stream("PROBE").await?;
    for (sequence, payload) in acknowledged {
        let message = stream.get_raw_message(sequence).await?;
        assert_eq!(
            message.payload.as_ref(),
            payload.as_bytes(),
            "sequence {sequence}"
        );
    }
    Ok(())
}
