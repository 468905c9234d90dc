//! One line of input read with bounded memory: however long the line, at
//! most a cap of it is kept, and the rest is read and dropped. `chat`'s
//! input lines and the password prompt both read this way.

use std::io::{self, BufRead};

/// What [`read_capped`] read of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capped {
    /// The line's whole length, its `\n` not counted (more than was kept
    /// when the line is longer than the cap).
    pub len: usize,
    /// Whether the line ended with `\n` (else the input ended).
    pub ended: bool,
}

/// Reads one line through its `\n` (or the last, unended one), appending
/// at most `cap` bytes of it, the `\n` left out, to `kept`; `None` at end
/// of input before any byte.
pub fn read_capped(
    reader: &mut impl BufRead,
    cap: usize,
    kept: &mut Vec<u8>,
) -> io::Result<Option<Capped>> {
    let mut len = 0usize;
    let mut seen_any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(seen_any.then_some(Capped { len, ended: false }));
        }
        seen_any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        let room = cap.saturating_sub(len);
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        len += chunk.len();
        let used = newline.map_or(available.len(), |i| i + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some(Capped { len, ended: true }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8], cap: usize) -> Vec<(Vec<u8>, Capped)> {
        let mut reader = io::BufReader::with_capacity(4, input);
        std::iter::from_fn(|| {
            let mut kept = Vec::new();
            read_capped(&mut reader, cap, &mut kept)
                .unwrap()
                .map(|capped| (kept, capped))
        })
        .collect()
    }

    #[test]
    fn lines_are_split_and_kept_within_the_cap() {
        let line = |kept: &[u8], len, ended| (kept.to_vec(), Capped { len, ended });
        assert_eq!(
            read(b"one\r\nmuch too long\n\nlast", 5),
            [
                line(b"one\r", 4, true),
                line(b"much ", 13, true),
                line(b"", 0, true),
                line(b"last", 4, false),
            ]
        );
        assert_eq!(read(b"", 5), []);
    }
}
