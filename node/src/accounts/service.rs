//! [`Accounts`]: logging in, sessions, API tokens, account management and recording reads in
//! the access log, over the node's store. Every change is on disk before it answers.
//!
//! A login with a wrong password counts a failure on the account; after
//! [`AccountsPolicy::max_failures`] in a row the account is locked for
//! [`AccountsPolicy::lockout_ms`] (a lock refuses even the right password). A wrong TOTP code
//! counts as a wrong password. An unknown name costs the same hashing time as a known one and
//! gets the same answer as a wrong password.

use std::sync::PoisonError;

use serde::Serialize;

use super::sessions::{self, Lookup, Sessions};
use super::{AccountId, Principal, Role, UnknownRole, Via, password, totp};
use crate::access_log::{self, AccessEntry, AccessLogBroken, AccessSummary};
use crate::store::accounts::{AccountRecord, AccountsStoreError, TokenRecord};
use crate::store::{NodeStore, StoreError};

/// Lockout and session limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountsPolicy {
    /// Wrong passwords in a row before a lock.
    pub max_failures: u32,
    /// How long a lock lasts, ms.
    pub lockout_ms: u64,
    /// A session ends after this long unused, ms.
    pub idle_ms: u64,
    /// A session ends this long after login whatever its use, ms.
    pub absolute_ms: u64,
}

impl Default for AccountsPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lockout_ms: 15 * 60 * 1000,
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * 60 * 60 * 1000,
        }
    }
}

/// The `[accounts]` table of `node.toml`: session expiry and the lockout after wrong
/// passwords, read into [`AccountsPolicy`].
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsSettings {
    /// A session ends after this many seconds unused, 1 or more.
    #[serde(default = "default_idle_session_secs")]
    pub idle_session_secs: u64,
    /// A session ends this many seconds after login whatever its use, at least the idle
    /// expiry.
    #[serde(default = "default_absolute_session_secs")]
    pub absolute_session_secs: u64,
    /// Wrong passwords in a row before the account is locked, 1 or more.
    #[serde(default = "default_lockout_failures")]
    pub lockout_failures: u32,
    /// How many seconds a lock lasts, 1 or more.
    #[serde(default = "default_lockout_secs")]
    pub lockout_secs: u64,
}

fn default_idle_session_secs() -> u64 {
    AccountsPolicy::default().idle_ms / 1000
}

fn default_absolute_session_secs() -> u64 {
    AccountsPolicy::default().absolute_ms / 1000
}

fn default_lockout_failures() -> u32 {
    AccountsPolicy::default().max_failures
}

fn default_lockout_secs() -> u64 {
    AccountsPolicy::default().lockout_ms / 1000
}

impl Default for AccountsSettings {
    fn default() -> Self {
        Self {
            idle_session_secs: default_idle_session_secs(),
            absolute_session_secs: default_absolute_session_secs(),
            lockout_failures: default_lockout_failures(),
            lockout_secs: default_lockout_secs(),
        }
    }
}

impl AccountsSettings {
    /// The policy, when every limit is within bounds; the field and the problem otherwise.
    pub fn validate(&self) -> Result<AccountsPolicy, (&'static str, String)> {
        if self.idle_session_secs == 0 {
            return Err(("accounts.idle_session_secs", "must be 1 or more".into()));
        }
        if self.absolute_session_secs < self.idle_session_secs {
            return Err((
                "accounts.absolute_session_secs",
                format!(
                    "{} is shorter than accounts.idle_session_secs ({})",
                    self.absolute_session_secs, self.idle_session_secs
                ),
            ));
        }
        if self.lockout_failures == 0 {
            return Err(("accounts.lockout_failures", "must be 1 or more".into()));
        }
        if self.lockout_secs == 0 {
            return Err(("accounts.lockout_secs", "must be 1 or more".into()));
        }
        Ok(AccountsPolicy {
            max_failures: self.lockout_failures,
            lockout_ms: self.lockout_secs.saturating_mul(1000),
            idle_ms: self.idle_session_secs.saturating_mul(1000),
            absolute_ms: self.absolute_session_secs.saturating_mul(1000),
        })
    }
}

/// Why a login, session or token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown name, wrong password, or a disabled account (one answer for all three).
    #[error("wrong name or password")]
    BadCredentials,
    /// Too many wrong passwords: locked until then.
    #[error("too many wrong passwords: the account is locked until {}", locked_until(.until_ms))]
    Locked {
        /// Unix ms.
        until_ms: u64,
    },
    /// The account has a second factor and no code was given.
    #[error("this account needs its one-time code (TOTP)")]
    TotpRequired,
    /// The one-time code is wrong, too old or already used.
    #[error("wrong or already used one-time code")]
    BadTotp,
    /// No session or token was given, or it is unknown.
    #[error("not logged in")]
    NoSession,
    /// The session ended (idle or absolute expiry).
    #[error("the session has expired; log in again")]
    Expired,
    /// The CSRF token does not match the session's.
    #[error("the CSRF token does not match the session")]
    BadCsrf,
    /// The API token was revoked.
    #[error("the API token was revoked")]
    Revoked,
    /// The API token has expired.
    #[error("the API token has expired")]
    TokenExpired,
    /// The accounts could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn locked_until(until_ms: &u64) -> String {
    trm_proto::time::format_ms(*until_ms)
}

impl From<AccountsStoreError> for AuthError {
    fn from(e: AccountsStoreError) -> Self {
        match e {
            AccountsStoreError::Store(e) => AuthError::Store(e),
            // An account that vanished between reading and writing.
            _ => AuthError::BadCredentials,
        }
    }
}

impl From<AuthError> for tonic::Status {
    fn from(e: AuthError) -> Self {
        match &e {
            AuthError::Store(StoreError::Refused(r)) if r.is_full() => {
                tonic::Status::resource_exhausted(e.to_string())
            }
            AuthError::Store(_) => tonic::Status::unavailable(e.to_string()),
            _ => tonic::Status::unauthenticated(e.to_string()),
        }
    }
}

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// A name is empty, too long or has characters other than letters, digits and `._@-`.
    #[error(
        "{field}: {value:?} is not a valid name (1 to 64 letters, digits, dots, underscores, at signs or hyphens)"
    )]
    InvalidName {
        /// Which field.
        field: &'static str,
        /// What was given.
        value: String,
    },
    /// A role is unknown, or none was given.
    #[error("role: {0}")]
    Role(#[from] UnknownRole),
    /// The password is not acceptable.
    #[error("password: {0}")]
    Password(#[from] password::PasswordError),
    /// The one-time code does not match the secret being confirmed.
    #[error("code: wrong one-time code; the second factor is not enabled")]
    BadTotp,
    /// The language is not one the console speaks.
    #[error("language: {0:?} is not one of en, de, sr-Latn, sq, mk")]
    Language(String),
    /// The time zone is not in the system's time-zone database.
    #[error("time_zone: {0:?} is not a known time zone (an IANA name such as Europe/Vienna)")]
    TimeZone(String),
    /// No second factor is waiting to be confirmed.
    #[error("code: no second factor was set up for {0}; run `trm accounts totp --name {0}` first")]
    NoTotpPending(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] AccountsStoreError),
}

impl From<StoreError> for AccountsError {
    fn from(e: StoreError) -> Self {
        AccountsError::Store(AccountsStoreError::Store(e))
    }
}

impl From<AccountsError> for tonic::Status {
    fn from(e: AccountsError) -> Self {
        let message = e.to_string();
        match e {
            AccountsError::Store(AccountsStoreError::NameTaken(_)) => {
                tonic::Status::already_exists(message)
            }
            AccountsError::Store(AccountsStoreError::NotFound { .. }) => {
                tonic::Status::not_found(message)
            }
            AccountsError::Store(AccountsStoreError::Store(StoreError::Refused(r)))
                if r.is_full() =>
            {
                tonic::Status::resource_exhausted(message)
            }
            AccountsError::Store(AccountsStoreError::Store(_)) => {
                tonic::Status::unavailable(message)
            }
            _ => tonic::Status::invalid_argument(message),
        }
    }
}

/// What a successful login gives.
#[derive(Debug, Clone)]
pub struct SessionGrant {
    /// The session token (for a secure, HttpOnly cookie), shown once.
    pub token: String,
    /// The CSRF token, to send back in a header with every change.
    pub csrf: String,
    /// When the session ends if left idle, Unix ms.
    pub expires_at: u64,
    /// Who the session acts as.
    pub principal: Principal,
}

/// An account as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    /// The pseudonymous id.
    pub id: String,
    /// The login name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Locked until then (Unix ms), 0 when not locked.
    pub locked_until_ms: u64,
    /// Whether it has a second factor.
    pub totp: bool,
    /// When it was made, Unix ms.
    pub created_at_ms: u64,
    /// The console's language; empty until chosen.
    pub language: String,
    /// The IANA time zone dates are shown in; empty: UTC.
    pub time_zone: String,
}

impl AccountSummary {
    fn of(record: &AccountRecord, now_ms: u64) -> Self {
        Self {
            id: record.id.clone(),
            name: record.name.clone(),
            roles: record.roles.clone(),
            disabled: record.disabled,
            locked_until_ms: if record.locked_until_ms > now_ms {
                record.locked_until_ms
            } else {
                0
            },
            totp: !record.totp_secret.is_empty(),
            created_at_ms: record.created_at_ms,
            language: record.language.clone(),
            time_zone: record.time_zone.clone(),
        }
    }
}

/// An API token as listed (never the token).
pub type TokenSummary = TokenRecord;

/// A token just issued: the token is shown this once and stored only as its hash.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// Its id, its actor in the logs.
    pub id: String,
    /// The token.
    pub token: String,
    /// Its roles.
    pub roles: Vec<Role>,
}

/// A second factor being set up: shown once, enabled when a code from it is confirmed.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI, for a QR code.
    pub uri: String,
}

/// A name as accepted for accounts and tokens.
fn check_name(field: &'static str, name: &str) -> Result<(), AccountsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccountsError::InvalidName {
            field,
            value: name.chars().take(80).collect(),
        })
    }
}

/// Hashes off the async runtime.
async fn hash_password(password: &str) -> Result<String, AccountsError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| password::PasswordError::Hash(e.to_string()))?
        .map_err(AccountsError::from)
}

/// The languages an account may choose for the console.
pub const LANGUAGES: [&str; 5] = ["en", "de", "sr-Latn", "sq", "mk"];

/// How long a login waits for its one-time code after the right password, ms.
pub const PENDING_LOGIN_MS: u64 = 5 * 60 * 1000;

/// The first step of a two-step login.
#[derive(Debug, Clone)]
pub enum Begun {
    /// Signed in: the account has no second factor.
    Signed(SessionGrant),
    /// The password was right; the one-time code is next. The pending login's token.
    NeedsCode(String),
}

/// Pending logins by the SHA-256 of their token: the account name and until when.
type Pending = std::sync::Mutex<std::collections::HashMap<[u8; 32], (String, u64)>>;

/// Accounts, sessions and tokens of one node.
pub struct Accounts {
    store: NodeStore,
    policy: AccountsPolicy,
    sessions: Sessions,
    pending: Pending,
    /// The issuer shown in authenticator apps.
    issuer: String,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// The accounts in `store`; `issuer` names the node in authenticator apps.
    pub fn new(store: NodeStore, policy: AccountsPolicy, issuer: &str) -> Self {
        Self {
            store,
            sessions: Sessions::new(policy.idle_ms, policy.absolute_ms),
            pending: Pending::default(),
            policy,
            issuer: format!("trm {issuer}"),
        }
    }

    /// The limits in force.
    pub fn policy(&self) -> AccountsPolicy {
        self.policy
    }

    /// Logs in with a name, a password and (when the account has one) a TOTP code.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        totp_code: Option<&str>,
        now_ms: u64,
    ) -> Result<SessionGrant, AuthError> {
        let record = self.check_password(name, password, now_ms).await?;
        self.second_factor(name, record, totp_code, now_ms).await
    }

    /// The first step of a login in two steps (the console's): with the right password, a
    /// session when the account has no second factor, or a pending login (its token, valid
    /// for [`PENDING_LOGIN_MS`]) that [`Accounts::finish_login`] completes with the code.
    pub async fn begin_login(
        &self,
        name: &str,
        password: &str,
        now_ms: u64,
    ) -> Result<Begun, AuthError> {
        let record = self.check_password(name, password, now_ms).await?;
        if record.totp_secret.is_empty() {
            return Ok(Begun::Signed(
                self.second_factor(name, record, None, now_ms).await?,
            ));
        }
        let token = sessions::new_token();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|_, (_, until)| *until > now_ms);
        pending.insert(
            sessions::digest(&token),
            (record.name, now_ms.saturating_add(PENDING_LOGIN_MS)),
        );
        Ok(Begun::NeedsCode(token))
    }

    /// The second step: the one-time code for a pending login. A wrong code counts as a wrong
    /// password; the pending login stays until it succeeds or its time is up.
    pub async fn finish_login(
        &self,
        pending: &str,
        code: &str,
        now_ms: u64,
    ) -> Result<SessionGrant, AuthError> {
        let key = sessions::digest(pending);
        let name = {
            let live = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            match live.get(&key) {
                Some((name, until)) if *until > now_ms => name.clone(),
                Some(_) => return Err(AuthError::Expired),
                None => return Err(AuthError::NoSession),
            }
        };
        let record = self
            .store
            .accounts()?
            .by_name(&name)?
            .ok_or(AuthError::BadCredentials)?;
        if record.locked_until_ms > now_ms {
            return Err(AuthError::Locked {
                until_ms: record.locked_until_ms,
            });
        }
        if record.disabled {
            return Err(AuthError::BadCredentials);
        }
        let grant = self
            .second_factor(&name, record, Some(code), now_ms)
            .await?;
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        Ok(grant)
    }

    /// The account of `name` when `password` is its own and it is neither locked nor disabled;
    /// a wrong password counts a failure.
    async fn check_password(
        &self,
        name: &str,
        password: &str,
        now_ms: u64,
    ) -> Result<AccountRecord, AuthError> {
        let record = self.store.accounts()?.by_name(name)?;
        if let Some(record) = &record
            && record.locked_until_ms > now_ms
        {
            return Err(AuthError::Locked {
                until_ms: record.locked_until_ms,
            });
        }
        let stored = record.as_ref().map(|r| r.password_hash.clone());
        let given = password.to_owned();
        let right =
            tokio::task::spawn_blocking(move || password::verify(&given, stored.as_deref()))
                .await
                .unwrap_or(false);
        let Some(record) = record else {
            return Err(AuthError::BadCredentials);
        };
        if !right {
            return Err(self.failed(name, now_ms, AuthError::BadCredentials).await);
        }
        if record.disabled {
            return Err(AuthError::BadCredentials);
        }
        Ok(record)
    }

    /// Checks the one-time code when the account has a second factor, then opens a session.
    async fn second_factor(
        &self,
        name: &str,
        record: AccountRecord,
        totp_code: Option<&str>,
        now_ms: u64,
    ) -> Result<SessionGrant, AuthError> {
        let mut totp_step = None;
        if !record.totp_secret.is_empty() {
            let Some(code) = totp_code else {
                return Err(AuthError::TotpRequired);
            };
            let secret = hex::decode(&record.totp_secret).unwrap_or_default();
            match totp::check(&secret, code, now_ms, record.totp_last_step) {
                Some(step) => totp_step = Some(step),
                None => return Err(self.failed(name, now_ms, AuthError::BadTotp).await),
            }
        }
        if record.failures != 0 || totp_step.is_some() {
            self.store
                .accounts()?
                .update(name, |r| {
                    r.failures = 0;
                    if let Some(step) = totp_step {
                        if step <= r.totp_last_step {
                            // The same code taken by a concurrent login.
                            return Err(AccountsStoreError::Refused("code used".into()));
                        }
                        r.totp_last_step = step;
                    }
                    Ok(())
                })
                .await
                .map_err(|e| match e {
                    AccountsStoreError::Refused(_) => AuthError::BadTotp,
                    e => e.into(),
                })?;
        }
        let principal = Principal {
            account: AccountId::from_stored(record.id.clone()),
            roles: record.roles.clone(),
            via: Via::Session,
        };
        let opened = self.sessions.open(principal.clone(), now_ms);
        tracing::info!(account = %principal.account, "logged in");
        Ok(SessionGrant {
            token: opened.token,
            csrf: opened.csrf,
            expires_at: opened.expires_at_ms,
            principal,
        })
    }

    /// The CSRF token of a live session (for the console's forms).
    pub fn session_csrf(&self, token: &str) -> Result<String, AuthError> {
        self.sessions.csrf(token).ok_or(AuthError::NoSession)
    }

    /// The account behind an id, for its own settings: name, language, time zone, second
    /// factor.
    pub fn profile(&self, id: &AccountId) -> Result<AccountSummary, AuthError> {
        let record = self
            .store
            .accounts()?
            .by_id(id.as_str())?
            .ok_or(AuthError::NoSession)?;
        Ok(AccountSummary::of(&record, 0))
    }

    /// Whether `password` is the current password of account `name` (a wrong one counts as a
    /// failed login): asked before an account changes its own password.
    pub async fn confirm_password(
        &self,
        name: &str,
        password: &str,
        now_ms: u64,
    ) -> Result<(), AuthError> {
        self.check_password(name, password, now_ms)
            .await
            .map(|_| ())
    }

    /// Sets an account's language and time zone, each checked (empty for the default).
    pub async fn set_preferences(
        &self,
        name: &str,
        language: &str,
        time_zone: &str,
        now_ms: u64,
    ) -> Result<AccountSummary, AccountsError> {
        if !language.is_empty() && !LANGUAGES.contains(&language) {
            return Err(AccountsError::Language(language.chars().take(40).collect()));
        }
        if !time_zone.is_empty() && jiff::tz::db().get(time_zone).is_err() {
            return Err(AccountsError::TimeZone(
                time_zone.chars().take(80).collect(),
            ));
        }
        let (record, ()) = self
            .store
            .accounts()?
            .update(name, |r| {
                r.language = language.to_owned();
                r.time_zone = time_zone.to_owned();
                Ok(())
            })
            .await?;
        Ok(AccountSummary::of(&record, now_ms))
    }

    /// Counts a failure on `name` (locking it at the limit) and returns the refusal to give.
    async fn failed(&self, name: &str, now_ms: u64, refusal: AuthError) -> AuthError {
        let policy = self.policy;
        let counted = match self.store.accounts() {
            Ok(accounts) => {
                accounts
                    .update(name, |r| {
                        r.failures = r.failures.saturating_add(1);
                        if r.failures >= policy.max_failures {
                            r.failures = 0;
                            r.locked_until_ms = now_ms.saturating_add(policy.lockout_ms);
                        }
                        Ok(r.locked_until_ms)
                    })
                    .await
            }
            Err(e) => Err(e.into()),
        };
        match counted {
            Ok((record, _)) if record.locked_until_ms > now_ms => {
                tracing::warn!(account = %record.id, "account locked after repeated failed logins");
                AuthError::Locked {
                    until_ms: record.locked_until_ms,
                }
            }
            Ok(_) => refusal,
            // A failure that cannot be counted refuses the login all the same.
            Err(e) => e.into(),
        }
    }

    /// The principal of a live session; its idle time starts again.
    pub fn session(&self, token: &str, now_ms: u64) -> Result<Principal, AuthError> {
        self.sessions
            .touch(token, now_ms)
            .map_err(|lookup| match lookup {
                Lookup::Unknown => AuthError::NoSession,
                Lookup::Expired => AuthError::Expired,
            })
    }

    /// Checks the CSRF token sent with a change against the session's.
    pub fn check_csrf(&self, token: &str, csrf: &str) -> Result<(), AuthError> {
        match self.sessions.csrf_matches(token, csrf) {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuthError::BadCsrf),
            Err(_) => Err(AuthError::NoSession),
        }
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) -> Result<(), AuthError> {
        if self.sessions.close(token) {
            Ok(())
        } else {
            Err(AuthError::NoSession)
        }
    }

    /// The principal of an API token.
    pub fn bearer(&self, token: &str, now_ms: u64) -> Result<Principal, AuthError> {
        let record = self
            .store
            .accounts()?
            .token(&sessions::digest(token))?
            .ok_or(AuthError::NoSession)?;
        if record.revoked_at_ms != 0 {
            return Err(AuthError::Revoked);
        }
        if record.expires_at_ms != 0 && record.expires_at_ms <= now_ms {
            return Err(AuthError::TokenExpired);
        }
        Ok(Principal {
            account: AccountId::from_stored(record.id),
            roles: record.roles,
            via: Via::Token,
        })
    }

    /// Creates an account. On disk when it returns.
    pub async fn create(
        &self,
        name: &str,
        roles: &[String],
        password: &str,
        now_ms: u64,
    ) -> Result<AccountSummary, AccountsError> {
        check_name("name", name)?;
        let roles = super::roles_from(roles)?;
        let record = AccountRecord {
            id: AccountId::new_account().to_string(),
            name: name.to_owned(),
            roles,
            password_hash: hash_password(password).await?,
            disabled: false,
            failures: 0,
            locked_until_ms: 0,
            totp_secret: String::new(),
            totp_pending: String::new(),
            totp_last_step: 0,
            created_at_ms: now_ms,
            language: String::new(),
            time_zone: String::new(),
        };
        self.store.accounts()?.create(&record).await?;
        tracing::info!(account = %record.id, "account created");
        Ok(AccountSummary::of(&record, now_ms))
    }

    /// Every account.
    pub fn list(&self, now_ms: u64) -> Result<Vec<AccountSummary>, AccountsError> {
        Ok(self
            .store
            .accounts()?
            .list()?
            .iter()
            .map(|r| AccountSummary::of(r, now_ms))
            .collect())
    }

    /// Disables (ending its sessions) or enables an account; enabling also lifts a lock.
    pub async fn set_disabled(
        &self,
        name: &str,
        disabled: bool,
        now_ms: u64,
    ) -> Result<AccountSummary, AccountsError> {
        let (record, ()) = self
            .store
            .accounts()?
            .update(name, |r| {
                r.disabled = disabled;
                if !disabled {
                    r.locked_until_ms = 0;
                    r.failures = 0;
                }
                Ok(())
            })
            .await?;
        if disabled {
            self.sessions
                .close_all(&AccountId::from_stored(record.id.clone()));
        }
        Ok(AccountSummary::of(&record, now_ms))
    }

    /// Sets a new password (lifting a lock and ending the account's sessions).
    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
        now_ms: u64,
    ) -> Result<AccountSummary, AccountsError> {
        let hash = hash_password(password).await?;
        let (record, ()) = self
            .store
            .accounts()?
            .update(name, |r| {
                r.password_hash.clone_from(&hash);
                r.locked_until_ms = 0;
                r.failures = 0;
                Ok(())
            })
            .await?;
        self.sessions
            .close_all(&AccountId::from_stored(record.id.clone()));
        Ok(AccountSummary::of(&record, now_ms))
    }

    /// Starts setting up a second factor: a new secret, shown once, waiting for a code.
    pub async fn begin_totp(&self, name: &str) -> Result<TotpSetup, AccountsError> {
        let secret = totp::new_secret();
        let pending = hex::encode(&secret);
        let (record, ()) = self
            .store
            .accounts()?
            .update(name, |r| {
                r.totp_pending.clone_from(&pending);
                Ok(())
            })
            .await?;
        Ok(TotpSetup {
            secret: totp::to_base32(&secret),
            uri: totp::uri(&self.issuer, &record.name, &secret),
        })
    }

    /// Enables the second factor set up with [`Accounts::begin_totp`] once `code` matches it.
    pub async fn confirm_totp(
        &self,
        name: &str,
        code: &str,
        now_ms: u64,
    ) -> Result<AccountSummary, AccountsError> {
        let accounts = self.store.accounts()?;
        let (record, ()) = accounts
            .update(name, |r| {
                if r.totp_pending.is_empty() {
                    return Err(AccountsStoreError::Refused("pending".into()));
                }
                let secret = hex::decode(&r.totp_pending).unwrap_or_default();
                let Some(step) = totp::check(&secret, code, now_ms, 0) else {
                    return Err(AccountsStoreError::Refused("code".into()));
                };
                r.totp_secret = std::mem::take(&mut r.totp_pending);
                r.totp_last_step = step;
                Ok(())
            })
            .await
            .map_err(|e| match e {
                AccountsStoreError::Refused(what) if what == "pending" => {
                    AccountsError::NoTotpPending(name.to_owned())
                }
                AccountsStoreError::Refused(_) => AccountsError::BadTotp,
                e => e.into(),
            })?;
        Ok(AccountSummary::of(&record, now_ms))
    }

    /// Removes an account's second factor.
    pub async fn disable_totp(
        &self,
        name: &str,
        now_ms: u64,
    ) -> Result<AccountSummary, AccountsError> {
        let (record, ()) = self
            .store
            .accounts()?
            .update(name, |r| {
                r.totp_secret.clear();
                r.totp_pending.clear();
                Ok(())
            })
            .await?;
        Ok(AccountSummary::of(&record, now_ms))
    }

    /// Issues an API token for a system, scoped to `roles`; `expires_at_ms` 0 for never.
    pub async fn issue_token(
        &self,
        name: &str,
        roles: &[String],
        now_ms: u64,
        expires_at_ms: u64,
    ) -> Result<IssuedToken, AccountsError> {
        check_name("name", name)?;
        let roles = super::roles_from(roles)?;
        let token = format!("trm_{}", sessions::new_token());
        let record = TokenRecord {
            id: AccountId::new_token().to_string(),
            name: name.to_owned(),
            roles: roles.clone(),
            created_at_ms: now_ms,
            revoked_at_ms: 0,
            expires_at_ms,
        };
        self.store
            .accounts()?
            .issue_token(&sessions::digest(&token), &record)
            .await?;
        tracing::info!(token = %record.id, "API token issued");
        Ok(IssuedToken {
            id: record.id,
            token,
            roles,
        })
    }

    /// Revokes an API token by its id.
    pub async fn revoke_token(&self, id: &str, now_ms: u64) -> Result<TokenSummary, AccountsError> {
        let record = self.store.accounts()?.revoke_token(id, now_ms).await?;
        tracing::info!(token = %record.id, "API token revoked");
        Ok(record)
    }

    /// Every API token issued, revoked ones too.
    pub fn tokens(&self) -> Result<Vec<TokenSummary>, AccountsError> {
        Ok(self.store.accounts()?.tokens()?)
    }

    /// Records in the access log that `principal` read `message_id`'s content `what` way
    /// (`show`, `case`...). On disk when it returns: call it before returning the content.
    pub async fn record_read(
        &self,
        principal: &Principal,
        message_id: &str,
        what: &str,
        now_ms: u64,
    ) -> Result<AccessEntry, StoreError> {
        self.store
            .accounts()?
            .append_access(now_ms, principal.account.as_str(), message_id, what)
            .await
    }

    /// Access log entries from `from`, at most `limit`.
    pub fn access_entries(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        self.store.accounts()?.access_entries(from, limit)
    }

    /// Verifies the whole access log against its recorded head.
    pub fn verify_access_log(&self) -> Result<Result<AccessSummary, AccessLogBroken>, StoreError> {
        let accounts = self.store.accounts()?;
        let head = accounts.access_head()?;
        let mut entries = Vec::new();
        let mut from = 0u64;
        loop {
            let page = accounts.access_entries(from, 10_000)?;
            let Some(last) = page.last() else { break };
            from = last.index.saturating_add(1);
            entries.extend(page);
        }
        Ok(access_log::verify(&entries, head.as_ref()))
    }
}

#[cfg(test)]
mod settings_tests {
    use super::{AccountsPolicy, AccountsSettings};

    #[test]
    fn the_default_table_is_the_default_policy_and_bad_limits_are_named() {
        assert_eq!(
            AccountsSettings::default().validate(),
            Ok(AccountsPolicy::default())
        );
        let short = AccountsSettings {
            idle_session_secs: 2,
            absolute_session_secs: 60,
            lockout_failures: 3,
            lockout_secs: 30,
        };
        assert_eq!(
            short.validate(),
            Ok(AccountsPolicy {
                max_failures: 3,
                lockout_ms: 30_000,
                idle_ms: 2_000,
                absolute_ms: 60_000,
            })
        );
        let cases = [
            (
                "accounts.idle_session_secs",
                AccountsSettings {
                    idle_session_secs: 0,
                    ..short.clone()
                },
            ),
            (
                "accounts.absolute_session_secs",
                AccountsSettings {
                    absolute_session_secs: 1,
                    ..short.clone()
                },
            ),
            (
                "accounts.lockout_failures",
                AccountsSettings {
                    lockout_failures: 0,
                    ..short.clone()
                },
            ),
            (
                "accounts.lockout_secs",
                AccountsSettings {
                    lockout_secs: 0,
                    ..short.clone()
                },
            ),
        ];
        for (field, bad) in cases {
            assert_eq!(bad.validate().map_err(|(name, _)| name), Err(field));
        }
    }
}
