//! Where each piece of the broker's state lives in its stream `<prefix>_<broker>`: one subject
//! per queue, outbox and duplicate-table key under `trm.<prefix>.<broker>.s.`, so that a write
//! touching several of them is one atomic batch of one stream. The prefix is in the subjects
//! too, so that brokers of the same name in two federations can share a cluster (the tests do).
//!
//! | subject | payload |
//! |---|---|
//! | `q.<node>` | a `Delivery` (its sequence is the stream sequence, set on reading) |
//! | `qd.<node>.<seq>` | empty: the queue item was completed (create-only) |
//! | `o.<peer>` | a `RelayItem` |
//! | `od.<peer>.<seq>` | empty: the item left the live outbox (create-only) |
//! | `a.<peer>.<seq>` | a set-aside record ([`super::aside`]) |
//! | `d.<sender>.<message id>` | digest ‖ `SignedReceipt`: the duplicate table (create-only) |
//! | `log` | a `RelayRecord` |
//! | `pk.<node>` | the node's `PrekeySet` (the last one counts) |
//! | `probe` | empty: written every few seconds (every second while writes fail), to follow whether the cluster takes writes |
//!
//! Outside the stream, core NATS subjects under `trm.<prefix>.<broker>.w.` carry wake-ups
//! between the broker's processes (`w.q.<node>`, `w.o.<peer>`: something new waits there), and
//! the KV bucket `<prefix>_<broker>_leases` holds the relay leases.
//!
//! Node addresses, broker names and message ids are valid subject tokens as they are (labels
//! of letters, digits and `-`, one `@`; 32 hex digits).

use trm_proto::addr::{BrokerName, NodeAddr};

use crate::store::WakeUp;

/// The subjects of one broker's stream.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The stream's name, `<prefix>_<broker>`.
    pub stream: String,
    /// `trm.<prefix>.<broker>.s`.
    base: String,
    /// `trm.<prefix>.<broker>.w`: wake-ups, not stored.
    wake: String,
}

impl Layout {
    /// The layout of `broker`'s stream named with `prefix`.
    pub fn new(prefix: &str, broker: &BrokerName) -> Layout {
        Layout {
            stream: format!("{prefix}_{broker}"),
            base: format!("trm.{prefix}.{broker}.s"),
            wake: format!("trm.{prefix}.{broker}.w"),
        }
    }

    /// Every subject of the stream, `trm.<prefix>.<broker>.s.>`.
    pub fn all(&self) -> String {
        format!("{}.>", self.base)
    }

    /// A node's delivery queue.
    pub fn queue(&self, node: &NodeAddr) -> String {
        format!("{}.q.{node}", self.base)
    }

    /// Every delivery queue.
    pub fn queues(&self) -> String {
        format!("{}.q.*", self.base)
    }

    /// The marker of a completed queue item.
    pub fn queue_done(&self, node: &NodeAddr, sequence: u64) -> String {
        format!("{}.qd.{node}.{sequence}", self.base)
    }

    /// A peer broker's outbox.
    pub fn outbox(&self, peer: &BrokerName) -> String {
        format!("{}.o.{peer}", self.base)
    }

    /// Every outbox.
    pub fn outboxes(&self) -> String {
        format!("{}.o.*", self.base)
    }

    /// The marker of an item that left the live outbox.
    pub fn outbox_done(&self, peer: &BrokerName, sequence: u64) -> String {
        format!("{}.od.{peer}.{sequence}", self.base)
    }

    /// A set-aside item.
    pub fn aside(&self, peer: &BrokerName, sequence: u64) -> String {
        format!("{}.a.{peer}.{sequence}", self.base)
    }

    /// The set-aside items of one peer, or of every peer.
    pub fn asides(&self, peer: Option<&BrokerName>) -> String {
        match peer {
            Some(peer) => format!("{}.a.{peer}.*", self.base),
            None => format!("{}.a.*.*", self.base),
        }
    }

    /// A duplicate-table key.
    pub fn dedup(&self, sender: &NodeAddr, message_id: &str) -> String {
        format!("{}.d.{sender}.{message_id}", self.base)
    }

    /// The whole duplicate table.
    pub fn dedups(&self) -> String {
        format!("{}.d.*.*", self.base)
    }

    /// The relay log.
    pub fn log(&self) -> String {
        format!("{}.log", self.base)
    }

    /// The probe written now and then to follow whether the cluster takes writes.
    pub fn probe(&self) -> String {
        format!("{}.probe", self.base)
    }

    /// A node's prekey set.
    pub fn prekeys(&self, node: &NodeAddr) -> String {
        format!("{}.pk.{node}", self.base)
    }

    /// The KV bucket of the broker's leases, `<prefix>_<broker>_leases`.
    pub fn leases(&self) -> String {
        format!("{}_leases", self.stream)
    }

    /// The core NATS subject that announces `wake_up` to the broker's other processes.
    pub fn wake_up(&self, wake_up: &WakeUp) -> String {
        match wake_up {
            WakeUp::Node(node) => format!("{}.q.{node}", self.wake),
            WakeUp::Peer(peer) => format!("{}.o.{peer}", self.wake),
        }
    }

    /// Every wake-up subject, `trm.<prefix>.<broker>.w.>`.
    pub fn wake_ups(&self) -> String {
        format!("{}.>", self.wake)
    }

    /// The wake-up a subject from [`Layout::wake_up`] announces, if it is one.
    pub fn parse_wake_up(&self, subject: &str) -> Option<WakeUp> {
        let rest = subject
            .strip_prefix(self.wake.as_str())?
            .strip_prefix('.')?;
        if let Some(node) = rest.strip_prefix("q.") {
            return node.parse().ok().map(WakeUp::Node);
        }
        rest.strip_prefix("o.")?.parse().ok().map(WakeUp::Peer)
    }

    /// The token after `kind` in `subject` (`<base>.<kind>.<token>[.…]`), if it is one of them.
    pub fn token<'a>(&self, kind: &str, subject: &'a str) -> Option<&'a str> {
        subject
            .strip_prefix(self.base.as_str())?
            .strip_prefix('.')?
            .strip_prefix(kind)?
            .strip_prefix('.')?
            .split('.')
            .next()
    }

    /// The last token of `subject` as a sequence (`a.<peer>.<seq>`).
    pub fn last_sequence(subject: &str) -> Option<u64> {
        subject.rsplit('.').next()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_back_out_of_the_subjects_they_went_into()
    -> Result<(), Box<dyn std::error::Error>> {
        let layout = Layout::new("TRM", &"at".parse()?);
        let node: NodeAddr = "astra@at".parse()?;
        let peer: BrokerName = "rs".parse()?;
        assert_eq!(layout.stream, "TRM_at");
        assert_eq!(layout.queue(&node), "trm.TRM.at.s.q.astra@at");
        assert_eq!(layout.token("q", &layout.queue(&node)), Some("astra@at"));
        assert_eq!(layout.token("o", &layout.queue(&node)), None);
        let aside = layout.aside(&peer, 42);
        assert_eq!(layout.token("a", &aside), Some("rs"));
        assert_eq!(Layout::last_sequence(&aside), Some(42));
        assert_eq!(layout.token("q", "trm.TRM.other.s.q.astra@at"), None);
        assert_eq!(layout.token("q", "trm.T2.at.s.q.astra@at"), None);
        for wake_up in [WakeUp::Node(node.clone()), WakeUp::Peer(peer.clone())] {
            let subject = layout.wake_up(&wake_up);
            assert_eq!(layout.parse_wake_up(&subject), Some(wake_up));
        }
        assert_eq!(
            layout.wake_up(&WakeUp::Node(node)),
            "trm.TRM.at.w.q.astra@at"
        );
        assert_eq!(layout.parse_wake_up("trm.TRM.at.w.q.not an address"), None);
        assert_eq!(layout.parse_wake_up("trm.TRM.at.s.q.astra@at"), None);
        assert_eq!(layout.leases(), "TRM_at_leases");
        Ok(())
    }
}
