//! `ServerHandshake::respond` on arbitrary Hello bytes, for the server of
//! the known-answer vectors (docs/protocol.md). Never panics; only a
//! 78-byte Hello with the right header and the known key id gets a
//! Challenge, of 86 bytes with the right header; the vectors' own Hello
//! gets the vectors' Challenge.
#![no_main]

use chat_protocol::handshake::{CHALLENGE_LEN, HELLO_LEN};
use chat_protocol::{HandshakeError, JoinKey, ServerHandshake, ServerIdentity, Token};
use libfuzzer_sys::fuzz_target;

mod common;
use common::*;

fuzz_target!(|data: &[u8]| {
    let identity = ServerIdentity::from_secret_bytes(&S_PRIV);
    let token = Token {
        join_key: JoinKey(K),
        server_public: identity.public(),
    };
    let known = token.key_id();
    let lookup = |id: &_| (*id == known).then(|| token.join_key.clone());
    // `respond` is `respond_with` fresh random secrets; fixed ones keep a
    // finding reproducible.
    let result = ServerHandshake::new(&identity).respond_with(data, lookup, E_S_PRIV, R_S);
    match result {
        Ok(hello) => {
            assert_eq!(data.len(), HELLO_LEN);
            assert_eq!(&data[..6], b"CHAT\x01\x01");
            assert_eq!(hello.key_id, known);
            assert_eq!(hello.challenge.len(), CHALLENGE_LEN);
            assert_eq!(&hello.challenge[..6], b"CHAT\x02\x01");
            assert_eq!(hello.session.sealer.counter(), 1, "the tag used s2c #0");
            assert_eq!(hello.session.opener.counter(), 0);
            if data == hex(KAT_HELLO).as_slice() {
                assert_eq!(hello.challenge, hex(KAT_CHALLENGE));
            }
        }
        Err(HandshakeError::Malformed(_)) => {
            assert!(data.len() != HELLO_LEN || &data[..6] != b"CHAT\x01\x01");
        }
        Err(HandshakeError::UnknownKey(id)) => {
            assert_ne!(id, known);
            assert_eq!(id.0, data[6..14]);
        }
        Err(HandshakeError::InvalidKeyShare) => assert_eq!(data.len(), HELLO_LEN),
        Err(HandshakeError::Impostor) => panic!("the server never calls a Hello an impostor"),
    }
});
