//! The relay, chat-bench's first reference server: a broadcast chat as the
//! plain tokio-tungstenite pattern builds it. WebSocket on 127.0.0.1, no
//! authentication, no encryption, no JSON: every binary message a client
//! sends goes to every connected client, the sender included, in the
//! order it arrived.
//!
//! Built like chatd's sessions (tokio, a reader and a writer task per
//! connection, a 4 KiB read buffer and no write buffer), minus everything
//! that makes chatd secure. The floor (`floor/`) is the other reference:
//! the least such a server can cost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::reference::{Fault, announce, faulty};

/// The connected clients, each by the queue its writer task drains.
#[derive(Default)]
struct Room {
    peers: Mutex<HashMap<u64, mpsc::UnboundedSender<Bytes>>>,
    next_id: AtomicU64,
}

impl Room {
    /// Queues `frame` for every client; with `dup_or_drop`, does that
    /// fault to everyone but `origin`. No await under the lock: the queues
    /// are unbounded (the bench bounds what is in flight).
    fn broadcast(&self, origin: u64, frame: &Bytes, dup_or_drop: Option<Fault>) {
        let peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        for (&id, tx) in peers.iter() {
            match dup_or_drop {
                Some(Fault::Drop) if id != origin => continue,
                Some(Fault::Dup) if id != origin => {
                    let _ = tx.send(frame.clone());
                }
                _ => {}
            }
            let _ = tx.send(frame.clone());
        }
    }
}

/// `chat-bench serve-reference` (`--kind relay`): serves until killed or
/// until its stdin closes (the bench that started it is gone). Prints
/// `listening on 127.0.0.1:PORT` first.
pub fn serve(port: u16, fault: Option<Fault>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the relay's runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("binding 127.0.0.1:{port}: {e} (choose another --port, or 0)"))?;
        announce(listener.local_addr().map_err(|e| e.to_string())?)?;
        let room = std::sync::Arc::new(Room::default());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(session(room.clone(), stream, fault));
        }
    })
}

/// One client: its writer drains its queue, its reader relays.
async fn session(room: std::sync::Arc<Room>, stream: TcpStream, fault: Option<Fault>) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 10))
        .max_frame_size(Some(64 << 10));
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let id = room.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    room.peers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, tx);
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.feed(Message::Binary(frame)).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(Message::Binary(more)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut k = 0u64;
    let mut held: Option<Bytes> = None;
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Binary(frame) = msg else {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            continue;
        };
        k += 1;
        let hit = faulty(k).then_some(fault).flatten();
        if hit == Some(Fault::Reorder) {
            held = Some(frame);
            continue;
        }
        room.broadcast(id, &frame, hit);
        if let Some(late) = held.take() {
            room.broadcast(id, &late, None);
        }
    }
    room.peers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    writer.abort();
}
