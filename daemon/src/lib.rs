//! `chatd` as a library: the chat daemon that `main.rs` starts.
//!
//! [`run`] serves chat and the admin API on the [`Listeners`] it is given
//! until its [`Handle`] says stop; `main.rs` only reads the command line,
//! sets up logging and the process, and reports how it ended. Tests run
//! the room ([`hub`]) and sessions ([`session`]) in-process on the parts
//! [`service::assemble`] makes.
//!
//! The folders are the architecture (docs/architecture.md draws it):
//!
//! | module | concern |
//! |---|---|
//! | [`door`] | everything before a session exists: the accept loop, the WebSocket upgrade, the client behind a trusted proxy |
//! | `per_address` | what is counted per client address: connections, wrong passwords, names registered |
//! | [`registry`] | names owned by keys: the `names` policy, the records, `STATE_DIR/names` |
//! | `moderation` | bans in force and what they match, `STATE_DIR/moderation` |
//! | [`session`] | one connection from `Hello` to goodbye: the owned WebSocket, the handshake, the reader and its rate, the writer |
//! | [`hub`] | the room: members, fan-out, DMs, presence summaries, the users of other nodes |
//! | `log` | the room's log behind one interface: the tail in memory, `STATE_DIR/history` |
//! | [`store`] | the state directory and the secrets it keeps: paths, keys, password hashes, the password check |
//! | [`config`] | the configuration: the struct, its checks and errors, the one in force, how to read it again |
//! | `ops` | what an order does on this node: kick, notice, users, status, reload, password, rotation |
//! | `admin` | the admin API's HTTP face over the Unix socket |
//! | [`cluster`] | the other nodes, behind one seam ([`cluster::Peers`]): NATS, the replicated log, names, shared values, orders |
//! | [`service`] | start-up, the serve loop and shutdown, signals, process settings, the banner |
//! | [`logging`] | logging, and the budget of lines anyone can cause |
//! | [`metrics`] | what chatd counts, in the Prometheus format, and each connection's tally |
//! | [`state`] | the daemon's parts, and which part each folder is handed |
//! | [`ending`] | how a session ends, and the switch that ends it |
//! | `error` | what can stop chatd from starting |
//! | `systemd` | `sd_notify` and socket activation |
//!
//! How a message travels: [`door`] accepts a TCP connection and upgrades
//! it; [`session`] runs the handshake over a [`session::connection`]
//! (one type owns the socket and speaks only whole, sealed messages), then
//! its reader hands each event to the room ([`hub`]), which appends it to
//! the room's log and, once the log accepted it, serializes it once and
//! queues it for every member; each member's writer seals and sends it.

mod admin;
pub mod cluster;
pub mod config;
pub mod door;
pub mod ending;
mod error;
pub mod hub;
mod log;
pub mod logging;
pub mod metrics;
mod moderation;
mod ops;
mod per_address;
pub mod registry;
pub mod service;
pub mod session;
pub mod state;
pub mod store;
mod systemd;

pub use error::Error;
pub use service::{Handle, Listeners, check_machine, run};
