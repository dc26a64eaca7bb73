//! The case update file: a status change, services delivered, a court date or court travel,
//! the outcome. The statuses `travelled` and `closed` move the case's return and referral on
//! (see the node's `cases` module).

use serde::Deserialize;
use trm_proto::pb;

use crate::referral_file::{FieldError, optional_date, required};

/// Case outcomes (003:L2041-2043).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Outcome {
    IntegratedInDestination,
    ReintegratedInOrigin,
    RelocatedToThirdCountry,
    ContactLost,
}

/// The outcome on the wire.
pub fn outcome(o: Option<Outcome>) -> i32 {
    o.map_or(pb::CaseOutcome::Unspecified, |o| match o {
        Outcome::IntegratedInDestination => pb::CaseOutcome::IntegratedInDestination,
        Outcome::ReintegratedInOrigin => pb::CaseOutcome::ReintegratedInOrigin,
        Outcome::RelocatedToThirdCountry => pb::CaseOutcome::RelocatedToThirdCountry,
        Outcome::ContactLost => pb::CaseOutcome::ContactLost,
    })
    .into()
}

/// Court-travel support.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CourtTravel {
    pub hearing_at: String,
    pub court: String,
    #[serde(default)]
    pub video_link: bool,
    #[serde(default)]
    pub tickets: String,
    #[serde(default)]
    pub lawyer: String,
    #[serde(default)]
    pub met_by: String,
    #[serde(default)]
    pub accommodation: String,
}

/// A case update.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CaseUpdate {
    pub status: String,
    #[serde(default)]
    pub services_delivered: Vec<String>,
    #[serde(default)]
    pub court_date: String,
    pub court_travel: Option<CourtTravel>,
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub notes: String,
}

impl CaseUpdate {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::CaseUpdate, FieldError> {
        required("case_update.status", &self.status)?;
        let court_travel = self
            .court_travel
            .as_ref()
            .map(|t| -> Result<_, FieldError> {
                required("case_update.court_travel.court", &t.court)?;
                Ok(pb::CourtTravelSupport {
                    hearing_at_ms: crate::referral_file::date(
                        "case_update.court_travel.hearing_at",
                        &t.hearing_at,
                    )?,
                    court: t.court.clone(),
                    video_link: t.video_link,
                    tickets: t.tickets.clone(),
                    lawyer: t.lawyer.clone(),
                    met_by: t.met_by.clone(),
                    accommodation: t.accommodation.clone(),
                })
            })
            .transpose()?;
        Ok(pb::CaseUpdate {
            status: self.status.clone(),
            services_delivered: self.services_delivered.clone(),
            court_date_ms: optional_date("case_update.court_date", &self.court_date)?,
            court_travel,
            outcome: outcome(self.outcome),
            notes: self.notes.clone(),
            // The sending node names the items a `closed` update closes.
            closed_items: Vec::new(),
        })
    }
}

/// A filled-in example: the person travelled home; court travel to Vienna is arranged.
pub const TEMPLATE: &str = r#"# A case update: a status change, services delivered, a court date, the outcome.
# Fill in, then: trm send case_update --file update.toml
# status "travelled" records that the person travelled (post-return follow-ups are now due);
# status "closed" closes the case's referrals and returns. Other statuses are free text.

to = "astra@rs"
case_ref = "AT-LEFOE-2026-0042"
priority = "routine"             # routine | urgent | immediate

[case_update]
status = "travelled"
services_delivered = ["escort to Vienna airport", "documents handed over"]
court_date = "2027-03-15"        # YYYY-MM-DD, optional
# outcome = "reintegrated_in_origin"  # integrated_in_destination | reintegrated_in_origin |
                                      # relocated_to_third_country | contact_lost
notes = "Arrived in Belgrade as planned."

[case_update.court_travel]       # optional: travelling back to testify, or a video link
hearing_at = "2027-03-15"
court = "Landesgericht für Strafsachen Wien"
video_link = false
tickets = "booked by LEFÖ-IBF"
lawyer = "victim's counsel, LEFÖ-IBF legal unit"
met_by = "LEFÖ-IBF caseworker at Vienna airport"
accommodation = "LEFÖ-IBF shelter"
"#;
