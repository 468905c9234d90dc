//! One chat connection, from `Hello` to goodbye, on top of a
//! [`Connection`](crate::connection::Connection).
//!
//! The handshake ([`handshake`]) runs in this task under one deadline, in
//! two phases: the greeting (`Hello` → `Challenge`, no keys yet, so
//! refusals are bare close frames) and the admission (`Auth` →
//! `Welcome`/`Reject`; keys now exist, so every deliberate close is
//! preceded by a sealed `Bye`). Once the user has joined, the connection
//! splits: this task reads ([`reader`]: opens, checks, rate-limits, hands
//! events to the room) and a writer task ([`writer`]) drains the member's
//! bounded queue, sealing each event with the session key. Either side
//! ends the session through the member's [`Control`](crate::ending::Control);
//! the writer then says goodbye.

mod handshake;
mod reader;
mod writer;

use std::net::SocketAddr;

use chat_protocol::limits::max_client_message;
use tokio::time::Instant;

use crate::connection::Connection;
use crate::state::App;

/// Serves one upgraded connection until it ends. `deadline` was taken at
/// `accept`: the upgrade and the chat handshake share it.
pub async fn run(conn: Connection, peer: SocketAddr, deadline: Instant, app: App) {
    // The handshake's state is large (about 15 KiB of futures) and short
    // lived: boxed, it is freed once the user has joined, and an idle
    // connection keeps only the session's own few KiB.
    let Some(joined) = Box::pin(handshake::establish(conn, peer, deadline, &app)).await else {
        return;
    };
    let handshake::Established {
        conn,
        member,
        rx,
        config,
    } = joined;
    tracing::info!(name = %member.name, %peer, key_id = %member.key_id, "joined");

    let limit = max_client_message(config.max_text);
    let (stream, sink) = conn.split(limit, config.keepalive_timeout.0);
    let writer = tokio::spawn(writer::run(
        sink,
        rx,
        member.control.clone(),
        config.clone(),
    ));
    reader::run(stream, &member, &app, &config).await;
    let ending = member.control.ending();
    app.hub.leave(&member, &ending.leave_reason);
    tracing::info!(name = %member.name, %peer, reason = %ending.leave_reason, "left");
    let _ = writer.await;
}
