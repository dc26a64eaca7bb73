//! The node's HTTPS JSON API against a real `trm-node` process: sessions, CSRF and tokens,
//! the permission matrix read from the served OpenAPI document and `permitted()`, every
//! documented operation answering as documented, and bad input refused by field with nothing
//! stored; an administrator's accounts, tokens and webhooks; the case list a page at a time.

mod admin;
mod client;
mod matrix;
mod paging;
mod refusals;
mod schema;
mod setup;
