//! The consent withdrawal file: the victim withdrew consent; the recipient stops processing.

use serde::Deserialize;
use trm_proto::pb;

use crate::referral_file::{FieldError, date, required};

/// A consent withdrawal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ConsentWithdrawal {
    pub withdrawn_at: String,
    pub recorded_by_role: String,
    #[serde(default)]
    pub notes: String,
}

impl ConsentWithdrawal {
    /// Checks the fields and builds the wire message.
    pub fn to_pb(&self) -> Result<pb::ConsentWithdrawal, FieldError> {
        required(
            "consent_withdrawal.recorded_by_role",
            &self.recorded_by_role,
        )?;
        Ok(pb::ConsentWithdrawal {
            withdrawn_at_ms: date("consent_withdrawal.withdrawn_at", &self.withdrawn_at)?,
            recorded_by_role: self.recorded_by_role.clone(),
            notes: self.notes.clone(),
        })
    }
}

/// A filled-in example.
pub const TEMPLATE: &str = r#"# A consent withdrawal: the victim withdrew consent; the partner stops processing.
# Fill in, then: trm send consent_withdrawal --file withdrawal.toml

to = "astra@rs"
case_ref = "AT-LEFOE-2026-0042"
priority = "immediate"

[consent_withdrawal]
withdrawn_at = "2026-12-01"      # YYYY-MM-DD
recorded_by_role = "LEFÖ-IBF caseworker"
notes = "Withdrawn in a counselling session, with an interpreter."
"#;
