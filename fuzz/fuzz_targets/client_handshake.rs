//! `ClientHandshake::on_challenge` on arbitrary Challenge bytes, for the
//! client of the known-answer vectors. Never panics; only an 86-byte
//! Challenge with the right header and a tag sealed under the derived s2c
//! key is taken (a fuzzer cannot forge that tag: in practice only the
//! vectors' Challenge), and then both directions' counters are right.
#![no_main]

use chat_protocol::handshake::CHALLENGE_LEN;
use chat_protocol::{ClientHandshake, HandshakeError, JoinKey, ServerIdentity, Token};
use libfuzzer_sys::fuzz_target;

mod common;
use common::*;

fuzz_target!(|data: &[u8]| {
    let token = Token {
        join_key: JoinKey(K),
        server_public: ServerIdentity::from_secret_bytes(&S_PRIV).public(),
    };
    let client = ClientHandshake::with_secrets(&token, E_C_PRIV, R_C);
    assert_eq!(client.hello(), hex(KAT_HELLO).as_slice());
    let is_kat = data == hex(KAT_CHALLENGE).as_slice();
    match client.on_challenge(data) {
        Ok((session, keys)) => {
            assert_eq!(data.len(), CHALLENGE_LEN);
            assert_eq!(&data[..6], b"CHAT\x02\x01");
            assert_eq!(session.sealer.counter(), 0, "Auth is c2s #0");
            assert_eq!(session.opener.counter(), 1, "the tag was s2c #0");
            if is_kat {
                assert_eq!(keys.c2s.as_slice(), hex(KAT_K_C2S).as_slice());
            }
        }
        Err(e) => {
            assert!(!is_kat, "the vectors' Challenge was refused: {e}");
            if data.len() != CHALLENGE_LEN || &data[..6] != b"CHAT\x02\x01" {
                assert!(matches!(e, HandshakeError::Malformed(_)), "{e}");
            } else {
                assert!(
                    !matches!(
                        e,
                        HandshakeError::Malformed(_) | HandshakeError::UnknownKey(_)
                    ),
                    "{e}"
                );
            }
        }
    }
});
