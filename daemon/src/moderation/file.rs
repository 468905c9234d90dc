//! `STATE_DIR/moderation`: moderation's book as one JSON document, written
//! whole and atomically (mode 0600, `crate::store::write_atomic`).

use std::path::Path;

use super::Book;
use crate::store::StoreError;

/// The file's name in the state directory.
pub const FILE: &str = "moderation";

/// Largest file read: [`super::MAX_BANS`] bans with their longest reasons
/// and everything a ban takes in fit well within it.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The book the file holds; an empty one when there is no file.
pub fn read(path: &Path) -> Result<Book, StoreError> {
    let Some(text) = crate::store::read_bounded(path, MAX_BYTES, "more than chatd ever writes")?
    else {
        return Ok(Book::default());
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Book::default());
    }
    serde_json::from_slice(&text).map_err(|e| StoreError::Damaged {
        path: path.to_path_buf(),
        problem: format!(
            "does not read as chatd's moderation state ({e}); fix it, restore it from a backup, \
             or remove it to lift every ban (then ban again with `chatctl ban`)"
        ),
    })
}

/// The file's text for `book`.
pub fn render(book: &Book) -> Vec<u8> {
    let mut text = serde_json::to_vec(book).expect("a book serializes");
    text.push(b'\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_file_is_named_and_an_absent_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        assert_eq!(read(&path).unwrap(), Book::default());
        std::fs::write(&path, b"{\"bans\":[{\"target\":\"b@d\"}]}").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("moderation") && e.contains("backup"), "{e}");
        std::fs::write(&path, render(&Book::default())).unwrap();
        assert_eq!(read(&path).unwrap(), Book::default());
    }
}
