//! The report's tables as serialised: stable field names, the same in JSON, and the rows the
//! CSV and HTML formats are written from.

use serde::Serialize;

/// Handovers of one month, country pair and kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandoverCount {
    /// `YYYY-MM`, UTC.
    pub month: String,
    /// The sender's country.
    pub from_country: String,
    /// The addressee's country.
    pub to_country: String,
    /// The message kind.
    pub kind: String,
    /// How many.
    pub count: u64,
}

/// A count under a label (a month, a country pair `AT→RS`, an organisation type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    /// What is counted.
    pub label: String,
    /// How many.
    pub count: u64,
}

/// A duration's distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// `referral_to_delivery`, `referral_to_response` (the first answer),
    /// `referral_to_acceptance` (the first answer that accepted, after any asking for more
    /// information) or `referral_to_decline` (likewise).
    pub measure: String,
    /// How many durations were measured.
    pub count: u64,
    /// The median, nearest rank, milliseconds.
    pub median_ms: Option<u64>,
    /// The 90th percentile, nearest rank, milliseconds.
    pub p90_ms: Option<u64>,
}

/// A handover listed as a finding of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// The message.
    pub message_id: String,
    /// The case reference.
    pub case_ref: String,
    /// The message kind.
    pub kind: String,
    /// The sender's address.
    pub from: String,
    /// The sender's organisation, by the directory's name.
    pub from_name: String,
    /// The addressee's address.
    pub to: String,
    /// The addressee's organisation, by the directory's name.
    pub to_name: String,
    /// When, RFC 3339.
    pub at: String,
    /// Whole days from then to the report's moment.
    pub age_days: u64,
    /// When what it waits for is or was due, RFC 3339; empty when nothing is.
    pub due: String,
    /// What about it (for disclosures: `consent_overridden` or `no_consent`).
    pub note: String,
}

/// Cases with a child.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Children {
    /// Cases with a handover flagged as concerning a child.
    pub cases: u64,
    /// Of those, cases with a handover to or from a social-services organisation.
    pub with_social_services: u64,
    /// Of those, cases where a referral or return request named a guardian.
    pub with_guardian: u64,
    /// Of those, cases where none did.
    pub without_guardian: u64,
}

/// An organisation in the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkNode {
    /// Its address.
    pub address: String,
    /// Its name in the directory (the address when the directory gives none).
    pub name: String,
    /// Its country.
    pub country: String,
    /// Its organisation type.
    pub organisation_type: String,
}

/// Handovers from one organisation to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The sender's address.
    pub from: String,
    /// The sender's organisation.
    pub from_name: String,
    /// The addressee's address.
    pub to: String,
    /// The addressee's organisation.
    pub to_name: String,
    /// How many handovers.
    pub count: u64,
}

/// Where the referrals stand at the report's moment: each referral in exactly one of
/// answered, awaiting, never answered or closed without an answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReferralStanding {
    /// Referrals sent.
    pub sent: u64,
    /// Answered (any answer: accepted, declined or more information needed).
    pub answered: u64,
    /// Of those, answered by their due time.
    pub answered_in_time: u64,
    /// Not answered, and not due yet.
    pub awaiting_not_yet_due: u64,
    /// Not answered by their due time, and not closed by their sender.
    pub never_answered: u64,
    /// Closed by their sender (or ended by a consent withdrawal) before any answer.
    pub closed_without_answer: u64,
}

/// How many answers of each kind, and how many cases ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// Answers to referrals that accepted.
    pub accepted: u64,
    /// Answers to referrals that declined.
    pub declined: u64,
    /// Answers to referrals that asked for more information.
    pub needs_information: u64,
    /// Messages that supplied the information asked for.
    pub information_supplied: u64,
    /// Consent withdrawals sent.
    pub consent_withdrawals: u64,
    /// Cases whose content an organisation erased (each organisation and case once).
    pub erasures: u64,
}

/// How promptly referrals were answered, for one organisation (as the addressee) or one
/// country pair.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timeliness {
    /// The addressee's address, or the country pair `FROM→TO`.
    pub label: String,
    /// The addressee's organisation name; empty for a country pair.
    pub name: String,
    /// Referrals received.
    pub referrals: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, answered by their due time.
    pub answered_in_time: u64,
    /// Not answered by their due time, and not closed by their sender.
    pub never_answered: u64,
    /// Not answered and not due yet.
    pub awaiting_not_yet_due: u64,
    /// The median time to answer, nearest rank, milliseconds.
    pub median_ms: Option<u64>,
    /// The 90th percentile of the time to answer, nearest rank, milliseconds.
    pub p90_ms: Option<u64>,
    /// The share answered by the due time, of those answered or past due, in whole percent
    /// (rounded down); none when no referral was either.
    pub in_time_percent: Option<u64>,
}

/// Everything the report computes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Figures {
    /// All handovers counted.
    pub handovers_total: u64,
    /// Per month, country pair and kind.
    pub handovers: Vec<HandoverCount>,
    /// Per month.
    pub per_month: Vec<Count>,
    /// Per country pair, `FROM→TO`.
    pub per_country_pair: Vec<Count>,
    /// Referral to delivery, to its first answer, to its first acceptance, to its first
    /// decline.
    pub timings: Vec<Timing>,
    /// Where the referrals stand.
    pub referrals: ReferralStanding,
    /// Answers by decision, information supplied, consent withdrawals and erasures.
    pub outcomes: Outcomes,
    /// Timeliness of answers to referrals, per addressee organisation.
    pub timeliness_by_organisation: Vec<Timeliness>,
    /// Timeliness of answers to referrals, per country pair `FROM→TO`.
    pub timeliness_by_country_pair: Vec<Timeliness>,
    /// Referrals with no answer back on the case by their due time, not closed by their
    /// sender.
    pub unanswered_referrals: Vec<Listed>,
    /// Referrals with no answer yet whose due time has not come.
    pub awaiting_referrals: Vec<Listed>,
    /// Information requests with no response back on the case by their due time.
    pub unanswered_info_requests: Vec<Listed>,
    /// Items the nodes logged as overdue (OVERDUE entries): the message that opened each, with
    /// its due time and which organisation recorded it; each item and due time once.
    pub late: Vec<Listed>,
    /// Disclosures without consent or with a consent override.
    pub disclosures_without_consent: Vec<Listed>,
    /// Return requests without a pre-return risk assessment.
    pub returns_without_risk_assessment: Vec<Listed>,
    /// Return requests whose person travelled and whose follow-up is overdue: fewer follow-ups
    /// on the case since the travel than have fallen due (1, 3, 6 and 12 months after it).
    pub returns_without_follow_up: Vec<Listed>,
    /// Cases with children.
    pub children: Children,
    /// Referrals by the sender's organisation type.
    pub initiators: Vec<Count>,
    /// The organisations that exchanged.
    pub network_nodes: Vec<NetworkNode>,
    /// Who sent to whom, how often.
    pub network_edges: Vec<Edge>,
}
