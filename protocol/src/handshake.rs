//! The version-1 handshake, as two state machines over byte slices.
//!
//! ```text
//! C→S Hello      "CHAT" 1 ver key_id(8) e_c(32) r_c(32)               78 bytes
//! S→C Challenge  "CHAT" 2 ver e_s(32) r_s(32) ‖ seal_s2c#0("")       86 bytes
//! ee = X25519(e_c, e_s)   es = X25519(e_c, S_pub) = X25519(S_priv, e_c)
//! th = SHA-256("chat v1 handshake" ‖ Hello ‖ Challenge body)
//! prk = HKDF-Extract(salt = K, ikm = ee ‖ es)
//! k_c2s = HKDF-Expand(prk, "chat v1 c2s" ‖ th, 32)
//! k_s2c = HKDF-Expand(prk, "chat v1 s2c" ‖ th, 32)
//! ```
//!
//! The client knows `S_pub` from the token, so only the holder of `S_priv`
//! can produce the Challenge tag: the client checks it before it sends
//! anything secret. The first sealed messages are then `Auth` (c2s #0) and
//! `Welcome`/`Reject` (s2c #1).

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize as _, Zeroizing};

use crate::seal::{Opener, Sealer};
use crate::token::{JoinKey, KeyId, ServerIdentity, Token};

/// Magic bytes at the start of both handshake messages.
pub const MAGIC: &[u8; 4] = b"CHAT";
/// Message type of `Hello`.
pub const TYPE_HELLO: u8 = 1;
/// Message type of `Challenge`.
pub const TYPE_CHALLENGE: u8 = 2;
/// Length of `Hello`.
pub const HELLO_LEN: usize = 78;
/// Length of the `Challenge` body (without its tag).
pub const CHALLENGE_BODY_LEN: usize = 70;
/// Length of `Challenge` as sent.
pub const CHALLENGE_LEN: usize = CHALLENGE_BODY_LEN + crate::sizes::TAG_LEN;

/// Why a handshake failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeError {
    /// Wrong length, magic, type or version (close 1002).
    #[error("malformed handshake: {0}")]
    Malformed(&'static str),
    /// The Hello names a key the server does not accept (close 4001).
    #[error("unknown key id {0}")]
    UnknownKey(KeyId),
    /// A Diffie-Hellman result was all zero (close 1002).
    #[error("invalid key share")]
    InvalidKeyShare,
    /// The Challenge tag did not verify: the peer does not hold `S_priv`.
    #[error(
        "the server failed its identity check (its Challenge is not sealed with the key's server identity)"
    )]
    Impostor,
}

/// What both sides derive from a handshake. The keys are wiped when it is
/// dropped.
#[derive(PartialEq, Eq)]
pub struct SessionKeys {
    /// The transcript hash `th`.
    pub th: [u8; 32],
    /// Key of client-to-server messages.
    pub c2s: [u8; 32],
    /// Key of server-to-client messages.
    pub s2c: [u8; 32],
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.c2s.zeroize();
        self.s2c.zeroize();
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

/// An established session: one sealer and one opener with the right counters.
pub struct Session {
    /// Seals what this side sends.
    pub sealer: Sealer,
    /// Opens what this side receives.
    pub opener: Opener,
}

fn derive(
    join_key: &JoinKey,
    ee: &[u8; 32],
    es: &[u8; 32],
    hello: &[u8],
    challenge_body: &[u8],
) -> SessionKeys {
    let th: [u8; 32] = Sha256::new()
        .chain_update(b"chat v1 handshake")
        .chain_update(hello)
        .chain_update(challenge_body)
        .finalize()
        .into();
    // The HKDF input and the HMAC states inside `Hkdf` (hmac's `zeroize`
    // feature) are wiped when dropped.
    let mut ikm = Zeroizing::new([0u8; 64]);
    ikm[..32].copy_from_slice(ee);
    ikm[32..].copy_from_slice(es);
    let hk = Hkdf::<Sha256>::new(Some(&join_key.0), ikm.as_slice());
    let mut keys = SessionKeys {
        th,
        c2s: [0; 32],
        s2c: [0; 32],
    };
    hk.expand_multi_info(&[b"chat v1 c2s", &th], &mut keys.c2s)
        .expect("32 bytes is a valid length");
    hk.expand_multi_info(&[b"chat v1 s2c", &th], &mut keys.s2c)
        .expect("32 bytes is a valid length");
    keys
}

fn dh(secret: &StaticSecret, public: [u8; 32]) -> Result<Zeroizing<[u8; 32]>, HandshakeError> {
    // `SharedSecret` wipes itself when dropped; the copy is wiped too.
    let shared = secret.diffie_hellman(&PublicKey::from(public));
    if !shared.was_contributory() {
        return Err(HandshakeError::InvalidKeyShare);
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

fn random32() -> Zeroizing<[u8; 32]> {
    let mut b = Zeroizing::new([0u8; 32]);
    getrandom::fill(b.as_mut_slice()).expect("the OS random generator failed");
    b
}

fn check_header(msg: &[u8], kind: u8) -> Result<(), HandshakeError> {
    if &msg[..4] != MAGIC {
        return Err(HandshakeError::Malformed("bad magic"));
    }
    if msg[4] != kind {
        return Err(HandshakeError::Malformed("unexpected message type"));
    }
    if msg[5] != crate::VERSION {
        return Err(HandshakeError::Malformed("unsupported version"));
    }
    Ok(())
}

/// The client's side: made with the token, sends `Hello`, checks `Challenge`.
pub struct ClientHandshake {
    token: Token,
    e_c: StaticSecret,
    hello: [u8; HELLO_LEN],
}

impl ClientHandshake {
    /// Starts a handshake with fresh ephemeral secrets.
    pub fn new(token: &Token) -> Self {
        Self::with_secrets(token, *random32(), *random32())
    }

    /// Starts a handshake with the given ephemeral private key and random
    /// (known-answer tests only; real clients use [`ClientHandshake::new`]).
    pub fn with_secrets(token: &Token, mut e_c: [u8; 32], r_c: [u8; 32]) -> Self {
        let secret = StaticSecret::from(e_c);
        e_c.zeroize();
        let e_c = secret;
        let mut hello = [0u8; HELLO_LEN];
        hello[..4].copy_from_slice(MAGIC);
        hello[4] = TYPE_HELLO;
        hello[5] = crate::VERSION;
        hello[6..14].copy_from_slice(&token.key_id().0);
        hello[14..46].copy_from_slice(PublicKey::from(&e_c).as_bytes());
        hello[46..78].copy_from_slice(&r_c);
        Self {
            token: token.clone(),
            e_c,
            hello,
        }
    }

    /// The `Hello` message to send.
    pub fn hello(&self) -> &[u8] {
        &self.hello
    }

    /// Checks the server's `Challenge` and derives the session. Nothing secret
    /// has been sent before this returns `Ok`.
    pub fn on_challenge(self, challenge: &[u8]) -> Result<(Session, SessionKeys), HandshakeError> {
        if challenge.len() != CHALLENGE_LEN {
            return Err(HandshakeError::Malformed("challenge has the wrong length"));
        }
        check_header(challenge, TYPE_CHALLENGE)?;
        let (body, tag) = challenge.split_at(CHALLENGE_BODY_LEN);
        let e_s: [u8; 32] = body[6..38].try_into().expect("32 bytes");
        let ee = dh(&self.e_c, e_s)?;
        let es = dh(&self.e_c, self.token.server_public)?;
        let keys = derive(&self.token.join_key, &ee, &es, &self.hello, body);
        let mut opener = Opener::new(&keys.s2c, 0);
        match opener.open(tag, crate::sizes::TAG_LEN) {
            Ok(empty) if empty.is_empty() => {}
            _ => return Err(HandshakeError::Impostor),
        }
        let session = Session {
            sealer: Sealer::new(&keys.c2s, 0),
            opener,
        };
        Ok((session, keys))
    }
}

/// What the server answers to a valid `Hello`.
pub struct ServerHello {
    /// The 86-byte `Challenge` to send.
    pub challenge: Vec<u8>,
    /// The key the client used.
    pub key_id: KeyId,
    /// The session, with the Challenge tag already counted (s2c next is #1).
    pub session: Session,
    /// The derived keys (known-answer tests).
    pub keys: SessionKeys,
}

/// The server's side of the handshake.
pub struct ServerHandshake<'a> {
    identity: &'a ServerIdentity,
}

impl<'a> ServerHandshake<'a> {
    /// A responder for the server with this identity.
    pub fn new(identity: &'a ServerIdentity) -> Self {
        Self { identity }
    }

    /// Answers a `Hello` with fresh ephemeral secrets. `lookup` maps a key id
    /// to the join key, for the keys the server accepts now.
    pub fn respond(
        &self,
        hello: &[u8],
        lookup: impl Fn(&KeyId) -> Option<JoinKey>,
    ) -> Result<ServerHello, HandshakeError> {
        // One call to the OS for both.
        let mut secrets = Zeroizing::new([0u8; 64]);
        getrandom::fill(secrets.as_mut_slice()).expect("the OS random generator failed");
        let (e_s, r_s) = secrets.split_at(32);
        self.respond_with(
            hello,
            lookup,
            e_s.try_into().expect("32 bytes"),
            r_s.try_into().expect("32 bytes"),
        )
    }

    /// [`ServerHandshake::respond`] with given ephemeral secrets (tests).
    pub fn respond_with(
        &self,
        hello: &[u8],
        lookup: impl Fn(&KeyId) -> Option<JoinKey>,
        e_s: [u8; 32],
        r_s: [u8; 32],
    ) -> Result<ServerHello, HandshakeError> {
        // Everything cheap is checked before any X25519 work.
        if hello.len() != HELLO_LEN {
            return Err(HandshakeError::Malformed("hello has the wrong length"));
        }
        check_header(hello, TYPE_HELLO)?;
        let key_id = KeyId(hello[6..14].try_into().expect("8 bytes"));
        let join_key = lookup(&key_id).ok_or(HandshakeError::UnknownKey(key_id))?;
        let e_c: [u8; 32] = hello[14..46].try_into().expect("32 bytes");

        let mut e_s_bytes = e_s;
        let e_s = StaticSecret::from(e_s_bytes);
        e_s_bytes.zeroize();
        let ee = dh(&e_s, e_c)?;
        let es = dh(self.identity.secret(), e_c)?;
        let mut challenge = Vec::with_capacity(CHALLENGE_LEN);
        challenge.extend_from_slice(MAGIC);
        challenge.push(TYPE_CHALLENGE);
        challenge.push(crate::VERSION);
        challenge.extend_from_slice(PublicKey::from(&e_s).as_bytes());
        challenge.extend_from_slice(&r_s);
        let keys = derive(&join_key, &ee, &es, hello, &challenge);
        let mut sealer = Sealer::new(&keys.s2c, 0);
        let tag = sealer.seal_in_place(&mut []).expect("counter 0 is fresh");
        challenge.extend_from_slice(&tag);
        let session = Session {
            sealer,
            opener: Opener::new(&keys.c2s, 0),
        };
        Ok(ServerHello {
            challenge,
            key_id,
            session,
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_session_keys_leave_zeros() {
        let mut keys = std::mem::ManuallyDrop::new(SessionKeys {
            th: [1; 32],
            c2s: [2; 32],
            s2c: [3; 32],
        });
        // SAFETY: dropped once, in place; plain bytes stay readable.
        unsafe { std::ptr::drop_in_place(&mut *keys) };
        assert_eq!((keys.c2s, keys.s2c), ([0; 32], [0; 32]));
    }

    fn setup() -> (ServerIdentity, Token) {
        let identity = ServerIdentity::from_secret_bytes(&[0x20; 32]);
        let token = Token {
            join_key: JoinKey([1; 32]),
            server_public: identity.public(),
        };
        (identity, token)
    }

    fn lookup_for(token: &Token) -> impl Fn(&KeyId) -> Option<JoinKey> + '_ {
        move |id| (*id == token.key_id()).then(|| token.join_key.clone())
    }

    #[test]
    fn both_sides_agree_and_talk() {
        let (identity, token) = setup();
        let client = ClientHandshake::new(&token);
        let server = ServerHandshake::new(&identity)
            .respond(client.hello(), lookup_for(&token))
            .unwrap();
        assert_eq!(server.challenge.len(), CHALLENGE_LEN);
        let (mut c, ckeys) = client.on_challenge(&server.challenge).unwrap();
        assert_eq!(ckeys, server.keys);
        let mut s = server.session;
        let auth = c.sealer.seal(b"auth").unwrap();
        assert_eq!(s.opener.open(&auth, 2048).unwrap(), b"auth");
        let welcome = s.sealer.seal(b"welcome").unwrap();
        assert_eq!(c.opener.open(&welcome, 2048).unwrap(), b"welcome");
    }

    #[test]
    fn malformed_hello_is_refused() {
        let (identity, token) = setup();
        let hs = ServerHandshake::new(&identity);
        let hello = ClientHandshake::new(&token).hello().to_vec();
        let err = |m: &[u8]| hs.respond(m, lookup_for(&token)).err().unwrap();
        assert!(matches!(err(&hello[..77]), HandshakeError::Malformed(_)));
        let mut bad = hello.clone();
        bad[0] = b'X';
        assert!(matches!(err(&bad), HandshakeError::Malformed(_)));
        let mut bad = hello.clone();
        bad[4] = 2;
        assert!(matches!(err(&bad), HandshakeError::Malformed(_)));
        let mut bad = hello.clone();
        bad[5] = 9;
        assert!(matches!(err(&bad), HandshakeError::Malformed(_)));
    }

    #[test]
    fn unknown_key_is_named() {
        let (identity, token) = setup();
        let other = Token {
            join_key: JoinKey([2; 32]),
            server_public: identity.public(),
        };
        let hello = ClientHandshake::new(&other).hello().to_vec();
        let err = ServerHandshake::new(&identity)
            .respond(&hello, lookup_for(&token))
            .err();
        assert_eq!(err, Some(HandshakeError::UnknownKey(other.key_id())));
    }

    #[test]
    fn all_zero_key_share_is_refused() {
        let (identity, token) = setup();
        // The identity point (all zeros) and the small-order point 1 both give an all-zero DH.
        for point in [[0u8; 32], {
            let mut p = [0u8; 32];
            p[0] = 1;
            p
        }] {
            let mut hello = ClientHandshake::new(&token).hello().to_vec();
            hello[14..46].copy_from_slice(&point);
            let err = ServerHandshake::new(&identity)
                .respond(&hello, lookup_for(&token))
                .err();
            assert_eq!(err, Some(HandshakeError::InvalidKeyShare));

            let client = ClientHandshake::new(&token);
            let server = ServerHandshake::new(&identity)
                .respond(client.hello(), lookup_for(&token))
                .unwrap();
            let mut challenge = server.challenge.clone();
            challenge[6..38].copy_from_slice(&point);
            assert_eq!(
                client.on_challenge(&challenge).err(),
                Some(HandshakeError::InvalidKeyShare)
            );
        }
    }

    #[test]
    fn impostor_without_server_secret_is_detected() {
        let (_, token) = setup();
        // A token holder who does not hold S_priv runs its own "server".
        let impostor = ServerIdentity::from_secret_bytes(&[0x99; 32]);
        let client = ClientHandshake::new(&token);
        let forged = ServerHandshake::new(&impostor)
            .respond(client.hello(), lookup_for(&token))
            .unwrap();
        assert_eq!(
            client.on_challenge(&forged.challenge).err(),
            Some(HandshakeError::Impostor)
        );
    }

    #[test]
    fn tampered_challenge_is_detected() {
        let (identity, token) = setup();
        let client = ClientHandshake::new(&token);
        let server = ServerHandshake::new(&identity)
            .respond(client.hello(), lookup_for(&token))
            .unwrap();
        let mut challenge = server.challenge.clone();
        challenge[60] ^= 1; // inside r_s: changes th
        assert_eq!(
            client.on_challenge(&challenge).err(),
            Some(HandshakeError::Impostor)
        );
    }
}
