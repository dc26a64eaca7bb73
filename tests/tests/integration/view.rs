//! What was sent is what the partner sees: a referral sealed by one real node, delivered
//! through a real broker over mutual TLS and decrypted by the other, reads field for field
//! as it was written, in `trm show`'s text and JSON alike, with its priority.

use trm_node::deadlines::Deadlines;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, LEFOE};
use trm_view::{Facts, header::REFERRAL_ANSWER_HOURS};

#[test]
fn the_answer_times_the_view_states_are_the_nodes_defaults() {
    let d = Deadlines::default();
    let hours = |p: pb::Priority| {
        REFERRAL_ANSWER_HOURS
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, h)| *h)
    };
    assert_eq!(
        hours(pb::Priority::Routine),
        Some(d.referral_answer_routine_hours)
    );
    assert_eq!(
        hours(pb::Priority::Urgent),
        Some(d.referral_answer_urgent_hours)
    );
    assert_eq!(
        hours(pb::Priority::Immediate),
        Some(d.referral_answer_immediate_hours)
    );
}

#[tokio::test]
async fn the_receiver_sees_every_field_the_sender_filled_in() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[LEFOE, ASTRA]).await?;
    let mut lefoe = fixtures::party(&fed, LEFOE).await?;
    let mut astra = fixtures::party(&fed, ASTRA).await?;

    let mut request = fixtures::referral(ASTRA)?;
    request.priority = pb::Priority::Urgent.into();
    if let Some(pb::body::Content::Referral(r)) =
        request.body.as_mut().and_then(|b| b.content.as_mut())
    {
        if let Some(person) = r.person.as_mut() {
            person.date_of_birth = "2001-04-17".into();
        }
        r.indicators = vec!["I-12".into(), "I-31".into()];
    }
    let sent_body = request.body.clone().unwrap_or_default();
    let case_ref = request.case_ref.clone();
    let id = astra_receives(&mut lefoe, request).await?;
    let shown = astra
        .admin
        .show(pb::ShowRequest {
            message_id: id.clone(),
        })
        .await?
        .into_inner();
    let received = shown.body.clone().unwrap_or_default();

    // Field for field what the sender wrote (the sender's own view of what it sealed).
    let sent = trm_view::view(&sent_body, &Facts::default())?;
    let seen = trm_view::view(&received, &Facts::default())?;
    assert_eq!(seen.fields, sent.fields);
    assert!(seen.find("referral.person.date_of_birth").is_some());
    assert!(seen.find("referral.indicators").is_some());

    let text = trm_cli::render::message(&shown);
    assert!(text.contains("2001-04-17"), "{text}");
    assert!(text.contains("I-12; I-31"), "{text}");
    assert!(
        text.contains("priority  urgent: a referral is answered within 48 hours"),
        "{text}"
    );
    let json = trm_cli::json::message(&shown);
    assert_eq!(json["priority"], "urgent");
    assert_eq!(json["content"]["kind"], "referral");
    assert_eq!(
        json["content"]["fields"],
        serde_json::to_value(&sent.fields)?
    );
    let header = &json["content"]["header"];
    let at = |key: &str| {
        header
            .as_array()
            .and_then(|h| h.iter().find(|f| f["key"] == key))
            .map(|f| f["value"].clone())
    };
    assert_eq!(at("header.priority"), Some("urgent".into()));
    assert_eq!(at("header.from"), Some(LEFOE.into()));
    assert_eq!(at("header.case_ref"), Some(case_ref.into()));
    Ok(())
}

/// Sends `request` from `sender` and waits until the addressee's receipt is back.
async fn astra_receives(
    sender: &mut trm_dev::lifecycle::Party,
    request: pb::SendRequest,
) -> anyhow::Result<String> {
    let id = sender.admin.send(request).await?.into_inner().message_id;
    trm_dev::lifecycle::wait_for_delivery(sender, &id).await?;
    Ok(id)
}
