//! Who is in the room, one entry per user: the `members` of a `welcome`
//! and of a `users` answer.

use serde::{Deserialize, Serialize};

use crate::identity::IdentityKey;

/// One user online, as the `members` lists give it (beside `users`, the
/// bare names, kept for older clients). Later work (operators, rooms) adds
/// members here; a client ignores those it does not know.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    /// The name.
    pub name: String,
    /// The identity the user proved at its join (its public key in the text
    /// form `chat-id1_…`); absent for a user who joined without one. A
    /// client computes the fingerprint itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityKey>,
    /// Whether the user is an operator of the room. Absent: not one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub op: bool,
}

impl Member {
    /// A member known by name only (no identity, not an operator).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            identity: None,
            op: false,
        }
    }
}
