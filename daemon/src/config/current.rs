//! The configuration in force: one value every part reads, replaced
//! whole by a reload (SIGHUP, `POST /v1/reload`, an order from another
//! node).
//!
//! A reader takes the whole configuration at once ([`Current::get`]) and
//! keeps it for as long as it needs: a session keeps the one it started
//! with, so a reload changes new sessions and leaves running ones as they
//! were.

use std::sync::{Arc, RwLock};

use super::Config;

/// The configuration in force (see the module documentation).
pub struct Current(RwLock<Arc<Config>>);

impl Current {
    /// `config` in force.
    pub fn new(config: Config) -> Self {
        Self(RwLock::new(Arc::new(config)))
    }

    /// The configuration in force now.
    pub fn get(&self) -> Arc<Config> {
        self.0.read().expect("lock").clone()
    }

    /// Puts `config` in force (on reload).
    pub fn set(&self, config: Arc<Config>) {
        *self.0.write().expect("lock") = config;
    }
}
