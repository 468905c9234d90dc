//! A protocol-level client built on the protocol crate, for tests that
//! must control every byte (slow readers, tampering, oversized frames).

use std::time::Duration;

use chat_protocol::{
    Auth, ClientEvent, ClientHandshake, Identity, RejectCode, ServerEvent, Session, Token, Welcome,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::DEADLINE;

mod connect;
mod skim;

pub use connect::{
    close_of, connect, connect_from, connect_from_with_headers, connect_with_receive_buffer,
    next_binary, send_fragments,
};

/// The socket type.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a join attempt ended.
#[derive(Debug)]
pub enum Outcome {
    /// Welcome received.
    Joined(Box<RawClient>),
    /// A sealed Reject.
    Rejected(RejectCode, String),
    /// The server closed before keys existed (code, reason).
    Closed(u16, String),
    /// A sealed Bye instead of an answer (a missed handshake deadline, a
    /// shutdown).
    Ended(chat_protocol::ByeCode, String),
}

impl Outcome {
    /// The client, or a panic saying what happened instead.
    pub fn joined(self) -> RawClient {
        match self {
            Outcome::Joined(c) => *c,
            other => panic!("expected to join, got {other:?}"),
        }
    }
}

/// A joined protocol-level client.
pub struct RawClient {
    /// The socket.
    pub ws: Ws,
    /// The session's sealer and opener.
    pub session: Session,
    /// What the server said on join.
    pub welcome: Welcome,
    /// Bytes of the sealed messages [`RawClient::recv`] read so far, the
    /// `Welcome` included (what chatd counts as sent to this user).
    pub received: u64,
}

impl std::fmt::Debug for RawClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawClient({})", self.welcome.name)
    }
}

/// A connection past the greeting (`Hello` sent, `Challenge` checked):
/// the session keys exist and nothing secret has been sent. Tests that
/// misbehave at the `Auth` step start here.
pub struct Greeted {
    /// The socket.
    pub ws: Ws,
    /// The session's sealer (c2s counter 0: the `Auth` is next) and opener.
    pub session: Session,
    /// The session's transcript hash, which an identity's proof signs.
    pub th: [u8; 32],
}

impl Greeted {
    /// Sends a fresh `Hello` for the token `key` over `ws` and checks the
    /// `Challenge`; `Err((code, reason))` if the server closed instead.
    pub async fn greet(mut ws: Ws, key: &str) -> Result<Self, (u16, String)> {
        let token = Token::parse(key).expect("valid token");
        let hs = ClientHandshake::new(&token);
        ws.send(Message::Binary(hs.hello().to_vec().into()))
            .await
            .expect("send hello");
        let challenge = next_binary(&mut ws).await?;
        let (session, keys) = hs
            .on_challenge(&challenge)
            .expect("server passes its identity check");
        Ok(Self {
            ws,
            session,
            th: keys.th,
        })
    }

    /// Seals `auth` (any plaintext) as the `Auth`, sends it and reads the
    /// answer.
    pub async fn auth(mut self, auth: &[u8]) -> Outcome {
        match self.answer_sized(auth).await {
            Err((code, reason)) => Outcome::Closed(code, reason),
            Ok((ServerEvent::Welcome(welcome), size)) => Outcome::Joined(Box::new(RawClient {
                ws: self.ws,
                session: self.session,
                welcome,
                received: size as u64,
            })),
            Ok((ServerEvent::Reject { code, reason, .. }, _)) => Outcome::Rejected(code, reason),
            Ok((ServerEvent::Bye { code, reason, .. }, _)) => Outcome::Ended(code, reason),
            Ok((other, _)) => panic!("expected welcome or reject, got {other:?}"),
        }
    }

    /// Seals `auth` as the `Auth`, sends it and returns the server's answer
    /// whole (a `Reject` with all its members, say); `Err` if the server
    /// closed without one.
    pub async fn answer(&mut self, auth: &[u8]) -> Result<ServerEvent, (u16, String)> {
        self.answer_sized(auth).await.map(|(event, _)| event)
    }

    /// [`Greeted::answer`], with the size of the sealed answer.
    async fn answer_sized(&mut self, auth: &[u8]) -> Result<(ServerEvent, usize), (u16, String)> {
        let sealed = self.session.sealer.seal(auth).unwrap();
        self.ws
            .send(Message::Binary(sealed.into()))
            .await
            .expect("send auth");
        let reply = next_binary(&mut self.ws).await?;
        let plain = self
            .session
            .opener
            .open(&reply, chat_protocol::sizes::MAX_SERVER_MESSAGE)
            .expect("welcome opens");
        let event = serde_json::from_slice::<ServerEvent>(&plain).expect("welcome parses");
        Ok((event, reply.len()))
    }

    /// The `Auth` of a join as `name` with `password`, proving `identity`
    /// for this session (or none), as a client with an identity sends it.
    pub fn auth_as(&self, name: &str, password: &str, identity: Option<&Identity>) -> Vec<u8> {
        let mut auth = Auth {
            username: name.into(),
            password: password.to_owned().into(),
            client: "testkit".into(),
            after: None,
            identity: None,
            proof: None,
        };
        if let Some(identity) = identity {
            auth.prove(identity, &self.th);
        }
        auth.to_bytes().to_vec()
    }

    /// Reads until the server closes: the server events that opened (a
    /// sealed `Bye`, say) and the close.
    pub async fn recv_to_close(&mut self) -> (Vec<ServerEvent>, (u16, String)) {
        recv_sealed_to_close(&mut self.ws, &mut self.session.opener).await
    }
}

/// Reads sealed server events from `ws` until the close: the events and the
/// close (code, reason).
async fn recv_sealed_to_close(
    ws: &mut Ws,
    opener: &mut chat_protocol::Opener,
) -> (Vec<ServerEvent>, (u16, String)) {
    let mut events = Vec::new();
    loop {
        match next_binary(ws).await {
            Ok(sealed) => {
                let plain = opener
                    .open(&sealed, chat_protocol::sizes::MAX_SERVER_MESSAGE)
                    .expect("server messages open");
                events.push(serde_json::from_slice(&plain).expect("server event parses"));
            }
            Err(close) => return (events, close),
        }
    }
}

impl RawClient {
    /// Joins `url` with the token text, name and password.
    pub async fn join(url: &str, key: &str, name: &str, password: &str) -> Outcome {
        Self::join_on(connect(url).await, key, name, password).await
    }

    /// Joins over a WebSocket the caller opened (with its own limits, say).
    pub async fn join_on(ws: Ws, key: &str, name: &str, password: &str) -> Outcome {
        Self::join_after(ws, key, name, password, None).await
    }

    /// [`RawClient::join_on`] for a load generator: the `Welcome`'s lists
    /// and history are skimmed ([`Greeted::auth_skimming`]).
    pub async fn join_skimming_on(ws: Ws, key: &str, name: &str, password: &str) -> Outcome {
        let auth = Auth {
            username: name.into(),
            password: password.to_owned().into(),
            client: "testkit".into(),
            after: None,
            identity: None,
            proof: None,
        };
        match Greeted::greet(ws, key).await {
            Ok(greeted) => greeted.auth_skimming(&auth.to_bytes()).await,
            Err((code, reason)) => Outcome::Closed(code, reason),
        }
    }

    /// Joins asking to resume after message id `after` (the Auth's `after`).
    pub async fn join_after(
        ws: Ws,
        key: &str,
        name: &str,
        password: &str,
        after: Option<u64>,
    ) -> Outcome {
        let auth = Auth {
            username: name.into(),
            password: password.to_owned().into(),
            client: "testkit".into(),
            after,
            identity: None,
            proof: None,
        };
        Self::join_with_auth(ws, key, &auth.to_bytes()).await
    }

    /// Joins `url` as `name`, proving `identity` for the session (or
    /// none), as a client with an identity does.
    pub async fn join_as(
        url: &str,
        key: &str,
        name: &str,
        password: &str,
        identity: Option<&Identity>,
    ) -> Outcome {
        Self::join_as_on(connect(url).await, key, name, password, identity).await
    }

    /// [`RawClient::join_as`] over a WebSocket the caller opened (from
    /// another loopback address, say: [`connect_from`]).
    pub async fn join_as_on(
        ws: Ws,
        key: &str,
        name: &str,
        password: &str,
        identity: Option<&Identity>,
    ) -> Outcome {
        let greeted = match Greeted::greet(ws, key).await {
            Ok(greeted) => greeted,
            Err((code, reason)) => return Outcome::Closed(code, reason),
        };
        let auth = greeted.auth_as(name, password, identity);
        greeted.auth(&auth).await
    }

    /// Joins with `auth` as the Auth's plaintext, whatever it holds.
    pub async fn join_with_auth(ws: Ws, key: &str, auth: &[u8]) -> Outcome {
        match Greeted::greet(ws, key).await {
            Ok(greeted) => greeted.auth(auth).await,
            Err((code, reason)) => Outcome::Closed(code, reason),
        }
    }

    /// Seals and sends an event.
    pub async fn send(&mut self, event: &ClientEvent) {
        self.send_plain(&event.to_bytes()).await;
    }

    /// Seals and sends arbitrary bytes.
    pub async fn send_plain(&mut self, plain: &[u8]) {
        let sealed = self.session.sealer.seal(plain).unwrap();
        self.ws
            .send(Message::Binary(sealed.into()))
            .await
            .expect("send");
    }

    /// The next event; `Err((code, reason))` once the server closed.
    pub async fn recv(&mut self) -> Result<ServerEvent, (u16, String)> {
        let sealed = next_binary(&mut self.ws).await?;
        self.received += sealed.len() as u64;
        let plain = self
            .session
            .opener
            .open(&sealed, chat_protocol::sizes::MAX_SERVER_MESSAGE)
            .expect("server messages open");
        Ok(serde_json::from_slice(&plain).expect("server event parses"))
    }

    /// Receives until `pick` matches, skipping other events.
    pub async fn recv_until<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&ServerEvent) -> Option<T>,
    ) -> T {
        let found = tokio::time::timeout(DEADLINE, async {
            loop {
                match self.recv().await {
                    Ok(event) => {
                        if let Some(v) = pick(&event) {
                            return v;
                        }
                    }
                    Err(close) => panic!("closed {close:?} while waiting for {what}"),
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Reads everything until the server closes; returns the events and the close.
    pub async fn recv_to_close(&mut self) -> (Vec<ServerEvent>, (u16, String)) {
        recv_sealed_to_close(&mut self.ws, &mut self.session.opener).await
    }

    /// The client as two halves, to send and receive at once (a sender
    /// that keeps a pace whatever it hears back).
    pub fn split(self) -> (RawSender, RawReceiver) {
        let (sink, stream) = self.ws.split();
        (
            RawSender {
                sink,
                sealer: self.session.sealer,
            },
            RawReceiver {
                stream,
                opener: self.session.opener,
                welcome: self.welcome,
            },
        )
    }

    /// Sends a sealed Bye and a close frame.
    pub async fn leave(mut self) {
        self.send(&ClientEvent::Bye {
            code: chat_protocol::ByeCode::Leave,
            reason: String::new(),
        })
        .await;
        let _ = self
            .ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.ws.next().await.is_some() {}
        })
        .await;
    }
}

/// The sending half of a [`RawClient`] ([`RawClient::split`]).
pub struct RawSender {
    sink: futures_util::stream::SplitSink<Ws, Message>,
    sealer: chat_protocol::Sealer,
}

impl RawSender {
    /// Seals and sends an event.
    pub async fn send(&mut self, event: &ClientEvent) {
        let sealed = self.sealer.seal(&event.to_bytes()).unwrap();
        self.sink
            .send(Message::Binary(sealed.into()))
            .await
            .expect("send");
    }
}

/// The receiving half of a [`RawClient`] ([`RawClient::split`]).
pub struct RawReceiver {
    stream: futures_util::stream::SplitStream<Ws>,
    opener: chat_protocol::Opener,
    /// What the server said on join.
    pub welcome: Welcome,
}

impl RawReceiver {
    /// The next event; `Err((code, reason))` once the server closed.
    pub async fn recv(&mut self) -> Result<ServerEvent, (u16, String)> {
        let sealed = next_binary(&mut self.stream).await?;
        let plain = self
            .opener
            .open(&sealed, chat_protocol::sizes::MAX_SERVER_MESSAGE)
            .expect("server messages open");
        Ok(serde_json::from_slice(&plain).expect("server event parses"))
    }
}
