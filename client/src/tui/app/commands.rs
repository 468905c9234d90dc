//! What Enter and Tab do: the input as a command (`/bell`, `/clear`,
//! `/help`, `/quit`, …) or a message to send, and Tab completion of
//! commands and names.

use super::{Action, App, Bell};
use crate::input::{self, Command};
use crate::model::Kind;

/// The commands, for `/help` and Tab.
pub const COMMANDS: &[&str] = &[
    "/ban",
    "/bans",
    "/bell",
    "/clear",
    "/help",
    "/identity",
    "/ignore",
    "/invite",
    "/join",
    "/kick",
    "/lastlog",
    "/me",
    "/msg",
    "/mute",
    "/part",
    "/quit",
    "/reconnect",
    "/rooms",
    "/search",
    "/topic",
    "/unban",
    "/unignore",
    "/unmute",
    "/who",
    "/whois",
];

/// The commands whose first word is a name: Tab completes it without a
/// colon.
const NAME_FIRST: &[&str] = &[
    "/msg ",
    "/whois ",
    "/kick ",
    "/ban ",
    "/unban ",
    "/mute ",
    "/unmute ",
    "/ignore ",
    "/unignore ",
    "/invite ",
];

/// What `/help` shows.
pub const HELP: &str = "\
commands: TEXT sends to the room (or the person) on screen; /me TEXT an action; /msg NAME [TEXT] to NAME only, in a buffer of its own; /who lists who is in the room; /whois NAME what is known of NAME (its identity, and the ones this client has seen for it); /identity add|remove KEY registers another key (a second device) to your name, or removes one; /ignore NAME hides NAME's messages here (/ignore alone lists, /unignore NAME shows them again); /search [TEXT] and /lastlog TEXT find in this buffer's messages; /reconnect joins again now; /clear empties this pane; /bell [off|mentions|all]; /quit [REASON] leaves; //TEXT sends /TEXT; /help this
rooms: /join #ROOM joins (or goes to) a room; /part [#ROOM] leaves one (in a direct message: closes it); /rooms lists them; /topic [TEXT] shows or sets the topic (- clears); /invite NAME [#ROOM] lets NAME into a private room
operators: /kick NAME [REASON]; /ban NAME [DURATION] [REASON] (DURATION like 10m, 2h, 7d; none: until lifted); /unban TARGET; /mute NAME [DURATION] [REASON]; /unmute NAME; /bans lists the bans
keys: Enter send · Alt-Enter new line · Tab complete · Up/Down lines of the input, then lines sent · Ctrl-A/E, Home/End start/end (twice: of the input) · Alt-B/F word · Ctrl-W, Alt-D delete word · Ctrl-K to end · Ctrl-U all · Ctrl-Y put back · Ctrl-T swap
rooms and direct messages: Alt-1…9 the first nine · Alt-←/→ or Ctrl-P/N the one before/after
more: Ctrl-R search · PgUp/PgDn, mouse wheel, Ctrl-Home/Ctrl-End scroll · F2 user list · Ctrl-Z suspend · Ctrl-C or Ctrl-D (empty input) quit (asks while lines wait)";

/// A Tab completion in progress: repeated Tabs cycle through `matches`.
#[derive(Debug)]
pub(super) struct Completion {
    start: usize,
    matches: Vec<String>,
    next: usize,
}

impl App {
    /// Enter: the input as a command or a message.
    pub(super) fn submit(&mut self) -> Vec<Action> {
        let text = self.editor.text();
        if text.len() > self.max_text {
            // Shown by the view; never cut, never sent.
            return Vec::new();
        }
        if let Some(actions) = self.screen_command(text.trim()) {
            self.editor.take();
            return actions;
        }
        let parsed = input::parse(&text);
        if self.ended.is_some() && matches!(parsed, Ok(Command::Send(_))) {
            // Kept in the input: nothing typed is thrown away.
            self.note("not sent: the session has ended (/reconnect joins again, q on an empty input leaves)");
            return Vec::new();
        }
        self.editor.take();
        match parsed {
            Err(why) => self.note(why),
            Ok(Command::Nothing) => {}
            Ok(Command::Help) => {
                for line in HELP.lines() {
                    self.note(line);
                }
            }
            Ok(Command::Quit { reason }) => return self.quit(reason),
            // Taken by `screen_command` first, with more to say.
            Ok(Command::Whois(name)) => self.whois(&name),
            Ok(Command::Ignore(None)) => {
                for line in self.ids.ignored.list() {
                    self.note(line);
                }
            }
            Ok(Command::Ignore(Some(name))) => {
                let said = self.ids.ignore(&name);
                self.note(said.unwrap_or_else(|why| why));
            }
            Ok(Command::Unignore(name)) => {
                let said = self.ids.unignore(&name);
                self.note(said.unwrap_or_else(|why| why));
            }
            Ok(Command::Room(command)) => return self.room_command(&command),
            Ok(Command::Send(event)) => {
                match self
                    .for_buffer(event)
                    .and_then(|event| input::check(&event, self.max_text).map(|()| event))
                {
                    Err(why) => self.note(why),
                    Ok(event) => {
                        // Back to live: the user wants to see the line go.
                        self.scroll_live();
                        return vec![Action::Send(event)];
                    }
                }
            }
        }
        Vec::new()
    }

    /// The commands of the full screen alone (the line client has none of
    /// them); `None` for any other input.
    fn screen_command(&mut self, text: &str) -> Option<Vec<Action>> {
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let rest = rest.trim();
        match word {
            "/bell" => self.bell_command(rest),
            "/clear" if rest.is_empty() => {
                let buf = self.buf_mut();
                buf.lines.clear();
                buf.scroll = None;
                buf.unseen = 0;
            }
            "/reconnect" if rest.is_empty() => {
                self.note("reconnecting now");
                return Some(vec![Action::Reconnect(None)]);
            }
            "/search" => self.start_search(rest),
            "/whois" if rest.is_empty() || rest.contains(' ') => self.note("usage: /whois NAME"),
            "/whois" => self.whois(rest),
            "/lastlog" if rest.is_empty() => self.note("usage: /lastlog TEXT"),
            "/lastlog" => self.lastlog(rest),
            _ => return self.buffer_command(word, rest),
        }
        Some(Vec::new())
    }

    /// `/whois NAME`: what is known of NAME, the name whole (the user list
    /// cuts long ones): whether online, and when it last said something
    /// here.
    fn whois(&mut self, name: &str) {
        let online = self.buffers[0]
            .users
            .iter()
            .find(|u| u.eq_ignore_ascii_case(name));
        let said = self
            .buffers
            .iter()
            .filter_map(|buf| {
                buf.lines.iter().rev().find(|shown| {
                    matches!(
                        shown.entry.kind,
                        Kind::Message | Kind::Action | Kind::Dm { .. }
                    ) && shown.entry.from.eq_ignore_ascii_case(name)
                })
            })
            .max_by_key(|shown| shown.entry.ts);
        let last = said
            .and_then(|shown| shown.entry.ts)
            .map(|ts| format!("last message here at {}", self.clock.time(ts)));
        let text = match (online, last) {
            (Some(full), Some(last)) => {
                format!("{}: online, {last}", crate::escape::one_line(full))
            }
            (Some(full), None) => format!(
                "{}: online, no message here yet",
                crate::escape::one_line(full)
            ),
            (None, Some(last)) => format!("{}: not online, {last}", crate::escape::one_line(name)),
            (None, None) => format!(
                "{}: not online, and not seen here",
                crate::escape::one_line(name)
            ),
        };
        self.note(format!("whois {text}"));
        self.whois_identity(name);
    }

    /// `/bell`: shows the setting; `/bell off|mentions|all` changes it.
    fn bell_command(&mut self, rest: &str) {
        let bell = match rest {
            "" => {
                return self.note(format!(
                    "bell: {} (/bell off|mentions|all changes it)",
                    self.bell.name()
                ));
            }
            "off" => Bell::Off,
            "mentions" => Bell::Mentions,
            "all" => Bell::All,
            _ => return self.note("usage: /bell off|mentions|all"),
        };
        self.bell = bell;
        self.note(format!("bell: {}", bell.name()));
    }

    /// Tab: commands at the start of the input, else names; again: the
    /// next match.
    pub(super) fn complete(&mut self) {
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
        } else if word.starts_with('#') {
            // Rooms: the ones open here.
            self.buffers
                .iter()
                .filter_map(|b| b.place.room())
                .filter(|r| self.rooms && r.as_str().starts_with(&lower))
                .map(|r| format!("{r} "))
                .collect()
        } else {
            let suffix = if at_start { ": " } else { " " };
            self.shown_users()
                .iter()
                .filter(|u| !self.is_me(u) && u.to_ascii_lowercase().starts_with(&lower))
                .map(|u| format!("{u}{suffix}"))
                .collect()
        };
        // After /msg, /whois, /kick and the like, a name takes no colon.
        let text = self.editor.text();
        if NAME_FIRST.iter().any(|command| text.starts_with(command)) {
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
}
