//! `chatd` as a library: the chat daemon that `main.rs` starts.
//!
//! [`run`] serves chat and the admin API on the [`Listeners`] it is given
//! until its [`Handle`] says stop; `main.rs` only reads the command line,
//! sets up logging and the process, and reports how it ended. Tests can run
//! the room ([`hub`]) and a session in-process.
//!
//! How a message travels, module by module: [`server`] accepts a TCP
//! connection and routes it through axum to the WebSocket upgrade;
//! [`session`] runs the handshake over a [`connection::Connection`] (one
//! type owns the socket and speaks only whole, sealed messages), then its
//! reader hands each event to the room ([`hub`]), which serializes it once
//! and queues it for every member; each member's writer seals and sends it.
//! In a large room joins and leaves are counted and told in one summary a
//! second ([`presence`]).
//! [`ending`] is the vocabulary of how a session ends. Around that:
//! [`config`], [`paths`] and [`store`] (the state directory), [`keys`]
//! (rotation), [`password`] (argon2 with a bound), [`admin`] (the Unix-socket
//! API), [`reload`], [`status`], [`systemd`], [`signals`] and [`process`].

pub mod admin;
pub mod cluster;
pub mod config;
pub mod door;
pub mod ending;
pub mod error;
pub mod hub;
pub mod log;
pub mod logging;
pub mod ops;
pub mod per_address;
pub mod service;
pub mod session;
pub mod state;
pub mod store;
pub mod systemd;

pub use error::Error;
pub use service::{Handle, Listeners, check_machine, run};
