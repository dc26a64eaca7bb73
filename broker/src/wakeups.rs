//! Wake-ups across the broker processes of one broker name on a shared store: what another
//! process queued (an envelope for a node connected here, a receipt for a peer whose relay
//! lease this process holds) wakes the delivery stream or relay task here at once, and every
//! stream and relay task here looks at its queue again every [`BrokerStore::rescan_every`]
//! (5 s on JetStream) in case a wake-up was lost. Nothing runs for a store that only one
//! process opens: there every wake-up is in memory ([`BrokerState::wake`]).
//!
//! [`BrokerStore::rescan_every`]: crate::store::BrokerStore::rescan_every

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};

use crate::state::{BrokerState, stopped};
use crate::store::WakeUps;

/// How long to wait before subscribing again after the store refused the subscription.
const RETRY: Duration = Duration::from_secs(1);

/// Starts the task that acts on other processes' wake-ups and rescans periodically, if the
/// store is shared.
pub fn start(state: &Arc<BrokerState>) {
    if let Some(every) = state.store.rescan_every() {
        state.spawn(run(state.clone(), every));
    }
}

/// Acts on wake-ups and rescans every `every`, until shutdown.
async fn run(state: Arc<BrokerState>, every: Duration) {
    let mut shutdown = state.shutdown_signal();
    let mut rescan = tokio::time::interval(every);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut wake_ups: Option<WakeUps> = None;
    loop {
        if wake_ups.is_none() {
            match state.store.wake_ups().await {
                Ok(subscribed) => wake_ups = subscribed,
                Err(e) => {
                    warn!(cause = %e, "cannot hear other broker processes' wake-ups; rescanning every {} s meanwhile", every.as_secs())
                }
            }
        }
        let subscribed = wake_ups.is_some();
        tokio::select! {
            woken = async {
                match wake_ups.as_mut() {
                    Some(receiver) => receiver.recv().await,
                    None => {
                        tokio::time::sleep(RETRY).await;
                        None
                    }
                }
            } => match woken {
                Some(wake_up) => {
                    debug!(?wake_up, "woken by another broker process");
                    state.woken(&wake_up);
                }
                None if subscribed => {
                    // The subscription ended: subscribe again.
                    wake_ups = None;
                }
                None => {}
            },
            _ = rescan.tick() => state.wake_everyone(),
            () = stopped(&mut shutdown) => return,
        }
    }
}
