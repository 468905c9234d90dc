//! Argon2id password hashes (PHC strings): made with chatd's cost, checked
//! against sane bounds when loaded, and the password file they come from.
//! The bounded, cancel-safe verification that joins use is
//! [`crate::store::password::Gate`].

use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, Version};
use zeroize::Zeroizing;

/// argon2id cost: 19 MiB, 2 passes, 1 lane (OWASP's recommendation).
pub(crate) const M_COST: u32 = 19 * 1024;
pub(crate) const T_COST: u32 = 2;
pub(crate) const P_COST: u32 = 1;

/// The hasher with chatd's cost.
pub(crate) fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, P_COST, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password, a password file or a stored hash cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Over [`chat_protocol::sizes::MAX_PASSWORD`] bytes.
    #[error("the password is {0} bytes; the limit is {limit}", limit = chat_protocol::sizes::MAX_PASSWORD)]
    TooLong(usize),
    /// A file with more than a password in it (read no further).
    #[error("the password is over {limit} bytes, the limit", limit = chat_protocol::sizes::MAX_PASSWORD)]
    OverLimit,
    /// No password at all.
    #[error("the password is empty")]
    Empty,
    /// The password file cannot be read.
    #[error("cannot read password file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The password file's content is not a password.
    #[error("password file {}: {problem}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: Box<PasswordError>,
    },
    /// The password file is not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// A stored hash chatd will not use: what is wrong with it.
    #[error("{0}")]
    StoredHash(String),
    /// argon2 failed, or its task did.
    #[error("cannot hash the password: {0}")]
    Hashing(String),
}

/// Hashes a password into a PHC string with a fresh 16-byte salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_length(password)?;
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Refuses passwords over 1 KiB.
pub fn check_length(password: &str) -> Result<(), PasswordError> {
    if password.len() > chat_protocol::sizes::MAX_PASSWORD {
        return Err(PasswordError::TooLong(password.len()));
    }
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    Ok(())
}

/// Bounds on a stored hash's argon2 parameters, around the defaults (and
/// OWASP's other recommended settings, from m = 7 MiB with t = 5 to
/// m = 46 MiB with t = 1): every join pays for a verification, so a
/// tampered or foreign file must make it cost neither gigabytes nor nothing.
const M_COST_RANGE: std::ops::RangeInclusive<u32> = 7 * 1024..=64 * 1024;
const T_COST_RANGE: std::ops::RangeInclusive<u32> = 1..=5;
const P_COST_RANGE: std::ops::RangeInclusive<u32> = 1..=4;

/// Checks that a stored PHC string is argon2id version 19 (0x13) with
/// parameters within sane bounds and a salt of at least 16 bytes.
pub fn check_stored_hash(phc: &str) -> Result<(), PasswordError> {
    let parsed = PasswordHash::new(phc)
        .map_err(|e| PasswordError::StoredHash(format!("not a PHC password hash ({e})")))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::StoredHash(format!(
            "hash algorithm is {}, expected argon2id",
            parsed.algorithm
        )));
    }
    if parsed.version != Some(Version::V0x13 as u32) {
        return Err(PasswordError::StoredHash(format!(
            "argon2 version is {}, expected 19",
            parsed
                .version
                .map_or_else(|| "missing".to_string(), |v| v.to_string())
        )));
    }
    let params = Params::try_from(&parsed)
        .map_err(|e| PasswordError::StoredHash(format!("bad argon2 parameters ({e})")))?;
    let sane = M_COST_RANGE.contains(&params.m_cost())
        && T_COST_RANGE.contains(&params.t_cost())
        && P_COST_RANGE.contains(&params.p_cost());
    if !sane {
        return Err(PasswordError::StoredHash(format!(
            "argon2 parameters m={} t={} p={} are outside sane bounds (m {}..={}, t {}..={}, p {}..={})",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            M_COST_RANGE.start(),
            M_COST_RANGE.end(),
            T_COST_RANGE.start(),
            T_COST_RANGE.end(),
            P_COST_RANGE.start(),
            P_COST_RANGE.end(),
        )));
    }
    match parsed.salt {
        Some(salt) if salt.len() >= 16 => Ok(()),
        _ => Err(PasswordError::StoredHash(
            "the salt is shorter than 16 bytes".into(),
        )),
    }
}

/// Reads a password file: the whole file, one trailing newline stripped
/// (the rule of [`chat_protocol::password::from_bytes`]).
pub fn read_password_file(path: &Path) -> Result<Zeroizing<String>, PasswordError> {
    use chat_protocol::password::{MAX_PASSWORD_READ, NotAPassword, from_bytes};
    use std::io::Read as _;
    let cannot = |source| PasswordError::Read {
        path: path.to_path_buf(),
        source,
    };
    let in_file = |problem| PasswordError::File {
        path: path.to_path_buf(),
        problem: Box::new(problem),
    };
    let mut bytes = Zeroizing::new(Vec::new());
    // Never more than a password and its line ending: a wrong path to a big
    // file costs nothing, and the length check below names the problem.
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_PASSWORD_READ)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 >= MAX_PASSWORD_READ {
        return Err(in_file(PasswordError::OverLimit));
    }
    let text = from_bytes(bytes).map_err(|problem| {
        in_file(match problem {
            NotAPassword::TooLong(len) => PasswordError::TooLong(len),
            NotAPassword::NotUtf8 => PasswordError::NotText,
        })
    })?;
    check_length(&text).map_err(in_file)?;
    Ok(text)
}
