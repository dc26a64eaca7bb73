//! The relay log's records: what happened to a message at this broker, from metadata alone.
//! One constructor, whatever the event.

use trm_proto::addr::BrokerName;
use trm_proto::envelope::Header;
use trm_proto::pb;

/// What a relay-log record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A local node submitted an envelope.
    Accepted,
    /// A peer broker handed over an envelope for a local node.
    ReceivedFromPeer,
    /// A peer broker took an envelope from this broker's outbox.
    Relayed,
    /// A peer broker refused an envelope for good.
    RelayRefused,
    /// A local node acknowledged an envelope with a DELIVERED receipt.
    Delivered,
    /// A local node acknowledged an envelope with a REJECTED receipt.
    Rejected,
    /// An envelope's delivery window ended while it waited here; its sender is told.
    Expired,
    /// A peer broker handed over a receipt for a local sender.
    ReceiptRouted,
    /// A peer broker took a receipt from this broker's outbox.
    ReceiptRelayed,
    /// A peer broker refused a receipt for good.
    ReceiptRefused,
}

impl Event {
    /// The name stored in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Accepted => "accepted",
            Event::ReceivedFromPeer => "received_from_peer",
            Event::Relayed => "relayed",
            Event::RelayRefused => "relay_refused",
            Event::Delivered => "delivered",
            Event::Rejected => "rejected",
            Event::Expired => "expired",
            Event::ReceiptRouted => "receipt_routed",
            Event::ReceiptRelayed => "receipt_relayed",
            Event::ReceiptRefused => "receipt_refused",
        }
    }
}

/// The message a record is about.
#[derive(Debug, Clone, Copy)]
pub enum About<'a> {
    /// An envelope, by its header and digest.
    Envelope(&'a Header, &'a [u8; 32]),
    /// The message a receipt attests (its kind is not in a receipt, so it is recorded as
    /// unspecified).
    Receipt(&'a pb::Receipt),
}

/// The relay-log record of `event` about a message at `now_ms`; `peer` names the other
/// broker, if any.
pub fn record(
    event: Event,
    about: About<'_>,
    peer: Option<&BrokerName>,
    now_ms: u64,
) -> pb::RelayRecord {
    let (message_id, from, to, kind, envelope_digest) = match about {
        About::Envelope(header, digest) => (
            header.message_id.to_string(),
            header.from.to_string(),
            header.to.to_string(),
            header.kind,
            digest.to_vec(),
        ),
        About::Receipt(receipt) => (
            receipt.message_id.clone(),
            receipt.from.clone(),
            receipt.to.clone(),
            pb::MessageKind::Unspecified,
            receipt.envelope_digest.clone(),
        ),
    };
    pb::RelayRecord {
        at_ms: now_ms,
        event: event.as_str().into(),
        message_id,
        from,
        to,
        kind: kind.into(),
        envelope_digest,
        peer: peer.map(ToString::to_string).unwrap_or_default(),
    }
}
