//! The reference server: the least a broadcast chat can do. WebSocket on
//! 127.0.0.1, no authentication, no encryption, no JSON: every binary
//! message a client sends goes to every connected client, the sender
//! included, in the order it arrived. It runs as a child process of this
//! binary (`chat-bench serve-reference`), so its CPU time and memory are
//! read from `/proc` exactly like chatd's; chatd's figures are then stated
//! as multiples of these, measured in the same run on the same machine.
//!
//! Built like chatd's sessions (tokio, a reader and a writer task per
//! connection, a 4 KiB read buffer and no write buffer), minus everything
//! that makes chatd secure.
//!
//! `--fault` is a test aid, never a benchmark setting: it makes the server
//! break its promise on purpose, so that tests can prove that the bench's
//! checker notices. It acts on the 10th, 35th, 60th, … message of each
//! connection (every 25th from the 10th).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A deliberate fault of the reference server (a test aid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// The message is not delivered to anyone but its sender.
    Drop,
    /// The message is delivered twice to everyone but its sender.
    Dup,
    /// The message is held back and delivered after its sender's next one.
    Reorder,
}

impl Fault {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::Dup => "dup",
            Fault::Reorder => "reorder",
        }
    }
}

/// Whether the `k`-th message (from 1) of a connection is one a fault acts on.
fn faulty(k: u64) -> bool {
    k % 25 == 10
}

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

/// `chat-bench serve-reference`: serves until killed or until its stdin
/// closes (the bench that started it is gone). Prints
/// `listening on 127.0.0.1:PORT` first.
pub fn serve(port: u16, fault: Option<Fault>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the reference server's runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("binding 127.0.0.1:{port}: {e} (choose another --port, or 0)"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        std::thread::spawn(|| {
            // EOF on stdin: the parent is gone; so are we.
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
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

/// A reference server running as a child process of this binary.
pub struct ReferenceProcess {
    child: Child,
    /// `ws://127.0.0.1:PORT/`.
    pub url: String,
}

impl ReferenceProcess {
    /// Starts `chat-bench serve-reference --port 0` and waits for its port.
    pub fn start(fault: Option<Fault>) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("finding chat-bench itself: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["serve-reference", "--port", "0"]);
        if let Some(f) = fault {
            cmd.args(["--fault", f.name()]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the reference server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("reading the reference server's port: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("the reference server said {line:?}, not its address"))?;
        Ok(ReferenceProcess {
            url: format!("ws://{addr}/"),
            child,
        })
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ReferenceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
