//! A joined session in line mode: stdin lines out, server events in. A thin
//! front end over the [`Engine`], which does the pacing and the counting.
//!
//! One loop selects on five things: the engine (the next event from the
//! server, or the pacer's permission to send the held line), the next line
//! from the stdin reader (only while no line is held back), the drain
//! deadline, the time to say how many messages `/ignore` hid, and
//! Ctrl-C/SIGTERM. At the end
//! of input it waits, at most [`DRAIN_TIMEOUT`], until every say, action,
//! DM and who it sent has been answered (echoed back, listed, or refused
//! with an `error`: the server answers each in order, so counting is
//! enough), then sends a sealed `Bye` and closes.
//!
//! Rooms: plain lines (and `/me`, `/who`) go to the current room, the
//! room joined last (`/join #ops` makes it current at once, so the lines
//! after it go there; a join refused gives the room before back), or the
//! default room; `/part` leaves the current room for the one joined
//! before it. The events of every room are printed in one stream, each
//! with its room.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::time::Duration;

use chat_protocol::{RoomName, ServerEvent, Welcome};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::connection::Connection;
use crate::engine::{Engine, Event};
use crate::exit::{Exit, Failure};
use crate::identity::Roster;
use crate::input::{self, Command, Line, RoomCommand, rooms};
use crate::render::{self, Mode};
use crate::signals::Signals;

/// How long to wait at the end of input for the server to answer the lines
/// already sent.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Lines read ahead of the pacer; a small number keeps a big piped file on
/// disk rather than in memory.
const READ_AHEAD: usize = 16;

/// Standard output was closed by its reader (a broken pipe).
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// The state of one session.
struct Session {
    engine: Engine,
    /// Who is online with which identity; its warnings go to stderr.
    roster: Roster,
    mode: Mode,
    /// Whether any line was refused, locally or by the server.
    refused: bool,
    /// Lines read so far, for error messages.
    line_no: u64,
    /// The room plain lines go to; `None`: the default room.
    current: Option<RoomName>,
    /// The rooms joined besides the default room, in the order joined
    /// (from the `/join` typed: lines after it go there at once).
    joined: Vec<RoomName>,
    /// The `/join`s not answered yet: the line's number, the room, and
    /// the room that was current before it (given back if the join is
    /// refused).
    joins: Vec<(u64, RoomName, Option<RoomName>)>,
    /// The topics known, by room (the default room's too), for `/topic`.
    topics: BTreeMap<RoomName, String>,
}

/// Runs the session until it ends; returns how the process should exit.
pub async fn run(
    conn: Connection,
    welcome: Welcome,
    mode: Mode,
    roster: Roster,
    signals: &mut Signals,
) -> anyhow::Result<Exit> {
    let mut session = Session {
        engine: Engine::new(conn, &welcome),
        roster,
        mode,
        refused: false,
        line_no: 0,
        current: None,
        joined: Vec::new(),
        joins: Vec::new(),
        topics: BTreeMap::new(),
    };
    if let (Some(room), Some(topic)) = (&welcome.default_room, &welcome.topic) {
        session.topics.insert(room.clone(), topic.clone());
    }
    match session.main_loop(welcome, signals).await {
        // The reader of our output left (`chat … | head -1`): leave
        // quietly, as Unix tools do.
        Err(err) if err.is::<StdoutClosed>() => {
            let _ = session.leave("").await;
            Ok(Exit::Ok)
        }
        // A local failure (stdout gone): still leave properly.
        Err(err) if err.downcast_ref::<Failure>().is_none() => {
            let _ = session.leave("").await;
            Err(err)
        }
        ended => {
            // A session the server ended: what was hidden, said last.
            let _ = session.report_hidden(true);
            ended
        }
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn main_loop(&mut self, welcome: Welcome, signals: &mut Signals) -> anyhow::Result<Exit> {
        self.show(&ServerEvent::Welcome(welcome), b"")?;

        let (tx, mut lines) = mpsc::channel(READ_AHEAD);
        // Lines longer than this certainly hold a text over the limit: no
        // command prefix is this long.
        input::spawn_reader(self.engine.max_text().saturating_add(64), tx);

        let mut input_open = true;
        let mut quit_reason = String::new();
        let mut drain_deadline: Option<Instant> = None;
        loop {
            let held = self.engine.queued() > 0;
            if !input_open && !held {
                if self.engine.unanswered() == 0 {
                    return self.leave(&quit_reason).await;
                }
                drain_deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
            }
            let report_at = self.roster.ignored.report_due().map(Instant::from_std);
            tokio::select! {
                () = signals.recv() => {
                    self.leave("").await?;
                    return Ok(Exit::Ok);
                }
                () = sleep_until_some(report_at) => self.report_hidden(false)?,
                wake = self.engine.wait() => {
                    for event in self.engine.handle(wake).await {
                        if let Some(exit) = self.on_event(event)? {
                            return Ok(exit);
                        }
                    }
                }
                line = lines.recv(), if input_open && !held => {
                    match line {
                        Some(line) => {
                            if let Some(reason) = self.on_line(line) {
                                input_open = false;
                                quit_reason = reason;
                            }
                        }
                        None => input_open = false,
                    }
                }
                () = sleep_until_some(drain_deadline) => {
                    eprintln!(
                        "chat: {} line(s) not confirmed by the server within {} s of the end of input; they may not have been delivered",
                        self.engine.unanswered(),
                        DRAIN_TIMEOUT.as_secs()
                    );
                    self.refused = true;
                    return self.leave(&quit_reason).await;
                }
            }
        }
    }

    /// Handles one line of input. `Some(reason)` means the user quit.
    fn on_line(&mut self, line: Line) -> Option<String> {
        self.line_no += 1;
        let text = match line {
            Line::Text(text) => text,
            Line::TooLong(len) => {
                self.refuse_locally(&format!(
                    "message is at least {len} bytes; the limit is {} (not sent)",
                    self.engine.max_text()
                ));
                return None;
            }
            Line::NotUtf8 => {
                self.refuse_locally("the line is not UTF-8 text (not sent)");
                return None;
            }
        };
        match input::parse(&text) {
            Err(why) => self.refuse_locally(&why),
            Ok(Command::Nothing) => {}
            Ok(Command::Help) => eprintln!("{}", input::HELP),
            Ok(Command::Whois(name)) => {
                for line in self.roster.whois(&name) {
                    eprintln!("{line}");
                }
            }
            Ok(Command::Ignore(None)) => {
                for line in self.roster.ignored.list() {
                    eprintln!("{line}");
                }
            }
            Ok(Command::Ignore(Some(name))) => {
                let said = self.roster.ignore(&name);
                eprintln!("chat: {}", said.unwrap_or_else(|why| why));
            }
            Ok(Command::Unignore(name)) => {
                let said = self.roster.unignore(&name);
                eprintln!("chat: {}", said.unwrap_or_else(|why| why));
            }
            Ok(Command::Quit { reason }) => return Some(reason),
            Ok(Command::Room(command)) => self.room_command(&command),
            Ok(Command::Send(event)) => {
                let event = rooms::to_room(event, self.current.as_ref());
                self.send(event);
            }
        }
        None
    }

    /// Sends `event`, if it passes the server's checks here.
    fn send(&mut self, event: chat_protocol::ClientEvent) -> Option<u64> {
        match input::check(&event, self.engine.max_text()) {
            Err(why) => {
                self.refuse_locally(&why);
                None
            }
            Ok(()) => Some(self.engine.submit(event)),
        }
    }

    /// `/join`, `/part`, `/rooms`, `/topic`, `/invite`.
    fn room_command(&mut self, command: &RoomCommand) {
        let Some(default) = self.engine.default_room().cloned() else {
            return self.refuse_locally(rooms::NO_ROOMS);
        };
        let here = |room: &RoomName| (room != &default).then(|| room.clone());
        match command {
            RoomCommand::Join(room) if room == &default || self.joined.contains(room) => {
                self.current = here(room);
                eprintln!("chat: lines go to {room} now");
            }
            RoomCommand::Topic(None) => {
                let room = self.current.as_ref().unwrap_or(&default);
                match self.topics.get(room).filter(|t| !t.is_empty()) {
                    Some(topic) => {
                        eprintln!("chat: topic of {room}: {}", crate::escape::one_line(topic))
                    }
                    None => eprintln!("chat: {room} has no topic"),
                }
            }
            _ => match rooms::event(command, self.current.as_ref(), &default) {
                Err(why) => self.refuse_locally(&why),
                Ok(None) => {}
                Ok(Some(event)) => {
                    let Some(seq) = self.send(event) else { return };
                    match command {
                        RoomCommand::Join(room) => {
                            let before = std::mem::replace(&mut self.current, here(room));
                            self.joined.push(room.clone());
                            self.joins.push((seq, room.clone(), before));
                        }
                        RoomCommand::Part(room) => {
                            if let Some(room) = room.as_ref().or(self.current.as_ref()).cloned() {
                                self.left(&room);
                            }
                        }
                        _ => {}
                    }
                }
            },
        }
    }

    /// Out of `room` (a `/part`, or the server took us out): lines go to
    /// the room joined before it.
    fn left(&mut self, room: &RoomName) {
        self.joined.retain(|r| r != room);
        if self.current.as_ref() == Some(room) {
            self.current = self.joined.last().cloned();
        }
    }

    /// A `/join` answered: refused, the room that was current before it
    /// is current again.
    fn join_answered(&mut self, seq: u64, refused: bool) {
        let Some(at) = self.joins.iter().position(|(s, _, _)| *s == seq) else {
            return;
        };
        let (_, room, before) = self.joins.remove(at);
        if refused {
            self.joined.retain(|r| r != &room);
            if self.current.as_ref() == Some(&room) {
                self.current = before.filter(|b| self.joined.contains(b));
            }
        }
    }

    fn refuse_locally(&mut self, why: &str) {
        eprintln!("chat: line {}: {why}", self.line_no);
        self.refused = true;
    }

    /// Shows what the engine reports. `Some(exit)` ends the session; a
    /// lost connection is an error with its exit code.
    fn on_event(&mut self, event: Event) -> anyhow::Result<Option<Exit>> {
        match event {
            Event::Server { event, raw } => {
                self.show(&event, &raw)?;
                match event {
                    ServerEvent::RoomJoined(joined) => {
                        self.topics
                            .insert(joined.room, joined.topic.unwrap_or_default());
                    }
                    ServerEvent::Topic { room, text, .. } => {
                        self.topics.insert(room, text);
                    }
                    ServerEvent::RoomParted { room, .. } => self.left(&room),
                    ServerEvent::Error {
                        code,
                        message,
                        until,
                        ..
                    } => {
                        eprintln!("{}", render::refused(code, &message, until));
                        self.refused = true;
                    }
                    ServerEvent::Bye {
                        code,
                        reason,
                        until,
                    } if self.mode == Mode::Json => {
                        eprintln!("chat: {}", render::disconnected(code, &reason, until));
                    }
                    _ => {}
                }
            }
            // The `Bye` was shown: its reason is on the screen already.
            Event::Ended { failure, .. }
                if matches!(failure.exit, Exit::Disconnected | Exit::Banned) =>
            {
                return Ok(Some(failure.exit));
            }
            Event::Ended { failure, .. } => return Err(failure.into()),
            Event::Confirmed(seq) => self.join_answered(seq, false),
            Event::Refused(seq) => self.join_answered(seq, true),
            // A list that came in pages (a `welcome`'s or `room_joined`'s
            // with `more`), whole: shown as a `users` answer.
            Event::Users(room, users, members) => {
                let event = ServerEvent::Users {
                    room,
                    users,
                    members,
                    more: false,
                };
                self.show(&event, &event.to_bytes())?;
            }
            // The line client does not reconnect: none of these come.
            Event::RoomRejoined { .. }
            | Event::RoomLost(..)
            | Event::Unknown(_)
            | Event::Lost(_)
            | Event::Rejoined { .. }
            | Event::RetryFailed(_) => {}
        }
        Ok(None)
    }

    /// Prints an event on stdout, and on stderr what it tells of
    /// identities that must not be missed. In plain lines, what `/ignore`
    /// hides is left out (and counted), a `leave` the room was told of is
    /// shortened; `--json` prints every event as it came.
    fn show(&mut self, event: &ServerEvent, raw: &[u8]) -> anyhow::Result<()> {
        for alert in self.roster.event(event) {
            eprintln!("{}", render::alert(&alert));
        }
        if self.mode == Mode::Json {
            return self.print(render::event(self.mode, event, raw));
        }
        if self.roster.hides(event) {
            return Ok(());
        }
        let text = match (event, self.roster.shown(event)) {
            (_, Some(shown)) => render::event(self.mode, &shown, raw),
            (ServerEvent::Welcome(welcome), None) => {
                let mut welcome = welcome.clone();
                welcome
                    .history
                    .retain(|message| !self.roster.hides_from(&message.from));
                render::event(self.mode, &ServerEvent::Welcome(welcome), raw)
            }
            (_, None) => render::event(self.mode, event, raw),
        };
        self.print(text)
    }

    /// Says on stdout how many messages `/ignore` hid: once due, or
    /// whatever is left when `all`.
    fn report_hidden(&mut self, all: bool) -> anyhow::Result<()> {
        let now = std::time::Instant::now();
        for line in self.roster.ignored.take_report(now, all) {
            self.print(Some(format!("-!- {line}")))?;
        }
        Ok(())
    }

    /// Prints `text`, if any, as a line on stdout.
    fn print(&self, text: Option<String>) -> anyhow::Result<()> {
        let Some(text) = text else {
            return Ok(());
        };
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .map_err(|err| match err.kind() {
                io::ErrorKind::BrokenPipe => anyhow::Error::new(StdoutClosed),
                _ => anyhow::anyhow!("writing to standard output: {err}"),
            })
    }

    /// Says goodbye (sealed) and closes; the exit for a clean leave.
    async fn leave(&mut self, reason: &str) -> anyhow::Result<Exit> {
        self.engine.leave(reason).await;
        self.report_hidden(true)?;
        Ok(if self.refused {
            Exit::Refused
        } else {
            Exit::Ok
        })
    }
}
