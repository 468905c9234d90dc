//! A user and password (or a token) written into the NATS URLs
//! (`nats://user:password@host:4222`, `nats://token@host:4222`), which the
//! NATS client leaves unused unless it is told: NATS's own tools accept
//! them there, so chatd does too.

use async_nats::{ConnectOptions, ServerAddr};

/// What the URLs say to log in with.
#[derive(Debug, PartialEq, Eq)]
pub enum Login {
    /// `user:password@`.
    UserPassword(String, String),
    /// `token@`.
    Token(String),
}

impl Login {
    /// `options` logging in this way.
    pub fn apply(self, options: ConnectOptions) -> ConnectOptions {
        match self {
            Login::UserPassword(user, password) => options.user_and_password(user, password),
            Login::Token(token) => options.token(token),
        }
    }
}

/// The login the URLs carry, if any: every URL that carries one must carry
/// the same (a node logs in once, whichever server it reaches).
pub fn from_urls(addrs: &[ServerAddr]) -> Result<Option<Login>, String> {
    let mut found: Option<Login> = None;
    for addr in addrs {
        let Some(user) = addr.username() else {
            continue;
        };
        let user = decode(user)?;
        let login = match addr.password() {
            Some(password) => Login::UserPassword(user, decode(password)?),
            None => Login::Token(user),
        };
        match &found {
            Some(seen) if *seen != login => {
                return Err("the URLs carry different users or passwords; give one login for all (or use cluster_credentials)".into());
            }
            _ => found = Some(login),
        }
    }
    Ok(found)
}

/// Undoes the URL's percent-encoding (`%40` for `@`, say).
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a URL's user or password has a % not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a URL's user or password is not UTF-8 once decoded".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(urls: &[&str]) -> Vec<ServerAddr> {
        urls.iter().map(|u| u.parse().unwrap()).collect()
    }

    #[test]
    fn urls_without_a_login_give_none() {
        assert_eq!(from_urls(&addrs(&["nats://127.0.0.1:4222"])), Ok(None));
    }

    #[test]
    fn a_user_and_password_are_read_and_decoded() {
        let got = from_urls(&addrs(&[
            "nats://127.0.0.1:1",
            "nats://chat:p%40ss@127.0.0.1:4222",
        ]));
        assert_eq!(
            got,
            Ok(Some(Login::UserPassword("chat".into(), "p@ss".into())))
        );
    }

    #[test]
    fn a_user_alone_is_a_token() {
        let got = from_urls(&addrs(&["nats://s3cr3t@127.0.0.1:4222"]));
        assert_eq!(got, Ok(Some(Login::Token("s3cr3t".into()))));
    }

    #[test]
    fn two_logins_are_refused_without_showing_either() {
        let err =
            from_urls(&addrs(&["nats://a:pw-alpha@h:1", "nats://a:pw-beta@h:2"])).unwrap_err();
        assert!(err.contains("different"), "{err}");
        assert!(!err.contains("alpha") && !err.contains("beta"), "{err}");
    }

    #[test]
    fn a_broken_escape_is_refused() {
        assert!(from_urls(&addrs(&["nats://a:b%4@h:1"])).is_err());
    }
}
