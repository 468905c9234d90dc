//! `Opener::open` with a fixed key (the vectors' k_c2s, so the vectors'
//! sealed Auth opens), arbitrary bytes and an arbitrary limit (the first
//! two bytes, big-endian). Never panics; what opens is at most the limit
//! and exactly a tag shorter; the size is refused before anything else;
//! the counter moves only on success. Then the same bytes as a plaintext
//! seal and open back to themselves.
#![no_main]

use chat_protocol::sizes::TAG_LEN;
use chat_protocol::{OpenError, Opener, Sealer};
use libfuzzer_sys::fuzz_target;

mod common;
use common::*;

fuzz_target!(|data: &[u8]| {
    let Some((limit, sealed)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limit = usize::from(u16::from_be_bytes(*limit));
    let key: [u8; 32] = hex(KAT_K_C2S).try_into().expect("32 bytes");
    let mut opener = Opener::new(&key, 0);
    match opener.open(sealed, limit) {
        Ok(plain) => {
            assert!(sealed.len() <= limit);
            assert!(plain.len() <= limit);
            assert_eq!(plain.len() + TAG_LEN, sealed.len());
            assert_eq!(opener.counter(), 1);
        }
        Err(e) => {
            assert_eq!(opener.counter(), 0, "a failed open does not count");
            match e {
                OpenError::TooLarge { size, limit: l } => {
                    assert_eq!((size, l), (sealed.len(), limit));
                    assert!(size > limit);
                }
                OpenError::Truncated => assert!(sealed.len() < TAG_LEN && sealed.len() <= limit),
                OpenError::Forged => assert!(sealed.len() >= TAG_LEN && sealed.len() <= limit),
                OpenError::Exhausted => panic!("counter 0 is not exhausted"),
            }
        }
    }

    let mut sealer = Sealer::new(&key, 7);
    let mut opener = Opener::new(&key, 7);
    let sealed = sealer.seal(data).expect("counter 7 is fresh");
    assert_eq!(sealed.len(), data.len() + TAG_LEN);
    assert_eq!(opener.open(&sealed, usize::MAX).expect("opens"), data);
    assert_eq!(
        opener.open(&sealed, usize::MAX),
        Err(OpenError::Forged),
        "a replay"
    );
});
