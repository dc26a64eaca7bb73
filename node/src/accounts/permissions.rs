//! The permission table: which role may do what. [`permitted`] is the only place that decides;
//! every rpc of the admin, cases and accounts services and every HTTP endpoint asks it through
//! [`super::Principal::may`].
//!
//! Least privilege, as the roles are meant:
//! - a **caseworker** sends and answers referrals, returns, follow-ups, case updates and consent
//!   withdrawals, and reads the content of its organisation's cases;
//! - a **liaison officer** sends and answers information requests (under handling codes) and
//!   reads content, but neither overrides consent nor touches a child's case;
//! - a **coordinator** audits: exports and verifies the handover log, collects checkpoints,
//!   builds reports, lists inbox and cases as metadata; it never obtains content;
//! - an **administrator** manages accounts, tokens, webhooks and keys and reads the access
//!   log; it never obtains content unless it also holds a content role.
//!
//! A consent override and a child's case are limited to a role: sending a message whose
//! consent is overridden needs [`Action::OverrideConsent`], sending or reading any message of a
//! child's case needs [`Action::ChildCase`], and both are the caseworker's alone.

use serde::{Deserialize, Serialize};

use super::Role;

/// Something a person or a system can do through the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send a referral (or supply what a partner asked of one).
    SendReferral,
    /// Accept, decline or ask more of a referral received.
    RespondToReferral,
    /// Send a case update.
    SendCaseUpdate,
    /// Send an information request.
    SendInfoRequest,
    /// Answer an information request.
    AnswerInfoRequest,
    /// Send a return request, confirmation or follow-up.
    SendReturn,
    /// Withdraw consent (erases the case's content).
    WithdrawConsent,
    /// Send anything whose consent is overridden on a legal basis.
    OverrideConsent,
    /// Send or read anything of a child's case.
    ChildCase,
    /// Read decrypted content (a message shown, a case's thread with content).
    ReadContent,
    /// List the inbox (metadata only).
    ListInbox,
    /// List cases and their item states (metadata only).
    ListCases,
    /// Read a message's status and delivery evidence.
    ReadEvidence,
    /// See what is overdue.
    ListOverdue,
    /// Read the handover log's entries (metadata only).
    ReadLog,
    /// Export the handover log as a bundle.
    ExportLog,
    /// Verify the handover log.
    VerifyLog,
    /// Sign a checkpoint of the handover log.
    Checkpoint,
    /// Collect partners' checkpoints (national coordinator).
    CollectCheckpoints,
    /// Build an audit report, read what was witnessed.
    AuditReport,
    /// Search the federation directory.
    SearchDirectory,
    /// Create, list, disable and enable accounts, set passwords and second factors.
    ManageAccounts,
    /// Issue, list and revoke API tokens.
    ManageTokens,
    /// Configure webhooks.
    ManageWebhooks,
    /// List, export and verify the access log.
    ReadAccessLog,
    /// Take a backup of the node's store.
    Backup,
}

impl Action {
    /// Every action, for tests and documentation.
    pub const ALL: [Action; 26] = [
        Action::SendReferral,
        Action::RespondToReferral,
        Action::SendCaseUpdate,
        Action::SendInfoRequest,
        Action::AnswerInfoRequest,
        Action::SendReturn,
        Action::WithdrawConsent,
        Action::OverrideConsent,
        Action::ChildCase,
        Action::ReadContent,
        Action::ListInbox,
        Action::ListCases,
        Action::ReadEvidence,
        Action::ListOverdue,
        Action::ReadLog,
        Action::ExportLog,
        Action::VerifyLog,
        Action::Checkpoint,
        Action::CollectCheckpoints,
        Action::AuditReport,
        Action::SearchDirectory,
        Action::ManageAccounts,
        Action::ManageTokens,
        Action::ManageWebhooks,
        Action::ReadAccessLog,
        Action::Backup,
    ];

    /// The action's name as the permission table and error messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            Action::SendReferral => "send_referral",
            Action::RespondToReferral => "respond_to_referral",
            Action::SendCaseUpdate => "send_case_update",
            Action::SendInfoRequest => "send_info_request",
            Action::AnswerInfoRequest => "answer_info_request",
            Action::SendReturn => "send_return",
            Action::WithdrawConsent => "withdraw_consent",
            Action::OverrideConsent => "override_consent",
            Action::ChildCase => "child_case",
            Action::ReadContent => "read_content",
            Action::ListInbox => "list_inbox",
            Action::ListCases => "list_cases",
            Action::ReadEvidence => "read_evidence",
            Action::ListOverdue => "list_overdue",
            Action::ReadLog => "read_log",
            Action::ExportLog => "export_log",
            Action::VerifyLog => "verify_log",
            Action::Checkpoint => "checkpoint",
            Action::CollectCheckpoints => "collect_checkpoints",
            Action::AuditReport => "audit_report",
            Action::SearchDirectory => "search_directory",
            Action::ManageAccounts => "manage_accounts",
            Action::ManageTokens => "manage_tokens",
            Action::ManageWebhooks => "manage_webhooks",
            Action::ReadAccessLog => "read_access_log",
            Action::Backup => "backup",
        }
    }

    /// Whether the action yields decrypted content.
    pub fn is_content(self) -> bool {
        matches!(self, Action::ReadContent | Action::ChildCase)
    }

    /// The roles the table permits the action to.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|role| permitted(*role, self))
            .collect()
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// THE permission table: whether `role` may do `action`.
pub fn permitted(role: Role, action: Action) -> bool {
    use Action as A;
    match role {
        Role::Caseworker => matches!(
            action,
            A::SendReferral
                | A::RespondToReferral
                | A::SendCaseUpdate
                | A::SendReturn
                | A::WithdrawConsent
                | A::OverrideConsent
                | A::ChildCase
                | A::ReadContent
                | A::ListInbox
                | A::ListCases
                | A::ReadEvidence
                | A::ListOverdue
                | A::SearchDirectory
        ),
        Role::LiaisonOfficer => matches!(
            action,
            A::SendInfoRequest
                | A::AnswerInfoRequest
                | A::ReadContent
                | A::ListInbox
                | A::ListCases
                | A::ReadEvidence
                | A::ListOverdue
                | A::SearchDirectory
        ),
        Role::Coordinator => matches!(
            action,
            A::ListInbox
                | A::ListCases
                | A::ReadEvidence
                | A::ListOverdue
                | A::ReadLog
                | A::ExportLog
                | A::VerifyLog
                | A::Checkpoint
                | A::CollectCheckpoints
                | A::AuditReport
                | A::SearchDirectory
        ),
        Role::Administrator => matches!(
            action,
            A::ManageAccounts
                | A::ManageTokens
                | A::ManageWebhooks
                | A::ReadAccessLog
                | A::Backup
                | A::Checkpoint
                | A::VerifyLog
                | A::SearchDirectory
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coordinator_and_the_administrator_never_obtain_content() {
        for action in Action::ALL.into_iter().filter(|a| a.is_content()) {
            assert!(!permitted(Role::Coordinator, action), "{action}");
            assert!(!permitted(Role::Administrator, action), "{action}");
        }
    }

    #[test]
    fn consent_overrides_and_childrens_cases_are_the_caseworkers_alone() {
        for action in [Action::OverrideConsent, Action::ChildCase] {
            assert_eq!(action.roles(), vec![Role::Caseworker]);
        }
    }

    #[test]
    fn only_the_administrator_manages_accounts_and_reads_the_access_log() {
        for action in [
            Action::ManageAccounts,
            Action::ManageTokens,
            Action::ReadAccessLog,
        ] {
            assert_eq!(action.roles(), vec![Role::Administrator]);
        }
    }

    #[test]
    fn every_action_has_a_distinct_name_and_someone_who_may() {
        let names: std::collections::HashSet<_> = Action::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names.len(), Action::ALL.len());
        for action in Action::ALL {
            assert!(!action.roles().is_empty(), "{action}");
        }
    }
}
