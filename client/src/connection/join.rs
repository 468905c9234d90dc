//! Joining: the TCP connect and the WebSocket upgrade, the protocol
//! crate's [`ClientHandshake`], the sealed `Auth`, and the server's answer;
//! every way that can fail becomes a [`JoinError`] that says whether a
//! retry can help.

use std::time::Duration;

use anyhow::Context as _;
use chat_protocol::sizes::MAX_SERVER_MESSAGE;
use chat_protocol::{
    Auth, ClientHandshake, HandshakeError, Identity, RejectCode, ServerEvent, Token, Welcome, close,
};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use super::refusal::{Refusal, Rejected, busy, closed_in_handshake, impostor, rejected};
use super::{Connection, Incoming, Socket, close_quietly, lost};
use crate::exit::{Exit, Failure};

/// How long the TCP connect and the WebSocket upgrade may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server may take to answer `Hello` and then `Auth` (it runs
/// argon2 on the password, possibly queued behind others).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

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
/// ([`JoinError::failure`]), whether a reconnecting client should try
/// again ([`JoinError::retry`]), and the server's code when it refused
/// ([`JoinError::rejected`]: two codes share an exit status, and a
/// reconnecting client tells them apart).
#[derive(Debug)]
pub struct JoinError {
    /// The message and the exit code.
    pub failure: Failure,
    /// Whether a retry can help.
    pub retry: Retry,
    /// The code of the server's `Reject`, when it sent one.
    pub rejected: Option<RejectCode>,
}

impl JoinError {
    /// Whether a later attempt can succeed.
    pub fn retry_helps(&self) -> bool {
        self.retry == Retry::Helps
    }
}

impl From<anyhow::Error> for JoinError {
    fn from(err: anyhow::Error) -> Self {
        let (failure, rejected) = match err.downcast::<Rejected>() {
            Ok(Rejected { code, failure }) => (failure, Some(code)),
            Err(err) => match err.downcast::<Failure>() {
                Ok(failure) => (failure, None),
                Err(other) => (Failure::new(Exit::Error, format!("{other:#}")), None),
            },
        };
        let retry = match failure.exit {
            Exit::ConnectionLost | Exit::Unreachable | Exit::ServerFull => Retry::Helps,
            _ => Retry::Useless,
        };
        Self {
            failure,
            retry,
            rejected,
        }
    }
}

impl From<JoinError> for anyhow::Error {
    fn from(err: JoinError) -> Self {
        err.failure.into()
    }
}

/// Connects to `url`, proves the server holds the key's identity, and
/// joins with `auth`, proving `identity` (if any) for this session. Every
/// failure says whether a retry can help, and carries its exit code.
pub async fn join(
    url: &str,
    token: &Token,
    auth: &Auth,
    identity: Option<&Identity>,
) -> Result<(Connection, Welcome), JoinError> {
    join_once(url, token, auth, identity)
        .await
        .map_err(JoinError::from)
}

async fn join_once(
    url: &str,
    token: &Token,
    auth: &Auth,
    identity: Option<&Identity>,
) -> anyhow::Result<(Connection, Welcome)> {
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
    let (session, keys) = match handshake.on_challenge(&challenge) {
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

    // The proof signs this session's transcript hash: made for each join.
    let mut auth = auth.clone();
    if let Some(identity) = identity {
        auth.prove(identity, &keys.th);
    }
    drop(keys);
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
    let event = match answer {
        Incoming::Event { event, .. } => *event,
        Incoming::Closed(_) => {
            return Err(lost(
                "the server closed the connection while we were joining".into(),
            ));
        }
        Incoming::Broken { close, why } => {
            if let Some(code) = close {
                conn.abort(code, &why).await;
            }
            return Err(lost(why));
        }
    };
    match event {
        ServerEvent::Welcome(welcome) => Ok((conn, welcome)),
        ServerEvent::Reject {
            code,
            reason,
            retry_after,
            until,
        } => {
            conn.close(close::NORMAL).await;
            let refusal = Refusal {
                code,
                reason: &reason,
                retry_after,
                until,
            };
            Err(rejected(&refusal, &auth, url))
        }
        _ => {
            let why = "the server answered the join with neither a welcome nor a refusal";
            conn.abort(close::PROTOCOL, why).await;
            Err(Failure::new(Exit::Error, format!("{why}; is it a newer chatd?")).into())
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
