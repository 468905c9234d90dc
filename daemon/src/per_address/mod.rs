//! What chatd counts per client address.

pub mod connections;
pub mod password_guesses;
pub mod recent;
