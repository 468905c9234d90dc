//! The embedded backend: the log of a single chatd, kept in memory and in
//! `STATE_DIR/history` (see [`super::file`] for the file and its writer).
//!
//! Accepted means: in the in-memory log, in order. [`EmbeddedLog::append`]
//! numbers the entry, keeps it, hands it to the [`Accepted`] stream and to
//! the writer thread, all under one short lock, and resolves at once; the
//! disk write follows in the writer's next batch. Durability: a crash (or
//! `kill -9`, or a power loss) can lose the messages accepted since the
//! writer's last `fdatasync`, that is the batch being written (usually
//! milliseconds of chat); a clean stop writes everything first. Ids are
//! never reused: they count on from the file's last id after a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_protocol::RoomName;
use chat_protocol::clock::now_ms;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

use super::file::{Cmd, Writer};
use super::{Accepted, After, Appending, Bounds, Draft, Entry, Ids, RoomLog, Tail};

/// The file's name in the state directory.
pub const FILE_NAME: &str = "history";

struct Inner {
    tail: Tail,
    accepted: mpsc::UnboundedSender<Entry>,
    /// The writer thread's queue; `None` in memory only (or once closed).
    writer: Option<std::sync::mpsc::Sender<Cmd>>,
}

/// The room's history file exists but cannot be read: starting without
/// it would rewrite it and give its message ids out again.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}; chatd needs it to continue the room's history and message ids: fix its permissions (chatd's user reads and writes it, mode 600), or move it away to start the history afresh", path.display())]
pub struct HistoryError {
    /// The file.
    pub path: PathBuf,
    /// The system's error.
    pub source: std::io::Error,
}

/// The embedded log (see the module documentation).
pub struct EmbeddedLog {
    inner: Mutex<Inner>,
    error: Arc<Mutex<Option<String>>>,
    /// The ids of every log of this chatd.
    ids: Arc<Ids>,
    /// The room whose log this is; `None`: the default room.
    room: Option<RoomName>,
}

impl EmbeddedLog {
    /// A log in memory only, starting at id 1 (tests, and the hub's
    /// stand-alone constructor).
    pub fn in_memory(bounds: Bounds) -> (Self, Accepted) {
        Self::in_memory_sharing(bounds, Arc::default(), None)
    }

    /// A log in memory only of `room` (`None`: the default room), its ids
    /// from `ids`.
    pub fn in_memory_sharing(
        bounds: Bounds,
        ids: Arc<Ids>,
        room: Option<RoomName>,
    ) -> (Self, Accepted) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = Self {
            inner: Mutex::new(Inner {
                tail: Tail::new(bounds, 0),
                accepted: tx,
                writer: None,
            }),
            error: Arc::default(),
            ids,
            room,
        };
        (log, rx)
    }

    /// The ids this log shares with the other rooms' logs.
    pub fn ids(&self) -> Arc<Ids> {
        self.ids.clone()
    }

    /// Opens the log kept in `state_dir` (already checked and locked by
    /// the store), and starts its writer thread. A file that exists but
    /// cannot be read is an error: starting without it would rewrite it
    /// and give its ids out again. (A file that can be read but holds
    /// damaged records is not: those records are skipped, with a warning.)
    /// Each failed write of the file is counted in `write_failures`.
    pub fn open(
        state_dir: &Path,
        bounds: Bounds,
        write_failures: Counter,
    ) -> Result<(Self, Accepted), HistoryError> {
        Self::open_file(
            state_dir.join(FILE_NAME),
            bounds,
            Arc::default(),
            None,
            write_failures,
        )
    }

    /// Opens the log of `room` (`None`: the default room) kept in `path`,
    /// its ids from `ids` (raised past the file's), and starts its writer
    /// thread; as [`EmbeddedLog::open`].
    pub fn open_file(
        path: PathBuf,
        bounds: Bounds,
        ids: Arc<Ids>,
        room: Option<RoomName>,
        write_failures: Counter,
    ) -> Result<(Self, Accepted), HistoryError> {
        let error = Arc::new(Mutex::new(None));
        let loaded = match super::file::load(&path, bounds, now_ms()) {
            Ok(loaded) => loaded,
            Err(source) => return Err(HistoryError { path, source }),
        };
        if loaded.tail.last_id() > 0 {
            tracing::info!(
                messages = loaded.tail.len(),
                last_id = loaded.tail.last_id(),
                "history loaded from {}",
                path.display()
            );
        }
        ids.raise(loaded.tail.last_id());
        let (cmd_tx, cmd_rx) = std::sync::mpsc::channel();
        let tail = &loaded.tail;
        let mut writer = Writer {
            path,
            mirror: Tail::seeded(bounds, tail.iter().cloned(), tail.last_id(), now_ms()),
            lines: loaded.lines,
            rewrite: loaded.rewrite,
            error: error.clone(),
            failures: write_failures,
            file: None,
            file_oldest: loaded.oldest,
        };
        writer.begin();
        let spawned = std::thread::Builder::new()
            .name("history".into())
            .spawn(move || writer.run(cmd_rx));
        let cmd_tx = match spawned {
            Ok(_) => Some(cmd_tx),
            Err(e) => {
                let message =
                    format!("cannot start the history writer: {e}; history is kept in memory only");
                tracing::error!("{message}");
                *error.lock().expect("lock") = Some(message);
                None
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let log = Self {
            inner: Mutex::new(Inner {
                tail: loaded.tail,
                accepted: tx,
                writer: cmd_tx,
            }),
            error,
            ids,
            room,
        };
        Ok((log, rx))
    }

    /// Accepts `draft` now: its id, in memory, to the stream and the writer.
    fn accept(&self, mut draft: Draft) -> u64 {
        let now = now_ms();
        draft.room.clone_from(&self.room);
        let mut inner = self.inner.lock().expect("lock");
        // Under this log's lock: the room's ids increase in its order.
        let id = self.ids.next();
        let entry = Arc::new(draft.into_entry(id));
        inner.tail.push(entry.clone(), now);
        if let Some(writer) = &inner.writer {
            let _ = writer.send(Cmd::Entry(entry.clone()));
        }
        let _ = inner.accepted.send(entry);
        id
    }
}

impl RoomLog for EmbeddedLog {
    fn append(&self, draft: Draft) -> Appending<'_> {
        let id = self.accept(draft);
        Box::pin(std::future::ready(Ok(id)))
    }

    fn after(&self, id: u64, limit: usize) -> After {
        let mut inner = self.inner.lock().expect("lock");
        inner.tail.trim(now_ms());
        inner.tail.after(id, limit)
    }

    fn last_id(&self) -> u64 {
        self.inner.lock().expect("lock").tail.last_id()
    }

    fn kept_after(&self) -> Option<u64> {
        Some(self.inner.lock().expect("lock").tail.kept_after())
    }

    fn set_bounds(&self, bounds: Bounds) {
        let mut inner = self.inner.lock().expect("lock");
        if inner.tail.bounds() == bounds {
            return;
        }
        inner.tail.set_bounds(bounds, now_ms());
        if let Some(writer) = &inner.writer {
            let _ = writer.send(Cmd::Bounds(bounds));
        }
    }

    fn persist_error(&self) -> Option<String> {
        self.error.lock().expect("lock").clone()
    }

    fn close(&self, bound: Duration) {
        let Some(writer) = self.inner.lock().expect("lock").writer.take() else {
            return;
        };
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        if writer.send(Cmd::Close(done_tx)).is_ok() && done_rx.recv_timeout(bound).is_err() {
            tracing::warn!(
                "the room's history was not all written within {bound:?}; the last messages may be lost"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(text: &str) -> Draft {
        Draft {
            room: None,
            from: "ace".into(),
            text: text.into(),
            ts: now_ms(),
            action: false,
            cid: None,
        }
    }

    const BOUNDS: Bounds = Bounds {
        count: 3,
        max_age: None,
        max_bytes: usize::MAX,
    };

    fn texts(after: &After) -> Vec<(u64, String)> {
        after
            .entries
            .iter()
            .map(|e| (e.id, e.text.clone()))
            .collect()
    }

    #[test]
    fn entries_survive_a_reopen_and_ids_continue() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut accepted) =
            EmbeddedLog::open(dir.path(), BOUNDS, Counter::default()).unwrap();
        for i in 1..=5 {
            log.accept(draft(&format!("m{i}")));
        }
        for id in 1..=5 {
            assert_eq!(accepted.try_recv().unwrap().id, id);
        }
        log.close(Duration::from_secs(10));
        let mode = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        let (log, _accepted) = EmbeddedLog::open(dir.path(), BOUNDS, Counter::default()).unwrap();
        let after = log.after(0, 10);
        assert_eq!(
            texts(&after),
            [(3, "m3".into()), (4, "m4".into()), (5, "m5".into())]
        );
        assert_eq!(log.accept(draft("m6")), 6);
        log.close(Duration::from_secs(10));
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_file_mended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            "{\"last_id\":7}\n{\"id\":8,\"from\":\"ace\",\"text\":\"kept\",\"ts\":1}\n{\"id\":9,\"from\":\"ace\",\"te",
        )
        .unwrap();
        let (log, _accepted) = EmbeddedLog::open(dir.path(), BOUNDS, Counter::default()).unwrap();
        assert_eq!(texts(&log.after(0, 10)), [(8, "kept".into())]);
        // A crash may have lost what came after 8: ids jump past it.
        let next = 8 + super::super::file::CRASH_ID_JUMP + 1;
        assert_eq!(log.accept(draft("next")), next);
        log.close(Duration::from_secs(10));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("\"te\n") && text.ends_with('\n'), "{text}");
        // Closed cleanly this time: no jump.
        let (log, _accepted) = EmbeddedLog::open(dir.path(), BOUNDS, Counter::default()).unwrap();
        assert_eq!(
            texts(&log.after(0, 10)),
            [(8, "kept".into()), (next, "next".into())]
        );
        assert_eq!(log.accept(draft("after")), next + 1);
        log.close(Duration::from_secs(10));
    }

    #[test]
    fn a_crash_before_the_first_write_is_still_seen_as_one() {
        use super::super::file::{CRASH_ID_JUMP, load};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        // No file yet; then a file that ends with a clean stop at id 7.
        let closed = "{\"id\":7,\"from\":\"ace\",\"text\":\"kept\",\"ts\":1}\n{\"closed\":7}\n";
        for (before, last_id) in [(None, 0), (Some(closed), 7)] {
            if let Some(text) = before {
                std::fs::write(&path, text).unwrap();
            }
            let (log, _accepted) =
                EmbeddedLog::open(dir.path(), BOUNDS, Counter::default()).unwrap();
            // Open is done: ids may be given from now on, and a crash
            // before the writer wrote them leaves the file as it is now.
            // The next start must read it as a crash and jump over them.
            let left = load(&path, BOUNDS, now_ms()).unwrap();
            assert!(
                left.tail.last_id() >= last_id + CRASH_ID_JUMP,
                "after a crash, ids would go on from {}",
                left.tail.last_id() + 1
            );
            log.close(Duration::from_secs(10));
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn the_file_is_compacted_to_the_bound_and_history_zero_keeps_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let (log, _accepted) = EmbeddedLog::open(dir.path(), BOUNDS, Counter::default()).unwrap();
        for i in 0..100 {
            log.accept(draft(&format!("m{i}")));
        }
        log.close(Duration::from_secs(10));
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines <= 2 * 19 + 1, "{lines} lines for a bound of 3");
        let none = Bounds {
            count: 0,
            max_age: None,
            max_bytes: usize::MAX,
        };
        let (log, _accepted) = EmbeddedLog::open(dir.path(), none, Counter::default()).unwrap();
        log.accept(draft("secret"));
        log.close(Duration::from_secs(10));
        assert!(!path.exists(), "history = 0 leaves no file");
    }
}
