//! What keys, a paste and the mouse do to the [`App`]: editing the input,
//! scrolling, going from room to room (Alt-1…9, Alt-←/→, Ctrl-P/N), and
//! the keys that quit, suspend, send or complete.

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind,
};

use super::{Action, App};

/// Rows the mouse wheel scrolls.
const WHEEL_ROWS: usize = 3;

impl App {
    /// A terminal event; what the runner must do.
    pub fn on_terminal(&mut self, event: TermEvent) -> Vec<Action> {
        match event {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            TermEvent::Paste(text) if self.secret.is_some() => {
                self.on_secret_paste(&text);
                Vec::new()
            }
            TermEvent::Paste(text) if self.search.is_some() => {
                self.on_search_paste(&text);
                Vec::new()
            }
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
        if self.confirm_quit.is_some() {
            return self.on_quit_answer(key);
        }
        if self.secret.is_some() {
            return self.on_secret_key(key);
        }
        if self.search.is_some() {
            return self.on_search_key(key);
        }
        if let Some(actions) = self.on_ended_key(key) {
            return actions;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if key.code != KeyCode::Tab {
            self.completion = None;
        }
        let page = self.pane.1.saturating_sub(1).max(1);
        let e = &mut self.editor;
        match key.code {
            KeyCode::Char('c') if ctrl => return self.quit(String::new()),
            KeyCode::Char('d') if ctrl => {
                if e.is_empty() {
                    return self.quit(String::new());
                }
                e.delete();
            }
            KeyCode::Char('z') if ctrl => return vec![Action::Suspend],
            KeyCode::Char('a') if ctrl => e.home(),
            KeyCode::Char('e') if ctrl => e.end(),
            KeyCode::Char('w') if ctrl => e.delete_word(),
            KeyCode::Char('u') if ctrl => e.clear(),
            KeyCode::Char('k') if ctrl => e.kill_to_end(),
            KeyCode::Char('y') if ctrl => e.yank(),
            KeyCode::Char('t') if ctrl => e.transpose(),
            KeyCode::Char('r') if ctrl => self.start_search(""),
            KeyCode::Char('j') if ctrl => e.insert('\n'),
            KeyCode::Char('b') if alt && !ctrl => e.word_left(),
            KeyCode::Char('f') if alt && !ctrl => e.word_right(),
            KeyCode::Char('d') if alt && !ctrl => e.delete_word_forward(),
            // The buffers in the room list's order: rooms, then people.
            KeyCode::Char(c @ '1'..='9') if alt && !ctrl => {
                self.switch_to(usize::from(c as u8 - b'1'));
            }
            KeyCode::Char('n') if ctrl => self.switch_by(1),
            KeyCode::Char('p') if ctrl => self.switch_by(-1),
            KeyCode::Left if alt && !ctrl => self.switch_by(-1),
            KeyCode::Right if alt && !ctrl => self.switch_by(1),
            KeyCode::Char(c) if !ctrl && !alt => e.insert(c),
            KeyCode::Enter if alt => e.insert('\n'),
            KeyCode::Enter => return self.submit(),
            KeyCode::Backspace if alt => e.delete_word(),
            KeyCode::Backspace => e.backspace(),
            KeyCode::Delete => e.delete(),
            KeyCode::Left if ctrl => e.word_left(),
            KeyCode::Right if ctrl => e.word_right(),
            KeyCode::Left => e.left(),
            KeyCode::Right => e.right(),
            KeyCode::Home if ctrl || e.is_empty() => self.scroll_top(),
            KeyCode::End if ctrl || e.is_empty() => self.scroll_live(),
            KeyCode::Home => e.home(),
            KeyCode::End => e.end(),
            KeyCode::Up => e.up(),
            KeyCode::Down => e.down(),
            KeyCode::PageUp => self.scroll_up(page),
            KeyCode::PageDown => self.scroll_down(page),
            KeyCode::F(2) => self.show_users = !self.show_users,
            KeyCode::Tab => self.complete(),
            // Any other chord (Ctrl-L, Alt-X, F5, …) is not bound: it does
            // nothing, and never types its letter.
            _ => {}
        }
        Vec::new()
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
