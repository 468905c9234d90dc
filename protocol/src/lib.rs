//! The wire protocol of chat, version 1, without any I/O.
//!
//! Both ends depend on this crate and only move bytes: the daemon and the
//! client feed received WebSocket messages into the state machines here and
//! send what they return. Everything that must agree byte for byte lives in
//! one place, so it can be unit-tested and checked against the known-answer
//! vectors of `docs/protocol.md`.
//!
//! Data flow of one connection:
//!
//! 1. [`token`]: the text token `chat1_…` carries the join key `K` and the
//!    server's static public key `S_pub`; [`token::KeyId`] is its printable
//!    fingerprint.
//! 2. [`handshake`]: `Hello` → `Challenge` → both sides derive one key per
//!    direction ([`handshake::SessionKeys`]).
//! 3. [`seal`]: every later message is one AES-256-GCM-SIV ciphertext under a
//!    per-direction counter nonce ([`seal::Sealer`], [`seal::Opener`]).
//! 4. [`event`]: what the sealed messages carry, as tagged JSON.
//!
//! A client may prove a long-term [`identity`] in its `Auth`: an Ed25519
//! signature over the session's transcript hash.
//!
//! Beside the wire format, [`escape`] is the one escaper that both binaries
//! use to print what peers and the daemon sent, so a hostile peer can never
//! drive a terminal; [`password`] is the one rule that turns bytes read
//! from a file, a pipe or a terminal into a join password ([`sizes`] bounds
//! it with everything else); and [`config_file`] says where in a
//! configuration file a problem is, as `chatd` and `chat` both word it.

pub mod admin;
pub mod clock;
pub mod config_file;
pub mod duration;
pub mod escape;
pub mod event;
pub mod handshake;
pub mod hex;
pub mod identity;
pub mod json;
pub mod password;
pub mod seal;
pub mod sizes;
pub mod token;

pub use event::{
    Auth, Ban, BanTarget, ByeCode, ClientEvent, ErrorCode, HistoryEntry, Member, ModerationAction,
    RateLimit, RejectCode, RoomInfo, RoomJoined, RoomName, RoomNameError, ServerEvent, Welcome,
    forbidden_control, valid_cid, valid_username, validate_reason, validate_text, validate_topic,
};
pub use handshake::{
    ClientHandshake, HandshakeError, ServerHandshake, ServerHello, Session, SessionKeys,
};
pub use identity::{Fingerprint, Identity, IdentityError, IdentityKey};
pub use seal::{OpenError, Opener, SealError, Sealer};
pub use token::{JoinKey, KeyId, ServerIdentity, Token, TokenError};

/// The WebSocket subprotocol name; selected when offered, never required.
pub const SUBPROTOCOL: &str = "chat.v1";

/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;

/// The default TCP port, kept from the tool chat descends from.
pub const DEFAULT_PORT: u16 = 1719;

/// WebSocket close codes with a meaning in this protocol.
pub mod close {
    /// Normal close after a sealed `Reject` or `Bye`.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Malformed handshake or invalid key share.
    pub const PROTOCOL: u16 = 1002;
    /// A message failed to open, or a handshake deadline was missed.
    pub const POLICY: u16 = 1008;
    /// A message over a size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The `Hello` names a key id the server does not accept.
    pub const UNKNOWN_KEY: u16 = 4001;
}
