//! Leaving, and a session that ends without the user leaving.
//!
//! Nothing typed is dropped in silence: Ctrl-C, Ctrl-D or `/quit` while
//! lines wait to be sent (pending) or a draft is typed asks first; a
//! second Ctrl-C or `y` leaves, and `chat` then exits 3 (lines not sent).
//!
//! A session that the server ends (a kick, a ban, a withdrawn key) or
//! whose rejoin is refused (a password changed, a key rotated) keeps the
//! screen and its scrollback: the reason is in the pane, `q` or Ctrl-C
//! leaves with the exit status of the cause (4, 10, 12, 17, …), and
//! `/reconnect` joins again. Where a new password or key can help, a
//! masked input asks for it in place; Enter joins again with it.

use chat_protocol::Token;
use chat_protocol::sizes::MAX_PASSWORD;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use zeroize::Zeroizing;

use super::{Action, App};
use crate::engine::{Credentials, Remedy};
use crate::exit::{Exit, Failure};

/// How the session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// The exit status of the cause.
    pub exit: Exit,
    /// Why, as told in the pane (printed again on the way out).
    pub message: String,
    /// What could let a rejoin succeed.
    pub remedy: Remedy,
}

/// The masked input for a new password or key.
pub struct Secret {
    /// What it asks for ([`Remedy::Password`] or [`Remedy::Key`]).
    pub remedy: Remedy,
    text: Zeroizing<String>,
}

impl Secret {
    fn new(remedy: Remedy) -> Self {
        Self {
            remedy,
            text: Zeroizing::new(String::new()),
        }
    }

    /// The prompt, and a mask as long as what was typed.
    pub fn shown(&self) -> String {
        let what = match self.remedy {
            Remedy::Key => "new key",
            _ => "password",
        };
        format!("{what}: {}", "•".repeat(self.text.chars().count()))
    }
}

impl App {
    /// The session ended: the reason and what to do, in the pane; the
    /// masked input, if a password or key can help.
    pub(super) fn on_ended(&mut self, failure: Failure, remedy: Remedy) {
        self.stale_since.get_or_insert(self.clock.now());
        self.confirm_quit = None;
        self.note(failure.message.clone());
        self.note(match remedy {
            Remedy::Password => {
                "type the password and Enter to join again · Esc: not now · Ctrl-C: leave"
            }
            Remedy::Key => {
                "paste the new key (`chatctl key` prints it) and Enter to join again · Esc: not now · Ctrl-C: leave"
            }
            Remedy::Nothing => "q or Ctrl-C leaves · /reconnect joins again",
        });
        self.secret = (remedy != Remedy::Nothing).then(|| Secret::new(remedy));
        self.ended = Some(Ended {
            exit: failure.exit,
            message: failure.message,
            remedy,
        });
    }

    /// Whether leaving now would drop something: lines not sent or not
    /// answered yet, or a draft.
    fn unsent(&self) -> bool {
        !self.pending.is_empty() || !self.editor.is_empty()
    }

    /// Leaving (Ctrl-C, Ctrl-D on an empty input, `/quit`): at once, or
    /// once confirmed while something would be lost.
    pub(super) fn quit(&mut self, reason: String) -> Vec<Action> {
        if let Some(ended) = &self.ended {
            return vec![Action::Quit {
                reason,
                exit: ended.exit,
            }];
        }
        if self.unsent() {
            self.confirm_quit = Some(reason);
            return Vec::new();
        }
        vec![Action::Quit {
            reason,
            exit: Exit::Ok,
        }]
    }

    /// The exit of a leave that asks nothing (SIGTERM, SIGHUP, the
    /// terminal gone): the cause's if the session ended, else 3 if
    /// something typed is lost, else 0.
    pub fn quit_now(&self) -> Exit {
        match &self.ended {
            Some(ended) => ended.exit,
            None if self.unsent() => Exit::Refused,
            None => Exit::Ok,
        }
    }

    /// The question while leaving waits for an answer, for the rule.
    pub fn quit_question(&self) -> Option<String> {
        self.confirm_quit.as_ref()?;
        let lines = self.pending.len();
        let mut lost = Vec::new();
        if lines > 0 {
            let s = if lines == 1 { "" } else { "s" };
            lost.push(format!("{lines} line{s} not sent"));
        }
        if !self.editor.is_empty() {
            lost.push("a draft".to_owned());
        }
        Some(format!(
            " {}: Ctrl-C or y leaves (exit 3), any other key stays ",
            lost.join(" and ")
        ))
    }

    /// A key while the quit question is shown: Ctrl-C or `y` leaves, any
    /// other key stays (and does nothing else).
    pub(super) fn on_quit_answer(&mut self, key: KeyEvent) -> Vec<Action> {
        let Some(reason) = self.confirm_quit.take() else {
            return Vec::new();
        };
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        let yes = matches!(key.code, KeyCode::Char('y' | 'Y'))
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if ctrl_c || yes {
            return vec![Action::Quit {
                reason,
                exit: Exit::Refused,
            }];
        }
        Vec::new()
    }

    /// A key while the session is over and the input is not masked: `q`
    /// on an empty input leaves, Enter on an empty one asks again for the
    /// password or key. `None`: the key is an ordinary one.
    pub(super) fn on_ended_key(&mut self, key: KeyEvent) -> Option<Vec<Action>> {
        let ended = self.ended.as_ref()?;
        if !self.editor.is_empty()
            || key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        match key.code {
            KeyCode::Char('q') => Some(vec![Action::Quit {
                reason: String::new(),
                exit: ended.exit,
            }]),
            KeyCode::Enter if ended.remedy != Remedy::Nothing => {
                self.secret = Some(Secret::new(ended.remedy));
                Some(Vec::new())
            }
            _ => None,
        }
    }

    /// A key in the masked input: it takes the text (never shown, never
    /// in the history); Enter joins again with it, Esc closes it, Ctrl-C
    /// leaves.
    pub(super) fn on_secret_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let Some(secret) = &mut self.secret else {
            return Vec::new();
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => return self.quit(String::new()),
            KeyCode::Char('u') if ctrl => secret.text.clear(),
            KeyCode::Char(c)
                if !ctrl && !c.is_control() && secret.text.len() + c.len_utf8() <= MAX_PASSWORD =>
            {
                secret.text.push(c);
            }
            KeyCode::Backspace => {
                secret.text.pop();
            }
            KeyCode::Esc => self.secret = None,
            KeyCode::Enter => return self.submit_secret(),
            _ => {}
        }
        Vec::new()
    }

    /// A paste into the masked input: its text, without line ends.
    pub(super) fn on_secret_paste(&mut self, text: &str) {
        if let Some(secret) = &mut self.secret {
            for c in text.chars().filter(|c| !c.is_control()) {
                if secret.text.len() + c.len_utf8() <= MAX_PASSWORD {
                    secret.text.push(c);
                }
            }
        }
    }

    fn submit_secret(&mut self) -> Vec<Action> {
        let Some(secret) = self.secret.take() else {
            return Vec::new();
        };
        let credentials = match secret.remedy {
            Remedy::Key => match Token::parse(&secret.text) {
                Ok(token) => {
                    self.fingerprint = token.key_id().to_string();
                    Credentials::Key(token)
                }
                Err(err) => {
                    self.note(format!(
                        "that is not a key ({err}); paste the chat1_… token that `chatctl key` prints"
                    ));
                    self.secret = Some(Secret::new(Remedy::Key));
                    return Vec::new();
                }
            },
            _ => Credentials::Password(secret.text),
        };
        self.note("joining again…");
        vec![Action::Reconnect(Some(credentials))]
    }
}
