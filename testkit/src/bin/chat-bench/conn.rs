//! One bench client's connection, to chatd (the real handshake through
//! testkit's `RawClient`, then sealed JSON events) or to the reference
//! server (a bare WebSocket carrying the message text as it is). Once
//! joined, the socket is split: the sending half seals and writes, the
//! receiving half reads and opens, so a sender's own echoes are read while
//! it keeps sending.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chat_protocol::{ClientEvent, Opener, RejectCode, Sealer, ServerEvent};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use testkit::{Outcome, RawClient, Ws};
use tokio::net::TcpSocket;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What the clients speak.
#[derive(Clone, Debug)]
pub enum Proto {
    /// chatd's protocol: the token and the join password ("" for none).
    Chat {
        /// The key token.
        token: String,
        /// The join password.
        password: String,
    },
    /// The reference server's: bare binary messages.
    Bare,
}

/// Where the clients connect and how.
#[derive(Clone, Debug)]
pub struct Target {
    /// `ws://IP:PORT/`.
    pub url: String,
    /// The same, parsed.
    pub addr: SocketAddr,
    /// The protocol.
    pub proto: Proto,
}

impl Target {
    /// A target at `url`, which must be `ws://IP:PORT/` (no host names:
    /// the bench binds source addresses itself).
    pub fn new(url: &str, proto: Proto) -> Result<Self, String> {
        let addr = url
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .parse()
            .map_err(|_| {
                format!("--url {url}: expected ws://IP:PORT/, like ws://127.0.0.1:1719/")
            })?;
        Ok(Target {
            url: format!("ws://{addr}/"),
            addr,
            proto,
        })
    }
}

/// The sending half of a joined client.
pub enum Tx {
    /// To chatd: sealed `say` events, to the room named (`None`: the
    /// default room).
    Chat(SplitSink<Ws, Message>, Box<Sealer>, Option<String>),
    /// To the reference: the text itself.
    Bare(SplitSink<Ws, Message>),
}

/// The receiving half of a joined client.
pub enum Rx {
    /// From chatd.
    Chat(SplitStream<Ws>, Box<Opener>),
    /// From the reference.
    Bare(SplitStream<Ws>),
}

/// One thing a client received.
pub enum Received {
    /// A chat message's text.
    Message(Vec<u8>),
    /// An `error` event: the server refused something we sent.
    Refused,
    /// Any other event: join, leave, a presence summary, users, notice.
    Other,
    /// The connection ended (a `bye`, a close, an error).
    Closed,
}

impl Tx {
    /// Sends one message text.
    pub async fn send(&mut self, text: String) -> Result<(), String> {
        let (sink, frame) = match self {
            Tx::Chat(sink, sealer, room) => {
                let event = ClientEvent::Say {
                    room: room.clone(),
                    text,
                    cid: None,
                };
                let sealed = sealer.seal(&event.to_bytes()).map_err(|e| e.to_string())?;
                (sink, sealed)
            }
            Tx::Bare(sink) => (sink, text.into_bytes()),
        };
        sink.send(Message::Binary(frame.into()))
            .await
            .map_err(|e| format!("sending: {e}"))
    }
}

impl Rx {
    /// The next thing received (reads pings and other control frames away).
    pub async fn next(&mut self) -> Received {
        let stream = match self {
            Rx::Chat(s, _) | Rx::Bare(s) => s,
        };
        let frame = loop {
            match stream.next().await {
                Some(Ok(Message::Binary(b))) => break b,
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Received::Closed,
                Some(Ok(_)) => continue,
            }
        };
        let opener = match self {
            Rx::Bare(_) => return Received::Message(frame.to_vec()),
            Rx::Chat(_, opener) => opener,
        };
        let Ok(plain) = opener.open(&frame, chat_protocol::sizes::MAX_SERVER_MESSAGE) else {
            return Received::Closed;
        };
        match serde_json::from_slice::<ServerEvent>(&plain) {
            Ok(ServerEvent::Message(m)) => Received::Message(m.text.into_bytes()),
            Ok(ServerEvent::Error { .. }) => Received::Refused,
            Ok(ServerEvent::Bye { .. }) | Err(_) => Received::Closed,
            Ok(_) => Received::Other,
        }
    }
}

/// How the bench's clients set up their sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientSockets {
    /// TCP_NODELAY, a 4 KiB WebSocket read buffer and no write buffer:
    /// what lets one process hold 100 000 clients.
    Bench,
    /// Nothing set: the kernel's defaults (Nagle's algorithm on) and
    /// tungstenite's (128 KiB buffers a client, in the bench), as an
    /// independent client that sets nothing would have.
    Default,
}

/// tungstenite's defaults buffer 128 KiB a connection; a bench of 100 000
/// clients keeps the kernel's buffers and 4 KiB of its own.
fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens a WebSocket to the target from `source` (any of 127.0.0.0/8 on
/// loopback; each source address has its own ~28 000 ephemeral ports).
async fn open(
    target: &Target,
    source: Option<IpAddr>,
    sockets: ClientSockets,
) -> Result<Ws, String> {
    let socket =
        TcpSocket::new_v4().map_err(|e| format!("socket: {e} (raise the open-file limit)"))?;
    if let Some(ip) = source {
        socket
            .bind((ip, 0).into())
            .map_err(|e| format!("bind {ip}: {e}"))?;
    }
    let stream = socket
        .connect(target.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", target.addr))?;
    let config = match sockets {
        ClientSockets::Bench => {
            let _ = stream.set_nodelay(true);
            Some(small_buffers())
        }
        ClientSockets::Default => None,
    };
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        target.url.as_str(),
        MaybeTlsStream::Plain(stream),
        config,
    )
    .await
    .map_err(|e| format!("upgrade: {e}"))?;
    Ok(ws)
}

/// Connects and joins as `name` before `deadline`, then joins `room` if
/// one is given; a server that answers busy is asked again, as a
/// reconnecting client would (each such answer counted in `busy`).
pub async fn join(
    target: &Target,
    name: &str,
    room: Option<String>,
    source: Option<IpAddr>,
    deadline: Instant,
    sockets: ClientSockets,
    busy: &AtomicU64,
) -> Result<(Tx, Rx), String> {
    loop {
        let ws = open(target, source, sockets).await?;
        let (token, password) = match &target.proto {
            Proto::Bare => {
                let (sink, stream) = ws.split();
                return Ok((Tx::Bare(sink), Rx::Bare(stream)));
            }
            Proto::Chat { token, password } => (token, password),
        };
        match RawClient::join_skimming_on(ws, token, name, password).await {
            Outcome::Joined(mut client) => {
                if let Some(room) = &room {
                    join_room(&mut client, room).await?;
                }
                let RawClient { ws, session, .. } = *client;
                let (sink, stream) = ws.split();
                return Ok((
                    Tx::Chat(sink, Box::new(session.sealer), room),
                    Rx::Chat(stream, Box::new(session.opener)),
                ));
            }
            Outcome::Rejected(RejectCode::Busy, _) if Instant::now() < deadline => {
                busy.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Outcome::Rejected(code, reason) => {
                return Err(format!("rejected ({code:?}): {reason}"));
            }
            Outcome::Closed(code, reason) => return Err(format!("closed {code}: {reason}")),
            Outcome::Ended(code, reason) => return Err(format!("bye ({code:?}): {reason}")),
        }
    }
}

/// Joins `room` and waits for its `room_joined` (what comes before it,
/// the default room's joins, is not counted: the run has not started).
async fn join_room(client: &mut RawClient, room: &str) -> Result<(), String> {
    client
        .send(&ClientEvent::JoinRoom {
            room: room.to_owned(),
            after: None,
        })
        .await;
    loop {
        match client.recv().await {
            Ok(ServerEvent::RoomJoined(_)) => return Ok(()),
            Ok(ServerEvent::Error { code, message, .. }) => {
                return Err(format!("join_room {room} refused ({code:?}): {message}"));
            }
            Ok(_) => {}
            Err((code, reason)) => return Err(format!("closed {code} joining {room}: {reason}")),
        }
    }
}
