//! The one table of message-kind names: for each [`pb::MessageKind`] its name in files, JSON
//! and agreements (`referral_response`) and its label for people ("referral response"), and
//! the kind of a body's content.

use crate::pb;
use crate::pb::body::Content;

/// One message kind and its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The kind.
    pub kind: pb::MessageKind,
    /// Its name in message files, JSON output and agreements, e.g. `referral_response`.
    pub name: &'static str,
    /// Its label for people, e.g. "referral response".
    pub label: &'static str,
}

const fn kind(kind: pb::MessageKind, name: &'static str, label: &'static str) -> Kind {
    Kind { kind, name, label }
}

/// The kinds organisations send each other, the referral first: what `trm template` and
/// `trm send` know and what a sharing agreement can cover.
pub const SENT: [Kind; 10] = [
    kind(pb::MessageKind::Referral, "referral", "referral"),
    kind(
        pb::MessageKind::ReferralResponse,
        "referral_response",
        "referral response",
    ),
    kind(
        pb::MessageKind::InformationSupplied,
        "information_supplied",
        "information supplied for a referral",
    ),
    kind(pb::MessageKind::CaseUpdate, "case_update", "case update"),
    kind(
        pb::MessageKind::InfoRequest,
        "info_request",
        "information request",
    ),
    kind(
        pb::MessageKind::InfoResponse,
        "info_response",
        "information response",
    ),
    kind(
        pb::MessageKind::ReturnRequest,
        "return_request",
        "return-assistance request",
    ),
    kind(
        pb::MessageKind::ReturnConfirmation,
        "return_confirmation",
        "return confirmation",
    ),
    kind(
        pb::MessageKind::FollowUp,
        "follow_up",
        "post-return follow-up",
    ),
    kind(
        pb::MessageKind::ConsentWithdrawal,
        "consent_withdrawal",
        "consent withdrawal",
    ),
];

/// The witness request, which nodes send on their own (never a caseworker, never covered by an
/// agreement).
pub const WITNESS_REQUEST: Kind = kind(
    pb::MessageKind::WitnessRequest,
    "witness_request",
    "witness request",
);

/// The names of [`SENT`], in the same order.
pub const SENT_NAMES: [&str; 10] = {
    let mut names = [""; 10];
    let mut i = 0;
    while i < SENT.len() {
        names[i] = SENT[i].name;
        i += 1;
    }
    names
};

/// Every kind of [`SENT`], for agreements that cover `all`.
pub const SENT_KINDS: [pb::MessageKind; 10] = {
    let mut kinds = [pb::MessageKind::Unspecified; 10];
    let mut i = 0;
    while i < SENT.len() {
        kinds[i] = SENT[i].kind;
        i += 1;
    }
    kinds
};

/// The entry of `kind`; `None` for `Unspecified`.
pub fn of(kind: pb::MessageKind) -> Option<Kind> {
    SENT.iter()
        .chain([&WITNESS_REQUEST])
        .find(|k| k.kind == kind)
        .copied()
}

/// The entry of a kind as carried on the wire (an `i32`); `None` for `Unspecified` or a
/// number this version does not know.
pub fn of_wire(kind: i32) -> Option<Kind> {
    pb::MessageKind::try_from(kind).ok().and_then(of)
}

/// The label for people of a kind as carried on the wire; "unknown" when it is none.
pub fn label(kind: i32) -> &'static str {
    of_wire(kind).map_or("unknown", |k| k.label)
}

/// Parses a kind's name as message files and agreements write it (the kinds of [`SENT`]).
pub fn from_name(name: &str) -> Option<pb::MessageKind> {
    SENT.iter().find(|k| k.name == name).map(|k| k.kind)
}

/// The message kind of a body's content.
pub fn kind_of(content: &Content) -> pb::MessageKind {
    match content {
        Content::Referral(_) => pb::MessageKind::Referral,
        Content::ReferralResponse(_) => pb::MessageKind::ReferralResponse,
        Content::InformationSupplied(_) => pb::MessageKind::InformationSupplied,
        Content::CaseUpdate(_) => pb::MessageKind::CaseUpdate,
        Content::InfoRequest(_) => pb::MessageKind::InfoRequest,
        Content::InfoResponse(_) => pb::MessageKind::InfoResponse,
        Content::ReturnRequest(_) => pb::MessageKind::ReturnRequest,
        Content::ReturnConfirmation(_) => pb::MessageKind::ReturnConfirmation,
        Content::FollowUp(_) => pb::MessageKind::FollowUp,
        Content::ConsentWithdrawal(_) => pb::MessageKind::ConsentWithdrawal,
        Content::WitnessRequest(_) => pb::MessageKind::WitnessRequest,
    }
}

/// The handling code of a body's content and the restrictions stated with it (for an H3), for
/// the kinds that carry one.
pub fn handling(body: &pb::Body) -> Option<(i32, &str)> {
    match &body.content {
        Some(Content::Referral(r)) => Some((r.handling_code, r.handling_restrictions.as_str())),
        Some(Content::InfoRequest(r)) => Some((r.handling_code, r.handling_restrictions.as_str())),
        Some(Content::InfoResponse(r)) => Some((r.handling_code, r.handling_restrictions.as_str())),
        _ => None,
    }
}

/// What the handling code of a body asks of its reader, when the admin API's `direction` of
/// the stored message is `incoming`; empty when nothing (and for every outgoing message).
pub fn handling_notice(body: &pb::Body, direction: &str) -> String {
    if direction != "incoming" {
        return String::new();
    }
    handling(body).map_or_else(String::new, |(code, restrictions)| {
        notice(code, &body.from, restrictions)
    })
}

/// What a handling code asks of the reader, in English, naming the provider; empty for none.
pub fn notice(code: i32, provider: &str, restrictions: &str) -> String {
    match pb::HandlingCode::try_from(code) {
        Ok(pb::HandlingCode::H0) => "H0: use only for the purpose it was provided for".into(),
        Ok(pb::HandlingCode::H1) => format!(
            "H1: NOT FOR JUDICIAL USE: not to be used in judicial proceedings without the permission of {provider}"
        ),
        Ok(pb::HandlingCode::H2) => format!(
            "H2: not to be passed on without the permission of {provider}; this node refuses to send it to another organisation"
        ),
        Ok(pb::HandlingCode::H3) => format!("H3: {restrictions}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_entry_and_names_round_trip() {
        for k in SENT {
            assert_eq!(from_name(k.name), Some(k.kind));
            assert_eq!(of(k.kind), Some(k));
            assert_eq!(label(k.kind.into()), k.label);
            // The file name is the protobuf name without its prefix, in lower case.
            assert_eq!(
                k.kind
                    .as_str_name()
                    .trim_start_matches("MESSAGE_KIND_")
                    .to_lowercase(),
                k.name
            );
        }
        assert_eq!(label(0), "unknown");
        assert_eq!(label(99), "unknown");
        assert_eq!(label(10), "witness request");
        assert_eq!(from_name("witness_request"), None);
        assert_eq!(SENT_NAMES[1], "referral_response");
        assert_eq!(SENT_NAMES[2], "information_supplied");
        assert_eq!(SENT_KINDS[9], pb::MessageKind::ConsentWithdrawal);
    }
}
