//! What chatd reports about itself: the admin API's status, systemd's
//! STATUS= line, and the messages-per-minute figure both use.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chat_protocol::admin::Status;

use crate::state::{App, now_secs};

/// How often the status line is refreshed and the message rate sampled.
const TICK: Duration = Duration::from_secs(5);

/// `none`, `file` or `admin`.
pub fn password_source(app: &App) -> String {
    match app.password.source() {
        crate::store::password::Source::None => "none",
        crate::store::password::Source::File => "file",
        crate::store::password::Source::Admin => "admin",
    }
    .to_string()
}

/// The admin API's status.
pub fn snapshot(app: &App) -> Status {
    let keys = app.keys.read().expect("lock");
    let now = now_secs();
    let previous = keys.previous.as_ref().filter(|p| p.expires > now);
    Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: app.started.elapsed().map(|d| d.as_secs()).unwrap_or(0),
        listen: app.listen_addr.to_string(),
        key_id: keys.current.key_id().to_string(),
        previous_key_id: previous.map(|p| p.token.key_id().to_string()),
        previous_key_expires: previous.map(|p| p.expires),
        disconnect_at: keys.disconnect_at(now),
        online: app.hub.online(),
        max_users: app.hub.config().max_users,
        messages_total: app.hub.total_messages(),
        messages_per_minute: app.messages_per_minute.load(Ordering::Relaxed),
        password: password_source(app),
        state_dir: app.store.dir().display().to_string(),
        pid: std::process::id(),
        throttled_addresses: app.guesses.throttled(),
        queued_bytes: app.hub.queued_bytes(),
        history_persist_error: app.hub.log().persist_error(),
        // A cluster's fields are filled in by `admin::cluster::status`.
        node: None,
        cluster: None,
        nodes: None,
        online_cluster: None,
    }
}

/// The one-line summary for systemd.
pub fn line(app: &App) -> String {
    let online = app.hub.online();
    let rate = app.messages_per_minute.load(Ordering::Relaxed);
    format!(
        "{online} user{} online, {rate} message{}/min, key {}",
        if online == 1 { "" } else { "s" },
        if rate == 1 { "" } else { "s" },
        app.key_id()
    )
}

/// Samples the message rate and keeps STATUS= current until shutdown; says
/// how many log lines the throttles left out in windows that have ended.
pub async fn run(app: App) {
    let mut samples: VecDeque<u64> = VecDeque::new();
    let window = (Duration::from_secs(60).as_secs() / TICK.as_secs()) as usize;
    let mut last = String::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = app.shutdown.cancelled() => return,
        }
        crate::logging::line_budget::flush();
        let total = app.hub.total_messages();
        samples.push_back(total);
        if samples.len() > window + 1 {
            samples.pop_front();
        }
        let oldest = samples.front().copied().unwrap_or(total);
        app.messages_per_minute
            .store(total - oldest, Ordering::Relaxed);
        let line = line(&app);
        if line != last {
            crate::systemd::status(&line);
            last = line;
        }
    }
}
