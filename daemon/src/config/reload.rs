//! Reading the configuration again: how ([`Reloader`]), and what a new
//! configuration changes ([`compare`]). What a reload then does on this
//! node (the log filter, the password file, the room's bounds) is
//! `crate::ops::reload`.

use super::{Config, ConfigError};
use crate::logging::FilterHandle;

/// How to read the configuration again (the file, with the same flags on
/// top), and the log filter to update.
pub struct Reloader {
    load: Box<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>,
    filter: Option<FilterHandle>,
    running: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader that calls `load` for the new configuration; `filter`
    /// is the log filter to change (`None`: logging is not chatd's).
    pub fn new(
        load: impl Fn() -> Result<Config, ConfigError> + Send + Sync + 'static,
        filter: Option<FilterHandle>,
    ) -> Self {
        Self {
            load: Box::new(load),
            filter,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads the configuration again.
    pub fn load(&self) -> Result<Config, ConfigError> {
        (self.load)()
    }

    /// The log filter to change, if chatd installed it.
    pub fn filter(&self) -> Option<&FilterHandle> {
        self.filter.as_ref()
    }

    /// Held for the whole of a reload: one at a time.
    pub async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.running.lock().await
    }
}

/// What a new configuration changes against the one in force.
pub struct Compared {
    /// The settings that change now, by key, in the order of [`Config`].
    pub changed: Vec<String>,
    /// The settings that changed in the file but need a restart.
    pub restart_needed: Vec<String>,
    /// The new configuration with the settings that need a restart as
    /// they are in force, so that the next reload still reports them and
    /// nothing reads a value not in effect.
    pub in_force: Config,
}

/// Compares `new` with `old`. Every field of [`Config`] is named once
/// below, in one of three lists (the destructuring and the struct literal
/// list them all, so a new field does not compile until it is classified):
/// `restart` (kept as in force, reported as needing a restart), `live`
/// (in force at once, reported as changed), and `reloader` (put in force
/// by the reload itself, which reports them: the log filter, and the
/// password file, whose content is compared by verifying).
pub fn compare(old: &Config, new: Config) -> Compared {
    let mut changed = Vec::new();
    let mut restart_needed = Vec::new();
    macro_rules! classify {
        (restart: $($r:ident),*; live: $($l:ident),*; reloader: $($s:ident),*;) => {{
            let Config { $($r,)* $($l,)* $($s,)* } = new;
            $( if $r != old.$r { restart_needed.push(stringify!($r).to_string()); } )*
            $( if $l != old.$l { changed.push(stringify!($l).to_string()); } )*
            Config {
                $($r: old.$r.clone(),)*
                $($l,)*
                $($s,)*
            }
        }};
    }
    let in_force = classify!(
        restart: listen, state_dir, runtime_dir, admin_group, core_dumps, cluster,
            cluster_credentials, node_name, cluster_claim_ttl, cluster_replicas,
            cluster_start_timeout, default_room, metrics_listen, metrics_allow_remote,
            metrics_per_room;
        live: motd, history, history_max_age, max_text, max_users, max_connections_per_ip,
            connections_per_ip_per_minute, limit_exempt, trusted_proxies, forwarded_header,
            rate_burst, rate_per_second, outbound_queue, outbound_queue_bytes,
            presence_summary_above, presence_interval, handshake_timeout, keepalive_interval,
            keepalive_timeout, write_timeout, shutdown_timeout, room_creation, max_rooms,
            max_rooms_per_session, rooms_made_per_hour, room_idle_expiry, history_max_bytes,
            names, name_expiry, max_names;
        reloader: log_level, password_file;
    );
    Compared {
        changed,
        restart_needed,
        in_force,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_is_reported_as_changed_or_needing_a_restart() {
        let old = Config::default();
        let new = Config {
            motd: Some("hi".into()),
            max_users: 5,
            listen: "127.0.0.1:2000".into(),
            cluster_replicas: 3,
            log_level: "debug".into(),
            ..Config::default()
        };
        let compared = compare(&old, new);
        assert_eq!(compared.changed, ["motd", "max_users"]);
        assert_eq!(compared.restart_needed, ["listen", "cluster_replicas"]);
        // What needs a restart stays as it is in force; the rest is new.
        assert_eq!(compared.in_force.listen, old.listen);
        assert_eq!(compared.in_force.cluster_replicas, 1);
        assert_eq!(compared.in_force.max_users, 5);
        assert_eq!(compared.in_force.log_level, "debug");
        let same = compare(&old, old.clone());
        assert!(same.changed.is_empty() && same.restart_needed.is_empty());
        assert_eq!(same.in_force, old);
    }
}
