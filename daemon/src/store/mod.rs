//! The state directory: the server identity, the join key and the
//! password hash, each file written atomically with mode 0600.
//!
//! | file | content |
//! |---|---|
//! | `identity` | S's private half, 32 raw bytes |
//! | `key` | the token clients are given, on one line |
//! | `key.previous` | the previous token, `expires=UNIX_SECONDS`, `replaced_by=KEY_ID` (the key that replaced it) and, with a pending disconnect, `disconnect=true`; only during a rotation's grace |
//! | `password` | an argon2id PHC string, when set through the admin API |
//! | `history` | the default room's log: JSON lines, plain text (see `log::embedded`); none with `history = 0` |
//! | `rooms/` | the other rooms' logs, one file each, named by the room's name in hex (`rooms/236f7073` is `#ops`'s) |
//! | `rooms.json` | the rooms and their settings: topic, private, invited names, made by the admin (see [`rooms`]) |
//! | `names` | the names registry: one JSON record a line (see `registry::file`); on a node of a cluster, empty (the registry is in NATS) |
//! | `lock` | held (flock) while a chatd runs on this directory |

pub(crate) mod keyring;
pub(crate) mod password;
pub(crate) mod paths;
pub(crate) mod phc;
mod read;
pub mod rooms;

pub(crate) use read::read_bounded;
use read::read_optional;

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use chat_protocol::{JoinKey, ServerIdentity, Token};

use crate::store::paths::DirError;
use zeroize::Zeroizing;

/// The state directory and the lock that makes this chatd its only user.
pub struct Store {
    dir: PathBuf,
    _lock: File,
}

/// Why the state directory or a file in it cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory itself is refused.
    #[error(transparent)]
    Dir(#[from] DirError),
    /// Another chatd holds the directory's lock.
    #[error(
        "another chatd is already running on state directory {} (it holds {}); stop it first or pass another --state-dir",
        dir.display(),
        lock.display()
    )]
    Locked {
        /// The state directory.
        dir: PathBuf,
        /// Its lock file.
        lock: PathBuf,
    },
    /// A file that cannot be read, written or removed.
    #[error("cannot {action} {}: {source}{hint}", path.display())]
    Io {
        /// "read", "write", "remove", "open".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
        /// What may be wrong, when there is a likely answer.
        hint: &'static str,
    },
    /// The blocking task doing the work failed (a bug).
    #[error("the state directory's work failed: {0}")]
    Panicked(String),
    /// A file whose content chatd cannot use: the problem and the fix.
    #[error("{} {problem}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it and what to do.
        problem: String,
    },
}

impl StoreError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
            hint: "",
        }
    }
}

/// Writes `contents` to `path` atomically: temp file (0600), fsync, rename,
/// fsync the directory. A reader sees the old file or the new one, whole.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        StoreError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
            hint: " (is the disk full or read-only?)",
        }
    })
}

/// The previous key during a rotation's grace period.
#[derive(Clone, Debug)]
pub struct PreviousKey {
    /// The withdrawn token.
    pub token: Token,
    /// Unix seconds after which it is no longer accepted.
    pub expires: u64,
    /// The rotation asked to disconnect the sessions on older keys: they
    /// end when the grace does.
    pub disconnect: bool,
}

impl Store {
    /// Opens (creating if missing) the state directory and takes its lock.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        crate::store::paths::ensure_private_dir(dir, crate::store::paths::DirRole::State)?;
        let lock_path = dir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| StoreError::io("open", &lock_path, e))?;
        // SAFETY: flock on a valid, open descriptor.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                lock: lock_path,
            });
        }
        let store = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        store.remove_stale_temp_files();
        Ok(store)
    }

    /// Removes the temp files of writes that a crash cut short (chatd
    /// killed between the temp file and its rename). They never came into
    /// force, but `.key.tmp` may hold a join key: no secret is left lying
    /// around. Only our own names, and only under the lock.
    fn remove_stale_temp_files(&self) {
        for name in [
            "identity",
            "key",
            "key.previous",
            "password",
            "history",
            "names",
        ] {
            let tmp = self.dir.join(format!(".{name}.tmp"));
            match std::fs::remove_file(&tmp) {
                Ok(()) => tracing::info!(
                    "removed {}, left by a write that did not finish",
                    tmp.display()
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("cannot remove {}: {e}", tmp.display()),
            }
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the key file (holds the token clients are given).
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("key")
    }

    /// Loads the identity and the key, creating what is missing. Returns
    /// whether a new key was made.
    pub fn load_or_create_keys(&self) -> Result<(ServerIdentity, Token, bool), StoreError> {
        let id_path = self.dir.join("identity");
        let key_path = self.key_path();
        let identity = match read_optional(&id_path)? {
            Some(bytes) => {
                let bytes: Zeroizing<[u8; 32]> = bytes
                    .as_slice()
                    .try_into()
                    .map(Zeroizing::new)
                    .map_err(|_| StoreError::Damaged {
                        path: id_path.clone(),
                        problem: format!(
                            "is damaged ({} bytes, expected 32); restore it from a backup, or remove it and {} to make a new server identity (every client then needs the new key)",
                            bytes.len(),
                            key_path.display()
                        ),
                    })?;
                ServerIdentity::from_secret_bytes(&bytes)
            }
            None => {
                if key_path.exists() {
                    return Err(StoreError::Damaged {
                        path: key_path,
                        problem: format!(
                            "exists but {} is missing; restore the identity, or remove the key file too to start afresh",
                            id_path.display()
                        ),
                    });
                }
                let identity = ServerIdentity::generate();
                write_atomic(&id_path, identity.secret_bytes().as_slice())?;
                identity
            }
        };
        match read_optional(&key_path)? {
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let line = text.lines().next().unwrap_or_default();
                let token = Token::parse(line).map_err(|_| StoreError::Damaged {
                    path: key_path.clone(),
                    problem: "is damaged (its first line is not a chat1_ key); restore it from a backup, or remove it to make a new key (everyone then needs the new key)".into(),
                })?;
                if token.server_public != identity.public() {
                    return Err(StoreError::Damaged {
                        problem: format!(
                            "does not belong to {} (its server key differs); restore the matching pair, or remove {} to make a new key",
                            id_path.display(),
                            key_path.display()
                        ),
                        path: key_path,
                    });
                }
                Ok((identity, token, false))
            }
            None => {
                let token = Token {
                    join_key: JoinKey::generate(),
                    server_public: identity.public(),
                };
                self.save_key(&token)?;
                Ok((identity, token, true))
            }
        }
    }

    /// Writes the server identity (a node taking the cluster's).
    pub fn save_identity(&self, identity: &ServerIdentity) -> Result<(), StoreError> {
        write_atomic(
            &self.dir.join("identity"),
            identity.secret_bytes().as_slice(),
        )
    }

    /// Writes the current key file.
    pub fn save_key(&self, token: &Token) -> Result<(), StoreError> {
        write_atomic(&self.key_path(), format!("{}\n", token.encode()).as_bytes())
    }

    /// Loads the previous key, if its grace has not ended and it belongs
    /// to `current`; an expired one is erased.
    ///
    /// The file names the key that replaced it (`replaced_by=`), and is
    /// taken only alongside that key. A rotation's commit point is the
    /// atomic rename of `key`: once that has happened, a previous key left
    /// behind by an earlier rotation (its erasure failed, or chatd died
    /// before it) names another key and never joins again; and a
    /// `key.previous` written for a rotation that died before its `key`
    /// was renamed names a key that never came into force. Such a stale
    /// file is erased (a failure to erase it is only warned about: it is
    /// not used either way). A damaged one, one of another server, or one
    /// that names no successor (written by an older chatd) is not accepted
    /// and is left where it is for the admin to look at, with a warning.
    pub fn load_previous_key(
        &self,
        identity: &ServerIdentity,
        current: &Token,
        now: u64,
    ) -> Result<Option<PreviousKey>, StoreError> {
        let path = self.previous_key_path();
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let token = lines.next().and_then(|l| Token::parse(l).ok());
        let field = |name: &str| {
            text.lines()
                .skip(1)
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .map(str::trim)
        };
        let expires = field("expires").and_then(|v| v.parse::<u64>().ok());
        let replaced_by = field("replaced_by");
        let disconnect = field("disconnect") == Some("true");
        let problem = match (token, expires, replaced_by) {
            (None, _, _) => "its first line is not a key token",
            (Some(_), None, _) => "it has no valid expires= line",
            (Some(token), Some(_), _) if token.server_public != identity.public() => {
                "it holds a key of another server identity"
            }
            (Some(_), Some(_), None) => {
                "it does not name the key that replaced it (no replaced_by= line; an older chatd wrote it)"
            }
            (Some(_), Some(_), Some(successor)) if successor != current.key_id().to_string() => {
                tracing::warn!(
                    "{} was left by a rotation to another key than the current one ({}): that rotation stopped halfway, or a later one could not erase the file. The key in it is not accepted; erasing it",
                    path.display(),
                    current.key_id()
                );
                if let Err(e) = self.erase_previous_key() {
                    tracing::warn!("{e}; remove it by hand");
                }
                return Ok(None);
            }
            (Some(token), Some(expires), Some(_)) if expires > now => {
                return Ok(Some(PreviousKey {
                    token,
                    expires,
                    disconnect,
                }));
            }
            (Some(_), Some(_), Some(_)) => {
                tracing::info!(
                    "the previous key's grace period ended while chatd was stopped; erasing it"
                );
                self.erase_previous_key()?;
                return Ok(None);
            }
        };
        tracing::warn!(
            "{} is not used: {problem}. Users still on the previous key cannot join; remove the file (or rotate the key) to silence this",
            path.display()
        );
        Ok(None)
    }

    fn previous_key_path(&self) -> PathBuf {
        self.dir.join("key.previous")
    }

    /// Writes the previous key with its expiry, bound to `successor`, the
    /// key that replaces it: written before `successor` goes into `key`.
    pub fn save_previous_key(
        &self,
        previous: &PreviousKey,
        successor: &Token,
    ) -> Result<(), StoreError> {
        let mut text = format!(
            "{}\nexpires={}\nreplaced_by={}\n",
            previous.token.encode(),
            previous.expires,
            successor.key_id()
        );
        if previous.disconnect {
            text.push_str("disconnect=true\n");
        }
        write_atomic(&self.previous_key_path(), text.as_bytes())
    }

    /// Removes the previous key from disk, durably (the directory is
    /// synced), so that a rotation may go on to write the new key.
    pub fn erase_previous_key(&self) -> Result<(), StoreError> {
        let path = self.previous_key_path();
        let erase = || -> std::io::Result<()> {
            match std::fs::remove_file(&path) {
                Ok(()) => File::open(&self.dir)?.sync_all(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        };
        erase().map_err(|e| StoreError::io("remove", &path, e))
    }

    /// The stored password hash, if one was set through the admin API.
    pub fn load_password_hash(&self) -> Result<Option<String>, StoreError> {
        let path = self.dir.join("password");
        Ok(read_optional(&path)?.map(|b| String::from_utf8_lossy(&b).trim().to_string()))
    }

    /// Stores a password hash (never the password).
    pub fn save_password_hash(&self, phc: &str) -> Result<(), StoreError> {
        write_atomic(&self.dir.join("password"), format!("{phc}\n").as_bytes())
    }

    /// Removes the stored password hash.
    pub fn erase_password_hash(&self) -> Result<(), StoreError> {
        let path = self.dir.join("password");
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove", &path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn temp_files_of_unfinished_writes_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        drop(Store::open(&state).unwrap());
        std::fs::write(state.join(".key.tmp"), "chat1_half").unwrap();
        std::fs::write(state.join(".password.tmp"), "$argon2id$").unwrap();
        std::fs::write(state.join(".other.tmp"), "not ours").unwrap();
        drop(Store::open(&state).unwrap());
        assert!(!state.join(".key.tmp").exists());
        assert!(!state.join(".password.tmp").exists());
        assert!(state.join(".other.tmp").exists());
    }

    #[test]
    fn keys_are_created_once_and_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let (id1, t1, new1) = {
            let store = Store::open(tmp.path()).unwrap();
            store.load_or_create_keys().unwrap()
        };
        assert!(new1);
        let store = Store::open(tmp.path()).unwrap();
        let (id2, t2, new2) = store.load_or_create_keys().unwrap();
        assert!(!new2);
        assert_eq!(t1, t2);
        assert_eq!(id1.public(), id2.public());
        for f in ["identity", "key"] {
            assert_eq!(
                std::fs::metadata(tmp.path().join(f)).unwrap().mode() & 0o777,
                0o600
            );
        }
        let text = std::fs::read_to_string(tmp.path().join("key")).unwrap();
        assert_eq!(text, format!("{}\n", t1.encode()));
    }

    #[test]
    fn second_store_on_same_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let _first = Store::open(tmp.path()).unwrap();
        let err = Store::open(tmp.path()).err().unwrap().to_string();
        assert!(err.contains("another chatd is already running"), "{err}");
    }

    #[test]
    fn mismatched_key_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        store.load_or_create_keys().unwrap();
        let other = Token {
            join_key: JoinKey([1; 32]),
            server_public: [2; 32],
        };
        store.save_key(&other).unwrap();
        let err = store.load_or_create_keys().err().unwrap().to_string();
        assert!(err.contains("does not belong"), "{err}");
        assert!(
            !err.contains(&other.encode()),
            "the error must not print the key"
        );
    }

    #[test]
    fn damaged_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        store.load_or_create_keys().unwrap();
        std::fs::write(tmp.path().join("key"), "garbage\n").unwrap();
        assert!(
            store
                .load_or_create_keys()
                .err()
                .unwrap()
                .to_string()
                .contains("key is damaged")
        );
        std::fs::write(tmp.path().join("identity"), "short").unwrap();
        assert!(
            store
                .load_or_create_keys()
                .err()
                .unwrap()
                .to_string()
                .contains("identity is damaged")
        );
    }

    #[test]
    fn previous_key_expires_and_is_erased() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (identity, token, _) = store.load_or_create_keys().unwrap();
        let next = Token {
            join_key: JoinKey([9; 32]),
            server_public: identity.public(),
        };
        let previous = PreviousKey {
            token: token.clone(),
            expires: 100,
            disconnect: true,
        };
        store.save_previous_key(&previous, &next).unwrap();
        store.save_key(&next).unwrap();
        let loaded = store
            .load_previous_key(&identity, &next, 50)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.token, token);
        assert!(loaded.disconnect);
        assert!(
            store
                .load_previous_key(&identity, &next, 100)
                .unwrap()
                .is_none()
        );
        assert!(!tmp.path().join("key.previous").exists());
    }

    #[test]
    fn a_previous_key_is_taken_only_beside_the_key_that_replaced_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (identity, first, _) = store.load_or_create_keys().unwrap();
        let key = |b| Token {
            join_key: JoinKey([b; 32]),
            server_public: identity.public(),
        };
        let (second, third) = (key(2), key(3));
        let previous = PreviousKey {
            token: first.clone(),
            expires: 100,
            disconnect: false,
        };
        // A rotation first → second with grace stopped before `key` was
        // renamed: the first key is still the current one, alone.
        store.save_previous_key(&previous, &second).unwrap();
        assert!(
            store
                .load_previous_key(&identity, &first, 50)
                .unwrap()
                .is_none()
        );
        assert!(!tmp.path().join("key.previous").exists());
        // Its grace, then a rotation second → third without grace whose
        // erasure of key.previous never happened: the first key stays out.
        store.save_previous_key(&previous, &second).unwrap();
        assert!(
            store
                .load_previous_key(&identity, &second, 50)
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .load_previous_key(&identity, &third, 50)
                .unwrap()
                .is_none()
        );
        assert!(!tmp.path().join("key.previous").exists());
    }

    #[test]
    fn a_damaged_previous_key_is_refused_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (identity, token, _) = store.load_or_create_keys().unwrap();
        let path = tmp.path().join("key.previous");
        let other = ServerIdentity::from_secret_bytes(&[7; 32]);
        let foreign = Token {
            join_key: token.join_key.clone(),
            server_public: other.public(),
        };
        let id = token.key_id();
        for text in [
            "garbage\n".to_string(),
            format!("{}\n", token.encode()),
            format!("{}\nexpires=100\nreplaced_by={id}\n", foreign.encode()),
            // Written by an older chatd: it names no successor.
            format!("{}\nexpires=100\n", token.encode()),
        ] {
            std::fs::write(&path, &text).unwrap();
            assert!(
                store
                    .load_previous_key(&identity, &token, 50)
                    .unwrap()
                    .is_none()
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
    }
}
