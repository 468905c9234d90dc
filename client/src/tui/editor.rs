//! The input line: text, a cursor, editing keys and the lines sent before.
//!
//! The cursor is a char index, and it moves by grapheme cluster: Left,
//! Right, Backspace and Delete take a flag, an emoji with its skin tone or
//! a letter with its accents as one, as the view draws it. Nothing but the
//! user's keys (and pastes) changes the text; incoming traffic never
//! touches it.

/// The text being typed and what was typed before.
#[derive(Debug, Default)]
pub struct Editor {
    text: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// Where Up/Down is in `history` (`history.len()`: the line being typed).
    browsing: usize,
    /// The line being typed while Up/Down browse the history.
    draft: String,
}

/// Whether `c` may enter the input: nothing a terminal would act on. A
/// zero-width joiner may, so that a pasted emoji sequence (👨‍👩‍👧) stays
/// whole; it moves nothing, and peers see it escaped unless it joins two
/// emoji.
fn insertable(c: char) -> bool {
    c == '\n' || c == '\u{200D}' || !crate::escape::is_unsafe(c)
}

impl Editor {
    /// The text.
    pub fn text(&self) -> String {
        self.text.iter().collect()
    }

    /// The cursor, as a char index into [`Editor::text`].
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Inserts `c` at the cursor (tabs become spaces; other control
    /// characters are dropped).
    pub fn insert(&mut self, c: char) {
        if c == '\t' {
            self.insert_str("    ");
        } else if insertable(c) {
            self.text.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// Inserts a whole text (a paste): `\r\n` and `\r` become newlines,
    /// tabs spaces. Returns the control characters left out, so that the
    /// user can be told.
    pub fn insert_str(&mut self, text: &str) -> Vec<char> {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut removed = Vec::new();
        for c in text.chars() {
            if c != '\t' && !insertable(c) {
                removed.push(c);
            }
            self.insert(c);
        }
        removed
    }

    /// Replaces the text, the cursor at its end.
    pub fn set(&mut self, text: &str) {
        self.text = text.chars().collect();
        self.cursor = self.text.len();
    }

    /// Takes the text out for sending, remembering it for Up.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.text.clear();
        self.cursor = 0;
        self.browsing = self.history.len();
        self.draft.clear();
        text
    }

    /// Where the clusters of the text start (char indices), and its end.
    fn boundaries(&self) -> Vec<usize> {
        let text = self.text();
        let mut at = 0;
        let mut out = vec![0];
        for cluster in super::text::clusters(&text) {
            at += cluster.chars().count();
            out.push(at);
        }
        out
    }

    /// The start of the cluster before the cursor.
    fn previous(&self) -> usize {
        self.boundaries()
            .into_iter()
            .rev()
            .find(|&at| at < self.cursor)
            .unwrap_or(0)
    }

    /// The end of the cluster at the cursor.
    fn next(&self) -> usize {
        self.boundaries()
            .into_iter()
            .find(|&at| at > self.cursor)
            .unwrap_or(self.text.len())
    }

    /// Left: a cluster back.
    pub fn left(&mut self) {
        self.cursor = self.previous();
    }

    /// Right: a cluster on.
    pub fn right(&mut self) {
        self.cursor = self.next();
    }

    /// Home, Ctrl-A: the start of the line the cursor is on.
    pub fn home(&mut self) {
        while self.cursor > 0 && self.text[self.cursor - 1] != '\n' {
            self.cursor -= 1;
        }
    }

    /// End, Ctrl-E: the end of the line the cursor is on.
    pub fn end(&mut self) {
        while self.cursor < self.text.len() && self.text[self.cursor] != '\n' {
            self.cursor += 1;
        }
    }

    /// Backspace: the cluster before the cursor.
    pub fn backspace(&mut self) {
        let start = self.previous();
        self.text.drain(start..self.cursor);
        self.cursor = start;
    }

    /// Delete: the cluster at the cursor.
    pub fn delete(&mut self) {
        let end = self.next();
        self.text.drain(self.cursor..end);
    }

    /// Where the word before the cursor starts (Alt-B, Ctrl-W).
    fn word_start(&self) -> usize {
        let mut at = self.cursor;
        while at > 0 && self.text[at - 1].is_whitespace() {
            at -= 1;
        }
        while at > 0 && !self.text[at - 1].is_whitespace() {
            at -= 1;
        }
        at
    }

    /// Alt-B: back a word.
    pub fn word_left(&mut self) {
        self.cursor = self.word_start();
    }

    /// Alt-F: forward a word.
    pub fn word_right(&mut self) {
        let len = self.text.len();
        while self.cursor < len && self.text[self.cursor].is_whitespace() {
            self.cursor += 1;
        }
        while self.cursor < len && !self.text[self.cursor].is_whitespace() {
            self.cursor += 1;
        }
    }

    /// Ctrl-W: delete the word before the cursor.
    pub fn delete_word(&mut self) {
        let start = self.word_start();
        self.text.drain(start..self.cursor);
        self.cursor = start;
    }

    /// Ctrl-U: clear the line.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// Ctrl-K: delete from the cursor to the end.
    pub fn kill_to_end(&mut self) {
        self.text.truncate(self.cursor);
    }

    /// The word the cursor ends (for Tab): its start and text.
    pub fn word_at_cursor(&self) -> (usize, String) {
        let mut start = self.cursor;
        while start > 0 && !self.text[start - 1].is_whitespace() {
            start -= 1;
        }
        (start, self.text[start..self.cursor].iter().collect())
    }

    /// Replaces the chars from `start` to the cursor with `with`.
    pub fn replace_before_cursor(&mut self, start: usize, with: &str) {
        self.text.drain(start..self.cursor);
        self.cursor = start;
        for c in with.chars() {
            self.text.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// Up: the line sent before the one shown.
    pub fn history_up(&mut self) {
        if self.browsing == 0 {
            return;
        }
        if self.browsing == self.history.len() {
            self.draft = self.text();
        }
        self.browsing -= 1;
        let line = self.history[self.browsing].clone();
        self.set(&line);
    }

    /// Down: the line sent after the one shown, then the draft again.
    pub fn history_down(&mut self) {
        if self.browsing >= self.history.len() {
            return;
        }
        self.browsing += 1;
        let line = match self.history.get(self.browsing) {
            Some(line) => line.clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.set(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Editor {
        let mut editor = Editor::default();
        editor.insert_str(text);
        editor
    }

    #[test]
    fn editing_keys() {
        let mut e = typed("hello brave world");
        e.delete_word();
        assert_eq!(e.text(), "hello brave ");
        e.word_left();
        assert_eq!(e.cursor(), 6);
        e.kill_to_end();
        assert_eq!(e.text(), "hello ");
        e.home();
        e.insert('>');
        assert_eq!(e.text(), ">hello ");
        e.word_right();
        assert_eq!(e.cursor(), 6);
        e.end();
        e.backspace();
        assert_eq!(e.text(), ">hello");
        e.clear();
        assert!(e.is_empty());
    }

    #[test]
    fn controls_never_enter_and_pastes_keep_lines() {
        let mut e = Editor::default();
        let removed = e.insert_str("a\x1b[2Jb\u{202e}c\r\nd\te");
        assert_eq!(e.text(), "a[2Jbc\nd    e");
        assert_eq!(removed, ['\x1b', '\u{202e}'], "what was left out is told");
    }

    #[test]
    fn the_cursor_moves_over_whole_clusters() {
        let mut e = typed("a🇩🇪👍🏽e\u{301}");
        e.left();
        assert_eq!(e.cursor(), 5, "over e and its accent");
        e.left();
        assert_eq!(e.cursor(), 3, "over the thumb and its skin tone");
        e.backspace();
        assert_eq!(e.text(), "a👍🏽e\u{301}", "the whole flag");
        e.delete();
        assert_eq!(e.text(), "ae\u{301}");
        e.right();
        assert_eq!(e.cursor(), 3);
    }

    #[test]
    fn up_and_down_walk_the_lines_sent() {
        let mut e = typed("one");
        e.take();
        e.insert_str("two");
        e.take();
        e.insert_str("draft");
        e.history_up();
        assert_eq!(e.text(), "two");
        e.history_up();
        e.history_up();
        assert_eq!(e.text(), "one");
        e.history_down();
        e.history_down();
        assert_eq!(e.text(), "draft");
    }
}
