//! Which identity this run uses, and what becomes of it: made on first use
//! (the default file only), read, refused, or none.
//!
//! From the first that says: `--no-identity`; `--identity FILE` or
//! `CHAT_IDENTITY` (the word `none`: no identity); the configuration's
//! `identity` (the same); else the default file,
//! `$XDG_DATA_HOME/chat/identity`. A file named on purpose must exist
//! (`chat --identity FILE --show-identity` makes it); the default one is
//! made when missing, and when it cannot be made, chat joins without an
//! identity and says so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chat_protocol::Identity;

use super::file::{self, FileError};
use crate::exit::{Exit, Failure};

/// The value of `--identity`, `CHAT_IDENTITY` or `identity` that means
/// "no identity".
pub const NONE: &str = "none";

/// Where this run's identity comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// No identity; the string says who decided (for messages).
    Off(&'static str),
    /// The default file, made if missing.
    Default(PathBuf),
    /// A file named on purpose (flag, environment or configuration).
    Named(PathBuf),
}

impl Choice {
    /// The choice the command line, the environment (through clap, into
    /// `flag`) and the configuration's `configured` make.
    pub fn resolve(no_identity: bool, flag: Option<&Path>, configured: Option<&Path>) -> Self {
        if no_identity {
            return Self::Off("--no-identity");
        }
        if let Some(path) = flag {
            return if path == Path::new(NONE) {
                Self::Off("--identity none (or CHAT_IDENTITY=none)")
            } else {
                Self::Named(path.to_path_buf())
            };
        }
        if let Some(path) = configured {
            return if path == Path::new(NONE) {
                Self::Off("identity = \"none\" in the configuration")
            } else {
                Self::Named(crate::config::expand_home(path))
            };
        }
        match super::data_dir() {
            Some(dir) => Self::Default(dir.join("identity")),
            None => Self::Off("neither XDG_DATA_HOME nor HOME is set"),
        }
    }
}

fn failure(err: FileError) -> anyhow::Error {
    Failure::new(Exit::Error, err.to_string()).into()
}

/// The identity to join with: `None` when there is none by choice, or
/// when the default file cannot be made (said on stderr, with `notes` for
/// the full screen). A refused or damaged file is an error.
pub fn for_join(choice: &Choice, notes: &mut Vec<String>) -> anyhow::Result<Option<Arc<Identity>>> {
    let path = match choice {
        Choice::Off(_) => return Ok(None),
        Choice::Named(path) => {
            return match file::load(path) {
                Ok(identity) => Ok(Some(Arc::new(identity))),
                Err(FileError::Missing(path)) => Err(Failure::new(
                    Exit::Error,
                    format!(
                        "the identity file {} does not exist; make it with `chat --identity {} --show-identity`, or join without one with --no-identity",
                        path.display(),
                        path.display()
                    ),
                )
                .into()),
                Err(err) => Err(failure(err)),
            };
        }
        Choice::Default(path) => path,
    };
    match file::load(path) {
        Ok(identity) => Ok(Some(Arc::new(identity))),
        Err(FileError::Missing(_)) => match file::make(path) {
            Ok((identity, made)) => {
                if made {
                    let note = format!(
                        "made a new identity at {} (`chat --show-identity` prints its public key)",
                        path.display()
                    );
                    eprintln!("chat: {note}");
                    notes.push(note);
                }
                Ok(Some(Arc::new(identity)))
            }
            Err(err) => {
                let note = format!(
                    "joining without an identity: cannot make one ({err}); --identity FILE picks another file"
                );
                eprintln!("chat: {note}");
                notes.push(note);
                Ok(None)
            }
        },
        Err(err) => Err(failure(err)),
    }
}

/// `chat --show-identity`: the public key (the form `chatctl names add`
/// takes) on the first line, its fingerprint on the second; the identity
/// is made first if its file does not exist. Never the private key.
pub fn show(choice: &Choice) -> anyhow::Result<Exit> {
    let path = match choice {
        Choice::Off(why) => {
            return Err(Failure::new(
                Exit::Usage,
                format!("no identity is in use ({why}); without it, --show-identity shows the identity chat would use"),
            )
            .into());
        }
        Choice::Default(path) | Choice::Named(path) => path,
    };
    let identity = match file::load(path) {
        Ok(identity) => identity,
        Err(FileError::Missing(_)) => {
            let (identity, made) = file::make(path).map_err(failure)?;
            if made {
                eprintln!("chat: made a new identity at {}", path.display());
            }
            identity
        }
        Err(err) => return Err(failure(err)),
    };
    let key = identity.public();
    println!("{key}");
    println!("{}", key.fingerprint());
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_that_says_wins() {
        let here = Some(Path::new("here"));
        let there = Some(Path::new("there"));
        let none = Some(Path::new("none"));
        assert!(matches!(Choice::resolve(true, here, there), Choice::Off(_)));
        assert_eq!(
            Choice::resolve(false, here, there),
            Choice::Named("here".into())
        );
        assert!(matches!(
            Choice::resolve(false, none, there),
            Choice::Off(_)
        ));
        assert_eq!(
            Choice::resolve(false, None, there),
            Choice::Named("there".into())
        );
        assert!(matches!(Choice::resolve(false, None, none), Choice::Off(_)));
    }
}
