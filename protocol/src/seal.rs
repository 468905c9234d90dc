//! Sealed framing: one AES-256-GCM-SIV ciphertext per WebSocket message.
//!
//! Each direction has its own key and its own u64 message counter; the
//! nonce is 4 zero bytes ‖ the counter, big-endian. The counter is never
//! sent, so a replayed, reordered or dropped message fails to open, and the
//! connection must then be closed (1008) without reading anything.

use aes_gcm_siv::aead::{Aead, AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use zeroize::Zeroizing;

use crate::sizes::TAG_LEN;

/// Sealing failed: the direction's counter is used up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The next counter would be 2^64−1; the session must close.
    #[error("message counter exhausted; reconnect")]
    Exhausted,
}

/// Opening failed; the message must be discarded unread.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    /// Longer than the limit in force; checked before any AEAD work.
    #[error("message of {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// Received size.
        size: usize,
        /// Limit in force.
        limit: usize,
    },
    /// Shorter than a tag.
    #[error("message too short to be sealed")]
    Truncated,
    /// Tampered, replayed, reordered, dropped or under another key.
    #[error("message failed authentication")]
    Forged,
    /// The counter is used up.
    #[error("message counter exhausted; reconnect")]
    Exhausted,
}

fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::from(n)
}

/// A direction's key, and the cipher made from it while it is in use.
///
/// The cipher (about 1 KiB of AES key schedule) is made when a message is
/// sealed or opened and kept until [`Keyed::rest`]: a server holding many
/// idle connections keeps 32 bytes of key for each direction of each, not
/// the schedules. Both are boxed: a sealer is moved through a connection's
/// handshake and tasks, and each future that holds one by value would
/// otherwise carry the schedule, and leave copies of the key behind.
struct Keyed {
    key: Box<Zeroizing<[u8; 32]>>,
    cipher: Option<Box<Aes256GcmSiv>>,
}

impl Keyed {
    fn new(key: &[u8; 32]) -> Self {
        Self {
            key: Box::new(Zeroizing::new(*key)),
            cipher: None,
        }
    }

    /// The cipher, made from the key if it was resting.
    fn cipher(&mut self) -> &Aes256GcmSiv {
        let key = &self.key;
        self.cipher.get_or_insert_with(|| {
            Box::new(Aes256GcmSiv::new_from_slice(key.as_slice()).expect("32-byte key"))
        })
    }

    fn rest(&mut self) {
        self.cipher = None;
    }
}

/// Seals outgoing messages of one direction.
pub struct Sealer {
    keyed: Keyed,
    counter: u64,
}

impl Sealer {
    /// A sealer whose next message uses `counter`.
    pub fn new(key: &[u8; 32], counter: u64) -> Self {
        Self {
            keyed: Keyed::new(key),
            counter,
        }
    }

    /// Forgets the key schedule until the next message (about 1 KiB, made
    /// again then, which costs about as much as sealing a short message):
    /// for a sender with nothing more to seal for a while.
    pub fn rest(&mut self) {
        self.keyed.rest();
    }

    /// Seals `plaintext` under the next counter: ciphertext ‖ 16-byte tag.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        if self.counter == u64::MAX {
            return Err(SealError::Exhausted);
        }
        let sealed = self
            .keyed
            .cipher()
            .encrypt(&nonce(self.counter), plaintext)
            .expect("AES-GCM-SIV seals any message under 64 GiB");
        self.counter += 1;
        Ok(sealed)
    }

    /// Seals `buffer` in place under the next counter and returns the
    /// 16-byte tag, which goes right after the ciphertext on the wire. For
    /// a sender that builds its outgoing frames in a buffer of its own and
    /// must not allocate per message; the bytes are those [`Sealer::seal`]
    /// gives.
    pub fn seal_in_place(&mut self, buffer: &mut [u8]) -> Result<[u8; TAG_LEN], SealError> {
        if self.counter == u64::MAX {
            return Err(SealError::Exhausted);
        }
        let tag = self
            .keyed
            .cipher()
            .encrypt_inout_detached(&nonce(self.counter), &[], buffer.into())
            .expect("AES-GCM-SIV seals any message under 64 GiB");
        self.counter += 1;
        Ok(tag.into())
    }

    /// The counter the next message will use.
    pub fn counter(&self) -> u64 {
        self.counter
    }
}

/// Opens incoming messages of one direction, in order. Its key schedule
/// is kept as a [`Sealer`]'s is.
pub struct Opener {
    keyed: Keyed,
    counter: u64,
}

impl Opener {
    /// An opener that expects `counter` next.
    pub fn new(key: &[u8; 32], counter: u64) -> Self {
        Self {
            keyed: Keyed::new(key),
            counter,
        }
    }

    /// Forgets the key schedule until the next message, as
    /// [`Sealer::rest`] does.
    pub fn rest(&mut self) {
        self.keyed.rest();
    }

    /// Opens the next message if it is at most `limit` bytes long. The size is
    /// checked before any AEAD work; on failure nothing is returned and the
    /// caller must close the connection.
    pub fn open(&mut self, sealed: &[u8], limit: usize) -> Result<Vec<u8>, OpenError> {
        if sealed.len() > limit {
            return Err(OpenError::TooLarge {
                size: sealed.len(),
                limit,
            });
        }
        if sealed.len() < TAG_LEN {
            return Err(OpenError::Truncated);
        }
        if self.counter == u64::MAX {
            return Err(OpenError::Exhausted);
        }
        let plain = self
            .keyed
            .cipher()
            .decrypt(&nonce(self.counter), sealed)
            .map_err(|_| OpenError::Forged)?;
        self.counter += 1;
        Ok(plain)
    }

    /// The counter the next message must have been sealed with.
    pub fn counter(&self) -> u64 {
        self.counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [5; 32];
    const BIG: usize = 1 << 20;

    fn pair() -> (Sealer, Opener) {
        (Sealer::new(&KEY, 0), Opener::new(&KEY, 0))
    }

    #[test]
    fn round_trip_in_order() {
        let (mut s, mut o) = pair();
        for text in [&b"hello"[..], b"", b"world"] {
            let sealed = s.seal(text).unwrap();
            assert_eq!(sealed.len(), text.len() + TAG_LEN);
            assert_eq!(o.open(&sealed, BIG).unwrap(), text);
        }
    }

    #[test]
    fn sealing_in_place_gives_the_same_bytes() {
        let (mut s, mut o) = pair();
        let mut in_place = Sealer::new(&KEY, 0);
        for text in [&b"hello"[..], b"", &[7u8; 5000][..]] {
            let sealed = s.seal(text).unwrap();
            let mut buffer = text.to_vec();
            let tag = in_place.seal_in_place(&mut buffer).unwrap();
            buffer.extend_from_slice(&tag);
            assert_eq!(buffer, sealed);
            assert_eq!(o.open(&buffer, BIG).unwrap(), text);
        }
        let mut last = Sealer::new(&KEY, u64::MAX);
        assert_eq!(last.seal_in_place(&mut []), Err(SealError::Exhausted));
    }

    /// Resting forgets only the key schedule: the next message is sealed
    /// and opened as if it had not rested, under the next counters.
    #[test]
    fn a_sealer_and_an_opener_that_rested_go_on_where_they_were() {
        let (mut s, mut o) = pair();
        let (mut steady, mut steady_o) = pair();
        for (i, text) in [&b"one"[..], b"two", b"three"].into_iter().enumerate() {
            if i % 2 == 1 {
                s.rest();
                o.rest();
            }
            let sealed = s.seal(text).unwrap();
            assert_eq!(sealed, steady.seal(text).unwrap());
            assert_eq!(o.open(&sealed, BIG).unwrap(), text);
            assert_eq!(steady_o.open(&sealed, BIG).unwrap(), text);
        }
        s.rest();
        o.rest();
        assert!(s.keyed.cipher.is_none() && o.keyed.cipher.is_none());
        assert_eq!((s.counter(), o.counter()), (3, 3));
    }

    #[test]
    fn sealers_and_openers_are_small_to_move() {
        // The key schedules live behind a pointer: futures that hold a
        // sealer by value stay small (docs/architecture.md, memory).
        assert!(size_of::<Sealer>() <= 32, "{}", size_of::<Sealer>());
        assert!(size_of::<Opener>() <= 32, "{}", size_of::<Opener>());
    }

    #[test]
    fn tampered_is_rejected() {
        let (mut s, mut o) = pair();
        let mut sealed = s.seal(b"hello").unwrap();
        sealed[0] ^= 1;
        assert_eq!(o.open(&sealed, BIG), Err(OpenError::Forged));
        let mut sealed = s.seal(b"hello").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 0x80;
        assert_eq!(
            Opener::new(&KEY, 1).open(&sealed, BIG),
            Err(OpenError::Forged)
        );
    }

    #[test]
    fn replayed_and_reordered_are_rejected() {
        let (mut s, mut o) = pair();
        let first = s.seal(b"one").unwrap();
        let second = s.seal(b"two").unwrap();
        assert_eq!(o.open(&second, BIG), Err(OpenError::Forged), "reordered");
        assert_eq!(o.open(&first, BIG).unwrap(), b"one");
        assert_eq!(o.open(&first, BIG), Err(OpenError::Forged), "replayed");
        assert_eq!(o.open(&second, BIG).unwrap(), b"two");
    }

    #[test]
    fn dropped_message_breaks_the_stream() {
        let (mut s, mut o) = pair();
        let _lost = s.seal(b"one").unwrap();
        let second = s.seal(b"two").unwrap();
        assert_eq!(o.open(&second, BIG), Err(OpenError::Forged));
    }

    #[test]
    fn truncated_and_oversized_are_rejected_before_aead() {
        let (mut s, mut o) = pair();
        let sealed = s.seal(b"hello").unwrap();
        assert_eq!(
            o.open(&sealed[..sealed.len() - 1], BIG),
            Err(OpenError::Forged)
        );
        assert_eq!(o.open(&sealed[..10], BIG), Err(OpenError::Truncated));
        assert_eq!(
            o.open(&sealed, 8),
            Err(OpenError::TooLarge { size: 21, limit: 8 })
        );
        assert_eq!(o.counter(), 0, "failed opens do not advance the counter");
    }

    #[test]
    fn wrong_key_fails() {
        let mut s = Sealer::new(&KEY, 0);
        let mut o = Opener::new(&[6; 32], 0);
        assert_eq!(o.open(&s.seal(b"x").unwrap(), BIG), Err(OpenError::Forged));
    }

    #[test]
    fn counter_exhaustion_closes() {
        let mut s = Sealer::new(&KEY, u64::MAX - 1);
        let mut o = Opener::new(&KEY, u64::MAX - 1);
        let last = s.seal(b"last").unwrap();
        assert_eq!(s.seal(b"more"), Err(SealError::Exhausted));
        assert_eq!(o.open(&last, BIG).unwrap(), b"last");
        assert_eq!(o.open(&last, BIG), Err(OpenError::Exhausted));
    }
}
