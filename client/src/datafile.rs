//! The client's small records in its data directory (`known_names`,
//! `ignored`): read with a bound on their size, written whole and
//! atomically (a temporary file, mode 0600, synced, renamed into place),
//! in a directory made 0700 if it does not exist.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The text of the file at `path`, at most `max` bytes of it; empty if
/// the file does not exist.
pub fn read_capped(path: &Path, max: u64) -> io::Result<String> {
    let mut text = String::new();
    match fs::File::open(path) {
        Ok(file) => {
            file.take(max).read_to_string(&mut text)?;
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    Ok(text)
}

/// Writes `text` to `path` whole: another reader sees the old file or the
/// new one, never a part; the file is 0600.
pub fn write_private(path: &Path, text: &str) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "data".into(), |n| n.to_string_lossy());
    let temp = write_temp(dir, &name, text.as_bytes())?;
    let renamed = fs::rename(&temp, path);
    if renamed.is_err() {
        let _ = fs::remove_file(&temp);
    }
    renamed
}

/// Writes `bytes` into a new file in `dir`, `.{name}.{random}.tmp`, that
/// only its owner may read (0600), and syncs it: its path, for the caller
/// to rename or link into place. A file that could not be written whole
/// is removed again.
pub fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_record_is_written_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat/record");
        assert_eq!(read_capped(&path, 100).unwrap(), "", "none yet: empty");
        write_private(&path, "one\ntwo\n").unwrap();
        write_private(&path, "three\n").unwrap();
        assert_eq!(read_capped(&path, 100).unwrap(), "three\n");
        assert_eq!(read_capped(&path, 3).unwrap(), "thr");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let left: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }
}
