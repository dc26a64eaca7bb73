//! The store's behaviour as one suite, run against every engine: the embedded one in this
//! crate's unit tests, the JetStream one against a real three-server cluster in
//! `tests/tests/store_jetstream.rs`. Each check is a function of an [`Engine`] that opens the
//! store (and opens the same state again, for a restart); [`crate::store_suite!`] makes one
//! test per check, so a new check runs on both engines by being added here once.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use prost::Message;
use trm_proto::addr::{BrokerName, MessageId, NodeAddr};
use trm_proto::envelope::{self, UnverifiedEnvelope, VerifiedEnvelope};
use trm_proto::pb;
use trm_proto::signing::{self, Purpose};

use super::{
    Accepted, Admission, BrokerStore, Destination, Lapsed, Queued, Route, StoreFuture, Usage,
    Waiting,
};

/// What a check returns.
pub type CheckResult = Result<(), Box<dyn std::error::Error>>;

/// An engine under test.
pub trait Engine: Sync {
    /// Opens the store; a later call opens the same state again, as a restarted broker would
    /// (the caller drops the store it had first).
    fn open(&self) -> StoreFuture<'_, Arc<dyn BrokerStore>>;
}

/// One test per check of the suite, each on the engine `$engine` evaluates to (inside the
/// test's async body, so it may `.await` and `?`).
#[macro_export]
macro_rules! store_suite {
    ($engine:expr) => {
        $crate::store_suite!(@check $engine, a_forgotten_message_id_cannot_be_replayed_because_the_replay_has_expired);
        $crate::store_suite!(@check $engine, relay_records_past_their_retention_are_removed_and_younger_ones_kept);
        $crate::store_suite!(@check $engine, an_envelope_is_stored_once_completed_once_and_survives_a_restart);
        $crate::store_suite!(@check $engine, a_delivery_stream_reads_only_what_it_has_not_sent);
        $crate::store_suite!(@check $engine, usage_counts_queues_and_peers_and_lapsed_finds_queues_and_outboxes);
        $crate::store_suite!(@check $engine, usage_follows_what_is_queued_and_delivered_past_one_read);
        $crate::store_suite!(@check $engine, a_prekey_set_replaces_the_one_before_and_survives_a_restart);
        $crate::store_suite!(@check $engine, an_outbox_item_set_aside_leaves_the_outbox_and_expires_from_there);
    };
    (@check $engine:expr, $name:ident) => {
        #[tokio::test]
        async fn $name() -> $crate::store::suite::CheckResult {
            let engine = $engine;
            $crate::store::suite::$name(&engine).await
        }
    };
}

/// A signed envelope from `lefoe-ibf@at` to `astra@at` that never expires.
pub fn envelope(
    key: &SigningKey,
    id: &MessageId,
    ciphertext: &[u8],
) -> Result<VerifiedEnvelope, Box<dyn std::error::Error>> {
    dated_envelope(key, id, ciphertext, 1, u64::MAX)
}

fn dated_envelope(
    key: &SigningKey,
    id: &MessageId,
    ciphertext: &[u8],
    created_at_ms: u64,
    expires_at_ms: u64,
) -> Result<VerifiedEnvelope, Box<dyn std::error::Error>> {
    let header = pb::EnvelopeHeader {
        protocol_version: trm_proto::PROTOCOL_VERSION,
        message_id: id.to_string(),
        from: "lefoe-ibf@at".into(),
        to: "astra@at".into(),
        created_at_ms,
        expires_at_ms,
        priority: pb::Priority::Routine.into(),
        kind: pb::MessageKind::Referral.into(),
        ciphertext_sha256: envelope::digest(ciphertext).to_vec(),
        recipient_key_id: String::new(),
    }
    .encode_to_vec();
    let raw = pb::Envelope {
        signature: signing::sign(key, Purpose::Envelope, &header),
        header,
        ciphertext: ciphertext.to_vec(),
    };
    Ok(UnverifiedEnvelope::parse(raw, 1 << 20)?.verify(&[key.verifying_key()])?)
}

/// The admission of `envelope` to its recipient's queue, answered with `receipt`.
pub fn admission(envelope: VerifiedEnvelope, receipt: &str) -> Admission {
    Admission {
        destination: Destination::Local(envelope.header().to.clone()),
        envelope,
        receipt: pb::SignedReceipt {
            receipt: receipt.as_bytes().to_vec(),
            ..Default::default()
        },
        record: pb::RelayRecord {
            event: "accepted".into(),
            ..Default::default()
        },
    }
}

/// An admission whose receipt says the broker accepted it at `at_ms`.
fn accepted_at(envelope: VerifiedEnvelope, at_ms: u64) -> Admission {
    let mut admission = admission(envelope, "");
    admission.receipt.receipt = pb::Receipt {
        at_ms,
        ..Default::default()
    }
    .encode_to_vec();
    admission
}

fn sequences(items: &[Queued]) -> Vec<u64> {
    items.iter().map(|item| item.sequence).collect()
}

/// The duplicate table forgets only what can no longer be admitted.
pub async fn a_forgotten_message_id_cannot_be_replayed_because_the_replay_has_expired(
    engine: &dyn Engine,
) -> CheckResult {
    let store = engine.open().await?;
    let key = signing::generate_key();
    let now = 1_800_000_000_000;
    // The latest dates any broker admits at `now`: created as far ahead as the skew allows,
    // living as long as the federation allows.
    let created = now + trm_proto::time::MAX_CLOCK_SKEW_MS;
    let expires = created + trm_proto::time::MAX_ENVELOPE_LIFETIME_MS;
    let (old_id, new_id) = (MessageId::random(), MessageId::random());
    let old = dated_envelope(&key, &old_id, b"old", created, expires)?;
    crate::admit::check_window(old.header(), now)?;
    store.accept(accepted_at(old.clone(), now)).await?;
    let young = dated_envelope(&key, &new_id, b"new", created, expires)?;
    store.accept(accepted_at(young, now + 1)).await?;

    assert_eq!(
        store.forget_duplicates(now).await?,
        0,
        "nothing is that old"
    );
    // The sweep at `later` forgets what was accepted more than FORGET_AFTER_MS before.
    let later = now + 1 + crate::store::FORGET_AFTER_MS;
    let cutoff = later - crate::store::FORGET_AFTER_MS;
    assert_eq!(
        store.forget_duplicates(cutoff).await?,
        1,
        "only the older id goes"
    );
    // The younger id is still remembered: its replay is a duplicate.
    let again = dated_envelope(&key, &new_id, b"new", created, expires)?;
    let replay = store.accept(accepted_at(again, later)).await?;
    assert!(matches!(replay, Accepted::Duplicate(_)), "{replay:?}");
    // The forgotten one cannot come back: by the time it may be forgotten, it has expired.
    let refused = crate::admit::check_window(old.header(), later);
    assert!(
        matches!(refused, Err(crate::error::BrokerError::Expired { .. })),
        "{refused:?}"
    );
    Ok(())
}

/// The relay log keeps what is younger than its retention.
pub async fn relay_records_past_their_retention_are_removed_and_younger_ones_kept(
    engine: &dyn Engine,
) -> CheckResult {
    let store = engine.open().await?;
    let key = signing::generate_key();
    for at_ms in [100, 200, 300] {
        let mut admission = admission(envelope(&key, &MessageId::random(), b"c")?, "");
        admission.record.at_ms = at_ms;
        store.accept(admission).await?;
    }
    assert_eq!(store.forget_relay_records(100).await?, 0, "none is older");
    assert_eq!(store.forget_relay_records(250).await?, 2);
    let kept: Vec<u64> = store.relay_log().await?.iter().map(|r| r.at_ms).collect();
    assert_eq!(kept, [300]);
    Ok(())
}

/// Stored once (a duplicate gets the first receipt, a reused id a conflict), completed once
/// (a second acknowledgement routes nothing), and all of it still there after a restart.
pub async fn an_envelope_is_stored_once_completed_once_and_survives_a_restart(
    engine: &dyn Engine,
) -> CheckResult {
    let key = signing::generate_key();
    let id = MessageId::random();
    let from: NodeAddr = "lefoe-ibf@at".parse()?;
    let to: NodeAddr = "astra@at".parse()?;
    {
        let store = engine.open().await?;
        let first = envelope(&key, &id, b"sealed")?;
        let accepted = store.accept(admission(first.clone(), "first")).await?;
        assert!(matches!(&accepted, Accepted::New(r) if r.receipt == b"first"));
        let again = store.accept(admission(first, "second")).await?;
        assert!(matches!(&again, Accepted::Duplicate(r) if r.receipt == b"first"));
        let reused = store
            .accept(admission(envelope(&key, &id, b"other")?, "third"))
            .await?;
        assert_eq!(reused, Accepted::Conflict);
        let pending = store.pending(&to, 0, 10).await?;
        let [item] = pending.as_slice() else {
            return Err(format!("one item expected: {pending:?}").into());
        };
        assert!(store.item(&to, item.sequence).await?.is_some());
        let route = Route {
            destination: Destination::Local(from.clone()),
            receipt: pb::SignedReceipt::default(),
            record: pb::RelayRecord::default(),
        };
        let done = store
            .complete(to.clone(), item.sequence, Some(route.clone()))
            .await?;
        assert!(done.is_some());
        assert_eq!(
            store
                .complete(to.clone(), item.sequence, Some(route))
                .await?,
            None
        );
        assert_eq!(store.item(&to, item.sequence).await?, None);
        let receipts = store.pending(&from, 0, 10).await?;
        assert_eq!(sequences(&receipts), done.into_iter().collect::<Vec<_>>());
    }
    let store = engine.open().await?;
    assert_eq!(store.queue_len(&to).await?, 0);
    assert_eq!(store.queue_len(&from).await?, 1);
    assert_eq!(store.relay_log().await?.len(), 2);
    Ok(())
}

/// A delivery stream is given what it has not sent, oldest first.
pub async fn a_delivery_stream_reads_only_what_it_has_not_sent(engine: &dyn Engine) -> CheckResult {
    let store = engine.open().await?;
    let key = signing::generate_key();
    let to: NodeAddr = "astra@at".parse()?;
    for text in ["one", "two", "three"] {
        let sealed = envelope(&key, &MessageId::random(), text.as_bytes())?;
        store.accept(admission(sealed, text)).await?;
    }
    let all = sequences(&store.pending(&to, 0, 10).await?);
    let [first, second, third] = all.as_slice() else {
        return Err(format!("three items expected: {all:?}").into());
    };
    assert!(first < second && second < third, "{all:?}");
    assert_eq!(
        sequences(&store.pending(&to, *first, 10).await?),
        [*second, *third]
    );
    let sent = std::collections::BTreeSet::from([*first]);
    assert_eq!(
        sequences(&store.pending_except(&to, &sent, 10).await?),
        [*second, *third]
    );
    assert_eq!(
        sequences(&store.pending_except(&to, &sent, 1).await?),
        [*second]
    );
    let everything = std::collections::BTreeSet::from([*first, *second, *third]);
    assert!(store.pending_except(&to, &everything, 10).await?.is_empty());
    Ok(())
}

/// The quotas' usage and the expiry sweep's lapsed envelopes, in queues and outboxes.
pub async fn usage_counts_queues_and_peers_and_lapsed_finds_queues_and_outboxes(
    engine: &dyn Engine,
) -> CheckResult {
    let store = engine.open().await?;
    let key = signing::generate_key();
    let to: NodeAddr = "astra@at".parse()?;
    let queued = envelope(&key, &MessageId::random(), b"queued")?;
    store.accept(admission(queued.clone(), "queued")).await?;
    let [item] = store
        .pending(&to, 0, 10)
        .await?
        .try_into()
        .map_err(|items| format!("one item expected: {items:?}"))?;
    // Stored with its sequence (embedded) or with the stream's (JetStream).
    let stored = pb::Delivery {
        sequence: item.sequence,
        item: Some(pb::delivery::Item::Envelope(queued.raw().clone())),
    };
    let sizes = [
        stored.encoded_len() as u64,
        pb::Delivery {
            sequence: 0,
            ..stored
        }
        .encoded_len() as u64,
    ];
    let mut outgoing = admission(envelope(&key, &MessageId::random(), b"out")?, "out");
    let rs: BrokerName = "rs".parse()?;
    outgoing.destination = Destination::Peer(rs.clone());
    store.accept(outgoing).await?;

    let usage = store.queue_usage(&to).await?;
    assert!(
        usage.items == 1 && sizes.contains(&usage.bytes),
        "{usage:?}, one item of {sizes:?} bytes expected"
    );
    assert_eq!(store.relayed_usage(&"at".parse()?).await?.items, 1);
    assert_eq!(store.relayed_usage(&rs).await?, Usage::default());
    assert_eq!(store.outbox_len(&rs).await?, 1);
    // Neither has expired by now; both have by the end of time.
    assert!(
        store
            .lapsed(trm_proto::time::now_ms(), 10)
            .await?
            .is_empty()
    );
    let lapsed = store.lapsed(u64::MAX, 10).await?;
    let [first, second] = lapsed.as_slice() else {
        return Err(format!("two lapsed envelopes expected: {lapsed:?}").into());
    };
    assert!(
        matches!(first, Lapsed { place: Waiting::Queue(q), envelope, .. }
        if *q == to && envelope == queued.raw())
    );
    assert!(matches!(&second.place, Waiting::Outbox(peer) if *peer == rs));
    assert_eq!(store.lapsed(u64::MAX, 1).await?.len(), 1);
    Ok(())
}

/// The quotas' usage of a queue longer than one read of a batched engine, as it grows and
/// shrinks; the expiry sweep finds all of it.
pub async fn usage_follows_what_is_queued_and_delivered_past_one_read(
    engine: &dyn Engine,
) -> CheckResult {
    const QUEUED: u64 = 300;
    let store = engine.open().await?;
    let key = signing::generate_key();
    let to: NodeAddr = "astra@at".parse()?;
    let at: BrokerName = "at".parse()?;
    for _ in 0..3 {
        let mut items = Vec::new();
        for _ in 0..QUEUED / 3 {
            let envelope = envelope(&key, &MessageId::random(), &[7; 100])?;
            items.push(super::Intake::Envelope(Box::new(admission(envelope, "r"))));
        }
        store.intake(items).await?;
    }
    let first = store.queue_usage(&to).await?;
    assert_eq!(first.items, QUEUED);
    let relayed = store.relayed_usage(&at).await?;
    assert_eq!(relayed, first);

    // One more, then the oldest delivered: the usage follows without counting again, and
    // agrees with a count from the stored state.
    store
        .accept(admission(
            envelope(&key, &MessageId::random(), &[7; 100])?,
            "r",
        ))
        .await?;
    let grown = store.queue_usage(&to).await?;
    assert!(
        grown.items == QUEUED + 1 && grown.bytes > first.bytes,
        "{grown:?} after {first:?}"
    );
    assert_eq!(store.relayed_usage(&at).await?, grown);
    let oldest = store.pending(&to, 0, 1).await?;
    let [oldest] = oldest.as_slice() else {
        return Err(format!("one item expected: {oldest:?}").into());
    };
    store.complete(to.clone(), oldest.sequence, None).await?;
    let shrunk = store.queue_usage(&to).await?;
    assert!(
        shrunk.items == QUEUED && shrunk.bytes < grown.bytes,
        "{shrunk:?} after {grown:?}"
    );
    assert_eq!(store.relayed_usage(&at).await?, shrunk);
    assert_eq!(store.queue_len(&to).await?, QUEUED as usize);
    drop(store);
    let store = engine.open().await?;
    assert_eq!(store.queue_usage(&to).await?, shrunk);
    assert_eq!(store.relayed_usage(&at).await?, shrunk);
    assert_eq!(store.lapsed(u64::MAX, 1_000).await?.len(), QUEUED as usize);
    Ok(())
}

/// A node's prekey set: the last one put counts, across a restart.
pub async fn a_prekey_set_replaces_the_one_before_and_survives_a_restart(
    engine: &dyn Engine,
) -> CheckResult {
    let node: NodeAddr = "astra@rs".parse()?;
    let set = |signature: &[u8]| pb::PrekeySet {
        node: node.to_string(),
        prekeys: vec![pb::SignedPrekey {
            prekey: b"key".to_vec(),
            signature: signature.to_vec(),
        }],
    };
    {
        let store = engine.open().await?;
        assert_eq!(store.prekeys(&node).await?, None);
        store.put_prekeys(&node, &set(b"first")).await?;
        store.put_prekeys(&node, &set(b"second")).await?;
    }
    let store = engine.open().await?;
    assert_eq!(store.prekeys(&node).await?, Some(set(b"second")));
    assert_eq!(store.prekeys(&"other@rs".parse()?).await?, None);
    Ok(())
}

/// An item set aside leaves the live outbox (once), keeps its bytes, and expires from the
/// set-aside table like one in the outbox.
pub async fn an_outbox_item_set_aside_leaves_the_outbox_and_expires_from_there(
    engine: &dyn Engine,
) -> CheckResult {
    let store = engine.open().await?;
    let key = signing::generate_key();
    let rs: BrokerName = "rs".parse()?;
    for text in ["kept", "failing"] {
        let sealed = dated_envelope(&key, &MessageId::random(), text.as_bytes(), 1, 1_000)?;
        let mut outgoing = admission(sealed, text);
        outgoing.destination = Destination::Peer(rs.clone());
        store.accept(outgoing).await?;
    }
    let outgoing = store.outgoing(&rs, 10, 1 << 20).await?;
    let [kept, failing] = outgoing.as_slice() else {
        return Err(format!("two outbox items expected: {outgoing:?}").into());
    };
    let skipped = store
        .outgoing_skipping(&rs, &[kept.sequence], 10, 1 << 20)
        .await?;
    assert_eq!(
        skipped.iter().map(|o| o.sequence).collect::<Vec<_>>(),
        [failing.sequence]
    );
    // A byte cap below the first item still gives the first item alone.
    assert_eq!(store.outgoing(&rs, 10, 1).await?.len(), 1);
    let aside = crate::store::SetAside {
        peer: rs.clone(),
        sequence: failing.sequence,
        attempts: 10,
        reason: "kept failing".into(),
        at_ms: 5,
        item: Vec::new(),
    };
    assert_eq!(store.set_aside(vec![aside.clone()]).await?, 1);
    // Gone already: nothing moves.
    assert_eq!(store.set_aside(vec![aside.clone()]).await?, 0);
    assert_eq!(store.outbox_len(&rs).await?, 1);
    assert_eq!(store.set_aside_len(&rs).await?, 1);
    let items = store.set_aside_items(Some(&rs)).await?;
    let [moved] = items.as_slice() else {
        return Err(format!("one set-aside item expected: {items:?}").into());
    };
    assert_eq!(
        *moved,
        crate::store::SetAside {
            item: failing.item.encode_to_vec(),
            ..aside
        }
    );
    assert!(
        store
            .set_aside_items(Some(&"mk".parse()?))
            .await?
            .is_empty()
    );
    // Both expire: the one in the outbox and the one set aside.
    let mut lapsed: Vec<u64> = store
        .lapsed(1_000, 10)
        .await?
        .iter()
        .map(|l| l.sequence)
        .collect();
    lapsed.sort_unstable();
    assert_eq!(lapsed, [kept.sequence, failing.sequence]);
    store
        .relayed(
            rs.clone(),
            crate::store::RelayAnswer {
                sequences: vec![kept.sequence, failing.sequence],
                ..Default::default()
            },
        )
        .await?;
    assert_eq!(store.outbox_len(&rs).await?, 0);
    assert_eq!(store.set_aside_len(&rs).await?, 0);
    assert!(store.lapsed(u64::MAX, 10).await?.is_empty());
    Ok(())
}
