//! The identity file: the private key of the user's identity, as text.
//!
//! ```text
//! # chat identity: the private key (Ed25519 seed) of your identity.
//! # Keep it private (mode 0600), never send it; `chat --show-identity`
//! # prints its public key, the one to give to others.
//! chat-idsecret1_<43 characters of unpadded base64url>
//! ```
//!
//! Lines starting with `#` and blank lines are comments; exactly one other
//! line holds the key. A file that others can read or write (any of the
//! group's and others' permission bits) is refused, naming the `chmod` that
//! fixes it, as ssh does with a private key. A new file is made 0600 in a
//! directory made 0700, written whole under a temporary name and linked
//! into place only if no file is there yet: two `chat`s started at once for
//! the first time end up with one identity, not one each.

use std::fs;
use std::io::{self, Read as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use chat_protocol::Identity;

/// The longest identity file read (a key and a few comments).
const MAX_LEN: u64 = 4096;

/// What a new file says above the key.
const HEADER: &str = "\
# chat identity: the private key (Ed25519 seed) of your identity.
# Keep it private (mode 0600), never send it; `chat --show-identity`
# prints its public key, the one to give to others.
";

/// Why an identity file could not be used. The messages name the file and
/// the fix; none holds a byte of the key.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// There is no file.
    #[error("{0} does not exist")]
    Missing(PathBuf),
    /// Others may read or change the file.
    #[error(
        "the identity file {path} can be read or changed by others (mode {mode:04o}): run `chmod 600 {path}`; anyone who read it can join as you"
    )]
    Open {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a regular file.
    #[error("the identity file {0} is not a regular file")]
    NotAFile(PathBuf),
    /// The file does not hold one key in the expected form.
    #[error(
        "the identity file {path} is damaged ({why}); restore it from a backup, or move it away to make a new identity (the name it registered will not know the new one)"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong, without the content.
        why: String,
    },
    /// Reading or writing failed.
    #[error("{what} {path}: {err}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        err: io::Error,
    },
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FileError {
    let path = path.to_path_buf();
    move |err| FileError::Io { what, path, err }
}

/// Reads the identity at `path`, checking its permissions first.
pub fn load(path: &Path) -> Result<Identity, FileError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        // A path through a file (not a directory) cannot hold one either.
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(FileError::Missing(path.to_path_buf()));
        }
        Err(err) => return Err(io_error("reading the identity file", path)(err)),
    };
    if !meta.is_file() {
        return Err(FileError::NotAFile(path.to_path_buf()));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(FileError::Open {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut text = zeroize::Zeroizing::new(String::new());
    fs::File::open(path)
        .and_then(|file| file.take(MAX_LEN + 1).read_to_string(&mut text))
        .map_err(|err| match err.kind() {
            io::ErrorKind::InvalidData => FileError::Damaged {
                path: path.to_path_buf(),
                why: "not text".into(),
            },
            _ => io_error("reading the identity file", path)(err),
        })?;
    parse(&text).map_err(|why| FileError::Damaged {
        path: path.to_path_buf(),
        why,
    })
}

/// The identity in a file's text; `Err` says what is wrong, without the
/// content.
fn parse(text: &str) -> Result<Identity, String> {
    if text.len() as u64 > MAX_LEN {
        return Err(format!("longer than {MAX_LEN} bytes"));
    }
    let mut keys = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    let Some(line) = keys.next() else {
        return Err("no key in it".into());
    };
    if keys.next().is_some() {
        return Err("more than one line that is not a comment".into());
    }
    Identity::parse_secret(line).map_err(|err| err.to_string())
}

/// The text of a file that holds `identity`; a secret.
fn text(identity: &Identity) -> zeroize::Zeroizing<String> {
    let secret = identity.secret_text();
    let mut text = zeroize::Zeroizing::new(String::with_capacity(HEADER.len() + secret.len() + 1));
    text.push_str(HEADER);
    text.push_str(&secret);
    text.push('\n');
    text
}

/// Makes a new identity at `path` (its directory made 0700 if missing),
/// unless a file is already there: then that one is read. `Ok((identity,
/// made))`.
pub fn make(path: &Path) -> Result<(Identity, bool), FileError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error("making the directory", dir))?;
    let identity = Identity::generate();
    let name = path
        .file_name()
        .map_or_else(|| "identity".into(), |n| n.to_string_lossy().into_owned());
    let temp = crate::datafile::write_temp(dir, &name, text(&identity).as_bytes())
        .map_err(io_error("writing a new identity file in", dir))?;
    // A link does not replace a file that is there: a `chat` that made one
    // meanwhile wins, and this one uses it.
    let linked = match fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links: a rename, which would replace
        // a file made meanwhile, so only if there still is none.
        Err(_) if !path.exists() => fs::rename(&temp, path).map(|()| true),
        Err(err) => Err(err),
    };
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(true) => {
            if let Ok(dir) = fs::File::open(dir) {
                let _ = dir.sync_all();
            }
            Ok((identity, true))
        }
        Ok(false) => load(path).map(|identity| (identity, false)),
        Err(err) => Err(io_error("making the identity file", path)(err)),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_new_file_is_0600_in_a_0700_directory_and_reads_back() {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("data/chat/identity");
        let (made, fresh) = make(&path).unwrap();
        assert!(fresh);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(load(&path).unwrap().public(), made.public());
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["identity"]);
        // Made again: the file there is kept and read.
        let (again, fresh) = make(&path).unwrap();
        assert!(!fresh);
        assert_eq!(again.public(), made.public());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# chat identity"), "{text}");
    }

    #[test]
    fn a_file_others_can_read_is_refused_naming_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity");
        make(&path).unwrap();
        for open in [0o644, 0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(open)).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(
                err.contains(&format!("chmod 600 {}", path.display())),
                "{err}"
            );
            assert!(err.contains(&format!("{open:04o}")), "{err}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load(&path).is_ok(), "read-only for its owner is fine");
    }

    #[test]
    fn damaged_files_are_named_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity");
        let good = Identity::from_seed(&[3; 32]).secret_text();
        let cases = [
            ("# only a comment\n".to_owned(), "no key in it"),
            (
                format!("{}\n{}\n", good.as_str(), good.as_str()),
                "more than one line",
            ),
            (good.replace("chat-idsecret1_", "chat-id1_"), "starts with"),
            (format!("{}==\n", good.as_str()), "not unpadded base64url"),
            ("x".repeat(5000), "longer than"),
        ];
        for (text, why) in cases {
            fs::write(&path, &text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
            assert!(!err.contains(&good[15..]), "{err}");
        }
        fs::write(&path, format!("\n# mine\n  {}  \n\n", good.as_str())).unwrap();
        assert_eq!(
            load(&path).unwrap().public(),
            Identity::from_seed(&[3; 32]).public()
        );
        assert!(matches!(
            load(&dir.path().join("nope")),
            Err(FileError::Missing(_))
        ));
        assert!(matches!(load(dir.path()), Err(FileError::NotAFile(_))));
    }
}
