//! A fault hook for testing crash safety: in debug builds, when the environment variable
//! [`CRASH_AT`] names a step of a publish, the process aborts right after that step, as a
//! power cut or a `kill -9` would stop it.
//!
//! Only debug builds honour it (`cfg(debug_assertions)`): the tests run the debug binary
//! that `cargo test` builds, and the release binary an authority runs has no such path at
//! all. A cargo feature would not do: tests of this crate cannot turn a feature of its own
//! binary on, and a feature enabled once for tests would stay in every build that shares it.

/// The environment variable naming the step after which to abort.
pub const CRASH_AT: &str = "TRM_AUTHORITY_CRASH_AT";

/// After the version number is reserved (`next-version` written), before signing.
pub const AFTER_RESERVE: &str = "after-reserve";
/// After the directory is signed, before anything signed is written.
pub const AFTER_SIGN: &str = "after-sign";
/// After the signed directory is kept in `published/`, before `directory.pb` is replaced.
pub const AFTER_ARCHIVE: &str = "after-archive";
/// After `directory.pb` is replaced, before the command reports success.
pub const AFTER_WRITE: &str = "after-write";
/// The steps of a publish, in order, each one a place the hook can stop at.
pub const STEPS: [&str; 4] = [AFTER_RESERVE, AFTER_SIGN, AFTER_ARCHIVE, AFTER_WRITE];

/// Aborts the process if [`CRASH_AT`] names `step` (debug builds only).
pub(crate) fn point(step: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os(CRASH_AT).is_some_and(|wanted| wanted == step) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}
