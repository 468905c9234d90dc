//! The daemon as a whole: its sockets ([`Listeners`]), start-up from them
//! ([`assemble`]), the serve loop and shutdown ([`run`]), steered through
//! a [`Handle`]; and what only a whole process has: its signals, its
//! process-wide settings, and what it says at start.

pub(crate) mod banner;
pub(crate) mod check;
pub(crate) mod listeners;
pub(crate) mod metrics_listener;
pub(crate) mod moderation;
pub(crate) mod names;
pub mod process;
pub mod signals;
pub(crate) mod startup;

pub use check::{check_config, check_machine};
pub use listeners::Listeners;
pub use startup::assemble;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::config::Config;
use crate::config::reload::Reloader;
use crate::ops::reload::Reload;
use crate::ops::status;
use crate::{admin, door, hub, store, systemd};

/// What the outside asks of a running daemon: stop, or reload the
/// configuration. `main` forwards the signals to it (SIGTERM/SIGINT,
/// SIGHUP); a test calls it directly.
#[derive(Clone, Default)]
pub struct Handle {
    shutdown: CancellationToken,
    reload: Arc<Notify>,
}

impl Handle {
    /// A handle for a daemon not yet started.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the daemon to stop: every session gets a goodbye, then
    /// [`run`] returns.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Asks the daemon to read its configuration again, as SIGHUP does.
    pub fn reload(&self) {
        self.reload.notify_one();
    }
}

/// Serves chat and the admin API on `listeners` until `handle` says stop:
/// loads the keys and the password from `store` (opened, and so locked, by
/// the caller before it bound the listeners), tells systemd READY=1,
/// serves, and at the end gives every session its goodbye within
/// `shutdown_timeout`.
pub async fn run(
    config: Config,
    store: store::Store,
    listeners: Listeners,
    reloader: Reloader,
    handle: Handle,
) -> Result<(), Error> {
    let Listeners {
        chat,
        admin: admin_listener,
        admin_path,
        metrics,
    } = listeners;
    let listen_addr = chat.local_addr().map_err(|source| Error::Io {
        what: "reading the bound address",
        source,
    })?;
    let (app, token, created) =
        match assemble(config, store, listen_addr, reloader, handle.clone()).await {
            Ok(assembled) => assembled,
            Err(e) => {
                // Nothing was served: the socket chatd made goes with it.
                if let Some(path) = &admin_path {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        };
    banner::started(
        listen_addr,
        &app.keyring,
        &token,
        created,
        admin_path.as_deref(),
    );
    let shutdown = app.life.shutdown.clone();

    let admin_service =
        admin::router(app.admin()).into_make_service_with_connect_info::<admin::peer::Peer>();
    let admin_server = tokio::spawn(
        axum::serve(admin_listener, admin_service)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
    );
    // The metrics listener outlives the shutdown's start: until chatd has
    // closed its sessions and its log, `/health` says `shutting_down` and
    // a last scrape counts the sessions the shutdown ended.
    let stopped = CancellationToken::new();
    if let Some(listener) = metrics {
        tokio::spawn(metrics_listener::serve(
            listener,
            app.admin(),
            stopped.clone(),
        ));
    }
    tokio::spawn(serve_reloads(
        app.reload(),
        handle.reload.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(status::run(
        app.hub.clone(),
        app.facts.clone(),
        app.keyring.clone(),
        shutdown.clone(),
    ));
    let (summaries, until) = (app.hub.clone(), shutdown.clone());
    tokio::spawn(async move { hub::presence::run(&summaries, &until).await });
    tokio::spawn(hub::rooms_kept::run_expiry(
        app.hub.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(names::upkeep(
        app.peers.clone(),
        app.registry.clone(),
        app.hub.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(moderation::upkeep(
        app.peers.clone(),
        app.moderation.clone(),
        app.hub.clone(),
        shutdown.clone(),
    ));
    if let Some(every) = systemd::watchdog_interval() {
        tokio::spawn(watchdog(
            every,
            app.door.clone(),
            app.hub.clone(),
            shutdown.clone(),
        ));
    }
    systemd::ready(&status::line(&app.hub, &app.facts, &app.keyring));

    // Returns when the shutdown begins.
    door::accept::serve(chat, app.door()).await;
    tracing::info!(online = app.hub.online(), "shutting down");
    systemd::stopping();

    // Upgraded connections are not hyper's to track: wait for our sessions, and
    // the admin server, within one bound for the whole shutdown.
    let sessions = &app.life.sessions;
    sessions.close();
    let bound = app.config.get().shutdown_timeout.0;
    let end = tokio::time::Instant::now() + bound;
    // The last fifth of the bound (at most 1 s) is kept for the history
    // file, so that writing it never takes chatd past the bound.
    let for_sessions = bound - (bound / 5).min(std::time::Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + for_sessions;
    if tokio::time::timeout_at(deadline, sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} sessions did not end within {for_sessions:?}; dropping them",
            sessions.len()
        );
    }
    let _ = tokio::time::timeout_at(deadline, admin_server).await;
    // When names were last seen, the leaves just now included, within
    // half of what is left (the rest is the history file's).
    let left = end.saturating_duration_since(tokio::time::Instant::now());
    let _ = tokio::time::timeout(left / 2, app.peers.write_seen(&app.registry)).await;
    // Every message accepted goes to disk before chatd exits.
    let logs = app.hub.logs();
    let _ = tokio::task::spawn_blocking(move || {
        for log in logs {
            log.close(end.saturating_duration_since(tokio::time::Instant::now()));
        }
    })
    .await;
    if let Some(path) = admin_path {
        let _ = std::fs::remove_file(path);
    }
    // STOPPING=1 goes out before the process ends (unless the manager
    // reads nothing): notifications leave from a thread of their own.
    let _ = tokio::task::spawn_blocking(|| systemd::flush(std::time::Duration::from_secs(1))).await;
    stopped.cancel();
    tracing::info!("stopped");
    Ok(())
}

/// Reloads each time the handle asks, until the shutdown.
async fn serve_reloads(reload: Reload, requests: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = requests.notified() => {
                tracing::info!("SIGHUP: reloading the configuration");
                let _ = reload.run().await;
            }
            () = shutdown.cancelled() => return,
        }
    }
}

/// Tells systemd WATCHDOG=1 every `every`, but only once the accept loop
/// and the room answered the probe ([`door::probe`]): a chatd that hangs
/// says nothing, and systemd restarts it. NATS plays no part.
async fn watchdog(
    every: std::time::Duration,
    door: Arc<door::Door>,
    hub: Arc<hub::Hub>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if door::probe::round_trip(&door, &hub).await {
            systemd::watchdog();
        } else {
            tracing::warn!(
                "watchdog: the room or the accept loop did not answer within {} s; not telling systemd that chatd is alive",
                door::probe::WITHIN.as_secs()
            );
        }
    }
}
