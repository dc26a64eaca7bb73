//! The `trm.v1.NodeAccounts` service that `trm accounts` and `trm access-log` use over the
//! node's Unix socket (as the host's administrator), and the HTTP API in process (as an
//! account holding the administrator role). Every rpc checks its action first.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use trm_proto::pb;
use trm_proto::time::now_ms;

use super::{AccountSummary, Action, TokenSummary, authorize};
use crate::access_log::AccessEntry;
use crate::node::Node;

/// The accounts service.
#[derive(Clone)]
pub struct AccountsService {
    node: Arc<Node>,
}

impl AccountsService {
    /// A service over a node's accounts.
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }
}

fn account_view(summary: AccountSummary) -> pb::AccountView {
    pb::AccountView {
        id: summary.id,
        name: summary.name,
        roles: summary.roles.iter().map(|r| r.name().to_owned()).collect(),
        disabled: summary.disabled,
        locked_until_ms: summary.locked_until_ms,
        totp: summary.totp,
        created_at_ms: summary.created_at_ms,
        language: summary.language,
        time_zone: summary.time_zone,
    }
}

fn token_view(token: TokenSummary) -> pb::TokenView {
    pb::TokenView {
        id: token.id,
        name: token.name,
        roles: token.roles.iter().map(|r| r.name().to_owned()).collect(),
        created_at_ms: token.created_at_ms,
        revoked_at_ms: token.revoked_at_ms,
        expires_at_ms: token.expires_at_ms,
    }
}

fn entry_view(entry: AccessEntry) -> pb::AccessLogEntry {
    pb::AccessLogEntry {
        index: entry.index,
        at_ms: entry.at_ms,
        account: entry.account,
        message_id: entry.message_id,
        what: entry.what,
        prev_hash: entry.prev_hash,
        hash: entry.hash,
    }
}

fn store_status(e: crate::store::StoreError) -> Status {
    Status::from(crate::error::NodeError::from(e))
}

#[tonic::async_trait]
impl pb::node_accounts_server::NodeAccounts for AccountsService {
    async fn add_account(
        &self,
        request: Request<pb::AddAccountRequest>,
    ) -> Result<Response<pb::AccountView>, Status> {
        authorize(&request, Action::ManageAccounts)?;
        let r = request.into_inner();
        let made = self
            .node
            .accounts()
            .create(&r.name, &r.roles, &r.password, now_ms())
            .await?;
        Ok(Response::new(account_view(made)))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        authorize(&request, Action::ManageAccounts)?;
        let accounts = self.node.accounts().list(now_ms())?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: accounts.into_iter().map(account_view).collect(),
        }))
    }

    async fn set_disabled(
        &self,
        request: Request<pb::SetDisabledRequest>,
    ) -> Result<Response<pb::AccountView>, Status> {
        authorize(&request, Action::ManageAccounts)?;
        let r = request.into_inner();
        let changed = self
            .node
            .accounts()
            .set_disabled(&r.name, r.disabled, now_ms())
            .await?;
        Ok(Response::new(account_view(changed)))
    }

    async fn set_password(
        &self,
        request: Request<pb::SetPasswordRequest>,
    ) -> Result<Response<pb::AccountView>, Status> {
        authorize(&request, Action::ManageAccounts)?;
        let r = request.into_inner();
        let changed = self
            .node
            .accounts()
            .set_password(&r.name, &r.password, now_ms())
            .await?;
        Ok(Response::new(account_view(changed)))
    }

    async fn totp(
        &self,
        request: Request<pb::TotpRequest>,
    ) -> Result<Response<pb::TotpResponse>, Status> {
        authorize(&request, Action::ManageAccounts)?;
        let r = request.into_inner();
        let accounts = self.node.accounts();
        let now = now_ms();
        let response = if r.remove {
            pb::TotpResponse {
                account: Some(account_view(accounts.disable_totp(&r.name, now).await?)),
                ..Default::default()
            }
        } else if r.confirm_code.is_empty() {
            let setup = accounts.begin_totp(&r.name).await?;
            pb::TotpResponse {
                secret: setup.secret,
                uri: setup.uri,
                account: None,
            }
        } else {
            let confirmed = accounts.confirm_totp(&r.name, &r.confirm_code, now).await?;
            pb::TotpResponse {
                account: Some(account_view(confirmed)),
                ..Default::default()
            }
        };
        Ok(Response::new(response))
    }

    async fn issue_token(
        &self,
        request: Request<pb::IssueTokenRequest>,
    ) -> Result<Response<pb::IssueTokenResponse>, Status> {
        authorize(&request, Action::ManageTokens)?;
        let r = request.into_inner();
        let now = now_ms();
        let issued = self
            .node
            .accounts()
            .issue_token(&r.name, &r.roles, now, r.expires_at_ms)
            .await?;
        Ok(Response::new(pb::IssueTokenResponse {
            token: issued.token,
            view: Some(pb::TokenView {
                id: issued.id,
                name: r.name,
                roles: issued.roles.iter().map(|r| r.name().to_owned()).collect(),
                created_at_ms: now,
                revoked_at_ms: 0,
                expires_at_ms: r.expires_at_ms,
            }),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::TokenView>, Status> {
        authorize(&request, Action::ManageTokens)?;
        let revoked = self
            .node
            .accounts()
            .revoke_token(&request.get_ref().id, now_ms())
            .await?;
        Ok(Response::new(token_view(revoked)))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        authorize(&request, Action::ManageTokens)?;
        let tokens = self.node.accounts().tokens()?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: tokens.into_iter().map(token_view).collect(),
        }))
    }

    async fn access_log(
        &self,
        request: Request<pb::AccessLogRequest>,
    ) -> Result<Response<pb::AccessLogResponse>, Status> {
        authorize(&request, Action::ReadAccessLog)?;
        let r = request.into_inner();
        let limit = match r.limit {
            0 => 1000,
            n => n.min(10_000) as usize,
        };
        let entries = self
            .node
            .accounts()
            .access_entries(r.from_index, limit)
            .map_err(store_status)?;
        Ok(Response::new(pb::AccessLogResponse {
            entries: entries.into_iter().map(entry_view).collect(),
        }))
    }

    async fn verify_access_log(
        &self,
        request: Request<pb::VerifyAccessLogRequest>,
    ) -> Result<Response<pb::VerifyAccessLogResponse>, Status> {
        authorize(&request, Action::ReadAccessLog)?;
        let verified = self
            .node
            .accounts()
            .verify_access_log()
            .map_err(store_status)?;
        Ok(Response::new(match verified {
            Ok(summary) => pb::VerifyAccessLogResponse {
                ok: true,
                entries: summary.entries,
                head_hash: summary.head,
                ..Default::default()
            },
            Err(broken) => pb::VerifyAccessLogResponse {
                ok: false,
                bad_index: broken.index,
                problem: broken.problem,
                ..Default::default()
            },
        }))
    }
}
