//! Start-up: the daemon's parts, assembled from the state directory and
//! the configuration, and the tasks that run beside the listeners.

use std::net::SocketAddr;
use std::sync::Arc;

use chat_protocol::clock::now_secs;
use tokio_util::task::TaskTracker;

use super::{Handle, check_machine};
use crate::Error;
use crate::cluster::Peers;
use crate::cluster::start::Starting;
use crate::config::reload::Reloader;
use crate::config::{Config, Current};
use crate::door::Door;
use crate::hub::{Hub, RoomsSetup};
use crate::metrics::{Metrics, Options};
use crate::moderation::Moderation;
use crate::ops::status::Facts;
use crate::per_address::Guesses;
use crate::registry::{self, Registry};
use crate::state::{AppState, Life};
use crate::store::keyring::{Keyring, Keys};
use crate::store::rooms::RoomBook;
use crate::store::{PreviousKey, Store, password};

/// The daemon's parts, assembled from `store` (its keys and password are
/// loaded, or made on first start) and `config`, for a chat listener at
/// `listen_addr`; also the current key and whether it was made now. On a
/// node of a cluster it joins NATS first, each step tried again while NATS
/// is not ready, up to `cluster_start_timeout` (`crate::cluster::start`).
/// [`super::run`] serves with it; tests run the room and sessions on it
/// in-process.
pub async fn assemble(
    config: Config,
    store: Store,
    listen_addr: SocketAddr,
    reloader: Reloader,
    handle: Handle,
) -> Result<(AppState, chat_protocol::Token, bool), Error> {
    let metrics = Metrics::new(Options {
        cluster: !config.cluster.is_empty(),
        per_room: config.metrics_per_room,
    });
    let loaded = Loaded::from(&config, &store, &metrics).await?;
    let ours_id = loaded.keys.token.key_id();
    let mut starting = Starting::new(config.cluster_start_timeout.0);
    let started = Peers::start(
        &config,
        listen_addr,
        &store,
        loaded.keys,
        &loaded.gate,
        &metrics,
        &mut starting,
    )
    .await?;
    // A key made now, but the cluster's taken instead, was not made now.
    let created = loaded.created && started.keys.token.key_id() == ours_id;
    let mut names = loaded.names;
    if let Some(default) = started
        .peers
        .names_default(&config, created, &mut starting)
        .await?
    {
        names.default = default;
    }
    let token = started.keys.token.clone();
    let previous = started.keys.previous.clone();
    let config = Arc::new(Current::new(config));
    let setup = match started.shared_rooms {
        // A node of a cluster: the rooms' settings are the cluster's.
        Some(listed) => RoomsSetup {
            logs: started.rooms,
            book: None,
            metas: listed.metas,
            last_id: 0,
        },
        None => {
            let (book, kept) = RoomBook::open(store.dir())?;
            RoomsSetup {
                logs: started.rooms,
                book: Some(book),
                metas: kept.rooms,
                last_id: kept.last_id,
            }
        }
    };
    let hub = Hub::with_rooms(
        config.clone(),
        started.log,
        started.accepted,
        setup,
        metrics.clone(),
    )?;
    let app = AppState {
        hub: Arc::new(hub),
        registry: Arc::new(Registry::new(config.clone(), names)),
        moderation: Arc::new(loaded.moderation),
        audit: Arc::new(loaded.audit),
        config,
        facts: Arc::new(Facts::new(listen_addr)),
        door: Arc::new(Door::default()),
        guesses: Arc::new(Guesses::default()),
        keyring: Arc::new(Keyring::new(started.keys, loaded.gate, store)),
        peers: Arc::new(started.peers),
        admin_gid: loaded.admin_gid,
        metrics,
        life: Life {
            shutdown: handle.shutdown.clone(),
            sessions: TaskTracker::new(),
            reloader: Arc::new(reloader),
        },
    };
    app.peers.serve(app.cluster(), &mut starting).await?;
    if let Some(p) = previous {
        app.rotation().schedule_expiry(p.token.key_id(), p.expires);
    }
    Ok((app, token, created))
}

/// What a start reads or makes before it serves.
struct Loaded {
    admin_gid: Option<u32>,
    keys: Keys,
    /// Whether the key was made now (first start).
    created: bool,
    gate: password::Gate,
    /// The names registry in the state directory.
    names: registry::file::Opened,
    /// The bans in the state directory.
    moderation: Moderation,
    /// The record of who did what.
    audit: crate::moderation::audit::Audit,
}

impl Loaded {
    async fn from(config: &Config, store: &Store, metrics: &Metrics) -> Result<Self, Error> {
        let admin_gid = check_machine(config)?;
        let (identity, token, created) = store.load_or_create_keys()?;
        let previous: Option<PreviousKey> =
            store.load_previous_key(&identity, &token, now_secs())?;
        let gate = password_gate(config, store, metrics).await?;
        let names = registry::file::open(store, config, created)?;
        let moderation = Moderation::open(store)?;
        let audit = crate::moderation::audit::Audit::open(store)?;
        Ok(Self {
            admin_gid,
            keys: Keys {
                identity,
                token,
                previous,
            },
            created,
            gate,
            names,
            moderation,
            audit,
        })
    }
}

/// The password check in force at start: the admin-set hash (checked
/// against sane bounds) and the configured password file, hashed now.
async fn password_gate(
    config: &Config,
    store: &Store,
    metrics: &Metrics,
) -> Result<password::Gate, Error> {
    let state_dir = store.dir();
    let gate = password::Gate::new(metrics.clone());
    if let Some(admin_hash) = store.load_password_hash()? {
        password::check_stored_hash(&admin_hash).map_err(|problem| Error::StoredHash {
            dir: state_dir.to_path_buf(),
            problem,
        })?;
        gate.set_admin_hash(Some(admin_hash));
    }
    if let Some(file) = &config.password_file {
        let password = password::read_password_file(file)?;
        let hash = gate.hash(password).await?;
        gate.set_file_hash(Some(hash));
    }
    Ok(gate)
}
