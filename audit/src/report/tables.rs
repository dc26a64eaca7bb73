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
    /// `referral_to_delivery`, `referral_to_response`, `referral_to_acceptance` or
    /// `referral_to_decline`.
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
    /// The sender.
    pub from: String,
    /// The addressee.
    pub to: String,
    /// When, RFC 3339.
    pub at: String,
    /// Whole days from then to the report's moment.
    pub age_days: u64,
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
    /// Its country.
    pub country: String,
    /// Its organisation type.
    pub organisation_type: String,
}

/// Handovers from one organisation to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The sender.
    pub from: String,
    /// The addressee.
    pub to: String,
    /// How many handovers.
    pub count: u64,
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
    /// Referral to delivery, referral to first response.
    pub timings: Vec<Timing>,
    /// Referrals with no REFERRAL_RESPONSE back on the case.
    pub unanswered_referrals: Vec<Listed>,
    /// INFO_REQUESTs with no INFO_RESPONSE back on the case.
    pub unanswered_info_requests: Vec<Listed>,
    /// Items the nodes logged as overdue (OVERDUE entries): the message that opened each, with
    /// its due time and which node logged it; each item and due time once.
    pub late: Vec<Listed>,
    /// Disclosures without consent or with a consent override.
    pub disclosures_without_consent: Vec<Listed>,
    /// RETURN_REQUESTs without a pre-return risk assessment.
    pub returns_without_risk_assessment: Vec<Listed>,
    /// RETURN_REQUESTs with no FOLLOW_UP on the case afterwards.
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
