//! The trees of people's accounts, systems' API tokens and the access log, in the node's
//! database (so in its backups, which copy every tree). Each write is one sled transaction and
//! is on disk when its operation returns; records are JSON.
//!
//! - `accounts`: key the account id, value an [`AccountRecord`];
//! - `account_names`: key the login name in lowercase, value the account id;
//! - `api_tokens`: key SHA-256 of the token (the token itself is never stored), value a
//!   [`TokenRecord`];
//! - `access_log`: key the entry's index (`u64` big-endian), value an [`AccessEntry`];
//! - `access_head`: the single key `head`, value the last entry's index and hash, so that an
//!   append reads its predecessor inside its transaction.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{NodeStore, StoreError};
use crate::access_log::{self, AccessEntry, AccessHead};

/// The accounts tree.
pub const ACCOUNTS_TREE: &str = "accounts";
/// The login names tree.
pub const NAMES_TREE: &str = "account_names";
/// The API tokens tree.
pub const TOKENS_TREE: &str = "api_tokens";
/// The access log tree.
pub const ACCESS_TREE: &str = "access_log";
/// The access log's head.
pub const ACCESS_HEAD_TREE: &str = "access_head";

const HEAD_KEY: &[u8] = b"head";

/// A person's account as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountRecord {
    /// The pseudonymous id (`acc-` and 16 random bytes in hex).
    pub id: String,
    /// The login name, as given.
    pub name: String,
    /// Role names (see [`crate::accounts::Role`]).
    pub roles: Vec<crate::accounts::Role>,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot log in and their sessions end.
    pub disabled: bool,
    /// Wrong passwords in a row.
    pub failures: u32,
    /// Locked until then (Unix ms); 0 when not locked.
    pub locked_until_ms: u64,
    /// The confirmed TOTP secret, hex; empty when the account has no second factor.
    pub totp_secret: String,
    /// A TOTP secret shown and not yet confirmed with a code, hex.
    pub totp_pending: String,
    /// The last TOTP step taken (a code is taken once).
    pub totp_last_step: u64,
    /// When it was made, Unix ms.
    pub created_at_ms: u64,
    /// The console's language (`en`, `de`, `sr-Latn`, `sq`, `mk`); empty until chosen.
    #[serde(default)]
    pub language: String,
    /// The IANA time zone dates are shown in; empty: UTC.
    #[serde(default)]
    pub time_zone: String,
}

/// A system's API token as stored (never the token itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// The token's pseudonymous id (`tok-` and 8 random bytes in hex), its actor in the logs.
    pub id: String,
    /// What the token is for, as given (a system's name).
    pub name: String,
    /// The roles it carries.
    pub roles: Vec<crate::accounts::Role>,
    /// When it was issued, Unix ms.
    pub created_at_ms: u64,
    /// When it was revoked, Unix ms; 0 while valid.
    pub revoked_at_ms: u64,
    /// When it stops being valid by itself, Unix ms; 0 for never.
    pub expires_at_ms: u64,
}

/// Why an account change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AccountsStoreError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The login name is taken.
    #[error("an account named {0} already exists")]
    NameTaken(String),
    /// No account or token has that name or id.
    #[error("no {what} {name}")]
    NotFound {
        /// "account" or "token".
        what: &'static str,
        /// The name or id asked for.
        name: String,
    },
    /// The change itself refused.
    #[error("{0}")]
    Refused(String),
}

impl From<sled::Error> for AccountsStoreError {
    fn from(e: sled::Error) -> Self {
        AccountsStoreError::Store(StoreError::Engine(e))
    }
}

impl From<TransactionError<AccountsStoreError>> for AccountsStoreError {
    fn from(e: TransactionError<AccountsStoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => e.into(),
        }
    }
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| super::corrupt(tree, e))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain records cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn abort<T>(e: AccountsStoreError) -> Result<T, ConflictableTransactionError<AccountsStoreError>> {
    Err(ConflictableTransactionError::Abort(e))
}

/// The accounts, tokens and access log trees of the database in use.
pub struct AccountsStore<'a> {
    store: &'a NodeStore,
    db: sled::Db,
    commit: trm_storage::GroupCommit,
}

impl NodeStore {
    /// The accounts, tokens and access log.
    pub fn accounts(&self) -> Result<AccountsStore<'_>, StoreError> {
        let engine = self.engine()?;
        Ok(AccountsStore {
            store: self,
            db: engine.db.clone(),
            commit: engine.commit.clone(),
        })
    }
}

impl AccountsStore<'_> {
    fn tree(&self, name: &'static str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Waits until what was written is on disk.
    async fn durable(&self) -> Result<(), StoreError> {
        self.store.engine.health.check()?;
        self.commit
            .durable()
            .await
            .map_err(|e| self.store.engine.observe(StoreError::Durability(e)))
    }

    /// Refused at once while the store does not take writes.
    fn writable(&self) -> Result<(), StoreError> {
        Ok(self.store.engine.health.check()?)
    }

    /// The account with login name `name` (case-insensitive).
    pub fn by_name(&self, name: &str) -> Result<Option<AccountRecord>, StoreError> {
        let Some(id) = self.tree(NAMES_TREE)?.get(name.to_lowercase().as_bytes())? else {
            return Ok(None);
        };
        match self.tree(ACCOUNTS_TREE)?.get(&id)? {
            Some(bytes) => decode(ACCOUNTS_TREE, &bytes).map(Some),
            None => Err(super::corrupt(NAMES_TREE, "a name points to no account")),
        }
    }

    /// The account with id `id`.
    pub fn by_id(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.tree(ACCOUNTS_TREE)?
            .get(id.as_bytes())?
            .map(|bytes| decode(ACCOUNTS_TREE, &bytes))
            .transpose()
    }

    /// Every account, by id.
    pub fn list(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.tree(ACCOUNTS_TREE)?
            .iter()
            .map(|item| {
                let (_, bytes) = item?;
                decode(ACCOUNTS_TREE, &bytes)
            })
            .collect()
    }

    /// Stores a new account; refused when its name is taken. On disk when it returns.
    pub async fn create(&self, record: &AccountRecord) -> Result<(), AccountsStoreError> {
        self.writable()?;
        let (accounts, names) = (self.tree(ACCOUNTS_TREE)?, self.tree(NAMES_TREE)?);
        let name_key = record.name.to_lowercase();
        (&accounts, &names).transaction(|(accounts, names)| {
            if names.get(name_key.as_bytes())?.is_some() {
                return abort(AccountsStoreError::NameTaken(record.name.clone()));
            }
            names.insert(name_key.as_bytes(), record.id.as_bytes())?;
            accounts.insert(record.id.as_bytes(), encode(record))?;
            Ok(())
        })?;
        self.durable().await?;
        Ok(())
    }

    /// Changes the account named `name` with `change` and stores it in one transaction; the
    /// changed record is returned once on disk. `change` may refuse (nothing is written).
    pub async fn update<R>(
        &self,
        name: &str,
        change: impl Fn(&mut AccountRecord) -> Result<R, AccountsStoreError>,
    ) -> Result<(AccountRecord, R), AccountsStoreError> {
        self.writable()?;
        let (accounts, names) = (self.tree(ACCOUNTS_TREE)?, self.tree(NAMES_TREE)?);
        let not_found = || AccountsStoreError::NotFound {
            what: "account",
            name: name.to_owned(),
        };
        let done = (&accounts, &names).transaction(|(accounts, names)| {
            let Some(id) = names.get(name.to_lowercase().as_bytes())? else {
                return abort(not_found());
            };
            let Some(bytes) = accounts.get(&id)? else {
                return abort(not_found());
            };
            let mut record: AccountRecord = match decode(ACCOUNTS_TREE, &bytes) {
                Ok(record) => record,
                Err(e) => return abort(e.into()),
            };
            let out = match change(&mut record) {
                Ok(out) => out,
                Err(e) => return abort(e),
            };
            accounts.insert(id.clone(), encode(&record))?;
            Ok((record, out))
        })?;
        self.durable().await?;
        Ok(done)
    }

    /// The token whose SHA-256 is `digest`.
    pub fn token(&self, digest: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        self.tree(TOKENS_TREE)?
            .get(digest)?
            .map(|bytes| decode(TOKENS_TREE, &bytes))
            .transpose()
    }

    /// Every token ever issued (revoked ones too), by digest.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.tree(TOKENS_TREE)?
            .iter()
            .map(|item| {
                let (_, bytes) = item?;
                decode(TOKENS_TREE, &bytes)
            })
            .collect()
    }

    /// Stores a new token under its digest. On disk when it returns.
    pub async fn issue_token(
        &self,
        digest: &[u8; 32],
        record: &TokenRecord,
    ) -> Result<(), AccountsStoreError> {
        self.writable()?;
        let tokens = self.tree(TOKENS_TREE)?;
        tokens.transaction(|tokens| {
            if tokens.get(digest)?.is_some() {
                return abort(AccountsStoreError::Refused("token collision".into()));
            }
            tokens.insert(digest.as_slice(), encode(record))?;
            Ok(())
        })?;
        self.durable().await?;
        Ok(())
    }

    /// Revokes the token with id `id` at `now_ms`; returns it once on disk. Revoking a revoked
    /// token keeps its first revocation time.
    pub async fn revoke_token(
        &self,
        id: &str,
        now_ms: u64,
    ) -> Result<TokenRecord, AccountsStoreError> {
        self.writable()?;
        let tokens = self.tree(TOKENS_TREE)?;
        let mut found = None;
        for item in tokens.iter() {
            let (key, bytes) = item?;
            let record: TokenRecord = decode(TOKENS_TREE, &bytes)?;
            if record.id == id {
                found = Some((key, record));
                break;
            }
        }
        let Some((key, mut record)) = found else {
            return Err(AccountsStoreError::NotFound {
                what: "token",
                name: id.to_owned(),
            });
        };
        if record.revoked_at_ms == 0 {
            record.revoked_at_ms = now_ms.max(1);
            tokens.insert(key, encode(&record))?;
        }
        self.durable().await?;
        Ok(record)
    }

    /// Appends an entry to the access log, chained to the last one; on disk when it returns.
    pub async fn append_access(
        &self,
        at_ms: u64,
        account: &str,
        message_id: &str,
        what: &str,
    ) -> Result<AccessEntry, StoreError> {
        self.writable()?;
        let (log, head) = (self.tree(ACCESS_TREE)?, self.tree(ACCESS_HEAD_TREE)?);
        let entry = (&log, &head)
            .transaction(|(log, head)| {
                let previous: Option<AccessHead> = match head.get(HEAD_KEY)? {
                    Some(bytes) => match decode(ACCESS_HEAD_TREE, &bytes) {
                        Ok(previous) => Some(previous),
                        Err(e) => return Err(ConflictableTransactionError::Abort(e)),
                    },
                    None => None,
                };
                let entry = access_log::next(previous.as_ref(), at_ms, account, message_id, what);
                log.insert(entry.index.to_be_bytes().to_vec(), encode(&entry))?;
                head.insert(HEAD_KEY, encode(&entry.head()))?;
                Ok(entry)
            })
            .map_err(|e: TransactionError<StoreError>| StoreError::from(e))?;
        self.durable().await?;
        Ok(entry)
    }

    /// Access log entries from index `from` (0-based), at most `limit`.
    pub fn access_entries(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        self.tree(ACCESS_TREE)?
            .range(from.to_be_bytes()..)
            .take(limit)
            .map(|item| {
                let (_, bytes) = item?;
                decode(ACCESS_TREE, &bytes)
            })
            .collect()
    }

    /// The stored head of the access log (the last entry's index and hash), if any.
    pub fn access_head(&self) -> Result<Option<AccessHead>, StoreError> {
        self.tree(ACCESS_HEAD_TREE)?
            .get(HEAD_KEY)?
            .map(|bytes| decode(ACCESS_HEAD_TREE, &bytes))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn record(id: &str, name: &str) -> AccountRecord {
        AccountRecord {
            id: id.into(),
            name: name.into(),
            roles: vec![crate::accounts::Role::Caseworker],
            password_hash: "$argon2id$x".into(),
            disabled: false,
            failures: 0,
            locked_until_ms: 0,
            totp_secret: String::new(),
            totp_pending: String::new(),
            totp_last_step: 0,
            created_at_ms: 1,
            language: String::new(),
            time_zone: String::new(),
        }
    }

    #[tokio::test]
    async fn accounts_survive_a_reopen_and_names_are_unique() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let store = NodeStore::open(dir.path())?;
            let accounts = store.accounts()?;
            accounts.create(&record("acc-1", "Alice")).await?;
            let again = accounts.create(&record("acc-2", "alice")).await;
            assert!(matches!(again, Err(AccountsStoreError::NameTaken(_))));
            let (changed, ()) = accounts
                .update("ALICE", |r| {
                    r.failures = 3;
                    Ok(())
                })
                .await?;
            assert_eq!(changed.failures, 3);
            let refused = accounts
                .update("alice", |_| -> Result<(), _> {
                    Err(AccountsStoreError::Refused("no".into()))
                })
                .await;
            assert!(refused.is_err());
        }
        let store = NodeStore::open(dir.path())?;
        let accounts = store.accounts()?;
        let alice = accounts.by_name("alice")?.ok_or("lost")?;
        assert_eq!((alice.id.as_str(), alice.failures), ("acc-1", 3));
        assert_eq!(accounts.list()?.len(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn the_access_log_chains_and_survives_a_reopen() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let store = NodeStore::open(dir.path())?;
            let accounts = store.accounts()?;
            accounts.append_access(1, "acc-1", "m1", "show").await?;
            accounts.append_access(2, "acc-2", "m2", "case").await?;
        }
        let store = NodeStore::open(dir.path())?;
        let accounts = store.accounts()?;
        let third = accounts.append_access(3, "acc-1", "m3", "show").await?;
        assert_eq!(third.index, 2);
        let entries = accounts.access_entries(0, 10)?;
        let summary = access_log::verify(entries.iter(), accounts.access_head()?.as_ref())?;
        assert_eq!(summary.entries, 3);
        Ok(())
    }

    #[tokio::test]
    async fn accounts_tokens_and_the_access_log_are_in_a_backup() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let accounts = store.accounts()?;
        accounts.create(&record("acc-1", "alice")).await?;
        let token = TokenRecord {
            id: "tok-1".into(),
            name: "primero".into(),
            roles: vec![crate::accounts::Role::Coordinator],
            created_at_ms: 1,
            revoked_at_ms: 0,
            expires_at_ms: 0,
        };
        accounts.issue_token(&[7; 32], &token).await?;
        accounts.append_access(1, "acc-1", "m1", "show").await?;
        let snapshot = tokio::task::spawn_blocking(move || store.snapshot(2)).await??;
        let file = snapshot
            .files
            .iter()
            .find(|f| f.path == super::super::snapshot::STORE_FILE)
            .ok_or("no store in the snapshot")?;
        let restored = tempfile::tempdir()?;
        super::super::snapshot::rebuild(restored.path(), &file.data)?;
        let store = NodeStore::open(restored.path())?;
        let accounts = store.accounts()?;
        assert_eq!(
            accounts.by_name("alice")?.map(|a| a.id),
            Some("acc-1".into())
        );
        assert_eq!(accounts.token(&[7; 32])?, Some(token));
        let entries = accounts.access_entries(0, 10)?;
        access_log::verify(entries.iter(), accounts.access_head()?.as_ref())?;
        assert_eq!(entries.len(), 1);
        Ok(())
    }
}
