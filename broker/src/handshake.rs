//! Answering callers: TLS 1.3 with a client certificate that chains to the federation CA and
//! that the directory in use lists, checked during the handshake (`trm_tls`), so that an
//! unlisted, revoked or foreign certificate never reaches HTTP/2, health or reflection.
//! [`server_config`] builds the rustls configuration; the accept loop ([`crate::listen`]) runs
//! each handshake with it.

use std::sync::Arc;

use rustls::ServerConfig;
use trm_tls::TlsError;

use crate::state::BrokerState;

/// The broker's server configuration, pinned to the directory `state` uses (and swapped with
/// it at every adoption).
pub fn server_config(state: &BrokerState) -> Result<Arc<ServerConfig>, TlsError> {
    let tls = &state.federation.tls;
    tls.follow(state.directory.current());
    trm_tls::server_config(
        &tls.identity()?,
        &tls.roots()?,
        tls.pins().clone(),
        tls.refusals().clone(),
    )
}
