//! What a room is besides its members and history: its topic, whether it
//! is private and whom it admits, whether it lasts ([`RoomMeta`]); and a
//! single chatd's record of every room, `STATE_DIR/rooms.json`
//! ([`RoomBook`]). A node of a cluster keeps the same values in NATS
//! instead (`crate::cluster::rooms`), one JSON [`RoomMeta`] per room.
//!
//! The file is one JSON object, `{"rooms":{"#ops":{…},…}}`, mode 0600,
//! rewritten whole (atomically) at each change: a room made, its topic
//! set, a name invited, the room removed. Changes are rare (an admin's
//! order, a room made by joining it), and each waits for its turn
//! ([`RoomBook::turn`]) so that two never write over each other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chat_protocol::RoomName;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// The file's name in the state directory.
pub const FILE_NAME: &str = "rooms.json";

/// A name invited into a room.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Invitation {
    /// The name as it was written.
    pub name: String,
    /// The operator who invited it; absent: the server's admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When, Unix milliseconds.
    pub ts: u64,
}

/// A room's settings, as every node keeps them.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomMeta {
    /// The topic; absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Who set the topic; absent: the server's admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_by: Option<String>,
    /// When the topic was set, Unix milliseconds (0: never).
    #[serde(default)]
    pub topic_ts: u64,
    /// Joinable by invited names only, and listed only to them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// Made by the admin (`chatctl rooms add`): it stays when empty. A
    /// room made by joining it goes after `room_idle_expiry` empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lasting: bool,
    /// The names invited, by their name folded to lower case.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub invited: BTreeMap<String, Invitation>,
    /// When the room was made, Unix milliseconds.
    #[serde(default)]
    pub created: u64,
}

impl RoomMeta {
    /// Whether `name` (any case) is invited.
    pub fn is_invited(&self, name: &str) -> bool {
        self.invited.contains_key(&name.to_ascii_lowercase())
    }

    /// Whether what another node (or the file) says of a room keeps the
    /// rules of what is shown to users: a topic within the topic rules,
    /// invited names that are names, each under its own folded key.
    pub fn check(&self) -> Result<(), String> {
        if let Some(topic) = &self.topic {
            chat_protocol::validate_topic(topic).map_err(|(_, e)| format!("its topic: {e}"))?;
        }
        if let Some(by) = &self.topic_by
            && !chat_protocol::valid_username(by)
        {
            return Err("its topic's setter is not a valid name".into());
        }
        for (key, invitation) in &self.invited {
            let valid = chat_protocol::valid_username(&invitation.name)
                && *key == invitation.name.to_ascii_lowercase()
                && invitation
                    .by
                    .as_deref()
                    .is_none_or(chat_protocol::valid_username);
            if !valid {
                return Err(format!(
                    "an invited name that is not a valid name ({key:?})"
                ));
            }
        }
        Ok(())
    }
}

/// The file's content: the rooms, and the last message id given when it
/// was written (a room removed takes its log, and the ids its messages
/// had, with it: ids go on after this one at start, never given twice).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Kept {
    /// Every room's settings, by name.
    pub rooms: BTreeMap<RoomName, RoomMeta>,
    /// The last message id given, server-wide, when written.
    #[serde(default)]
    pub last_id: u64,
}

/// A single chatd's rooms, in `STATE_DIR/rooms.json`.
pub struct RoomBook {
    path: PathBuf,
    turn: tokio::sync::Mutex<()>,
}

impl RoomBook {
    /// The book of the state directory `dir` and the rooms it holds (none
    /// when the file does not exist yet). A file that cannot be read is an
    /// error: starting without it would forget the rooms the admin made.
    pub fn open(dir: &Path) -> Result<(Self, Kept), StoreError> {
        let path = dir.join(FILE_NAME);
        let kept = match super::read_optional(&path)? {
            None => Kept::default(),
            Some(bytes) => read(&path, &bytes)?,
        };
        let book = Self {
            path,
            turn: tokio::sync::Mutex::new(()),
        };
        Ok((book, kept))
    }

    /// Held while a change is made and written, so that changes are
    /// written in the order they were made.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// Writes `kept` (every room's settings), atomically, off the runtime.
    pub async fn save(&self, kept: Kept) -> Result<(), StoreError> {
        let path = self.path.clone();
        let bytes = serde_json::to_vec_pretty(&kept).expect("rooms always serialize");
        tokio::task::spawn_blocking(move || super::write_atomic(&path, &bytes))
            .await
            .map_err(|e| StoreError::Panicked(e.to_string()))?
    }
}

/// The rooms `bytes` (the content of `path`) hold.
fn read(path: &Path, bytes: &[u8]) -> Result<Kept, StoreError> {
    let damaged = |problem: String| StoreError::Damaged {
        path: path.to_path_buf(),
        problem: format!(
            "{problem}; chatd keeps the rooms made with `chatctl rooms add` there: mend it, or move it away to start with no rooms but the default one"
        ),
    };
    let kept: Kept = chat_protocol::json::from_slice_strict(bytes)
        .ok_or_else(|| damaged("does not read as chatd's rooms (JSON)".into()))?;
    for (room, meta) in &kept.rooms {
        meta.check()
            .map_err(|e| damaged(format!("room {room}: {e}")))?;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[tokio::test]
    async fn rooms_are_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (book, kept) = RoomBook::open(dir.path()).unwrap();
        assert!(kept.rooms.is_empty(), "no file: no rooms");
        let mut meta = RoomMeta {
            topic: Some("deploys".into()),
            private: true,
            lasting: true,
            created: 1,
            ..RoomMeta::default()
        };
        meta.invited.insert(
            "dave".into(),
            Invitation {
                name: "Dave".into(),
                by: None,
                ts: 2,
            },
        );
        let written = BTreeMap::from([(room("#ops"), meta.clone())]);
        book.save(Kept {
            rooms: written.clone(),
            last_id: 7,
        })
        .await
        .unwrap();
        let path = dir.path().join(FILE_NAME);
        let mode = std::fs::metadata(&path).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        let (_, read) = RoomBook::open(dir.path()).unwrap();
        assert_eq!((&read.rooms, read.last_id), (&written, 7));
        assert!(read.rooms[&room("#ops")].is_invited("DAVE"));
    }

    #[test]
    fn a_damaged_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        for bad in [
            "not json",
            r#"{"rooms":{"ops":{}}}"#,
            r##"{"rooms":{"#ops":{"topic":"a\u001b[2Jb"}}}"##,
            r##"{"rooms":{"#ops":{"invited":{"x":{"name":"y","ts":1}}}}}"##,
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = RoomBook::open(dir.path()).err().expect(bad).to_string();
            assert!(err.contains("move it away"), "{bad}: {err}");
        }
    }
}
