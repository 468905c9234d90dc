//! The floor server: the least a broadcast server can cost, to read
//! chatd's figures against. One thread running one epoll loop (mio, no
//! async runtime, no task per connection); every message a client sends is
//! framed once into a broadcast [`ring`]; each connection then gets
//! everything pending for it in one `write(2)` a turn, straight out of the
//! ring. An idle connection holds its socket and a few dozen bytes.
//!
//! It speaks what the relay speaks (`reference.rs`): a bare WebSocket
//! (RFC 6455 upgrade, no subprotocol) on which every binary message goes
//! to every connected client, the sender included, in arrival order; no
//! handshake of chat's, no password, no encryption. So the same load and
//! the same checks (loss, duplicates, each sender's order) run against it,
//! and its test faults are the relay's.
//!
//! Data flow, one turn of the loop: accept what is pending; read every
//! readable connection until the kernel has nothing more (a message is
//! unmasked from the read buffer straight into the ring); then write to
//! each connection that has something pending and a socket with room,
//! from its cursor to the ring's head; then drop the ring's bytes that
//! everyone has written. A connection whose socket is full waits for the
//! kernel to say it has room again; one more than 64 MiB behind is closed.

pub mod ring;
pub mod wire;

use std::io::{ErrorKind, IoSlice, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use self::ring::{Audience, Ring};
use self::wire::Upgrade;
use crate::reference::{Fault, faulty};

/// The listener's token; connection `id` has `Token(id + 1)`.
const LISTENER: Token = Token(0);

/// A connection this far behind the head is closed (chatd's bench
/// configuration allows the same 64 MiB queued per connection).
const MAX_LAG: u64 = 64 << 20;

/// Bytes read at once, into one buffer shared by every connection.
const READ_CHUNK: usize = 64 * 1024;

/// The ring is trimmed once it holds this much (or twice what it held
/// after the last trim).
const TRIM_AT: u64 = 1 << 20;

/// One client.
struct Conn {
    stream: TcpStream,
    /// Bytes read but not used yet (the upgrade request, then the start
    /// of a frame); unallocated when there are none.
    partial: Vec<u8>,
    /// The `101` answer while it is not all written.
    answer: Vec<u8>,
    /// Upgraded: its bytes are frames, and it gets the ring.
    open: bool,
    /// Where it is in the ring.
    cursor: u64,
    /// Its socket was full at the last write: wait until it has room.
    blocked: bool,
    /// Binary messages it sent (faults act on some).
    received: u64,
    /// A frame the reorder fault holds back until its next message.
    held: Option<Vec<u8>>,
}

/// The server's state: connections, the ring, the shared read buffer.
struct Floor {
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    ring: Ring,
    scratch: Box<[u8]>,
    fault: Option<Fault>,
    /// The ring's head when every connection was last written to.
    flushed: u64,
    /// Connections to write to even if the head has not moved (room again,
    /// an upgrade answer to send).
    ready: Vec<usize>,
    /// Trim the ring once it holds more than this.
    trim_at: u64,
}

/// `chat-bench serve-reference --kind floor`: serves on 127.0.0.1:`port`
/// until killed or until its stdin closes; prints `listening on ADDR` first.
pub fn serve(port: u16, fault: Option<Fault>) -> Result<(), String> {
    let at = SocketAddr::from(([127, 0, 0, 1], port));
    let mut listener = TcpListener::bind(at)
        .map_err(|e| format!("binding {at}: {e} (choose another --port, or 0)"))?;
    let mut poll = Poll::new().map_err(|e| format!("epoll: {e}"))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| format!("epoll: {e}"))?;
    crate::reference::announce(listener.local_addr().map_err(|e| e.to_string())?)?;
    let mut floor = Floor {
        conns: Vec::new(),
        free: Vec::new(),
        ring: Ring::default(),
        scratch: vec![0; READ_CHUNK].into_boxed_slice(),
        fault,
        flushed: 0,
        ready: Vec::new(),
        trim_at: TRIM_AT,
    };
    let mut events = Events::with_capacity(1024);
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("epoll_wait: {e}"));
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                floor.accept(&poll, &listener);
                continue;
            }
            let id = event.token().0 - 1;
            if event.is_writable() {
                floor.writable(id);
            }
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                floor.read(id, &poll);
            }
        }
        floor.flush(&poll);
    }
}

impl Floor {
    /// Accepts every pending connection.
    fn accept(&mut self, poll: &Poll, listener: &TcpListener) {
        loop {
            let mut stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue;
                }
                Err(e) => {
                    eprintln!("chat-bench floor: accept: {e} (raise the open-file limit)");
                    return;
                }
            };
            let _ = stream.set_nodelay(true);
            let id = self.free.pop().unwrap_or_else(|| {
                self.conns.push(None);
                self.conns.len() - 1
            });
            let interest = Interest::READABLE | Interest::WRITABLE;
            if poll
                .registry()
                .register(&mut stream, Token(id + 1), interest)
                .is_err()
            {
                self.free.push(id);
                continue;
            }
            self.conns[id] = Some(Conn {
                stream,
                partial: Vec::new(),
                answer: Vec::new(),
                open: false,
                cursor: 0,
                blocked: false,
                received: 0,
                held: None,
            });
        }
    }

    /// The kernel says connection `id` has room again.
    fn writable(&mut self, id: usize) {
        if let Some(Some(conn)) = self.conns.get_mut(id) {
            conn.blocked = false;
            self.ready.push(id);
        }
    }

    /// Reads everything connection `id` has sent; relays its messages.
    fn read(&mut self, id: usize, poll: &Poll) {
        let Floor {
            conns,
            ring,
            scratch,
            fault,
            ready,
            ..
        } = self;
        let Some(Some(conn)) = conns.get_mut(id) else {
            return;
        };
        let ended = loop {
            match conn.stream.read(scratch) {
                Ok(0) => break true,
                Ok(n) => {
                    if take(conn, id, &scratch[..n], ring, *fault).is_err() {
                        break true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        if !conn.answer.is_empty() {
            ready.push(id);
        }
        if ended {
            self.close(id, poll);
        }
    }

    /// Writes to every connection with something pending and room for it.
    fn flush(&mut self, poll: &Poll) {
        let head = self.ring.head();
        let mut ended = Vec::new();
        if head != self.flushed {
            self.flushed = head;
            for id in 0..self.conns.len() {
                if !self.write(id) {
                    ended.push(id);
                }
            }
        } else {
            for id in std::mem::take(&mut self.ready) {
                if !self.write(id) {
                    ended.push(id);
                }
            }
        }
        self.ready.clear();
        for id in ended {
            self.close(id, poll);
        }
        if self.ring.held() > self.trim_at {
            self.trim(poll);
        }
    }

    /// One write to connection `id`: its upgrade answer, or everything
    /// pending for it in the ring. False if the connection failed.
    fn write(&mut self, id: usize) -> bool {
        let Some(Some(conn)) = self.conns.get_mut(id) else {
            return true;
        };
        if conn.blocked {
            return true;
        }
        if !conn.answer.is_empty() {
            match write_all_now(&mut conn.stream, &conn.answer) {
                // Then what the ring got since, in the same turn.
                Ok(n) if n == conn.answer.len() => conn.answer = Vec::new(),
                Ok(n) => {
                    conn.answer.drain(..n);
                    conn.blocked = true;
                    return true;
                }
                Err(_) => return false,
            }
        }
        let head = self.ring.head();
        if !conn.open || conn.cursor == head {
            return true;
        }
        let cursor = conn.cursor;
        let written = match self.ring.contiguous(cursor) {
            Some(bytes) => write_all_now(&mut conn.stream, bytes),
            None => {
                let mut slices: Vec<IoSlice> = Vec::new();
                self.ring.pending(cursor, id, &mut slices);
                if slices.is_empty() {
                    Ok(0)
                } else {
                    loop {
                        match conn.stream.write_vectored(&slices) {
                            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break Ok(0),
                            other => break other,
                        }
                    }
                }
            }
        };
        let Ok(n) = written else {
            return false;
        };
        conn.cursor = self.ring.advance(cursor, id, n as u64);
        // Less than everything: the socket is full until the kernel says.
        conn.blocked = conn.cursor < head;
        true
    }

    /// Drops the ring's bytes every connection has written; closes a
    /// connection too far behind.
    fn trim(&mut self, poll: &Poll) {
        let head = self.ring.head();
        let mut oldest = head;
        let mut behind = Vec::new();
        for (id, conn) in self.conns.iter().enumerate() {
            let Some(conn) = conn.as_ref().filter(|c| c.open) else {
                continue;
            };
            if head - conn.cursor > MAX_LAG {
                behind.push(id);
            } else {
                oldest = oldest.min(conn.cursor);
            }
        }
        for id in behind {
            self.close(id, poll);
        }
        self.ring.drop_before(oldest);
        self.trim_at = TRIM_AT.max(2 * self.ring.held());
    }

    /// Forgets connection `id` (closing its socket).
    fn close(&mut self, id: usize, poll: &Poll) {
        if let Some(mut conn) = self.conns.get_mut(id).and_then(Option::take) {
            let _ = poll.registry().deregister(&mut conn.stream);
            self.free.push(id);
        }
    }
}

/// One non-blocking write: bytes taken (0 when the socket is full).
fn write_all_now(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<usize> {
    loop {
        match stream.write(bytes) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(0),
            other => return other,
        }
    }
}

/// Uses bytes just read from connection `id`: the upgrade request, then
/// frames; keeps an incomplete rest for the next read. An error ends the
/// connection.
fn take(
    conn: &mut Conn,
    id: usize,
    data: &[u8],
    ring: &mut Ring,
    fault: Option<Fault>,
) -> Result<(), &'static str> {
    if conn.partial.is_empty() {
        let used = consume(conn, id, data, ring, fault)?;
        conn.partial.extend_from_slice(&data[used..]);
        return Ok(());
    }
    conn.partial.extend_from_slice(data);
    let buf = std::mem::take(&mut conn.partial);
    let used = consume(conn, id, &buf, ring, fault)?;
    if used < buf.len() {
        conn.partial = buf;
        conn.partial.drain(..used);
    }
    Ok(())
}

/// Uses what it can of `buf`; returns how many bytes it used.
fn consume(
    conn: &mut Conn,
    id: usize,
    buf: &[u8],
    ring: &mut Ring,
    fault: Option<Fault>,
) -> Result<usize, &'static str> {
    let mut at = 0;
    if !conn.open {
        match wire::upgrade(buf) {
            Upgrade::Incomplete => return Ok(0),
            Upgrade::Refuse(why) => return Err(why),
            Upgrade::Accept { consumed, response } => {
                conn.answer = response;
                conn.open = true;
                conn.cursor = ring.head();
                at = consumed;
            }
        }
    }
    while let Some(frame) = wire::frame(&buf[at..])? {
        let payload = &buf[at + frame.header_len..at + frame.len()];
        match frame.kind {
            wire::Kind::Binary => relay(conn, id, payload, frame.mask, ring, fault),
            wire::Kind::Close => return Err("closed by the client"),
            wire::Kind::Other => {}
        }
        at += frame.len();
    }
    Ok(at)
}

/// Puts one message of connection `id` into the ring for everyone (or
/// what a fault makes of it, as the relay does).
fn relay(
    conn: &mut Conn,
    id: usize,
    masked: &[u8],
    mask: [u8; 4],
    ring: &mut Ring,
    fault: Option<Fault>,
) {
    conn.received += 1;
    let frame = |b: &mut Vec<u8>| wire::server_frame(masked, mask, b);
    match fault.filter(|_| faulty(conn.received)) {
        None => ring.push(Audience::All, frame),
        Some(Fault::Drop) => ring.push(Audience::Only(id), frame),
        Some(Fault::Dup) => {
            ring.push(Audience::All, frame);
            ring.push(Audience::AllBut(id), frame);
        }
        Some(Fault::Reorder) => {
            let mut late = Vec::new();
            frame(&mut late);
            conn.held = Some(late);
            return;
        }
    }
    if let Some(late) = conn.held.take() {
        ring.push(Audience::All, |b| b.extend_from_slice(&late));
    }
}
