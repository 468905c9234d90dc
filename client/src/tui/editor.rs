//! The input line: text, a cursor, editing keys and the lines sent before.
//!
//! The cursor is a char index, and it moves by grapheme cluster: Left,
//! Right, Backspace and Delete take a flag, an emoji with its skin tone or
//! a letter with its accents as one, as the view draws it. Nothing but the
//! user's keys (and pastes) changes the text; incoming traffic never
//! touches it.
//!
//! Nothing typed is lost: in a draft of several lines Up and Down move
//! between its lines, and only from its first or last line do they walk
//! the lines sent before ([`history`]), as fish and zsh do; the draft is
//! kept meanwhile and comes back, also after a line recalled from the
//! history was sent. What a kill takes out (Ctrl-W, Ctrl-U, Ctrl-K,
//! Alt-D) comes back with Ctrl-Y.

mod history;

use self::history::History;

/// The text being typed and what was typed before.
#[derive(Debug, Default)]
pub struct Editor {
    text: Vec<char>,
    cursor: usize,
    /// The lines sent before, and where Up/Down is among them.
    history: History,
    /// The text the last kill (Ctrl-W, Ctrl-U, Ctrl-K, Alt-D,
    /// Alt-Backspace) took out, for Ctrl-Y.
    killed: String,
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

    /// Takes the text out for sending, remembering it for Up. When it was
    /// a line recalled from the history, the draft that was being typed
    /// before comes back into the input.
    pub fn take(&mut self) -> String {
        let text = self.text();
        let draft = self.history.sent(&text);
        self.set(&draft);
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

    /// Where the line the cursor is on starts (a char index).
    fn line_start(&self, at: usize) -> usize {
        self.text[..at]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |i| i + 1)
    }

    /// Where the line the cursor is on ends (a char index, before its
    /// newline).
    fn line_end(&self, at: usize) -> usize {
        self.text[at..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(self.text.len(), |i| at + i)
    }

    /// Home, Ctrl-A: the start of the line the cursor is on; there
    /// already, the start of the whole input.
    pub fn home(&mut self) {
        let start = self.line_start(self.cursor);
        self.cursor = if self.cursor == start { 0 } else { start };
    }

    /// End, Ctrl-E: the end of the line the cursor is on; there already,
    /// the end of the whole input.
    pub fn end(&mut self) {
        let end = self.line_end(self.cursor);
        self.cursor = if self.cursor == end {
            self.text.len()
        } else {
            end
        };
    }

    /// Moves the cursor to the line that starts at `start`, at the column
    /// it has now (or the end of that line, if shorter), on a cluster
    /// boundary.
    fn move_to_line(&mut self, start: usize) {
        let column = self.cursor - self.line_start(self.cursor);
        let end = self.line_end(start);
        let target = (start + column).min(end);
        self.cursor = self
            .boundaries()
            .into_iter()
            .rfind(|&at| at <= target)
            .unwrap_or(start);
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
        self.cursor = self.word_end();
    }

    /// Where the word after the cursor ends (Alt-F, Alt-D).
    fn word_end(&self) -> usize {
        let len = self.text.len();
        let mut at = self.cursor;
        while at < len && self.text[at].is_whitespace() {
            at += 1;
        }
        while at < len && !self.text[at].is_whitespace() {
            at += 1;
        }
        at
    }

    /// Takes the chars `range` out, for Ctrl-Y; the cursor at its start.
    fn kill(&mut self, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        self.cursor = range.start;
        self.killed = self.text.drain(range).collect();
    }

    /// Ctrl-W, Alt-Backspace: delete the word before the cursor.
    pub fn delete_word(&mut self) {
        self.kill(self.word_start()..self.cursor);
    }

    /// Alt-D: delete the word after the cursor.
    pub fn delete_word_forward(&mut self) {
        self.kill(self.cursor..self.word_end());
    }

    /// Ctrl-U: clear the whole input.
    pub fn clear(&mut self) {
        self.kill(0..self.text.len());
    }

    /// Ctrl-K: delete from the cursor to the end of its line (at the end
    /// of a line: its newline, joining the next).
    pub fn kill_to_end(&mut self) {
        let end = self.line_end(self.cursor);
        let end = if end == self.cursor {
            (end + 1).min(self.text.len())
        } else {
            end
        };
        self.kill(self.cursor..end);
    }

    /// Ctrl-Y: the text of the last kill, at the cursor.
    pub fn yank(&mut self) {
        let killed = self.killed.clone();
        for c in killed.chars() {
            self.text.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// Ctrl-T: swaps the cluster before the cursor with the one at it (at
    /// the end of the input, the last two), and moves on.
    pub fn transpose(&mut self) {
        let bounds = self.boundaries();
        let Some(i) = bounds.iter().position(|&at| at == self.cursor) else {
            return;
        };
        // At the end: the last two clusters.
        let i = if i + 1 == bounds.len() {
            i.saturating_sub(1)
        } else {
            i
        };
        if i == 0 || i + 1 >= bounds.len() {
            return;
        }
        let (a, b, c) = (bounds[i - 1], bounds[i], bounds[i + 1]);
        let first: Vec<char> = self.text[a..b].to_vec();
        let second: Vec<char> = self.text[b..c].to_vec();
        self.text.splice(a..c, second.into_iter().chain(first));
        self.cursor = c;
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

    /// Up: the line above the cursor's; from the first line, the line
    /// sent before the one shown (its last line, so Up goes on up
    /// through it). The text being typed is kept, and comes back.
    pub fn up(&mut self) {
        let start = self.line_start(self.cursor);
        if start > 0 {
            return self.move_to_line(self.line_start(start - 1));
        }
        let text = self.text();
        if let Some(older) = self.history.older(&text) {
            self.set(&older);
        }
    }

    /// Down: the line below the cursor's; from the last line, the line
    /// sent after the one shown, then the draft again (its first line, so
    /// Down goes on down through it).
    pub fn down(&mut self) {
        let end = self.line_end(self.cursor);
        if end < self.text.len() {
            return self.move_to_line(end + 1);
        }
        let text = self.text();
        if let Some(newer) = self.history.newer(&text) {
            self.set(&newer);
            self.cursor = self.line_end(0);
        }
    }

    /// Whether a line recalled from the history is shown (the draft is
    /// kept aside meanwhile).
    pub fn recalled(&self) -> bool {
        self.history.browsing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line (0-based) the cursor is on.
    fn cursor_line(e: &Editor) -> usize {
        e.text[..e.cursor].iter().filter(|&&c| c == '\n').count()
    }

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
    fn up_and_down_walk_the_lines_sent_and_the_draft_comes_back() {
        let mut e = typed("one");
        e.take();
        e.insert_str("two");
        e.take();
        e.insert_str("draft");
        e.up();
        assert_eq!(e.text(), "two");
        assert!(e.recalled());
        e.up();
        e.up();
        assert_eq!(e.text(), "one");
        e.down();
        e.down();
        assert_eq!(e.text(), "draft");
        assert!(!e.recalled());
        e.down();
        assert_eq!(e.text(), "draft", "nothing below the draft");
    }

    #[test]
    fn up_in_a_draft_of_several_lines_moves_between_them() {
        let mut e = typed("sent before");
        e.take();
        e.insert_str("first line\nsecond\nthird");
        e.up();
        assert_eq!(e.text(), "first line\nsecond\nthird", "the draft stays");
        assert_eq!(cursor_line(&e), 1);
        assert_eq!(e.cursor(), "first line\nsecon".len(), "the same column");
        e.up();
        assert_eq!(cursor_line(&e), 0);
        assert_eq!(e.cursor(), 5, "the column kept: {}", e.cursor());
        e.down();
        e.down();
        assert_eq!(cursor_line(&e), 2);
        // From the first line only, the history.
        e.up();
        e.up();
        e.up();
        assert_eq!(e.text(), "sent before");
        e.down();
        assert_eq!(
            e.text(),
            "first line\nsecond\nthird",
            "the draft comes back"
        );
        assert_eq!(e.cursor(), "first line".len(), "on its first line");
        assert_eq!(e.take(), "first line\nsecond\nthird");
    }

    #[test]
    fn sending_a_recalled_line_brings_the_draft_back() {
        let mut e = typed("an old line");
        e.take();
        e.insert_str("half typed");
        e.up();
        assert_eq!(e.take(), "an old line");
        assert_eq!(e.text(), "half typed", "the draft is not lost");
        assert_eq!(e.cursor(), "half typed".len());
    }

    #[test]
    fn edits_to_recalled_lines_are_kept_until_one_is_sent() {
        let mut e = typed("one");
        e.take();
        e.insert_str("two");
        e.take();
        e.up();
        e.insert_str(" edited");
        e.up();
        assert_eq!(e.text(), "one");
        e.down();
        assert_eq!(e.text(), "two edited");
        e.down();
        assert_eq!(e.text(), "");
        e.up();
        assert_eq!(e.take(), "two edited");
        e.up();
        assert_eq!(e.text(), "two edited", "sent: now in the history");
        e.up();
        assert_eq!(e.text(), "two", "the original, its edit dropped");
    }

    #[test]
    fn home_and_end_twice_reach_the_start_and_end_of_the_input() {
        let mut e = typed("one\ntwo\nthree");
        e.up();
        e.home();
        assert_eq!(e.cursor(), 4, "the start of its line");
        e.home();
        assert_eq!(e.cursor(), 0, "the start of the input");
        e.end();
        assert_eq!(e.cursor(), 3, "the end of its line");
        e.end();
        assert_eq!(e.cursor(), e.text().chars().count(), "the end of the input");
    }

    #[test]
    fn kills_yank_transpose_and_delete_word_forward() {
        let mut e = typed("hello brave new world");
        e.home();
        e.home();
        e.word_right();
        e.delete_word_forward();
        assert_eq!(e.text(), "hello new world");
        e.end();
        e.yank();
        assert_eq!(e.text(), "hello new world brave");
        e.delete_word();
        assert_eq!(e.text(), "hello new world ");
        e.home();
        e.yank();
        assert_eq!(e.text(), "bravehello new world ");
        // Ctrl-T swaps the clusters around the cursor; at the end, the last two.
        let mut t = typed("ab👍🏽");
        t.transpose();
        assert_eq!(t.text(), "a👍🏽b");
        t.left();
        t.left();
        t.transpose();
        assert_eq!(t.text(), "👍🏽ab");
        // Ctrl-K kills to the end of the line, then its newline.
        let mut k = typed("one\ntwo");
        k.home();
        k.home();
        k.right();
        k.kill_to_end();
        assert_eq!(k.text(), "o\ntwo");
        k.kill_to_end();
        assert_eq!(k.text(), "otwo");
        k.clear();
        k.yank();
        assert_eq!(k.text(), "otwo", "Ctrl-U's text comes back too");
    }
}
