//! The key token people are given, and its fingerprint.
//!
//! `chat1_` + base64url (no padding) of `K ‖ S_pub`: the 32-byte join key
//! and the server's static X25519 public key. The key id,
//! `SHA-256("chat v1 key id" ‖ K ‖ S_pub)[0..8]`, is safe to print and log.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize as _, Zeroizing};

/// Prefix of every version-1 token.
pub const TOKEN_PREFIX: &str = "chat1_";

/// Why a token could not be parsed. Messages never echo the token itself.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The text does not start with `chat1_`.
    #[error("a key starts with \"chat1_\"; ask the server admin for the key (`chatctl key`)")]
    Prefix,
    /// The part after the prefix is not unpadded base64url.
    #[error("the key is damaged (not base64url); copy it again from `chatctl key`")]
    Encoding,
    /// The decoded key is not 64 bytes.
    #[error("the key has the wrong length ({0} bytes, expected 64); copy it again whole")]
    Length(usize),
}

/// The 32-byte symmetric join key `K`. Never printed: `Debug` hides it;
/// wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinKey(pub [u8; 32]);

impl Drop for JoinKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl JoinKey {
    /// A fresh random key from the OS generator.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).expect("the OS random generator failed");
        Self(k)
    }
}

impl fmt::Debug for JoinKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinKey(..)")
    }
}

/// A key token: what a client needs to find and authenticate the server.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Token {
    /// The join key `K`.
    pub join_key: JoinKey,
    /// The server's static public key `S_pub`.
    pub server_public: [u8; 32],
}

impl Token {
    /// Parses a token strictly: surrounding whitespace is trimmed, nothing
    /// else is forgiven (no padding, no standard-alphabet characters).
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let body = text
            .trim()
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(TokenError::Prefix)?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| TokenError::Encoding)?,
        );
        if bytes.len() != 64 {
            return Err(TokenError::Length(bytes.len()));
        }
        let mut token = Self {
            join_key: JoinKey([0; 32]),
            server_public: [0; 32],
        };
        token.join_key.0.copy_from_slice(&bytes[..32]);
        token.server_public.copy_from_slice(&bytes[32..]);
        Ok(token)
    }

    /// The token text. It is a secret: never log it.
    pub fn encode(&self) -> String {
        let mut bytes = Zeroizing::new([0u8; 64]);
        bytes[..32].copy_from_slice(&self.join_key.0);
        bytes[32..].copy_from_slice(&self.server_public);
        let mut text = String::with_capacity(TOKEN_PREFIX.len() + 86);
        text.push_str(TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut text);
        text
    }

    /// The key id (fingerprint) of this token.
    pub fn key_id(&self) -> KeyId {
        KeyId::derive(&self.join_key, &self.server_public)
    }
}

/// The 8-byte fingerprint of a token, shown as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    /// `SHA-256("chat v1 key id" ‖ K ‖ S_pub)[0..8]`.
    pub fn derive(join_key: &JoinKey, server_public: &[u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"chat v1 key id")
            .chain_update(join_key.0)
            .chain_update(server_public)
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The server's static X25519 key pair `S`: its identity, kept across key
/// rotations like an SSH host key. The private half is wiped when dropped
/// (x25519-dalek's `zeroize`), and there is one copy: it is not `Clone`.
pub struct ServerIdentity {
    secret: StaticSecret,
    public: [u8; 32],
}

impl ServerIdentity {
    /// A fresh identity from the OS generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut_slice()).expect("the OS random generator failed");
        Self::from_secret_bytes(&bytes)
    }

    /// The identity with this private key (as stored in `STATE_DIR/identity`).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Self {
        let secret = StaticSecret::from(*bytes);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The private half, for storing. It is a secret: never log it.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public half `S_pub`.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ServerIdentity(public: {})",
            crate::hex::encode(&self.public)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_join_key_leaves_zeros() {
        let mut key = std::mem::ManuallyDrop::new(JoinKey([0xa5; 32]));
        // SAFETY: dropped once, in place; the bytes stay readable (u8 has
        // no invalid values) and nothing uses the key afterwards.
        unsafe { std::ptr::drop_in_place(&mut *key) };
        assert_eq!(key.0, [0; 32]);
    }

    fn sample() -> Token {
        Token {
            join_key: JoinKey([7; 32]),
            server_public: [9; 32],
        }
    }

    #[test]
    fn encode_parse_round_trip() {
        let token = sample();
        let text = token.encode();
        assert!(text.starts_with("chat1_"));
        assert_eq!(text.len(), 6 + 86);
        assert_eq!(Token::parse(&text).unwrap(), token);
        assert_eq!(Token::parse(&format!("  {text}\n")).unwrap(), token);
    }

    #[test]
    fn parse_is_strict() {
        let text = sample().encode();
        assert_eq!(Token::parse(&text[1..]), Err(TokenError::Prefix));
        assert_eq!(Token::parse(&format!("{text}=")), Err(TokenError::Encoding));
        assert_eq!(
            Token::parse(&text.replace('_', "/")),
            Err(TokenError::Prefix)
        );
        let short = &text[..text.len() - 4];
        assert_eq!(Token::parse(short), Err(TokenError::Length(61)));
        let body = format!("chat1_{}+", &text[6..text.len() - 1]);
        assert_eq!(Token::parse(&body), Err(TokenError::Encoding));
    }

    #[test]
    fn key_id_depends_on_both_halves() {
        let a = sample();
        let mut b = sample();
        b.server_public[0] ^= 1;
        assert_ne!(a.key_id(), b.key_id());
        assert_eq!(a.key_id().to_string().len(), 16);
    }

    #[test]
    fn debug_hides_secrets() {
        let id = ServerIdentity::from_secret_bytes(&[0x42; 32]);
        assert!(!format!("{:?}", sample()).contains("7, 7"));
        assert!(!format!("{id:?}").contains("4242"));
    }
}
