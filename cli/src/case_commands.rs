//! `trm cases`, `trm case REF` and `trm respond`: following cases and answering referrals.

use std::path::Path;

use serde_json::json;
use trm_proto::pb;

use crate::case_view;
use crate::client;
use crate::commands::{CommandError, Output, exit, id_error, send_request};

/// What `trm respond` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Accepted; the unit now responsible (a role or team).
    Accept {
        /// The responsible unit.
        unit: String,
    },
    /// Declined, and why.
    Decline {
        /// The reason.
        reason: String,
    },
    /// More information is needed first.
    NeedsInformation {
        /// What is missing.
        missing: String,
    },
}

impl Answer {
    /// The referral response for the referral `referral_message_id`.
    pub fn to_pb(&self, referral_message_id: &str) -> pb::ReferralResponse {
        use pb::referral_response::Decision;
        let mut response = pb::ReferralResponse {
            referral_message_id: referral_message_id.to_owned(),
            ..Default::default()
        };
        match self {
            Answer::Accept { unit } => {
                response.decision = Decision::Accepted.into();
                response.responsible_unit.clone_from(unit);
            }
            Answer::Decline { reason } => {
                response.decision = Decision::Declined.into();
                response.reason.clone_from(reason);
            }
            Answer::NeedsInformation { missing } => {
                response.decision = Decision::NeedsInformation.into();
                response.missing_information = vec![missing.clone()];
            }
        }
        response
    }

    fn word(&self) -> &'static str {
        match self {
            Answer::Accept { .. } => "acceptance",
            Answer::Decline { .. } => "decline",
            Answer::NeedsInformation { .. } => "request for more information",
        }
    }
}

/// How many cases `trm cases` asks for at a time: the most a page may hold, so a node with
/// 100,000 cases answers in pages well under the socket's message limit.
const CASES_PAGE: u32 = 500;

/// `trm cases`: every case, read a page at a time.
pub async fn cases(socket: &Path, out: Output) -> Result<(), CommandError> {
    let mut client = client::connect_cases(socket).await?;
    let mut cases = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .cases(pb::CasesRequest {
                page_size: CASES_PAGE,
                page_token,
                ..Default::default()
            })
            .await?
            .into_inner();
        cases.extend(page.cases);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    out.print(case_view::cases(&cases), || {
        json!(
            cases
                .iter()
                .map(case_view::summary_json)
                .collect::<Vec<_>>()
        )
    });
    Ok(())
}

/// `trm case REF`: the whole thread with content.
pub async fn case(
    socket: &Path,
    case_ref: &str,
    counterparty: &str,
    out: Output,
) -> Result<(), CommandError> {
    let response = client::connect_cases(socket)
        .await?
        .case(pb::CaseRequest {
            case_ref: case_ref.to_owned(),
            counterparty: counterparty.to_owned(),
            content: true,
        })
        .await?
        .into_inner();
    out.print(case_view::case(&response), || {
        case_view::case_json(&response)
    });
    Ok(())
}

/// `trm inbox --overdue [--at TIME] [--limit N]`: the `limit` most overdue items.
pub async fn overdue(
    socket: &Path,
    at: Option<&str>,
    limit: u32,
    out: Output,
) -> Result<(), CommandError> {
    let at_ms = match at {
        None => 0,
        Some(text) => trm_proto::time::parse_ms(text).ok_or_else(|| {
            CommandError::new(
                exit::USAGE,
                format!("--at {text:?} is not a time (RFC 3339, e.g. 2026-11-27T17:00:00Z, or 2026-11-27)"),
            )
        })?,
    };
    let response = client::connect(socket)
        .await?
        .overdue(pb::OverdueRequest { at_ms, limit })
        .await?
        .into_inner();
    out.print(case_view::overdue(&response), || {
        json!(
            response
                .items
                .iter()
                .map(case_view::overdue_json)
                .collect::<Vec<_>>()
        )
    });
    Ok(())
}

/// `trm withdraw-consent --case REF ...`: tells the case's partner, who erases what it holds.
pub async fn withdraw_consent(
    socket: &Path,
    case_ref: &str,
    counterparty: &str,
    recorded_by: &str,
    notes: &str,
    out: Output,
) -> Result<(), CommandError> {
    if recorded_by.trim().is_empty() {
        return Err(CommandError::new(
            exit::USAGE,
            "--recorded-by: the role that recorded the withdrawal is required",
        ));
    }
    let case = client::connect_cases(socket)
        .await?
        .case(pb::CaseRequest {
            case_ref: case_ref.to_owned(),
            counterparty: counterparty.to_owned(),
            content: false,
        })
        .await?
        .into_inner()
        .summary
        .unwrap_or_default();
    let request = pb::SendRequest {
        to: case.counterparty.clone(),
        case_ref: case.case_ref.clone(),
        priority: pb::Priority::Urgent.into(),
        body: Some(pb::Body {
            content: Some(pb::body::Content::ConsentWithdrawal(
                pb::ConsentWithdrawal {
                    withdrawn_at_ms: trm_proto::time::now_ms(),
                    recorded_by_role: recorded_by.to_owned(),
                    notes: notes.to_owned(),
                },
            )),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    };
    let sent = send_request(&mut client::connect(socket).await?, request).await?;
    out.print(
        format!(
            "consent withdrawal for case {} sent to {} as {}, logged as entry {}\n  {} erases what it holds of the case and acknowledges with its receipt: trm status {}\n",
            case.case_ref, case.counterparty, sent.message_id, sent.log_index, case.counterparty, sent.message_id
        ),
        || {
            json!({
                "message_id": sent.message_id,
                "to": case.counterparty,
                "case_ref": case.case_ref,
                "log_index": sent.log_index,
                "envelope_digest": hex::encode(&sent.envelope_digest),
            })
        },
    );
    Ok(())
}

/// `trm respond --message ID ...`: answers a received referral, in its case, to its sender.
pub async fn respond(
    socket: &Path,
    referral_id: &str,
    answer: &Answer,
    out: Output,
) -> Result<(), CommandError> {
    let mut admin = client::connect(socket).await?;
    let shown = admin
        .show(pb::ShowRequest {
            message_id: referral_id.to_owned(),
        })
        .await
        .map_err(id_error)?
        .into_inner();
    let summary = shown.summary.unwrap_or_default();
    // The id as given may be a prefix: the response names the referral by its whole id.
    let referral_id = summary.message_id.as_str();
    if summary.kind != i32::from(pb::MessageKind::Referral) {
        return Err(CommandError::new(
            exit::DATA,
            format!(
                "message {referral_id} is a {}, not a referral",
                trm_proto::kinds::label(summary.kind)
            ),
        ));
    }
    if shown.direction != "incoming" {
        return Err(CommandError::new(
            exit::DATA,
            format!(
                "referral {referral_id} was sent by this organisation; only its addressee can answer it"
            ),
        ));
    }
    let request = pb::SendRequest {
        to: summary.from.clone(),
        case_ref: summary.case_ref.clone(),
        priority: pb::Priority::Routine.into(),
        body: Some(pb::Body {
            content: Some(pb::body::Content::ReferralResponse(
                answer.to_pb(referral_id),
            )),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    };
    let sent = send_request(&mut admin, request).await?;
    out.print(
        format!(
            "{} of referral {referral_id} sent to {} in case {} as {}, logged as entry {}\n  follow it with: trm status {}\n",
            answer.word(),
            summary.from,
            summary.case_ref,
            sent.message_id,
            sent.log_index,
            sent.message_id
        ),
        || {
            json!({
                "message_id": sent.message_id,
                "referral_message_id": referral_id,
                "to": summary.from,
                "case_ref": summary.case_ref,
                "log_index": sent.log_index,
                "envelope_digest": hex::encode(&sent.envelope_digest),
            })
        },
    );
    Ok(())
}
