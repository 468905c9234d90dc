//! What the server decodes from a client: `Auth::from_bytes` (c2s #0), the
//! `Auth`'s identity and proof checked with `Auth::verify_identity` against
//! the transcript hash of the known-answer vectors, and
//! `ClientEvent::from_bytes` (every later message) on arbitrary bytes.
//! Never panics; whatever is read has no member given twice, and writes
//! back to bytes that read as the same value; an identity accepted is the
//! one the `Auth` gives, and its proof verifies for that `th` only.
#![no_main]

mod common;

use chat_protocol::json::no_duplicate_members;
use chat_protocol::{Auth, ClientEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(auth) = Auth::from_bytes(data) {
        assert!(no_duplicate_members(data));
        let again = Auth::from_bytes(&auth.to_bytes()).expect("a written Auth reads");
        assert_eq!(again, auth);
        let th: [u8; 32] = common::hex(common::KAT_TH).try_into().expect("32 bytes");
        if let Ok(Some(key)) = auth.verify_identity(&th) {
            assert_eq!(auth.identity.as_deref(), Some(key.to_base64().as_str()));
            let mut other = th;
            other[0] ^= 1;
            assert!(auth.verify_identity(&other).is_err(), "a proof holds for one th");
        }
    }
    if let Some(event) = ClientEvent::from_bytes(data) {
        assert!(no_duplicate_members(data));
        let again = ClientEvent::from_bytes(&event.to_bytes()).expect("a written event reads");
        assert_eq!(again, event);
    }
});
