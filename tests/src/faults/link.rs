//! The link fault: the proxy in front of a broker, through which its peer reaches it, resets,
//! blackholes or holds the traffic for a while, then passes it again.

use std::net::SocketAddr;
use std::time::Duration;

use crate::proxy::{LinkProxy, Mode};

/// What a link fault does to the traffic.
pub const MODES: [(Mode, &str); 3] = [
    (Mode::Reset, "link reset"),
    (Mode::Blackhole, "link blackhole"),
    (Mode::Hold, "link hold"),
];

/// One broker's inbound link from its peer.
pub struct Link(LinkProxy);

impl Link {
    /// A proxy forwarding to the broker listening on `target`.
    pub async fn start(target: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self(LinkProxy::start(target).await?))
    }

    /// The endpoint the directory names for the broker behind this link.
    pub fn endpoint(&self) -> String {
        self.0.endpoint()
    }

    /// Passes the traffic again.
    pub fn heal(&self) {
        self.0.set(Mode::Pass);
    }
}

/// Puts `mode` on every link (both directions between the brokers) for `hold`, then heals them.
pub async fn cut<'a>(links: impl Iterator<Item = &'a Link> + Clone, mode: Mode, hold: Duration) {
    for link in links.clone() {
        link.0.set(mode);
    }
    tokio::time::sleep(hold).await;
    for link in links {
        link.heal();
    }
}
