//! The full-screen client's state and what keys and engine events do to
//! it. No I/O here: the runner ([`super::run`]) feeds it terminal events
//! and [`Event`]s from the engine and carries out the [`Action`]s it
//! returns, and [`super::view`] draws it. Tests build it directly, feed it
//! keys and draw it on ratatui's `TestBackend`.

use chat_protocol::{ClientEvent, ServerEvent, Welcome};
use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind,
};
use tokio::time::Instant;

use super::editor::Editor;
use crate::engine::{Event, Link};
use crate::input::{self, Command};
use crate::model::{self, Entry, Kind};

/// Lines of scrollback kept (the benchmark draws 100 000 in well under a
/// millisecond, and they take about 20 MiB).
pub const SCROLLBACK_MAX: usize = 200_000;

/// Rows the mouse wheel scrolls.
const WHEEL_ROWS: usize = 3;

/// The commands, for `/help` and Tab.
pub const COMMANDS: &[&str] = &["/bell", "/clear", "/help", "/me", "/msg", "/quit", "/who"];

/// What `/help` shows.
pub const HELP: &str = "\
commands: TEXT sends to everyone; /me TEXT an action; /msg NAME TEXT to NAME only; /who lists who is online; /clear empties this pane; /bell off|mentions|all; /quit [REASON] leaves; //TEXT sends /TEXT; /help this
keys: Enter send · Alt-Enter new line · Tab complete · Up/Down lines sent · Ctrl-A/E, Home/End start/end · Alt-B/F word · Ctrl-W delete word · Ctrl-U clear · Ctrl-K delete to end
scroll: PgUp/PgDn, mouse wheel, Ctrl-Home/Ctrl-End (Home/End on an empty input) · F2 user list · Ctrl-Z suspend · Ctrl-C or Ctrl-D (empty input) quit";

/// What the runner must do for the app.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Hand this to the engine, then call [`App::add_pending`].
    Send(ClientEvent),
    /// Leave with this reason.
    Quit(String),
    /// Stop the process (Ctrl-Z), then redraw.
    Suspend,
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

/// A Tab completion in progress: repeated Tabs cycle through `matches`.
#[derive(Debug)]
struct Completion {
    start: usize,
    matches: Vec<String>,
    next: usize,
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
    /// How a timestamp is shown (local `HH:MM`; fixed in tests).
    pub clock: fn(u64) -> String,
    /// The message pane's size at the last draw (width, height).
    pub pane: (usize, usize),
    /// While the link is down: when it went (Unix ms). Who is online is
    /// then only known as of that time, and shown so, until the rejoin's
    /// `Welcome` says again.
    pub stale_since: Option<u64>,
    /// The time now, in Unix ms (fixed in tests).
    pub now: fn() -> u64,
    /// The screen rows that held a cluster terminals may draw wider or
    /// narrower than ratatui counts, at the last draw: drawn whole again
    /// on the next (see [`super::text::settle`]).
    pub uncertain_rows: Vec<u16>,
    completion: Option<Completion>,
    last_retry_error: Option<String>,
}

/// Local `HH:MM`.
pub fn local_clock(ts: u64) -> String {
    crate::render::clock(ts)[..5].to_owned()
}

impl App {
    /// The app right after joining with `welcome`.
    pub fn new(url: &str, fingerprint: &str, welcome: &Welcome) -> Self {
        let mut app = Self {
            url: url.to_owned(),
            fingerprint: fingerprint.to_owned(),
            me: welcome.name.clone(),
            users: Vec::new(),
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
            clock: local_clock,
            pane: (80, 20),
            stale_since: None,
            now: chat_protocol::clock::now_ms,
            uncertain_rows: Vec::new(),
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

    /// Adds a line to the pane; `history` lines never ring.
    fn push(&mut self, entry: Entry, history: bool) {
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
        };
        self.pending.push((seq, entry));
    }

    fn settle(&mut self, seq: u64) {
        self.pending.retain(|(s, _)| *s != seq);
    }

    /// What the engine reported.
    pub fn on_engine(&mut self, event: Event) {
        match event {
            Event::Server { event, .. } => {
                match &event {
                    ServerEvent::Join { name, .. } => {
                        let mut users = self.users.clone();
                        users.push(name.clone());
                        self.set_users(&users);
                    }
                    ServerEvent::Leave { name, .. } => {
                        let users: Vec<_> = self
                            .users
                            .iter()
                            .filter(|u| !u.eq_ignore_ascii_case(name))
                            .cloned()
                            .collect();
                        self.set_users(&users);
                    }
                    ServerEvent::Users { users } => self.set_users(users),
                    _ => {}
                }
                // A goodbye is told by the `Lost` or `Ended` that follows.
                if !matches!(event, ServerEvent::Bye { .. }) {
                    for entry in model::entries(&event) {
                        self.push(entry, false);
                    }
                }
            }
            Event::Confirmed(seq) | Event::Refused(seq) => self.settle(seq),
            Event::Unknown(pending) => {
                self.settle(pending.seq);
                if let ClientEvent::Dm { to, .. } = &pending.event {
                    self.note(format!(
                        "a direct message to {to} may not have been delivered: the link dropped before the server answered (not sent again)"
                    ));
                }
            }
            Event::Lost(why) => {
                self.stale_since.get_or_insert((self.now)());
                self.note(format!("{why}; reconnecting"));
            }
            // Said once while it fails the same way; the status bar counts down.
            Event::RetryFailed(why) => {
                if self.last_retry_error.as_ref() != Some(&why) {
                    self.note(format!("reconnecting failed: {why}"));
                    self.last_retry_error = Some(why);
                }
            }
            Event::Rejoined { welcome, gap } => {
                self.last_retry_error = None;
                self.stale_since = None;
                self.me = welcome.name.clone();
                self.max_text = welcome.max_text;
                self.set_users(&welcome.users);
                self.note(format!(
                    "rejoined as {} ({} online)",
                    welcome.name,
                    welcome.users.len()
                ));
                if gap {
                    self.note("some messages may have been missed while away");
                }
                if !welcome.history.is_empty() {
                    self.push(Entry::divider("while away"), true);
                    for message in &welcome.history {
                        self.push(Entry::message(message), true);
                    }
                    self.push(Entry::divider("live"), true);
                }
            }
            Event::Ended(failure) => self.note(failure.message),
        }
    }

    /// A terminal event; what the runner must do.
    pub fn on_terminal(&mut self, event: TermEvent) -> Vec<Action> {
        match event {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            TermEvent::Paste(text) => {
                self.completion = None;
                let removed = self.editor.insert_str(&text);
                if !removed.is_empty() {
                    self.note(removed_from_paste(&removed));
                }
                Vec::new()
            }
            TermEvent::Mouse(mouse) => {
                match mouse.kind {
                    MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS),
                    MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
                    _ => {}
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// One key.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if key.code != KeyCode::Tab {
            self.completion = None;
        }
        let page = self.pane.1.saturating_sub(1).max(1);
        let e = &mut self.editor;
        match key.code {
            KeyCode::Char('c') if ctrl => return vec![Action::Quit(String::new())],
            KeyCode::Char('d') if ctrl => {
                if e.is_empty() {
                    return vec![Action::Quit(String::new())];
                }
                e.delete();
            }
            KeyCode::Char('z') if ctrl => return vec![Action::Suspend],
            KeyCode::Char('a') if ctrl => e.home(),
            KeyCode::Char('e') if ctrl => e.end(),
            KeyCode::Char('w') if ctrl => e.delete_word(),
            KeyCode::Char('u') if ctrl => e.clear(),
            KeyCode::Char('k') if ctrl => e.kill_to_end(),
            KeyCode::Char('l') if ctrl => {}
            KeyCode::Char('b') if alt => e.word_left(),
            KeyCode::Char('f') if alt => e.word_right(),
            KeyCode::Char('j') if ctrl => e.insert('\n'),
            KeyCode::Char(c) if !ctrl => e.insert(c),
            KeyCode::Enter if alt => e.insert('\n'),
            KeyCode::Enter => return self.submit(),
            KeyCode::Backspace if alt => e.delete_word(),
            KeyCode::Backspace => e.backspace(),
            KeyCode::Delete => e.delete(),
            KeyCode::Left if ctrl || alt => e.word_left(),
            KeyCode::Right if ctrl || alt => e.word_right(),
            KeyCode::Left => e.left(),
            KeyCode::Right => e.right(),
            KeyCode::Home if ctrl || e.is_empty() => self.scroll_top(),
            KeyCode::End if ctrl || e.is_empty() => self.scroll_live(),
            KeyCode::Home => e.home(),
            KeyCode::End => e.end(),
            KeyCode::Up => e.history_up(),
            KeyCode::Down => e.history_down(),
            KeyCode::PageUp => self.scroll_up(page),
            KeyCode::PageDown => self.scroll_down(page),
            KeyCode::F(2) => self.show_users = !self.show_users,
            KeyCode::Tab => self.complete(),
            _ => {}
        }
        Vec::new()
    }

    /// Enter: the input as a command or a message.
    fn submit(&mut self) -> Vec<Action> {
        let text = self.editor.text();
        let len = text.len();
        if len > self.max_text {
            // Shown by the view; never cut, never sent.
            return Vec::new();
        }
        let text = self.editor.take();
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix("/bell")
            && (rest.is_empty() || rest.starts_with(' '))
        {
            {
                let bell = match rest.trim() {
                    "off" => Some(Bell::Off),
                    "mentions" => Some(Bell::Mentions),
                    "all" => Some(Bell::All),
                    _ => None,
                };
                match bell {
                    Some(bell) => {
                        self.bell = bell;
                        self.note(format!("bell: {}", rest.trim()));
                    }
                    None => self.note("usage: /bell off|mentions|all"),
                }
                return Vec::new();
            }
        }
        if trimmed == "/clear" {
            self.lines.clear();
            self.scroll = None;
            self.unseen = 0;
            return Vec::new();
        }
        match input::parse(&text) {
            Err(why) => self.note(why),
            Ok(Command::Nothing) => {}
            Ok(Command::Help) => {
                for line in HELP.lines() {
                    self.note(line);
                }
            }
            Ok(Command::Quit { reason }) => return vec![Action::Quit(reason)],
            Ok(Command::Send(event)) => match input::check(&event, self.max_text) {
                Err(why) => self.note(why),
                Ok(()) => {
                    // Back to live: the user wants to see the line go.
                    self.scroll_live();
                    return vec![Action::Send(event)];
                }
            },
        }
        Vec::new()
    }

    /// Tab: commands at the start of the input, else names; again: the
    /// next match.
    fn complete(&mut self) {
        if let Some(completion) = &mut self.completion {
            let word = completion.matches[completion.next].clone();
            completion.next = (completion.next + 1) % completion.matches.len();
            let start = completion.start;
            self.editor.replace_before_cursor(start, &word);
            return;
        }
        let (start, word) = self.editor.word_at_cursor();
        let at_start = self.editor.text()[..]
            .chars()
            .take(start)
            .all(char::is_whitespace);
        let lower = word.to_ascii_lowercase();
        let mut matches: Vec<String> = if at_start && word.starts_with('/') {
            COMMANDS
                .iter()
                .filter(|c| c.starts_with(&lower))
                .map(|c| format!("{c} "))
                .collect()
        } else {
            let suffix = if at_start { ": " } else { " " };
            self.users
                .iter()
                .filter(|u| !self.is_me(u) && u.to_ascii_lowercase().starts_with(&lower))
                .map(|u| format!("{u}{suffix}"))
                .collect()
        };
        // After /msg, a name takes no colon.
        if self.editor.text().starts_with("/msg ") {
            for m in &mut matches {
                *m = m.replace(": ", " ");
            }
        }
        if matches.is_empty() {
            return;
        }
        self.editor.replace_before_cursor(start, &matches[0]);
        self.completion = Some(Completion {
            start,
            next: 1 % matches.len(),
            matches,
        });
    }

    /// Rows of messages while scrolled up: the pane less the marker's row.
    fn scrolled_rows(&self) -> usize {
        self.pane.1.saturating_sub(1).max(1)
    }

    /// Rows of entry `i` at the pane's width.
    fn height(&self, i: usize) -> usize {
        super::view::rows(self, &self.lines[i], self.pane.0)
            .len()
            .max(1)
    }

    /// Up `n` rows (PgUp, wheel).
    pub fn scroll_up(&mut self, n: usize) {
        if self.lines.is_empty() {
            return;
        }
        let mut anchor = self.scroll.unwrap_or(Anchor {
            entry: self.lines.len() - 1,
            rows_below: 0,
        });
        anchor.rows_below += n;
        loop {
            let height = self.height(anchor.entry);
            if anchor.rows_below < height {
                break;
            }
            if anchor.entry == 0 {
                anchor.rows_below = height - 1;
                break;
            }
            anchor.rows_below -= height;
            anchor.entry -= 1;
        }
        // Never further than a pane above the top.
        self.scroll = Some(anchor);
        self.clamp_top();
    }

    /// Keeps the top of the history at the top of the pane at most.
    fn clamp_top(&mut self) {
        let Some(anchor) = self.scroll else { return };
        let mut rows = self.height(anchor.entry) - anchor.rows_below;
        let mut i = anchor.entry;
        while i > 0 && rows < self.scrolled_rows() {
            i -= 1;
            rows += self.height(i);
        }
        if rows < self.scrolled_rows() {
            self.scroll_top_exact();
        }
    }

    fn scroll_top_exact(&mut self) {
        // The anchor whose pane starts with entry 0's first row.
        let mut rows = 0;
        let mut i = 0;
        while i < self.lines.len() {
            let height = self.height(i);
            if rows + height >= self.scrolled_rows() {
                let anchor = Anchor {
                    entry: i,
                    rows_below: rows + height - self.scrolled_rows(),
                };
                self.scroll = Some(anchor);
                return;
            }
            rows += height;
            i += 1;
        }
        // Everything fits: that is live.
        self.scroll_live();
    }

    /// Down `n` rows (PgDn, wheel); past the newest: live.
    pub fn scroll_down(&mut self, n: usize) {
        let Some(mut anchor) = self.scroll else {
            return;
        };
        let mut n = n;
        loop {
            if anchor.rows_below >= n {
                anchor.rows_below -= n;
                break;
            }
            n -= anchor.rows_below;
            if anchor.entry + 1 >= self.lines.len() {
                return self.scroll_live();
            }
            anchor.entry += 1;
            anchor.rows_below = self.height(anchor.entry);
        }
        if anchor.entry + 1 >= self.lines.len() && anchor.rows_below == 0 {
            return self.scroll_live();
        }
        self.scroll = Some(anchor);
    }

    /// Home: the oldest line.
    pub fn scroll_top(&mut self) {
        self.scroll_top_exact();
    }

    /// End: back to live.
    pub fn scroll_live(&mut self) {
        self.scroll = None;
        self.unseen = 0;
    }
}

/// The notice for control characters left out of a paste: which, and how
/// many of each, escaped. They are left out as typed ones are (a terminal
/// would act on them, and the server refuses them); the rest of the paste
/// is in the input, to check before it is sent.
fn removed_from_paste(removed: &[char]) -> String {
    let mut counts: Vec<(char, usize)> = Vec::new();
    for &c in removed {
        match counts.iter_mut().find(|(seen, _)| *seen == c) {
            Some((_, n)) => *n += 1,
            None => counts.push((c, 1)),
        }
    }
    let list: Vec<String> = counts
        .iter()
        .map(|&(c, n)| {
            let shown = crate::escape::one_line(c.encode_utf8(&mut [0; 4])).into_owned();
            if n == 1 {
                shown
            } else {
                format!("{shown} ×{n}")
            }
        })
        .collect();
    let s = if removed.len() == 1 { "" } else { "s" };
    format!(
        "left {} control character{s} out of the paste: {} (check the input before sending)",
        removed.len(),
        list.join(", ")
    )
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
