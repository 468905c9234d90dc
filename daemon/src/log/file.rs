//! `STATE_DIR/history`: the embedded log on disk, and the thread that
//! writes it.
//!
//! The file is JSON lines, mode 0600: a first line `{"last_id":N}` (the
//! last id given when the file was last rewritten, so ids continue after a
//! restart even when every entry has aged out), then one message per line
//! as the protocol's history entry (`{"id":…,"from":…,"text":…,"ts":…}`),
//! appended in id order, and after a clean stop a last line
//! `{"closed":N}`. A file without it was left by a crash, which may have
//! lost the last messages accepted: ids then jump by [`CRASH_ID_JUMP`], so
//! that an id a client saw is never given to another message.
//!
//! One thread writes it, so the room never waits on the disk: it takes
//! every entry that arrived while it was busy as one batch, appends the
//! batch with one write and one `fdatasync` (group commit), and when the
//! file holds about twice the bound it rewrites it to the bound (temp
//! file, fsync, rename, fsync the directory, as the key store does). A
//! write that fails (a full or read-only disk) is logged (throttled),
//! reported in `chatctl status`, and retried every few seconds by a whole
//! rewrite from memory, so nothing within the bounds is lost once the disk
//! takes writes again.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_protocol::HistoryEntry;
use chat_protocol::clock::now_ms;
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use tracing::Level;

use super::{Bounds, Entry, Tail};
use crate::logging::line_budget::LineBudget;

/// How often a failed write is tried again.
const RETRY: Duration = Duration::from_secs(2);

/// What the writer thread is told.
pub(super) enum Cmd {
    /// An accepted entry, to append.
    Entry(Entry),
    /// New bounds (reload).
    Bounds(Bounds),
    /// Write what is pending, then say so and stop.
    Close(std::sync::mpsc::Sender<()>),
}

/// One line of the file.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Record {
    /// Ids continue after this one (at least): the first line of a
    /// rewritten file.
    Mark { last_id: u64 },
    /// The last line of a file that chatd closed cleanly: nothing accepted
    /// was lost, ids may go on from the last one.
    Closed { closed: u64 },
    /// A message.
    Entry(HistoryEntry),
}

/// How far ids jump after a start that follows a crash: further than any
/// batch a crash can lose (the messages accepted but not yet written), so
/// that no id a client may have seen is ever given to another message.
pub(super) const CRASH_ID_JUMP: u64 = 1_000_000;

/// What was read from the file at start.
pub(super) struct Loaded {
    /// The entries within the bounds, and the last id.
    pub(super) tail: Tail,
    /// Lines in the file.
    pub(super) lines: usize,
    /// The file must be rewritten before anything is appended (a torn or
    /// damaged line, a crash's id jump to record, or no file yet).
    pub(super) rewrite: bool,
    /// The timestamp of the file's first entry.
    pub(super) oldest: Option<u64>,
}

/// Reads `path` (missing: an empty log) within `bounds` at `now_ms`. A torn
/// last line (a crash in the middle of a write) and damaged lines are
/// skipped with a warning; after a crash (no closing record), ids jump by
/// [`CRASH_ID_JUMP`].
pub(super) fn load(path: &Path, bounds: Bounds, now_ms: u64) -> std::io::Result<Loaded> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded {
                tail: Tail::new(bounds, 0),
                lines: 0,
                rewrite: true,
                oldest: None,
            });
        }
        Err(e) => return Err(e),
    };
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            "{} is readable by others (mode {:o}); it holds the room's messages: fix it with `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    let mut reader = BufReader::new(file);
    let (mut lines, mut rewrite, mut line) = (0usize, false, Vec::new());
    let (mut entries, mut floor, mut clean) = (Vec::<Entry>::new(), 0u64, false);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        lines += 1;
        // Only a closing record as the very last line means a clean stop.
        clean = false;
        let whole = line.last() == Some(&b'\n');
        if !whole {
            // Unterminated: the file is rewritten so that the next append
            // does not run into it.
            rewrite = true;
        }
        let record = match serde_json::from_slice::<Record>(&line) {
            Ok(record) => record,
            Err(_) if !whole => {
                tracing::warn!(
                    "{} line {lines}: the last record is incomplete (chatd stopped while writing it); it is skipped",
                    path.display()
                );
                continue;
            }
            Err(e) => {
                rewrite = true;
                tracing::warn!(
                    "{} line {lines}: a damaged record is skipped ({e})",
                    path.display()
                );
                continue;
            }
        };
        match record {
            Record::Mark { last_id } => floor = floor.max(last_id),
            Record::Closed { closed } => {
                floor = floor.max(closed);
                clean = true;
            }
            Record::Entry(e) => {
                if entries.last().is_some_and(|last| e.id <= last.id) {
                    rewrite = true;
                    tracing::warn!(
                        "{} line {lines}: message id {} does not follow the one before; it is skipped",
                        path.display(),
                        e.id
                    );
                } else {
                    entries.push(Arc::new(e));
                }
            }
        }
    }
    let oldest = entries.first().map(|e| e.ts);
    let last_id = floor.max(entries.last().map_or(0, |e| e.id));
    let mut tail = Tail::seeded(bounds, entries, last_id, now_ms);
    if !clean && lines > 0 {
        // The ids jumped over are never given: a client that resumes
        // after the last id on disk, or after one lost in the crash,
        // missed nothing the log could give it.
        tail.jump(CRASH_ID_JUMP);
        rewrite = true;
        tracing::warn!(
            "{}: chatd did not stop cleanly last time; the messages accepted just before may be missing from the history, and message ids go on from {} so that none is used twice",
            path.display(),
            tail.last_id() + 1
        );
    }
    Ok(Loaded {
        tail,
        lines,
        rewrite,
        oldest,
    })
}

/// The writer thread's state.
pub(super) struct Writer {
    pub(super) path: PathBuf,
    /// The entries the file should hold, within the bounds.
    pub(super) mirror: Tail,
    /// Lines in the file now.
    pub(super) lines: usize,
    /// The file is not known to be good (a failed write, a torn line):
    /// the next write is a whole rewrite.
    pub(super) rewrite: bool,
    /// What `chatctl status` shows while writes fail.
    pub(super) error: Arc<Mutex<Option<String>>>,
    /// Failed writes (`chatd_log_persist_errors_total`).
    pub(super) failures: Counter,
    pub(super) file: Option<File>,
    /// The timestamp of the oldest entry in the file, if known.
    pub(super) file_oldest: Option<u64>,
}

/// How often the file is checked for entries past the age bound: a tenth
/// of it, from 1 s to a minute.
fn age_check(max_age: Duration) -> Duration {
    (max_age / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

static FAILED: LineBudget =
    LineBudget::new("cannot save the room's history", 1, Duration::from_secs(60));

impl Writer {
    /// Runs until told to close or every sender is gone.
    pub(super) fn run(mut self, rx: Receiver<Cmd>) {
        if self.rewrite {
            self.write(&[]);
        }
        loop {
            let wait = if self.failing() {
                Some(RETRY)
            } else {
                self.mirror.bounds().max_age.map(age_check)
            };
            let first = if let Some(wait) = wait {
                match rx.recv_timeout(wait) {
                    Ok(cmd) => Some(cmd),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match rx.recv() {
                    Ok(cmd) => Some(cmd),
                    Err(_) => return,
                }
            };
            self.age_out();
            let mut batch = Vec::new();
            let mut done = None;
            for cmd in first.into_iter().chain(rx.try_iter()) {
                match cmd {
                    Cmd::Entry(e) => {
                        self.mirror.push(e.clone(), now_ms());
                        batch.push(e);
                    }
                    Cmd::Bounds(bounds) => {
                        self.mirror.set_bounds(bounds, now_ms());
                        self.rewrite = true;
                    }
                    Cmd::Close(tx) => done = Some(tx),
                }
            }
            self.write(&batch);
            if let Some(done) = done {
                self.close();
                let _ = done.send(());
                return;
            }
        }
    }

    /// With an age bound, an entry that has aged out leaves the file too
    /// (by the next rewrite, due now), even when no message comes.
    fn age_out(&mut self) {
        let Some(oldest) = self.mirror.bounds().oldest_ts(now_ms()) else {
            return;
        };
        if self.file_oldest.is_some_and(|ts| ts < oldest) {
            self.rewrite = true;
        }
    }

    fn failing(&self) -> bool {
        self.error.lock().expect("lock").is_some()
    }

    /// Writes `batch` (already in the mirror): appended, or the whole file
    /// rewritten when it is due.
    fn write(&mut self, batch: &[Entry]) {
        let count = self.mirror.bounds().count;
        let result = if count == 0 {
            self.remove()
        } else if self.rewrite || self.lines + batch.len() >= (2 * count).max(count + 16) {
            self.compact()
        } else if batch.is_empty() {
            Ok(())
        } else {
            self.append(batch)
        };
        match result {
            Ok(()) => {
                if self.error.lock().expect("lock").take().is_some() {
                    tracing::info!("{}: the room's history is saved again", self.path.display());
                }
            }
            Err(e) => {
                self.failures.inc();
                self.rewrite = true;
                self.file = None;
                let message = format!(
                    "cannot write {}: {e} (is the disk full or read-only?); messages are kept in memory only until it can be written",
                    self.path.display()
                );
                crate::budgeted!(FAILED, Level::WARN, "{message}");
                *self.error.lock().expect("lock") = Some(message);
            }
        }
    }

    fn append(&mut self, batch: &[Entry]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(batch.len() * 128);
        for e in batch {
            serde_json::to_writer(&mut buf, e.as_ref()).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(open_append(&self.path)?),
        };
        file.write_all(&buf)?;
        file.sync_data()?;
        self.lines += batch.len();
        self.file_oldest = self.file_oldest.or(batch.first().map(|e| e.ts));
        Ok(())
    }

    /// Rewrites the file to the mirror: the mark, then the entries kept.
    fn compact(&mut self) -> std::io::Result<()> {
        self.mirror.trim(now_ms());
        let mut buf = Vec::with_capacity(self.mirror.len() * 128 + 32);
        serde_json::to_writer(
            &mut buf,
            &Record::Mark {
                last_id: self.mirror.last_id(),
            },
        )
        .map_err(std::io::Error::other)?;
        buf.push(b'\n');
        for e in self.mirror.iter() {
            serde_json::to_writer(&mut buf, e.as_ref()).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        self.file = None;
        crate::store::write_atomic(&self.path, &buf).map_err(std::io::Error::other)?;
        self.file = Some(open_append(&self.path)?);
        self.lines = self.mirror.len() + 1;
        self.file_oldest = self.mirror.iter().next().map(|e| e.ts);
        self.rewrite = false;
        Ok(())
    }

    /// Ends the file with the closing record (a clean stop: no id jump at
    /// the next start), if it is in good order.
    fn close(&mut self) {
        if self.rewrite || self.mirror.bounds().count == 0 {
            return;
        }
        let mut buf = Vec::new();
        let closed = Record::Closed {
            closed: self.mirror.last_id(),
        };
        if serde_json::to_writer(&mut buf, &closed).is_err() {
            return;
        }
        buf.push(b'\n');
        let written = match &mut self.file {
            Some(file) => file.write_all(&buf).and_then(|()| file.sync_data()),
            None => open_append(&self.path).and_then(|mut f| {
                f.write_all(&buf)?;
                f.sync_data()
            }),
        };
        if let Err(e) = written {
            tracing::warn!("cannot close {}: {e}", self.path.display());
        }
    }

    /// `history = 0`: nothing is kept on disk.
    fn remove(&mut self) -> std::io::Result<()> {
        self.file = None;
        self.lines = 0;
        self.file_oldest = None;
        match std::fs::remove_file(&self.path) {
            Ok(()) => {
                tracing::info!(
                    "history = 0: removed {}; no message is kept on disk",
                    self.path.display()
                );
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }?;
        self.rewrite = false;
        Ok(())
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}
