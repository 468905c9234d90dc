//! One client's WebSocket after the upgrade, owned by one type that speaks
//! whole messages: [`Connection`] before keys exist (the `Hello` and the
//! `Challenge`), [`Secure`] once they do (sealed messages only), and its
//! two halves for a joined session, [`SealedStream`] (the reader's) and
//! [`SealedSink`] (the writer's).
//!
//! Everything about the wire lives here and nowhere else: which WebSocket
//! messages count (pings, pongs and fragments are the transport's), the
//! size limits, sealing and opening, sending a long message as fragments,
//! the goodbye (sealed `Bye`, close frame, linger), and how each failure
//! maps to an [`Ending`] and its close code.

use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chat_protocol::sizes::TAG_LEN;
use chat_protocol::{OpenError, Opener, Sealer, ServerEvent, Session, close};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use zeroize::Zeroizing;

use crate::ending::Ending;

/// Time allowed for the last words (Bye, close frame) to a peer.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the socket stays open after a close that left bytes unread.
pub const LINGER: Duration = Duration::from_secs(1);

/// Largest frame chatd sends: a longer sealed message goes out fragmented.
pub const FRAGMENT: usize = 16 * 1024;

/// Largest frame of what a [`Secure`] connection sends before the session
/// splits (the `Welcome`, a `Reject`). tungstenite's write buffer keeps the
/// size of the largest frame it ever held for the connection's life, and a
/// `Welcome` (who is online, the history) is the largest message most
/// connections ever get: in small frames it leaves a small buffer behind.
pub const WELCOME_FRAGMENT: usize = 1024;

/// A byte stream a connection can run over: the upgraded HTTP connection,
/// or an in-memory pipe in tests.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// The WebSocket under a connection.
type Socket = WebSocketStream<Pin<Box<dyn Io>>>;

/// Why no message came.
#[derive(Debug)]
pub enum Stop {
    /// The peer closed or the connection broke.
    Closed,
    /// A text message: not part of this protocol.
    Text,
    /// Over the WebSocket size cap.
    TooBig,
    /// Nothing at all (not even a pong) within the idle time.
    Idle,
}

/// The next binary message from `stream`; pings, pongs and frames are the
/// transport's business and are skipped, though each is a sign of life
/// that restarts the `idle` clock, if there is one.
async fn next_binary<S>(stream: &mut S, idle: Option<Duration>) -> Result<Bytes, Stop>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        let next = match idle {
            Some(idle) => timeout(idle, stream.next()).await.map_err(|_| Stop::Idle)?,
            None => stream.next().await,
        };
        match next {
            Some(Ok(Message::Binary(bytes))) => return Ok(bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Text(_))) => return Err(Stop::Text),
            Some(Err(tungstenite::Error::Capacity(_))) => return Err(Stop::TooBig),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "read failed");
                return Err(Stop::Closed);
            }
            Some(Ok(Message::Close(_))) | None => return Err(Stop::Closed),
        }
    }
}

/// Opens one sealed message of at most `limit` bytes, or says how the
/// session ends: a message over the limit gets a `Bye` and 1009; one that
/// fails to open, 1008 and no `Bye` (the peer is not trusted).
fn open(opener: &mut Opener, sealed: &[u8], limit: usize) -> Result<Zeroizing<Vec<u8>>, Ending> {
    match opener.open(sealed, limit) {
        Ok(plain) => Ok(Zeroizing::new(plain)),
        Err(OpenError::TooLarge { size, limit }) => Err(Ending::too_big(Some(size), limit)),
        Err(_) => Err(Ending::untrusted(close::POLICY, "a message failed to open")),
    }
}

/// What a failed read means once keys exist.
fn stopped(stop: Stop, limit: usize) -> Ending {
    match stop {
        Stop::Closed => Ending::lost(),
        Stop::Text => Ending::untrusted(close::POLICY, "unsealed message"),
        Stop::TooBig => Ending::too_big(None, limit),
        Stop::Idle => Ending::timeout(),
    }
}

/// A connection before keys exist: raw binary messages, bare closes.
pub struct Connection {
    ws: Socket,
}

impl Connection {
    /// Speaks WebSocket (the server's side) over `io`, which has been
    /// upgraded already, with `config`'s buffers and limits.
    pub async fn new(io: impl Io, config: WebSocketConfig) -> Self {
        let io: Pin<Box<dyn Io>> = Box::pin(io);
        Self {
            ws: WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await,
        }
    }

    /// The next binary message.
    pub async fn recv(&mut self) -> Result<Bytes, Stop> {
        next_binary(&mut self.ws, None).await
    }

    /// Sends one binary message (the `Challenge`).
    pub async fn send(&mut self, bytes: Vec<u8>) -> Result<(), tungstenite::Error> {
        self.ws.send(Message::Binary(bytes.into())).await
    }

    /// Closes with `code` and `reason` and no `Bye` (no keys exist, or the
    /// peer is not trusted), giving up after a short while; `linger` keeps
    /// the socket open a moment so the peer's unread bytes do not turn the
    /// close into a reset.
    pub async fn close(&mut self, code: u16, reason: &str, linger: bool) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = timeout(GOODBYE_TIMEOUT, self.ws.send(Message::Close(Some(frame)))).await;
        if linger {
            tokio::time::sleep(LINGER).await;
        }
    }

    /// The connection with session keys: from here on it speaks only
    /// sealed messages.
    pub fn secure(self, session: Session) -> Secure {
        Secure {
            ws: self.ws,
            sealer: session.sealer,
            opener: session.opener,
        }
    }
}

/// A connection with session keys, before the session splits into a
/// reader and a writer.
pub struct Secure {
    ws: Socket,
    sealer: Sealer,
    opener: Opener,
}

impl Secure {
    /// The next sealed message, opened, of at most `limit` bytes; or how
    /// the session ends.
    pub async fn recv(&mut self, limit: usize) -> Result<Zeroizing<Vec<u8>>, Ending> {
        let sealed = next_binary(&mut self.ws, None)
            .await
            .map_err(|stop| stopped(stop, limit))?;
        open(&mut self.opener, &sealed, limit)
    }

    /// Seals and sends one event, in fragments if it is long; `false` if
    /// the peer is gone.
    pub async fn send(&mut self, event: &ServerEvent) -> bool {
        self.send_bytes(&event.to_bytes()).await
    }

    /// Seals and sends one event already serialized (`plain`), in
    /// fragments if it is long; `false` if the peer is gone.
    pub async fn send_bytes(&mut self, plain: &[u8]) -> bool {
        let Ok(outgoing) = seal(&mut self.sealer, plain, WELCOME_FRAGMENT) else {
            return false;
        };
        for frame in outgoing {
            if self.ws.send(frame).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Ends the connection as `ending` says (see [`goodbye`]).
    pub async fn goodbye(mut self, ending: Ending) {
        goodbye(&mut self.ws, &mut self.sealer, ending).await;
    }

    /// The reader's and the writer's halves. The reader takes messages of
    /// at most `limit` bytes and ends the session after `idle` without any
    /// frame from the peer (pongs count).
    pub fn split(self, limit: usize, idle: Duration) -> (SealedStream, SealedSink) {
        let (sink, stream) = self.ws.split();
        (
            SealedStream {
                stream,
                opener: self.opener,
                limit,
                idle,
            },
            SealedSink {
                sink,
                sealer: self.sealer,
                buffer: BytesMut::new(),
            },
        )
    }
}

/// The reading half of a joined session.
pub struct SealedStream {
    stream: SplitStream<Socket>,
    opener: Opener,
    limit: usize,
    idle: Duration,
}

impl SealedStream {
    /// The next sealed message, opened; or how the session ends, silence
    /// past the idle timeout included.
    pub async fn recv(&mut self) -> Result<Zeroizing<Vec<u8>>, Ending> {
        let sealed = next_binary(&mut self.stream, Some(self.idle))
            .await
            .map_err(|stop| stopped(stop, self.limit))?;
        open(&mut self.opener, &sealed, self.limit)
    }
}

/// The writing half of a joined session.
pub struct SealedSink {
    sink: SplitSink<Socket, Message>,
    sealer: Sealer,
    /// Where messages are sealed in place: each sealed message is split off
    /// it, and once tungstenite has copied it out the space is used again,
    /// so a busy writer allocates nothing per message.
    buffer: BytesMut,
}

impl SealedSink {
    /// Seals one message for sending; see [`Outgoing`].
    pub fn seal(&mut self, plain: &[u8]) -> Result<Outgoing, Ending> {
        self.buffer.reserve(plain.len() + TAG_LEN);
        self.buffer.extend_from_slice(plain);
        let tag = match self.sealer.seal_in_place(&mut self.buffer) {
            Ok(tag) => tag,
            Err(_) => {
                self.buffer.clear();
                return Err(exhausted());
            }
        };
        self.buffer.extend_from_slice(&tag);
        Ok(Outgoing::new(self.buffer.split().freeze(), FRAGMENT))
    }

    /// Hands one frame of an [`Outgoing`], or a ping, to the socket's
    /// buffer; it is written once the buffer fills or on [`Self::flush`].
    pub async fn feed(&mut self, frame: Message) -> Result<(), tungstenite::Error> {
        self.sink.feed(frame).await
    }

    /// Writes out whatever was fed.
    pub async fn flush(&mut self) -> Result<(), tungstenite::Error> {
        self.sink.flush().await
    }

    /// Frees the sealing buffer, for a writer about to wait: a busy writer
    /// reuses it from batch to batch, an idle one holds none.
    pub fn idle(&mut self) {
        self.buffer = BytesMut::new();
    }

    /// Ends the connection as `ending` says (see [`goodbye`]).
    pub async fn goodbye(mut self, ending: Ending) {
        goodbye(&mut self.sink, &mut self.sealer, ending).await;
    }
}

fn exhausted() -> Ending {
    Ending::untrusted(close::NORMAL, "message counter exhausted")
}

/// Seals `plain` under the next counter; a counter at its end closes the
/// session instead.
fn seal(sealer: &mut Sealer, plain: &[u8], fragment: usize) -> Result<Outgoing, Ending> {
    let sealed = sealer.seal(plain).map_err(|_| exhausted())?;
    Ok(Outgoing::new(Bytes::from(sealed), fragment))
}

/// One sealed message as the WebSocket messages to send: one binary
/// message, or past [`FRAGMENT`] bytes the frames of one fragmented binary
/// message (RFC 6455 §5.4; the peer's WebSocket layer reassembles it).
/// tungstenite keeps its write buffer at the largest frame it ever wrote,
/// for the connection's life: whole, a 1 MiB `Welcome` would cost every
/// joined user 1 MiB until they leave.
pub struct Outgoing {
    rest: Bytes,
    fragment: usize,
    whole: bool,
    first: bool,
}

impl Outgoing {
    fn new(sealed: Bytes, fragment: usize) -> Self {
        Self {
            whole: sealed.len() <= fragment,
            fragment,
            rest: sealed,
            first: true,
        }
    }

    /// Whether the message goes as one WebSocket message (else as fragments,
    /// which nothing may interrupt: a `Bye` between them would be read as
    /// their continuation).
    pub fn is_whole(&self) -> bool {
        self.whole
    }
}

impl Iterator for Outgoing {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        if self.rest.is_empty() {
            return None;
        }
        if self.whole {
            return Some(Message::Binary(std::mem::take(&mut self.rest)));
        }
        let chunk = self.rest.split_to(self.fragment.min(self.rest.len()));
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

/// Ends a keyed connection: the sealed `Bye` (when the peer is still
/// trusted), the close frame, and a short linger when the peer's unread
/// bytes would otherwise turn the close into a reset.
async fn goodbye<S>(sink: &mut S, sealer: &mut Sealer, ending: Ending)
where
    S: Sink<Message> + Unpin,
    S::Error: std::fmt::Display,
{
    let linger = ending.linger;
    let until = ending.until;
    let sent = timeout(GOODBYE_TIMEOUT, async {
        if let Some((code, reason)) = ending.bye
            && let Ok(sealed) = sealer.seal(
                &ServerEvent::Bye {
                    code,
                    reason,
                    until,
                }
                .to_bytes(),
            )
        {
            sink.send(Message::Binary(sealed.into())).await?;
        }
        let frame = CloseFrame {
            code: CloseCode::from(ending.close_code),
            reason: ending.close_reason.into(),
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
