//! Reading a file of the state directory: missing is not an error, a copy
//! others may read is said (chatd writes every file 0600), and a file is
//! read only up to a bound, so that a file grown by something else (a
//! mistake, a full disk's garbage, an attacker with write access) costs no
//! more memory than chatd's own would.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use zeroize::Zeroizing;

use super::StoreError;

/// The bound of [`read_optional`]: far above the identity, the key, the
/// password hash and the rooms' settings chatd writes.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a file that may be missing (wiped once dropped: the files hold
/// secrets, the identity and the keys).
pub(super) fn read_optional(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    read_bounded(path, MAX_BYTES, "more than chatd ever writes")
}

/// Reads `path` (`None` when it is missing) up to `max` bytes; a longer
/// file is [`StoreError::Damaged`], "is over N MiB, `why`; restore it from
/// a backup".
pub(crate) fn read_bounded(
    path: &Path,
    max: u64,
    why: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", path, e)),
    };
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            "{} is open to others (mode {:o}); fix it with `chmod 600 {}`",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        );
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io("read", path, e))?;
    if bytes.len() as u64 > max {
        return Err(StoreError::Damaged {
            path: path.to_path_buf(),
            problem: format!(
                "is over {} MiB, {why}; restore it from a backup",
                max.div_ceil(1024 * 1024)
            ),
        });
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_none_and_one_over_the_bound_is_named_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        assert!(read_bounded(&path, 10, "why").unwrap().is_none());
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(
            read_bounded(&path, 10, "why").unwrap().unwrap().as_slice(),
            b"0123456789"
        );
        std::fs::write(&path, b"0123456789a").unwrap();
        let err = read_bounded(&path, 10, "more than chatd writes").unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is over 1 MiB, more than chatd writes; restore it from a backup"),
            "{err}"
        );
    }
}
