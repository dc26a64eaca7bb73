//! The broker store's suite (`trm_broker::store::suite`) on the JetStream engine, each check
//! against its own three-server cluster of real `nats-server` processes on loopback, streams
//! replicated three times. The same checks run on the embedded engine in the broker's unit
//! tests.

use std::sync::Arc;

use trm_broker::config::store::JetStreamSettings;
use trm_broker::store::suite::Engine;
use trm_broker::store::{BrokerStore, JetStreamStore, StoreFuture};
use trm_tests::nats::NatsCluster;

/// A cluster, and how the broker `at` reaches it.
struct JetStream {
    settings: JetStreamSettings,
    _cluster: NatsCluster,
    _dir: tempfile::TempDir,
}

impl JetStream {
    async fn start() -> anyhow::Result<JetStream> {
        let dir = tempfile::tempdir()?;
        let cluster = NatsCluster::start(dir.path(), 3).await?;
        Ok(JetStream {
            settings: JetStreamSettings {
                servers: cluster.urls(),
                replicas: 3,
                stream_prefix: "TRM".into(),
                tls_ca: None,
                tls_client: None,
                credentials: None,
            },
            _cluster: cluster,
            _dir: dir,
        })
    }
}

impl Engine for JetStream {
    fn open(&self) -> StoreFuture<'_, Arc<dyn BrokerStore>> {
        Box::pin(async move {
            let broker = "at"
                .parse()
                .map_err(|e| trm_broker::store::StoreError::Open(Box::new(e)))?;
            let store: Arc<dyn BrokerStore> =
                Arc::new(JetStreamStore::open(&self.settings, &broker).await?);
            Ok(store)
        })
    }
}

trm_broker::store_suite!(JetStream::start().await?);
