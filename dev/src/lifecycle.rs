//! One case's life between two organisations, as DOMAIN.md tells it for the Serbian woman
//! identified in Austria: after the referral, the destination organisation's partner accepts
//! it, a return is requested with its pre-return risk assessment, confirmed, travelled, two
//! follow-ups arrive, and a court-travel update tells the origin organisation she is to
//! testify. Each message goes through the real nodes and brokers and is waited for until the
//! receiving node shows it; `trm demo` narrates it, and the integration tests run it and then
//! check both nodes independently.

use std::time::Duration;

use anyhow::Context as _;
use tonic::transport::Channel;
use trm_proto::pb;
use trm_proto::pb::body::Content;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_proto::pb::node_cases_client::NodeCasesClient;

use crate::wait::wait_for;

const WAIT: Duration = Duration::from_secs(30);
const DAY_MS: u64 = 24 * 3600 * 1000;

/// One side of the exchange: its address and clients.
#[derive(Clone)]
pub struct Party {
    /// The node's address.
    pub address: String,
    /// Its admin client.
    pub admin: NodeAdminClient<Channel>,
    /// Its cases client.
    pub cases: NodeCasesClient<Channel>,
}

/// What the lifecycle sent, in order: `(who sent it, what it is, message id)`.
pub type Transcript = Vec<(String, &'static str, String)>;

/// The state of `kind` item `message_id` in `party`'s case with `counterparty`.
pub async fn item_state(
    party: &mut Party,
    counterparty: &str,
    case_ref: &str,
    message_id: &str,
) -> anyhow::Result<Option<pb::CaseItem>> {
    let case = party
        .cases
        .case(pb::CaseRequest {
            case_ref: case_ref.to_owned(),
            counterparty: counterparty.to_owned(),
            content: false,
        })
        .await;
    let Ok(case) = case else {
        return Ok(None);
    };
    Ok(case
        .into_inner()
        .summary
        .unwrap_or_default()
        .items
        .into_iter()
        .find(|i| i.message_id == message_id))
}

/// Waits until `party` holds item `message_id` in `state`.
pub async fn wait_for_item(
    party: &Party,
    counterparty: &str,
    case_ref: &str,
    message_id: &str,
    state: &str,
) -> anyhow::Result<()> {
    let what = format!("{} to see {message_id} {state}", party.address);
    wait_for(WAIT, &what, || {
        let mut party = party.clone();
        let (counterparty, case_ref, message_id) = (
            counterparty.to_owned(),
            case_ref.to_owned(),
            message_id.to_owned(),
        );
        let state = state.to_owned();
        async move {
            Ok(
                item_state(&mut party, &counterparty, &case_ref, &message_id)
                    .await?
                    .is_some_and(|i| i.state == state),
            )
        }
    })
    .await
}

/// Waits until the sender holds the addressee's DELIVERED receipt for `message_id`.
pub async fn wait_for_delivery(sender: &Party, message_id: &str) -> anyhow::Result<()> {
    wait_for(WAIT, &format!("the delivery of {message_id}"), || {
        let mut admin = sender.admin.clone();
        let message_id = message_id.to_owned();
        async move {
            let status = admin.status(pb::StatusRequest { message_id }).await?;
            Ok(status
                .into_inner()
                .evidence
                .iter()
                .any(|e| e.step == "delivered"))
        }
    })
    .await
}

/// Sends `content` from `from` to `to` in `case_ref` and waits for its delivery.
pub async fn send(
    from: &mut Party,
    to: &Party,
    case_ref: &str,
    priority: pb::Priority,
    content: Content,
) -> anyhow::Result<String> {
    let sent = from
        .admin
        .send(pb::SendRequest {
            to: to.address.clone(),
            case_ref: case_ref.to_owned(),
            priority: priority.into(),
            body: Some(pb::Body {
                content: Some(content),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    wait_for_delivery(from, &sent.message_id).await?;
    Ok(sent.message_id)
}

fn acceptance(referral_id: &str) -> Content {
    Content::ReferralResponse(pb::ReferralResponse {
        referral_message_id: referral_id.to_owned(),
        decision: pb::referral_response::Decision::Accepted.into(),
        responsible_unit: "Astra reintegration team".into(),
        notes: "Shelter place and psychosocial support ready on arrival.".into(),
        ..Default::default()
    })
}

fn return_request(now_ms: u64) -> Content {
    Content::ReturnRequest(pb::ReturnRequest {
        voluntary_return_consent: true,
        pre_return_risk_assessment: Some(pb::RiskAssessment {
            level: pb::RiskLevel::Medium.into(),
            assessed_by: "LEFÖ-IBF with the Vienna police liaison".into(),
            assessed_at_ms: now_ms,
            summary: "Recruiter still at large in the home region; return to Belgrade, not the home town.".into(),
        }),
        travel_date_ms: now_ms + 21 * DAY_MS,
        route: "Vienna - Belgrade by bus".into(),
        means: "bus".into(),
        escort: "LEFÖ-IBF caseworker to the border".into(),
        documents_status: "emergency travel document issued by the Serbian embassy".into(),
        reception_wanted: Some(pb::Reception {
            met_by: "Astra caseworker".into(),
            meeting_point: "Belgrade bus station".into(),
            services_on_arrival: vec!["shelter".into(), "medical check".into()],
        }),
        family_assessment: "Family supportive; mother informed with her consent.".into(),
        consent: Some(pb::ConsentRecord {
            given: true,
            scope: "return assistance by Astra, Belgrade".into(),
            obtained_by_role: "LEFÖ-IBF caseworker".into(),
            obtained_at_ms: now_ms,
            language: "sr".into(),
            interpreter_used: true,
            ..Default::default()
        }),
        notes: "She asks to be met by a woman.".into(),
        ..Default::default()
    })
}

fn confirmation(return_id: &str) -> Content {
    Content::ReturnConfirmation(pb::ReturnConfirmation {
        return_request_message_id: return_id.to_owned(),
        reception: Some(pb::Reception {
            met_by: "Astra caseworker (female)".into(),
            meeting_point: "Belgrade bus station, arrivals".into(),
            services_on_arrival: vec!["shelter".into(), "medical check".into()],
        }),
        notes: "Reception arranged as asked.".into(),
    })
}

fn update(status: &str, notes: &str) -> Content {
    Content::CaseUpdate(pb::CaseUpdate {
        status: status.to_owned(),
        notes: notes.to_owned(),
        ..Default::default()
    })
}

fn follow_up(return_id: &str, months: u32, status: &str) -> Content {
    Content::FollowUp(pb::FollowUp {
        return_request_message_id: return_id.to_owned(),
        months_after_return: months,
        reintegration_status: status.to_owned(),
        services_received: vec!["psychosocial support".into(), "vocational training".into()],
        contact_maintained: true,
        ..Default::default()
    })
}

fn court_travel(now_ms: u64) -> Content {
    Content::CaseUpdate(pb::CaseUpdate {
        status: "court date set".into(),
        court_date_ms: now_ms + 120 * DAY_MS,
        court_travel: Some(pb::CourtTravelSupport {
            hearing_at_ms: now_ms + 120 * DAY_MS,
            court: "Landesgericht für Strafsachen Wien".into(),
            video_link: false,
            tickets: "bus tickets paid by the victim-support fund".into(),
            lawyer: "legal counsel from the victim-support scheme".into(),
            met_by: "LEFÖ-IBF caseworker".into(),
            accommodation: "LEFÖ-IBF shelter, two nights".into(),
        }),
        notes: "She is to testify against the recruiter.".into(),
        ..Default::default()
    })
}

/// Runs the lifecycle after `referral_id` was delivered from `destination` (the referring
/// organisation, where she was identified) to `origin`; `narrate` is told each step.
pub async fn run(
    destination: &mut Party,
    origin: &mut Party,
    case_ref: &str,
    referral_id: &str,
    mut narrate: impl FnMut(&str, &str),
) -> anyhow::Result<Transcript> {
    let now = trm_proto::time::now_ms();
    let mut transcript = Transcript::new();
    let (dest, orig) = (destination.address.clone(), origin.address.clone());
    let routine = pb::Priority::Routine;

    let accepted = send(
        origin,
        destination,
        case_ref,
        routine,
        acceptance(referral_id),
    )
    .await?;
    wait_for_item(destination, &orig, case_ref, referral_id, "accepted").await?;
    narrate(&orig, "accepts the referral");
    transcript.push((orig.clone(), "acceptance", accepted));

    let return_id = send(destination, origin, case_ref, routine, return_request(now)).await?;
    wait_for_item(origin, &dest, case_ref, &return_id, "requested").await?;
    narrate(
        &dest,
        "requests a voluntary return, with its pre-return risk assessment",
    );
    transcript.push((dest.clone(), "return request", return_id.clone()));

    let confirmed = send(
        origin,
        destination,
        case_ref,
        routine,
        confirmation(&return_id),
    )
    .await?;
    wait_for_item(destination, &orig, case_ref, &return_id, "confirmed").await?;
    narrate(
        &orig,
        "confirms the reception arrangements before the travel date",
    );
    transcript.push((orig.clone(), "return confirmation", confirmed));

    let travelled = update(TRAVELLED, "Arrived in Belgrade, met as arranged.");
    let travelled = send(destination, origin, case_ref, routine, travelled).await?;
    wait_for_item(origin, &dest, case_ref, &return_id, "travelled").await?;
    narrate(&dest, "records that she travelled: follow-ups are now due");
    transcript.push((dest.clone(), "travelled update", travelled));

    let follow_ups = [
        (1, "in shelter, attending counselling"),
        (3, "living with family, in vocational training"),
    ];
    for (received, (months, status)) in (1u32..).zip(follow_ups) {
        let id = send(
            origin,
            destination,
            case_ref,
            routine,
            follow_up(&return_id, months, status),
        )
        .await?;
        wait_for(WAIT, "the follow-up to arrive", || {
            let mut destination = destination.clone();
            let (orig, case_ref, return_id) =
                (orig.clone(), case_ref.to_owned(), return_id.clone());
            async move {
                Ok(item_state(&mut destination, &orig, &case_ref, &return_id)
                    .await?
                    .is_some_and(|i| i.follow_ups == received))
            }
        })
        .await
        .context("follow-up")?;
        narrate(
            &orig,
            &format!(
                "reports the follow-up at {months} {}",
                if months == 1 { "month" } else { "months" }
            ),
        );
        transcript.push((orig.clone(), "follow-up", id));
    }

    let court = send(destination, origin, case_ref, routine, court_travel(now)).await?;
    narrate(
        &dest,
        "sends a court-travel update: she is to testify in Vienna, travel and lawyer arranged",
    );
    transcript.push((dest.clone(), "court-travel update", court));
    Ok(transcript)
}

/// The case-update status that records travel (see the node's case machine).
pub const TRAVELLED: &str = trm_node::cases::STATUS_TRAVELLED;
