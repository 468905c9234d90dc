//! Where the rooms' logs are, and how one is opened: a single chatd keeps
//! the default room's log in `STATE_DIR/history` (as before rooms) and
//! every other room's in `STATE_DIR/rooms/HEX`, `HEX` the room's name in
//! hex (`rooms/236f7073` is `#ops`'s), the same format; every log takes
//! its ids from one [`Ids`]. Tests keep them in memory. A node of a
//! cluster keeps them in the cluster's stream ([`SharedLogs`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chat_protocol::RoomName;
use prometheus_client::metrics::counter::Counter;

use super::{Accepted, Bounds, EmbeddedLog, HistoryError, Ids, RoomLog};

/// The folder of the other rooms' logs in the state directory.
pub const DIR_NAME: &str = "rooms";

/// The rooms' logs of a node of a cluster, kept in the cluster's stream
/// (`crate::cluster::rooms`).
pub trait SharedLogs: Send + Sync {
    /// `room`'s log within `bounds`, resting until the room takes a member
    /// here ([`RoomLog::catch_up`]).
    fn open(&self, room: &RoomName, bounds: Bounds) -> (Arc<dyn RoomLog>, Accepted);

    /// Removes what the cluster keeps of `room`'s log (the room was
    /// removed), in the background.
    fn remove(&self, room: &RoomName);
}

/// Opens, lists and removes the logs of the rooms other than the default.
pub struct RoomLogs {
    /// `STATE_DIR/rooms`; `None`: in memory only.
    dir: Option<PathBuf>,
    /// A cluster's stream, which keeps them instead.
    shared: Option<Arc<dyn SharedLogs>>,
    ids: Arc<Ids>,
    /// Where each failed write of a room's file is counted.
    write_failures: Counter,
}

impl RoomLogs {
    /// Logs in memory only, their ids from `ids` (the default room's).
    pub fn in_memory(ids: Arc<Ids>) -> Self {
        Self {
            dir: None,
            shared: None,
            ids,
            write_failures: Counter::default(),
        }
    }

    /// Logs in a cluster's stream ([`SharedLogs`]).
    pub fn shared(logs: Arc<dyn SharedLogs>) -> Self {
        Self {
            dir: None,
            shared: Some(logs),
            ids: Arc::default(),
            write_failures: Counter::default(),
        }
    }

    /// Logs in `state_dir/rooms`, their ids from `ids` (the default
    /// room's). Every log already there must be opened ([`RoomLogs::open`])
    /// before any room takes a message, so ids go on after all of theirs.
    /// Each failed write of a room's file is counted in `write_failures`.
    pub fn on_disk(state_dir: &Path, ids: Arc<Ids>, write_failures: Counter) -> Self {
        Self {
            dir: Some(state_dir.join(DIR_NAME)),
            shared: None,
            ids,
            write_failures,
        }
    }

    /// The ids every room's log takes.
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// The file of `room`'s log, if kept on disk.
    fn path(&self, room: &RoomName) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(room.to_hex()))
    }

    /// The rooms whose logs are on disk (files not named as a room's
    /// name in hex are left alone, with a warning).
    pub fn stored(&self) -> Result<Vec<RoomName>, HistoryError> {
        let Some(dir) = &self.dir else {
            return Ok(Vec::new());
        };
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(HistoryError {
                    path: dir.clone(),
                    source,
                });
            }
        };
        let mut rooms = Vec::new();
        for file in listing.flatten() {
            let name = file.file_name();
            match name.to_str().map(RoomName::from_hex) {
                Some(Ok(room)) => rooms.push(room),
                // The writer's temporary files are its own.
                _ if name.to_string_lossy().contains(".tmp") => {}
                _ => tracing::warn!(
                    "{}: not a room's log (a room's name in hex); it is left alone",
                    file.path().display()
                ),
            }
        }
        rooms.sort();
        Ok(rooms)
    }

    /// Opens `room`'s log (made empty if it has none yet) within `bounds`.
    pub fn open(
        &self,
        room: &RoomName,
        bounds: Bounds,
    ) -> Result<(Arc<dyn RoomLog>, Accepted), HistoryError> {
        if let Some(shared) = &self.shared {
            return Ok(shared.open(room, bounds));
        }
        let Some(path) = self.path(room) else {
            let (log, accepted) =
                EmbeddedLog::in_memory_sharing(bounds, self.ids.clone(), Some(room.clone()));
            return Ok((Arc::new(log), accepted));
        };
        if let Some(dir) = &self.dir {
            make_private_dir(dir).map_err(|source| HistoryError {
                path: dir.clone(),
                source,
            })?;
        }
        let (log, accepted) = EmbeddedLog::open_file(
            path,
            bounds,
            self.ids.clone(),
            Some(room.clone()),
            self.write_failures.clone(),
        )?;
        Ok((Arc::new(log), accepted))
    }

    /// Closes `log`, `room`'s, and removes its file: the room is gone with
    /// its history. Blocking (the writer's last batch): off the runtime.
    pub fn remove(&self, room: &RoomName, log: &dyn RoomLog) {
        log.close(Duration::from_secs(5));
        if let Some(shared) = &self.shared {
            shared.remove(room);
        }
        if let Some(path) = self.path(room) {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(
                    "{}: the history of the removed room {room} could not be removed: {e}",
                    path.display()
                ),
            }
        }
    }
}

/// Makes `dir` (mode 0700) if it does not exist.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}
