//! What chatd reports about itself: the admin API's status, systemd's
//! STATUS= line, and the messages-per-minute figure both use.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chat_protocol::admin::{NodeStatus, Status};
use chat_protocol::clock::now_secs;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::hub::Hub;
use crate::per_address::Guesses;
use crate::store::keyring::Keyring;
use crate::store::password::{Gate, Source};

/// How often the status line is refreshed and the message rate sampled.
const TICK: Duration = Duration::from_secs(5);

/// What this chatd is, for its status: when it started, where it listens,
/// and the message rate [`run`] samples.
pub struct Facts {
    /// When the daemon started.
    pub started: SystemTime,
    /// Where the chat listener is bound.
    pub listen_addr: SocketAddr,
    /// Messages relayed in the last minute (sampled by [`run`]).
    pub messages_per_minute: AtomicU64,
}

impl Facts {
    /// A daemon starting now, listening on `listen_addr`.
    pub fn new(listen_addr: SocketAddr) -> Self {
        Self {
            started: SystemTime::now(),
            listen_addr,
            messages_per_minute: AtomicU64::new(0),
        }
    }

    /// Unix seconds when the daemon started.
    pub fn since(&self) -> u64 {
        self.started
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// What the status says of the cluster, filled in by a node of one
/// (`cluster::Peers::status`); all `None` on a single chatd, and those the
/// node cannot tell while NATS is out of reach.
#[derive(Default)]
pub struct ClusterView {
    /// This node's name.
    pub node: Option<String>,
    /// `connected` or `unavailable`.
    pub cluster: Option<String>,
    /// The nodes alive, by name.
    pub nodes: Option<Vec<NodeStatus>>,
    /// Users online on every node.
    pub online_cluster: Option<usize>,
}

/// `none`, `file` or `admin`.
pub fn password_source(gate: &Gate) -> String {
    match gate.source() {
        Source::None => "none",
        Source::File => "file",
        Source::Admin => "admin",
    }
    .to_string()
}

/// The admin API's status, the cluster's part given.
pub fn snapshot(
    config: &Config,
    facts: &Facts,
    keyring: &Keyring,
    hub: &Hub,
    guesses: &Guesses,
    cluster: ClusterView,
) -> Status {
    let keys = keyring.keys.read().expect("lock");
    let now = now_secs();
    let previous = keys.previous.as_ref().filter(|p| p.expires > now);
    let ClusterView {
        node,
        cluster,
        nodes,
        online_cluster,
    } = cluster;
    Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: facts.started.elapsed().map(|d| d.as_secs()).unwrap_or(0),
        listen: facts.listen_addr.to_string(),
        key_id: keys.current.key_id().to_string(),
        previous_key_id: previous.map(|p| p.token.key_id().to_string()),
        previous_key_expires: previous.map(|p| p.expires),
        disconnect_at: keys.disconnect_at(now),
        online: hub.online(),
        max_users: config.max_users,
        messages_total: hub.total_messages(),
        messages_per_minute: facts.messages_per_minute.load(Ordering::Relaxed),
        password: password_source(&keyring.password),
        state_dir: keyring.store.dir().display().to_string(),
        pid: std::process::id(),
        throttled_addresses: guesses.throttled(),
        password_checks: keyring.password.verifications_run(),
        queued_bytes: hub.queued_bytes(),
        history_persist_error: hub.persist_error(),
        node,
        cluster,
        nodes,
        online_cluster,
    }
}

/// The one-line summary for systemd.
pub fn line(hub: &Hub, facts: &Facts, keyring: &Keyring) -> String {
    let online = hub.online();
    let rate = facts.messages_per_minute.load(Ordering::Relaxed);
    format!(
        "{online} user{} online, {rate} message{}/min, key {}",
        if online == 1 { "" } else { "s" },
        if rate == 1 { "" } else { "s" },
        keyring.key_id()
    )
}

/// Samples the message rate and keeps STATUS= current until `shutdown`;
/// says how many log lines the budgets left out in windows that have
/// ended.
pub async fn run(
    hub: Arc<Hub>,
    facts: Arc<Facts>,
    keyring: Arc<Keyring>,
    shutdown: CancellationToken,
) {
    let mut samples: VecDeque<u64> = VecDeque::new();
    let window = (Duration::from_secs(60).as_secs() / TICK.as_secs()) as usize;
    let mut last = String::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        crate::logging::line_budget::flush();
        let total = hub.total_messages();
        samples.push_back(total);
        if samples.len() > window + 1 {
            samples.pop_front();
        }
        let oldest = samples.front().copied().unwrap_or(total);
        facts
            .messages_per_minute
            .store(total - oldest, Ordering::Relaxed);
        let line = line(&hub, &facts, &keyring);
        if line != last {
            crate::systemd::status(&line);
            last = line;
        }
    }
}
