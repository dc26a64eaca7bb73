//! A broker serves only its own nodes: the node-facing calls (Submit, Deliver) are answered
//! only for nodes whose address is homed on this broker (`name@<this broker>`). A node homed
//! elsewhere is refused with PERMISSION_DENIED before anything is read, queued or signed, and
//! the refusal is logged at most once per node per [`LOG_INTERVAL`].
//!
//! Fetching the directory stays open to every node and broker the directory lists: the
//! directory is public within the federation, and a node must be able to compare its home
//! broker's copy with the other brokers' (see the node's `refresh` module).

use std::time::{Duration, Instant};

use tonic::Request;
use tracing::warn;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::Directory;

use crate::auth;
use crate::error::BrokerError;

/// How often a refusal of the same node is logged at most.
pub const LOG_INTERVAL: Duration = trm_tls::refusals::DEFAULT_INTERVAL;

/// Refused nodes, each logged at most once per [`LOG_INTERVAL`] (with the count left out).
pub type RefusalLog = trm_tls::Refusals<NodeAddr>;

/// `node` may use the node-facing calls of broker `here` only if it is homed on it.
pub fn check(node: &NodeAddr, here: &BrokerName) -> Result<(), BrokerError> {
    let home = node.broker();
    if &home == here {
        Ok(())
    } else {
        Err(BrokerError::NotHomedHere {
            node: node.clone(),
            home,
            here: here.clone(),
        })
    }
}

/// The directory-listed node that sent `request`, if it is homed on broker `here`; a refusal
/// of a node homed elsewhere is logged (at most once per node per [`LOG_INTERVAL`]).
pub fn own_node<T>(
    request: &Request<T>,
    directory: &Directory,
    here: &BrokerName,
    refusals: &RefusalLog,
) -> Result<NodeAddr, BrokerError> {
    let node = auth::node(request, directory)?;
    if let Err(e) = check(&node, here) {
        if let Some(suppressed) = refusals.admit(&node, Instant::now()) {
            warn!(node = %node, suppressed, cause = %e, "refused a node homed on another broker");
        }
        return Err(e);
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> NodeAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn only_nodes_homed_here_pass_and_the_refusal_names_both_brokers() {
        let at: BrokerName = addr("lefoe-ibf@at").broker();
        assert!(check(&addr("lefoe-ibf@at"), &at).is_ok());
        let refused = check(&addr("astra@rs"), &at).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err("astra@rs is homed on broker rs, not at".into())
        );
    }

    #[test]
    fn a_refused_node_is_logged_once_per_interval() {
        let log = RefusalLog::default();
        let (astra, atina) = (addr("astra@rs"), addr("atina@rs"));
        let start = Instant::now();
        assert_eq!(log.admit(&astra, start), Some(0));
        assert_eq!(log.admit(&astra, start + Duration::from_secs(1)), None);
        assert_eq!(log.admit(&atina, start + Duration::from_secs(1)), Some(0));
        assert_eq!(log.admit(&astra, start + LOG_INTERVAL), Some(1));
    }
}
