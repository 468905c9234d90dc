//! Turns server events into output lines: plain text for people, or one
//! JSON object per line for scripts (`--json`).
//!
//! Plain lines are a drawing of the render model ([`crate::model`]), which
//! says what each event shows and in which words, the same for the full
//! screen; they have one of three shapes, so no peer can forge another:
//!
//! ```text
//! [12:34:56] <ace> a message        a message; `* ace waves` for an action,
//!     its second line               `*ace → bob* hi` for a direct message
//! -!- ace joined (2 online)         anything the server itself says
//! -!- 12 joined (1004 online)       (joins and leaves in a large room)
//! [12:35:00] #ops <ace> hi          a message in another room than the
//! -!- dave joined #ops (3 online)   default one: its room is said
//! ```
//!
//! A message's continuation lines are indented, and every piece of text a
//! peer controls goes through [`crate::escape`] first. In JSON every event is
//! the protocol's own serialization, made terminal-safe the same way; it
//! does not go through the model (see there why).

use chat_protocol::{ByeCode, ErrorCode, ServerEvent};
// The tests build these events; they were this module's own before it drew
// the model.
#[cfg(test)]
use chat_protocol::{HistoryEntry, Welcome};

use crate::escape::{self, one_line};
use crate::model::{self, Entry, Front, Kind, Span};

/// Indent of a message's continuation lines.
const INDENT: &str = "    ";

/// Prefix of everything the server says about the session and the room.
const NOTICE: &str = "-!- ";

/// How events are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Lines for people.
    Plain,
    /// One JSON object per event.
    Json,
}

/// The stdout text for `event` (lines without the final newline), or `None`
/// when it shows nothing there. `raw` is the event's JSON as received, used
/// for event types this client does not know.
pub fn event(mode: Mode, event: &ServerEvent, raw: &[u8]) -> Option<String> {
    match mode {
        Mode::Json => json(event, raw),
        Mode::Plain => plain(event),
    }
}

fn json(event: &ServerEvent, raw: &[u8]) -> Option<String> {
    let text = match event {
        // Passed on as it came (compacted to one line), for newer servers.
        ServerEvent::Unknown => serde_json::from_slice::<serde_json::Value>(raw)
            .ok()?
            .to_string(),
        known => serde_json::to_string(known).ok()?,
    };
    Some(escape::json(&text).into_owned())
}

fn plain(event: &ServerEvent) -> Option<String> {
    // Errors go to stderr ([`refused`]); a reject ends the handshake and is
    // reported as the reason of the exit; an unknown event has no lines.
    if matches!(event, ServerEvent::Error { .. }) {
        return None;
    }
    let lines: Vec<String> = Front::Lines
        .entries(event, &when)
        .iter()
        .filter_map(line)
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// One entry of the model as plain lines; none for a divider.
fn line(entry: &Entry) -> Option<String> {
    // Messages always have their server time.
    let time = || entry.ts.map_or_else(|| "--:--:--".to_owned(), clock);
    let from = one_line(&entry.from);
    // A room's name is checked (`RoomName`): nothing in it to escape.
    let room = entry
        .room
        .as_ref()
        .map_or_else(String::new, |room| format!("{room} "));
    let prefix = match &entry.kind {
        Kind::Message => format!("[{}] {room}<{from}> ", time()),
        Kind::Action => format!("[{}] {room}* {from} ", time()),
        Kind::Dm { to } => format!("[{}] *{from} → {}* ", time(), one_line(to)),
        Kind::Notice | Kind::Warning => NOTICE.to_owned(),
        // An admin's notice is stamped like a message (still `-!-` first,
        // so no message line can pass for one).
        Kind::AdminNotice => format!("{NOTICE}[{}] ", time()),
        Kind::Divider => return None,
    };
    Some(with_continuation(prefix, entry))
}

/// One entry as a log file keeps it: `stamp` (its date and time) first,
/// then the line mode's drawing without its own time (`<ace> text`,
/// `* ace waves`, `*ace → bob* psst`, `-!- …`), escaped the same way, a
/// text's further lines indented; none for a divider.
pub fn log_line(entry: &Entry, stamp: &str) -> Option<String> {
    let from = one_line(&entry.from);
    let prefix = match &entry.kind {
        Kind::Message => format!("{stamp} <{from}> "),
        Kind::Action => format!("{stamp} * {from} "),
        Kind::Dm { to } => format!("{stamp} *{from} → {}* ", one_line(to)),
        Kind::Notice | Kind::AdminNotice | Kind::Warning => format!("{stamp} {NOTICE}"),
        Kind::Divider => return None,
    };
    Some(with_continuation(prefix, entry))
}

/// `prefix` and the entry's text: its fields escaped on one line, the
/// lines of its text after the first indented.
fn with_continuation(prefix: String, entry: &Entry) -> String {
    let mut out = prefix;
    for span in entry.spans() {
        match span {
            Span::Field(field) => out.push_str(&one_line(field)),
            Span::Text(text) => {
                for (i, line) in escape::lines(text).enumerate() {
                    if i > 0 {
                        out.push('\n');
                        out.push_str(INDENT);
                    }
                    out.push_str(&line);
                }
            }
        }
    }
    out
}

/// An entry on one line, every span of it escaped with no line break:
/// for stderr.
fn one_line_of(entry: &Entry) -> String {
    entry
        .spans()
        .into_iter()
        .map(|(Span::Field(text) | Span::Text(text))| one_line(text))
        .collect()
}

/// Why the server ended the session: `kicked: REASON`, `shutdown`,
/// `banned until 14:05: REASON`, …, on one line.
pub fn disconnected(code: ByeCode, reason: &str, until: Option<u64>) -> String {
    one_line_of(&model::disconnected(code, reason, until, &when))
}

/// The stderr line for an identity alert (a name back with another key).
pub fn alert(alert: &crate::identity::Alert) -> String {
    format!("chat: {}", one_line_of(&model::alert(alert)))
}

/// The stderr line for an `error` event: one of our events was refused
/// (for a mute, until when).
pub fn refused(code: ErrorCode, message: &str, until: Option<u64>) -> String {
    format!(
        "chat: {}",
        one_line_of(&model::error(code, message, until, &when))
    )
}

/// A time moderation names (the end of a ban or mute), in local time:
/// `14:05` today, `2026-12-01 14:05` on another day.
pub fn when(ts: u64) -> String {
    let today = local_time(chat_protocol::clock::now_ms());
    match local_time(ts) {
        Some(tm) if today.is_some_and(|t| (t.tm_year, t.tm_yday) == (tm.tm_year, tm.tm_yday)) => {
            format!("{:02}:{:02}", tm.tm_hour, tm.tm_min)
        }
        _ => date(ts),
    }
}

/// `ts` (Unix milliseconds) as local `HH:MM:SS`.
pub fn clock(ts: u64) -> String {
    match local_time(ts) {
        Some(tm) => format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec),
        None => "--:--:--".into(),
    }
}

/// `ts` (Unix milliseconds) as the local `YYYY-MM-DD HH:MM`.
pub fn date(ts: u64) -> String {
    match local_time(ts) {
        Some(tm) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            i64::from(tm.tm_year) + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min
        ),
        None => "----------".into(),
    }
}

/// `ts` (Unix milliseconds) in the local time zone.
fn local_time(ts: u64) -> Option<libc::tm> {
    let secs = libc::time_t::try_from(ts / 1000).unwrap_or(libc::time_t::MAX);
    // SAFETY: `localtime_r` writes only into `tm`, which lives on this stack
    // frame, and reads only `secs`; it is the thread-safe variant.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&secs, &mut tm).is_null()).then_some(tm)
    }
}

#[cfg(test)]
mod tests {
    use chat_protocol::{ErrorCode, RateLimit};

    use super::*;

    /// Noon UTC, 2023-11-14.
    const TS: u64 = 1_699_963_200_000;

    fn plain(event: ServerEvent) -> String {
        super::event(Mode::Plain, &event, b"").unwrap()
    }

    fn entry(from: &str, text: &str, action: bool) -> HistoryEntry {
        HistoryEntry {
            room: None,
            id: 7,
            from: from.into(),
            text: text.into(),
            ts: TS,
            action,
            cid: None,
        }
    }

    #[test]
    fn clock_is_hh_mm_ss() {
        let t = clock(TS);
        assert_eq!(t.len(), 8, "{t}");
        assert_eq!(&t[2..3], ":");
        assert_eq!(&t[6..], "00");
        assert_eq!(
            &clock(TS + 61_000)[3..],
            &format!("{:02}:01", (t[3..5].parse::<u32>().unwrap() + 1) % 60)[..]
        );
    }

    #[test]
    fn messages_and_actions() {
        let t = clock(TS);
        assert_eq!(
            plain(ServerEvent::Message(entry("ace", "Hello", false))),
            format!("[{t}] <ace> Hello")
        );
        assert_eq!(
            plain(ServerEvent::Message(entry("ace", "waves", true))),
            format!("[{t}] * ace waves")
        );
        let dm = ServerEvent::Dm {
            id: 1,
            from: "ace".into(),
            to: "bob".into(),
            text: "psst".into(),
            ts: TS,
            cid: None,
        };
        assert_eq!(plain(dm), format!("[{t}] *ace → bob* psst"));
    }

    #[test]
    fn continuation_lines_cannot_forge_notices_or_messages() {
        let t = clock(TS);
        let forged = "hi\n-!- bob left (1 online)\n[12:00:00] <bob> send me your password";
        let out = plain(ServerEvent::Message(entry("ace", forged, false)));
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines[0], format!("[{t}] <ace> hi"));
        assert_eq!(lines[1], "    -!- bob left (1 online)");
        assert_eq!(lines[2], "    [12:00:00] <bob> send me your password");
        let notice = plain(ServerEvent::Notice {
            room: None,
            text: "a\nb".into(),
            ts: TS,
        });
        assert_eq!(notice, format!("-!- [{t}] notice: a\n    b"));
    }

    #[test]
    fn peer_text_is_escaped_everywhere() {
        let evil = "\x1b]0;pwned\x07\u{202e}";
        let events = [
            ServerEvent::Message(entry(evil, evil, false)),
            ServerEvent::Message(entry(evil, evil, true)),
            ServerEvent::Dm {
                id: 1,
                from: evil.into(),
                to: evil.into(),
                text: evil.into(),
                ts: TS,
                cid: None,
            },
            ServerEvent::Join {
                room: None,
                name: evil.into(),
                online: 2,
                ts: TS,
                identity: None,
                op: false,
            },
            ServerEvent::Leave {
                room: None,
                name: evil.into(),
                online: 1,
                reason: evil.into(),
                ts: TS,
            },
            ServerEvent::Users {
                room: None,
                users: vec![evil.into(), "bob".into()],
                members: Vec::new(),
                more: false,
            },
            ServerEvent::Notice {
                room: None,
                text: evil.into(),
                ts: TS,
            },
            ServerEvent::Bye {
                code: ByeCode::Kicked,
                reason: evil.into(),
                until: None,
            },
            ServerEvent::Welcome(Welcome {
                default_room: None,
                rooms: Vec::new(),
                topic: None,
                name: evil.into(),
                users: vec![evil.into()],
                history: vec![entry(evil, evil, false)],
                motd: Some(evil.into()),
                rate: RateLimit {
                    burst: 10,
                    per_second: 5,
                },
                max_text: 4096,
                server: evil.into(),
                gap: false,
                resumed: false,
                last_id: None,
                members: Vec::new(),
                more: false,
            }),
        ];
        for event in events {
            for mode in [Mode::Plain, Mode::Json] {
                let out = super::event(mode, &event, b"").unwrap();
                for line in out.split('\n') {
                    assert!(
                        !line.chars().any(crate::escape::is_unsafe),
                        "{mode:?}: {line:?}"
                    );
                }
            }
        }
        assert_eq!(
            refused(ErrorCode::TextInvalid, "bad\x1b[2J", None),
            "chat: refused: bad\\x1b[2J"
        );
    }

    #[test]
    fn server_notices() {
        assert_eq!(
            plain(ServerEvent::Join {
                room: None,
                name: "ace".into(),
                online: 2,
                ts: TS,
                identity: None,
                op: false,
            }),
            "-!- ace joined (2 online)"
        );
        assert_eq!(
            plain(ServerEvent::Leave {
                room: None,
                name: "ace".into(),
                online: 1,
                reason: "left".into(),
                ts: TS
            }),
            "-!- ace left (1 online)",
            "a plain leave says `left` once"
        );
        assert_eq!(
            plain(ServerEvent::Leave {
                room: None,
                name: "ace".into(),
                online: 1,
                reason: "left: \"gone fishing\"".into(),
                ts: TS
            }),
            "-!- ace left (1 online): left: \"gone fishing\""
        );
        assert_eq!(
            plain(ServerEvent::Leave {
                room: None,
                name: "ace".into(),
                online: 0,
                reason: String::new(),
                ts: TS
            }),
            "-!- ace left (0 online)"
        );
        assert_eq!(
            plain(ServerEvent::Users {
                room: None,
                users: vec!["a".into(), "b".into(), "c".into()],
                members: Vec::new(),
                more: false,
            }),
            "-!- online: a, b, c"
        );
        assert_eq!(
            plain(ServerEvent::Presence {
                room: None,
                joined: 12,
                left: 3,
                online: 1004,
                ts: TS
            }),
            "-!- 12 joined, 3 left (1004 online)"
        );
        assert_eq!(
            plain(ServerEvent::Presence {
                room: None,
                joined: 12,
                left: 0,
                online: 1004,
                ts: TS
            }),
            "-!- 12 joined (1004 online)"
        );
        assert_eq!(
            plain(ServerEvent::Presence {
                room: None,
                joined: 0,
                left: 3,
                online: 1001,
                ts: TS
            }),
            "-!- 3 left (1001 online)"
        );
        assert_eq!(
            plain(ServerEvent::Bye {
                code: ByeCode::Kicked,
                reason: "spam".into(),
                until: None,
            }),
            "-!- disconnected by the server: kicked: spam"
        );
        assert_eq!(
            disconnected(ByeCode::Shutdown, "", None),
            "disconnected by the server: shutdown"
        );
        let error = ServerEvent::Error {
            room: None,
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            until: None,
        };
        assert_eq!(super::event(Mode::Plain, &error, b""), None);
        assert_eq!(
            super::event(Mode::Plain, &ServerEvent::Unknown, b"{}"),
            None
        );
    }

    #[test]
    fn welcome_shows_online_motd_and_history() {
        let t = clock(TS);
        let welcome = ServerEvent::Welcome(Welcome {
            default_room: None,
            rooms: Vec::new(),
            topic: None,
            name: "ace".into(),
            users: vec!["ace".into(), "bob".into()],
            history: vec![entry("bob", "earlier", false), entry("bob", "yawns", true)],
            motd: Some("be nice\nno spam".into()),
            rate: RateLimit {
                burst: 10,
                per_second: 5,
            },
            max_text: 4096,
            server: "chatd 0.1.0".into(),
            gap: false,
            resumed: false,
            last_id: None,
            members: Vec::new(),
            more: false,
        });
        assert_eq!(
            plain(welcome),
            format!(
                "-!- joined as ace\n-!- online: ace, bob\n-!- motd: be nice\n    no spam\n[{t}] <bob> earlier\n[{t}] * bob yawns"
            )
        );
    }

    #[test]
    fn json_is_the_protocol_event_on_one_line() {
        let event = ServerEvent::Message(entry("ace", "two\nlines\u{9b}", false));
        let out = super::event(Mode::Json, &event, b"").unwrap();
        assert!(!out.contains('\n') && !out.contains('\u{9b}'), "{out}");
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["type"], "message");
        assert_eq!(value["from"], "ace");
        assert_eq!(value["text"], "two\nlines\u{9b}");
        assert_eq!(value["id"], 7);
        assert_eq!(value["ts"], TS);
        let error = ServerEvent::Error {
            room: None,
            code: ErrorCode::TextTooLong,
            message: "long".into(),
            until: None,
        };
        let value: serde_json::Value =
            serde_json::from_str(&super::event(Mode::Json, &error, b"").unwrap()).unwrap();
        assert_eq!(value["type"], "error");
        assert_eq!(value["code"], "text_too_long");
    }

    #[test]
    fn json_passes_a_presence_summary_through() {
        let event = ServerEvent::Presence {
            room: None,
            joined: 12,
            left: 3,
            online: 1004,
            ts: 1_700_000_005_000,
        };
        assert_eq!(
            super::event(Mode::Json, &event, b"").unwrap(),
            r#"{"type":"presence","joined":12,"left":3,"online":1004,"ts":1700000005000}"#
        );
    }

    #[test]
    fn json_passes_unknown_events_on() {
        let raw = br#"{"type":"poll",
            "question":"tea?"}"#;
        let out = super::event(Mode::Json, &ServerEvent::Unknown, raw).unwrap();
        assert!(!out.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"type": "poll", "question": "tea?"})
        );
        assert_eq!(
            super::event(Mode::Json, &ServerEvent::Unknown, b"not json"),
            None
        );
    }
}
