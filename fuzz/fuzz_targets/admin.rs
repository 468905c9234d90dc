//! Admin request bodies, read as the daemon reads them (serde_json into
//! the `chat_protocol::admin` request types): the first byte picks the
//! type, the rest is the body. Never panics; what is read writes back to
//! JSON that reads as the same value.
#![no_main]

use chat_protocol::admin::{KickRequest, NoticeRequest, PasswordRequest, RotateRequest};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(body: &[u8]) {
    if let Ok(request) = serde_json::from_slice::<T>(body) {
        let written = serde_json::to_vec(&request).expect("a request writes as JSON");
        let again: T = serde_json::from_slice(&written).expect("a written request reads");
        assert_eq!(again, request);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => round_trip::<RotateRequest>(body),
        1 => round_trip::<PasswordRequest>(body),
        2 => round_trip::<KickRequest>(body),
        _ => round_trip::<NoticeRequest>(body),
    }
});
