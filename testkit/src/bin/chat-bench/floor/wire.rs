//! What the floor server speaks, as plain functions over byte slices: the
//! WebSocket upgrade (RFC 6455 §4.2.2), client frames in, server frames
//! out. Exactly what chat-bench's bare clients use and nothing more: no
//! subprotocol, no extension, no fragmented message (a client that sends
//! one is closed), no ping answer.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The longest upgrade request the floor reads before giving up on it.
pub const MAX_REQUEST: usize = 8 * 1024;

/// The largest message a client may send (the relay's limit too).
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// Where an upgrade request stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// Not all of it has arrived yet.
    Incomplete,
    /// A valid request of `consumed` bytes, and the `101` answer to write.
    Accept {
        /// The request's length (anything after it is already frames).
        consumed: usize,
        /// The answer.
        response: Vec<u8>,
    },
    /// Not a WebSocket upgrade this server can accept.
    Refuse(&'static str),
}

/// Reads an upgrade request from the start of `buf`.
pub fn upgrade(buf: &[u8]) -> Upgrade {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_REQUEST {
            Upgrade::Refuse("upgrade request too long")
        } else {
            Upgrade::Incomplete
        };
    };
    let Ok(head) = std::str::from_utf8(&buf[..end]) else {
        return Upgrade::Refuse("upgrade request is not UTF-8");
    };
    let mut lines = head.split("\r\n");
    if !lines.next().is_some_and(|l| l.starts_with("GET ")) {
        return Upgrade::Refuse("not a GET request");
    }
    let key = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim())
    });
    let Some(key) = key else {
        return Upgrade::Refuse("no Sec-WebSocket-Key");
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    Upgrade::Accept {
        consumed: end + 4,
        response: response.into_bytes(),
    }
}

/// What a client frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole binary message: relayed.
    Binary,
    /// A close: the connection ends.
    Close,
    /// Anything else complete (text, ping, pong): skipped.
    Other,
}

/// A client frame's header, read from the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What it is.
    pub kind: Kind,
    /// The masking key (clients must mask, RFC 6455 §5.3).
    pub mask: [u8; 4],
    /// Where the payload starts.
    pub header_len: usize,
    /// Its length.
    pub payload_len: usize,
}

impl Frame {
    /// Header and payload.
    pub fn len(&self) -> usize {
        self.header_len + self.payload_len
    }
}

/// Reads the frame at the start of `buf`: `Ok(None)` until all of it has
/// arrived, an error for what the floor does not accept.
pub fn frame(buf: &[u8]) -> Result<Option<Frame>, &'static str> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
    if b0 & 0x70 != 0 {
        return Err("reserved bits set (no extension was agreed)");
    }
    if !fin || opcode == 0 {
        return Err("fragmented message (the floor takes whole messages only)");
    }
    if b1 & 0x80 == 0 {
        return Err("unmasked client frame");
    }
    let (len, at) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (u16::from_be_bytes([b[0], b[1]]) as u64, 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().unwrap_or_default()), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if len > MAX_PAYLOAD as u64 {
        return Err("message larger than 64 KiB");
    }
    let Some(mask) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    let frame = Frame {
        kind: match opcode {
            2 => Kind::Binary,
            8 => Kind::Close,
            _ => Kind::Other,
        },
        mask: [mask[0], mask[1], mask[2], mask[3]],
        header_len: at + 4,
        payload_len: len as usize,
    };
    Ok((buf.len() >= frame.len()).then_some(frame))
}

/// Appends the server frame (unmasked, binary, final) carrying the
/// client frame `masked` unmasked with `mask`: the one copy a message
/// gets on its way through the floor.
pub fn server_frame(masked: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    let len = masked.len();
    out.reserve(len + 10);
    out.push(0x82);
    if len < 126 {
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend(masked.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame as a client writes it.
    fn masked(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        out
    }

    #[test]
    fn the_upgrade_answer_carries_the_rfc_example_key() {
        let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                        sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nrest";
        let Upgrade::Accept { consumed, response } = upgrade(request) else {
            panic!("refused");
        };
        assert_eq!(&request[consumed..], b"rest");
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.1 101 "), "{response}");
        // RFC 6455 §1.3's example.
        assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert_eq!(upgrade(&request[..20]), Upgrade::Incomplete);
        assert_eq!(
            upgrade(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Upgrade::Refuse("no Sec-WebSocket-Key")
        );
        assert!(matches!(
            upgrade(&[b'x'; MAX_REQUEST + 1]),
            Upgrade::Refuse(_)
        ));
    }

    #[test]
    fn client_frames_of_every_length_encoding_round_trip() {
        let mask = [1, 2, 3, 250];
        for len in [0, 5, 125, 126, 300, 0xffff, 0x10000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let wire = masked(2, &payload, mask);
            for cut in [0, 1, wire.len() / 2, wire.len() - 1] {
                if cut < wire.len() {
                    assert_eq!(frame(&wire[..cut]), Ok(None), "len {len} cut {cut}");
                }
            }
            let f = frame(&wire).unwrap().unwrap();
            assert_eq!(
                (f.kind, f.len(), f.payload_len),
                (Kind::Binary, wire.len(), len)
            );
            let mut out = Vec::new();
            server_frame(&wire[f.header_len..], f.mask, &mut out);
            assert_eq!(&out[out.len() - len..], &payload[..], "len {len}");
            assert_eq!(out[0], 0x82);
        }
    }

    #[test]
    fn what_the_floor_does_not_take_is_named() {
        let mask = [9, 9, 9, 9];
        assert_eq!(
            frame(&masked(8, b"", mask)).unwrap().unwrap().kind,
            Kind::Close
        );
        assert_eq!(
            frame(&masked(9, b"p", mask)).unwrap().unwrap().kind,
            Kind::Other
        );
        let mut fragment = masked(2, b"abc", mask);
        fragment[0] &= 0x7f;
        assert!(frame(&fragment).unwrap_err().contains("fragmented"));
        let mut unmasked = masked(2, b"abc", mask);
        unmasked[1] &= 0x7f;
        assert!(frame(&unmasked).unwrap_err().contains("unmasked"));
        assert!(frame(&masked(2, &vec![0; MAX_PAYLOAD + 1], mask)).is_err());
    }
}
