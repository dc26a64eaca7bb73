//! A property test of the lifecycle: random sequences of steps (every kind, from either side,
//! legal and illegal, with supplements and consent withdrawals) applied by the real
//! [`super::apply`] and [`super::receipt`] to two copies of one case, the two organisations'.
//! A side applies its own step when it sends it; when that succeeds the step is delivered to
//! the other side, in order, and the sender gets the DELIVERED receipt. After every step:
//! - a step one side accepted is never refused by the other when delivered;
//! - both sides hold the same items in the same states;
//! - no wedge: on every item not in a final state, every step the table lists as legal from
//!   its state is accepted by both sides.
//!
//! A second test lets messages cross: items opened and cases closed from both sides before
//! either side's messages arrive end in the same states once all is delivered. Two answers
//! to one item that cross (the addressee asks again for information while the sender
//! supplies it) are not covered: each side applies its own first, so the two can end apart;
//! the protocol has no tie-break for that yet.

use proptest::prelude::*;
use trm_proto::pb;
use trm_proto::pb::body::Content;

use super::table::{self, By, Move, TABLE};
use super::{INCOMING, OUTGOING, Step, apply, new_case, receipt};

/// The two organisations: index 0 and 1.
const ADDRESSES: [&str; 2] = ["lefoe-ibf@at", "astra@rs"];
const CASE_REF: &str = "AT-LEFOE-2026-0042";

/// The message that takes `mv` on the item `target`; `None` for steps that are no message
/// (opening and receipts).
fn content_for(mv: Move, target: &str) -> Option<Content> {
    use pb::referral_response::Decision;
    let response = |decision: Decision| {
        Content::ReferralResponse(pb::ReferralResponse {
            referral_message_id: target.into(),
            decision: decision.into(),
            ..Default::default()
        })
    };
    let update = |status: &str| {
        Content::CaseUpdate(pb::CaseUpdate {
            status: status.into(),
            ..Default::default()
        })
    };
    Some(match mv {
        Move::Open | Move::Delivered | Move::Rejected => return None,
        Move::Accept => response(Decision::Accepted),
        Move::Decline => response(Decision::Declined),
        Move::AskForInformation => response(Decision::NeedsInformation),
        Move::SupplyInformation => Content::InformationSupplied(pb::ReferralSupplement {
            referral_message_id: target.into(),
            answers: vec![pb::SuppliedItem {
                missing_information: "the person's languages".into(),
                answer: "Serbian, some German".into(),
            }],
            ..Default::default()
        }),
        Move::Answer => Content::InfoResponse(pb::InfoResponse {
            request_message_id: target.into(),
            information: "known to the shelter since May".into(),
            ..Default::default()
        }),
        Move::Refuse => Content::InfoResponse(pb::InfoResponse {
            request_message_id: target.into(),
            refusal_reason: pb::InfoRefusalReason::NoConsent.into(),
            ..Default::default()
        }),
        Move::Confirm => Content::ReturnConfirmation(pb::ReturnConfirmation {
            return_request_message_id: target.into(),
            ..Default::default()
        }),
        Move::Travelled => update(super::STATUS_TRAVELLED),
        Move::FollowUp => Content::FollowUp(pb::FollowUp {
            return_request_message_id: target.into(),
            months_after_return: 1,
            ..Default::default()
        }),
        Move::Close => update(super::STATUS_CLOSED),
    })
}

/// One generated action: who acts, what, on which of the items opened so far.
#[derive(Debug, Clone, Copy)]
struct Action {
    side: usize,
    what: u8,
    target: usize,
}

/// The content of an action, given the ids of the items opened so far.
fn content_of(action: Action, items: &[String]) -> Content {
    let target = if items.is_empty() {
        "no-such-item".to_owned()
    } else {
        items
            .get(action.target % items.len())
            .cloned()
            .unwrap_or_default()
    };
    // Every step a message takes, in the table's order: all but opening an item and the
    // addressee's receipts.
    let answers: Vec<Move> = Move::ALL
        .into_iter()
        .filter(|m| !matches!(m, Move::Open | Move::Delivered | Move::Rejected))
        .collect();
    match action.what {
        0 => Content::Referral(pb::Referral::default()),
        1 => Content::InfoRequest(pb::InfoRequest::default()),
        2 => Content::ReturnRequest(pb::ReturnRequest::default()),
        3 => Content::CaseUpdate(pb::CaseUpdate {
            status: "in shelter".into(),
            ..Default::default()
        }),
        // Rare: it ends the case.
        4 => Content::ConsentWithdrawal(pb::ConsentWithdrawal::default()),
        n => answers
            .get(usize::from(n) % answers.len())
            .and_then(|mv| content_for(*mv, &target))
            .unwrap_or(Content::Referral(pb::Referral::default())),
    }
}

fn step<'a>(
    side: usize,
    id: &'a str,
    direction: &'a str,
    at_ms: u64,
    content: &'a Content,
) -> Step<'a> {
    Step {
        counterparty: ADDRESSES.get(1 - side).copied().unwrap_or_default(),
        case_ref: CASE_REF,
        message_id: id,
        direction,
        at_ms,
        priority: pb::Priority::Routine,
        content,
        sequence: 0,
    }
}

/// Each item's id and state, in the order opened.
fn states(case: &pb::StoredCase) -> Vec<(String, String, String)> {
    case.summary
        .as_ref()
        .map(|s| {
            s.items
                .iter()
                .map(|i| (i.kind.clone(), i.message_id.clone(), i.state.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn ended(case: &pb::StoredCase) -> bool {
    case.summary
        .as_ref()
        .is_some_and(|s| super::ended(s).is_some())
}

/// Sends `content` from `side` and delivers it: returns whether the sender accepted it.
fn send_and_deliver(
    cases: &mut [pb::StoredCase; 2],
    side: usize,
    id: &str,
    at_ms: u64,
    content: &Content,
) -> Result<bool, TestCaseError> {
    let [a, b] = cases;
    let (sender, receiver) = if side == 0 { (a, b) } else { (b, a) };
    let mut content = content.clone();
    super::name_closed_items(&mut content, || Some(sender.clone()));
    let content = &content;
    let before = sender.clone();
    if let Err(e) = apply(sender, &step(side, id, OUTGOING, at_ms, content)) {
        prop_assert_eq!(&*sender, &before, "refused ({}) yet changed", e);
        return Ok(false);
    }
    if let Err(e) = apply(receiver, &step(1 - side, id, INCOMING, at_ms, content)) {
        return Err(TestCaseError::fail(format!(
            "the sender accepted {content:?} but the receiver refused it: {e}"
        )));
    }
    receipt(sender, id, true, 0, at_ms);
    Ok(true)
}

/// No wedge: every step the table allows on every item is accepted by both sides.
fn no_wedge(cases: &[pb::StoredCase; 2], at_ms: u64) -> Result<(), TestCaseError> {
    let [first, _] = cases;
    if ended(first) {
        return Ok(());
    }
    let summary = first.summary.clone().unwrap_or_default();
    for item in &summary.items {
        // Side 0 opened the item when it is outgoing there.
        let opener = if item.direction == OUTGOING { 0 } else { 1 };
        for rule in TABLE
            .iter()
            .filter(|t| t.item == item.kind && t.from.contains(&item.state.as_str()))
        {
            let Some(content) = content_for(rule.step, &item.message_id) else {
                continue;
            };
            let takers: &[usize] = match rule.by {
                By::Sender => &[opener],
                By::Addressee => &[1 - opener],
                By::Either => &[0, 1],
            };
            for &side in takers {
                let mut trial = cases.clone();
                let taken = send_and_deliver(&mut trial, side, "probe", at_ms, &content)?;
                prop_assert!(
                    taken,
                    "{} {} is {}: the table allows {} by side {}, but it was refused",
                    item.kind,
                    item.message_id,
                    item.state,
                    rule.step.name(),
                    side
                );
                for copy in &trial {
                    let now = states(copy);
                    let reached = now
                        .iter()
                        .find(|(_, id, _)| *id == item.message_id)
                        .map(|(_, _, state)| state.as_str());
                    prop_assert_eq!(reached, Some(rule.to), "{}", rule.step.name());
                }
            }
        }
    }
    Ok(())
}

fn action() -> impl Strategy<Value = Action> {
    // `what` 4 (withdrawal) is drawn once in 40; the answers far more often.
    (0..2usize, 0..40u8, 0..6usize).prop_map(|(side, what, target)| Action {
        side,
        what: if what >= 15 { 5 + what % 10 } else { what },
        target,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn both_sides_agree_after_every_step_and_no_legal_step_is_refused(
        actions in proptest::collection::vec(action(), 1..40)
    ) {
        let [lefoe, astra] = ADDRESSES;
        let mut cases = [new_case(astra, CASE_REF), new_case(lefoe, CASE_REF)];
        let mut opened: Vec<String> = Vec::new();
        for (n, action) in actions.into_iter().enumerate() {
            let id = format!("m{n:03}");
            let at_ms = 1_000 + n as u64;
            let content = content_of(action, &opened);
            let taken = send_and_deliver(&mut cases, action.side, &id, at_ms, &content)?;
            let opens = matches!(
                content,
                Content::Referral(_) | Content::InfoRequest(_) | Content::ReturnRequest(_)
            );
            if taken && opens {
                opened.push(id);
            }
            let [a, b] = &cases;
            prop_assert_eq!(states(a), states(b));
            prop_assert_eq!(ended(a), ended(b));
            no_wedge(&cases, at_ms)?;
        }
        // Every state reached is one the table knows.
        let [a, _] = &cases;
        for (kind, _, state) in states(a) {
            let known = TABLE
                .iter()
                .any(|t| t.item == kind && (t.to == state || t.from.contains(&state.as_str())));
            prop_assert!(known, "{} reached {}, which the table does not know", kind, state);
            let _ = table::is_final(&kind, &state);
        }
    }
}

/// What two organisations do while messages cross: send, or deliver the oldest message in
/// flight from one side (each direction in order).
#[derive(Debug, Clone, Copy)]
enum Crossing {
    Send(Action),
    Deliver(usize),
}

/// Openings, free updates and closes from either side: the steps that cross without racing
/// for one item's next state (two answers to one item that cross, e.g. a second request for
/// information and the information supplied, do race: see the module doc).
fn crossing() -> impl Strategy<Value = Crossing> {
    let sends = (
        0..2usize,
        prop_oneof![Just(0u8), Just(1), Just(2), Just(3), Just(9)],
        0..6usize,
    )
        .prop_map(|(side, what, target)| Action { side, what, target });
    prop_oneof![
        sends.prop_map(Crossing::Send),
        (0..2usize).prop_map(Crossing::Deliver),
    ]
}

/// Delivers the oldest message `from` sent: the receiver takes the step or refuses it (a
/// REJECTED receipt goes back, as a node's would).
fn deliver_oldest(
    cases: &mut [pb::StoredCase; 2],
    in_flight: &mut [std::collections::VecDeque<(String, u64, Content)>; 2],
    from: usize,
) {
    let Some((id, at_ms, content)) = in_flight.get_mut(from).and_then(|q| q.pop_front()) else {
        return;
    };
    let [a, b] = cases;
    let (sender, receiver) = if from == 0 { (a, b) } else { (b, a) };
    let delivered = apply(receiver, &step(1 - from, &id, INCOMING, at_ms, &content)).is_ok();
    receipt(sender, &id, delivered, 0, at_ms);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// With items opened and cases closed while messages cross (both sides sending before
    /// either's message arrives), once everything in flight is delivered both sides hold the
    /// same state for every item: a close names what it closes, so an item the other side
    /// opened meanwhile stays open on both sides.
    #[test]
    fn crossing_messages_end_in_the_same_states_on_both_sides(
        moves in proptest::collection::vec(crossing(), 1..60)
    ) {
        let [lefoe, astra] = ADDRESSES;
        let mut cases = [new_case(astra, CASE_REF), new_case(lefoe, CASE_REF)];
        let mut in_flight: [std::collections::VecDeque<(String, u64, Content)>; 2] =
            Default::default();
        let mut opened: Vec<String> = Vec::new();
        for (n, m) in moves.into_iter().enumerate() {
            let at_ms = 1_000 + n as u64;
            match m {
                Crossing::Deliver(from) => deliver_oldest(&mut cases, &mut in_flight, from),
                Crossing::Send(action) => {
                    let id = format!("m{n:03}");
                    let mut content = content_of(action, &opened);
                    let [a, b] = &mut cases;
                    let sender = if action.side == 0 { a } else { b };
                    super::name_closed_items(&mut content, || Some(sender.clone()));
                    if apply(sender, &step(action.side, &id, OUTGOING, at_ms, &content)).is_ok() {
                        if matches!(
                            content,
                            Content::Referral(_) | Content::InfoRequest(_) | Content::ReturnRequest(_)
                        ) {
                            opened.push(id.clone());
                        }
                        if let Some(queue) = in_flight.get_mut(action.side) {
                            queue.push_back((id, at_ms, content));
                        }
                    }
                }
            }
        }
        while in_flight.iter().any(|q| !q.is_empty()) {
            deliver_oldest(&mut cases, &mut in_flight, 0);
            deliver_oldest(&mut cases, &mut in_flight, 1);
        }
        let [a, b] = &cases;
        prop_assert_eq!(ended(a), ended(b));
        if !ended(a) {
            // Items opened on both sides at once are listed in the order each side saw them.
            let sorted = |case: &pb::StoredCase| {
                let mut all = states(case);
                all.sort();
                all
            };
            prop_assert_eq!(sorted(a), sorted(b));
        }
    }
}
