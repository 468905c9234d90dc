//! The user's identity (docs/protocol.md §12) and what the client knows of
//! others' identities.
//!
//! - [`choice`]: which identity a run uses (`--identity`, `--no-identity`,
//!   `CHAT_IDENTITY`, the configuration's `identity`, the default file),
//!   made on first use, and `--show-identity`;
//! - [`file`]: the identity file itself (0600, refused when others can
//!   read it, written atomically);
//! - [`known`]: `known_names`, the keys seen per server and name;
//! - [`roster`]: who is online with which identity in this session, the
//!   warnings about a changed key, and `/whois`.
//!
//! The proof itself is made where the `Auth` is sealed
//! ([`crate::connection`]): it needs the session's transcript hash.

pub mod choice;
pub mod file;
pub mod known;
pub mod roster;

use std::path::PathBuf;

pub use self::choice::Choice;
pub use self::known::KnownNames;
pub use self::roster::{Alert, Roster};

/// Where chat keeps its data: `$XDG_DATA_HOME/chat`, else
/// `~/.local/share/chat`.
pub fn data_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".local/share"))
        })?;
    Some(base.join("chat"))
}

/// The roster for a session on the server whose public key is
/// `server_public`, with the record in `known_names` and the names
/// `ignored` when there is a place for them; notes for the user when they
/// cannot be read.
pub fn roster_for(server_public: &[u8; 32]) -> (Roster, Vec<String>) {
    match data_dir() {
        Some(dir) => {
            let (known, known_note) = KnownNames::open(dir.join("known_names"), server_public);
            let (ignored, ignored_note) =
                crate::ignore::Ignored::open(dir.join("ignored"), server_public);
            let notes = known_note.into_iter().chain(ignored_note).collect();
            (Roster::new(known).with_ignored(ignored), notes)
        }
        None => (Roster::in_memory(), Vec::new()),
    }
}
