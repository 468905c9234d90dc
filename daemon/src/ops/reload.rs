//! Reloading the configuration (SIGHUP or `POST /v1/reload`).
//!
//! The file is read again with the same flags on top. What can change at
//! run time is applied (limits and timeouts for new connections, motd,
//! history and the presence summary settings at once, log level, the
//! password file); what needs a restart (addresses, directories, the admin
//! group) is named in the log and in the answer. A file that does not
//! parse changes nothing.

use chat_protocol::admin::Reloaded;

use crate::Error;
use crate::config::Config;
use crate::logging::FilterHandle;
use crate::state::App;

/// How to read the configuration again, and the log filter to update.
pub struct Reloader {
    load: Box<dyn Fn() -> Result<Config, Error> + Send + Sync>,
    filter: Option<FilterHandle>,
    running: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader that calls `load` for the new configuration.
    pub fn new(
        load: impl Fn() -> Result<Config, Error> + Send + Sync + 'static,
        filter: Option<FilterHandle>,
    ) -> Self {
        Self {
            load: Box::new(load),
            filter,
            running: tokio::sync::Mutex::new(()),
        }
    }
}

/// Reloads, telling systemd RELOADING=1 first and READY=1 after.
pub async fn reload(app: &App) -> Result<Reloaded, Error> {
    let _one_at_a_time = app.reloader.running.lock().await;
    crate::systemd::reloading();
    let result = apply(app).await;
    match &result {
        Ok(r) if r.changed.is_empty() && r.restart_needed.is_empty() => {
            tracing::info!("reloaded the configuration: nothing changed");
        }
        Ok(r) => tracing::info!(
            changed = %r.changed.join(", "),
            restart_needed = %r.restart_needed.join(", "),
            "reloaded the configuration"
        ),
        Err(e) => tracing::error!("reload failed, the configuration in force is unchanged: {e}"),
    }
    crate::systemd::ready(&crate::ops::status::line(app));
    result
}

async fn apply(app: &App) -> Result<Reloaded, Error> {
    let new = (app.reloader.load)()?;
    let old = app.hub.config();
    let mut changed = Vec::new();
    let mut restart_needed = Vec::new();

    macro_rules! compare {
        ($list:ident: $($field:ident),*) => {
            $( if new.$field != old.$field { $list.push(stringify!($field).to_string()); } )*
        };
    }
    compare!(restart_needed: listen, state_dir, runtime_dir, admin_group, core_dumps,
        cluster, cluster_credentials, node_name, cluster_claim_ttl, cluster_replicas,
        cluster_start_timeout);
    compare!(changed: motd, history, history_max_age, max_text, max_users, max_connections_per_ip,
        connections_per_ip_per_minute, limit_exempt, trusted_proxies, forwarded_header, rate_burst, rate_per_second, outbound_queue, outbound_queue_bytes,
        presence_summary_above, presence_interval,
        handshake_timeout, keepalive_interval, keepalive_timeout, write_timeout, shutdown_timeout);

    // Everything that can fail comes first, so a failed reload changes
    // nothing: the new log filter, then the password file.
    let filter = if new.log_level != old.log_level {
        changed.push("log_level".into());
        match &app.reloader.filter {
            Some(_) => Some(crate::logging::filter(&new.log_level)?),
            None => None,
        }
    } else {
        None
    };
    // The password file is read again even when its path is the same: its
    // content may have changed. It is compared by verifying, never stored.
    let file_hash = match &new.password_file {
        Some(path) => {
            let password = crate::store::password::read_password_file(path)?;
            let unchanged = new.password_file == old.password_file
                && app.password.verify_file(password.clone()).await;
            if unchanged {
                None
            } else {
                let hash = app.password.hash(password).await?;
                Some(Some(hash))
            }
        }
        None if old.password_file.is_some() => Some(None),
        None => None,
    };

    if let (Some(filter), Some(handle)) = (filter, &app.reloader.filter) {
        handle
            .reload(filter)
            .map_err(|e| Error::LogFilter(format!("cannot change the log level: {e}")))?;
    }
    if let Some(hash) = file_hash {
        app.password.set_file_hash(hash);
        changed.push("password_file".into());
    }
    // Settings that need a restart stay as they are in force, so the next
    // reload still reports them and nothing reads a value not in effect.
    let mut new = new;
    new.listen = old.listen.clone();
    new.state_dir = old.state_dir.clone();
    new.runtime_dir = old.runtime_dir.clone();
    new.admin_group = old.admin_group.clone();
    new.core_dumps = old.core_dumps;
    new.cluster = old.cluster.clone();
    new.cluster_credentials = old.cluster_credentials.clone();
    new.node_name = old.node_name.clone();
    new.cluster_claim_ttl = old.cluster_claim_ttl;
    new.cluster_replicas = old.cluster_replicas;
    new.cluster_start_timeout = old.cluster_start_timeout;
    app.hub.set_config(std::sync::Arc::new(new));
    Ok(Reloaded {
        changed,
        restart_needed,
    })
}
