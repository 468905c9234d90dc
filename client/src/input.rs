//! What the user types: lines read from stdin, turned into client events.
//!
//! A reader thread reads stdin line by line (each line capped in memory)
//! and hands the lines over a bounded channel, so a slow, paced session
//! holds back a big piped file instead of buffering it. [`parse`] turns a
//! line into a [`Command`]; [`check`] refuses, before anything is sent, an
//! event the server would refuse or that would break the size limit.
//!
//! ```text
//! text          say
//! /me TEXT      action
//! /msg NAME TEXT  direct message
//! /who          who is online
//! /whois NAME   NAME's identity, and what this client has seen of it
//! /identity add|remove KEY   another key of this name (a second device)
//! /kick /ban /unban /mute /unmute /bans   moderation (operators)
//! /ignore [NAME], /unignore NAME   hide NAME's messages here
//! /join #room, /part [#room], /rooms, /topic [TEXT], /invite NAME [#room]
//!               rooms (later lines go to the room joined last)
//! /quit [WHY]   leave
//! //text        say "/text"
//! ```

mod identity;
mod moderation;
pub mod rooms;

use std::io::{self, BufRead};

use chat_protocol::sizes::{TAG_LEN, max_client_message};
use chat_protocol::{ClientEvent, valid_username, validate_text};
use tokio::sync::mpsc;

pub use self::rooms::RoomCommand;

/// The local help, printed by `/help`.
pub const HELP: &str = "\
commands:
  TEXT            send TEXT to everyone
  /me TEXT        send an action (* you TEXT)
  /msg NAME TEXT  send TEXT to NAME only
  /who            list who is in the room
rooms (on a server with rooms; lines go to the room joined last):
  /join #ROOM     join a room (made if it does not exist, where the server
                  lets you), or go back to one you are in
  /part [#ROOM]   leave a room (alone: the current one; never the default)
  /rooms          list the rooms
  /topic [TEXT]   the room's topic; with TEXT, set it (operators); - clears
  /invite NAME [#ROOM]   let NAME into a private room (operators)
  /whois NAME     NAME's identity (fingerprint), and the identities this
                  client has seen for NAME on this server, with when
  /identity add KEY, /identity remove KEY
                  register another public key (chat-id1_…, from
                  `chat --show-identity` on your other device) to your
                  name, or remove one; the server must know you by one
  /ignore [NAME]  hide NAME's messages and direct messages (kept per
                  server, by NAME's identity when it has one); alone: who
                  is ignored, and how many of their messages were hidden
  /unignore NAME  show them again
operators of the room (the server refuses others):
  /kick NAME [REASON]             disconnect NAME (who may join again)
  /ban NAME [DURATION] [REASON]   ban NAME (DURATION like 30s, 10m, 2h, 7d;
                                  without one, until lifted)
  /unban TARGET                   lift a ban (TARGET as /bans lists it)
  /mute NAME [DURATION] [REASON]  NAME reads but cannot speak
  /unmute NAME                    lift a mute
  /bans                           the bans in force
  /quit [REASON]  leave
  /help           this list
  //TEXT          send /TEXT (a line that starts with a slash)";

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line, without its line ending.
    Text(String),
    /// A line longer than the reader keeps in memory; it was skipped.
    TooLong(usize),
    /// A line that is not UTF-8; it was skipped.
    NotUtf8,
}

/// What a line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Send this event to the server.
    Send(ClientEvent),
    /// Leave, as at the end of input.
    Quit {
        /// Words for the others (empty: none).
        reason: String,
    },
    /// Show the local help.
    Help,
    /// Show what is known of a name's identity (`/whois NAME`).
    Whois(String),
    /// Hide a name's messages (`/ignore NAME`), or list who is ignored
    /// (`/ignore`).
    Ignore(Option<String>),
    /// Show a name's messages again (`/unignore NAME`).
    Unignore(String),
    /// A room command (`/join`, `/part`, `/rooms`, `/topic`, `/invite`),
    /// which the front end turns into an event for its current room.
    Room(RoomCommand),
    /// Nothing (a blank line).
    Nothing,
}

/// Parses one line. `Err` holds a one-line explanation for the user; such a
/// line is not sent and counts as refused.
pub fn parse(line: &str) -> Result<Command, String> {
    if line.trim().is_empty() {
        return Ok(Command::Nothing);
    }
    if let Some(text) = line.strip_prefix("//") {
        return Ok(say(format!("/{text}")));
    }
    let Some(command) = line.strip_prefix('/') else {
        return Ok(say(line.to_owned()));
    };
    let (word, rest) = match command.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest),
        None => (command, ""),
    };
    match word {
        "me" => {
            if rest.trim().is_empty() {
                return Err("usage: /me TEXT".into());
            }
            Ok(Command::Send(ClientEvent::Action {
                room: None,
                text: rest.into(),
                cid: None,
            }))
        }
        "msg" => {
            let rest = rest.trim_start();
            let Some((to, text)) = rest.split_once(char::is_whitespace) else {
                return Err("usage: /msg NAME TEXT".into());
            };
            if !valid_username(to) {
                return Err(format!(
                    "/msg: {:?} is not a username (1-32 of A-Z a-z 0-9 _ . -)",
                    crate::escape::one_line(to)
                ));
            }
            if text.trim().is_empty() {
                return Err("usage: /msg NAME TEXT".into());
            }
            Ok(Command::Send(ClientEvent::Dm {
                to: to.into(),
                text: text.into(),
                cid: None,
            }))
        }
        "who" => Ok(Command::Send(ClientEvent::Who {
            room: None,
            after: None,
        })),
        "whois" => identity::whois(rest),
        "identity" => identity::keys(rest),
        "kick" => moderation::kick(rest),
        "ban" | "mute" => moderation::ban_or_mute(word, rest),
        "unban" => moderation::unban(rest),
        "unmute" => moderation::unmute(rest),
        "bans" => moderation::bans(rest),
        "ignore" | "unignore" => moderation::ignore(word, rest),
        "join" | "part" | "rooms" | "topic" | "invite" => rooms::parse(word, rest),
        "quit" => Ok(Command::Quit {
            reason: rest.trim().into(),
        }),
        "help" => Ok(Command::Help),
        _ => Err(format!(
            "unknown command /{}; /help lists the commands, and a line starting with // sends one that starts with /",
            crate::escape::one_line(word)
        )),
    }
}

fn say(text: String) -> Command {
    Command::Send(ClientEvent::Say {
        room: None,
        text,
        cid: None,
    })
}

/// Whether the server would take `event` under its text limit `max_text`:
/// the text checks the server makes, and the sealed size against the
/// limit on client messages (JSON escaping can make an event longer than
/// its text). `Err` explains the refusal.
pub fn check(event: &ClientEvent, max_text: usize) -> Result<(), String> {
    let text = match event {
        ClientEvent::Say { text, .. }
        | ClientEvent::Action { text, .. }
        | ClientEvent::Dm { text, .. } => text,
        _ => return Ok(()),
    };
    validate_text(text, max_text).map_err(|(_, why)| format!("{why} (not sent)"))?;
    let sealed = event.to_bytes().len() + TAG_LEN;
    let limit = max_client_message(max_text);
    if sealed > limit {
        return Err(format!(
            "message is {sealed} bytes once encoded; the server takes at most {limit} (not sent)"
        ));
    }
    Ok(())
}

/// Whether `event` gets an answer the session must wait for at the end of
/// input: its echo (the `users` list for a `who`), or an `error`.
pub fn expects_answer(event: &ClientEvent) -> bool {
    matches!(
        event,
        ClientEvent::Say { .. }
            | ClientEvent::Action { .. }
            | ClientEvent::Dm { .. }
            | ClientEvent::Who { .. }
            | ClientEvent::IdentityAdd { .. }
            | ClientEvent::IdentityRemove { .. }
            | ClientEvent::Bans
            | ClientEvent::JoinRoom { .. }
            | ClientEvent::PartRoom { .. }
            | ClientEvent::Rooms
            | ClientEvent::Topic { .. }
    ) || moderates(event)
}

/// Whether `event` asks the server to moderate (the room's `moderation`
/// event with our name as `by` answers it; an `invite` too).
pub fn moderates(event: &ClientEvent) -> bool {
    matches!(
        event,
        ClientEvent::Kick { .. }
            | ClientEvent::Ban { .. }
            | ClientEvent::Unban { .. }
            | ClientEvent::Mute { .. }
            | ClientEvent::Unmute { .. }
            | ClientEvent::Invite { .. }
    )
}

/// Starts the thread that reads stdin into `tx`. Lines longer than `cap`
/// bytes are not kept (they arrive as [`Line::TooLong`]). The channel ends
/// at end of input, or at a read error, which is reported on stderr.
pub fn spawn_reader(cap: usize, tx: mpsc::Sender<Line>) {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                match read_line(&mut stdin, cap) {
                    Ok(Some(line)) => {
                        if tx.blocking_send(line).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(err) => {
                        eprintln!("chat: reading standard input: {err}; treating it as its end");
                        return;
                    }
                }
            }
        })
        .expect("spawning the stdin thread");
}

/// Reads one line (`\n` or `\r\n` ended, or the last, unended) keeping at
/// most `cap` bytes of it in memory. `None` at end of input.
pub fn read_line(reader: &mut impl BufRead, cap: usize) -> io::Result<Option<Line>> {
    let mut line = Vec::new();
    // One byte more than the cap: a `\r` before the `\n` is not counted.
    let Some(read) = chat_term::line::read_capped(reader, cap.saturating_add(1), &mut line)? else {
        return Ok(None);
    };
    let mut total = read.len;
    if total == line.len() && line.last() == Some(&b'\r') {
        line.pop();
        total -= 1;
    }
    if total > cap {
        return Ok(Some(Line::TooLong(total)));
    }
    Ok(Some(
        String::from_utf8(line).map_or(Line::NotUtf8, Line::Text),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(line: &str) -> ClientEvent {
        match parse(line) {
            Ok(Command::Send(event)) => event,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn plain_lines_are_said() {
        assert_eq!(
            sent("hello"),
            ClientEvent::Say {
                room: None,
                text: "hello".into(),
                cid: None,
            }
        );
        assert_eq!(
            sent("  indented "),
            ClientEvent::Say {
                room: None,
                text: "  indented ".into(),
                cid: None,
            }
        );
        assert_eq!(
            sent("//etc/passwd"),
            ClientEvent::Say {
                room: None,
                text: "/etc/passwd".into(),
                cid: None,
            }
        );
        assert_eq!(
            sent("//"),
            ClientEvent::Say {
                room: None,
                text: "/".into(),
                cid: None
            }
        );
    }

    #[test]
    fn commands() {
        assert_eq!(
            sent("/me waves"),
            ClientEvent::Action {
                room: None,
                text: "waves".into(),
                cid: None,
            }
        );
        assert_eq!(
            sent("/msg bob hi there"),
            ClientEvent::Dm {
                to: "bob".into(),
                text: "hi there".into(),
                cid: None,
            }
        );
        assert_eq!(
            sent("/who"),
            ClientEvent::Who {
                room: None,
                after: None,
            }
        );
        assert_eq!(
            parse("/quit"),
            Ok(Command::Quit {
                reason: String::new()
            })
        );
        assert_eq!(
            parse("/quit gone fishing"),
            Ok(Command::Quit {
                reason: "gone fishing".into()
            })
        );
        assert_eq!(parse("/help"), Ok(Command::Help));
        assert_eq!(parse(""), Ok(Command::Nothing));
        assert_eq!(parse(" \t "), Ok(Command::Nothing));
    }

    #[test]
    fn bad_commands_are_explained() {
        assert!(
            parse("/meow")
                .unwrap_err()
                .contains("unknown command /meow")
        );
        assert!(parse("/nick x").unwrap_err().contains("//"));
        assert_eq!(parse("/me").unwrap_err(), "usage: /me TEXT");
        assert_eq!(parse("/me   ").unwrap_err(), "usage: /me TEXT");
        assert_eq!(parse("/msg bob").unwrap_err(), "usage: /msg NAME TEXT");
        assert_eq!(parse("/msg bob   ").unwrap_err(), "usage: /msg NAME TEXT");
        assert!(parse("/msg b@d hi").unwrap_err().contains("not a username"));
        let hostile = parse("/\x1b[2J").unwrap_err();
        assert!(!hostile.contains('\x1b'), "{hostile}");
    }

    #[test]
    fn check_applies_the_server_limits() {
        let say = |t: &str| ClientEvent::Say {
            room: None,
            text: t.into(),
            cid: None,
        };
        assert!(check(&say("hello"), 10).is_ok());
        assert!(check(&say(&"x".repeat(10)), 10).is_ok());
        assert!(
            check(&say(&"x".repeat(11)), 10)
                .unwrap_err()
                .contains("limit is 10")
        );
        assert!(check(&say("a\x07b"), 10).unwrap_err().contains("U+0007"));
        // 4096 quotes double when JSON-escaped; the message limit allows for it.
        let quotes = say(&"\"".repeat(4096));
        assert!(check(&quotes, 4096).is_ok());
        assert!(
            check(
                &ClientEvent::Who {
                    room: None,
                    after: None,
                },
                0
            )
            .is_ok()
        );
    }

    fn read_all(input: &[u8], cap: usize) -> Vec<Line> {
        let mut reader = io::BufReader::with_capacity(4, input);
        std::iter::from_fn(|| read_line(&mut reader, cap).unwrap()).collect()
    }

    #[test]
    fn reader_splits_lines_and_caps_them() {
        let text = |s: &str| Line::Text(s.into());
        assert_eq!(
            read_all(b"one\r\ntwo\n\nlast", 100),
            [text("one"), text("two"), text(""), text("last")]
        );
        assert_eq!(
            read_all(b"short\nmuch too long\nok\n", 5),
            [text("short"), Line::TooLong(13), text("ok")]
        );
        assert_eq!(
            read_all(b"\xff\xfe\nfine\n", 100),
            [Line::NotUtf8, text("fine")]
        );
        assert_eq!(read_all(b"", 100), []);
        assert_eq!(read_all(b"\n", 100), [text("")]);
    }
}
