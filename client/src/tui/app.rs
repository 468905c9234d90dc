//! The full-screen client's state and what keys and engine events do to
//! it. No I/O here: the runner ([`super::run`]) feeds it terminal events
//! and [`Event`](crate::engine::Event)s from the engine and carries out the
//! [`Action`]s it returns (and writes what it says to log), and
//! [`super::view`] draws it. Tests build it directly, feed it keys and draw
//! it on ratatui's `TestBackend`.
//!
//! The state is here; its conversations (a pane each: rooms and direct
//! messages) are in [`buffer`]; what engine events do to it is in
//! [`events`] (and [`room_events`] for the rooms'); what the user does to
//! it is in [`keys`] (keys, paste, mouse), [`commands`] (Enter and Tab:
//! commands, messages, completion), [`room_commands`] (`/join`, `/part`,
//! `/msg NAME`, …), [`search`] (Ctrl-R, `/search`, `/lastlog`), [`ended`]
//! (leaving, and a session that ended) and [`scroll`] (the pane's
//! scrolling).

pub mod buffer;
mod commands;
mod ended;
mod events;
mod identities;
mod keys;
mod room_commands;
mod room_events;
mod scroll;
mod search;

use chat_protocol::{ClientEvent, RoomName, Welcome};
use tokio::time::Instant;

pub use self::buffer::{Buffer, Place};
use self::commands::Completion;
pub use self::ended::{Ended, Secret};
pub use self::search::Search;
use super::editor::Editor;
use crate::clock::Clock;
use crate::engine::{Credentials, Link};
use crate::exit::Exit;
use crate::identity::Roster;
use crate::model::{self, Entry, Kind};

/// The shortest time between two refreshes of the user list after a
/// presence summary: the server's default summary interval, so a
/// refresh follows each summary at most.
pub const USERS_REFRESH_MS: u64 = 1000;

/// Lines of scrollback kept (the benchmark draws 100 000 in well under a
/// millisecond, and they take about 20 MiB).
pub const SCROLLBACK_MAX: usize = 200_000;

/// What the runner must do for the app.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Hand this to the engine, then call [`App::add_pending`].
    Send(ClientEvent),
    /// Leave with this reason; the process exits with `exit`.
    Quit {
        /// Words for the others (empty: none).
        reason: String,
        /// How the process ends.
        exit: Exit,
    },
    /// Stop the process (Ctrl-Z), then redraw.
    Suspend,
    /// Join again now (`/reconnect`, or the password or key asked for
    /// after the session ended), with these credentials if given.
    Reconnect(Option<Credentials>),
}

/// When to ring the terminal bell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bell {
    /// Never.
    Off,
    /// On a mention of our name or a direct message to us.
    Mentions,
    /// On every message from someone else.
    All,
}

impl Bell {
    /// The setting's name, as `/bell` and the configuration write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Mentions => "mentions",
            Self::All => "all",
        }
    }
}

/// One line of the pane.
#[derive(Clone, Debug)]
pub struct Shown {
    /// What it is.
    pub entry: Entry,
    /// Whether it mentions us (and is someone else's).
    pub mention: bool,
    /// Whether it is ours.
    pub own: bool,
}

/// Where a line is logged: the server's file (the default room, and
/// everything of a server without rooms), or a room's or a person's of
/// the same server (`#ops`, `@bob`: the name's end of the file name).
pub type LogTarget = Option<String>;

/// Where the pane is scrolled to: `rows_below` rows of entry `entry` (and
/// everything after it) are below the bottom of the pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// Index into the buffer's lines of the entry at the bottom of the
    /// pane.
    pub entry: usize,
    /// Its rows hidden below the pane.
    pub rows_below: usize,
}

/// The state of the full-screen client.
pub struct App {
    /// The server's URL.
    pub url: String,
    /// The key's fingerprint (key id).
    pub fingerprint: String,
    /// Our name.
    pub me: String,
    /// Who is online with which identity, and what this client has seen
    /// of names before (see [`App::with_roster`]).
    pub ids: Roster,
    /// When the user list was last refreshed (Unix ms, the clock's).
    users_refreshed: Option<u64>,
    /// The conversations: the default room's first, then the other rooms,
    /// then the direct messages ([`buffer`]).
    pub buffers: Vec<Buffer>,
    /// The index of the buffer on screen.
    pub current: usize,
    /// Whether the server has rooms (its `Welcome` named a default room):
    /// the room list is shown, and direct messages have buffers of their
    /// own.
    pub rooms: bool,
    /// The rooms `/join`ed and not answered yet, with the line's number:
    /// the answer's buffer is shown.
    joining: Vec<(u64, RoomName)>,
    /// Our lines not yet answered, in the order typed, with the buffer
    /// each went from.
    pub pending: Vec<(u64, Place, Entry)>,
    /// The input line.
    pub editor: Editor,
    /// Whether the user list is shown (where there is room).
    pub show_users: bool,
    /// The link, as the engine last said.
    pub link: Link,
    /// When to ring the bell.
    pub bell: Bell,
    /// Set when the bell should ring; the runner rings and clears it.
    pub ring: bool,
    /// Colours (off when `NO_COLOR` is set).
    pub color: bool,
    /// The server's text limit in bytes.
    pub max_text: usize,
    /// How times and dates are shown (`time_format`; UTC in tests).
    pub clock: Clock,
    /// The message pane's size at the last draw (width, height).
    pub pane: (usize, usize),
    /// While the link is down: when it went (Unix ms). Who is online is
    /// then only known as of that time, and shown so, until the rejoin's
    /// `Welcome` says again.
    pub stale_since: Option<u64>,
    /// The screen rows that held a cluster terminals may draw wider or
    /// narrower than ratatui counts, at the last draw: drawn whole again
    /// on the next (see [`super::text::settle`]).
    pub uncertain_rows: Vec<u16>,
    /// Set once the session ended (a kick, a ban, a withdrawn key, a
    /// refused rejoin): the screen stays, with the reason, until the user
    /// leaves or joins again.
    pub ended: Option<Ended>,
    /// The masked input that asks for a new password or key, in place of
    /// the input line, while it is open.
    pub secret: Option<Secret>,
    /// Ctrl-C (or `/quit`) was pressed while lines wait or a draft is
    /// typed: the question is shown; this is the reason to leave with.
    pub confirm_quit: Option<String>,
    /// A search in the scrollback in progress (Ctrl-R, `/search`).
    pub search: Option<Search>,
    /// Whether the lines shown from now on are logged (`log_dir`).
    pub logging: bool,
    /// Lines to log, for the runner to write ([`App::take_log`]).
    to_log: Vec<(LogTarget, Entry)>,
    completion: Option<Completion>,
    last_retry_error: Option<String>,
}

impl App {
    /// The app right after joining with `welcome`; times shown by `clock`.
    pub fn new(url: &str, fingerprint: &str, welcome: &Welcome, clock: Clock) -> Self {
        // A server without rooms has one, which has no name: it is never
        // sent, shown or logged by one.
        let default = welcome
            .default_room
            .clone()
            .unwrap_or_else(|| RoomName::parse("#lobby").expect("a room's name"));
        let mut app = Self {
            url: url.to_owned(),
            fingerprint: fingerprint.to_owned(),
            me: welcome.name.clone(),
            ids: Roster::in_memory(),
            users_refreshed: None,
            buffers: vec![Buffer::new(Place::Room(default))],
            current: 0,
            rooms: welcome.default_room.is_some(),
            joining: Vec::new(),
            pending: Vec::new(),
            editor: Editor::default(),
            show_users: true,
            link: Link::Up,
            bell: Bell::Mentions,
            ring: false,
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            max_text: welcome.max_text,
            clock,
            pane: (80, 20),
            stale_since: None,
            uncertain_rows: Vec::new(),
            ended: None,
            secret: None,
            confirm_quit: None,
            search: None,
            logging: false,
            to_log: Vec::new(),
            completion: None,
            last_retry_error: None,
        };
        app.buffers[0].set_users(&welcome.users);
        app.buffers[0].topic.clone_from(&welcome.topic);
        for room in &welcome.rooms {
            app.open(Place::Room(room.clone()));
        }
        for entry in model::welcome(welcome) {
            app.push(entry, true);
        }
        app
    }

    /// Whether to ask the server who is in the room on screen now: after
    /// a presence summary, at most once per [`USERS_REFRESH_MS`]; the room
    /// to ask about (`None`: the default room), if so. The runner asks
    /// (through [`crate::engine::Engine::refresh_users`]) when its queue
    /// is empty, so a refresh never delays a line typed.
    pub fn wants_users(&mut self) -> Option<Option<RoomName>> {
        let now = self.clock.now();
        let due = self
            .users_refreshed
            .is_none_or(|at| now.saturating_sub(at) >= USERS_REFRESH_MS);
        let at = match self.buf().place {
            Place::Room(_) => self.current,
            Place::Direct(_) => 0,
        };
        if !(self.buffers[at].users_stale && due) {
            return None;
        }
        self.buffers[at].users_stale = false;
        self.users_refreshed = Some(now);
        Some(self.buffers[at].place.room().filter(|_| at != 0).cloned())
    }

    fn is_me(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.me)
    }

    /// Whether `text` names us as a word.
    pub fn mentions_me(&self, text: &str) -> bool {
        let me = self.me.to_ascii_lowercase();
        let lower = text.to_ascii_lowercase();
        let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        lower.match_indices(&me).any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + me.len()..].chars().next();
            !before.is_some_and(is_name) && !after.is_some_and(|c| is_name(c) && c != '.')
        })
    }

    /// Adds a line to the pane on screen; see [`App::push_to`].
    fn push(&mut self, entry: Entry, history: bool) {
        self.push_to(self.current, entry, history);
    }

    /// Adds a line to buffer `at`'s pane; `history` lines never ring. A
    /// line without a time of its own (ours, a `/who` answer) gets the
    /// time now; where the day changes, a marker with the date goes first
    /// (also before history older than today).
    fn push_to(&mut self, at: usize, mut entry: Entry, history: bool) {
        if entry.kind != Kind::Divider {
            let ts = *entry.ts.get_or_insert_with(|| self.clock.now());
            let day = self.clock.day(ts);
            let last_day = self.buffers[at].last_day;
            if last_day != Some(day) {
                let today = self.clock.day(self.clock.now());
                if last_day.is_some() || day != today {
                    let date = self.clock.date(ts);
                    self.push_line_to(at, Entry::divider(date), true);
                }
                self.buffers[at].last_day = Some(day);
            }
        }
        self.push_line_to(at, entry, history);
    }

    /// The lines to log since the last call (none unless logging), each
    /// with the file it goes to.
    pub fn take_log(&mut self) -> Vec<(LogTarget, Entry)> {
        std::mem::take(&mut self.to_log)
    }

    /// Where buffer `at`'s lines are logged.
    fn log_target(&self, at: usize) -> LogTarget {
        if at == 0 || !self.rooms {
            return None;
        }
        Some(match &self.buffers[at].place {
            Place::Room(room) => room.as_str().to_owned(),
            Place::Direct(name) => format!("@{}", name.to_ascii_lowercase()),
        })
    }

    /// Adds a line to the pane on screen as it is.
    fn push_line(&mut self, entry: Entry, history: bool) {
        self.push_line_to(self.current, entry, history);
    }

    /// Adds a line to buffer `at`'s pane as it is, counting it as unread
    /// there when another buffer is on screen.
    fn push_line_to(&mut self, at: usize, entry: Entry, history: bool) {
        if self.logging && entry.kind != Kind::Divider {
            let target = self.log_target(at);
            self.to_log.push((target, entry.clone()));
        }
        let own = matches!(entry.kind, Kind::Message | Kind::Action | Kind::Dm { .. })
            && self.is_me(&entry.from);
        let mention = !own
            && matches!(entry.kind, Kind::Message | Kind::Action | Kind::Dm { .. })
            && self.mentions_me(&entry.text);
        let from_other =
            matches!(entry.kind, Kind::Message | Kind::Action | Kind::Dm { .. }) && !own;
        if !history && from_other {
            let to_me = matches!(&entry.kind, Kind::Dm { to } if self.is_me(to));
            self.ring |= match self.bell {
                Bell::Off => false,
                Bell::Mentions => mention || to_me,
                Bell::All => true,
            };
        }
        let to_me = matches!(&entry.kind, Kind::Dm { to } if self.is_me(to));
        let on_screen = at == self.current;
        let buf = &mut self.buffers[at];
        if buf.scroll.is_some() && from_other {
            buf.unseen += 1;
        }
        if !on_screen && !history && from_other {
            buf.unread += 1;
            if mention || to_me {
                buf.mentions += 1;
            }
        }
        buf.lines.push(Shown {
            entry,
            mention,
            own,
        });
        if buf.lines.len() > SCROLLBACK_MAX {
            // The oldest tenth goes, in one move.
            let drop = SCROLLBACK_MAX / 10;
            buf.lines.drain(..drop);
            if let Some(anchor) = &mut buf.scroll {
                anchor.entry = anchor.entry.saturating_sub(drop);
            }
        }
    }

    /// A line of our own, not from the server.
    pub fn note(&mut self, text: impl Into<String>) {
        self.push(Entry::notice(None, text), false);
    }

    /// Shows `event` as pending under `seq` until the engine confirms it,
    /// in the buffer it went from; a `/join` is remembered, so that its
    /// answer's buffer is shown.
    pub fn add_pending(&mut self, seq: u64, event: &ClientEvent) {
        let (kind, text) = match event {
            ClientEvent::Say { text, .. } => (Kind::Message, text),
            ClientEvent::Action { text, .. } => (Kind::Action, text),
            ClientEvent::Dm { to, text, .. } => (Kind::Dm { to: to.clone() }, text),
            ClientEvent::JoinRoom { room, .. } => {
                if let Ok(room) = RoomName::parse(room) {
                    self.joining.push((seq, room));
                }
                return;
            }
            _ => return,
        };
        let entry = Entry {
            ts: None,
            kind,
            from: self.me.clone(),
            text: text.clone(),
            id: None,
            room: None,
            fields: Vec::new(),
        };
        let place = self.buf().place.clone();
        self.pending.push((seq, place, entry));
    }

    fn settle(&mut self, seq: u64) {
        self.pending.retain(|(s, _, _)| *s != seq);
        self.joining.retain(|(s, _)| *s != seq);
    }
}

/// The state of the link, for the status bar.
pub fn link_text(link: Link, now: Instant) -> String {
    match link {
        Link::Up => "connected".into(),
        Link::Waiting { at, .. } => {
            let left = at.saturating_duration_since(now);
            format!("reconnecting in {} s", left.as_millis().div_ceil(1000))
        }
        Link::Joining => "reconnecting…".into(),
        Link::Down => "offline".into(),
    }
}
