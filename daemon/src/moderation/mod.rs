//! Moderation's state: the bans in force (and what they match), kept in
//! memory for the join checks and written whole to `STATE_DIR/moderation`
//! (atomically, mode 0600) before a change is in force, so that bans
//! survive a restart. In a cluster the same book is one value in NATS
//! (`crate::cluster::moderation`), which every node follows.
//!
//! A ban ends by itself at its `until`: it stops matching at once, and the
//! next change (or the sweep, every [`SWEEP_EVERY`]) drops it from the
//! book. What an order does (end sessions, tell the room) is in
//! `crate::ops::moderate`; the rules an order is held to are there too.

pub mod audit;
pub mod ban;
pub mod file;
pub mod mute;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_protocol::clock::now_ms;
use chat_protocol::identity::Fingerprint;
use serde::{Deserialize, Serialize};

use self::ban::{BanRecord, Who};
use self::mute::MuteRecord;
use crate::store::{Store, StoreError};

/// The most bans kept at once: the book stays small enough to write whole
/// at each change, and to be one NATS value in a cluster.
pub const MAX_BANS: usize = 1000;

/// The most operators a room has.
pub const MAX_OPERATORS: usize = 100;

/// How often bans that ended are dropped from the book.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Everything moderation keeps.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Book {
    /// The bans, oldest first.
    #[serde(default)]
    pub bans: Vec<BanRecord>,
    /// The mutes, oldest first.
    #[serde(default)]
    pub mutes: Vec<MuteRecord>,
    /// The room's operators: registered names, as the admin wrote them.
    #[serde(default)]
    pub operators: Vec<String>,
    /// The operator who made the last unban or unmute (absent: the admin),
    /// so that every node tells its room who lifted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted_by: Option<String>,
}

impl Book {
    /// Drops what ended before `now`; whether anything did.
    pub fn prune(&mut self, now: u64) -> bool {
        let before = (self.bans.len(), self.mutes.len());
        self.bans.retain(|b| b.in_force(now));
        self.mutes.retain(|m| m.in_force(now));
        (self.bans.len(), self.mutes.len()) != before
    }

    /// Whether `name` is an operator's (any case).
    pub fn is_operator(&self, name: &str) -> bool {
        self.operators.iter().any(|o| o.eq_ignore_ascii_case(name))
    }

    /// Whether anything in the book ended before `now`.
    pub fn has_ended(&self, now: u64) -> bool {
        self.bans.iter().any(|b| !b.in_force(now)) || self.mutes.iter().any(|m| !m.in_force(now))
    }

    /// The first mute in force at `now` that silences `who`.
    pub fn mute_on(&self, who: &Who<'_>, now: u64) -> Option<&MuteRecord> {
        self.mutes
            .iter()
            .find(|m| m.in_force(now) && m.matches(who))
    }

    /// The names made operators (`true`) or no longer (`false`) since
    /// `before`.
    pub fn operators_changed_since<'a>(&'a self, before: &'a Book) -> Vec<(&'a str, bool)> {
        let added = self
            .operators
            .iter()
            .filter(|o| !before.is_operator(o))
            .map(|o| (o.as_str(), true));
        let removed = before
            .operators
            .iter()
            .filter(|o| !self.is_operator(o))
            .map(|o| (o.as_str(), false));
        added.chain(removed).collect()
    }

    /// The mutes in `self` that `before` did not hold.
    pub fn mutes_added_since<'a>(&'a self, before: &Book) -> Vec<&'a MuteRecord> {
        self.mutes
            .iter()
            .filter(|m| !before.mutes.contains(m))
            .collect()
    }

    /// The mutes `before` held, in force at `now`, that `self` does not.
    pub fn mutes_lifted_since<'a>(&self, before: &'a Book, now: u64) -> Vec<&'a MuteRecord> {
        before
            .mutes
            .iter()
            .filter(|m| {
                m.in_force(now)
                    && !self
                        .mutes
                        .iter()
                        .any(|n| n.name.eq_ignore_ascii_case(&m.name))
            })
            .collect()
    }

    /// The first ban in force at `now` that matches `who`.
    pub fn ban_on(&self, who: &Who<'_>, now: u64) -> Option<&BanRecord> {
        self.bans.iter().find(|b| b.in_force(now) && b.matches(who))
    }

    /// The bans in `self` that `before` did not hold (a ban made again
    /// with a new reason or length counts as new).
    pub fn added_since<'a>(&'a self, before: &Book) -> Vec<&'a BanRecord> {
        self.bans
            .iter()
            .filter(|b| !before.bans.contains(b))
            .collect()
    }

    /// The bans `before` held that `self` does not, and that had not
    /// ended by `now` (lifted, not lapsed).
    pub fn lifted_since<'a>(&self, before: &'a Book, now: u64) -> Vec<&'a BanRecord> {
        before
            .bans
            .iter()
            .filter(|b| b.in_force(now) && !self.bans.iter().any(|n| n.target == b.target))
            .collect()
    }
}

/// Why a change of the book was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// The rules refused it: a stable code and words for people.
    Refused(&'static str, String),
    /// It could not be written to the state directory: nothing changed.
    NotStored(String),
    /// A cluster's NATS is out of reach (or kept changing the book).
    Unavailable(String),
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeError::Refused(_, why) => f.write_str(why),
            ChangeError::NotStored(e) => write!(f, "moderation's state was not written: {e}"),
            ChangeError::Unavailable(e) => write!(f, "the cluster is unavailable: {e}"),
        }
    }
}

/// A change of the book, put in force on this node.
pub struct Changed {
    /// The book after the change.
    pub after: Arc<Book>,
    /// The book before it.
    pub before: Arc<Book>,
    /// The sessions here that the change ended.
    pub ended: usize,
}

/// Moderation's state on this node (see the module documentation).
pub struct Moderation {
    /// `STATE_DIR/moderation`.
    path: PathBuf,
    /// The book in force; replaced whole, read without waiting.
    book: Mutex<Arc<Book>>,
    /// Held by each change from read to written, so that the file is
    /// written in the order of the changes.
    writes: tokio::sync::Mutex<()>,
}

impl Moderation {
    /// Reads `STATE_DIR/moderation` (absent: nothing is banned; damaged:
    /// the start stops, naming the file: a ban dropped in silence would
    /// let someone in).
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        let path = store.dir().join(file::FILE);
        let mut book = file::read(&path)?;
        book.prune(now_ms());
        Ok(Self {
            path,
            book: Mutex::new(Arc::new(book)),
            writes: tokio::sync::Mutex::new(()),
        })
    }

    /// The book in force.
    pub fn book(&self) -> Arc<Book> {
        self.book.lock().expect("lock").clone()
    }

    /// The ban in force on a join from `ip`, if any (checked before the
    /// password: a banned address costs no argon2).
    pub fn banned_address(&self, ip: IpAddr) -> Option<BanRecord> {
        let who = Who {
            name: None,
            identity: None,
            ip: Some(ip),
        };
        self.book().ban_on(&who, now_ms()).cloned()
    }

    /// The ban in force on a join of `name` that proved `identity`, if
    /// any (checked once the name's form is known good).
    pub fn banned(&self, name: &str, identity: Option<Fingerprint>) -> Option<BanRecord> {
        let who = Who {
            name: Some(name),
            identity,
            ip: None,
        };
        self.book().ban_on(&who, now_ms()).cloned()
    }

    /// Whether `name` is an operator's (any case).
    pub fn is_operator(&self, name: &str) -> bool {
        self.book().is_operator(name)
    }

    /// The mute in force that silences `who`, if any.
    pub fn muted(&self, who: &Who<'_>) -> Option<MuteRecord> {
        self.book().mute_on(who, now_ms()).cloned()
    }

    /// Puts `book` in force (a cluster's value, as it changed); the book
    /// it replaces.
    pub fn install_shared(&self, book: Arc<Book>) -> Arc<Book> {
        std::mem::replace(&mut *self.book.lock().expect("lock"), book)
    }

    /// Changes a single chatd's book by `change` (on a copy without the
    /// bans that ended), writes the file, then puts it in force: the book
    /// after, and the book before.
    pub async fn change_here(
        &self,
        change: impl FnOnce(&mut Book) -> Result<(), ChangeError>,
    ) -> Result<(Arc<Book>, Arc<Book>), ChangeError> {
        let _turn = self.writes.lock().await;
        let before = self.book();
        let mut book = (*before).clone();
        book.prune(now_ms());
        change(&mut book)?;
        self.write(&book).await?;
        let after = Arc::new(book);
        *self.book.lock().expect("lock") = after.clone();
        Ok((after, before))
    }

    /// Writes `book` to `STATE_DIR/moderation`, off the runtime.
    async fn write(&self, book: &Book) -> Result<(), ChangeError> {
        let text = file::render(book);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || crate::store::write_atomic(&path, &text))
            .await
            .map_err(|e| ChangeError::NotStored(e.to_string()))?
            .map_err(|e| ChangeError::NotStored(e.to_string()))
    }
}
