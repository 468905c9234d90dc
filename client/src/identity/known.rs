//! The identities this client has seen, per server and name:
//! `$XDG_DATA_HOME/chat/known_names`, like ssh's `known_hosts`.
//!
//! A server is known by its public key `S_pub` (from the token), not by
//! its URL: one room reached by several addresses is one server, and a
//! server that moved keeps its record. A name may have several keys (a
//! person's laptop and phone); the record keeps each with when this client
//! first and last saw it. So when a name comes back with a key it never
//! had here, the client can say so.
//!
//! ```text
//! # chat known names: … (comments)
//! <S_pub, unpadded base64url> <name> <chat-id1_…> <first seen, Unix ms> <last seen, Unix ms>
//! ```
//!
//! The file is written whole (a temporary file renamed into place), mode
//! 0600, after reading it again and merging what another `chat` wrote
//! meanwhile. It is written when a key is first recorded, and for a key
//! seen again only once its last sighting is an hour old, so a busy room
//! does not rewrite it at every join. It holds at most [`MAX_RECORDS`]
//! lines: past that, the ones seen longest ago go. Lines it cannot read
//! are left out (and said so, once).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_protocol::{IdentityKey, valid_username};

/// The most lines the file keeps.
pub const MAX_RECORDS: usize = 10_000;

/// A key seen again is written back once its last sighting is this old.
const LAST_SEEN_STEP_MS: u64 = 60 * 60 * 1000;

/// The largest file read (a full file is about 1.6 MB).
const MAX_FILE: u64 = 4 * 1024 * 1024;

const HEADER: &str = "\
# chat known names: the identities this client has seen, per server and name
# (like ssh's known_hosts). One line each: server name identity first-seen
# last-seen (the server is its public key; times are Unix milliseconds).
";

/// One key seen for one name on one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When this client first saw the name with the key (Unix ms).
    pub first: u64,
    /// When it last did.
    pub last: u64,
}

/// (server, name in lowercase, key).
type Slot = (String, String, IdentityKey);

/// What a sighting tells, against the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Nothing to compare with: the name had no key here yet (and has one
    /// now), or has no identity and never had one.
    First,
    /// A key already recorded for the name.
    Known,
    /// A key the name never had here; `before` holds the ones it had.
    NewKey {
        /// The keys recorded before, the most recently seen first.
        before: Vec<IdentityKey>,
    },
    /// No identity, for a name that had one here.
    NoKey {
        /// The keys recorded, the most recently seen first.
        before: Vec<IdentityKey>,
    },
}

/// A valid key, as a place in the records' order (any one does).
fn any_key() -> &'static IdentityKey {
    static KEY: std::sync::OnceLock<IdentityKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| chat_protocol::Identity::from_seed(&[0; 32]).public())
}

/// The record, for the server this session is on.
pub struct KnownNames {
    /// The file; none for a record kept in memory only.
    path: Option<PathBuf>,
    server: String,
    records: BTreeMap<Slot, Record>,
    /// Whether something must be written now (a key first recorded).
    changed: bool,
    /// Whether a last sighting moved by more than [`LAST_SEEN_STEP_MS`].
    aged: bool,
    /// The most lines written: [`MAX_RECORDS`] (fewer in tests).
    max_records: usize,
}

impl KnownNames {
    /// The record at `path` for the server whose public key is
    /// `server_public`; a file that does not exist is an empty record.
    /// The second value is a note for the user (lines left out, a file
    /// that cannot be read).
    pub fn open(path: PathBuf, server_public: &[u8; 32]) -> (Self, Option<String>) {
        let (records, note) = match read(&path) {
            Ok((records, 0)) => (records, None),
            Ok((records, bad)) => (
                records,
                Some(format!(
                    "{}: {bad} line(s) that cannot be read are left out",
                    path.display()
                )),
            ),
            Err(err) => (
                BTreeMap::new(),
                Some(format!(
                    "cannot read {} ({err}): names are checked against what this session sees only",
                    path.display()
                )),
            ),
        };
        let known = Self {
            path: Some(path),
            server: URL_SAFE_NO_PAD.encode(server_public),
            records,
            changed: false,
            aged: false,
            max_records: MAX_RECORDS,
        };
        (known, note)
    }

    /// A record kept in memory only, for this run.
    pub fn in_memory() -> Self {
        Self {
            path: None,
            server: String::new(),
            records: BTreeMap::new(),
            changed: false,
            aged: false,
            max_records: MAX_RECORDS,
        }
    }

    /// The keys recorded for `name` on this server, the most recently seen
    /// first.
    pub fn keys(&self, name: &str) -> Vec<(IdentityKey, Record)> {
        // The name's records are together in the map's order: found from
        // any key on, both ways, so a list of thousands of users costs
        // a lookup each, not a walk through every record.
        let name = name.to_ascii_lowercase();
        let from = (self.server.clone(), name, *any_key());
        let ours = |((server, n, _), _): &(&Slot, &Record)| *server == from.0 && *n == from.1;
        let mut keys: Vec<(IdentityKey, Record)> = self
            .records
            .range(..&from)
            .rev()
            .take_while(ours)
            .chain(self.records.range(&from..).take_while(ours))
            .map(|((_, _, key), record)| (*key, record.clone()))
            .collect();
        keys.sort_by_key(|(_, record)| std::cmp::Reverse(record.last));
        keys
    }

    /// Records that `name` was seen at `now` with `key` (or without an
    /// identity), and says how that compares with the record.
    pub fn saw(&mut self, name: &str, key: Option<IdentityKey>, now: u64) -> Seen {
        let before: Vec<IdentityKey> = self.keys(name).into_iter().map(|(k, _)| k).collect();
        let Some(key) = key else {
            return if before.is_empty() {
                Seen::First
            } else {
                Seen::NoKey { before }
            };
        };
        let slot = (self.server.clone(), name.to_ascii_lowercase(), key);
        if let Some(record) = self.records.get_mut(&slot) {
            if now.saturating_sub(record.last) >= LAST_SEEN_STEP_MS {
                self.aged = true;
            }
            record.last = record.last.max(now);
            return Seen::Known;
        }
        self.records.insert(
            slot,
            Record {
                first: now,
                last: now,
            },
        );
        self.changed = true;
        if before.is_empty() {
            Seen::First
        } else {
            Seen::NewKey { before }
        }
    }

    /// Writes the record if a key was first recorded, or a last sighting
    /// is an hour newer than written; `Err` says why it could not.
    pub fn flush(&mut self) -> Result<(), String> {
        if !(self.changed || self.aged) {
            return Ok(());
        }
        self.changed = false;
        self.aged = false;
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        self.write(&path)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))
    }

    /// Merges what the file holds now, bounds it, and writes it whole.
    fn write(&mut self, path: &Path) -> io::Result<()> {
        if let Ok((theirs, _)) = read(path) {
            for (slot, record) in theirs {
                let ours = self.records.entry(slot).or_insert(record.clone());
                ours.first = ours.first.min(record.first);
                ours.last = ours.last.max(record.last);
            }
        }
        let over = self.records.len().saturating_sub(self.max_records);
        if over > 0 {
            let mut by_age: Vec<(u64, Slot)> = self
                .records
                .iter()
                .map(|(slot, record)| (record.last, slot.clone()))
                .collect();
            by_age.sort_unstable_by_key(|(last, _)| *last);
            for (_, slot) in by_age.into_iter().take(over) {
                self.records.remove(&slot);
            }
        }
        let mut text = String::from(HEADER);
        for ((server, name, key), record) in &self.records {
            text.push_str(&format!(
                "{server} {name} {key} {} {}\n",
                record.first, record.last
            ));
        }
        crate::datafile::write_private(path, &text)
    }
}

/// The records in the file at `path` (none if it does not exist) and how
/// many lines could not be read.
fn read(path: &Path) -> io::Result<(BTreeMap<Slot, Record>, usize)> {
    let text = crate::datafile::read_capped(path, MAX_FILE)?;
    let mut records = BTreeMap::new();
    let mut bad = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Some((slot, record)) => {
                records.insert(slot, record);
            }
            None => bad += 1,
        }
    }
    Ok((records, bad))
}

fn parse_line(line: &str) -> Option<(Slot, Record)> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [server, name, key, first, last] = fields[..] else {
        return None;
    };
    let server_ok = URL_SAFE_NO_PAD
        .decode(server)
        .is_ok_and(|bytes| bytes.len() == 32);
    if !server_ok || !valid_username(name) {
        return None;
    }
    let key = IdentityKey::parse(key).ok()?;
    let (first, last) = (first.parse().ok()?, last.parse().ok()?);
    Some((
        (server.to_owned(), name.to_ascii_lowercase(), key),
        Record { first, last },
    ))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt as _;

    use chat_protocol::Identity;

    use super::*;

    fn key(seed: u8) -> IdentityKey {
        Identity::from_seed(&[seed; 32]).public()
    }

    #[test]
    fn a_name_with_a_new_key_or_none_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat/known_names");
        let (mut known, note) = KnownNames::open(path.clone(), &[1; 32]);
        assert_eq!(note, None);
        assert_eq!(known.saw("bob", None, 1), Seen::First);
        assert_eq!(known.saw("bob", Some(key(1)), 2), Seen::First);
        assert_eq!(known.saw("BOB", Some(key(1)), 3), Seen::Known);
        assert_eq!(
            known.saw("bob", Some(key(2)), 4),
            Seen::NewKey {
                before: vec![key(1)]
            }
        );
        assert_eq!(
            known.saw("bob", None, 5),
            Seen::NoKey {
                before: vec![key(2), key(1)]
            }
        );
        known.flush().unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // Another run finds it; another server is another record.
        let (mut again, _) = KnownNames::open(path.clone(), &[1; 32]);
        assert_eq!(again.saw("bob", Some(key(1)), 6), Seen::Known);
        let keys = again.keys("Bob");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].0, key(1), "the most recently seen first");
        assert_eq!(keys[0].1, Record { first: 2, last: 6 });
        let (mut elsewhere, _) = KnownNames::open(path.clone(), &[2; 32]);
        assert_eq!(elsewhere.saw("bob", Some(key(3)), 7), Seen::First);
    }

    #[test]
    fn writes_merge_with_another_writer_and_skip_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_names");
        let (mut one, _) = KnownNames::open(path.clone(), &[1; 32]);
        let (mut two, _) = KnownNames::open(path.clone(), &[1; 32]);
        one.saw("ace", Some(key(1)), 10);
        one.flush().unwrap();
        two.saw("bob", Some(key(2)), 20);
        two.flush().unwrap();
        let (three, _) = KnownNames::open(path.clone(), &[1; 32]);
        assert_eq!(
            three.keys("ace").len(),
            1,
            "the first writer's record stays"
        );
        assert_eq!(three.keys("bob").len(), 1);

        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("{text}garbage line\nx y z 1 2\n")).unwrap();
        let (four, note) = KnownNames::open(path.clone(), &[1; 32]);
        assert!(note.unwrap().contains("2 line(s)"));
        assert_eq!(four.keys("ace").len(), 1);
    }

    #[test]
    fn a_key_seen_again_is_written_back_hourly_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_names");
        let (mut known, _) = KnownNames::open(path.clone(), &[1; 32]);
        known.saw("ace", Some(key(1)), 0);
        known.flush().unwrap();
        let written = || fs::read_to_string(&path).unwrap();
        let before = written();
        known.saw("ace", Some(key(1)), 1000);
        known.flush().unwrap();
        assert_eq!(written(), before, "a minute later: not written");
        known.saw("ace", Some(key(1)), LAST_SEEN_STEP_MS + 1000);
        known.flush().unwrap();
        assert!(written().contains(&format!(" {}\n", LAST_SEEN_STEP_MS + 1000)));
    }

    #[test]
    fn the_file_is_bounded_by_dropping_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_names");
        let (mut known, _) = KnownNames::open(path.clone(), &[1; 32]);
        known.max_records = 40;
        for i in 0..45u8 {
            let k = Identity::from_seed(&[i; 32]).public();
            known.saw(&format!("u{}", i % 10), Some(k), 100 + u64::from(i));
        }
        known.flush().unwrap();
        let (read, _) = read(&path).unwrap();
        assert_eq!(read.len(), 40);
        assert!(read.values().all(|r| r.last >= 105), "the 5 oldest went");
    }
}
