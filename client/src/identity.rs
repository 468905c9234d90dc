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

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

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
/// `server_public`, with the record in `known_names` when there is a place
/// for it; a note for the user when the record cannot be read.
pub fn roster_for(server_public: &[u8; 32]) -> (Roster, Option<String>) {
    match data_dir() {
        Some(dir) => {
            let (known, note) = KnownNames::open(dir.join("known_names"), server_public);
            (Roster::new(known), note)
        }
        None => (Roster::in_memory(), None),
    }
}

/// Writes `bytes` into a new file in `dir`, `.{name}.{random}.tmp`, that
/// only its owner may read (0600), and syncs it: its path, for the caller
/// to link or rename into place. A file that could not be written whole is
/// removed again.
pub fn write_private_temp(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let mut suffix = [0u8; 6];
    let _ = getrandom::fill(&mut suffix);
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let temp = dir.join(format!(".{name}.{suffix}.tmp"));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    match written {
        Ok(()) => Ok(temp),
        Err(err) => {
            let _ = fs::remove_file(&temp);
            Err(err)
        }
    }
}
