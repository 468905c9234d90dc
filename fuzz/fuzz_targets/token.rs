//! `Token::parse` on arbitrary text: never panics, and a token it accepts
//! is the canonical text (trimmed) that `encode` gives back, which parses
//! to the same token with the same key id.
#![no_main]

use chat_protocol::{Token, TokenError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Token::parse(text) {
        Ok(token) => {
            let canonical = token.encode();
            assert_eq!(canonical, text.trim(), "an accepted token is canonical");
            let again = Token::parse(&canonical).expect("an encoded token parses");
            assert_eq!(again, token);
            assert_eq!(again.key_id(), token.key_id());
        }
        Err(TokenError::Length(n)) => assert_ne!(n, 64),
        Err(TokenError::Prefix | TokenError::Encoding) => {}
    }
});
