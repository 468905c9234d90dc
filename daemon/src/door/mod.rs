//! The door: everything before a session exists.

pub mod accept;
pub mod forwarded;
pub mod upgrade;
