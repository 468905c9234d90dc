//! `STATE_DIR/names`: the registry of a single chatd, one record a line
//! (JSON, [`Record`]), written whole and atomically (mode 0600); and the
//! `names` policy a start falls back on when the configuration does not
//! set it, which this file decides: its presence marks a state directory
//! that has had a registry from its first start (or since `names` was
//! set), its absence beside a key one made by a chatd older than the
//! registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::record::Record;
use crate::config::Config;
use crate::config::check::MAX_NAMES_CEILING;
use crate::config::names::Policy;
use crate::store::{Store, StoreError};

/// The file's name in the state directory.
pub const FILE: &str = "names";

/// Largest file read: [`MAX_NAMES_CEILING`] records of eight keys fit.
const MAX_BYTES: u64 = 128 * 1024 * 1024;

/// What a start found in the state directory.
pub struct Opened {
    /// The file.
    pub path: PathBuf,
    /// The records, by folded name.
    pub records: BTreeMap<String, Record>,
    /// The policy when `names` is not set.
    pub default: Policy,
}

/// Reads `STATE_DIR/names` (a damaged one stops the start, naming the
/// line: a record dropped in silence would free a name), and decides the
/// policy in force when `names` is not set: `first-come` where the file
/// is, or where the state directory is new (`created`: the key was made
/// now; the file is made then, empty); else `open`, with a warning at
/// every start, so that an upgrade binds no one's name to the first key
/// that comes. A `names` set to bind names makes the file too, so that
/// leaving it unset later keeps names bound. On a node of a cluster the
/// file is only read (its records are not used: the node warns of them),
/// and the cluster decides the policy an unset `names` means
/// (`crate::cluster::registry::default_policy`).
pub fn open(store: &Store, config: &Config, created: bool) -> Result<Opened, StoreError> {
    let path = store.dir().join(FILE);
    let text = read(&path)?;
    let records = match &text {
        Some(text) => parse(&path, text)?,
        None => BTreeMap::new(),
    };
    let marked = text.is_some();
    let default = default_policy(marked, created);
    if !config.cluster.is_empty() {
        return Ok(Opened {
            path,
            records,
            default,
        });
    }
    let binds = config.names.unwrap_or(default).binds();
    if !marked && binds {
        crate::store::write_atomic(&path, b"")?;
    }
    if config.names.is_none() && default == Policy::Open {
        tracing::warn!(
            "names is not set, and {} holds a key but no names registry (it was made by an older chatd): \
             names stay open, so anyone with the key may join under any free name. {SET_NAMES}",
            store.dir().display()
        );
    }
    Ok(Opened {
        path,
        records,
        default,
    })
}

/// What to do about an unset `names` where names stay open, said at
/// every start.
pub const SET_NAMES: &str = "Set names = \"first-come\" (each name then belongs to the first identity that joins with it) \
     or names = \"open\" (to keep this and silence the warning) in the configuration";

/// The policy an unset `names` means: `first-come` where a registry was
/// kept from the start (`marked`) or the room is new (`created`), else
/// `open` (a room from before the registry).
pub fn default_policy(marked: bool, created: bool) -> Policy {
    if marked || created {
        Policy::FirstCome
    } else {
        Policy::Open
    }
}

/// The file's text, if it exists.
fn read(path: &Path) -> Result<Option<String>, StoreError> {
    let why = format!("more than {MAX_NAMES_CEILING} names take");
    let Some(bytes) = crate::store::read_bounded(path, MAX_BYTES, &why)? else {
        return Ok(None);
    };
    String::from_utf8(bytes.to_vec())
        .map(Some)
        .map_err(|_| StoreError::Damaged {
            path: path.to_path_buf(),
            problem: "is not text, as chatd writes it; restore it from a backup".into(),
        })
}

/// The records of the file's text; a line that is not one (or a name
/// twice) is named.
fn parse(path: &Path, text: &str) -> Result<BTreeMap<String, Record>, StoreError> {
    let mut records = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let damaged = |problem: String| StoreError::Damaged {
            path: path.to_path_buf(),
            problem: format!(
                "line {}: {problem}; fix or remove that line (`chatctl names add` registers a name again), or restore the file from a backup",
                i + 1
            ),
        };
        let record = Record::decode(line.as_bytes()).map_err(damaged)?;
        let name = record.name.clone();
        if records.insert(record.folded(), record).is_some() {
            return Err(damaged(format!("the name {name} is registered twice")));
        }
    }
    Ok(records)
}

/// The file's text for `records`.
pub fn render<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<u8> {
    let mut text = Vec::new();
    for record in records {
        text.extend(record.encode());
        text.push(b'\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::names::Policy;
    use chat_protocol::Identity;

    fn config(names: Option<Policy>) -> Config {
        Config {
            names,
            ..Config::default()
        }
    }

    #[test]
    fn a_new_directory_is_first_come_and_an_upgraded_one_stays_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let path = dir.path().join(FILE);
        // Upgraded: a key, no file, `names` unset: open, and no file made.
        let opened = open(&store, &config(None), false).unwrap();
        assert_eq!(opened.default, Policy::Open);
        assert!(!path.exists());
        // `names = "open"` set: still no file.
        open(&store, &config(Some(Policy::Open)), false).unwrap();
        assert!(!path.exists());
        // Set to bind names: the file is made, and unset later stays so.
        open(&store, &config(Some(Policy::FirstCome)), false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        let opened = open(&store, &config(None), false).unwrap();
        assert_eq!(opened.default, Policy::FirstCome);

        // A new directory: first-come, the file made at once.
        let fresh = tempfile::tempdir().unwrap();
        let store = Store::open(fresh.path()).unwrap();
        let opened = open(&store, &config(None), true).unwrap();
        assert_eq!(opened.default, Policy::FirstCome);
        assert!(fresh.path().join(FILE).exists());
    }

    #[test]
    fn records_round_trip_and_a_damaged_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = Record::new("Ace", Identity::from_seed(&[1; 32]).public(), 7);
        let b = Record::new("bob", Identity::from_seed(&[2; 32]).public(), 8);
        let path = dir.path().join(FILE);
        std::fs::write(&path, render([&a, &b].into_iter())).unwrap();
        let opened = open(&store, &config(None), false).unwrap();
        assert_eq!(opened.records.len(), 2);
        assert_eq!(opened.records["ace"], a);
        let mut text = String::from_utf8(render([&a, &b].into_iter())).unwrap();
        text.push_str("{\"name\":\"x\"}\n");
        std::fs::write(&path, &text).unwrap();
        let err = open(&store, &config(None), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("line 3:") && err.contains("fix or remove"),
            "{err}"
        );
        std::fs::write(&path, render([&a, &a].into_iter())).unwrap();
        let err = open(&store, &config(None), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("line 2: the name Ace is registered twice"),
            "{err}"
        );
    }
}
