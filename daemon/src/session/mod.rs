//! One chat connection, from `Hello` to goodbye, on top of a
//! [`connection::Connection`].
//!
//! The handshake ([`handshake`]) runs in this task under one deadline, in
//! two phases: the greeting (`Hello` → `Challenge`, no keys yet, so
//! refusals are bare close frames) and the admission (`Auth` →
//! `Welcome`/`Reject`; keys now exist, so every deliberate close is
//! preceded by a sealed `Bye`). Once the user has joined, the connection
//! splits: this task reads ([`reader`]: opens, checks, rate-limits, hands
//! events to the room) and a writer task ([`writer`]) drains the member's
//! bounded queue in batches, sealing each event with the session key. Either side
//! ends the session through the member's [`Control`](crate::ending::Control);
//! the writer then says goodbye.

pub mod connection;
mod handshake;
mod identities;
pub(crate) mod message_rate;
mod naming;
mod operator;
mod reader;
mod rooms;
mod writer;

pub use writer::{BATCH, BATCH_BYTES};

use std::net::SocketAddr;
use std::sync::Arc;

use chat_protocol::sizes::max_client_message;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cluster::Peers;
use crate::config::Current;
use crate::hub::Hub;
use crate::metrics::{Metrics, Tally};
use crate::per_address::Guesses;
use crate::registry::Registry;
use crate::session::connection::Connection;
use crate::store::keyring::Keyring;

/// What a session uses of the daemon, shared by every session.
pub struct Parts {
    /// The configuration in force (a session keeps the one it started with).
    pub config: Arc<Current>,
    /// The keys a `Hello` may name, and the password check.
    pub keyring: Arc<Keyring>,
    /// Wrong passwords per address.
    pub guesses: Arc<Guesses>,
    /// The room.
    pub hub: Arc<Hub>,
    /// The names registry: who owns which name, under which policy.
    pub registry: Arc<Registry>,
    /// The bans (checked at each join) and what an operator's order uses.
    pub moderating: crate::ops::moderate::Moderating,
    /// The other nodes, if any: a name is claimed there, a DM sent there.
    pub peers: Arc<Peers>,
    /// What a session counts.
    pub metrics: Metrics,
    /// Fires at shutdown; every session's control is its child.
    pub shutdown: CancellationToken,
}

/// Serves one upgraded connection until it ends. `deadline` was taken at
/// `accept`: the upgrade and the chat handshake share it; `tally` is the
/// connection's place in the metrics, from `accept` on.
pub async fn run(
    conn: Connection,
    peer: SocketAddr,
    deadline: Instant,
    tally: Tally,
    parts: Arc<Parts>,
) {
    // The handshake's state (about 3 KiB of futures, its admission boxed
    // again inside) is short lived: boxed, it is freed once the user has
    // joined, and an idle connection keeps only the session's own state.
    let handshake = Box::pin(handshake::establish(conn, peer, deadline, &tally, &parts));
    let sizes = FutureSizes {
        handshake: size_of_val(&*handshake),
        ..FutureSizes::default()
    };
    // In a block: what the handshake gave (the connection whole, before
    // its split) would otherwise keep its room in this task's state for
    // the session's life, as any variable still in scope at an await does.
    let (stream, sink, member, rx, config, owner) = {
        let Some(joined) = handshake.await else {
            return;
        };
        let handshake::Established {
            conn,
            member,
            rx,
            config,
            owner,
        } = joined;
        match member.identity {
            Some(identity) => tracing::info!(
                name = %member.name, %peer, key_id = %member.key_id,
                identity = %identity.fingerprint(), owner, "joined"
            ),
            None => tracing::info!(name = %member.name, %peer, key_id = %member.key_id, "joined"),
        }
        let limit = max_client_message(config.max_text);
        let (stream, sink) = conn.split(limit, config.keepalive_timeout.0);
        (stream, sink, member, rx, config, owner)
    };
    // Each future in a block of its own: a future moved out of a variable
    // that lives across an await still takes room in this task's state
    // (the reader's, bound to a variable until it was awaited, took it
    // twice: 2.5 KiB more in every session).
    let (writer, sizes) = {
        let writer = writer::run(
            sink,
            rx,
            member.control.clone(),
            config.clone(),
            parts.metrics.sent_bytes.clone(),
        );
        let sizes = FutureSizes {
            writer: size_of_val(&writer),
            ..sizes
        };
        (tokio::spawn(writer), sizes)
    };
    {
        let reader = reader::run(stream, &member, &parts, &config);
        FutureSizes {
            reader: size_of_val(&reader),
            ..sizes
        }
        .log_once();
        reader
    }
    .await;
    let ending = member.control.ending();
    parts.hub.leave(&member, &ending.leave_reason);
    parts.metrics.sessions_ended.inc(ending.reason);
    // Boxed: once per session, and in a cluster a NATS request whose
    // state would otherwise take room in every session's task for its life.
    Box::pin(parts.peers.release(&member.name)).await;
    if owner {
        parts.registry.seen(&member.name);
    }
    tracing::info!(name = %member.name, %peer, reason = %ending.leave_reason, "left");
    let _ = writer.await;
}

/// The sizes of a session's futures, logged once at debug level: what
/// each connection's tasks hold (see docs/architecture.md, memory).
#[derive(Default)]
struct FutureSizes {
    handshake: usize,
    reader: usize,
    writer: usize,
}

impl FutureSizes {
    fn log_once(self) {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            tracing::debug!(
                handshake = self.handshake,
                reader = self.reader,
                writer = self.writer,
                "session future sizes in bytes"
            );
        });
    }
}
