//! What Enter and Tab do: the input as a command (`/bell`, `/clear`,
//! `/help`, `/quit`, …) or a message to send, and Tab completion of
//! commands and names.

use super::{Action, App, Bell};
use crate::input::{self, Command};

/// The commands, for `/help` and Tab.
pub const COMMANDS: &[&str] = &[
    "/bell",
    "/clear",
    "/help",
    "/identity",
    "/me",
    "/msg",
    "/quit",
    "/who",
    "/whois",
];

/// What `/help` shows.
pub const HELP: &str = "\
commands: TEXT sends to everyone; /me TEXT an action; /msg NAME TEXT to NAME only; /who lists who is online; /whois NAME shows NAME's identity and what this client has seen of it; /identity add|remove KEY registers another key (a second device) to your name, or removes one; /clear empties this pane; /bell off|mentions|all; /quit [REASON] leaves; //TEXT sends /TEXT; /help this
keys: Enter send · Alt-Enter new line · Tab complete · Up/Down lines sent · Ctrl-A/E, Home/End start/end · Alt-B/F word · Ctrl-W delete word · Ctrl-U clear · Ctrl-K delete to end
scroll: PgUp/PgDn, mouse wheel, Ctrl-Home/Ctrl-End (Home/End on an empty input) · F2 user list · Ctrl-Z suspend · Ctrl-C or Ctrl-D (empty input) quit";

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
            Ok(Command::Whois(name)) => self.whois(&name),
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
}
