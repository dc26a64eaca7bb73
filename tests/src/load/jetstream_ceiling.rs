//! The JetStream ceiling: the least a broker on JetStream must do for an envelope, the
//! counterpart of [`super::ceiling`] for the embedded engine. The same pre-sealed envelopes'
//! bytes are published to a stream of their own on the same cluster (file storage, as many
//! replicas as the broker's stream), each caller waiting for the publish acknowledgement (the
//! write on a quorum, fsynced) before its next, at the same concurrency as the broker's callers.
//! One message per envelope, no duplicate key, no batch, no gRPC or TLS hop: what is left is
//! the replicated durable write.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use prost::Message;
use tokio::task::JoinSet;
use trm_proto::pb;

/// The ceiling's stream, apart from the broker's.
const STREAM: &str = "TRM_LOAD_CEILING";
/// The subject its messages are published on.
const SUBJECT: &str = "trm-load.ceiling";
/// How long a cluster that has just started may take to place the stream.
const PLACE_WITHIN: Duration = Duration::from_secs(30);

/// Publishers on a JetStream cluster, with the ceiling's stream in place.
pub struct JetStreamCeiling {
    publishers: Vec<jetstream::Context>,
}

impl JetStreamCeiling {
    /// Connects `connections` clients to the cluster at `servers` and creates the ceiling's
    /// stream with `replicas` replicas on file storage.
    pub async fn connect(
        servers: &[String],
        replicas: usize,
        connections: usize,
    ) -> anyhow::Result<Self> {
        let mut publishers = Vec::new();
        for _ in 0..connections.max(1) {
            let client = async_nats::connect(servers)
                .await
                .context("connecting to the JetStream cluster")?;
            publishers.push(jetstream::new(client));
        }
        let config = stream::Config {
            name: STREAM.into(),
            subjects: vec![SUBJECT.into()],
            storage: stream::StorageType::File,
            num_replicas: replicas,
            max_message_size: 24 << 20,
            ..Default::default()
        };
        let context = publishers.first().context("no connection")?;
        let deadline = Instant::now() + PLACE_WITHIN;
        // A stream just created may have no leader yet: it is in place once a first message
        // (an empty one) is acknowledged.
        loop {
            let placed = async {
                context.get_or_create_stream(config.clone()).await?;
                context.publish(SUBJECT, Bytes::new()).await?.await?;
                anyhow::Ok(())
            };
            match placed.await {
                Ok(()) => break,
                Err(e) if Instant::now() >= deadline => {
                    bail!("the JetStream ceiling's stream could not be placed: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
        Ok(Self { publishers })
    }

    /// Publishes every envelope's bytes through `callers` concurrent callers spread over the
    /// connections, each waiting for its acknowledgement before its next; answers how long it
    /// took. Any refused publish ends the run.
    pub async fn publish_all(
        &self,
        envelopes: &[pb::Envelope],
        callers: usize,
    ) -> anyhow::Result<Duration> {
        let payloads: Arc<Vec<Bytes>> = Arc::new(
            envelopes
                .iter()
                .map(|e| Bytes::from(e.encode_to_vec()))
                .collect(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for caller in 0..callers.max(1) {
            let publisher = self
                .publishers
                .get(caller % self.publishers.len().max(1))
                .cloned()
                .context("no JetStream connection")?;
            let (next, payloads) = (next.clone(), payloads.clone());
            tasks.spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(payload) = payloads.get(n) else {
                        return anyhow::Ok(());
                    };
                    publisher
                        .publish(SUBJECT, payload.clone())
                        .await
                        .with_context(|| format!("publishing envelope {n}"))?
                        .await
                        .with_context(|| format!("the acknowledgement of envelope {n}"))?;
                }
            });
        }
        while let Some(result) = tasks.join_next().await {
            result??;
        }
        Ok(started.elapsed())
    }
}
