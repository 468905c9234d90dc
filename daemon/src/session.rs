//! One chat connection, from `Hello` to goodbye.
//!
//! The handshake runs in this task under one deadline, in two phases: the
//! greeting (`Hello` → `Challenge`, no keys yet, so refusals are bare
//! close frames) and the admission (`Auth` → `Welcome`/`Reject`; keys now
//! exist, so every deliberate close is preceded by a sealed `Bye`). Once
//! the user has joined, the socket is split: this task reads (opens,
//! checks, rate-limits, hands events to the hub) and a writer task drains
//! the member's bounded queue, sealing each event with the session key.
//! Either side ends the session through the member's [`Control`]; the
//! writer then says goodbye ([`goodbye`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_protocol::limits::{MAX_AUTH, max_client_message};
use chat_protocol::{
    Auth, ClientEvent, ErrorCode, HandshakeError, KeyId, OpenError, Opener, RejectCode, Sealer,
    ServerEvent, ServerHandshake, close, valid_username, validate_text,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Sink, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::config::Config;
use crate::hub::{Control, Ending, Joined, Member};
use crate::ratelimit::TokenBucket;
use crate::server::Socket as WebSocket;
use crate::state::{App, now_secs};

/// Time allowed for the last words (Bye, close frame) to a peer.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the socket stays open after a close that left bytes unread.
const LINGER: Duration = Duration::from_secs(1);

/// Serves one upgraded WebSocket until it ends.
/// `deadline` was taken at `accept`: the upgrade and the chat handshake
/// share it.
pub async fn run(ws: WebSocket, peer: SocketAddr, deadline: Instant, app: App) {
    // The handshake's state is large (about 15 KiB of futures) and short
    // lived: boxed, it is freed once the user has joined, and an idle
    // connection keeps only the session's own few KiB.
    let Some(established) = Box::pin(establish(ws, peer, deadline, &app)).await else {
        return;
    };
    let Established {
        ws,
        sealer,
        opener,
        member,
        rx,
        config,
    } = established;
    tracing::info!(name = %member.name, %peer, key_id = %member.key_id, "joined");

    let (sink, stream) = ws.split();
    let writer = tokio::spawn(write_loop(
        sink,
        sealer,
        rx,
        member.control.clone(),
        config.clone(),
    ));
    read_loop(stream, opener, &member, &app, &config).await;
    let ending = member.control.ending();
    app.hub.leave(&member, &ending.leave_reason);
    tracing::info!(name = %member.name, %peer, reason = %ending.leave_reason, "left");
    let _ = writer.await;
}

/// A user who has joined and been sent the `Welcome`.
struct Established {
    ws: WebSocket,
    sealer: Sealer,
    opener: Opener,
    member: Arc<Member>,
    rx: mpsc::Receiver<Bytes>,
    /// The configuration the connection started with, kept for its life.
    config: Arc<Config>,
}

/// The handshake, from the upgrade to a delivered `Welcome`; `None` when
/// the connection ended first (refused, gone, deadline missed, shutdown).
async fn establish(
    mut ws: WebSocket,
    peer: SocketAddr,
    deadline: Instant,
    app: &App,
) -> Option<Established> {
    let config = app.hub.config();

    let greeted = tokio::select! {
        r = timeout_at(deadline, greet(&mut ws, peer, app)) => r,
        () = app.shutdown.cancelled() => {
            send_close(&mut ws, close::GOING_AWAY, "server shutting down").await;
            return None;
        }
    };
    let Keyed {
        mut sealer,
        opener,
        key_id,
    } = match greeted {
        Ok(Some(keyed)) => keyed,
        Ok(None) => return None,
        Err(_) => {
            tracing::debug!(%peer, "handshake deadline missed before the Hello");
            send_close(&mut ws, close::POLICY, "handshake deadline missed").await;
            return None;
        }
    };

    let admitted = tokio::select! {
        r = timeout_at(deadline, admit(&mut ws, peer, app, &mut sealer, opener, key_id)) => r,
        () = app.shutdown.cancelled() => {
            goodbye(&mut ws, &mut sealer, Ending::shutdown()).await;
            return None;
        }
    };
    let (opener, joined) = match admitted {
        Ok(Some(joined)) => joined,
        Ok(None) => return None,
        Err(_) => {
            tracing::debug!(%peer, "handshake deadline missed before the Auth");
            goodbye(&mut ws, &mut sealer, Ending::handshake_timeout()).await;
            return None;
        }
    };
    let Joined {
        member,
        welcome,
        rx,
    } = joined;
    // The member is in the room from here on: whatever happens, it must
    // reach `hub.leave`, so nothing below runs under a deadline that could
    // drop it halfway. The Welcome is bounded as any other write.
    // Not cut short by a kick or the shutdown: a Welcome sent in fragments
    // must end before anything else (a Bye) may follow. The writer says
    // goodbye after, if the session was ended meanwhile.
    let welcome = ServerEvent::Welcome(welcome);
    let welcomed = timeout(
        config.write_timeout.0,
        send_sealed(&mut ws, &mut sealer, &welcome),
    )
    .await;
    let failed = match welcomed {
        Ok(true) => None,
        Ok(false) => Some(Ending::lost()),
        Err(_) => Some(Ending::too_slow(0)),
    };
    if let Some(ending) = failed {
        member.control.end(ending);
        app.hub
            .leave(&member, &member.control.ending().leave_reason);
        tracing::info!(name = %member.name, %peer, "the Welcome was not delivered");
        return None;
    }
    Some(Established {
        ws,
        sealer,
        opener,
        member,
        rx,
        config,
    })
}

/// A connection past the greeting: session keys exist.
struct Keyed {
    sealer: Sealer,
    opener: Opener,
    key_id: KeyId,
}

/// Sends a close frame, giving up after a short while.
async fn send_close(ws: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = timeout(GOODBYE_TIMEOUT, ws.send(Message::Close(Some(frame)))).await;
}

/// Ends a keyed connection: the sealed `Bye` (when the peer is still
/// trusted), the close frame, and a short linger when the peer's unread
/// bytes would otherwise turn the close into a reset.
async fn goodbye<S>(sink: &mut S, sealer: &mut Sealer, ending: Ending)
where
    S: Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    let linger = ending.linger;
    let sent = timeout(GOODBYE_TIMEOUT, async {
        if let Some((code, reason)) = ending.bye
            && let Ok(sealed) = sealer.seal(&ServerEvent::Bye { code, reason }.to_bytes())
        {
            sink.send(Message::Binary(sealed.into())).await?;
        }
        let frame = CloseFrame {
            code: CloseCode::from(ending.close_code),
            reason: "".into(),
        };
        sink.send(Message::Close(Some(frame))).await
    })
    .await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "goodbye not delivered"),
        Err(_) => tracing::debug!("goodbye timed out"),
    }
    if linger {
        tokio::time::sleep(LINGER).await;
    }
}

/// Seals and sends one event during the admission.
async fn send_sealed(ws: &mut WebSocket, sealer: &mut Sealer, event: &ServerEvent) -> bool {
    let Ok(sealed) = sealer.seal(&event.to_bytes()) else {
        return false;
    };
    for message in frames(sealed) {
        if ws.send(message).await.is_err() {
            return false;
        }
    }
    true
}

/// Largest frame chatd sends: a longer sealed message goes out fragmented.
const FRAGMENT: usize = 16 * 1024;

/// One sealed message as the WebSocket messages to send: one binary
/// message, or past [`FRAGMENT`] bytes the frames of one fragmented binary
/// message (RFC 6455 §5.4; the peer's WebSocket layer reassembles it).
/// tungstenite keeps its write buffer at the largest frame it ever wrote,
/// for the connection's life: whole, a 1 MiB `Welcome` would cost every
/// joined user 1 MiB until they leave.
fn frames(sealed: Vec<u8>) -> Frames {
    Frames {
        whole: sealed.len() <= FRAGMENT,
        rest: Bytes::from(sealed),
        first: true,
    }
}

/// The frames of one sealed message; see [`frames`].
struct Frames {
    rest: Bytes,
    whole: bool,
    first: bool,
}

impl Iterator for Frames {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        if self.rest.is_empty() {
            return None;
        }
        if self.whole {
            return Some(Message::Binary(std::mem::take(&mut self.rest)));
        }
        let chunk = self.rest.split_to(FRAGMENT.min(self.rest.len()));
        let opcode = if std::mem::replace(&mut self.first, false) {
            OpCode::Data(Data::Binary)
        } else {
            OpCode::Data(Data::Continue)
        };
        Some(Message::Frame(Frame::message(
            chunk,
            opcode,
            self.rest.is_empty(),
        )))
    }
}

/// Why no binary message came.
enum Stop {
    /// The peer closed or the connection broke.
    Closed,
    /// A text message: not part of this protocol.
    Text,
    /// Over tungstenite's size cap.
    TooBig,
}

/// The next binary message.
async fn next_binary(ws: &mut WebSocket) -> Result<Bytes, Stop> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => return Ok(bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Text(_))) => return Err(Stop::Text),
            Some(Err(e)) if is_capacity(&e) => return Err(Stop::TooBig),
            Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(Stop::Closed),
        }
    }
}

fn is_capacity(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Capacity(_))
}

/// The greeting: reads the `Hello` and answers with the `Challenge`.
/// `None`: refused (closed with the right code) or gone.
async fn greet(ws: &mut WebSocket, peer: SocketAddr, app: &App) -> Option<Keyed> {
    let hello = match next_binary(ws).await {
        Ok(hello) => hello,
        Err(Stop::Closed) => return None,
        Err(Stop::Text) => {
            send_close(ws, close::PROTOCOL, "expected a binary Hello").await;
            return None;
        }
        Err(Stop::TooBig) => {
            send_close(ws, close::TOO_BIG, "Hello too large").await;
            tokio::time::sleep(LINGER).await;
            return None;
        }
    };
    let (current, answer) = {
        let keys = app.keys.read().expect("lock");
        let now = now_secs();
        let answer = ServerHandshake::new(&app.identity).respond(&hello, |id| keys.lookup(id, now));
        (keys.current.key_id(), answer)
    };
    let server_hello = match answer {
        Ok(h) => h,
        Err(HandshakeError::UnknownKey(theirs)) => {
            tracing::info!(%peer, key_id = %theirs, "refused: unknown key id");
            let reason = format!("unknown key id; the server's current key is {current}");
            send_close(ws, close::UNKNOWN_KEY, &reason).await;
            return None;
        }
        Err(e) => {
            tracing::debug!(%peer, error = %e, "refused handshake");
            send_close(ws, close::PROTOCOL, &e.to_string()).await;
            return None;
        }
    };
    ws.send(Message::Binary(server_hello.challenge.into()))
        .await
        .ok()?;
    let chat_protocol::Session { sealer, opener } = server_hello.session;
    Some(Keyed {
        sealer,
        opener,
        key_id: server_hello.key_id,
    })
}

/// The admission: opens the `Auth`, runs the join checks and registers the
/// user, or sends a `Reject`. `None`: refused or gone (already closed).
/// The caller sends the `Welcome`: once the user is in the room, nothing
/// may be cut short by the handshake deadline.
async fn admit(
    ws: &mut WebSocket,
    peer: SocketAddr,
    app: &App,
    sealer: &mut Sealer,
    mut opener: Opener,
    key_id: KeyId,
) -> Option<(Opener, Joined)> {
    let sealed_auth = match next_binary(ws).await {
        Ok(sealed) => sealed,
        Err(Stop::Closed) => return None,
        Err(Stop::Text) => {
            // Unsealed: the peer is not trusted, so no Bye.
            send_close(ws, close::POLICY, "expected a sealed Auth").await;
            return None;
        }
        Err(Stop::TooBig) => {
            goodbye(ws, sealer, Ending::too_big(None, MAX_AUTH)).await;
            return None;
        }
    };
    let auth = match opener.open(&sealed_auth, MAX_AUTH) {
        Ok(plain) => plain,
        Err(OpenError::TooLarge { size, limit }) => {
            goodbye(ws, sealer, Ending::too_big(Some(size), limit)).await;
            return None;
        }
        Err(_) => {
            tracing::info!(%peer, "refused: Auth failed to open");
            send_close(ws, close::POLICY, "message failed to open").await;
            return None;
        }
    };

    let reject = async |ws: &mut WebSocket, sealer: &mut Sealer, code: RejectCode, reason: &str| {
        tracing::info!(%peer, ?code, "refused join");
        send_sealed(
            ws,
            sealer,
            &ServerEvent::Reject {
                code,
                reason: reason.to_string(),
            },
        )
        .await;
        send_close(ws, close::NORMAL, "").await;
    };

    let Some(auth) = Auth::from_bytes(&auth) else {
        reject(
            ws,
            sealer,
            RejectCode::BadRequest,
            "the join request could not be read",
        )
        .await;
        return None;
    };
    // Order matters: a token holder without the password learns nothing
    // about who is online.
    if app.hub.is_full() {
        reject(
            ws,
            sealer,
            RejectCode::ServerFull,
            "the server is full; try again later",
        )
        .await;
        return None;
    }
    if !app.password.verify(auth.password).await {
        reject(ws, sealer, RejectCode::BadPassword, "wrong password").await;
        return None;
    }
    if !valid_username(&auth.username) {
        let reason = "a name is 1 to 32 of the characters A-Z a-z 0-9 _ . -";
        reject(ws, sealer, RejectCode::NameInvalid, reason).await;
        return None;
    }
    let control = Control::new(&app.shutdown);
    let joined = match app.hub.join(&auth.username, peer, key_id, control) {
        Ok(joined) => joined,
        Err(code) => {
            let reason = match code {
                RejectCode::NameTaken => {
                    format!("the name \"{}\" is taken; choose another", auth.username)
                }
                _ => "the server is full; try again later".to_string(),
            };
            reject(ws, sealer, code, &reason).await;
            return None;
        }
    };
    Some((opener, joined))
}

/// Reads, opens and acts on the member's events until the session ends.
async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    mut opener: Opener,
    member: &Arc<Member>,
    app: &App,
    config: &Config,
) {
    let control = &member.control;
    let limit = max_client_message(config.max_text);
    let mut bucket = TokenBucket::new(config.rate_burst, config.rate_per_second);
    let idle = config.keepalive_timeout.0;
    let mut deadline = Instant::now() + idle;
    loop {
        let next = tokio::select! {
            () = control.cancelled() => return,
            () = tokio::time::sleep_until(deadline) => return control.end(Ending::timeout()),
            next = stream.next() => next,
        };
        deadline = Instant::now() + idle;
        let sealed = match next {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Close(_))) | None => return control.end(Ending::lost()),
            Some(Ok(Message::Text(_))) => {
                return control.end(Ending::untrusted(close::POLICY, "unsealed message"));
            }
            Some(Err(e)) if is_capacity(&e) => {
                return control.end(Ending::too_big(None, limit));
            }
            Some(Err(e)) => {
                tracing::debug!(name = %member.name, error = %e, "read failed");
                return control.end(Ending::lost());
            }
        };
        let plain = match opener.open(&sealed, limit) {
            Ok(plain) => plain,
            Err(OpenError::TooLarge { size, limit }) => {
                return control.end(Ending::too_big(Some(size), limit));
            }
            Err(_) => {
                tracing::info!(name = %member.name, "a message failed to open; closing");
                return control.end(Ending::untrusted(close::POLICY, "a message failed to open"));
            }
        };
        let event = match serde_json::from_slice::<ClientEvent>(&plain) {
            Ok(ClientEvent::Unknown) | Err(_) => {
                refuse(
                    member,
                    ErrorCode::BadEvent,
                    "the server could not read that event".into(),
                );
                continue;
            }
            Ok(event) => event,
        };
        if let ClientEvent::Bye { reason, .. } = event {
            return control.end(Ending::left(&reason));
        }
        if !bucket.take() {
            let message = format!(
                "slow down: at most {} per second (bursts of {})",
                messages(config.rate_per_second),
                config.rate_burst
            );
            refuse(member, ErrorCode::RateLimited, message);
            continue;
        }
        handle(event, member, app, config);
    }
}

/// "1 message", "5 messages".
fn messages(n: u32) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

fn refuse(member: &Member, code: ErrorCode, message: String) {
    member.send(&ServerEvent::Error { code, message });
}

/// A client id worth keeping: a valid one; others are dropped.
fn kept(cid: Option<String>) -> Option<String> {
    cid.filter(|cid| chat_protocol::valid_cid(cid))
}

/// Acts on one well-formed event within the rate limit.
fn handle(event: ClientEvent, member: &Arc<Member>, app: &App, config: &Config) {
    let checked = |text: &str| validate_text(text, config.max_text);
    match event {
        ClientEvent::Say { text, cid } => match checked(&text) {
            Ok(()) => app.hub.say(member, text, false, kept(cid)),
            Err((code, message)) => refuse(member, code, message),
        },
        ClientEvent::Action { text, cid } => match checked(&text) {
            Ok(()) => app.hub.say(member, text, true, kept(cid)),
            Err((code, message)) => refuse(member, code, message),
        },
        ClientEvent::Dm { to, text, cid } => {
            if let Err((code, message)) =
                checked(&text).and_then(|()| app.hub.dm(member, &to, text, kept(cid)))
            {
                refuse(member, code, message);
            }
        }
        ClientEvent::Who => member.send(&ServerEvent::Users {
            users: app.hub.names(),
        }),
        ClientEvent::Bye { .. } | ClientEvent::Unknown => {}
    }
}

/// Sends `message` unless the session ends first or the peer stalls.
/// Sends `message` unless the peer stalls past `write_timeout`, or the
/// session ends first (`whole`: the message is all of a sealed message), or
/// only the server's shutdown (a frame of a fragmented message).
async fn send_or_end(
    sink: &mut SplitSink<WebSocket, Message>,
    message: Message,
    control: &Control,
    write_timeout: Duration,
    queued: usize,
    whole: bool,
) -> bool {
    let sent = tokio::select! {
        () = control.cancelled(), if whole => return false,
        () = control.shutting_down(), if !whole => return false,
        sent = timeout(write_timeout, sink.send(message)) => sent,
    };
    match sent {
        Ok(Ok(())) => true,
        Ok(Err(_)) => {
            control.end(Ending::lost());
            false
        }
        Err(_) => {
            control.end(Ending::too_slow(queued));
            false
        }
    }
}

/// Drains the member's queue to the socket, then says goodbye.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut sealer: Sealer,
    mut rx: mpsc::Receiver<Bytes>,
    control: Arc<Control>,
    config: Arc<Config>,
) {
    let write_timeout = config.write_timeout.0;
    let mut ping = tokio::time::interval_at(
        Instant::now() + config.keepalive_interval.0,
        config.keepalive_interval.0,
    );
    // Whether a fragmented message was left unfinished.
    let mut torn = false;
    loop {
        // An event sealed, or `None` for a keepalive ping.
        let sealed = tokio::select! {
            biased;
            () = control.cancelled() => break,
            item = rx.recv() => match item {
                Some(plain) => match sealer.seal(&plain) {
                    Ok(sealed) => Some(sealed),
                    Err(_) => {
                        control.end(Ending::untrusted(close::NORMAL, "message counter exhausted"));
                        break;
                    }
                },
                None => break,
            },
            _ = ping.tick() => None,
        };
        let queued = rx.len();
        let sent = match sealed {
            Some(sealed) => {
                // A fragmented message is cut short only by the shutdown
                // (which must not wait on a stalled peer): once its first
                // frame is handed to tungstenite it is on its way, and a Bye
                // between its frames would be read as its continuation, so
                // a kick waits for its end. A whole message is just that.
                let whole = sealed.len() <= FRAGMENT;
                let mut sent = true;
                for message in frames(sealed) {
                    sent = send_or_end(&mut sink, message, &control, write_timeout, queued, whole)
                        .await;
                    if !sent {
                        torn = !whole;
                        break;
                    }
                }
                sent
            }
            None => {
                let ping = Message::Ping(Bytes::new());
                send_or_end(&mut sink, ping, &control, write_timeout, queued, true).await
            }
        };
        if !sent {
            break;
        }
    }
    let mut ending = control.ending();
    if torn {
        // Half a message is on the wire: a Bye now would be read as its
        // continuation. The close frame (a control frame) may still go.
        ending.bye = None;
    }
    goodbye(&mut sink, &mut sealer, ending).await;
}
