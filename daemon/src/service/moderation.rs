//! Moderation's upkeep while chatd runs: the bans and mutes that ended dropped
//! from the book every [`SWEEP_EVERY`] (they stopped matching at their end
//! already; this keeps the book, and its bound, to the bans in force).

use std::sync::Arc;

use chat_protocol::clock::now_ms;
use tokio_util::sync::CancellationToken;

use crate::cluster::Peers;
use crate::hub::Hub;
use crate::moderation::{Moderation, SWEEP_EVERY};

/// Sweeps until the shutdown.
pub async fn upkeep(
    peers: Arc<Peers>,
    moderation: Arc<Moderation>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = sweep.tick() => {
                let now = now_ms();
                if !moderation.book().has_ended(now) {
                    continue;
                }
                // Every change drops what ended: a change of nothing does
                // only that.
                if let Err(e) = peers.change_moderation(&moderation, &hub, |_| Ok(())).await {
                    tracing::warn!("moderation: the bans that ended could not be dropped now: {e}");
                }
            }
            () = shutdown.cancelled() => return,
        }
    }
}
