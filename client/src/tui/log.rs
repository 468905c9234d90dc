//! Logs on disk (`log_dir` in the configuration; off by default): the
//! lines of the full screen, one plain-text file per server and room:
//! `LOG_DIR/HOST_PORT.log` for the default room (and everything of a
//! server without rooms), `LOG_DIR/HOST_PORT#ops.log` for the room
//! `#ops`, `LOG_DIR/HOST_PORT@bob.log` for the direct messages with bob.
//! Each line has its date and time and is escaped as on screen, so a log
//! can be read with `less` or `grep` and never drives a terminal. The
//! directory is made private (0700), each file is only the user's (0600),
//! and a link in its place is refused.
//!
//! The app says what to log ([`super::app::App::take_log`]); the runner
//! writes it here after each turn of its loop.

use std::collections::HashMap;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use super::app::LogTarget;
use crate::clock::Clock;
use crate::model::Entry;

/// An open log file.
pub struct Log {
    file: BufWriter<File>,
    /// Where it is.
    pub path: PathBuf,
}

/// The log file's name for the server at `url`: its host and port, with
/// anything but letters, digits, dots and dashes as `_`; for a room or a
/// person (`target`: `#ops`, `@bob`), that name after it, lowercase, with
/// the same rule (a name a server sends is not trusted to be one).
pub fn file_name(url: &str, target: Option<&str>) -> String {
    let base = server_name(url);
    match target {
        None => format!("{base}.log"),
        Some(target) => {
            let mut chars = target.chars();
            let sigil = chars
                .next()
                .filter(|c| matches!(c, '#' | '@'))
                .unwrap_or('_');
            let name: String = chars
                .map(|c| c.to_ascii_lowercase())
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{base}{sigil}{name}.log")
        }
    }
}

/// A server's host and port, as file names hold it.
fn server_name(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let bare = lower
        .strip_prefix("ws://")
        .unwrap_or(&lower)
        .trim_end_matches('/');
    let name: String = bare
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    name.trim_matches('_').to_owned()
}

/// The logs of one server: the default room's file, opened at once, and
/// a room's or a person's when their first line comes.
pub struct Logs {
    dir: PathBuf,
    url: String,
    files: HashMap<LogTarget, Log>,
}

impl Logs {
    /// Opens (or starts) the default room's log of the server at `url`
    /// in `dir`, made if missing.
    pub fn open(dir: &Path, url: &str) -> io::Result<Self> {
        let log = Log::open(dir, url, None)?;
        Ok(Self {
            dir: dir.to_owned(),
            url: url.to_owned(),
            files: HashMap::from([(None, log)]),
        })
    }

    /// Appends each entry to its file, stamped with its date and time by
    /// `clock`; a failure names the file.
    pub fn write(
        &mut self,
        entries: &[(LogTarget, Entry)],
        clock: &Clock,
    ) -> Result<(), (PathBuf, io::Error)> {
        for (target, entry) in entries {
            if !self.files.contains_key(target) {
                let log = Log::open(&self.dir, &self.url, target.as_deref()).map_err(|err| {
                    let name = file_name(&self.url, target.as_deref());
                    (self.dir.join(name), err)
                })?;
                self.files.insert(target.clone(), log);
            }
            let log = self.files.get_mut(target).expect("opened above");
            log.write(std::slice::from_ref(entry), clock)
                .map_err(|err| (log.path.clone(), err))?;
        }
        Ok(())
    }
}

impl Log {
    /// Opens (or starts) the log of the server at `url` in `dir`, made if
    /// missing: the default room's, or `target`'s (see [`file_name`]).
    pub fn open(dir: &Path, url: &str, target: Option<&str>) -> io::Result<Self> {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let path = dir.join(file_name(url, target));
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)?;
        let meta = file.metadata()?;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        if meta.uid() != unsafe { libc::geteuid() } {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} belongs to another user", path.display()),
            ));
        }
        if meta.mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(Self {
            file: BufWriter::new(file),
            path,
        })
    }

    /// Appends `entries`, each stamped with its date and time by `clock`,
    /// and flushes.
    pub fn write(&mut self, entries: &[Entry], clock: &Clock) -> io::Result<()> {
        for entry in entries {
            let ts = entry.ts.unwrap_or_else(|| clock.now());
            let stamp = clock.stamp(ts);
            if let Some(line) = crate::render::log_line(entry, &stamp) {
                writeln!(self.file, "{line}")?;
            }
        }
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::{HistoryEntry, ServerEvent};

    use super::*;
    use crate::model;

    #[test]
    fn names_come_from_the_url() {
        assert_eq!(
            file_name("ws://chat.example.org:1719/", None),
            "chat.example.org_1719.log"
        );
        assert_eq!(file_name("ws://[::1]:1719/", None), "1__1719.log");
        assert_eq!(file_name("WS://Host:9", None), "host_9.log");
        assert_eq!(file_name("ws://h:1/", Some("#ops")), "h_1#ops.log");
        assert_eq!(file_name("ws://h:1/", Some("@Bob")), "h_1@bob.log");
        // A name from the server is not trusted to be a name.
        assert_eq!(file_name("ws://h:1/", Some("@../../x")), "h_1@.._.._x.log");
    }

    #[test]
    fn each_room_and_person_has_a_file_of_its_own() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("logs");
        let mut logs = Logs::open(&dir, "ws://h:1/").unwrap();
        let line = |text: &str| Entry::notice(Some(1_699_963_205_000), text);
        let clock = Clock::utc("%H:%M");
        logs.write(
            &[
                (None, line("in the lobby")),
                (Some("#ops".into()), line("in ops")),
                (Some("@Bob".into()), line("to bob")),
                (Some("#ops".into()), line("in ops again")),
            ],
            &clock,
        )
        .unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(read("h_1.log"), "2023-11-14 12:00:05 -!- in the lobby\n");
        assert_eq!(
            read("h_1#ops.log"),
            "2023-11-14 12:00:05 -!- in ops\n2023-11-14 12:00:05 -!- in ops again\n"
        );
        assert_eq!(read("h_1@bob.log"), "2023-11-14 12:00:05 -!- to bob\n");
        let mode = std::fs::metadata(dir.join("h_1#ops.log")).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_log_is_private_stamped_and_escaped_as_on_screen() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("logs").join("chat");
        let mut log = Log::open(&dir, "ws://127.0.0.1:1719/", None).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().mode() & 0o777,
            0o700,
            "the directory"
        );
        assert_eq!(
            std::fs::metadata(&log.path).unwrap().mode() & 0o777,
            0o600,
            "the file"
        );
        let message = model::entries(
            &ServerEvent::Message(HistoryEntry {
                room: None,
                id: 1,
                from: "mallory".into(),
                text: "hi\x1b]0;pwned\x07\nsecond line".into(),
                ts: 1_699_963_205_000,
                action: false,
                cid: None,
            }),
            &crate::render::when,
        );
        let leave = model::entries(
            &ServerEvent::Leave {
                room: None,
                name: "bob".into(),
                online: 1,
                reason: "kicked: flood\n12:00 <carol> forged".into(),
                ts: 1_699_963_206_000,
            },
            &crate::render::when,
        );
        let clock = Clock::utc("%H:%M");
        log.write(&[message, leave].concat(), &clock).unwrap();
        drop(log);
        let text = std::fs::read_to_string(dir.join("127.0.0.1_1719.log")).unwrap();
        assert_eq!(
            text,
            "2023-11-14 12:00:05 <mallory> hi\\x1b]0;pwned\\x07\n    second line\n\
             2023-11-14 12:00:06 -!- bob left (1 online): kicked: flood\\x0a12:00 <carol> forged\n"
        );
        // Appended to on the next run; a link in its place is refused.
        let mut again = Log::open(&dir, "ws://127.0.0.1:1719/", None).unwrap();
        again
            .write(
                &model::entries(
                    &ServerEvent::Notice {
                        room: None,
                        text: "n".into(),
                        ts: 1_699_963_207_000,
                    },
                    &crate::render::when,
                ),
                &clock,
            )
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&again.path)
                .unwrap()
                .lines()
                .count(),
            4
        );
        std::os::unix::fs::symlink("/etc/passwd", dir.join("evil_1.log")).unwrap();
        assert!(Log::open(&dir, "ws://evil:1/", None).is_err());
    }
}
