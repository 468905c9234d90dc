//! The join password as bytes become it: one rule for every place a
//! password is read from (chatd's `--password-file`, `chat`'s file,
//! `CHAT_PASSWORD`, `password_command` and prompt, `chatctl passwd`).

use zeroize::Zeroizing;

use crate::sizes::MAX_PASSWORD;

/// Bytes a reader takes at most for one password: the password, its line
/// ending (`\r\n`), and one byte more to tell a longer one.
pub const MAX_PASSWORD_READ: u64 = MAX_PASSWORD as u64 + 3;

/// Why bytes are not a password. Neither says what the bytes were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAPassword {
    /// Over [`MAX_PASSWORD`] bytes, its line ending stripped (how many).
    TooLong(usize),
    /// Not UTF-8 text.
    NotUtf8,
}

/// The password in `bytes`: one trailing line ending (`\n` or `\r\n`)
/// stripped, then at most [`MAX_PASSWORD`] bytes of UTF-8. An empty
/// password passes (each caller says whether it takes one). The bytes are
/// wiped when dropped, and so is the password.
pub fn from_bytes(mut bytes: Zeroizing<Vec<u8>>) -> Result<Zeroizing<String>, NotAPassword> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.len() > MAX_PASSWORD {
        return Err(NotAPassword::TooLong(bytes.len()));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(NotAPassword::NotUtf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(bytes: &[u8]) -> Result<String, NotAPassword> {
        from_bytes(Zeroizing::new(bytes.to_vec())).map(|p| p.to_string())
    }

    #[test]
    fn one_line_ending_is_stripped_and_nothing_else() {
        assert_eq!(password(b"pw\n").unwrap(), "pw");
        assert_eq!(password(b"pw\r\n").unwrap(), "pw");
        assert_eq!(password(b"pw\n\n").unwrap(), "pw\n");
        assert_eq!(password(b"pw").unwrap(), "pw");
        assert_eq!(password(b" pw \n").unwrap(), " pw ");
        assert_eq!(password(b"\n").unwrap(), "");
    }

    #[test]
    fn at_most_a_kib_of_utf8() {
        let mut max = vec![b'a'; MAX_PASSWORD];
        assert_eq!(password(&max).unwrap().len(), MAX_PASSWORD);
        max.extend_from_slice(b"\r\n");
        assert_eq!(password(&max).unwrap().len(), MAX_PASSWORD);
        let over = vec![b'a'; MAX_PASSWORD + 1];
        assert_eq!(
            password(&over),
            Err(NotAPassword::TooLong(MAX_PASSWORD + 1))
        );
        assert_eq!(password(b"hunter\xff"), Err(NotAPassword::NotUtf8));
    }
}
