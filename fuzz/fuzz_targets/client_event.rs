//! What the server decodes from a client: `Auth::from_bytes` (c2s #0) and
//! `ClientEvent::from_bytes` (every later message) on arbitrary bytes.
//! Never panics; whatever is read has no member given twice, and writes
//! back to bytes that read as the same value.
#![no_main]

use chat_protocol::json::no_duplicate_members;
use chat_protocol::{Auth, ClientEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(auth) = Auth::from_bytes(data) {
        assert!(no_duplicate_members(data));
        let again = Auth::from_bytes(&auth.to_bytes()).expect("a written Auth reads");
        assert_eq!(again, auth);
    }
    if let Some(event) = ClientEvent::from_bytes(data) {
        assert!(no_duplicate_members(data));
        let again = ClientEvent::from_bytes(&event.to_bytes()).expect("a written event reads");
        assert_eq!(again, event);
    }
});
