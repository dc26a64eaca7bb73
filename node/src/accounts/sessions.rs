//! Browser sessions, in memory: a restart of the node ends them all. A session is found by the
//! SHA-256 of its token (the token itself is not kept), ends after an idle time without use
//! and after an absolute time whatever the use, and carries a CSRF token compared in constant
//! time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AccountId, Principal};

/// A session's state.
#[derive(Debug, Clone)]
struct Session {
    principal: Principal,
    csrf: String,
    created_ms: u64,
    last_seen_ms: u64,
}

/// Why a session was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// No session has that token (or it was logged out).
    Unknown,
    /// It ended (idle or absolute expiry) and is forgotten now.
    Expired,
}

/// A fresh random token: 32 bytes in hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The SHA-256 of a token, by which sessions and API tokens are found.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The live sessions.
#[derive(Debug)]
pub struct Sessions {
    idle_ms: u64,
    absolute_ms: u64,
    live: Mutex<HashMap<[u8; 32], Session>>,
}

/// A session just opened.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The session token, shown once.
    pub token: String,
    /// Its CSRF token.
    pub csrf: String,
    /// When it ends if left idle, Unix ms.
    pub expires_at_ms: u64,
}

impl Sessions {
    /// Sessions ending after `idle_ms` without use or `absolute_ms` after they began.
    pub fn new(idle_ms: u64, absolute_ms: u64) -> Self {
        Self {
            idle_ms,
            absolute_ms,
            live: Mutex::default(),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expires_at(&self, session: &Session) -> u64 {
        session
            .last_seen_ms
            .saturating_add(self.idle_ms)
            .min(session.created_ms.saturating_add(self.absolute_ms))
    }

    /// Opens a session for `principal` at `now_ms`.
    pub fn open(&self, principal: Principal, now_ms: u64) -> Opened {
        let (token, csrf) = (new_token(), new_token());
        let session = Session {
            principal,
            csrf: csrf.clone(),
            created_ms: now_ms,
            last_seen_ms: now_ms,
        };
        let expires_at_ms = self.expires_at(&session);
        let mut live = self.live();
        // Forget what has ended, so the table does not grow with abandoned sessions.
        live.retain(|_, s| self.expires_at(s) > now_ms);
        live.insert(digest(&token), session);
        Opened {
            token,
            csrf,
            expires_at_ms,
        }
    }

    /// The session's principal, its use recorded at `now_ms` (the idle time starts again).
    pub fn touch(&self, token: &str, now_ms: u64) -> Result<Principal, Lookup> {
        let key = digest(token);
        let mut live = self.live();
        let Some(session) = live.get_mut(&key) else {
            return Err(Lookup::Unknown);
        };
        if self.expires_at(session) <= now_ms {
            live.remove(&key);
            return Err(Lookup::Expired);
        }
        session.last_seen_ms = session.last_seen_ms.max(now_ms);
        Ok(session.principal.clone())
    }

    /// Whether `csrf` is the session's CSRF token.
    pub fn csrf_matches(&self, token: &str, csrf: &str) -> Result<bool, Lookup> {
        let live = self.live();
        let session = live.get(&digest(token)).ok_or(Lookup::Unknown)?;
        Ok(session.csrf.as_bytes().ct_eq(csrf.as_bytes()).into())
    }

    /// The session's CSRF token, if it is live (not checked for expiry: [`Sessions::touch`]
    /// does that).
    pub fn csrf(&self, token: &str) -> Option<String> {
        self.live().get(&digest(token)).map(|s| s.csrf.clone())
    }

    /// Ends the session; whether it was live.
    pub fn close(&self, token: &str) -> bool {
        self.live().remove(&digest(token)).is_some()
    }

    /// Ends every session of `account` (disabled, or its password changed).
    pub fn close_all(&self, account: &AccountId) {
        self.live().retain(|_, s| &s.principal.account != account);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Role, Via};
    use super::*;

    fn principal() -> Principal {
        Principal {
            account: AccountId::from_stored("acc-1".into()),
            roles: vec![Role::Caseworker],
            via: Via::Session,
        }
    }

    #[test]
    fn a_session_ends_when_idle_and_at_its_absolute_limit() {
        let sessions = Sessions::new(30, 100);
        let opened = sessions.open(principal(), 0);
        assert_eq!(opened.expires_at_ms, 30);
        // Used every 20 ms: alive past the idle time, ended at the absolute one.
        for now in [20, 40, 60, 80] {
            assert!(sessions.touch(&opened.token, now).is_ok(), "at {now}");
        }
        assert_eq!(sessions.touch(&opened.token, 100), Err(Lookup::Expired));
        assert_eq!(sessions.touch(&opened.token, 100), Err(Lookup::Unknown));
        let idle = sessions.open(principal(), 0);
        assert_eq!(sessions.touch(&idle.token, 30), Err(Lookup::Expired));
    }

    #[test]
    fn csrf_logout_and_closing_all_of_an_account() {
        let sessions = Sessions::new(1000, 1000);
        let opened = sessions.open(principal(), 0);
        assert_eq!(sessions.csrf_matches(&opened.token, &opened.csrf), Ok(true));
        assert_eq!(sessions.csrf_matches(&opened.token, "x"), Ok(false));
        assert_eq!(
            sessions.csrf_matches("nope", &opened.csrf),
            Err(Lookup::Unknown)
        );
        assert!(sessions.close(&opened.token));
        assert!(!sessions.close(&opened.token));
        let again = sessions.open(principal(), 0);
        sessions.close_all(&principal().account);
        assert_eq!(sessions.touch(&again.token, 1), Err(Lookup::Unknown));
    }
}
