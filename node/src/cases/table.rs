//! The lifecycle table: every state change of a referral, an information request and a
//! return, with who may make it. [`super`] takes its transitions from here and nowhere else,
//! and `docs/lifecycle.md` holds the same table (a test below compares the two).

/// Who may take a step on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The organisation that sent the item's opening message.
    Sender,
    /// The organisation the item was sent to (for receipts: its node).
    Addressee,
    /// Either organisation.
    Either,
}

impl By {
    /// The word in the documentation's table.
    pub const fn name(self) -> &'static str {
        match self {
            By::Sender => "sender",
            By::Addressee => "addressee",
            By::Either => "either",
        }
    }
}

/// A step in an item's lifecycle, and the message that takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The item's own message: a referral, an information request, a return request.
    Open,
    /// The addressee's node signed a DELIVERED receipt for it.
    Delivered,
    /// The addressee's node signed a REJECTED receipt for it.
    Rejected,
    /// A referral response with decision `accepted`.
    Accept,
    /// A referral response with decision `declined`.
    Decline,
    /// A referral response with decision `needs_information`.
    AskForInformation,
    /// An `information_supplied` message.
    SupplyInformation,
    /// An information response carrying the information.
    Answer,
    /// An information response refusing it.
    Refuse,
    /// A return confirmation.
    Confirm,
    /// A case update with status `travelled`.
    Travelled,
    /// A post-return follow-up.
    FollowUp,
    /// A case update with status `closed`.
    Close,
}

impl Move {
    /// Every step, in the order of the documentation.
    pub const ALL: [Move; 13] = [
        Move::Open,
        Move::Delivered,
        Move::Rejected,
        Move::Accept,
        Move::Decline,
        Move::AskForInformation,
        Move::SupplyInformation,
        Move::Answer,
        Move::Refuse,
        Move::Confirm,
        Move::Travelled,
        Move::FollowUp,
        Move::Close,
    ];

    /// The step's name in the documentation's table.
    pub const fn name(self) -> &'static str {
        match self {
            Move::Open => "open",
            Move::Delivered => "delivered receipt",
            Move::Rejected => "rejected receipt",
            Move::Accept => "accept",
            Move::Decline => "decline",
            Move::AskForInformation => "ask for information",
            Move::SupplyInformation => "supply information",
            Move::Answer => "answer",
            Move::Refuse => "refuse",
            Move::Confirm => "confirm",
            Move::Travelled => "travelled update",
            Move::FollowUp => "follow-up",
            Move::Close => "closed update",
        }
    }

    /// What the step would make of the item, for "it cannot be ...".
    pub const fn done(self) -> &'static str {
        match self {
            Move::Open => "opened",
            Move::Delivered => "delivered",
            Move::Rejected => "rejected",
            Move::Accept => "accepted",
            Move::Decline => "declined",
            Move::AskForInformation => "asked for more information",
            Move::SupplyInformation => "supplemented",
            Move::Answer => "answered",
            Move::Refuse => "refused",
            Move::Confirm => "confirmed",
            Move::Travelled => "travelled",
            Move::FollowUp => "followed up",
            Move::Close => "closed",
        }
    }
}

/// One row of the table: in `from`, `by` may take `step`, and the item becomes `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The item kind ([`super::REFERRAL`], [`super::INFO_REQUEST`], [`super::RETURN`]).
    pub item: &'static str,
    /// The states the step is taken from; empty for [`Move::Open`] (no item yet).
    pub from: &'static [&'static str],
    /// The step.
    pub step: Move,
    /// Who may take it.
    pub by: By,
    /// The state after it.
    pub to: &'static str,
}

const fn row(
    item: &'static str,
    from: &'static [&'static str],
    step: Move,
    by: By,
    to: &'static str,
) -> Transition {
    Transition {
        item,
        from,
        step,
        by,
        to,
    }
}

use super::{INFO_REQUEST, REFERRAL, RETURN};

/// A referral waiting for its addressee's answer. `rejected` is among them: a referral its
/// broker reported expired may still have reached the addressee, whose own signed word (a
/// DELIVERED receipt, an answer) decides.
const REFERRAL_UNANSWERED: &[&str] = &[
    "sent",
    "delivered",
    "rejected",
    "needs_information",
    "information_supplied",
];
/// A referral not closed yet.
const REFERRAL_OPEN: &[&str] = &[
    "sent",
    "delivered",
    "rejected",
    "accepted",
    "declined",
    "needs_information",
    "information_supplied",
];
/// A return not closed yet.
const RETURN_OPEN: &[&str] = &["requested", "confirmed", "travelled", "followed_up"];

/// The lifecycle: the only place transitions live. The addressee's own copy of an item takes
/// its [`Move::Delivered`] step (if the item has one) as soon as it is stored: a referral
/// received is `delivered` at once.
pub const TABLE: &[Transition] = &[
    row(REFERRAL, &[], Move::Open, By::Sender, "sent"),
    row(
        REFERRAL,
        &["sent", "rejected"],
        Move::Delivered,
        By::Addressee,
        "delivered",
    ),
    row(
        REFERRAL,
        &["sent"],
        Move::Rejected,
        By::Addressee,
        "rejected",
    ),
    row(
        REFERRAL,
        REFERRAL_UNANSWERED,
        Move::Accept,
        By::Addressee,
        "accepted",
    ),
    row(
        REFERRAL,
        REFERRAL_UNANSWERED,
        Move::Decline,
        By::Addressee,
        "declined",
    ),
    row(
        REFERRAL,
        REFERRAL_UNANSWERED,
        Move::AskForInformation,
        By::Addressee,
        "needs_information",
    ),
    row(
        REFERRAL,
        &["needs_information"],
        Move::SupplyInformation,
        By::Sender,
        "information_supplied",
    ),
    row(REFERRAL, REFERRAL_OPEN, Move::Close, By::Either, "closed"),
    row(INFO_REQUEST, &[], Move::Open, By::Sender, "open"),
    row(
        INFO_REQUEST,
        &["open"],
        Move::Answer,
        By::Addressee,
        "answered",
    ),
    row(
        INFO_REQUEST,
        &["open"],
        Move::Refuse,
        By::Addressee,
        "refused",
    ),
    row(RETURN, &[], Move::Open, By::Sender, "requested"),
    row(
        RETURN,
        &["requested"],
        Move::Confirm,
        By::Addressee,
        "confirmed",
    ),
    row(
        RETURN,
        &["confirmed"],
        Move::Travelled,
        By::Either,
        "travelled",
    ),
    row(
        RETURN,
        &["travelled", "followed_up"],
        Move::FollowUp,
        By::Addressee,
        "followed_up",
    ),
    row(RETURN, RETURN_OPEN, Move::Close, By::Either, "closed"),
];

/// The row for `step` on an item of kind `item`, if the item kind has that step at all.
pub fn rule(item: &str, step: Move) -> Option<&'static Transition> {
    TABLE.iter().find(|t| t.item == item && t.step == step)
}

/// The state `step` moves an item of kind `item` in `state` to, if the table allows it.
pub fn next(item: &str, state: &str, step: Move) -> Option<&'static str> {
    rule(item, step)
        .filter(|t| t.from.contains(&state))
        .map(|t| t.to)
}

/// Whether `step` still lies ahead of an item of kind `item` in `state`: the step is taken
/// from `state`, or from a state the table leads to from it.
pub fn is_before(item: &str, state: &str, step: Move) -> bool {
    let Some(target) = rule(item, step) else {
        return false;
    };
    let mut seen: Vec<&str> = vec![state];
    let mut next_index = 0;
    while let Some(current) = seen.get(next_index).copied() {
        if target.from.contains(&current) {
            return true;
        }
        for t in TABLE
            .iter()
            .filter(|t| t.item == item && t.from.contains(&current))
        {
            if !seen.contains(&t.to) {
                seen.push(t.to);
            }
        }
        next_index += 1;
    }
    false
}

/// Whether an item in `state` can never change again.
pub fn is_final(item: &str, state: &str) -> bool {
    !TABLE
        .iter()
        .any(|t| t.item == item && t.from.contains(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documentation, whose table must say what [`TABLE`] says.
    const DOC: &str = include_str!("../../../docs/lifecycle.md");

    /// A row as the documentation writes it.
    fn rendered(t: &Transition) -> [String; 5] {
        let from = if t.from.is_empty() {
            "—".to_owned()
        } else {
            t.from.join(", ")
        };
        [
            t.item.to_owned(),
            from,
            t.step.name().to_owned(),
            t.by.name().to_owned(),
            t.to.to_owned(),
        ]
    }

    /// The rows of the documentation's lifecycle table (the one whose header starts with
    /// `Item`), backticks removed.
    fn doc_rows() -> Vec<[String; 5]> {
        let mut rows = Vec::new();
        let mut in_table = false;
        for line in DOC.lines() {
            let line = line.trim();
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('`', ""))
                .collect();
            if cells.first().is_some_and(|c| c == "Item") {
                in_table = true;
                continue;
            }
            if !in_table
                || cells
                    .iter()
                    .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                continue;
            }
            let [item, from, step, by, to] = cells.as_slice() else {
                panic!("a lifecycle row has five cells: {line}");
            };
            rows.push([item, from, step, by, to].map(String::clone));
        }
        rows
    }

    #[test]
    fn the_documentation_shows_the_table_the_code_runs() {
        let code: Vec<[String; 5]> = TABLE.iter().map(rendered).collect();
        assert_eq!(
            doc_rows(),
            code,
            "docs/lifecycle.md and cases::table::TABLE differ"
        );
    }

    #[test]
    fn every_step_has_one_row_per_item_and_every_state_is_reached() {
        for item in [REFERRAL, INFO_REQUEST, RETURN] {
            for step in Move::ALL {
                let rows = TABLE
                    .iter()
                    .filter(|t| t.item == item && t.step == step)
                    .count();
                assert!(rows <= 1, "{item}: {} has {rows} rows", step.name());
            }
            let opened = rule(item, Move::Open).map(|t| t.to);
            for t in TABLE.iter().filter(|t| t.item == item) {
                for from in t.from {
                    let reached = Some(*from) == opened
                        || TABLE.iter().any(|o| o.item == item && o.to == *from);
                    assert!(reached, "{item}: {from} is never reached");
                }
            }
        }
        assert!(is_final(REFERRAL, "closed"));
        assert!(
            !is_final(REFERRAL, "declined"),
            "a declined referral can be closed"
        );
        assert_eq!(next(RETURN, "confirmed", Move::FollowUp), None);
        assert!(is_before(RETURN, "requested", Move::Travelled));
        assert!(is_before(RETURN, "confirmed", Move::Travelled));
        assert!(!is_before(RETURN, "followed_up", Move::Travelled));
        assert!(!is_before(RETURN, "closed", Move::Travelled));
    }
}
