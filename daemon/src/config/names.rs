//! The `names` policy: whether names are bound to the keys of people's
//! identities (docs/protocol.md §12.3, docs/configuration.md "Names").

use std::fmt;

use serde::{Deserialize, Serialize};

/// Whether and how names are bound to keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    /// Names are not bound: anyone may join under any free name (the
    /// identities proven are still shown).
    #[serde(rename = "open")]
    Open,
    /// The first join of an unregistered name that proves an identity
    /// registers the name to that key; later joins of it must prove one of
    /// its keys. A join without an identity may use unregistered names.
    #[serde(rename = "first-come")]
    FirstCome,
    /// Only names the admin registered may join, each with its keys.
    #[serde(rename = "registered")]
    Registered,
}

impl Policy {
    /// The policy as the configuration file and the admin API write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Open => "open",
            Policy::FirstCome => "first-come",
            Policy::Registered => "registered",
        }
    }

    /// Whether names are bound to keys at all.
    pub fn binds(self) -> bool {
        self != Policy::Open
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
