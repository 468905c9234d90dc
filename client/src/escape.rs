//! Makes peer-controlled text safe to print on a terminal.
//!
//! Everything another user or the server wrote (names, messages, reasons,
//! notices) passes through here before it reaches stdout or stderr. The
//! escaper itself lives in [`chat_protocol::escape`], shared with
//! `chatctl`, so that both binaries escape the same characters the same way
//! (C0/C1 controls, DEL, format characters, U+2028/U+2029, tags); this
//! module keeps the client's call sites (`escape::one_line`, …) as they were.

pub use chat_protocol::escape::*;
