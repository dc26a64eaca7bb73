//! What the items of a case, their states and the steps of a sent message's evidence are
//! called in English: the words `trm case`, `trm status` and the console's English show.

/// The kinds of item a case tracks (`node_admin.proto`'s `CaseItem.kind`).
pub const ITEM_KINDS: [&str; 3] = ["referral", "information_request", "return"];

/// Every state an item can be in, over all item kinds.
pub const STATES: [&str; 15] = [
    "sent",
    "delivered",
    "rejected",
    "accepted",
    "declined",
    "needs_information",
    "information_supplied",
    "closed",
    "open",
    "answered",
    "refused",
    "requested",
    "confirmed",
    "travelled",
    "followed_up",
];

/// The steps of a sent message's evidence (`Evidence.step`), and `answered` for the reply
/// that ends it.
pub const STEPS: [&str; 8] = [
    "submitted",
    "accepted",
    "relayed",
    "delivered",
    "rejected",
    "expired",
    "answered",
    "unknown",
];

/// An item kind for people: `information_request` is "information request".
pub fn item_kind(kind: &str) -> String {
    kind.replace('_', " ")
}

/// An item's state as people say it, saying whose doing it was: a referral *delivered to
/// partner* (their node has it), *accepted by partner* (they took the case), never just
/// "accepted", which `trm status` once used for the broker's storing.
pub fn state_word(state: &str, direction: &str) -> String {
    let outgoing = direction == "outgoing";
    match (state, outgoing) {
        ("delivered", true) => "delivered to partner".into(),
        ("delivered", false) => "received, not yet answered".into(),
        ("accepted" | "declined", true) => format!("{state} by partner"),
        ("accepted" | "declined", false) => format!("{state} by you"),
        ("needs_information", true) => "partner needs more information".into(),
        ("needs_information", false) => "you asked for more information".into(),
        (other, _) => other.replace('_', " "),
    }
}

/// A step of a sent message's evidence, as people say it: the broker *stores* (its receipt
/// kind is called ACCEPTED on the wire), the partner's node *delivers*; "accepted" is kept for
/// the partner's answer to a referral.
pub fn step(step: &str) -> String {
    match step {
        "submitted" => "sealed".into(),
        "accepted" => "stored".into(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_say_whose_doing_it_was() {
        assert_eq!(state_word("accepted", "outgoing"), "accepted by partner");
        assert_eq!(state_word("accepted", "incoming"), "accepted by you");
        assert_eq!(state_word("followed_up", "incoming"), "followed up");
        assert_eq!(step("accepted"), "stored");
        assert_eq!(step("submitted"), "sealed");
    }
}
