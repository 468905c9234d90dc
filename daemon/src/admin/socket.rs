//! The admin socket, `RUNTIME_DIR/admin.sock`: bound with mode 0660 and
//! the admin group, never through a path someone else could swap.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Binds `RUNTIME_DIR/admin.sock`: refuses if a live chatd answers there,
/// replaces a stale socket left by a crash, then gives it mode 0660 and
/// the admin group.
///
/// Nothing here follows a symbolic link or changes a file by a path that
/// someone else could swap: the runtime directory is chatd's alone (see
/// [`crate::store::paths::ensure_private_dir`]) and is changed through its open
/// descriptor; the socket's mode comes from the umask at `bind`, and its
/// group is set with `fchownat(AT_SYMLINK_NOFOLLOW)` relative to that
/// descriptor.
pub fn bind(
    runtime_dir: &Path,
    admin_gid: Option<u32>,
) -> Result<std::os::unix::net::UnixListener, BindError> {
    let dir = crate::store::paths::ensure_private_dir(
        runtime_dir,
        crate::store::paths::DirRole::Runtime,
    )?;
    if let Some(gid) = admin_gid {
        // Members of the admin group must reach the socket: let the group traverse.
        chown_dir_group(&dir, runtime_dir, gid)?;
        dir.set_permissions(std::fs::Permissions::from_mode(0o710))
            .map_err(|e| BindError::io("set mode 0710 on", runtime_dir, e))?;
    }
    let path = socket_path(runtime_dir);
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(BindError::NotASocket(path));
        }
        match std::os::unix::net::UnixStream::connect(&path) {
            Ok(_) => {
                return Err(BindError::InUse(path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                tracing::info!("replacing stale admin socket {}", path.display());
                std::fs::remove_file(&path).map_err(|e| BindError::io("remove stale", &path, e))?;
            }
            Err(e) => return Err(BindError::io("check existing", &path, e)),
        }
    }
    // The socket's mode is set as it is made, not changed after. On Linux
    // `fchmod` on the listener's descriptor changes only the socket's own
    // inode in sockfs, not the file that `bind` made (checked: the file
    // keeps its mode), and `chmod` by path follows symbolic links. `bind`
    // makes the file with 0777 less the umask, so a umask of 0117 gives
    // 0660 exactly. The umask is the process's: this runs at start-up,
    // before anything else makes files, and it is put back at once.
    // SAFETY: umask only swaps the process's file-creation mask.
    let previous_umask = unsafe { libc::umask(0o117) };
    let bound = std::os::unix::net::UnixListener::bind(&path);
    // SAFETY: as above, restoring the mask this process had.
    unsafe { libc::umask(previous_umask) };
    let listener = bound.map_err(|e| BindError::io("create admin socket", &path, e))?;
    // A default ACL on the directory overrides the umask: then, and only
    // then, the mode is set, without following a link.
    let made = std::fs::symlink_metadata(&path).ok();
    if made.as_ref().map(|m| m.permissions().mode() & 0o7777) != Some(0o660) {
        at_socket(&dir, |dirfd, name| {
            // SAFETY: a valid directory descriptor and a NUL-terminated name.
            unsafe { libc::fchmodat(dirfd, name, 0o660, libc::AT_SYMLINK_NOFOLLOW) }
        })
        .map_err(|e| BindError::io("set mode 0660 on", &path, e))?;
    }
    // Usually the admin group is the daemon's own group, which the socket has already.
    let group = made.as_ref().map(std::os::unix::fs::MetadataExt::gid);
    if let Some(gid) = admin_gid.filter(|&gid| group != Some(gid)) {
        at_socket(&dir, |dirfd, name| {
            // SAFETY: as above; uid -1 (as uid_t) leaves the owner as it is.
            unsafe {
                libc::fchownat(
                    dirfd,
                    name,
                    libc::uid_t::MAX,
                    gid,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            }
        })
        .map_err(|source| BindError::Group {
            path: path.clone(),
            gid,
            source,
        })?;
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| BindError::io("set up admin socket", &path, e))?;
    Ok(listener)
}

/// `RUNTIME_DIR/admin.sock`.
pub fn socket_path(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join(chat_protocol::admin::SOCKET_NAME)
}

/// Why the admin socket cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The runtime directory is refused.
    #[error(transparent)]
    Dir(#[from] crate::store::paths::DirError),
    /// Something else is at the socket's path.
    #[error("{} exists and is not a socket; move it away, or pass another --runtime-dir", .0.display())]
    NotASocket(PathBuf),
    /// A live chatd answers on the socket.
    #[error("another chatd is already serving {} (stop it first, or pass another --runtime-dir)", .0.display())]
    InUse(PathBuf),
    /// The socket or directory cannot be given to the admin group.
    #[error(
        "cannot give {} to the admin group (gid {gid}): {source}; run chatd as root or as a member of that group",
        path.display()
    )]
    Group {
        /// The socket or the runtime directory.
        path: PathBuf,
        /// The admin group.
        gid: u32,
        /// The system's error.
        source: std::io::Error,
    },
    /// The system refused another step.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The socket or the runtime directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

impl BindError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Gives the runtime directory, by its open descriptor, to the admin group.
fn chown_dir_group(dir: &std::fs::File, shown: &Path, gid: u32) -> Result<(), BindError> {
    use std::os::unix::fs::MetadataExt;
    // Usually the admin group is the daemon's own group, which the directory has already.
    if dir.metadata().is_ok_and(|m| m.gid() == gid) {
        return Ok(());
    }
    std::os::unix::fs::fchown(dir, None, Some(gid)).map_err(|source| BindError::Group {
        path: shown.to_path_buf(),
        gid,
        source,
    })
}

/// Runs an `*at` call (`fchownat`, `fchmodat`, with `AT_SYMLINK_NOFOLLOW`)
/// on `admin.sock` relative to the runtime directory's descriptor, so that
/// a link put in the socket's place would be changed itself, never what it
/// points to.
fn at_socket(
    dir: &std::fs::File,
    call: impl FnOnce(libc::c_int, *const libc::c_char) -> libc::c_int,
) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let name = std::ffi::CString::new(chat_protocol::admin::SOCKET_NAME).expect("no NUL");
    if call(dir.as_raw_fd(), name.as_ptr()) != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
