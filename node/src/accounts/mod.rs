//! People and systems inside an organisation: accounts with roles, passwords, a second factor,
//! sessions and API tokens, and the principal every request acts as.
//!
//! - [`Role`] and [`permissions`]: four roles with least privilege and the one permission
//!   table ([`permitted`]) that every service asks through [`Principal::may`].
//! - [`password`]: argon2id hashes (parameters in that module, and in every stored hash).
//! - [`totp`]: the optional RFC 6238 second factor.
//! - [`sessions`]: browser sessions, held in memory (a restart logs everyone out), with an
//!   idle and an absolute expiry and a CSRF token each.
//! - [`Accounts`] (in `service`): log in, sessions, API tokens and account management over the
//!   node's store ([`crate::store::accounts`]), every change on disk before it answers.
//!
//! Accountability: an account is known everywhere outside this module by its pseudonymous
//! [`AccountId`] (`acc-` and random hex), never by its name: the handover log's actor and the
//! access log's reader are that id. An API token acts as its own id (`tok-...`). The host's
//! administrator on the Unix socket is [`Principal::host_admin`]: the stable pseudonym
//! `host-admin`, with every role, never the OS login. `trm-node` creates no account by itself:
//! the host's administrator creates the first one with `trm accounts add` over the socket.

pub mod password;
pub mod permissions;
pub mod rpc;
mod service;
pub mod sessions;
pub mod totp;

pub use permissions::{Action, permitted};
pub use service::{
    AccountSummary, Accounts, AccountsError, AccountsPolicy, AccountsSettings, AuthError, Begun,
    IssuedToken, LANGUAGES, PENDING_LOGIN_MS, SessionGrant, TokenSummary, TotpSetup,
};

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A role an account or token holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Referrals, returns, follow-ups, consent withdrawal; reads its organisation's cases.
    Caseworker,
    /// Information requests and answers under handling codes.
    LiaisonOfficer,
    /// Audit: export, collect, report; never content.
    Coordinator,
    /// Accounts, tokens, keys and configuration; never content unless it also holds a content
    /// role.
    Administrator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Caseworker,
        Role::LiaisonOfficer,
        Role::Coordinator,
        Role::Administrator,
    ];

    /// The role's name as typed and stored.
    pub fn name(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::LiaisonOfficer => "liaison_officer",
            Role::Coordinator => "coordinator",
            Role::Administrator => "administrator",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A role name that is none of the four.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown role {0:?}: the roles are caseworker, liaison_officer, coordinator and administrator"
)]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL
            .into_iter()
            .find(|r| r.name() == wanted)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// The roles in a list, sorted and without repeats; refused when empty.
pub fn roles_from(names: &[String]) -> Result<Vec<Role>, UnknownRole> {
    let mut roles = names
        .iter()
        .map(|n| n.parse())
        .collect::<Result<Vec<Role>, _>>()?;
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Err(UnknownRole(String::new()));
    }
    Ok(roles)
}

/// A pseudonymous account id: random, never a name. The actor in the handover log and the
/// reader in the access log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountId(String);

/// The pseudonym of the host's administrator on the Unix socket.
pub const HOST_ADMIN: &str = "host-admin";

impl AccountId {
    fn random(prefix: &str, bytes: usize) -> Self {
        let mut id = vec![0u8; bytes];
        rand::rngs::OsRng.fill_bytes(&mut id);
        AccountId(format!("{prefix}{}", hex::encode(id)))
    }

    /// A fresh account id (`acc-` and 12 random bytes in hex).
    pub fn new_account() -> Self {
        Self::random("acc-", 12)
    }

    /// A fresh token id (`tok-` and 12 random bytes in hex).
    pub fn new_token() -> Self {
        Self::random("tok-", 12)
    }

    /// The host's administrator.
    pub fn host_admin() -> Self {
        AccountId(HOST_ADMIN.to_owned())
    }

    /// An id as stored.
    pub fn from_stored(id: String) -> Self {
        AccountId(id)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a principal came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// A browser session (cookie and CSRF token).
    Session,
    /// A system's API token (bearer).
    Token,
    /// The node's Unix socket: the host's administrator.
    Socket,
}

/// Who a request acts as. The HTTP layer puts one in the tonic request's extensions before
/// calling the admin services in process; on the Unix socket it is [`Principal::host_admin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The pseudonymous id.
    pub account: AccountId,
    /// The roles held.
    pub roles: Vec<Role>,
    /// How it came in.
    pub via: Via,
}

/// A principal lacks the role an action needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{account} may not {action}: it needs the role {}", needed(.action))]
pub struct Denied {
    /// Who asked.
    pub account: AccountId,
    /// What was refused.
    pub action: Action,
}

fn needed(action: &Action) -> String {
    let roles: Vec<&str> = action.roles().into_iter().map(Role::name).collect();
    roles.join(" or ")
}

impl From<Denied> for tonic::Status {
    fn from(denied: Denied) -> Self {
        tonic::Status::permission_denied(denied.to_string())
    }
}

impl Principal {
    /// The host's administrator on the Unix socket: every role, the pseudonym `host-admin`.
    pub fn host_admin() -> Self {
        Principal {
            account: AccountId::host_admin(),
            roles: Role::ALL.to_vec(),
            via: Via::Socket,
        }
    }

    /// Whether it holds `role`.
    pub fn holds(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Allowed when one of its roles may do `action`; the refusal names the action and the
    /// roles that may, and is logged (without content).
    pub fn may(&self, action: Action) -> Result<(), Denied> {
        if self.roles.iter().any(|role| permitted(*role, action)) {
            return Ok(());
        }
        tracing::warn!(account = %self.account, action = %action, "refused: role missing");
        Err(Denied {
            account: self.account.clone(),
            action,
        })
    }
}

/// Who a gRPC request acts as: the [`Principal`] the HTTP layer put in its extensions, or the
/// host's administrator when it came over the Unix socket. Neither (a request made in process
/// without saying who) is refused: nothing acts as nobody.
pub fn principal_of<T>(request: &tonic::Request<T>) -> Result<Principal, tonic::Status> {
    if let Some(principal) = request.extensions().get::<Principal>() {
        return Ok(principal.clone());
    }
    if request
        .extensions()
        .get::<tonic::transport::server::UdsConnectInfo>()
        .is_some()
    {
        return Ok(Principal::host_admin());
    }
    Err(tonic::Status::unauthenticated(
        "no account: the request says neither who it acts as nor came over the admin socket",
    ))
}

/// [`principal_of`], then [`Principal::may`] for `action`.
pub fn authorize<T>(
    request: &tonic::Request<T>,
    action: Action,
) -> Result<Principal, tonic::Status> {
    let principal = principal_of(request)?;
    principal.may(action)?;
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_in_either_spelling_and_refuse_others() {
        assert_eq!("liaison-officer".parse(), Ok(Role::LiaisonOfficer));
        assert_eq!("Coordinator".parse(), Ok(Role::Coordinator));
        assert!("root".parse::<Role>().is_err());
        let json = serde_json::to_string(&Role::LiaisonOfficer).unwrap_or_default();
        assert_eq!(json, "\"liaison_officer\"");
    }

    #[test]
    fn a_refusal_names_the_action_and_the_role_that_may() {
        let coordinator = Principal {
            account: AccountId::from_stored("acc-1".into()),
            roles: vec![Role::Coordinator],
            via: Via::Session,
        };
        let refused = coordinator.may(Action::ReadContent).err();
        assert_eq!(
            refused.map(|d| d.to_string()).as_deref(),
            Some("acc-1 may not read_content: it needs the role caseworker or liaison_officer")
        );
        assert!(coordinator.may(Action::ExportLog).is_ok());
        assert!(Principal::host_admin().may(Action::ReadContent).is_ok());
    }

    #[test]
    fn ids_are_random_and_never_the_host_admins() {
        let (a, b) = (AccountId::new_account(), AccountId::new_account());
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("acc-") && a.as_str().len() == 28);
        assert_ne!(a, AccountId::host_admin());
    }
}
