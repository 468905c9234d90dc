//! The names registry's upkeep while chatd runs: the last-seen times
//! noted at joins and leaves written in batches, and the names unused for
//! `name_expiry` released (`crate::registry`).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cluster::Peers;
use crate::hub::Hub;
use crate::registry::{Registry, SEEN_EVERY, SWEEP_EVERY};

/// Writes the last-seen times every [`SEEN_EVERY`] and sweeps the unused
/// names every [`SWEEP_EVERY`] (noting first the names this node's proven
/// sessions hold), until the shutdown. A single chatd sweeps
/// at once at start (its file holds every leave up to the last shutdown;
/// a name unused for `name_expiry` while it was stopped is released as
/// soon as it runs again); a node of a cluster one batch after its start,
/// once it knows who is online on the other nodes. The shutdown writes the
/// last batch itself ([`super::run`]), once every session has left.
pub async fn upkeep(
    peers: Arc<Peers>,
    registry: Arc<Registry>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let start = tokio::time::Instant::now();
    let mut seen = tokio::time::interval_at(start + SEEN_EVERY, SEEN_EVERY);
    let first_sweep = if peers.node_name().is_none() {
        start
    } else {
        start + SEEN_EVERY
    };
    let mut sweep = tokio::time::interval_at(first_sweep, SWEEP_EVERY);
    for tick in [&mut seen, &mut sweep] {
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = seen.tick() => peers.write_seen(&registry).await,
            _ = sweep.tick() => {
                if !registry.policy().binds() {
                    continue;
                }
                // A name held all along by a proven session is in use: its
                // last-seen time moves on (else a crash after a session
                // longer than name_expiry would leave it looking unused).
                for name in hub.proven_here() {
                    registry.seen(&name);
                }
                peers.write_seen(&registry).await;
                match peers.expire_names(&registry, &hub).await {
                    Ok(gone) if gone.is_empty() => {}
                    Ok(gone) => tracing::info!(
                        released = gone.len(),
                        names = %gone.join(", "),
                        "names: released the names unused for name_expiry"
                    ),
                    Err(e) => tracing::warn!("names: unused names could not be released now: {e}"),
                }
            }
            () = shutdown.cancelled() => return,
        }
    }
}
