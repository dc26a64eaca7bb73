//! The message files people fill in: the referral ([`referral_file`]) and every other kind
//! ([`message_file`]), in TOML or JSON, with their templates. Every check names the field it
//! refuses (`referral.person.age_years: ...`), so `trm send` and the node's HTTP API refuse the
//! same input with the same words.
//!
//! [`form`] shows every file as a form's fields and turns what a form sent back into the
//! file's JSON; [`problem`] is what a check says, as a key and in English.
//!
//! What they get back is here too, so both answer with the same JSON: [`json`] (messages,
//! evidence, the log, the directory), [`case_json`] (cases and their threads) and
//! [`content`] (a message's content as the structured view of `trm-view`).

#![forbid(unsafe_code)]

pub mod case_json;
pub mod content;
pub mod form;
pub mod json;
pub mod language;
pub mod message_file;
pub mod problem;
pub mod referral_file;
