//! Log entries for tests, shared by this crate's tests and the node's (feature `fixtures`).

use trm_proto::pb;

/// The `n`th entry of a made-up log: a referral sent to `astra@rs`, one of three cases, a
/// child's case every second entry; index and previous hash are left for the caller to chain.
pub fn sample(n: u64) -> pb::LogEntry {
    pb::LogEntry {
        at_ms: 1_700_000_000_000 + n,
        event: pb::LogEvent::Sent.into(),
        message_id: format!("msg-{n:04}"),
        counterparty: "astra@rs".into(),
        kind: pb::MessageKind::Referral.into(),
        case_ref: format!("case-{}", n % 3),
        envelope_digest: vec![n as u8; 32],
        flags: Some(pb::AuditFlags {
            consent_given: true,
            child: n.is_multiple_of(2),
            ..Default::default()
        }),
        actor: "node".into(),
        ..Default::default()
    }
}
