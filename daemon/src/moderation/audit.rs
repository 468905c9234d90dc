//! The record of who did what: every moderation act (kick, ban, unban,
//! mute, unmute, op, deop, a name removed from the registry) by the admin
//! or an operator, as one journal line and one line of
//! `STATE_DIR/audit` (JSON lines, mode 0600), which keeps the newest
//! [`MAX_ENTRIES`]: past twice that many lines, the file is written anew
//! with the newest ones (atomically). In a cluster each node records the
//! acts it carried out, and hands each to the cluster's shared record
//! (`crate::cluster::audit`), which `chatctl audit` reads on any node.

use std::collections::VecDeque;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chat_protocol::admin::AuditEntry;

use crate::store::{Store, StoreError};

/// The file's name in the state directory.
pub const FILE: &str = "audit";

/// Entries kept.
pub const MAX_ENTRIES: usize = 10_000;

/// The record (see the module documentation).
pub struct Audit {
    path: PathBuf,
    /// The newest entries, oldest first, and the lines the file holds.
    kept: Mutex<(VecDeque<AuditEntry>, usize)>,
    /// In a cluster: where each entry goes on to the shared record.
    shared: std::sync::OnceLock<tokio::sync::mpsc::Sender<AuditEntry>>,
}

/// Entries waiting for the shared record at most (NATS slow or away):
/// past it, an entry is kept in this node's file only.
pub const SHARED_QUEUE: usize = 256;

impl Audit {
    /// Reads `STATE_DIR/audit` (absent: empty; a line that does not read
    /// is skipped and said once: the record is for people, and a damaged
    /// line must not stop the chat).
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        let path = store.dir().join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read",
                    path,
                    source,
                    hint: "",
                });
            }
        };
        let mut entries = VecDeque::new();
        let mut lines = 0;
        let mut unread = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines += 1;
            match serde_json::from_str::<AuditEntry>(line) {
                Ok(entry) => entries.push_back(entry),
                Err(_) => unread += 1,
            }
            if entries.len() > MAX_ENTRIES {
                entries.pop_front();
            }
        }
        if unread > 0 {
            tracing::warn!(unread, path = %path.display(), "moderation: lines of the audit record that do not read were skipped");
        }
        Ok(Self {
            path,
            kept: Mutex::new((entries, lines)),
            shared: std::sync::OnceLock::new(),
        })
    }

    /// Hands every entry recorded from now on to the receiver too (a node
    /// of a cluster's publisher, once); `None` if it was done before.
    pub fn share(&self) -> Option<tokio::sync::mpsc::Receiver<AuditEntry>> {
        let (tx, rx) = tokio::sync::mpsc::channel(SHARED_QUEUE);
        self.shared.set(tx).ok().map(|()| rx)
    }

    /// Records `entry` (by the admin of `uid`, or an operator): the
    /// journal line, then the file (a failure to write is logged; the act
    /// stands).
    pub fn record(&self, uid: Option<u32>, entry: AuditEntry) {
        tracing::info!(
            uid,
            actor = %entry.actor,
            action = %entry.action,
            target = %entry.target,
            reason = entry.reason.as_deref().unwrap_or(""),
            until = entry.until,
            "moderation: {} {} by {}",
            entry.action,
            entry.target,
            entry.actor
        );
        if let Some(shared) = self.shared.get()
            && shared.try_send(entry.clone()).is_err()
        {
            tracing::warn!(
                "moderation: an act was recorded on this node only (the cluster's record is not keeping up)"
            );
        }
        let mut kept = self.kept.lock().expect("lock");
        let line = serde_json::to_string(&entry).expect("an entry serializes");
        kept.0.push_back(entry);
        if kept.0.len() > MAX_ENTRIES {
            kept.0.pop_front();
        }
        kept.1 += 1;
        let written = if kept.1 > 2 * MAX_ENTRIES {
            let mut text = Vec::new();
            for e in &kept.0 {
                text.extend(serde_json::to_vec(e).expect("an entry serializes"));
                text.push(b'\n');
            }
            kept.1 = kept.0.len();
            crate::store::write_atomic(&self.path, &text).map_err(|e| e.to_string())
        } else {
            append(&self.path, &line).map_err(|e| e.to_string())
        };
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), "moderation: the audit record was not written: {e}");
        }
    }

    /// The entries since `since` (Unix milliseconds), oldest first.
    pub fn since(&self, since: u64) -> Vec<AuditEntry> {
        let kept = self.kept.lock().expect("lock");
        kept.0.iter().filter(|e| e.ts >= since).cloned().collect()
    }
}

/// Appends one line to the file (made 0600).
fn append(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(format!("{line}\n").as_bytes())
}
