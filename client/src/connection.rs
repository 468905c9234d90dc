//! The WebSocket to the server: connect, handshake, then sealed events.
//!
//! [`join`] opens the socket, runs the protocol crate's
//! [`ClientHandshake`] (`Hello` → `Challenge` → sealed `Auth` → sealed
//! `Welcome` or `Reject`) and turns every way that can fail into a
//! [`Failure`] with its exit code. The [`Connection`] it returns owns the
//! socket and both halves of the session: [`Connection::send`] seals,
//! [`Connection::recv`] opens. Nothing unsealed is ever acted on: once keys
//! exist, a close frame's reason is never shown, and any message that fails
//! to open ends the connection.

use std::time::Duration;

use anyhow::Context as _;
use chat_protocol::limits::MAX_SERVER_MESSAGE;
use chat_protocol::{
    Auth, ByeCode, ClientEvent, ClientHandshake, HandshakeError, KeyId, OpenError, Opener,
    RejectCode, Sealer, ServerEvent, Token, Welcome, close,
};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::escape::one_line;
use crate::exit::{Exit, Failure};

/// How long the TCP connect and the WebSocket upgrade may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server may take to answer `Hello` and then `Auth` (it runs
/// argon2 on the password, possibly queued behind others).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

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
        /// The event.
        event: ServerEvent,
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

/// The WebSocket settings: the protocol's own size limit and small buffers
/// (a chat client reads little and writes less).
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * MAX_SERVER_MESSAGE)
        .max_message_size(Some(MAX_SERVER_MESSAGE))
        .max_frame_size(Some(MAX_SERVER_MESSAGE))
}

/// Whether trying the same join again later can succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// The cause may pass: the server is down, busy, full, or the link broke.
    Helps,
    /// Only the user can fix it: the key, the password, the name, the URL.
    Useless,
}

/// Why a join failed: what to tell the user and the exit code
/// ([`JoinError::failure`]), and whether a reconnecting client should try
/// again ([`JoinError::retry`]).
#[derive(Debug)]
pub struct JoinError {
    /// The message and the exit code.
    pub failure: Failure,
    /// Whether a retry can help.
    pub retry: Retry,
}

impl JoinError {
    /// Whether a later attempt can succeed.
    pub fn retry_helps(&self) -> bool {
        self.retry == Retry::Helps
    }
}

impl From<anyhow::Error> for JoinError {
    fn from(err: anyhow::Error) -> Self {
        let failure = match err.downcast::<Failure>() {
            Ok(failure) => failure,
            Err(other) => Failure::new(Exit::Error, format!("{other:#}")),
        };
        let retry = match failure.exit {
            Exit::ConnectionLost | Exit::Unreachable | Exit::ServerFull => Retry::Helps,
            _ => Retry::Useless,
        };
        Self { failure, retry }
    }
}

impl From<JoinError> for anyhow::Error {
    fn from(err: JoinError) -> Self {
        err.failure.into()
    }
}

/// Connects to `url`, proves the server holds the key's identity, and
/// joins with `auth`. Every failure says whether a retry can help, and
/// carries its exit code.
pub async fn join(
    url: &str,
    token: &Token,
    auth: &Auth,
) -> Result<(Connection, Welcome), JoinError> {
    join_once(url, token, auth).await.map_err(JoinError::from)
}

async fn join_once(url: &str, token: &Token, auth: &Auth) -> anyhow::Result<(Connection, Welcome)> {
    let mut ws = connect(url).await?;
    let handshake = ClientHandshake::new(token);
    ws.send(Message::binary(handshake.hello().to_vec()))
        .await
        .map_err(|err| {
            lost(format!(
                "the connection broke while sending the handshake ({err})"
            ))
        })?;

    let challenge = match next_message(&mut ws, "its Challenge").await? {
        Message::Binary(challenge) => challenge,
        Message::Close(frame) => return Err(closed_in_handshake(frame, token.key_id(), url)),
        _ => {
            close_quietly(&mut ws, close::PROTOCOL).await;
            return Err(impostor(
                "it answered the Hello with something other than a Challenge",
            ));
        }
    };
    let (session, _keys) = match handshake.on_challenge(&challenge) {
        Ok(established) => established,
        Err(err) => {
            close_quietly(&mut ws, close::PROTOCOL).await;
            return Err(impostor(match err {
                HandshakeError::Impostor => "it is not the server this key belongs to",
                HandshakeError::InvalidKeyShare => "it sent an invalid key share",
                _ => "its Challenge is malformed",
            }));
        }
    };
    let mut conn = Connection {
        ws,
        sealer: session.sealer,
        opener: session.opener,
    };

    // Only now, with the server proven, does anything secret leave.
    let sealed = conn
        .sealer
        .seal(&auth.to_bytes())
        .context("sealing the Auth")?;
    conn.ws
        .send(Message::binary(sealed))
        .await
        .map_err(|err| lost(format!("the connection broke while joining ({err})")))?;

    let answer = timeout(ANSWER_TIMEOUT, conn.recv()).await.map_err(|_| {
        lost(format!(
            "the server did not answer within {} s",
            ANSWER_TIMEOUT.as_secs()
        ))
    })?;
    match answer {
        Incoming::Event {
            event: ServerEvent::Welcome(welcome),
            ..
        } => Ok((conn, welcome)),
        Incoming::Event {
            event:
                ServerEvent::Reject {
                    code,
                    reason,
                    retry_after,
                },
            ..
        } => {
            conn.close(close::NORMAL).await;
            Err(rejected(code, &reason, retry_after, auth, url))
        }
        Incoming::Event { .. } => {
            let why = "the server answered the join with neither a welcome nor a refusal";
            conn.abort(close::PROTOCOL, why).await;
            Err(Failure::new(Exit::Error, format!("{why}; is it a newer chatd?")).into())
        }
        Incoming::Closed(_) => Err(lost(
            "the server closed the connection while we were joining".into(),
        )),
        Incoming::Broken { close, why } => {
            if let Some(code) = close {
                conn.abort(code, &why).await;
            }
            Err(lost(why))
        }
    }
}

/// Opens the WebSocket, offering the `chat.v1` subprotocol.
async fn connect(url: &str) -> anyhow::Result<Socket> {
    let mut request = url
        .into_client_request()
        .with_context(|| format!("{url} is not a valid URL"))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(chat_protocol::SUBPROTOCOL),
    );
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config()), true);
    match timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok((ws, _response))) => Ok(ws),
        Err(_) => Err(Failure::new(
            Exit::Unreachable,
            format!(
                "cannot reach the server at {url}: no answer within {} s; check --url and that chatd is running",
                CONNECT_TIMEOUT.as_secs()
            ),
        )
        .into()),
        Ok(Err(tungstenite::Error::Io(err))) => Err(Failure::new(
            Exit::Unreachable,
            format!("cannot reach the server at {url}: {err}; check --url and that chatd is running"),
        )
        .into()),
        Ok(Err(tungstenite::Error::Http(response)))
            if response.status() == tungstenite::http::StatusCode::SERVICE_UNAVAILABLE =>
        {
            Err(busy(url, "it answered HTTP 503"))
        }
        Ok(Err(
            tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Protocol(tungstenite::error::ProtocolError::HandshakeIncomplete),
        )) => Err(busy(url, "it closed the connection before the upgrade")),
        Ok(Err(tungstenite::Error::Http(response))) => Err(Failure::new(
            Exit::Error,
            format!(
                "{url} answered HTTP {} instead of a WebSocket upgrade; is --url the address of a chat server?",
                response.status()
            ),
        )
        .into()),
        Ok(Err(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
        ))) => Err(Failure::new(
            Exit::Error,
            format!(
                "{url} does not speak the {} protocol; is --url the address of a chat server?",
                chat_protocol::SUBPROTOCOL
            ),
        )
        .into()),
        Ok(Err(err)) => Err(Failure::new(
            Exit::Error,
            format!("connecting to {url} failed: {err}; is --url the address of a chat server?"),
        )
        .into()),
    }
}

/// The next data or close message of the handshake, within the deadline.
async fn next_message(ws: &mut Socket, what: &str) -> anyhow::Result<Message> {
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| {
                lost(format!(
                    "the server did not send {what} within {} s",
                    ANSWER_TIMEOUT.as_secs()
                ))
            })?;
        match next {
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(message)) => return Ok(message),
            Some(Err(err)) => {
                return Err(lost(format!(
                    "the connection broke during the handshake ({err})"
                )));
            }
            None => {
                return Err(lost(
                    "the server closed the connection during the handshake".into(),
                ));
            }
        }
    }
}

/// The failure for a close before the Challenge. Nothing is authenticated
/// yet: a 4001 reason is searched for a key id only, shown as unverified.
fn closed_in_handshake(frame: Option<CloseFrame>, ours: KeyId, url: &str) -> anyhow::Error {
    let code = frame.as_ref().map(|f| u16::from(f.code));
    match code {
        Some(close::UNKNOWN_KEY) => {
            let theirs = frame
                .as_ref()
                .and_then(|f| key_id_in(&f.reason))
                .map_or_else(
                    || "it did not say which key it wants".to_owned(),
                    |id| format!("it says its current key is {id} (unverified: nothing is authenticated yet)"),
                );
            Failure::new(
                Exit::KeyMismatch,
                format!(
                    "the server at {url} does not accept this key (key id {ours}); {theirs}. Ask its admin for the current key (`chatctl key`)"
                ),
            )
            .into()
        }
        Some(close::PROTOCOL) => lost(format!(
            "the server at {url} refused our Hello (close code 1002); is it a chat v1 server?"
        )),
        Some(code) => lost(format!(
            "the server closed the connection during the handshake (close code {code})"
        )),
        None => lost("the server closed the connection during the handshake".into()),
    }
}

/// The first run of exactly 16 lowercase hex digits in `text`.
pub fn key_id_in(text: &str) -> Option<&str> {
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let len = bytes[start..].iter().take_while(|&&b| is_hex(b)).count();
        if len == 16 {
            return Some(&text[start..start + 16]);
        }
        start += len.max(1);
    }
    None
}

/// A server at its connection limit: it sheds load before the upgrade.
fn busy(url: &str, how: &str) -> anyhow::Error {
    Failure::new(
        Exit::Unreachable,
        format!(
            "the server at {url} is busy ({how}: it is at its connection limit); retry shortly"
        ),
    )
    .into()
}

fn impostor(detail: &str) -> anyhow::Error {
    Failure::new(
        Exit::Impostor,
        format!("server failed its identity check: {detail}; check --url and the key, and tell the server's admin"),
    )
    .into()
}

fn lost(why: String) -> anyhow::Error {
    Failure::new(Exit::ConnectionLost, format!("connection lost: {why}")).into()
}

/// The failure for a sealed `Reject`; the server's words are escaped.
fn rejected(
    code: RejectCode,
    reason: &str,
    retry_after: Option<u64>,
    auth: &Auth,
    url: &str,
) -> anyhow::Error {
    let reason = one_line(reason);
    let name = one_line(&auth.username);
    let refused = format!("the server at {url} refused to let {name} join");
    let (exit, message) = match code {
        RejectCode::BadPassword if auth.password.is_empty() => (
            Exit::BadPassword,
            format!(
                "{refused}: it needs a password (give it with --password-file FILE or CHAT_PASSWORD)"
            ),
        ),
        RejectCode::BadPassword => (
            Exit::BadPassword,
            format!(
                "{refused}: {reason} (give the right one with --password-file FILE or CHAT_PASSWORD)"
            ),
        ),
        RejectCode::NameTaken => (
            Exit::NameTaken,
            format!("{refused}: {reason} (--username NAME)"),
        ),
        RejectCode::NameInvalid => (
            Exit::NameInvalid,
            format!("{refused}: {reason} (--username NAME)"),
        ),
        RejectCode::ServerFull => (Exit::ServerFull, format!("{refused}: {reason}")),
        RejectCode::Busy => (
            Exit::Error,
            format!("{refused}: {reason} (the server limits how many passwords it checks at once)"),
        ),
        RejectCode::Throttled => (
            Exit::Throttled,
            match retry_after {
                Some(secs) => format!(
                    "{refused}: {reason} (too many wrong passwords from this address; wait {secs} s, then try again with the right one)"
                ),
                None => format!("{refused}: {reason}"),
            },
        ),
        RejectCode::BadRequest | RejectCode::Other => (Exit::Error, format!("{refused}: {reason}")),
    };
    Failure::new(exit, message).into()
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
                Ok(raw) => match serde_json::from_slice(&raw) {
                    Ok(event) => Incoming::Event { event, raw },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_found_in_the_close_reason() {
        let reason = "unknown key id; the server's current key is 0123456789abcdef";
        assert_eq!(key_id_in(reason), Some("0123456789abcdef"));
        assert_eq!(key_id_in("key 0123456789abcdef."), Some("0123456789abcdef"));
        // Too long, too short, uppercase: not a key id.
        assert_eq!(key_id_in("0123456789abcdef0"), None);
        assert_eq!(key_id_in("0123456789abcde"), None);
        assert_eq!(key_id_in("0123456789ABCDEF"), None);
        assert_eq!(key_id_in("deadbeef 00112233445566778899"), None);
        assert_eq!(key_id_in("é0123456789abcdef"), Some("0123456789abcdef"));
        assert_eq!(key_id_in(""), None);
    }

    #[test]
    fn key_mismatch_names_both_keys_and_the_fix() {
        let ours = KeyId([0xab; 8]);
        let frame = CloseFrame {
            code: CloseCode::from(4001),
            reason: "unknown key id; the server's current key is 0011223344556677 \x1b[2J".into(),
        };
        let err = closed_in_handshake(Some(frame), ours, "ws://h:1/");
        let failure = err.downcast_ref::<Failure>().unwrap();
        assert_eq!(failure.exit, Exit::KeyMismatch);
        let text = &failure.message;
        assert!(text.contains("abababababababab"), "{text}");
        assert!(text.contains("0011223344556677 (unverified"), "{text}");
        assert!(text.contains("chatctl key"), "{text}");
        assert!(
            !text.contains('\x1b'),
            "the unauthenticated reason is not shown"
        );
    }

    #[test]
    fn rejects_map_to_exit_codes() {
        let cases = [
            (RejectCode::BadPassword, Exit::BadPassword),
            (RejectCode::NameTaken, Exit::NameTaken),
            (RejectCode::NameInvalid, Exit::NameInvalid),
            (RejectCode::ServerFull, Exit::ServerFull),
            (RejectCode::BadRequest, Exit::Error),
            (RejectCode::Other, Exit::Error),
            (RejectCode::Throttled, Exit::Throttled),
        ];
        let auth = Auth {
            username: "ace".into(),
            password: String::from("pw").into(),
            client: String::new(),
        };
        for (code, exit) in cases {
            let err = rejected(code, "why\x07", Some(30), &auth, "ws://h:1/");
            let failure = err.downcast_ref::<Failure>().unwrap();
            assert_eq!(failure.exit, exit);
            assert!(
                failure
                    .message
                    .starts_with("the server at ws://h:1/ refused to let ace join: why\\x07"),
                "{}",
                failure.message
            );
        }
        let nothing = Auth {
            password: String::new().into(),
            ..auth
        };
        let err = rejected(
            RejectCode::BadPassword,
            "wrong password",
            None,
            &nothing,
            "ws://h:1/",
        );
        let failure = err.downcast_ref::<Failure>().unwrap();
        assert_eq!(failure.exit, Exit::BadPassword);
        assert!(
            failure.message.contains("it needs a password"),
            "{}",
            failure.message
        );
    }
}
