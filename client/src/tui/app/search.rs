//! Finding in the scrollback: Ctrl-R (or `/search TEXT`) searches as you
//! type, newest match first, the pane scrolled to it and every match
//! highlighted; Ctrl-R again (or Up) goes to an older match, Ctrl-S (or
//! Down) to a newer one; Enter stays there, Esc goes back to where the
//! pane was. The draft in the input is left alone meanwhile.
//!
//! `/lastlog TEXT` prints the lines that match at the bottom of the pane,
//! as irssi does (the newest [`LASTLOG_MAX`]).
//!
//! Matching ignores ASCII case, over the sender and the text.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Action, Anchor, App};
use crate::model::{Entry, Kind};

/// The most lines `/lastlog` prints.
pub const LASTLOG_MAX: usize = 100;

/// A search in progress.
#[derive(Debug)]
pub struct Search {
    /// What is searched for.
    pub query: String,
    /// The lines that match (indices into the buffer's lines), oldest
    /// first.
    matches: Vec<usize>,
    /// Which of them the pane shows.
    current: Option<usize>,
    /// Where the pane was when the search started (`None`: live).
    origin: Option<Anchor>,
}

/// Whether `entry` holds `needle` (ASCII-lowercased).
fn matches(entry: &Entry, needle: &str) -> bool {
    entry.kind != Kind::Divider
        && (entry.text.to_ascii_lowercase().contains(needle)
            || entry.from.to_ascii_lowercase().contains(needle))
}

impl App {
    /// What a search in progress looks for, if any (for the view's
    /// highlight).
    pub fn search_query(&self) -> Option<&str> {
        self.search
            .as_ref()
            .map(|s| s.query.as_str())
            .filter(|q| !q.is_empty())
    }

    /// The search's line in the rule: what it found, and the keys.
    pub fn search_status(&self) -> Option<String> {
        let search = self.search.as_ref()?;
        let found = match (search.current, search.matches.len()) {
            _ if search.query.is_empty() => "type to search".to_owned(),
            (_, 0) => "no match".to_owned(),
            (Some(i), n) => format!("{} of {n}", n - i),
            (None, n) => format!("{n} matches"),
        };
        Some(format!(
            " {found} · Ctrl-R older · Ctrl-S newer · Enter: stay · Esc: back "
        ))
    }

    /// Ctrl-R, `/search [TEXT]`: starts a search for `query`.
    pub(super) fn start_search(&mut self, query: &str) {
        self.search = Some(Search {
            query: query.to_owned(),
            matches: Vec::new(),
            current: None,
            origin: self.buf().scroll,
        });
        self.find();
    }

    /// Finds the matches of the query again, and shows the newest.
    fn find(&mut self) {
        let Some(search) = &mut self.search else {
            return;
        };
        let needle = search.query.to_ascii_lowercase();
        search.matches = if needle.is_empty() {
            Vec::new()
        } else {
            let lines = &self.buffers[self.current].lines;
            (0..lines.len())
                .filter(|&i| matches(&lines[i].entry, &needle))
                .collect()
        };
        search.current = search.matches.len().checked_sub(1);
        self.show_match();
    }

    /// Scrolls the pane to the current match, at its bottom row.
    fn show_match(&mut self) {
        let Some(search) = &self.search else {
            return;
        };
        let target = match search.current {
            Some(i) => search.matches[i],
            None => return self.buf_mut().scroll = search.origin,
        };
        self.buf_mut().scroll = Some(Anchor {
            entry: target,
            rows_below: 0,
        });
        self.clamp_top();
    }

    /// Moves to an older (`-1`) or newer (`+1`) match, if there is one.
    fn step(&mut self, older: bool) {
        let Some(search) = &mut self.search else {
            return;
        };
        search.current = match search.current {
            Some(i) if older => Some(i.saturating_sub(1)),
            Some(i) => Some((i + 1).min(search.matches.len() - 1)),
            None => None,
        };
        self.show_match();
    }

    /// A key while searching.
    pub(super) fn on_search_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('r') if ctrl => self.step(true),
            KeyCode::Char('s') if ctrl => self.step(false),
            KeyCode::Up => self.step(true),
            KeyCode::Down => self.step(false),
            KeyCode::Enter => self.search = None,
            KeyCode::Esc => self.cancel_search(),
            KeyCode::Char('c' | 'g') if ctrl => self.cancel_search(),
            KeyCode::Char('u') if ctrl => {
                if let Some(search) = &mut self.search {
                    search.query.clear();
                }
                self.find();
            }
            KeyCode::Backspace => {
                if let Some(search) = &mut self.search {
                    search.query.pop();
                }
                self.find();
            }
            KeyCode::Char(c) if !ctrl && !alt => {
                if let Some(search) = &mut self.search
                    && search.query.len() < 256
                {
                    search.query.push(c);
                }
                self.find();
            }
            KeyCode::PageUp => self.scroll_up(self.pane.1.saturating_sub(1).max(1)),
            KeyCode::PageDown => self.scroll_down(self.pane.1.saturating_sub(1).max(1)),
            _ => {}
        }
        Vec::new()
    }

    /// A paste while searching: into the query, on one line.
    pub(super) fn on_search_paste(&mut self, text: &str) {
        if let Some(search) = &mut self.search {
            for c in text.chars().filter(|c| !c.is_control()) {
                if search.query.len() < 256 {
                    search.query.push(c);
                }
            }
        }
        self.find();
    }

    /// Esc: the search ends, and the pane goes back to where it was.
    fn cancel_search(&mut self) {
        if let Some(search) = self.search.take() {
            self.buf_mut().scroll = search.origin;
            if self.buf().scroll.is_none() {
                self.scroll_live();
            }
        }
    }

    /// `/lastlog TEXT`: the lines that match, printed at the bottom.
    pub(super) fn lastlog(&mut self, query: &str) {
        let needle = query.to_ascii_lowercase();
        let found: Vec<Entry> = self
            .buf()
            .lines
            .iter()
            .filter(|shown| matches(&shown.entry, &needle))
            .map(|shown| shown.entry.clone())
            .collect();
        let shown = found.len().min(LASTLOG_MAX);
        let of = if shown < found.len() {
            format!("the newest {shown} of {} lines", found.len())
        } else {
            let s = if shown == 1 { "" } else { "s" };
            format!("{shown} line{s}")
        };
        self.scroll_live();
        self.note(format!(
            "lastlog: {of} matching \"{}\"",
            crate::escape::one_line(query)
        ));
        // Copies of lines already logged: not logged again.
        let logging = std::mem::replace(&mut self.logging, false);
        let skip = found.len() - shown;
        for entry in found.into_iter().skip(skip) {
            self.push_line(entry, true);
        }
        self.logging = logging;
        self.note("end of lastlog");
    }
}
