//! What the client decodes from the server: `ServerEvent::from_bytes` on
//! arbitrary bytes. Never panics; whatever is read has no member given
//! twice, and writes back to bytes that read as the same value.
#![no_main]

use chat_protocol::ServerEvent;
use chat_protocol::json::no_duplicate_members;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(event) = ServerEvent::from_bytes(data) {
        assert!(no_duplicate_members(data));
        let again = ServerEvent::from_bytes(&event.to_bytes()).expect("a written event reads");
        assert_eq!(again, event);
    }
});
