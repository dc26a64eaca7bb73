//! A send repeated with its idempotency key sends once: the node answers the repeat with the
//! first message, refuses the key for another message, and keeps the key across a restart;
//! a send interrupted by the node stopping exits with "outcome unknown" and names the key.

use std::time::Duration;

use trm_cli::commands::{exit, send_with_key};
use trm_tests::fixtures::{self, ASTRA, LEFOE};

const WAIT: Duration = Duration::from_secs(30);

/// How many SENT entries LEFÖ-IBF's handover log holds.
async fn sent_entries(
    client: &mut trm_proto::pb::node_admin_client::NodeAdminClient<tonic::transport::Channel>,
) -> anyhow::Result<usize> {
    Ok(fixtures::log_entries(client)
        .await?
        .iter()
        .filter(|e| e.event == "sent")
        .count())
}

#[tokio::test]
async fn a_send_repeated_with_its_key_sends_once_even_across_a_stopped_node() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let (mut lefoe, astra) = (fed.client(LEFOE).await?, fed.client(ASTRA).await?);
    let key = "retry-0123456789-abcdef".to_owned();
    let request = fixtures::referral(ASTRA)?;

    let first = send_with_key(&mut lefoe, request.clone(), key.clone()).await?;
    let again = send_with_key(&mut lefoe, request.clone(), key.clone()).await?;
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(again.log_index, first.log_index);
    assert_eq!(again.envelope_digest, first.envelope_digest);

    // The key with another message is refused, and nothing is sent.
    let mut other = request.clone();
    other.case_ref = "AT-LEFOE-2026-0099".into();
    let refused = send_with_key(&mut lefoe, other, key.clone())
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("the key was taken for another message"))?;
    assert_eq!(refused.code, exit::REFUSED);
    assert!(
        refused
            .message
            .contains("idempotency key already used for another message"),
        "{}",
        refused.message
    );
    // A malformed key is refused naming the field.
    let bad = send_with_key(&mut lefoe, request.clone(), "short".into())
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("a short key was taken"))?;
    assert_eq!(bad.code, exit::DATA);
    assert!(bad.message.contains("idempotency_key"), "{}", bad.message);

    // The node stops with a connection open: the send on it cannot know its outcome.
    let key2 = "retry-after-a-stopped-node-42".to_owned();
    let mut second = request.clone();
    second.case_ref = "AT-LEFOE-2026-0077".into();
    fed.stop_node(LEFOE).await?;
    let lost = send_with_key(&mut lefoe, second.clone(), key2.clone())
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("a stopped node answered"))?;
    assert_eq!(lost.code, exit::OUTCOME_UNKNOWN, "{}", lost.message);
    assert!(
        lost.message.contains(&format!(
            "the outcome is unknown; run the same command again with --idempotency-key {key2}, it will not send twice"
        )),
        "{}",
        lost.message
    );

    // After a restart, the first key still answers with its message; the interrupted send,
    // repeated twice with its key, sends once.
    fed.start_node(LEFOE).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let after = send_with_key(&mut lefoe, request, key).await?;
    assert_eq!(after.message_id, first.message_id);
    let retried = send_with_key(&mut lefoe, second.clone(), key2.clone()).await?;
    let retried_again = send_with_key(&mut lefoe, second, key2).await?;
    assert_eq!(retried_again.message_id, retried.message_id);

    fixtures::wait_for_step(&lefoe, &first.message_id, "delivered", WAIT).await?;
    fixtures::wait_for_step(&lefoe, &retried.message_id, "delivered", WAIT).await?;
    let mut astra = astra;
    let inbox = fixtures::inbox_ids(&mut astra).await?;
    assert_eq!(inbox.len(), 2, "{inbox:?}");
    assert!(inbox.contains(&first.message_id) && inbox.contains(&retried.message_id));
    assert_eq!(sent_entries(&mut lefoe).await?, 2);
    Ok(())
}
