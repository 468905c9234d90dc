//! The lines sent before, as Up and Down walk them: where the walk is, the
//! draft that was being typed when it started (kept aside, never lost),
//! and the edits made to recalled lines on the way (kept until a line is
//! sent, as readline does), so that walking never throws typing away.

use std::collections::HashMap;

/// The lines sent, oldest first, and a walk through them.
#[derive(Debug, Default)]
pub struct History {
    sent: Vec<String>,
    /// Where the walk is (`sent.len()`: at the draft, not walking).
    at: usize,
    /// The text being typed when the walk started.
    draft: String,
    /// Recalled lines as edited on the way, by index.
    edited: HashMap<usize, String>,
}

impl History {
    /// Whether a line sent before is shown (not the draft).
    pub fn browsing(&self) -> bool {
        self.at < self.sent.len()
    }

    /// Keeps `shown` (the input now) as what is at the walk's position.
    fn keep(&mut self, shown: &str) {
        if self.at == self.sent.len() {
            self.draft = shown.to_owned();
        } else if self.sent[self.at] != shown {
            self.edited.insert(self.at, shown.to_owned());
        } else {
            self.edited.remove(&self.at);
        }
    }

    /// What to show at the walk's position.
    fn shown(&self) -> String {
        match self.sent.get(self.at) {
            Some(line) => self.edited.get(&self.at).unwrap_or(line).clone(),
            None => self.draft.clone(),
        }
    }

    /// Up from `shown`: the line sent before, if there is one.
    pub fn older(&mut self, shown: &str) -> Option<String> {
        if self.at == 0 {
            return None;
        }
        self.keep(shown);
        self.at -= 1;
        Some(self.shown())
    }

    /// Down from `shown`: the line sent after, or the draft; `None` at
    /// the draft already.
    pub fn newer(&mut self, shown: &str) -> Option<String> {
        if self.at >= self.sent.len() {
            return None;
        }
        self.keep(shown);
        self.at += 1;
        Some(self.shown())
    }

    /// `text` was sent: it joins the history (unless blank or the same as
    /// the last), the walk ends and the edits are dropped. Returns what the
    /// input holds now: the draft kept aside if a recalled line was sent,
    /// else nothing.
    pub fn sent(&mut self, text: &str) -> String {
        let draft = if self.browsing() {
            std::mem::take(&mut self.draft)
        } else {
            String::new()
        };
        if !text.trim().is_empty() && self.sent.last().map(String::as_str) != Some(text) {
            self.sent.push(text.to_owned());
        }
        self.at = self.sent.len();
        self.draft.clear();
        self.edited.clear();
        draft
    }
}
