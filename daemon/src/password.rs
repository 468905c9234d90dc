//! The join password: held only as an argon2id hash, verified off the
//! async runtime with a small bound on concurrent verifications.
//!
//! Two sources, in order of precedence: a hash set through the admin API
//! (stored in `STATE_DIR/password`), then the configured password file
//! (hashed at load; the plaintext is dropped at once).

use std::sync::{Arc, RwLock};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// argon2id cost: 19 MiB, 2 passes, 1 lane (OWASP's recommendation).
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// Verifications that may run at once; more wait their turn.
const CONCURRENT_VERIFICATIONS: usize = 2;

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, P_COST, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string with a fresh 16-byte salt.
pub fn hash(password: &str) -> Result<String, String> {
    check_length(password)?;
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Refuses passwords over 1 KiB.
pub fn check_length(password: &str) -> Result<(), String> {
    if password.len() > chat_protocol::limits::MAX_PASSWORD {
        return Err(format!(
            "the password is {} bytes; the limit is {}",
            password.len(),
            chat_protocol::limits::MAX_PASSWORD
        ));
    }
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    Ok(())
}

/// Checks that a stored PHC string is argon2id with sane parameters, so a
/// tampered file cannot make every join cost gigabytes or nothing.
pub fn check_stored_hash(phc: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(phc).map_err(|e| format!("not a PHC password hash ({e})"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "hash algorithm is {}, expected argon2id",
            parsed.algorithm
        ));
    }
    let params = Params::try_from(&parsed).map_err(|e| format!("bad argon2 parameters ({e})"))?;
    let sane = (8 * 1024..=1024 * 1024).contains(&params.m_cost())
        && (1..=10).contains(&params.t_cost())
        && (1..=8).contains(&params.p_cost());
    if !sane {
        return Err(format!(
            "argon2 parameters m={} t={} p={} are outside sane bounds (m 8192..1048576, t 1..10, p 1..8)",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    match parsed.salt {
        Some(salt) if salt.len() >= 16 => Ok(()),
        _ => Err("the salt is shorter than 16 bytes".into()),
    }
}

/// Where the password in force comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// No password: anyone with the key joins.
    None,
    /// The configured password file (or systemd credential).
    File,
    /// Set through the admin API, stored in the state directory.
    Admin,
}

#[derive(Default)]
struct Hashes {
    file: Option<String>,
    admin: Option<String>,
}

/// The password check shared by all connections.
#[derive(Clone)]
pub struct Gate {
    hashes: Arc<RwLock<Hashes>>,
    permits: Arc<Semaphore>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            hashes: Arc::default(),
            permits: Arc::new(Semaphore::new(CONCURRENT_VERIFICATIONS)),
        }
    }
}

impl Gate {
    /// Sets (or clears) the hash of the configured password file.
    pub fn set_file_hash(&self, phc: Option<String>) {
        self.hashes.write().expect("lock").file = phc;
    }

    /// Sets (or clears) the admin-set hash.
    pub fn set_admin_hash(&self, phc: Option<String>) {
        self.hashes.write().expect("lock").admin = phc;
    }

    /// Which password is in force.
    pub fn source(&self) -> Source {
        let h = self.hashes.read().expect("lock");
        match (&h.admin, &h.file) {
            (Some(_), _) => Source::Admin,
            (None, Some(_)) => Source::File,
            (None, None) => Source::None,
        }
    }

    fn current(&self) -> Option<String> {
        let h = self.hashes.read().expect("lock");
        h.admin.clone().or_else(|| h.file.clone())
    }

    /// Whether `password` matches the configured password file's hash
    /// (used on reload to tell whether the file changed).
    pub async fn verify_file(&self, password: String) -> bool {
        let Some(phc) = self.hashes.read().expect("lock").file.clone() else {
            return false;
        };
        Self::verify_against(phc, password).await
    }

    async fn verify_against(phc: String, password: String) -> bool {
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|parsed| {
                    hasher()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
    }

    /// Whether `password` may join. Runs argon2 on the blocking pool, at
    /// most a few at once.
    pub async fn verify(&self, password: String) -> bool {
        let Some(phc) = self.current() else {
            return true;
        };
        if password.len() > chat_protocol::limits::MAX_PASSWORD {
            return false;
        }
        let Ok(_permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        Self::verify_against(phc, password).await
    }
}

/// Reads a password file: the whole file, one trailing newline stripped.
pub fn read_password_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read password file {}: {e}", path.display());
    let mut bytes = Vec::new();
    // Never more than a password and its line ending: a wrong path to a big
    // file costs nothing, and the length check below names the problem.
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(chat_protocol::limits::MAX_PASSWORD as u64 + 3)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > chat_protocol::limits::MAX_PASSWORD + 2 {
        return Err(format!(
            "password file {}: the password is over {} bytes, the limit",
            path.display(),
            chat_protocol::limits::MAX_PASSWORD
        ));
    }
    let mut text = String::from_utf8(bytes)
        .map_err(|_| format!("password file {} is not UTF-8 text", path.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    check_length(&text).map_err(|e| format!("password file {}: {e}", path.display()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_and_prefers_admin_hash() {
        let gate = Gate::default();
        assert!(gate.verify("anything".into()).await);
        assert_eq!(gate.source(), Source::None);
        gate.set_file_hash(Some(hash("from-file").unwrap()));
        assert!(gate.verify("from-file".into()).await);
        assert!(!gate.verify("wrong".into()).await);
        gate.set_admin_hash(Some(hash("from-admin").unwrap()));
        assert_eq!(gate.source(), Source::Admin);
        assert!(!gate.verify("from-file".into()).await);
        assert!(gate.verify("from-admin".into()).await);
        gate.set_admin_hash(None);
        assert!(gate.verify("from-file".into()).await);
    }

    #[test]
    fn stored_hash_bounds() {
        let good = hash("pw").unwrap();
        assert!(
            good.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{good}"
        );
        check_stored_hash(&good).unwrap();
        let huge = good.replace("m=19456", "m=4000000");
        assert!(check_stored_hash(&huge).is_err());
        let cheap = good.replace("t=2", "t=0");
        assert!(check_stored_hash(&cheap).is_err());
        assert!(check_stored_hash("plaintext").is_err());
    }

    #[test]
    fn password_file_strips_one_newline() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("pw");
        std::fs::write(&p, "secret\n\n").unwrap();
        assert_eq!(read_password_file(&p).unwrap(), "secret\n");
        std::fs::write(&p, "").unwrap();
        assert!(read_password_file(&p).unwrap_err().contains("empty"));
        let max = "é".repeat(512);
        std::fs::write(&p, format!("{max}\r\n")).unwrap();
        assert_eq!(read_password_file(&p).unwrap(), max);
        std::fs::write(&p, "é".repeat(10_000)).unwrap();
        assert!(
            read_password_file(&p)
                .unwrap_err()
                .contains("over 1024 bytes"),
            "a big file is too long, not broken UTF-8"
        );
    }
}
