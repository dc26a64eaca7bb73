//! The bilateral cross-check between partners whose bundles are both present: a handover both
//! logged has the same envelope digest on both sides; a message the sender holds the
//! receiver's signed DELIVERED receipt for is in the receiver's log; a message the receiver
//! logged as received is in the sender's log.
//!
//! A log can only be expected to hold what happened before it was exported. A bundle's cover
//! time is the later of its export time and its last entry's time (an exporter cannot hide
//! entries it signed by claiming an early export). A DELIVERED receipt's time and the
//! receiver's export are by the receiver's clock, so that check is exact; the check of a
//! received message against the sender's log compares two nodes' clocks, and a message received
//! within the clocks' skew of the sender's export is not checked.
//!
//! Each node is cross-checked through its longest bundle.

use std::collections::HashMap;

use serde::Serialize;
use trm_proto::pb::LogEvent;

use super::bundle::{Opened, Record, Scan};
use super::{Counterpart, Finding, FindingKind};

/// What the cross-check matched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CrossSummary {
    /// Messages sent that the receiver logged with the same digest.
    pub matched: u64,
    /// Messages sent that the receiver has not logged and the sender has no DELIVERED receipt
    /// for: still in transit at export, or refused on the way.
    pub pending: u64,
}

/// One node's log as the cross-check sees it.
struct View<'a> {
    /// The node.
    node: &'a str,
    /// The bundle used.
    bundle: &'a str,
    /// Until when the log can be expected to be complete.
    cover_ms: u64,
    /// SENT records by (counterparty, message id).
    sent: HashMap<(&'a str, &'a str), &'a Record>,
    /// DELIVERED records by (counterparty, message id).
    delivered: HashMap<(&'a str, &'a str), &'a Record>,
    /// RECEIVED and REFUSED records by (counterparty, message id).
    received: HashMap<(&'a str, &'a str), &'a Record>,
    /// RECEIVED records, in log order.
    received_in_order: Vec<&'a Record>,
    /// SENT records, in log order.
    sent_in_order: Vec<&'a Record>,
}

impl<'a> View<'a> {
    fn new(bundle: &'a Opened, scan: &'a Scan) -> Self {
        let mut view = View {
            node: &bundle.node,
            bundle: &bundle.name,
            cover_ms: bundle.exported_at_ms.max(scan.last_at_ms),
            sent: HashMap::new(),
            delivered: HashMap::new(),
            received: HashMap::new(),
            received_in_order: Vec::new(),
            sent_in_order: Vec::new(),
        };
        for record in &scan.records {
            let key = (record.counterparty.as_str(), record.message_id.as_str());
            let map = match record.event {
                LogEvent::Sent => {
                    view.sent_in_order.push(record);
                    &mut view.sent
                }
                LogEvent::Delivered => &mut view.delivered,
                LogEvent::Received => {
                    view.received_in_order.push(record);
                    &mut view.received
                }
                LogEvent::Refused => &mut view.received,
                _ => continue,
            };
            map.entry(key).or_insert(record);
        }
        view
    }
}

/// Cross-checks every pair of nodes whose bundles are present.
pub fn check(bundles: &[Opened], scans: &[Scan]) -> (Vec<Finding>, CrossSummary) {
    let mut longest: HashMap<&str, (&Opened, &Scan)> = HashMap::new();
    for (bundle, scan) in bundles.iter().zip(scans) {
        let slot = longest.entry(&bundle.node).or_insert((bundle, scan));
        if bundle.entries.len() > slot.0.entries.len() {
            *slot = (bundle, scan);
        }
    }
    let views: HashMap<&str, View> = longest
        .into_iter()
        .map(|(node, (bundle, scan))| (node, View::new(bundle, scan)))
        .collect();
    let mut findings = Vec::new();
    let mut summary = CrossSummary::default();
    for sender in views.values() {
        for sent in &sender.sent_in_order {
            let Some(receiver) = views.get(sent.counterparty.as_str()) else {
                continue;
            };
            let key = (sender.node, sent.message_id.as_str());
            match receiver.received.get(&key) {
                Some(received) if received.digest != sent.digest => {
                    let mut finding = Finding::new(
                        FindingKind::DigestMismatch,
                        sender.node,
                        sender.bundle,
                        format!(
                            "entry {} records envelope digest {} for this message, but {} logged \
                             it as entry {} with digest {}: one of the two entries was rewritten",
                            sent.index,
                            hex::encode(&sent.digest),
                            receiver.node,
                            received.index,
                            hex::encode(&received.digest)
                        ),
                    )
                    .at(sent.index)
                    .message(Some(&sent.message_id));
                    finding.counterpart = Some(Counterpart {
                        node: receiver.node.to_owned(),
                        entry: received.index,
                    });
                    findings.push(finding);
                }
                Some(_) => summary.matched += 1,
                None => match sender
                    .delivered
                    .get(&(receiver.node, sent.message_id.as_str()))
                {
                    Some(delivered) if receiver.cover_ms >= delivered.at_ms => {
                        let mut finding = Finding::new(
                            FindingKind::MissingCounterpart,
                            receiver.node,
                            receiver.bundle,
                            format!(
                                "no RECEIVED entry for this message, though {} holds its signed \
                                 DELIVERED receipt (logged as entry {}) saying it was logged",
                                sender.node, delivered.index
                            ),
                        )
                        .message(Some(&sent.message_id));
                        finding.counterpart = Some(Counterpart {
                            node: sender.node.to_owned(),
                            entry: delivered.index,
                        });
                        findings.push(finding);
                    }
                    _ => summary.pending += 1,
                },
            }
        }
    }
    for receiver in views.values() {
        for received in &receiver.received_in_order {
            let Some(sender) = views.get(received.counterparty.as_str()) else {
                continue;
            };
            let key = (receiver.node, received.message_id.as_str());
            if sender.sent.contains_key(&key) || sender.cover_ms < received.at_ms {
                continue;
            }
            let mut finding = Finding::new(
                FindingKind::MissingCounterpart,
                sender.node,
                sender.bundle,
                format!(
                    "no SENT entry for this message, though {} logged receiving it from this node \
                     as entry {}",
                    receiver.node, received.index
                ),
            )
            .message(Some(&received.message_id));
            finding.counterpart = Some(Counterpart {
                node: receiver.node.to_owned(),
                entry: received.index,
            });
            findings.push(finding);
        }
    }
    (findings, summary)
}
