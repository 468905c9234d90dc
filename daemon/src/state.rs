//! The daemon's parts, as [`AppState`] holds them for the service that
//! assembles and runs them (`crate::service`).
//!
//! Each part is shared on its own (`Arc`) and lives in the folder of its
//! concern; a function takes the parts it uses, never the whole: a folder
//! that needs several names them in a `Parts` struct of its own (the
//! door's, a session's, the admin API's, a node's tasks, a rotation, a
//! reload), and this file is where each is handed its parts. Adding a part
//! (a names registry, bans, rooms) is: its type in its folder, a
//! field here, built in `service/startup.rs`, and handed below to the
//! `Parts` of the folders that use it.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cluster::Peers;
use crate::config::Current;
use crate::config::reload::Reloader;
use crate::door::Door;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::moderation::Moderation;
use crate::ops::moderate::Moderating;
use crate::ops::reload::Reload;
use crate::ops::rotate::Rotation;
use crate::ops::status::Facts;
use crate::per_address::Guesses;
use crate::registry::Registry;
use crate::store::keyring::Keyring;

/// The daemon's parts (see the module documentation).
#[derive(Clone)]
pub struct AppState {
    /// The configuration in force.
    pub config: Arc<Current>,
    /// When the daemon started, where it listens, its message rate.
    pub facts: Arc<Facts>,
    /// The connections open, in all and per address.
    pub door: Arc<Door>,
    /// Wrong passwords per address, and the addresses throttled for them.
    pub guesses: Arc<Guesses>,
    /// The identity, the keys, the password check and their state directory.
    pub keyring: Arc<Keyring>,
    /// The room.
    pub hub: Arc<Hub>,
    /// The names registry and its policy.
    pub registry: Arc<Registry>,
    /// The bans in force.
    pub moderation: Arc<Moderation>,
    /// The record of who did what.
    pub audit: Arc<crate::moderation::audit::Audit>,
    /// The other nodes of a cluster, or none.
    pub peers: Arc<Peers>,
    /// The admin group's gid, when one is configured.
    pub admin_gid: Option<u32>,
    /// What chatd counts; every part that counts holds a handle.
    pub metrics: Metrics,
    /// How the daemon runs and stops.
    pub life: Life,
}

/// The daemon's life cycle: its end, the tasks the end waits for, and how
/// its configuration is read again.
#[derive(Clone)]
pub struct Life {
    /// Fires once, at shutdown; every session's control is its child.
    pub shutdown: CancellationToken,
    /// Every session task (and a cluster node's liveness task, which takes
    /// the node off the list at the end), so shutdown can wait for them.
    pub sessions: TaskTracker,
    /// Reads the configuration again on SIGHUP or `POST /v1/reload`.
    pub reloader: Arc<Reloader>,
}

impl AppState {
    /// What a session uses.
    pub fn session(&self) -> Arc<crate::session::Parts> {
        Arc::new(crate::session::Parts {
            config: self.config.clone(),
            keyring: self.keyring.clone(),
            guesses: self.guesses.clone(),
            hub: self.hub.clone(),
            registry: self.registry.clone(),
            moderating: self.moderating(),
            peers: self.peers.clone(),
            metrics: self.metrics.clone(),
            shutdown: self.life.shutdown.clone(),
        })
    }

    /// What moderation uses on this node.
    pub fn moderating(&self) -> Moderating {
        Moderating {
            config: self.config.clone(),
            keyring: self.keyring.clone(),
            hub: self.hub.clone(),
            registry: self.registry.clone(),
            moderation: self.moderation.clone(),
            audit: self.audit.clone(),
            metrics: self.metrics.clone(),
        }
    }

    /// What the door uses.
    pub fn door(&self) -> crate::door::Parts {
        crate::door::Parts {
            config: self.config.clone(),
            door: self.door.clone(),
            metrics: self.metrics.clone(),
            session: self.session(),
            sessions: self.life.sessions.clone(),
            shutdown: self.life.shutdown.clone(),
        }
    }

    /// What a key rotation touches.
    pub fn rotation(&self) -> Rotation {
        Rotation {
            keyring: self.keyring.clone(),
            hub: self.hub.clone(),
            shutdown: self.life.shutdown.clone(),
        }
    }

    /// What a reload touches.
    pub fn reload(&self) -> Reload {
        Reload {
            reloader: self.life.reloader.clone(),
            config: self.config.clone(),
            keyring: self.keyring.clone(),
            hub: self.hub.clone(),
            facts: self.facts.clone(),
            metrics: self.metrics.clone(),
        }
    }

    /// What the admin API uses.
    pub fn admin(&self) -> crate::admin::Parts {
        crate::admin::Parts {
            config: self.config.clone(),
            admin_gid: self.admin_gid,
            facts: self.facts.clone(),
            guesses: self.guesses.clone(),
            keyring: self.keyring.clone(),
            hub: self.hub.clone(),
            registry: self.registry.clone(),
            moderating: self.moderating(),
            peers: self.peers.clone(),
            door: self.door.clone(),
            metrics: self.metrics.clone(),
            shutdown: self.life.shutdown.clone(),
            rotation: self.rotation(),
            reload: self.reload(),
        }
    }

    /// What a cluster node's tasks use.
    pub fn cluster(&self) -> crate::cluster::tasks::Context {
        crate::cluster::tasks::Context {
            config: self.config.clone(),
            keyring: self.keyring.clone(),
            hub: self.hub.clone(),
            registry: self.registry.clone(),
            moderation: self.moderation.clone(),
            audit: self.audit.clone(),
            facts: self.facts.clone(),
            rotation: self.rotation(),
            reload: self.reload(),
            shutdown: self.life.shutdown.clone(),
            sessions: self.life.sessions.clone(),
        }
    }
}
