//! The floor's broadcast ring: every server frame once, in arrival order,
//! in one growing run of bytes that every connection reads from its own
//! cursor. A connection's pending bytes are one slice of it, written with
//! one `write(2)` however many messages it holds; the bytes every
//! connection has written are dropped now and then.
//!
//! Faults (a test aid) need frames that not everyone gets: the ring is a
//! list of segments, each with its audience. Without faults there is one
//! segment, for everyone.

use std::collections::VecDeque;
use std::io::IoSlice;

/// Who gets a segment's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every connection.
    All,
    /// Only this connection.
    Only(usize),
    /// Every connection but this one.
    AllBut(usize),
}

impl Audience {
    fn includes(self, id: usize) -> bool {
        match self {
            Audience::All => true,
            Audience::Only(x) => x == id,
            Audience::AllBut(x) => x != id,
        }
    }
}

/// A run of frames with one audience.
struct Segment {
    /// Its first byte's position in the stream of every byte ever broadcast.
    start: u64,
    bytes: Vec<u8>,
    audience: Audience,
}

impl Segment {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

/// The ring. Positions (cursors) count bytes since the server started.
#[derive(Default)]
pub struct Ring {
    segments: VecDeque<Segment>,
    /// The end of the stream: where the next frame goes.
    head: u64,
}

impl Ring {
    /// Where the next frame goes; a connection whose cursor is here has
    /// nothing pending.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// Bytes held (not yet dropped).
    pub fn held(&self) -> u64 {
        self.head - self.segments.front().map_or(self.head, |s| s.start)
    }

    /// Appends one frame for `audience`, written by `write` into the
    /// ring's own buffer (no copy in between).
    pub fn push(&mut self, audience: Audience, write: impl FnOnce(&mut Vec<u8>)) {
        if self.segments.back().is_none_or(|s| s.audience != audience) {
            self.segments.push_back(Segment {
                start: self.head,
                bytes: Vec::new(),
                audience,
            });
        }
        let Some(last) = self.segments.back_mut() else {
            return;
        };
        write(&mut last.bytes);
        self.head = last.end();
    }

    /// The bytes from `cursor` to the head when they are one run for
    /// everyone (always so without faults).
    pub fn contiguous(&self, cursor: u64) -> Option<&[u8]> {
        let last = self.segments.back()?;
        (last.audience == Audience::All && last.start <= cursor)
            .then(|| &last.bytes[(cursor - last.start) as usize..])
    }

    /// What connection `id` should get from `cursor` on, as slices for
    /// one `writev(2)` (the segments it is not in are skipped).
    pub fn pending<'a>(&'a self, cursor: u64, id: usize, out: &mut Vec<IoSlice<'a>>) {
        for s in self.segments.iter().filter(|s| s.end() > cursor) {
            if s.audience.includes(id) {
                let from = cursor.saturating_sub(s.start) as usize;
                out.push(IoSlice::new(&s.bytes[from..]));
            }
        }
    }

    /// The cursor of connection `id` after it wrote `written` bytes from
    /// `cursor` (skipping the segments it is not in, before and after).
    pub fn advance(&self, mut cursor: u64, id: usize, mut written: u64) -> u64 {
        for s in &self.segments {
            if s.end() <= cursor {
                continue;
            }
            if cursor < s.start {
                // A segment before this one is not all written.
                break;
            }
            if !s.audience.includes(id) {
                cursor = s.end();
                continue;
            }
            let take = written.min(s.end() - cursor);
            cursor += take;
            written -= take;
        }
        cursor
    }

    /// Drops what every connection has written (all before `oldest`, the
    /// smallest cursor).
    pub fn drop_before(&mut self, oldest: u64) {
        while self.segments.front().is_some_and(|s| s.end() <= oldest) {
            self.segments.pop_front();
        }
        if let Some(first) = self.segments.front_mut()
            && first.start < oldest
        {
            first.bytes.drain(..(oldest - first.start) as usize);
            first.start = oldest;
        }
        if self.segments.is_empty() {
            // Keep the capacity of nothing: an idle floor holds no ring.
            self.segments = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(ring: &Ring, cursor: u64, id: usize) -> Vec<u8> {
        let mut slices = Vec::new();
        ring.pending(cursor, id, &mut slices);
        slices.iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn one_audience_is_one_slice_from_any_cursor() {
        let mut ring = Ring::default();
        ring.push(Audience::All, |b| b.extend_from_slice(b"abc"));
        ring.push(Audience::All, |b| b.extend_from_slice(b"de"));
        assert_eq!(ring.head(), 5);
        assert_eq!(ring.contiguous(1), Some(&b"bcde"[..]));
        assert_eq!(ring.contiguous(5), Some(&b""[..]));
        assert_eq!(bytes(&ring, 2, 7), b"cde");
        assert_eq!(ring.advance(2, 7, 2), 4);
        ring.drop_before(3);
        assert_eq!(ring.held(), 2);
        assert_eq!(ring.contiguous(3), Some(&b"de"[..]));
        ring.drop_before(5);
        assert_eq!(ring.held(), 0);
        ring.push(Audience::All, |b| b.extend_from_slice(b"f"));
        assert_eq!(ring.contiguous(5), Some(&b"f"[..]));
    }

    #[test]
    fn each_connection_gets_its_audiences_only() {
        let mut ring = Ring::default();
        ring.push(Audience::All, |b| b.extend_from_slice(b"a"));
        ring.push(Audience::Only(1), |b| b.extend_from_slice(b"B"));
        ring.push(Audience::AllBut(1), |b| b.extend_from_slice(b"c"));
        ring.push(Audience::All, |b| b.extend_from_slice(b"d"));
        assert_eq!(ring.contiguous(0), None);
        assert_eq!(bytes(&ring, 0, 1), b"aBd");
        assert_eq!(bytes(&ring, 0, 2), b"acd");
        // A write of 2 by 1 ends after B and skips c; by 2, after c.
        assert_eq!(ring.advance(0, 1, 2), 3);
        assert_eq!(ring.advance(0, 2, 2), 3);
        // A partial write never skips what follows the unwritten rest.
        assert_eq!(ring.advance(0, 1, 0), 0);
        assert_eq!(ring.advance(0, 2, 1), 2);
        // Everything written: both at the head, whatever they skipped.
        assert_eq!(ring.advance(0, 1, 3), 4);
        assert_eq!(ring.advance(0, 2, 3), 4);
        let mut ring = Ring::default();
        ring.push(Audience::All, |b| b.extend_from_slice(b"abc"));
        ring.push(Audience::AllBut(1), |b| b.extend_from_slice(b"xy"));
        assert_eq!(ring.advance(0, 1, 2), 2);
        assert_eq!(ring.advance(0, 1, 3), 5);
        // Nothing for 1 but what it skips: its cursor moves to the head.
        let mut ring = Ring::default();
        ring.push(Audience::AllBut(1), |b| b.extend_from_slice(b"xy"));
        assert_eq!(bytes(&ring, 0, 1), b"");
        assert_eq!(ring.advance(0, 1, 0), 2);
        ring.drop_before(2);
        assert_eq!(ring.held(), 0);
    }
}
