//! The WebSocket to the server: connect, handshake, then sealed events.
//!
//! [`join`](fn@join) opens the socket, runs the protocol crate's
//! [`ClientHandshake`](chat_protocol::ClientHandshake) (`Hello` → `Challenge` → sealed `Auth` → sealed
//! `Welcome` or `Reject`) and turns every way that can fail into a
//! [`Failure`] with its exit code. The [`Connection`] it returns owns the
//! socket and both halves of the session: [`Connection::send`] seals,
//! [`Connection::recv`] opens. Nothing unsealed is ever acted on: once keys
//! exist, a close frame's reason is never shown, and any message that fails
//! to open ends the connection.
//!
//! - [`join`](mod@join): the connect and the handshake, and [`JoinError`];
//! - [`servers`]: several servers of one room, tried in turn;
//! - [`refusal`]: the failures a server's refusal or an impostor's answer
//!   map to, with their messages and exit codes;
//! - here: the joined [`Connection`] and its I/O.

mod join;
mod refusal;
mod servers;

use std::time::Duration;

use chat_protocol::sizes::MAX_SERVER_MESSAGE;
use chat_protocol::{ByeCode, ClientEvent, OpenError, Opener, Sealer, ServerEvent, close};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use self::join::{JoinError, Retry, join};
pub use self::servers::{Joined, join_any};
use crate::exit::{Exit, Failure};

/// How long to wait for the server's half of a closing handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A joined session: the socket and the keys of both directions.
pub struct Connection {
    ws: Socket,
    sealer: Sealer,
    opener: Opener,
}

/// What [`Connection::recv`] got.
#[derive(Debug)]
pub enum Incoming {
    /// A sealed event, opened; `raw` is its JSON.
    Event {
        /// The event (boxed: a welcome is large, the other cases small).
        event: Box<ServerEvent>,
        /// Its JSON as received.
        raw: Vec<u8>,
    },
    /// The connection ended with no sealed goodbye first: a close frame
    /// (whose code is kept, its reason is not: it is unauthenticated), or
    /// the stream just ended.
    Closed(Option<u16>),
    /// The connection is unusable: the caller ends it with
    /// [`Connection::abort`] and `close` (if any) and reports `why` as
    /// "connection lost".
    Broken {
        /// The close code to send, if a close can still be sent.
        close: Option<u16>,
        /// What went wrong.
        why: String,
    },
}

fn lost(why: String) -> anyhow::Error {
    Failure::new(Exit::ConnectionLost, format!("connection lost: {why}")).into()
}

/// Sends a close frame (best effort) without waiting for the answer.
async fn close_quietly(ws: &mut Socket, code: u16) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = timeout(CLOSE_TIMEOUT, ws.close(Some(frame))).await;
}

impl Connection {
    /// Seals and sends one event.
    pub async fn send(&mut self, event: &ClientEvent) -> anyhow::Result<()> {
        let sealed = self.sealer.seal(&event.to_bytes()).map_err(|_| {
            lost("this session has sent all the messages its keys allow; join again".into())
        })?;
        self.ws
            .send(Message::binary(sealed))
            .await
            .map_err(|err| lost(format!("the connection broke while sending ({err})")))
    }

    /// The next thing the server sent, opened. Cancel-safe: the only await
    /// is the socket's own `next`, so it can race stdin in a `select!`.
    pub async fn recv(&mut self) -> Incoming {
        loop {
            let message = match self.ws.next().await {
                None => return Incoming::Closed(None),
                Some(Ok(message)) => message,
                Some(Err(tungstenite::Error::Capacity(_))) => {
                    return Incoming::Broken {
                        close: Some(close::TOO_BIG),
                        why: format!(
                            "the server sent a message over the {} byte limit",
                            MAX_SERVER_MESSAGE
                        ),
                    };
                }
                Some(Err(err)) => {
                    return Incoming::Broken {
                        close: None,
                        why: format!("the connection broke ({err})"),
                    };
                }
            };
            let sealed = match message {
                Message::Binary(sealed) => sealed,
                Message::Close(frame) => {
                    return Incoming::Closed(frame.map(|f| u16::from(f.code)));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                Message::Text(_) => {
                    return Incoming::Broken {
                        close: Some(close::POLICY),
                        why: "the server sent a message that failed authentication (unsealed text)"
                            .into(),
                    };
                }
            };
            return match self.opener.open(&sealed, MAX_SERVER_MESSAGE) {
                Ok(raw) if !chat_protocol::json::no_duplicate_members(&raw) => Incoming::Broken {
                    close: Some(close::PROTOCOL),
                    why: "the server sent an event this client cannot read (a member given twice)"
                        .into(),
                },
                // Every event is one JSON object (serde alone would also read
                // a struct from an array of its members).
                Ok(raw) if !chat_protocol::json::is_object(&raw) => Incoming::Broken {
                    close: Some(close::PROTOCOL),
                    why: "the server sent an event this client cannot read (not a JSON object)"
                        .into(),
                },
                Ok(raw) => match serde_json::from_slice(&raw) {
                    Ok(event) => Incoming::Event {
                        event: Box::new(event),
                        raw,
                    },
                    Err(err) => Incoming::Broken {
                        close: Some(close::PROTOCOL),
                        why: format!("the server sent an event this client cannot read ({err})"),
                    },
                },
                Err(OpenError::TooLarge { .. }) => Incoming::Broken {
                    close: Some(close::TOO_BIG),
                    why: format!(
                        "the server sent a message over the {MAX_SERVER_MESSAGE} byte limit"
                    ),
                },
                Err(OpenError::Exhausted) => Incoming::Broken {
                    close: Some(close::POLICY),
                    why: "the session has received all the messages its keys allow; join again"
                        .into(),
                },
                Err(OpenError::Truncated | OpenError::Forged) => Incoming::Broken {
                    close: Some(close::POLICY),
                    why: "the server sent a message that failed authentication".into(),
                },
            };
        }
    }

    /// Ends a connection the server broke the protocol on (see
    /// [`Incoming::Broken`]): a sealed `Bye` first while the server is still
    /// trusted, that is unless something failed to open (1008), then the
    /// close frame with `code`.
    pub async fn abort(&mut self, code: u16, why: &str) {
        if code != close::POLICY {
            let bye = ClientEvent::Bye {
                code: ByeCode::Protocol,
                reason: why.into(),
            };
            let _ = timeout(CLOSE_TIMEOUT, self.send(&bye)).await;
        }
        self.close(code).await;
    }

    /// Sends a close frame with `code` and waits (briefly) for the server to
    /// end the connection. Anything still arriving is discarded unread.
    pub async fn close(&mut self, code: u16) {
        close_quietly(&mut self.ws, code).await;
        let _ = timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}
