//! A person's identity: a long-term Ed25519 key pair, and the proof of it
//! that a client gives in its `Auth`.
//!
//! The client keeps the private half ([`Identity`], which wipes itself when
//! dropped); everyone else sees the public half ([`IdentityKey`]) and its
//! short [`Fingerprint`]. In the `Auth` the client sends the public key and
//! a signature of `"chat v1 identity proof" ‖ th`, where `th` is the
//! handshake's transcript hash (docs/protocol.md §5, §10.7): `th` is fresh
//! for every session and covers both sides' ephemeral keys and randoms, so
//! a proof is good for that one session only. It can be neither replayed
//! later nor relayed by a server to another server (whose session with the
//! relaying server has another `th`).
//!
//! Text forms, each parsed strictly (surrounding whitespace trimmed, nothing
//! else forgiven):
//!
//! - public key, as people and events show it: `chat-id1_` + unpadded
//!   base64url of the 32 bytes ([`IdentityKey`]'s `Display` and
//!   [`IdentityKey::parse`]); in the `Auth`, the bare unpadded base64url
//!   ([`IdentityKey::to_base64`]);
//! - fingerprint: `SHA-256("chat v1 identity fingerprint" ‖ key)[0..8]` as
//!   16 lowercase hex digits;
//! - private key (the client's identity file): `chat-idsecret1_` + unpadded
//!   base64url of the 32-byte Ed25519 seed (RFC 8032's private key).
//!
//! A public key is accepted only if it is a canonical encoding of a point
//! of the curve that is not of small order, and proofs are checked with
//! ed25519-dalek's `verify_strict`: a weak key cannot make a signature that
//! verifies for every message, and one key has one text form.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Prefix of an identity's public key in its text form.
pub const IDENTITY_PREFIX: &str = "chat-id1_";

/// Prefix of an identity's private key (seed) in its text form.
pub const SECRET_PREFIX: &str = "chat-idsecret1_";

/// What a proof signs, followed by the 32 bytes of `th`.
pub const PROOF_LABEL: &[u8] = b"chat v1 identity proof";

/// What the fingerprint hashes, followed by the 32-byte public key.
pub const FINGERPRINT_LABEL: &[u8] = b"chat v1 identity fingerprint";

/// Length of a proof (an Ed25519 signature), in bytes.
pub const PROOF_LEN: usize = 64;

/// Why an identity, or an `Auth`'s identity and proof, were not accepted.
/// Messages never echo the text they were given (a pasted secret stays out
/// of logs).
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// The text does not start with `chat-id1_`.
    #[error(
        "an identity starts with \"chat-id1_\", as the first line of `chat --show-identity` shows it"
    )]
    Prefix,
    /// A room's key token where a public key was expected.
    #[error(
        "this is a room's key token (chat1_…), not an identity: it is a secret, do not pass it around; an identity starts with \"chat-id1_\" (`chat --show-identity`)"
    )]
    Token,
    /// A private key where a public key was expected.
    #[error(
        "this is an identity's private key (chat-idsecret1_…): it is a secret, never give it away; the public key is the first line of `chat --show-identity`"
    )]
    Secret,
    /// Not unpadded base64url.
    #[error("the identity is damaged (not unpadded base64url); copy it again whole")]
    Encoding,
    /// Not 32 bytes.
    #[error("the identity has the wrong length ({0} bytes, expected 32); copy it again whole")]
    Length(usize),
    /// Not the canonical encoding of a point of the curve, or of small
    /// order.
    #[error("the identity is not a valid Ed25519 public key")]
    NotAKey,
    /// An `Auth` gave `identity` without `proof`, or `proof` without
    /// `identity`.
    #[error("identity and proof come together: one was given without the other")]
    Unpaired,
    /// The proof is not 64 bytes of unpadded base64url.
    #[error("the proof is malformed (not 64 bytes of unpadded base64url)")]
    ProofEncoding,
    /// The proof does not verify for this key and this session.
    #[error("the proof does not verify: not signed by this identity's key over this session")]
    BadProof,
}

/// The public half of an identity: what identifies a person to others.
/// Always a valid key (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey([u8; 32]);

impl IdentityKey {
    /// The key with these bytes, if they are a canonical encoding of a
    /// point of the curve that is not of small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, IdentityError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| IdentityError::NotAKey)?;
        // ed25519-dalek decodes by ZIP-215, which also takes non-canonical
        // encodings (y ≥ p, or x = 0 with the sign bit set): one key, one
        // form, so a key is refused unless it encodes back to itself.
        if key.is_weak() || key.to_edwards().compress().to_bytes() != *bytes {
            return Err(IdentityError::NotAKey);
        }
        Ok(Self(*bytes))
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Parses the text form `chat-id1_…` strictly: surrounding whitespace
    /// is trimmed, nothing else is forgiven.
    pub fn parse(text: &str) -> Result<Self, IdentityError> {
        let text = text.trim();
        let Some(body) = text.strip_prefix(IDENTITY_PREFIX) else {
            return Err(if text.starts_with(crate::token::TOKEN_PREFIX) {
                IdentityError::Token
            } else if text.starts_with(SECRET_PREFIX) {
                IdentityError::Secret
            } else {
                IdentityError::Prefix
            });
        };
        Self::from_base64(body)
    }

    /// Parses the bare unpadded base64url of the 32 bytes, as the `Auth`
    /// carries it (no whitespace, no prefix).
    pub fn from_base64(text: &str) -> Result<Self, IdentityError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| IdentityError::Encoding)?;
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| IdentityError::Length(bytes.len()))?;
        Self::from_bytes(&bytes)
    }

    /// The bare unpadded base64url of the 32 bytes (43 characters), as the
    /// `Auth` carries it.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The fingerprint, safe and short to show.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = Sha256::new()
            .chain_update(FINGERPRINT_LABEL)
            .chain_update(self.0)
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Fingerprint(id)
    }

    /// Checks `proof` (the 64 bytes of a signature) against this key and the
    /// session's transcript hash `th`, with `verify_strict`.
    pub fn verify(&self, th: &[u8; 32], proof: &[u8; PROOF_LEN]) -> Result<(), IdentityError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| IdentityError::NotAKey)?;
        key.verify_strict(&proof_message(th), &Signature::from_bytes(proof))
            .map_err(|_| IdentityError::BadProof)
    }
}

impl fmt::Display for IdentityKey {
    /// The text form, `chat-id1_` + unpadded base64url.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{IDENTITY_PREFIX}{}", self.to_base64())
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({self})")
    }
}

impl std::str::FromStr for IdentityKey {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Self, IdentityError> {
        Self::parse(text)
    }
}

impl serde::Serialize for IdentityKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for IdentityKey {
    /// The text form, parsed strictly, without even surrounding whitespace.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text.trim() != text {
            return Err(serde::de::Error::custom("an identity with white space"));
        }
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The 8-byte fingerprint of an identity, shown as 16 lowercase hex digits.
/// Not the key id of a room's token ([`crate::KeyId`]): another label,
/// another thing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 8]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// What a proof signs: the label, then `th`.
fn proof_message(th: &[u8; 32]) -> [u8; PROOF_LABEL.len() + 32] {
    let mut message = [0u8; PROOF_LABEL.len() + 32];
    message[..PROOF_LABEL.len()].copy_from_slice(PROOF_LABEL);
    message[PROOF_LABEL.len()..].copy_from_slice(th);
    message
}

/// An identity's key pair. The private half is wiped when dropped
/// (ed25519-dalek's `zeroize`), and there is one copy: it is not `Clone`
/// (share it behind an `Arc`). `Debug` shows the public key only.
pub struct Identity {
    signing: SigningKey,
    public: IdentityKey,
}

impl Identity {
    /// A fresh identity from the OS generator.
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).expect("the OS random generator failed");
        Self::from_seed(&seed)
    }

    /// The identity with this 32-byte Ed25519 seed (RFC 8032's private
    /// key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        // A key made from a seed is a multiple of the base point by a
        // clamped scalar: never of small order, always canonical.
        let public = IdentityKey::from_bytes(&signing.verifying_key().to_bytes())
            .expect("a key made from a seed is valid");
        Self { signing, public }
    }

    /// The seed. It is a secret: never log it.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> IdentityKey {
        self.public
    }

    /// The proof for the session with transcript hash `th`: the signature
    /// of `"chat v1 identity proof" ‖ th`.
    pub fn prove(&self, th: &[u8; 32]) -> [u8; PROOF_LEN] {
        self.signing.sign(&proof_message(th)).to_bytes()
    }

    /// The private key's text form, `chat-idsecret1_` + unpadded base64url
    /// of the seed. It is a secret: never log it.
    pub fn secret_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(SECRET_PREFIX.len() + 43));
        text.push_str(SECRET_PREFIX);
        URL_SAFE_NO_PAD.encode_string(self.seed().as_slice(), &mut text);
        text
    }

    /// Parses a private key's text form strictly (surrounding whitespace
    /// trimmed). Errors never hold the text.
    pub fn parse_secret(text: &str) -> Result<Self, IdentityError> {
        let text = text.trim();
        let Some(body) = text.strip_prefix(SECRET_PREFIX) else {
            return Err(IdentityError::Prefix);
        };
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| IdentityError::Encoding)?,
        );
        let seed: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| IdentityError::Length(bytes.len()))?;
        Ok(Self::from_seed(seed))
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity(public: {})", self.public)
    }
}

/// Reads a proof's bare unpadded base64url (86 characters) into its 64
/// bytes.
pub fn proof_from_base64(text: &str) -> Result<[u8; PROOF_LEN], IdentityError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| IdentityError::ProofEncoding)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| IdentityError::ProofEncoding)
}

/// A proof's bare unpadded base64url (86 characters), as the `Auth`
/// carries it.
pub fn proof_to_base64(proof: &[u8; PROOF_LEN]) -> String {
    URL_SAFE_NO_PAD.encode(proof)
}

#[cfg(test)]
mod tests;
