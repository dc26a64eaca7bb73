//! Tests of what an erasure erases (a withdrawal: what the partner disclosed; retention:
//! everything), of a case stored under one key before the parts were split, and of an erasure
//! that crosses a submission already handed to the broker.

use age::secrecy::ExposeSecret as _;
use trm_proto::addr::{MessageId, NodeAddr};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The partner, who referred the case and withdraws consent.
const PARTNER: &str = "astra@rs";
/// This node, the addressee, which answers.
const OWN: &str = "lefoe-ibf@at";
const CASE: &str = "AT-LEFOE-2026-0042";
const AT: u64 = 1_700_000_000_000;

fn id(digit: char) -> String {
    std::iter::repeat_n(digit, 32).collect()
}

fn header(
    digit: char,
    kind: pb::MessageKind,
    from: &str,
    to: &str,
) -> Result<Header, Box<dyn std::error::Error>> {
    Ok(Header {
        message_id: id(digit).parse::<MessageId>()?,
        from: from.parse::<NodeAddr>()?,
        to: to.parse::<NodeAddr>()?,
        created_at_ms: AT,
        expires_at_ms: AT + 100_000_000_000,
        priority: pb::Priority::Routine,
        kind,
        ciphertext_sha256: [0; 32],
        recipient_key_id: String::new(),
    })
}

fn facts<'a>(header: &'a Header, content: &'a pb::body::Content) -> EntryFacts<'a> {
    EntryFacts {
        header,
        digest: &[7; 32],
        case_ref: CASE,
        flags: pb::AuditFlags::default(),
        content: Some(content),
        sequence: 0,
    }
}

/// `OWN` receives `PARTNER`'s referral (`0…`) and sends its acceptance (`1…`), which waits in
/// the outbox.
async fn referred_and_answered(store: &NodeStore) -> TestResult {
    let referral = header('0', pb::MessageKind::Referral, PARTNER, OWN)?;
    let content = pb::body::Content::Referral(pb::Referral::default());
    store
        .store_received(
            &pb::Envelope::default(),
            &facts(&referral, &content),
            b"referral by astra",
            AT + 1,
        )
        .await?;
    let answer = header('1', pb::MessageKind::ReferralResponse, OWN, PARTNER)?;
    let content = pb::body::Content::ReferralResponse(pb::ReferralResponse {
        referral_message_id: id('0'),
        decision: pb::referral_response::Decision::Accepted.into(),
        ..Default::default()
    });
    store
        .record_sent(
            &pb::Envelope::default(),
            &facts(&answer, &content),
            b"answer by lefoe",
            AT + 2,
            "caseworker",
            None,
        )
        .await?;
    Ok(())
}

/// `PARTNER`'s consent withdrawal (`2…`) arrives at `OWN`.
async fn withdrawn(store: &NodeStore) -> Result<Received, Box<dyn std::error::Error>> {
    let withdrawal = header('2', pb::MessageKind::ConsentWithdrawal, PARTNER, OWN)?;
    let content = pb::body::Content::ConsentWithdrawal(pb::ConsentWithdrawal::default());
    Ok(store
        .store_received(
            &pb::Envelope::default(),
            &facts(&withdrawal, &content),
            b"withdrawal",
            AT + 3,
        )
        .await?)
}

fn referral_key() -> Vec<u8> {
    message_key(PARTNER, &id('0'))
}

fn answer_key() -> Vec<u8> {
    message_key(OWN, &id('1'))
}

fn steps(stored: &pb::StoredMessage) -> Vec<&str> {
    stored.evidence.iter().map(|e| e.step.as_str()).collect()
}

fn last_entry(store: &NodeStore) -> Result<pb::LogEntry, Box<dyn std::error::Error>> {
    let len = store.log_len()?;
    let entries = store.log_entries(len.saturating_sub(1), 1)?;
    let entry = entries.into_iter().next().ok_or("the log is empty")?;
    Ok(entry.entry)
}

#[tokio::test]
async fn a_withdrawal_erases_what_the_partner_disclosed_and_keeps_what_this_node_wrote()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    referred_and_answered(&store).await?;
    let case_key = cases::case_key(PARTNER, CASE);
    let authored = vault::authored(&case_key);
    assert!(
        store.vault.has_key(&case_key) && store.vault.has_key(&authored),
        "two keys"
    );
    assert_ne!(
        store
            .vault
            .key_text(&case_key)?
            .map(|k| k.expose_secret().to_owned()),
        store
            .vault
            .key_text(&authored)?
            .map(|k| k.expose_secret().to_owned())
    );

    let received = withdrawn(&store).await?;
    assert!(
        matches!(
            received,
            Received::Stored {
                erased_messages: 1,
                ..
            }
        ),
        "{received:?}"
    );
    // The partner's referral: erased, its key file gone, and it says who withdrew consent.
    let referral = store.stored_message(&referral_key())?;
    assert!(matches!(
        store.content(&referral),
        Err(StoreError::Vault(VaultError::Erased))
    ));
    assert_eq!(referral.erased_reason, "consent withdrawn by astra@rs");
    assert!(!store.vault.has_key(&case_key));
    // This node's own answer: still readable, under its own key.
    let answer = store.stored_message(&answer_key())?;
    assert_eq!(store.content(&answer)?, b"answer by lefoe");
    assert_eq!(answer.erased_at_ms, 0);
    assert!(store.vault.has_key(&authored));
    // The broker was never given it: it leaves the outbox, not sent.
    assert_eq!(store.outbox_len()?, 0);
    assert_eq!(steps(&answer), ["submitted", "submit_failed"]);
    // The log says what was erased and what was kept.
    let entry = last_entry(&store)?;
    assert_eq!(entry.event, i32::from(pb::LogEvent::Erased));
    assert_eq!(
        entry.reason,
        "consent withdrawn by astra@rs (1 messages received; 1 sent kept)"
    );

    // Retention erases the rest, and the referral still says why it went first.
    let case = store.case(CASE, PARTNER)?.summary.unwrap_or_default();
    let retention = Erasure {
        case_key: case_key.clone(),
        own: OWN.into(),
        at_ms: AT + 10,
        reason: "retention: no message for 1825 days".into(),
        message_id: String::new(),
        actor: "node".into(),
        idle_since_ms: Some(case.last_activity_ms),
        scope: Scope::All,
    };
    assert_eq!(store.erase_case(retention.clone()).await?, Some(1));
    let answer = store.stored_message(&answer_key())?;
    assert!(matches!(
        store.content(&answer),
        Err(StoreError::Vault(VaultError::Erased))
    ));
    assert!(answer.erased_reason.starts_with("retention"));
    assert!(!store.vault.has_key(&authored));
    assert_eq!(
        store.stored_message(&referral_key())?.erased_reason,
        "consent withdrawn by astra@rs"
    );
    assert!(last_entry(&store)?.reason.ends_with("(1 messages)"));
    // Nothing is left to erase: a second sweep erases nothing and logs nothing.
    let entries = store.log_len()?;
    assert!(store.finish_erasure(&case_key, OWN).map(|d| !d)?);
    assert_eq!(store.log_len()?, entries);
    Ok(())
}

#[tokio::test]
async fn an_answer_on_its_way_when_the_case_is_erased_stays_evidenced_by_its_receipt() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    referred_and_answered(&store).await?;
    let sequence = store.stored_message(&answer_key())?.outbox_sequence;
    // The outbox hands the answer to the broker; the withdrawal crosses it.
    assert!(store.hand_over(sequence));
    withdrawn(&store).await?;
    let answer = store.stored_message(&answer_key())?;
    assert_eq!(
        steps(&answer),
        ["submitted"],
        "not recorded as not sent: the broker has it"
    );
    assert_eq!(store.outgoing_key(sequence)?, Some(answer_key()));
    // The broker's receipt comes: recorded as usual, and the answer leaves the outbox.
    let accepted = pb::Evidence {
        step: "accepted".into(),
        at_ms: AT + 4,
        attested_by: "rs".into(),
        detail: "stored by broker rs".into(),
        receipt: None,
    };
    assert!(
        store
            .record_outcome(
                Some(sequence),
                &answer_key(),
                accepted,
                pb::LogEvent::Accepted,
                None,
                ""
            )
            .await?
    );
    assert!(
        !store.landed(sequence, false),
        "it left the outbox with its receipt: nothing to withhold"
    );
    assert_eq!(store.outbox_len()?, 0);
    let answer = store.stored_message(&answer_key())?;
    assert_eq!(steps(&answer), ["submitted", "accepted"]);
    // Its content is this node's own, kept.
    assert_eq!(store.content(&answer)?, b"answer by lefoe");
    Ok(())
}

#[tokio::test]
async fn an_erasure_that_withheld_an_item_makes_the_outbox_skip_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    referred_and_answered(&store).await?;
    // The outbox read the answer before the withdrawal committed, and asks after.
    let sequence = store.stored_message(&answer_key())?.outbox_sequence;
    withdrawn(&store).await?;
    assert!(!store.hand_over(sequence), "withheld: never given");
    Ok(())
}

#[tokio::test]
async fn withdrawing_consent_erases_here_what_the_partner_sent_and_keeps_what_this_node_wrote()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    // Here `OWN` refers, `PARTNER` answers, and `OWN` withdraws consent.
    let referral = header('0', pb::MessageKind::Referral, OWN, PARTNER)?;
    let content = pb::body::Content::Referral(pb::Referral::default());
    store
        .record_sent(
            &pb::Envelope::default(),
            &facts(&referral, &content),
            b"referral by lefoe",
            AT + 1,
            "caseworker",
            None,
        )
        .await?;
    let answer = header('1', pb::MessageKind::ReferralResponse, PARTNER, OWN)?;
    let content = pb::body::Content::ReferralResponse(pb::ReferralResponse {
        referral_message_id: id('0'),
        decision: pb::referral_response::Decision::Accepted.into(),
        ..Default::default()
    });
    store
        .store_received(
            &pb::Envelope::default(),
            &facts(&answer, &content),
            b"answer by astra",
            AT + 2,
        )
        .await?;
    let withdrawal = header('2', pb::MessageKind::ConsentWithdrawal, OWN, PARTNER)?;
    let content = pb::body::Content::ConsentWithdrawal(pb::ConsentWithdrawal::default());
    let index = store
        .record_sent(
            &pb::Envelope::default(),
            &facts(&withdrawal, &content),
            b"withdrawal",
            AT + 3,
            "caseworker",
            None,
        )
        .await?;
    let case_key = cases::case_key(PARTNER, CASE);
    let answer = store.stored_message(&message_key(PARTNER, &id('1')))?;
    assert!(matches!(
        store.content(&answer),
        Err(StoreError::Vault(VaultError::Erased))
    ));
    assert_eq!(answer.erased_reason, "consent withdrawn by lefoe-ibf@at");
    assert!(!store.vault.has_key(&case_key));
    let referral = store.stored_message(&message_key(OWN, &id('0')))?;
    assert_eq!(store.content(&referral)?, b"referral by lefoe");
    let sent = store.stored_message(&message_key(OWN, &id('2')))?;
    assert_eq!(store.content(&sent)?, b"withdrawal");
    // SENT, then ERASED; the withdrawal waits for the broker, the referral never given is not.
    let entries = store.log_entries(index, 2)?;
    let events: Vec<i32> = entries.iter().map(|e| e.entry.event).collect();
    assert_eq!(
        events,
        [
            i32::from(pb::LogEvent::Sent),
            i32::from(pb::LogEvent::Erased)
        ]
    );
    assert_eq!(
        entries.get(1).map(|e| e.entry.reason.as_str()),
        Some("consent withdrawn by lefoe-ibf@at (1 messages received; 1 sent kept)")
    );
    assert_eq!(store.outbox_len()?, 1);
    assert_eq!(store.next_outgoing()?.map(|o| o.key), Some(sent_key()));
    Ok(())
}

fn sent_key() -> Vec<u8> {
    message_key(OWN, &id('2'))
}

#[tokio::test]
async fn a_case_stored_under_one_key_keeps_its_own_messages_through_a_withdrawal() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    referred_and_answered(&store).await?;
    let case_key = cases::case_key(PARTNER, CASE);
    let authored = vault::authored(&case_key);
    // As a store made before the parts were split: the answer under the case's one key.
    let engine = store.engine()?;
    let bytes = engine.messages.get(answer_key())?.ok_or("no answer")?;
    let mut answer = pb::StoredMessage::decode(bytes.as_ref())?;
    answer.content = store.vault.seal(&case_key, b"answer by lefoe")?;
    answer.content_place = None;
    engine
        .messages
        .insert(answer_key(), answer.encode_to_vec())?;
    assert!(store.vault.erase(&authored)?);
    assert_eq!(
        store.content(&answer)?,
        b"answer by lefoe",
        "read as before"
    );

    withdrawn(&store).await?;
    let answer = store.stored_message(&answer_key())?;
    assert_eq!(
        store.content(&answer)?,
        b"answer by lefoe",
        "moved, then kept"
    );
    assert!(!store.vault.has_key(&case_key) && store.vault.has_key(&authored));
    assert!(last_entry(&store)?.reason.ends_with(
        "(1 messages received; 1 sent kept, 1 of them moved off the case's former single key)"
    ));
    Ok(())
}

#[tokio::test]
async fn a_backup_after_a_withdrawal_holds_the_key_of_what_this_node_wrote_and_not_the_other()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    referred_and_answered(&store).await?;
    let case_key = cases::case_key(PARTNER, CASE);
    let file = |id: &[u8]| -> String {
        let name = store.vault.key_path(id);
        let name = name.file_name().map(|n| n.to_string_lossy().into_owned());
        format!("{}/{}", snapshot::CASE_KEYS_DIR, name.unwrap_or_default())
    };
    let (disclosed, authored) = (file(&case_key), file(&vault::authored(&case_key)));
    let held = |snapshot: &pb::NodeSnapshot| -> Vec<String> {
        snapshot.files.iter().map(|f| f.path.clone()).collect()
    };
    let before = held(&store.snapshot(AT + 2)?);
    assert!(before.contains(&disclosed) && before.contains(&authored));

    let key = store.vault.key_text(&case_key)?.ok_or("a key")?;
    withdrawn(&store).await?;
    // As if the node had stopped before the key was destroyed (a key file, restored).
    std::fs::write(store.vault.key_path(&case_key), key.expose_secret())?;
    let after = held(&store.snapshot(AT + 4)?);
    assert!(
        !after.contains(&disclosed),
        "the erased part's key is not backed up"
    );
    assert!(after.contains(&authored), "the kept answer's key is");
    Ok(())
}

/// Whether the record at `place` in the store's file of sealed content is all zeros.
fn wiped(
    dir: &std::path::Path,
    place: &pb::ContentPlace,
) -> Result<bool, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(dir.join(content::FILE))?;
    let start = usize::try_from(place.offset)?;
    let end = start + 12 + usize::try_from(place.length)?;
    let record = bytes.get(start..end).ok_or("the record is in the file")?;
    Ok(record.iter().all(|b| *b == 0))
}

#[tokio::test]
async fn a_sent_envelope_and_erased_content_are_wiped_from_the_file_once_nothing_names_them()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let store = NodeStore::open(dir.path())?;
    referred_and_answered(&store).await?;
    let referral = store
        .stored_message(&referral_key())?
        .content_place
        .ok_or("the referral's content is in the file")?;
    let answer = store
        .stored_message(&answer_key())?
        .content_place
        .ok_or("the answer's content is in the file")?;
    let sequence = store.next_outgoing()?.ok_or("the answer waits")?.sequence;
    let queued = store
        .engine()?
        .outbox
        .get(sequence.to_be_bytes())?
        .ok_or("the outbox record")?;
    let envelope = pb::OutboxItem::decode(queued.as_ref())?
        .envelope_place
        .ok_or("the envelope is in the file")?;
    assert!(!wiped(dir.path(), &envelope)? && !wiped(dir.path(), &referral)?);

    // The broker has the envelope: it leaves the outbox, and the file.
    let accepted = pb::Evidence {
        step: "accepted".into(),
        at_ms: AT + 4,
        attested_by: "rs".into(),
        detail: "stored by broker rs".into(),
        receipt: None,
    };
    let event = pb::LogEvent::Accepted;
    store
        .record_outcome(Some(sequence), &answer_key(), accepted, event, None, "")
        .await?;
    assert!(wiped(dir.path(), &envelope)?, "the accepted envelope");
    assert!(!wiped(dir.path(), &referral)? && !wiped(dir.path(), &answer)?);

    // The withdrawal erases the referral's content, and the file's copy of it.
    withdrawn(&store).await?;
    assert!(wiped(dir.path(), &referral)?, "the erased content");
    assert!(!wiped(dir.path(), &answer)?, "what this node wrote is kept");
    let kept = store.stored_message(&answer_key())?;
    assert_eq!(store.content(&kept)?, b"answer by lefoe");
    Ok(())
}
