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
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
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
    let opened = opener.open(sealed, limit);
    // A client's messages are few beside what it is sent: its key
    // schedule is made again for each rather than kept for an idle
    // connection's life.
    opener.rest();
    match opened {
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

    /// Seals and sends one event already serialized (`plain`), in frames
    /// of at most [`FRAGMENT`] bytes; `false` if the peer is gone.
    ///
    /// The frames are written to the socket at once, from one buffer,
    /// past tungstenite's: a `Welcome` (everyone online, the history) of
    /// 100 KiB is a few write(2)s, not one per frame, and tungstenite's
    /// write buffer, which keeps the size of the most it ever held for the
    /// connection's life, stays as small as it was.
    pub async fn send_bytes(&mut self, plain: &[u8]) -> bool {
        let sealed = self.sealer.seal(plain);
        // The writer makes its own, when it has something to seal.
        self.sealer.rest();
        let Ok(sealed) = sealed else {
            return false;
        };
        // Whatever tungstenite still holds goes first (after the
        // Challenge, nothing).
        if self.ws.flush().await.is_err() {
            return false;
        }
        let io = self.ws.get_mut();
        io.write_all(&frames(&sealed, FRAGMENT)).await.is_ok() && io.flush().await.is_ok()
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

    /// Frees the sealing buffer and the key schedule, for a writer about
    /// to wait: a busy writer reuses them from batch to batch, an idle one
    /// holds neither.
    pub fn idle(&mut self) {
        self.buffer = BytesMut::new();
        self.sealer.rest();
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
/// `sealed` as one binary message of server frames (unmasked), each of at
/// most `fragment` bytes of it, ready to write.
fn frames(sealed: &[u8], fragment: usize) -> Vec<u8> {
    const HEADER: usize = 10;
    let count = sealed.len().div_ceil(fragment).max(1);
    let mut out = Vec::with_capacity(sealed.len() + HEADER * count);
    let mut chunks = sealed.chunks(fragment).peekable();
    let mut opcode = OpCode::Data(Data::Binary);
    while let Some(chunk) = chunks.next() {
        let header = FrameHeader {
            is_final: chunks.peek().is_none(),
            opcode,
            ..FrameHeader::default()
        };
        header
            .format(chunk.len() as u64, &mut out)
            .expect("a Vec takes every write");
        out.extend_from_slice(chunk);
        opcode = OpCode::Data(Data::Continue);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`frames`] wrote, read back: each frame's (final, opcode,
    /// payload length), and the payloads put together.
    fn read_back(mut bytes: &[u8]) -> (Vec<(bool, OpCode, usize)>, Vec<u8>) {
        let (mut seen, mut payload) = (Vec::new(), Vec::new());
        while !bytes.is_empty() {
            let mut cursor = std::io::Cursor::new(bytes);
            let (header, len) = FrameHeader::parse(&mut cursor)
                .expect("a frame header")
                .expect("a whole header");
            assert_eq!(header.mask, None, "a server's frames are not masked");
            let start = cursor.position() as usize;
            let end = start + len as usize;
            seen.push((header.is_final, header.opcode, len as usize));
            payload.extend_from_slice(&bytes[start..end]);
            bytes = &bytes[end..];
        }
        (seen, payload)
    }

    /// A long message is one binary frame and its continuations, none over
    /// the fragment, the last final; a short one is one final frame.
    #[test]
    fn a_message_is_written_as_frames_of_at_most_the_fragment() {
        let binary = OpCode::Data(Data::Binary);
        let more = OpCode::Data(Data::Continue);
        let long: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let (seen, payload) = read_back(&frames(&long, FRAGMENT));
        assert_eq!(
            seen,
            [
                (false, binary, FRAGMENT),
                (false, more, FRAGMENT),
                (true, more, 40_000 - 2 * FRAGMENT)
            ]
        );
        assert_eq!(payload, long);
        let short = vec![7u8; 200];
        assert_eq!(
            read_back(&frames(&short, FRAGMENT)),
            (vec![(true, binary, 200)], short)
        );
    }
}
