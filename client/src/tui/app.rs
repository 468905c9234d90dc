//! The full-screen client's state and what keys and engine events do to
//! it. No I/O here: the runner ([`super::run`]) feeds it terminal events
//! and [`Event`](crate::engine::Event)s from the engine and carries out the
//! [`Action`]s it returns (and writes what it says to log), and
//! [`super::view`] draws it. Tests build it directly, feed it keys and draw
//! it on ratatui's `TestBackend`.
//!
//! The state is here; what engine events do to it is in [`events`]; what
//! the user does to it is in [`keys`] (keys, paste, mouse), [`commands`]
//! (Enter and Tab: commands, messages, completion), [`search`] (Ctrl-R,
//! `/search`, `/lastlog`), [`ended`] (leaving, and a session that ended)
//! and [`scroll`] (the pane's scrolling).

mod commands;
mod ended;
mod events;
mod identities;
mod keys;
mod scroll;
mod search;

use chat_protocol::{ClientEvent, Welcome};
use tokio::time::Instant;

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

/// Where the pane is scrolled to: `rows_below` rows of entry `entry` (and
/// everything after it) are below the bottom of the pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// Index into [`App::lines`] of the entry at the bottom of the pane.
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
    /// Who is online, sorted.
    pub users: Vec<String>,
    /// Who is online with which identity, and what this client has seen
    /// of names before (see [`App::with_roster`]).
    pub ids: Roster,
    /// How many are online, as the server last said (a presence summary
    /// says it before the user list is refreshed).
    pub online: usize,
    /// Since a presence summary: the user list is out of date and a
    /// refresh is wanted ([`App::wants_users`]).
    users_stale: bool,
    /// When the user list was last refreshed (Unix ms, the clock's).
    users_refreshed: Option<u64>,
    /// The message pane, oldest first.
    pub lines: Vec<Shown>,
    /// Our lines not yet answered, in the order typed.
    pub pending: Vec<(u64, Entry)>,
    /// `None`: live (the newest at the bottom).
    pub scroll: Option<Anchor>,
    /// Messages from others that came while scrolled up.
    pub unseen: usize,
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
    /// The day of the last line with a time, for the day-change marker.
    last_day: Option<(i32, i32)>,
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
    to_log: Vec<Entry>,
    completion: Option<Completion>,
    last_retry_error: Option<String>,
}

impl App {
    /// The app right after joining with `welcome`; times shown by `clock`.
    pub fn new(url: &str, fingerprint: &str, welcome: &Welcome, clock: Clock) -> Self {
        let mut app = Self {
            url: url.to_owned(),
            fingerprint: fingerprint.to_owned(),
            me: welcome.name.clone(),
            users: Vec::new(),
            ids: Roster::in_memory(),
            online: 0,
            users_stale: false,
            users_refreshed: None,
            lines: Vec::new(),
            pending: Vec::new(),
            scroll: None,
            unseen: 0,
            editor: Editor::default(),
            show_users: true,
            link: Link::Up,
            bell: Bell::Mentions,
            ring: false,
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            max_text: welcome.max_text,
            clock,
            last_day: None,
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
        app.set_users(&welcome.users);
        for entry in model::welcome(welcome) {
            app.push(entry, true);
        }
        app
    }

    fn set_users(&mut self, users: &[String]) {
        self.users = users.to_vec();
        self.users.sort_by_key(|u| u.to_ascii_lowercase());
        self.users.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        self.online = self.users.len();
    }

    /// Whether to ask the server who is online now: after a presence
    /// summary, at most once per [`USERS_REFRESH_MS`]. The runner asks
    /// (through [`crate::engine::Engine::refresh_users`]) when its queue
    /// is empty, so a refresh never delays a line typed.
    pub fn wants_users(&mut self) -> bool {
        let now = self.clock.now();
        let due = self
            .users_refreshed
            .is_none_or(|at| now.saturating_sub(at) >= USERS_REFRESH_MS);
        if !(self.users_stale && due) {
            return false;
        }
        self.users_stale = false;
        self.users_refreshed = Some(now);
        true
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

    /// Adds a line to the pane; `history` lines never ring. A line
    /// without a time of its own (ours, a `/who` answer) gets the time
    /// now; where the day changes, a marker with the date goes first
    /// (also before history older than today).
    fn push(&mut self, mut entry: Entry, history: bool) {
        if entry.kind != Kind::Divider {
            let ts = *entry.ts.get_or_insert_with(|| self.clock.now());
            let day = self.clock.day(ts);
            if self.last_day != Some(day) {
                let today = self.clock.day(self.clock.now());
                if self.last_day.is_some() || day != today {
                    let date = self.clock.date(ts);
                    self.push_line(Entry::divider(date), true);
                }
                self.last_day = Some(day);
            }
        }
        self.push_line(entry, history);
    }

    /// The lines to log since the last call (none unless logging).
    pub fn take_log(&mut self) -> Vec<Entry> {
        std::mem::take(&mut self.to_log)
    }

    /// Adds a line to the pane as it is.
    fn push_line(&mut self, entry: Entry, history: bool) {
        if self.logging && entry.kind != Kind::Divider {
            self.to_log.push(entry.clone());
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
        if self.scroll.is_some() && from_other {
            self.unseen += 1;
        }
        self.lines.push(Shown {
            entry,
            mention,
            own,
        });
        if self.lines.len() > SCROLLBACK_MAX {
            // The oldest tenth goes, in one move.
            let drop = SCROLLBACK_MAX / 10;
            self.lines.drain(..drop);
            if let Some(anchor) = &mut self.scroll {
                anchor.entry = anchor.entry.saturating_sub(drop);
            }
        }
    }

    /// A line of our own, not from the server.
    pub fn note(&mut self, text: impl Into<String>) {
        self.push(Entry::notice(None, text), false);
    }

    /// Shows `event` as pending under `seq` until the engine confirms it.
    pub fn add_pending(&mut self, seq: u64, event: &ClientEvent) {
        let (kind, text) = match event {
            ClientEvent::Say { text, .. } => (Kind::Message, text),
            ClientEvent::Action { text, .. } => (Kind::Action, text),
            ClientEvent::Dm { to, text, .. } => (Kind::Dm { to: to.clone() }, text),
            _ => return,
        };
        let entry = Entry {
            ts: None,
            kind,
            from: self.me.clone(),
            text: text.clone(),
            id: None,
            fields: Vec::new(),
        };
        self.pending.push((seq, entry));
    }

    fn settle(&mut self, seq: u64) {
        self.pending.retain(|(s, _)| *s != seq);
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
