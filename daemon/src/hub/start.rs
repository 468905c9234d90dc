//! How the rooms are made: in memory (tests), the default room alone on
//! a log (a cluster's node), or every room kept in the state directory
//! opened before any takes a message, so ids go on after all of theirs.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use chat_protocol::RoomName;
use tokio::sync::Notify;

use super::Hub;
use super::room::Slot;
use crate::config::Current;
use crate::log::{Accepted, Bounds, EmbeddedLog, RoomLog, RoomLogs};
use crate::metrics::Metrics;
use crate::store::rooms::{RoomBook, RoomMeta};

/// What a hub with rooms starts with: where their logs and settings are,
/// and the settings kept (the rooms with a log on disk are opened too).
pub struct RoomsSetup {
    /// The other rooms' logs.
    pub logs: RoomLogs,
    /// The file of the rooms' settings; `None`: in memory only.
    pub book: Option<RoomBook>,
    /// The rooms' settings as kept.
    pub metas: BTreeMap<RoomName, RoomMeta>,
    /// The last id given when they were kept (see
    /// [`crate::store::rooms::Kept`]).
    pub last_id: u64,
}

impl Hub {
    /// Rooms in memory only under the configuration in force, counting
    /// into metrics of their own.
    pub fn new(config: Arc<Current>) -> Self {
        let (log, accepted) = EmbeddedLog::in_memory(Bounds::of(&config.get()));
        let setup = RoomsSetup {
            logs: RoomLogs::in_memory(log.ids()),
            book: None,
            metas: BTreeMap::new(),
            last_id: 0,
        };
        Self::with_rooms(config, Arc::new(log), accepted, setup, Metrics::default())
            .expect("rooms in memory always open")
    }

    /// The default room on `log` and the other rooms of `setup`, each
    /// opened with its log; an error when a room's log cannot be read.
    pub fn with_rooms(
        config: Arc<Current>,
        log: Arc<dyn RoomLog>,
        accepted: Accepted,
        setup: RoomsSetup,
        metrics: Metrics,
    ) -> Result<Self, crate::log::HistoryError> {
        let RoomsSetup {
            logs,
            book,
            mut metas,
            last_id,
        } = setup;
        logs.ids().raise(last_id);
        let current = config.get();
        let default = current.default_room.clone();
        let lobby_meta = metas.remove(&default).unwrap_or_default();
        // Every room with a log, and every room kept, is opened before
        // any takes a message: ids go on after all of theirs.
        let mut names: Vec<RoomName> = logs.stored()?;
        names.extend(metas.keys().cloned());
        names.sort();
        names.dedup();
        names.retain(|name| *name != default || {
            tracing::warn!(
                "{name} is the default room; its history is STATE_DIR/history, and the log of the room of that name made before is left unread"
            );
            false
        });
        let bounds = Bounds::of(&current).shared_by(names.len() + 1);
        let mut others = BTreeMap::new();
        for name in names {
            let (room_log, room_accepted) = logs.open(&name, bounds)?;
            let meta = metas.remove(&name).unwrap_or_default();
            let slot = Slot::new(
                name.clone(),
                Some(name.clone()),
                meta,
                room_log,
                room_accepted,
                bounds,
                metrics.clone(),
            );
            others.insert(name, Arc::new(slot));
        }
        let hub = Self::build(config, log, accepted, logs, book, lobby_meta, metrics);
        *hub.others.lock().expect("lock") = others;
        // The default room's share too.
        hub.reshare_bounds();
        Ok(hub)
    }

    fn build(
        config: Arc<Current>,
        log: Arc<dyn RoomLog>,
        accepted: Accepted,
        logs: RoomLogs,
        book: Option<RoomBook>,
        meta: RoomMeta,
        metrics: Metrics,
    ) -> Self {
        let current = config.get();
        let bounds = Bounds::of(&current);
        let default = current.default_room.clone();
        let lobby = Slot::new(default, None, meta, log, accepted, bounds, metrics.clone());
        Self {
            lobby,
            others: Mutex::new(BTreeMap::new()),
            logs,
            book,
            shared: std::sync::OnceLock::new(),
            config,
            total_messages: AtomicU64::new(0),
            presence_counted: Notify::new(),
            metrics,
        }
    }
}
