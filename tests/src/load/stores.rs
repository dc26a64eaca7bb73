//! The broker stores the load tool measures side by side: the embedded engine (the database
//! in the broker's data folder) and JetStream (a stream on a 3-server NATS cluster on
//! loopback, every write on a quorum of replicas and fsynced before it is acknowledged, as the
//! tests run it). Each scenario pass on JetStream starts a cluster of its own, so that its
//! stream starts empty as the embedded store does, and kills it when the pass ends.

use std::path::Path;

use anyhow::Context;
use trm_broker::config::store::{StoreFile, StoreKind};

use crate::nats::{self, NatsCluster};

/// Servers in the JetStream cluster, and replicas of the broker's stream.
pub const JETSTREAM_SERVERS: usize = 3;

/// A broker store to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Store {
    /// The embedded engine in the broker's data folder.
    Embedded,
    /// A stream on a NATS JetStream cluster.
    JetStream,
}

impl std::str::FromStr for Store {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "embedded" => Ok(Self::Embedded),
            "jetstream" => Ok(Self::JetStream),
            other => Err(format!(
                "unknown store {other:?}: use embedded or jetstream"
            )),
        }
    }
}

impl Store {
    /// What the rows measured on this store append to their key: nothing for the embedded
    /// engine (the keys the figures have always had), `-js` for JetStream.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Embedded => "",
            Self::JetStream => "-js",
        }
    }

    /// `key` as the row measured on this store is named.
    pub fn key(self, key: &str) -> String {
        format!("{key}{}", self.suffix())
    }

    /// The store's name, as `--stores` spells it (and its folder in a run).
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::JetStream => "jetstream",
        }
    }

    /// The store in words, for a row's description.
    pub fn words(self) -> String {
        match self {
            Self::Embedded => "embedded store".into(),
            Self::JetStream => format!(
                "JetStream store ({JETSTREAM_SERVERS} servers, {JETSTREAM_SERVERS} replicas, \
                 fsync always)"
            ),
        }
    }
}

/// Fails at once, saying how to get it, when a JetStream pass is asked for and nats-server
/// cannot be found: no pass is skipped for want of it, and none is run before it is known.
pub fn check_available(stores: &[Store]) -> anyhow::Result<()> {
    if stores.contains(&Store::JetStream) {
        nats::program().context(
            "--stores jetstream needs nats-server, which TRM_NATS_SERVER names (or leave \
             jetstream out of --stores)",
        )?;
    }
    Ok(())
}

/// A store set up for one scenario pass: the broker's `[store]` table, and the cluster it
/// names (killed when this is dropped).
pub struct StoreUnderTest {
    /// Which store.
    pub store: Store,
    /// The broker's `[store]` table.
    pub file: StoreFile,
    /// The JetStream cluster, for a JetStream pass.
    pub cluster: Option<NatsCluster>,
}

impl StoreUnderTest {
    /// Sets `store` up under `dir`: nothing for the embedded engine, a fresh cluster for
    /// JetStream (ready, with a meta leader, before this returns).
    pub async fn start(store: Store, dir: &Path) -> anyhow::Result<Self> {
        match store {
            Store::Embedded => Ok(Self {
                store,
                file: StoreFile::default(),
                cluster: None,
            }),
            Store::JetStream => {
                let cluster = NatsCluster::start(&dir.join("nats"), JETSTREAM_SERVERS)
                    .await
                    .context("starting the JetStream cluster")?;
                let file = StoreFile {
                    kind: StoreKind::JetStream,
                    servers: cluster.urls(),
                    replicas: JETSTREAM_SERVERS,
                    ..StoreFile::default()
                };
                Ok(Self {
                    store,
                    file,
                    cluster: Some(cluster),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_parse_and_name_their_rows() {
        assert_eq!("jetstream".parse::<Store>(), Ok(Store::JetStream));
        assert_eq!("embedded".parse::<Store>(), Ok(Store::Embedded));
        assert!("disk".parse::<Store>().is_err());
        assert_eq!(Store::Embedded.key("accept-8192"), "accept-8192");
        assert_eq!(Store::JetStream.key("accept-8192"), "accept-8192-js");
    }
}
