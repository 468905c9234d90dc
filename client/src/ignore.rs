//! `/ignore`: the names whose messages this client hides, kept per server
//! in `$XDG_DATA_HOME/chat/ignored`.
//!
//! A server is known by its public key `S_pub`, as in `known_names`. An
//! entry made while the name was online with an identity is kept by that
//! identity (and the name it was last seen with): it hides the person
//! under any name, so a rename does not escape it, and the name too, so
//! joining without the identity does not either. An entry for a name
//! without an identity hides that name. What is hidden: public messages,
//! actions and direct messages from them (history included); joins,
//! leaves and the server's notices stay. `--json` hides nothing (scripts
//! get every event).
//!
//! ```text
//! # chat ignored: … (comments)
//! <S_pub, unpadded base64url> key <chat-id1_…> <name>
//! <S_pub, unpadded base64url> name <name>
//! ```
//!
//! The file is 0600 and written whole ([`crate::datafile`]); each change
//! is made to what the file holds at that moment, so two `chat`s on one
//! machine do not undo each other's. It holds at most [`MAX_PER_SERVER`]
//! entries per server and [`MAX_LINES`] in all.
//!
//! How many messages were hidden is counted per entry: the full screen
//! shows the total in its status bar, `/ignore` lists each, and the line
//! mode says it in one line per name a while after the first one it hid
//! ([`REPORT_AFTER`]), and at the end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_protocol::{IdentityKey, valid_username};

use crate::escape::one_line;

/// The most names ignored on one server.
pub const MAX_PER_SERVER: usize = 256;

/// The most lines the file keeps, all servers together.
pub const MAX_LINES: usize = 4096;

/// The largest file read.
const MAX_FILE: u64 = 1024 * 1024;

/// The line mode says how many messages it hid this long after the first
/// one it has not said yet.
pub const REPORT_AFTER: Duration = Duration::from_secs(30);

const HEADER: &str = "\
# chat ignored: the names whose messages this client hides, per server
# (/ignore, /unignore). One line each: server key identity name, or
# server name name (the server is its public key).
";

/// One name ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// The name, as last seen (the identity's, for an entry by identity).
    name: String,
    /// The identity, for an entry made while the name had one.
    key: Option<IdentityKey>,
    /// Messages hidden in this run.
    hidden: u64,
}

impl Entry {
    fn same(&self, other: &Entry) -> bool {
        self.name.eq_ignore_ascii_case(&other.name) && self.key == other.key
    }
}

/// The names ignored on the server this session is on.
pub struct Ignored {
    /// The file; none for a list kept in memory only.
    path: Option<PathBuf>,
    server: String,
    entries: Vec<Entry>,
    /// Hidden and not said yet in the line mode, by name as shown, and
    /// when the first of them was.
    unreported: Vec<(String, u64)>,
    since: Option<Instant>,
}

/// A line of the file: its server and entry.
type Line = (String, Entry);

impl Ignored {
    /// The list at `path` for the server whose public key is
    /// `server_public`; a note for the user if the file cannot be read.
    pub fn open(path: PathBuf, server_public: &[u8; 32]) -> (Self, Option<String>) {
        let server = URL_SAFE_NO_PAD.encode(server_public);
        let (lines, note) = match read(&path) {
            Ok((lines, 0)) => (lines, None),
            Ok((lines, bad)) => (
                lines,
                Some(format!(
                    "{}: {bad} line(s) that cannot be read are left out",
                    path.display()
                )),
            ),
            Err(err) => (
                Vec::new(),
                Some(format!(
                    "cannot read {} ({err}): no one is ignored until it can be",
                    path.display()
                )),
            ),
        };
        let entries = lines
            .into_iter()
            .filter(|(s, _)| *s == server)
            .map(|(_, entry)| entry)
            .collect();
        let ignored = Self {
            path: Some(path),
            server,
            entries,
            unreported: Vec::new(),
            since: None,
        };
        (ignored, note)
    }

    /// A list kept in memory only, for this run.
    pub fn in_memory() -> Self {
        Self {
            path: None,
            server: String::new(),
            entries: Vec::new(),
            unreported: Vec::new(),
            since: None,
        }
    }

    /// Ignores `name`, by `key` when it has one now. What to tell the
    /// user, or why not.
    pub fn add(&mut self, name: &str, key: Option<IdentityKey>) -> Result<String, String> {
        let shown = one_line(name);
        if self.find(name, key.as_ref()).is_some() {
            return Err(format!("already ignoring {shown} (/unignore {shown})"));
        }
        if self.entries.len() >= MAX_PER_SERVER {
            return Err(format!(
                "{MAX_PER_SERVER} names are ignored on this server already, the most kept; /unignore one first"
            ));
        }
        let entry = Entry {
            name: name.to_owned(),
            key,
            hidden: 0,
        };
        let saved = self.change(|entries| {
            if !entries.iter().any(|e| e.same(&entry)) {
                entries.push(entry.clone());
            }
        });
        let how = match key {
            Some(key) => format!("{shown} (identity {}, under any name)", key.fingerprint()),
            None => format!("{shown} (by name: no identity)"),
        };
        Ok(format!(
            "ignoring {how}: their messages and direct messages are hidden here{}",
            unsaved(saved)
        ))
    }

    /// Stops ignoring `name` (and the identity `key` it has now, if any).
    pub fn remove(&mut self, name: &str, key: Option<IdentityKey>) -> Result<String, String> {
        let shown = one_line(name);
        let Some(at) = self.find(name, key.as_ref()) else {
            return Err(format!("{shown} is not ignored (/ignore lists who is)"));
        };
        let gone = self.entries[at].clone();
        let saved = self.change(|entries| entries.retain(|e| !e.same(&gone)));
        Ok(format!(
            "no longer ignoring {shown}; {} of their messages were hidden in this session{}",
            gone.hidden,
            unsaved(saved)
        ))
    }

    /// The list, for `/ignore` alone.
    pub fn list(&self) -> Vec<String> {
        if self.entries.is_empty() {
            return vec!["no one is ignored here (/ignore NAME hides NAME's messages)".into()];
        }
        let mut lines = vec![format!(
            "ignored here ({}; /unignore NAME shows them again):",
            self.entries.len()
        )];
        for entry in &self.entries {
            let how = match entry.key {
                Some(key) => format!("identity {}", key.fingerprint()),
                None => "by name".into(),
            };
            lines.push(format!(
                "  {} ({how}): {} hidden in this session",
                one_line(&entry.name),
                entry.hidden
            ));
        }
        lines
    }

    /// Whether a message from `name`, who proved `key` (if the server
    /// says), is hidden; it is counted if so. An entry by identity seen
    /// under another name takes that name.
    pub fn hides(&mut self, name: &str, key: Option<&IdentityKey>) -> bool {
        let Some(at) = self.find(name, key) else {
            return false;
        };
        let entry = &mut self.entries[at];
        entry.hidden += 1;
        let renamed = !entry.name.eq_ignore_ascii_case(name);
        let label = entry.clone();
        if renamed {
            let name = name.to_owned();
            self.entries[at].name = name.clone();
            // Not saved is not lost: it still hides by the identity.
            let _ = self.change(|entries| {
                for e in entries.iter_mut().filter(|e| e.same(&label)) {
                    e.name = name.clone();
                }
            });
        }
        self.since.get_or_insert_with(Instant::now);
        match self
            .unreported
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, count)) => *count += 1,
            None => self.unreported.push((name.to_owned(), 1)),
        }
        true
    }

    /// Messages hidden in this run, all names together.
    pub fn total_hidden(&self) -> u64 {
        self.entries.iter().map(|e| e.hidden).sum()
    }

    /// When the line mode should say what it hid (none: nothing to say).
    pub fn report_due(&self) -> Option<Instant> {
        self.since.map(|since| since + REPORT_AFTER)
    }

    /// What the line mode says it hid since it last said so: one line per
    /// name, `3 messages from bob hidden`; at `now` once due, or whatever
    /// is left when `all`.
    pub fn take_report(&mut self, now: Instant, all: bool) -> Vec<String> {
        if !all && self.report_due().is_none_or(|due| now < due) {
            return Vec::new();
        }
        self.since = None;
        std::mem::take(&mut self.unreported)
            .into_iter()
            .map(|(name, n)| {
                format!(
                    "{n} message{} from {} hidden (/unignore {} shows them)",
                    if n == 1 { "" } else { "s" },
                    one_line(&name),
                    one_line(&name)
                )
            })
            .collect()
    }

    /// The entry that hides `name` (or the identity `key`), if any.
    fn find(&self, name: &str, key: Option<&IdentityKey>) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.name.eq_ignore_ascii_case(name) || (e.key.is_some() && e.key.as_ref() == key)
        })
    }

    /// Makes `change` to this server's entries as the file holds them now,
    /// keeps the result (with the counts of this run) and writes the file;
    /// `Err` says why it could not be written.
    fn change(&mut self, change: impl Fn(&mut Vec<Entry>)) -> Result<(), String> {
        let Some(path) = self.path.clone() else {
            change(&mut self.entries);
            return Ok(());
        };
        let (mut others, mut ours) = match read(&path) {
            Ok((lines, _)) => {
                let (ours, others): (Vec<Line>, Vec<Line>) =
                    lines.into_iter().partition(|(s, _)| *s == self.server);
                (others, ours.into_iter().map(|(_, e)| e).collect::<Vec<_>>())
            }
            // Written over, it would lose the other servers' lines.
            Err(err) => {
                change(&mut self.entries);
                return Err(format!("cannot read {}: {err}", path.display()));
            }
        };
        change(&mut ours);
        for entry in &mut ours {
            entry.hidden = self
                .entries
                .iter()
                .find(|e| e.same(entry))
                .map_or(0, |e| e.hidden);
        }
        self.entries = ours;
        others.truncate(MAX_LINES.saturating_sub(self.entries.len()));
        let mut text = String::from(HEADER);
        let all = others
            .iter()
            .map(|(s, e)| (s.as_str(), e))
            .chain(self.entries.iter().map(|e| (self.server.as_str(), e)));
        for (server, entry) in all {
            match entry.key {
                Some(key) => text.push_str(&format!("{server} key {key} {}\n", entry.name)),
                None => text.push_str(&format!("{server} name {}\n", entry.name)),
            }
        }
        crate::datafile::write_private(&path, &text)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))
    }
}

/// What to add to a message when the list could not be saved.
fn unsaved(saved: Result<(), String>) -> String {
    match saved {
        Ok(()) => String::new(),
        Err(why) => format!(" (for this session only: {why})"),
    }
}

/// The lines of the file at `path` (none if it does not exist), and how
/// many could not be read.
fn read(path: &std::path::Path) -> std::io::Result<(Vec<Line>, usize)> {
    let text = crate::datafile::read_capped(path, MAX_FILE)?;
    let mut lines = Vec::new();
    let mut bad = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Some(line) if lines.len() < MAX_LINES => lines.push(line),
            _ => bad += 1,
        }
    }
    Ok((lines, bad))
}

fn parse_line(line: &str) -> Option<Line> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let (server, key, name) = match fields[..] {
        [server, "key", key, name] => (server, Some(IdentityKey::parse(key).ok()?), name),
        [server, "name", name] => (server, None, name),
        _ => return None,
    };
    let server_ok = URL_SAFE_NO_PAD
        .decode(server)
        .is_ok_and(|bytes| bytes.len() == 32);
    if !server_ok || !valid_username(name) {
        return None;
    }
    let entry = Entry {
        name: name.to_owned(),
        key,
        hidden: 0,
    };
    Some((server.to_owned(), entry))
}

#[cfg(test)]
mod tests;
