//! Reloading the configuration on this node (SIGHUP, `POST /v1/reload`,
//! or another node's order).
//!
//! The file is read again with the same flags on top. What can change at
//! run time is applied (limits and timeouts for new connections, motd,
//! history and the presence summary settings at once, log level, the
//! password file); what needs a restart (addresses, directories, the admin
//! group, the cluster) is named in the log and in the answer
//! (`crate::config::reload::compare` sorts every setting). A file that
//! does not parse changes nothing.

use std::sync::Arc;

use chat_protocol::admin::Reloaded;

use crate::config::reload::{Reloader, compare};
use crate::config::{ConfigError, Current};
use crate::hub::Hub;
use crate::log::Bounds;
use crate::logging::FilterError;
use crate::metrics::Metrics;
use crate::metrics::labels::ReloadResult;
use crate::ops::status::{self, Facts};
use crate::store::keyring::Keyring;
use crate::store::password::PasswordError;

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file does not read or breaks a rule.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The new log filter does not parse, or cannot be put in force.
    #[error(transparent)]
    LogFilter(#[from] FilterError),
    /// The password file cannot be read, or its password hashed.
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// What a reload touches: the configuration in force and how to read it
/// again, the password check, the room's bounds, and the status line
/// systemd is told after.
#[derive(Clone)]
pub struct Reload {
    /// How to read the configuration again.
    pub reloader: Arc<Reloader>,
    /// The configuration in force.
    pub config: Arc<Current>,
    /// The password check (the password file is read again).
    pub keyring: Arc<Keyring>,
    /// The room (its history's bounds).
    pub hub: Arc<Hub>,
    /// For the status line.
    pub facts: Arc<Facts>,
    /// Counts reloads by result.
    pub metrics: Metrics,
}

impl Reload {
    /// Reloads, telling systemd RELOADING=1 first and READY=1 after.
    pub async fn run(&self) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self.reloader.one_at_a_time().await;
        crate::systemd::reloading();
        let result = self.apply().await;
        self.metrics.reloads.inc(match result {
            Ok(_) => ReloadResult::Ok,
            Err(_) => ReloadResult::Failed,
        });
        match &result {
            Ok(r) if r.changed.is_empty() && r.restart_needed.is_empty() => {
                tracing::info!("reloaded the configuration: nothing changed");
            }
            Ok(r) => tracing::info!(
                changed = %r.changed.join(", "),
                restart_needed = %r.restart_needed.join(", "),
                "reloaded the configuration"
            ),
            Err(e) => {
                tracing::error!("reload failed, the configuration in force is unchanged: {e}");
            }
        }
        crate::systemd::ready(&status::line(&self.hub, &self.facts, &self.keyring));
        result
    }

    async fn apply(&self) -> Result<Reloaded, ReloadError> {
        let new = self.reloader.load()?;
        let old = self.config.get();
        let compared = compare(&old, new);
        let new = compared.in_force;
        let mut changed = compared.changed;
        let gate = &self.keyring.password;

        // Everything that can fail comes first, so a failed reload changes
        // nothing: the new log filter, then the password file.
        let filter = if new.log_level != old.log_level {
            changed.push("log_level".into());
            match self.reloader.filter() {
                Some(_) => Some(crate::logging::filter(&new.log_level)?),
                None => None,
            }
        } else {
            None
        };
        // The password file is read again even when its path is the same:
        // its content may have changed. It is compared by verifying, never
        // stored.
        let file_hash = match &new.password_file {
            Some(path) => {
                let password = crate::store::password::read_password_file(path)?;
                let unchanged = new.password_file == old.password_file
                    && gate.verify_file(password.clone()).await;
                if unchanged {
                    None
                } else {
                    let hash = gate.hash(password).await?;
                    Some(Some(hash))
                }
            }
            None if old.password_file.is_some() => Some(None),
            None => None,
        };

        if let (Some(filter), Some(handle)) = (filter, self.reloader.filter()) {
            handle
                .reload(filter)
                .map_err(|e| FilterError(format!("cannot change the log level: {e}")))?;
        }
        if let Some(hash) = file_hash {
            gate.set_file_hash(hash);
            changed.push("password_file".into());
        }
        let bounds = Bounds::of(&new);
        self.config.set(Arc::new(new));
        self.hub.set_bounds(bounds);
        Ok(Reloaded {
            changed,
            restart_needed: compared.restart_needed,
        })
    }
}
