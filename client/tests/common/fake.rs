//! A fake chat server, built on the protocol crate, for the failures a
//! real daemon never produces and what today's daemon does not do yet
//! (moderation, rooms): one connection per script, served in turn (a
//! client that reconnects meets the next).

use chat_protocol::sizes::MAX_AUTH;
use chat_protocol::{
    Auth, ByeCode, IdentityError, IdentityKey, JoinKey, RateLimit, RejectCode, ServerEvent,
    ServerHandshake, ServerIdentity, Token, Welcome,
};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

use testkit::DEADLINE;

/// What the fake does after sending its Challenge.
#[derive(Clone, Debug)]
pub enum Script {
    /// Wait for whatever the client sends, up to its close.
    Listen,
    /// Read the Auth, then send a message that fails to open.
    ForgeAfterAuth,
    /// Read the Auth, then send a sealed message that is not an event.
    GarbleAfterAuth,
    /// Read the Auth, then send a Reject written as a JSON array of its
    /// members (serde alone would read it; the protocol has objects only).
    ArrayAfterAuth,
    /// Read the Auth, then refuse the join with this code.
    Reject(RejectCode),
    /// Read the Auth, then send these events (a `welcome` first, as a
    /// server that lets the client in), and listen.
    Answer(Vec<ServerEvent>),
    /// Read the Auth, then refuse it with a `Reject` coded `banned`, as
    /// a server with bans will.
    BanAtJoin,
    /// Read the Auth, welcome it, then end the session with a `Bye`
    /// coded `banned`.
    BanAfterWelcome,
    /// Read the Auth, send `events` (a `welcome` first), then answer the
    /// client's events in turn, each with the next list of `replies` (its
    /// `bye` and what comes after the replies run out get none).
    Converse {
        /// Sent after the Auth.
        events: Vec<ServerEvent>,
        /// Sent for each client event, in order.
        replies: Vec<Vec<ServerEvent>>,
    },
    /// As `Converse`, then the link is lost (the connection dropped,
    /// without a close frame or a `bye`) at the first client event past
    /// the replies.
    ConverseThenLose {
        /// Sent after the Auth.
        events: Vec<ServerEvent>,
        /// Sent for each client event, in order.
        replies: Vec<Vec<ServerEvent>>,
    },
}

/// 2031-01-01 00:00 UTC, the end of the fake's bans.
pub const BAN_END: u64 = 1_924_992_000_000;

/// A sealed server event, as bytes to send.
fn seal_event(session: &mut chat_protocol::Session, event: &ServerEvent) -> Message {
    Message::binary(session.sealer.seal(&event.to_bytes()).unwrap())
}

/// What the fake saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// The Auth, if the client sent one (and it opened).
    pub auth: Option<Auth>,
    /// The Auth's identity, checked as a server checks it against this
    /// session's transcript hash.
    pub identity: Option<Result<Option<IdentityKey>, IdentityError>>,
    /// Binary messages after the Challenge that did not open.
    pub other_binary: usize,
    /// Sealed messages after the Auth, opened.
    pub after_auth: Vec<String>,
    /// The code of the client's close frame.
    pub close: Option<u16>,
}

/// A fake server serving one connection per script.
pub struct Fake {
    /// `ws://127.0.0.1:PORT/`.
    pub url: String,
    thread: std::thread::JoinHandle<Vec<Seen>>,
}

impl Fake {
    /// Serves one connection as the holder of `identity`, accepting any key
    /// id with `join_key`.
    pub fn start(identity: ServerIdentity, join_key: JoinKey, script: Script) -> Self {
        Self::start_each(identity, join_key, vec![script])
    }

    /// Serves a connection per script, in turn.
    pub fn start_each(identity: ServerIdentity, join_key: JoinKey, scripts: Vec<Script>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let mut seen = Vec::new();
                    for script in scripts {
                        let one = serve(&listener, &identity, &join_key, script);
                        match tokio::time::timeout(DEADLINE, one).await {
                            Ok(one) => seen.push(one),
                            Err(_) => break,
                        }
                    }
                    seen
                })
        });
        Self { url, thread }
    }

    /// Waits for the connection to end; what the fake saw.
    pub fn seen(self) -> Seen {
        self.seen_each().into_iter().next().unwrap_or_default()
    }

    /// Waits for every connection to end; what the fake saw in each.
    pub fn seen_each(self) -> Vec<Seen> {
        self.thread.join().expect("fake server thread")
    }
}

/// A token for a server whose public key is `server_public`.
pub fn token(join_key: &JoinKey, server_public: [u8; 32]) -> String {
    Token {
        join_key: join_key.clone(),
        server_public,
    }
    .encode()
}

async fn serve(
    listener: &tokio::net::TcpListener,
    identity: &ServerIdentity,
    join_key: &JoinKey,
    script: Script,
) -> Seen {
    let (stream, _) = listener.accept().await.unwrap();
    // The error type is tungstenite's `Callback` contract, not ours to shrink.
    #[allow(clippy::result_large_err)]
    let offer_subprotocol = |_: &Request, mut response: Response| {
        response.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(chat_protocol::SUBPROTOCOL),
        );
        Ok(response)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(stream, offer_subprotocol)
        .await
        .unwrap();
    let hello = match ws.next().await {
        Some(Ok(Message::Binary(hello))) => hello,
        other => panic!("expected a Hello, got {other:?}"),
    };
    let answer = ServerHandshake::new(identity)
        .respond(&hello, |_| Some(join_key.clone()))
        .expect("a valid Hello");
    ws.send(Message::binary(answer.challenge)).await.unwrap();
    let th = answer.keys.th;
    let mut session = answer.session;
    let mut seen = Seen::default();
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Binary(sealed) if seen.auth.is_none() => {
                match session.opener.open(&sealed, MAX_AUTH) {
                    Ok(plain) => {
                        let auth = Auth::from_bytes(&plain).expect("an Auth");
                        seen.identity = Some(auth.verify_identity(&th));
                        seen.auth = Some(auth);
                        match &script {
                            Script::Listen => {}
                            Script::ForgeAfterAuth => {
                                let mut forged = session.sealer.seal(b"{}").unwrap();
                                forged[0] ^= 1;
                                ws.send(Message::binary(forged)).await.unwrap();
                            }
                            Script::GarbleAfterAuth => {
                                let garbled = session.sealer.seal(b"not an event").unwrap();
                                ws.send(Message::binary(garbled)).await.unwrap();
                            }
                            Script::BanAtJoin => {
                                let reject = ServerEvent::Reject {
                                    code: RejectCode::Banned,
                                    reason: "spam".into(),
                                    retry_after: None,
                                    until: Some(BAN_END),
                                };
                                ws.send(seal_event(&mut session, &reject)).await.unwrap();
                                let _ = ws.close(None).await;
                            }
                            Script::BanAfterWelcome => {
                                let welcome = ServerEvent::Welcome(Welcome {
                                    default_room: None,
                                    rooms: Vec::new(),
                                    topic: None,
                                    name: "ace".into(),
                                    users: vec!["ace".into()],
                                    members: Vec::new(),
                                    more: false,
                                    history: Vec::new(),
                                    motd: None,
                                    rate: RateLimit {
                                        burst: 10,
                                        per_second: 5,
                                    },
                                    max_text: 4096,
                                    server: "fake".into(),
                                    gap: false,
                                    resumed: false,
                                    last_id: None,
                                });
                                let bye = ServerEvent::Bye {
                                    code: ByeCode::Banned,
                                    reason: "spam".into(),
                                    until: None,
                                };
                                ws.send(seal_event(&mut session, &welcome)).await.unwrap();
                                ws.send(seal_event(&mut session, &bye)).await.unwrap();
                                let _ = ws.close(None).await;
                            }
                            Script::ArrayAfterAuth => {
                                let array = session
                                    .sealer
                                    .seal(br#"["reject","server_full","full"]"#)
                                    .unwrap();
                                ws.send(Message::binary(array)).await.unwrap();
                            }
                            Script::Reject(code) => {
                                let reject = ServerEvent::Reject {
                                    code: *code,
                                    reason: "refused by the fake".into(),
                                    retry_after: None,
                                    until: None,
                                };
                                ws.send(seal_event(&mut session, &reject)).await.unwrap();
                            }
                            Script::Answer(events)
                            | Script::Converse { events, .. }
                            | Script::ConverseThenLose { events, .. } => {
                                for event in events {
                                    ws.send(seal_event(&mut session, event)).await.unwrap();
                                }
                            }
                        }
                    }
                    Err(_) => seen.other_binary += 1,
                }
            }
            Message::Binary(sealed) => match session.opener.open(&sealed, MAX_AUTH) {
                Ok(plain) => {
                    let text = String::from_utf8_lossy(&plain).into_owned();
                    let bye = text.contains(r#""type":"bye""#);
                    if let Script::Converse { replies, .. }
                    | Script::ConverseThenLose { replies, .. } = &script
                        && !bye
                        && let Some(reply) = replies.get(seen.after_auth.len())
                    {
                        for event in reply {
                            ws.send(seal_event(&mut session, event)).await.unwrap();
                        }
                    }
                    let lose = matches!(&script, Script::ConverseThenLose { replies, .. }
                        if seen.after_auth.len() >= replies.len());
                    seen.after_auth.push(text);
                    if lose {
                        // Dropped: the TCP connection closes, no frame.
                        return seen;
                    }
                }
                Err(_) => seen.other_binary += 1,
            },
            Message::Close(frame) => {
                seen.close = frame.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    seen
}
