//! Cases and their lifecycle: which message may follow which, as a pure state machine over a
//! [`pb::StoredCase`]. [`crate::store`] applies it inside the same transaction that
//! stores the message and appends its handover-log entry, for sent and received messages
//! alike, and only there: an illegal step aborts that transaction, so it is refused with
//! nothing stored, logged or queued.
//!
//! A case is keyed by the counterparty's address and the case reference together: a case
//! reference is chosen by the referring organisation, so two partners may happen to use the
//! same one, and each exchange with each partner is its own thread.
//!
//! Items and their states are in one table, [`table::TABLE`] (and `docs/lifecycle.md`, which a
//! test keeps equal to it): a referral (`sent` → `delivered` → `accepted` | `declined` |
//! `needs_information` → `information_supplied` → answered again ... → `closed`), an
//! information request (`open` → `answered` | `refused`) and a return (`requested` →
//! `confirmed` → `travelled` → `followed_up` → `closed`). This module maps each message to
//! its step and checks the step against the table; it holds no transition of its own.
//!
//! Items keep what their due times are computed from (see [`crate::deadlines`]). A consent
//! withdrawal, sent or received, ends the case: nothing more may be exchanged in it (a new
//! consent starts a new case), and the addressee erases the content it holds for it.

pub mod table;
#[cfg(test)]
mod walk;

use trm_proto::pb;

use table::{By, Move};

/// Incoming, as stored.
pub const INCOMING: &str = "incoming";
/// Outgoing, as stored.
pub const OUTGOING: &str = "outgoing";

/// Item kind: a referral.
pub const REFERRAL: &str = "referral";
/// Item kind: an information request.
pub const INFO_REQUEST: &str = "information_request";
/// Item kind: a return.
pub const RETURN: &str = "return";

/// The `CaseUpdate.status` that records that the person travelled (follow-ups are due).
pub const STATUS_TRAVELLED: &str = "travelled";
/// The `CaseUpdate.status` that closes the case's referrals and returns.
pub const STATUS_CLOSED: &str = "closed";

/// Why a message may not follow what the case already holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The message refers to an item that is not in this case.
    #[error("case {case_ref} with {counterparty} has no {} {message_id}", .kind.replace('_', " "))]
    NoSuchItem {
        /// The case reference.
        case_ref: String,
        /// The other organisation.
        counterparty: String,
        /// The item kind looked for.
        kind: &'static str,
        /// The message id referred to.
        message_id: String,
    },
    /// The message takes a step on an item that only the other side may take.
    #[error("{} {message_id} was sent by {opener}; {may}", .kind.replace('_', " "))]
    WrongSide {
        /// The item kind.
        kind: &'static str,
        /// The item's message id.
        message_id: String,
        /// Who opened it: this node or the counterparty.
        opener: String,
        /// Who may take the step, in words.
        may: &'static str,
    },
    /// A follow-up for a return that has not travelled yet.
    #[error(
        "return {message_id} has not travelled yet; a follow-up is due only after the case update with status travelled"
    )]
    NotTravelled {
        /// The return request's message id.
        message_id: String,
    },
    /// The item is in a state that does not allow this step.
    #[error("{} {message_id} is {state}; it cannot be {wanted}", .kind.replace('_', " "))]
    IllegalTransition {
        /// The item kind.
        kind: &'static str,
        /// The item's message id.
        message_id: String,
        /// Its current state.
        state: String,
        /// What the message would make it.
        wanted: String,
    },
    /// A required reference is empty.
    #[error("{0} is required")]
    MissingReference(&'static str),
    /// Consent was withdrawn in the case, or its content erased: nothing more is exchanged in it.
    #[error("case {case_ref} with {counterparty} is closed to further messages: {why}")]
    Ended {
        /// The case reference.
        case_ref: String,
        /// The other organisation.
        counterparty: String,
        /// Consent withdrawn, or content erased, and when.
        why: String,
    },
    /// The step's sequence number is not above the last one the same sender's steps in the
    /// case carried: a replayed or held-back step.
    #[error(
        "case {case_ref} with {counterparty}: step {sequence} arrived after step {last}; a replayed or held-back step is not taken"
    )]
    OutOfOrder {
        /// The case reference.
        case_ref: String,
        /// The other organisation.
        counterparty: String,
        /// The step's number (`Body.case_sequence`).
        sequence: u64,
        /// The last number taken from the same sender in the case (for a step this node
        /// sends: the number it should have carried, minus one).
        last: u64,
    },
    /// A case update with a lifecycle status has nothing to apply to.
    #[error("case {case_ref} has no {kind} that can become {status}")]
    NothingToUpdate {
        /// The case reference.
        case_ref: String,
        /// The item kind looked for.
        kind: &'static str,
        /// The status asked for.
        status: String,
    },
}

/// One message, as the case machine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The other organisation.
    pub counterparty: &'a str,
    /// The case reference.
    pub case_ref: &'a str,
    /// The message's id.
    pub message_id: &'a str,
    /// `incoming` or `outgoing`.
    pub direction: &'a str,
    /// When it was sent or received.
    pub at_ms: u64,
    /// The message's priority.
    pub priority: pb::Priority,
    /// Its content.
    pub content: &'a pb::body::Content,
    /// Its number among its sender's steps in the case (`Body.case_sequence`; 0: none).
    pub sequence: u64,
}

/// The key of a case in the store: counterparty, NUL, case reference.
pub fn case_key(counterparty: &str, case_ref: &str) -> Vec<u8> {
    let mut key = counterparty.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(case_ref.as_bytes());
    key
}

/// An empty case, before its first message.
pub fn new_case(counterparty: &str, case_ref: &str) -> pb::StoredCase {
    pb::StoredCase {
        summary: Some(pb::CaseSummary {
            case_ref: case_ref.to_owned(),
            counterparty: counterparty.to_owned(),
            ..Default::default()
        }),
        thread: Vec::new(),
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn opener(direction: &str) -> String {
    if direction == OUTGOING {
        "this node".into()
    } else {
        "the counterparty".into()
    }
}

/// Applies a message to its case: adds it to the thread and changes item states, or refuses
/// it with the case unchanged.
pub fn apply(case: &mut pb::StoredCase, step: &Step<'_>) -> Result<(), CaseError> {
    let mut summary = case.summary.clone().unwrap_or_default();
    if let Some(why) = ended(&summary) {
        return Err(CaseError::Ended {
            case_ref: summary.case_ref,
            counterparty: summary.counterparty,
            why,
        });
    }
    check_sequence(case, &summary, step)?;
    let changes = transition(&mut summary, step)?;
    summary.last_activity_ms = summary.last_activity_ms.max(step.at_ms);
    summary.messages = summary.messages.saturating_add(1);
    case.summary = Some(summary);
    case.thread.push(pb::CaseMessage {
        message_id: step.message_id.to_owned(),
        direction: step.direction.to_owned(),
        kind: crate::seal::kind_of(step.content).into(),
        at_ms: step.at_ms,
        changes,
        sequence: step.sequence,
    });
    Ok(())
}

/// The number this node's next step in `case` carries: one more than the steps it sent in it
/// (1 for the first; a case with no thread yet starts there too).
pub fn next_sequence(case: &pb::StoredCase) -> u64 {
    let sent = case
        .thread
        .iter()
        .filter(|m| m.direction == OUTGOING)
        .count();
    u64::try_from(sent).unwrap_or(u64::MAX).saturating_add(1)
}

/// A numbered step must follow its side's steps in the case: an incoming one must be above
/// the highest number the counterparty's steps carried (gaps are allowed: a step the addressee
/// refused still took its number), an outgoing one must be [`next_sequence`]. Steps without a
/// number (0: sealed before numbers existed) are taken as before.
fn check_sequence(
    case: &pb::StoredCase,
    summary: &pb::CaseSummary,
    step: &Step<'_>,
) -> Result<(), CaseError> {
    if step.sequence == 0 {
        return Ok(());
    }
    let (ok, last) = if step.direction == OUTGOING {
        let expected = next_sequence(case);
        (step.sequence == expected, expected.saturating_sub(1))
    } else {
        let last = case
            .thread
            .iter()
            .filter(|m| m.direction == INCOMING)
            .map(|m| m.sequence)
            .max()
            .unwrap_or(0);
        (step.sequence > last, last)
    };
    if ok {
        Ok(())
    } else {
        Err(CaseError::OutOfOrder {
            case_ref: summary.case_ref.clone(),
            counterparty: summary.counterparty.clone(),
            sequence: step.sequence,
            last,
        })
    }
}

/// Whether a message belongs to a case: everything but audit traffic (a coordinator's witness
/// request), which has no case, no case key and no content kept.
pub fn is_case_traffic(content: &pb::body::Content) -> bool {
    !matches!(content, pb::body::Content::WitnessRequest(_))
}

/// Why nothing more may be exchanged in the case, if so.
pub fn ended(summary: &pb::CaseSummary) -> Option<String> {
    if summary.erased_at_ms != 0 {
        Some(format!(
            "its content was erased on {} ({})",
            trm_proto::time::format_ms(summary.erased_at_ms),
            summary.erased_reason
        ))
    } else if summary.consent_withdrawn_at_ms != 0 {
        Some(format!(
            "consent was withdrawn on {}; a new consent starts a new case",
            trm_proto::time::format_ms(summary.consent_withdrawn_at_ms)
        ))
    } else {
        None
    }
}

/// Records the addressee's receipt for a message this node sent: a referral becomes
/// `delivered` or `rejected` (its [`Move::Delivered`] or [`Move::Rejected`] step); a delivered
/// consent withdrawal notes how many messages the addressee erased. Returns whether anything
/// changed.
pub fn receipt(
    case: &mut pb::StoredCase,
    message_id: &str,
    delivered: bool,
    erased_messages: u32,
    at_ms: u64,
) -> bool {
    let Some(summary) = case.summary.as_mut() else {
        return false;
    };
    let withdrawal = case.thread.iter_mut().find(|m| {
        m.message_id == message_id
            && m.direction == OUTGOING
            && m.kind == i32::from(pb::MessageKind::ConsentWithdrawal)
    });
    if let (Some(entry), true) = (withdrawal, delivered) {
        entry.changes.push(format!(
            "erasure acknowledged by the addressee: content of {erased_messages} messages erased"
        ));
        summary.last_activity_ms = summary.last_activity_ms.max(at_ms);
        return true;
    }
    let step = if delivered {
        Move::Delivered
    } else {
        Move::Rejected
    };
    let Some((item, to)) = summary.items.iter_mut().find_map(|i| {
        let to = table::next(&i.kind, &i.state, step)?;
        (i.message_id == message_id && i.direction == OUTGOING).then_some((i, to))
    }) else {
        return false;
    };
    item.state = to.into();
    item.updated_at_ms = at_ms;
    let change = format!("{} {to}", item.kind.replace('_', " "));
    summary.last_activity_ms = summary.last_activity_ms.max(at_ms);
    if let Some(entry) = case.thread.iter_mut().find(|m| m.message_id == message_id) {
        entry.changes.push(change);
    }
    true
}

/// Opens an item with its [`Move::Open`] step; the addressee's copy also takes the item's
/// [`Move::Delivered`] step at once (it is stored, so it is delivered).
fn open_item(
    summary: &mut pb::CaseSummary,
    kind: &'static str,
    step: &Step<'_>,
    stated_deadline_ms: u64,
) -> Result<String, CaseError> {
    let opened = table::rule(kind, Move::Open).map(|t| t.to);
    let Some(mut state) = opened else {
        return Err(CaseError::NothingToUpdate {
            case_ref: summary.case_ref.clone(),
            kind,
            status: Move::Open.done().into(),
        });
    };
    if step.direction == INCOMING {
        state = table::next(kind, state, Move::Delivered).unwrap_or(state);
    }
    summary.items.push(pb::CaseItem {
        kind: kind.to_owned(),
        message_id: step.message_id.to_owned(),
        direction: step.direction.to_owned(),
        state: state.to_owned(),
        updated_at_ms: step.at_ms,
        opened_at_ms: step.at_ms,
        priority: step.priority.into(),
        stated_deadline_ms,
        ..Default::default()
    });
    Ok(format!(
        "{} {} {state}",
        kind.replace('_', " "),
        short(step.message_id)
    ))
}

/// Whether the side taking `step` (its `direction`) may take a step `by` on an item opened
/// in `item_direction`.
fn side_may(by: By, item_direction: &str, direction: &str) -> bool {
    match by {
        By::Sender => item_direction == direction,
        By::Addressee => item_direction != direction,
        By::Either => true,
    }
}

/// Takes `mv` on the item of `kind` that `referred` names, as the table allows: the item must
/// exist, the side must be the one the table names, and its state one the step is taken from.
fn take(
    summary: &mut pb::CaseSummary,
    step: &Step<'_>,
    kind: &'static str,
    referred: &str,
    mv: Move,
) -> Result<&'static str, CaseError> {
    let case_ref = summary.case_ref.clone();
    let counterparty = summary.counterparty.clone();
    let item = summary
        .items
        .iter_mut()
        .find(|i| i.kind == kind && i.message_id == referred)
        .ok_or_else(|| CaseError::NoSuchItem {
            case_ref,
            counterparty,
            kind,
            message_id: referred.to_owned(),
        })?;
    let illegal = || CaseError::IllegalTransition {
        kind,
        message_id: referred.to_owned(),
        state: item.state.replace('_', " "),
        wanted: mv.done().to_owned(),
    };
    let Some(rule) = table::rule(kind, mv) else {
        return Err(illegal());
    };
    if !side_may(rule.by, &item.direction, step.direction) {
        return Err(CaseError::WrongSide {
            kind,
            message_id: referred.to_owned(),
            opener: opener(&item.direction),
            may: if rule.by == By::Sender {
                "only the organisation that sent it can supply what was asked for"
            } else {
                "only its addressee can answer it"
            },
        });
    }
    if !rule.from.contains(&item.state.as_str()) {
        if mv == Move::FollowUp && table::is_before(kind, &item.state, Move::Travelled) {
            return Err(CaseError::NotTravelled {
                message_id: referred.to_owned(),
            });
        }
        return Err(illegal());
    }
    item.state = rule.to.to_owned();
    item.updated_at_ms = step.at_ms;
    if mv == Move::FollowUp {
        item.follow_ups = item.follow_ups.saturating_add(1);
    }
    Ok(rule.to)
}

/// [`take`], and the thread's words for it.
fn answer(
    summary: &mut pb::CaseSummary,
    step: &Step<'_>,
    kind: &'static str,
    referred: &str,
    mv: Move,
) -> Result<String, CaseError> {
    let to = take(summary, step, kind, referred, mv)?;
    Ok(format!(
        "{} {} {to}",
        kind.replace('_', " "),
        short(referred)
    ))
}

fn required<'a>(value: &'a str, field: &'static str) -> Result<&'a str, CaseError> {
    if value.is_empty() {
        Err(CaseError::MissingReference(field))
    } else {
        Ok(value)
    }
}

fn transition(summary: &mut pb::CaseSummary, step: &Step<'_>) -> Result<Vec<String>, CaseError> {
    use pb::body::Content;
    let change = match step.content {
        Content::Referral(_) => open_item(summary, REFERRAL, step, 0)?,
        Content::ReferralResponse(response) => {
            let referred = required(
                &response.referral_message_id,
                "referral_response.referral_message_id",
            )?;
            use pb::referral_response::Decision;
            let mv = match Decision::try_from(response.decision) {
                Ok(Decision::Accepted) => Move::Accept,
                Ok(Decision::Declined) => Move::Decline,
                Ok(Decision::NeedsInformation) => Move::AskForInformation,
                _ => return Err(CaseError::MissingReference("referral_response.decision")),
            };
            answer(summary, step, REFERRAL, referred, mv)?
        }
        Content::InformationSupplied(supplement) => {
            let referred = required(
                &supplement.referral_message_id,
                "information_supplied.referral_message_id",
            )?;
            answer(summary, step, REFERRAL, referred, Move::SupplyInformation)?
        }
        Content::InfoRequest(request) => {
            open_item(summary, INFO_REQUEST, step, request.deadline_ms)?
        }
        Content::InfoResponse(response) => {
            let referred = required(
                &response.request_message_id,
                "info_response.request_message_id",
            )?;
            let refused = response.refusal_reason != 0 || response.information.is_empty();
            let mv = if refused { Move::Refuse } else { Move::Answer };
            answer(summary, step, INFO_REQUEST, referred, mv)?
        }
        Content::ReturnRequest(request) => {
            open_item(summary, RETURN, step, request.travel_date_ms)?
        }
        Content::ReturnConfirmation(confirmation) => {
            let referred = required(
                &confirmation.return_request_message_id,
                "return_confirmation.return_request_message_id",
            )?;
            answer(summary, step, RETURN, referred, Move::Confirm)?
        }
        Content::FollowUp(follow_up) => {
            let referred = required(
                &follow_up.return_request_message_id,
                "follow_up.return_request_message_id",
            )?;
            answer(summary, step, RETURN, referred, Move::FollowUp)?
        }
        Content::CaseUpdate(update) => return case_update(summary, step, update),
        // Audit traffic, not part of any case (see `is_case_traffic`; the store keeps it out).
        Content::WitnessRequest(_) => return Ok(Vec::new()),
        Content::ConsentWithdrawal(_) => {
            if summary.messages == 0 {
                return Err(CaseError::NothingToUpdate {
                    case_ref: summary.case_ref.clone(),
                    kind: "exchanged message",
                    status: "consent withdrawn".into(),
                });
            }
            summary.consent_withdrawn_at_ms = step.at_ms;
            "consent withdrawn: nothing more is exchanged in this case".to_owned()
        }
    };
    Ok(vec![change])
}

/// Whether a case update's status is `closed`.
fn closes(update: &pb::CaseUpdate) -> bool {
    update.status.trim().eq_ignore_ascii_case(STATUS_CLOSED)
}

/// Before sealing: a `closed` case update that names no items gets the referrals and returns
/// the sender's case (read by `case` only then) can close now (none when there is no case yet), so that the addressee
/// closes the same ones even if it opened another item while the update was on its way.
pub fn name_closed_items(
    content: &mut pb::body::Content,
    case: impl FnOnce() -> Option<pb::StoredCase>,
) {
    let pb::body::Content::CaseUpdate(update) = content else {
        return;
    };
    if !closes(update) || !update.closed_items.is_empty() {
        return;
    }
    let case = case();
    let items = case
        .as_ref()
        .and_then(|c| c.summary.as_ref())
        .map(|s| s.items.as_slice())
        .unwrap_or_default();
    update.closed_items = items
        .iter()
        .filter(|i| table::next(&i.kind, &i.state, Move::Close).is_some())
        .map(|i| i.message_id.clone())
        .collect();
}

/// A case update's lifecycle status: `travelled` takes the [`Move::Travelled`] step and
/// `closed` the [`Move::Close`] step on every item the table allows it on (of those it names
/// in `closed_items`, when it names any); any other status changes no state.
fn case_update(
    summary: &mut pb::CaseSummary,
    step: &Step<'_>,
    update: &pb::CaseUpdate,
) -> Result<Vec<String>, CaseError> {
    let status = update.status.trim().to_ascii_lowercase();
    let named =
        |id: &str| update.closed_items.is_empty() || update.closed_items.iter().any(|n| n == id);
    let (mv, wanted) = match status.as_str() {
        STATUS_TRAVELLED => (Move::Travelled, "confirmed return"),
        STATUS_CLOSED => (Move::Close, "open referral or return"),
        _ => return Ok(Vec::new()),
    };
    let mut changes = Vec::new();
    for item in summary.items.iter_mut() {
        let Some(rule) = table::rule(&item.kind, mv) else {
            continue;
        };
        if !rule.from.contains(&item.state.as_str())
            || !side_may(rule.by, &item.direction, step.direction)
            || (mv == Move::Close && !named(&item.message_id))
        {
            continue;
        }
        item.state = rule.to.to_owned();
        item.updated_at_ms = step.at_ms;
        if mv == Move::Travelled {
            item.travelled_at_ms = step.at_ms;
        }
        changes.push(format!(
            "{} {} {}",
            item.kind.replace('_', " "),
            short(&item.message_id),
            rule.to
        ));
    }
    if changes.is_empty() {
        return Err(CaseError::NothingToUpdate {
            case_ref: summary.case_ref.clone(),
            kind: wanted,
            status,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::body::Content;

    fn step<'a>(id: &'a str, direction: &'a str, content: &'a Content) -> Step<'a> {
        Step {
            counterparty: "atina@rs",
            case_ref: "C-1",
            message_id: id,
            direction,
            at_ms: 1,
            priority: pb::Priority::Routine,
            content,
            sequence: 0,
        }
    }

    #[test]
    fn a_numbered_step_must_follow_its_sides_last() -> Result<(), CaseError> {
        let mut case = new_case("atina@rs", "C-1");
        let referral = Content::Referral(pb::Referral::default());
        let numbered = |id, direction, sequence, content| Step {
            sequence,
            ..step(id, direction, content)
        };
        apply(&mut case, &numbered("r1", INCOMING, 1, &referral))?;
        // A gap is allowed: the sender's step 2 may have been refused here.
        apply(&mut case, &numbered("r3", INCOMING, 3, &referral))?;
        for (id, late) in [("r2", 2), ("r3b", 3)] {
            let refused = apply(&mut case, &numbered(id, INCOMING, late, &referral));
            assert!(
                matches!(refused, Err(CaseError::OutOfOrder { sequence, last: 3, .. }) if sequence == late),
                "{refused:?}"
            );
        }
        assert_eq!(case.thread.len(), 2, "a refused step changes nothing");
        // Unnumbered steps (sealed before numbers existed) are taken as before.
        apply(&mut case, &numbered("old", INCOMING, 0, &referral))?;
        // This node's own steps count from 1, one by one.
        assert_eq!(next_sequence(&case), 1);
        assert!(apply(&mut case, &numbered("o2", OUTGOING, 2, &referral)).is_err());
        apply(&mut case, &numbered("o1", OUTGOING, 1, &referral))?;
        assert_eq!(next_sequence(&case), 2);
        Ok(())
    }

    fn response(id: &str, decision: pb::referral_response::Decision) -> Content {
        Content::ReferralResponse(pb::ReferralResponse {
            referral_message_id: id.into(),
            decision: decision.into(),
            ..Default::default()
        })
    }

    fn state(case: &pb::StoredCase, id: &str) -> String {
        let summary = case.summary.clone().unwrap_or_default();
        summary
            .items
            .iter()
            .find(|i| i.message_id == id)
            .map(|i| i.state.clone())
            .unwrap_or_default()
    }

    #[test]
    fn referral_is_accepted_once() -> Result<(), CaseError> {
        use pb::referral_response::Decision;
        let mut case = new_case("atina@rs", "C-1");
        let referral = Content::Referral(pb::Referral::default());
        apply(&mut case, &step("r1", OUTGOING, &referral))?;
        assert!(receipt(&mut case, "r1", true, 0, 2));
        assert_eq!(state(&case, "r1"), "delivered");
        let accept = response("r1", Decision::Accepted);
        apply(&mut case, &step("a1", INCOMING, &accept))?;
        assert_eq!(state(&case, "r1"), "accepted");
        let again = apply(&mut case, &step("a2", INCOMING, &accept)).err();
        assert!(matches!(again, Some(CaseError::IllegalTransition { .. })));
        assert_eq!(case.thread.len(), 2);
        Ok(())
    }

    #[test]
    fn a_referral_that_needs_information_is_answered_again_then_closed() -> Result<(), CaseError> {
        use pb::referral_response::Decision;
        let mut case = new_case("atina@rs", "C-1");
        let referral = Content::Referral(pb::Referral::default());
        apply(&mut case, &step("r1", INCOMING, &referral))?;
        let needs = response("r1", Decision::NeedsInformation);
        apply(&mut case, &step("n1", OUTGOING, &needs))?;
        assert_eq!(state(&case, "r1"), "needs_information");
        let decline = response("r1", Decision::Declined);
        apply(&mut case, &step("d1", OUTGOING, &decline))?;
        assert_eq!(state(&case, "r1"), "declined");
        let closed = Content::CaseUpdate(pb::CaseUpdate {
            status: "Closed".into(),
            ..Default::default()
        });
        apply(&mut case, &step("u1", INCOMING, &closed))?;
        assert_eq!(state(&case, "r1"), "closed");
        let late = response("r1", Decision::Accepted);
        let e = apply(&mut case, &step("a1", OUTGOING, &late)).err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some("referral r1 is closed; it cannot be accepted".to_owned())
        );
        Ok(())
    }

    #[test]
    fn own_referral_cannot_be_answered_by_its_sender() -> Result<(), CaseError> {
        use pb::referral_response::Decision;
        let mut case = new_case("atina@rs", "C-1");
        let referral = Content::Referral(pb::Referral::default());
        apply(&mut case, &step("r1", OUTGOING, &referral))?;
        let accept = response("r1", Decision::Accepted);
        let e = apply(&mut case, &step("a1", OUTGOING, &accept)).err();
        assert!(matches!(e, Some(CaseError::WrongSide { .. })), "{e:?}");
        let unknown = response("r9", Decision::Declined);
        let e = apply(&mut case, &step("a2", INCOMING, &unknown)).err();
        assert!(matches!(e, Some(CaseError::NoSuchItem { .. })), "{e:?}");
        Ok(())
    }

    #[test]
    fn return_lifecycle() -> Result<(), CaseError> {
        let mut case = new_case("atina@rs", "C-1");
        let follow_up = Content::FollowUp(pb::FollowUp {
            return_request_message_id: "q1".into(),
            ..Default::default()
        });
        let confirm = Content::ReturnConfirmation(pb::ReturnConfirmation {
            return_request_message_id: "q1".into(),
            ..Default::default()
        });
        let e = apply(&mut case, &step("c1", INCOMING, &confirm)).err();
        assert!(matches!(e, Some(CaseError::NoSuchItem { .. })), "{e:?}");
        let request = Content::ReturnRequest(pb::ReturnRequest::default());
        apply(&mut case, &step("q1", OUTGOING, &request))?;
        let early = "return q1 has not travelled yet; a follow-up is due only after the case update with status travelled";
        let e = apply(&mut case, &step("f0", INCOMING, &follow_up)).err();
        assert_eq!(e.map(|e| e.to_string()).as_deref(), Some(early));
        apply(&mut case, &step("c1", INCOMING, &confirm))?;
        let before = case.clone();
        let e = apply(&mut case, &step("f0", INCOMING, &follow_up)).err();
        assert_eq!(e.map(|e| e.to_string()).as_deref(), Some(early));
        assert_eq!(case, before, "a refused follow-up changes nothing");
        let travelled = Content::CaseUpdate(pb::CaseUpdate {
            status: "travelled".into(),
            ..Default::default()
        });
        apply(&mut case, &step("u1", OUTGOING, &travelled))?;
        assert_eq!(state(&case, "q1"), "travelled");
        apply(&mut case, &step("f1", INCOMING, &follow_up))?;
        assert_eq!(state(&case, "q1"), "followed_up");
        let closed = Content::CaseUpdate(pb::CaseUpdate {
            status: "closed".into(),
            ..Default::default()
        });
        apply(&mut case, &step("u2", OUTGOING, &closed))?;
        assert_eq!(state(&case, "q1"), "closed");
        let e = apply(&mut case, &step("u3", OUTGOING, &closed)).err();
        assert!(
            matches!(e, Some(CaseError::NothingToUpdate { .. })),
            "{e:?}"
        );
        Ok(())
    }

    fn supplement(id: &str) -> Content {
        Content::InformationSupplied(pb::ReferralSupplement {
            referral_message_id: id.into(),
            answers: vec![pb::SuppliedItem {
                missing_information: "date of the last contact with the exploiters".into(),
                answer: "2026-11-20".into(),
            }],
            ..Default::default()
        })
    }

    #[test]
    fn the_referring_side_supplies_what_was_missing_and_the_referral_awaits_an_answer_again()
    -> Result<(), CaseError> {
        use pb::referral_response::Decision;
        let mut case = new_case("atina@rs", "C-1");
        let referral = Content::Referral(pb::Referral::default());
        apply(&mut case, &step("r1", OUTGOING, &referral))?;
        let e = apply(&mut case, &step("s0", OUTGOING, &supplement("r1"))).err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("referral r1 is sent; it cannot be supplemented")
        );
        let needs = response("r1", Decision::NeedsInformation);
        apply(&mut case, &step("n1", INCOMING, &needs))?;
        let e = apply(&mut case, &step("s1", INCOMING, &supplement("r1"))).err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some(
                "referral r1 was sent by this node; only the organisation that sent it can supply what was asked for"
            )
        );
        apply(&mut case, &step("s1", OUTGOING, &supplement("r1")))?;
        assert_eq!(state(&case, "r1"), "information_supplied");
        let e = apply(&mut case, &step("s2", OUTGOING, &supplement("r1"))).err();
        assert!(
            matches!(e, Some(CaseError::IllegalTransition { .. })),
            "{e:?}"
        );
        apply(
            &mut case,
            &step("a1", INCOMING, &response("r1", Decision::Accepted)),
        )?;
        assert_eq!(state(&case, "r1"), "accepted");
        Ok(())
    }

    #[test]
    fn a_close_closes_what_its_sender_named_and_not_what_crossed_it() -> Result<(), CaseError> {
        let mut case = new_case("atina@rs", "C-1");
        let referral = Content::Referral(pb::Referral::default());
        apply(&mut case, &step("r1", INCOMING, &referral))?;
        let mut close = Content::CaseUpdate(pb::CaseUpdate {
            status: "closed".into(),
            ..Default::default()
        });
        name_closed_items(&mut close, || Some(case.clone()));
        let Content::CaseUpdate(named) = &close else {
            panic!("still a case update");
        };
        assert_eq!(named.closed_items, ["r1"]);
        // The partner's second referral arrives before this close does.
        apply(&mut case, &step("r2", INCOMING, &referral))?;
        apply(&mut case, &step("u1", OUTGOING, &close))?;
        assert_eq!(state(&case, "r1"), "closed");
        assert_eq!(state(&case, "r2"), "delivered");
        Ok(())
    }

    #[test]
    fn info_request_answered_or_refused() -> Result<(), CaseError> {
        let mut case = new_case("atina@rs", "C-1");
        let request = Content::InfoRequest(pb::InfoRequest::default());
        apply(&mut case, &step("i1", INCOMING, &request))?;
        let refusal = Content::InfoResponse(pb::InfoResponse {
            request_message_id: "i1".into(),
            refusal_reason: pb::InfoRefusalReason::NoConsent.into(),
            ..Default::default()
        });
        apply(&mut case, &step("o1", OUTGOING, &refusal))?;
        assert_eq!(state(&case, "i1"), "refused");
        Ok(())
    }

    #[test]
    fn a_consent_withdrawal_ends_the_case_in_both_directions() -> Result<(), CaseError> {
        let mut case = new_case("atina@rs", "C-1");
        let withdrawal = Content::ConsentWithdrawal(pb::ConsentWithdrawal::default());
        assert!(
            matches!(
                apply(&mut case, &step("w0", OUTGOING, &withdrawal)),
                Err(CaseError::NothingToUpdate { .. })
            ),
            "nothing to withdraw in an empty case"
        );
        let referral = Content::Referral(pb::Referral::default());
        apply(&mut case, &step("r1", OUTGOING, &referral))?;
        apply(&mut case, &step("w1", OUTGOING, &withdrawal))?;
        for direction in [OUTGOING, INCOMING] {
            let answer = response("r1", pb::referral_response::Decision::Accepted);
            assert!(matches!(
                apply(&mut case, &step("x", direction, &answer)),
                Err(CaseError::Ended { .. })
            ));
        }
        assert!(receipt(&mut case, "w1", true, 3, 2));
        let changes = &case
            .thread
            .last()
            .map(|m| m.changes.clone())
            .unwrap_or_default();
        assert!(
            changes.iter().any(|c| c.contains("3 messages erased")),
            "{changes:?}"
        );
        Ok(())
    }

    #[test]
    fn every_illegal_step_is_refused_with_the_case_unchanged() -> Result<(), CaseError> {
        let mut case = new_case("atina@rs", "C-1");
        apply(
            &mut case,
            &step(
                "q1",
                OUTGOING,
                &Content::ReturnRequest(pb::ReturnRequest::default()),
            ),
        )?;
        apply(
            &mut case,
            &step(
                "i1",
                INCOMING,
                &Content::InfoRequest(pb::InfoRequest::default()),
            ),
        )?;
        let confirm = Content::ReturnConfirmation(pb::ReturnConfirmation {
            return_request_message_id: "q1".into(),
            ..Default::default()
        });
        apply(&mut case, &step("c1", INCOMING, &confirm))?;
        let answer = Content::InfoResponse(pb::InfoResponse {
            request_message_id: "i1".into(),
            information: "known".into(),
            ..Default::default()
        });
        apply(&mut case, &step("o1", OUTGOING, &answer))?;
        let travelled_twice = Content::CaseUpdate(pb::CaseUpdate {
            status: "travelled".into(),
            ..Default::default()
        });
        apply(&mut case, &step("u1", OUTGOING, &travelled_twice))?;
        let unanchored = Content::ReturnConfirmation(pb::ReturnConfirmation::default());
        let illegal: [(&str, &str, &Content, &str); 5] = [
            (
                "c2",
                INCOMING,
                &confirm,
                "return q1 is travelled; it cannot be confirmed",
            ),
            (
                "o2",
                OUTGOING,
                &answer,
                "information request i1 is answered; it cannot be answered",
            ),
            (
                "u2",
                OUTGOING,
                &travelled_twice,
                "case C-1 has no confirmed return that can become travelled",
            ),
            (
                "c3",
                INCOMING,
                &unanchored,
                "return_confirmation.return_request_message_id is required",
            ),
            (
                "o3",
                INCOMING,
                &answer,
                "information request i1 was sent by the counterparty; only its addressee can answer it",
            ),
        ];
        for (id, direction, content, expected) in illegal {
            let before = case.clone();
            let e = apply(&mut case, &step(id, direction, content)).err();
            assert_eq!(e.map(|e| e.to_string()).as_deref(), Some(expected), "{id}");
            assert_eq!(case, before, "{id}: the case is unchanged");
        }
        Ok(())
    }
}
