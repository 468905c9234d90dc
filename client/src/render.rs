//! Turns server events into output lines: plain text for people, or one
//! JSON object per line for scripts (`--json`).
//!
//! Plain lines have one of three shapes, so no peer can forge another:
//!
//! ```text
//! [12:34:56] <ace> a message        a message; `* ace waves` for an action,
//!     its second line               `*ace → bob* hi` for a direct message
//! -!- ace joined (2 online)         anything the server itself says
//! ```
//!
//! A message's continuation lines are indented, and every piece of text a
//! peer controls goes through [`crate::escape`] first. In JSON every event is
//! the protocol's own serialization, made terminal-safe the same way.

use chat_protocol::{ByeCode, HistoryEntry, ServerEvent, Welcome};

use crate::escape::{self, one_line};

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
    Some(match event {
        ServerEvent::Welcome(welcome) => self::welcome(welcome),
        ServerEvent::Message(message) => self::message(message),
        ServerEvent::Dm {
            from, to, text, ts, ..
        } => with_continuation(
            format!("[{}] *{} → {}* ", clock(*ts), one_line(from), one_line(to)),
            text,
        ),
        ServerEvent::Join { name, online, .. } => {
            format!("{NOTICE}{} joined ({online} online)", one_line(name))
        }
        ServerEvent::Leave {
            name,
            online,
            reason,
            ..
        } => {
            let mut line = format!("{NOTICE}{} left ({online} online)", one_line(name));
            if let Some(reason) = leave_reason(reason) {
                line.push_str(": ");
                line.push_str(&one_line(reason));
            }
            line
        }
        ServerEvent::Users { users } => online(users),
        ServerEvent::Notice { text, .. } => with_continuation(format!("{NOTICE}notice: "), text),
        ServerEvent::Bye { code, reason } => format!("{NOTICE}{}", disconnected(*code, reason)),
        // Errors go to stderr ([`refused`]); a reject ends the handshake
        // and is reported as the reason of the exit.
        ServerEvent::Error { .. } | ServerEvent::Reject { .. } | ServerEvent::Unknown => {
            return None;
        }
    })
}

/// The reason a leave is shown with, if any: the server's plain `left`
/// (the user simply left) adds nothing to "ace left", so it is not
/// repeated; every other reason (`left: "…"`, a kick, `too slow`) is.
pub fn leave_reason(reason: &str) -> Option<&str> {
    (!reason.is_empty() && reason != "left").then_some(reason)
}

fn welcome(welcome: &Welcome) -> String {
    let mut lines = vec![
        format!("{NOTICE}joined as {}", one_line(&welcome.name)),
        online(&welcome.users),
    ];
    if let Some(motd) = welcome.motd.as_deref().filter(|m| !m.is_empty()) {
        lines.push(with_continuation(format!("{NOTICE}motd: "), motd));
    }
    lines.extend(welcome.history.iter().map(message));
    lines.join("\n")
}

fn message(message: &HistoryEntry) -> String {
    let from = one_line(&message.from);
    let prefix = if message.action {
        format!("[{}] * {from} ", clock(message.ts))
    } else {
        format!("[{}] <{from}> ", clock(message.ts))
    };
    with_continuation(prefix, &message.text)
}

fn online(users: &[String]) -> String {
    let names: Vec<_> = users.iter().map(|u| one_line(u)).collect();
    format!("{NOTICE}online: {}", names.join(", "))
}

/// `prefix` and the first line of `text`, then its other lines indented.
fn with_continuation(prefix: String, text: &str) -> String {
    let mut out = prefix;
    for (i, line) in escape::lines(text).enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(INDENT);
        }
        out.push_str(&line);
    }
    out
}

/// Why the server ended the session: `kicked: REASON`, `shutdown`, ….
pub fn disconnected(code: ByeCode, reason: &str) -> String {
    let code = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".into());
    if reason.is_empty() {
        format!("disconnected by the server: {code}")
    } else {
        format!("disconnected by the server: {code}: {}", one_line(reason))
    }
}

/// The stderr line for an `error` event: one of our events was refused.
pub fn refused(message: &str) -> String {
    format!("chat: refused: {}", one_line(message))
}

/// `ts` (Unix milliseconds) as local `HH:MM:SS`.
pub fn clock(ts: u64) -> String {
    let secs = libc::time_t::try_from(ts / 1000).unwrap_or(libc::time_t::MAX);
    // SAFETY: `localtime_r` writes only into `tm`, which lives on this stack
    // frame, and reads only `secs`; it is the thread-safe variant.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return "--:--:--".into();
        }
        tm
    };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
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
            text: "a\nb".into(),
            ts: TS,
        });
        assert_eq!(notice, "-!- notice: a\n    b");
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
                name: evil.into(),
                online: 2,
                ts: TS,
            },
            ServerEvent::Leave {
                name: evil.into(),
                online: 1,
                reason: evil.into(),
                ts: TS,
            },
            ServerEvent::Users {
                users: vec![evil.into(), "bob".into()],
            },
            ServerEvent::Notice {
                text: evil.into(),
                ts: TS,
            },
            ServerEvent::Bye {
                code: ByeCode::Kicked,
                reason: evil.into(),
            },
            ServerEvent::Welcome(Welcome {
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
        assert_eq!(refused("bad\x1b[2J"), "chat: refused: bad\\x1b[2J");
    }

    #[test]
    fn server_notices() {
        assert_eq!(
            plain(ServerEvent::Join {
                name: "ace".into(),
                online: 2,
                ts: TS
            }),
            "-!- ace joined (2 online)"
        );
        assert_eq!(
            plain(ServerEvent::Leave {
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
                name: "ace".into(),
                online: 1,
                reason: "left: \"gone fishing\"".into(),
                ts: TS
            }),
            "-!- ace left (1 online): left: \"gone fishing\""
        );
        assert_eq!(
            plain(ServerEvent::Leave {
                name: "ace".into(),
                online: 0,
                reason: String::new(),
                ts: TS
            }),
            "-!- ace left (0 online)"
        );
        assert_eq!(
            plain(ServerEvent::Users {
                users: vec!["a".into(), "b".into(), "c".into()]
            }),
            "-!- online: a, b, c"
        );
        assert_eq!(
            plain(ServerEvent::Bye {
                code: ByeCode::Kicked,
                reason: "spam".into()
            }),
            "-!- disconnected by the server: kicked: spam"
        );
        assert_eq!(
            disconnected(ByeCode::Shutdown, ""),
            "disconnected by the server: shutdown"
        );
        let error = ServerEvent::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
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
            code: ErrorCode::TextTooLong,
            message: "long".into(),
        };
        let value: serde_json::Value =
            serde_json::from_str(&super::event(Mode::Json, &error, b"").unwrap()).unwrap();
        assert_eq!(value["type"], "error");
        assert_eq!(value["code"], "text_too_long");
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
