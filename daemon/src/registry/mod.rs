//! Names owned by keys: the registry of which names belong to which
//! identities' keys, and the `names` policy that says what it means for a
//! join (docs/protocol.md §12.3).
//!
//! The rules are here, written once: what the policy says of a join
//! ([`admission`]), how a name's record changes ([`edit`]), what a record
//! is ([`record`]). Where the records are kept is the part's own business
//! on a single chatd ([`Registry`]'s book, written whole to
//! `STATE_DIR/names`, [`file`]) and a cluster's bucket on a node of one
//! (`crate::cluster::registry`); the session and the admin API reach
//! either through `crate::cluster::Peers`, which picks.
//!
//! A name's last-seen time is not written at each join: joins and leaves
//! are noted in memory ([`Registry::seen`]) and written in batches (every
//! [`SEEN_EVERY`], and at shutdown), and a name unused for `name_expiry`
//! is released by a sweep every [`SWEEP_EVERY`].

pub mod admission;
pub mod edit;
pub mod file;
pub mod record;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_protocol::clock::now_secs;

use self::edit::{Edit, Refusal};
use self::record::Record;
use crate::config::Current;
use crate::config::names::Policy;
use crate::per_address::registrations::Registrations;

/// How often the last-seen times noted are written.
pub const SEEN_EVERY: Duration = Duration::from_secs(300);

/// How often names unused for `name_expiry` are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Last-seen times noted and not yet written, at most: past it, a name
/// seen is written at the next batch only if it was noted before.
const MAX_SEEN: usize = 100_000;

/// Why a change of the registry was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum EditError {
    /// The rules refused it.
    Refused(Refusal),
    /// It would register a new name past `max_names`.
    Full(usize),
    /// A cluster's NATS is out of reach (or kept changing the record).
    Unavailable(String),
    /// It could not be written to the state directory: nothing changed.
    NotStored(String),
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::Refused(r) => write!(f, "refused: {r:?}"),
            EditError::Full(max) => write!(
                f,
                "the names registry holds max_names = {max} names; raise max_names or remove names (`chatctl names remove NAME`)"
            ),
            EditError::Unavailable(e) => write!(f, "the cluster is unavailable: {e}"),
            EditError::NotStored(e) => write!(f, "the names registry was not written: {e}"),
        }
    }
}

/// The names registry and its policy (see the module documentation).
pub struct Registry {
    /// The configuration in force: `names`, `max_names`, `name_expiry`.
    config: Arc<Current>,
    /// The policy when `names` is not set (decided at start, [`file::open`]).
    default: Policy,
    /// `STATE_DIR/names`.
    path: PathBuf,
    /// A single chatd's records, by folded name (a node of a cluster
    /// keeps none: they are in NATS).
    book: Mutex<BTreeMap<String, Record>>,
    /// Held by each change of the book from read to written, so that the
    /// file is written in the order of the changes.
    writes: tokio::sync::Mutex<()>,
    /// Last-seen times noted since the last batch, by folded name.
    seen: Mutex<HashMap<String, u64>>,
    /// Names registered per address.
    registrations: Registrations,
}

impl Registry {
    /// The registry a start opened, under the configuration in force.
    pub fn new(config: Arc<Current>, opened: file::Opened) -> Self {
        Self {
            config,
            default: opened.default,
            path: opened.path,
            book: Mutex::new(opened.records),
            writes: tokio::sync::Mutex::new(()),
            seen: Mutex::new(HashMap::new()),
            registrations: Registrations::default(),
        }
    }

    /// The policy in force: `names`, or the state directory's default.
    pub fn policy(&self) -> Policy {
        self.config.get().names.unwrap_or(self.default)
    }

    /// `max_names` in force.
    pub fn max_names(&self) -> usize {
        self.config.get().max_names
    }

    /// `name_expiry` in force, in seconds.
    pub fn expiry_secs(&self) -> u64 {
        self.config.get().name_expiry.0.as_secs()
    }

    /// Takes one of `ip`'s registrations for this hour, if it has one left
    /// (`crate::per_address::registrations`); an address in
    /// `limit_exempt` is not counted.
    pub fn take_registration(&self, ip: IpAddr) -> bool {
        self.exempt(ip) || self.registrations.take(ip)
    }

    /// Gives back a registration that did not happen.
    pub fn give_back_registration(&self, ip: IpAddr) {
        if !self.exempt(ip) {
            self.registrations.give_back(ip);
        }
    }

    /// Whether `limit_exempt` names `ip`.
    fn exempt(&self, ip: IpAddr) -> bool {
        self.config
            .get()
            .limit_exempt
            .iter()
            .filter_map(|range| range.parse::<crate::config::network::Cidr>().ok())
            .any(|cidr| cidr.contains(ip))
    }

    /// Notes that a user of `name` was seen now (joined or left); written
    /// with the next batch.
    pub fn seen(&self, name: &str) {
        let mut seen = self.seen.lock().expect("lock");
        let folded = name.to_ascii_lowercase();
        if seen.len() < MAX_SEEN || seen.contains_key(&folded) {
            seen.insert(folded, now_secs());
        }
    }

    /// The times noted since the last call, to write.
    pub fn take_seen(&self) -> HashMap<String, u64> {
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }

    /// `records` with the last-seen times noted and not yet written.
    pub fn with_seen(&self, mut records: Vec<Record>) -> Vec<Record> {
        let seen = self.seen.lock().expect("lock");
        for record in &mut records {
            if let Some(&at) = seen.get(&record.folded()) {
                record.last_seen = record.last_seen.max(at);
            }
        }
        records
    }

    /// The records a single chatd keeps that its cluster would not use
    /// (a node of a cluster warns of them at start).
    pub fn kept_here(&self) -> usize {
        self.book.lock().expect("lock").len()
    }

    /// A single chatd's record of `name`.
    pub fn get_here(&self, name: &str) -> Option<Record> {
        self.book
            .lock()
            .expect("lock")
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// A single chatd's records, in name order.
    pub fn list_here(&self) -> Vec<Record> {
        self.book.lock().expect("lock").values().cloned().collect()
    }

    /// Changes a single chatd's record of `name` by `edit` and writes the
    /// file before the change is in force; the record after.
    pub async fn edit_here(
        &self,
        name: &str,
        edit: impl Fn(Option<&Record>) -> Result<Edit, Refusal>,
    ) -> Result<Option<Record>, EditError> {
        let folded = name.to_ascii_lowercase();
        let _turn = self.writes.lock().await;
        let (change, book) = {
            let book = self.book.lock().expect("lock");
            let before = book.get(&folded);
            let change = edit(before).map_err(EditError::Refused)?;
            if change == Edit::Keep {
                return Ok(before.cloned());
            }
            let max = self.max_names();
            if before.is_none() && matches!(change, Edit::Put(_)) && book.len() >= max {
                return Err(EditError::Full(max));
            }
            let mut book = book.clone();
            match &change {
                Edit::Put(record) => {
                    book.insert(folded.clone(), record.clone());
                }
                Edit::Delete => {
                    book.remove(&folded);
                }
                Edit::Keep => {}
            }
            (change, book)
        };
        self.write(&book).await?;
        *self.book.lock().expect("lock") = book;
        Ok(match change {
            Edit::Put(record) => Some(record),
            _ => None,
        })
    }

    /// Writes the last-seen times `seen` into a single chatd's records
    /// (one write for the batch).
    pub async fn touch_here(&self, seen: HashMap<String, u64>) -> Result<(), EditError> {
        if seen.is_empty() {
            return Ok(());
        }
        let _turn = self.writes.lock().await;
        let book = {
            let mut book = self.book.lock().expect("lock").clone();
            let mut changed = false;
            for (folded, at) in &seen {
                if let Some(record) = book.get_mut(folded)
                    && record.last_seen < *at
                {
                    record.last_seen = *at;
                    changed = true;
                }
            }
            if !changed {
                return Ok(());
            }
            book
        };
        match self.write(&book).await {
            Ok(()) => {
                *self.book.lock().expect("lock") = book;
                Ok(())
            }
            Err(e) => {
                // Noted again, for the next batch.
                let mut pending = self.seen.lock().expect("lock");
                for (folded, at) in seen {
                    let slot = pending.entry(folded).or_insert(at);
                    *slot = (*slot).max(at);
                }
                Err(e)
            }
        }
    }

    /// Releases a single chatd's names unused since before `cutoff` (Unix
    /// seconds) that no one online holds (`online`); the names released.
    pub async fn expire_here(
        &self,
        cutoff: u64,
        online: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, EditError> {
        let _turn = self.writes.lock().await;
        let (book, gone) = {
            let mut book = self.book.lock().expect("lock").clone();
            let mut gone = Vec::new();
            book.retain(|_, r| {
                let keep = r.last_seen >= cutoff || online(&r.name);
                if !keep {
                    gone.push(r.name.clone());
                }
                keep
            });
            (book, gone)
        };
        if gone.is_empty() {
            return Ok(gone);
        }
        self.write(&book).await?;
        *self.book.lock().expect("lock") = book;
        Ok(gone)
    }

    /// Writes `book` to `STATE_DIR/names`, off the runtime.
    async fn write(&self, book: &BTreeMap<String, Record>) -> Result<(), EditError> {
        let text = file::render(book.values());
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || crate::store::write_atomic(&path, &text))
            .await
            .map_err(|e| EditError::NotStored(e.to_string()))?
            .map_err(|e| EditError::NotStored(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use chat_protocol::Identity;

    fn registry(dir: &std::path::Path, max_names: usize) -> Registry {
        let store = crate::store::Store::open(dir).unwrap();
        let config = Config {
            max_names,
            ..Config::default()
        };
        let opened = file::open(&store, &config, true).unwrap();
        Registry::new(Arc::new(Current::new(config)), opened)
    }

    #[tokio::test]
    async fn changes_are_written_whole_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let r = registry(dir.path(), 2);
        assert_eq!(r.policy(), Policy::FirstCome);
        let key = |s: u8| Identity::from_seed(&[s; 32]).public();
        r.edit_here("Ace", edit::register("Ace", key(1), 10))
            .await
            .unwrap();
        r.edit_here("bob", edit::register("bob", key(2), 10))
            .await
            .unwrap();
        assert_eq!(
            r.edit_here("carol", edit::register("carol", key(3), 10))
                .await,
            Err(EditError::Full(2))
        );
        assert_eq!(
            r.edit_here("ACE", edit::register("ACE", key(3), 11)).await,
            Err(EditError::Refused(Refusal::Taken(Box::new(Record::new(
                "Ace",
                key(1),
                10
            )))))
        );
        // The file holds what is in force, 0600.
        let text = std::fs::read_to_string(dir.path().join(file::FILE)).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(file::FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        // Last seen: noted, shown, written in one batch.
        r.seen("ACE");
        let shown = r.with_seen(r.list_here());
        assert!(shown[0].last_seen > 10);
        r.touch_here(r.take_seen()).await.unwrap();
        assert!(r.get_here("ace").unwrap().last_seen > 10);
        // Expiry: bob was not seen since 10, and is not online.
        let gone = r.expire_here(11, |n| n == "nobody").await.unwrap();
        assert_eq!(gone, ["bob"]);
        let gone = r.expire_here(u64::MAX, |n| n == "Ace").await.unwrap();
        assert!(gone.is_empty(), "online names stay");
        let reopened = registry(dir.path(), 2);
        assert_eq!(reopened.list_here().len(), 1);
    }
}
