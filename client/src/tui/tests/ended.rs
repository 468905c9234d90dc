//! A session that ends keeps the screen: the reason in the pane, q or
//! Ctrl-C leaves with the cause's exit, and a masked input asks for a new
//! password or key where one can help.

use crossterm::event::{Event as TermEvent, KeyCode, KeyModifiers};

use super::*;
use crate::engine::Credentials;

fn ended(app: &mut App, exit: Exit, message: &str, remedy: Remedy) {
    app.on_engine(Event::Ended {
        failure: Failure::new(exit, message),
        remedy,
    });
}

#[test]
fn a_kick_keeps_the_screen_with_the_reason_and_q_leaves_with_4() {
    let mut app = busy_room();
    ended(
        &mut app,
        Exit::Disconnected,
        "disconnected by the server: kicked: spamming",
        Remedy::Nothing,
    );
    app.link = Link::Down;
    let shown = screen(&mut app, 80, 24);
    insta::assert_snapshot!("kicked", shown);
    assert!(shown.contains("kicked: spamming"), "{shown}");
    assert!(
        shown.contains("<carol> hi all"),
        "the scrollback stays: {shown}"
    );
    // A message cannot go out, and is kept in the input.
    type_text(&mut app, "still here?");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.editor.text(), "still here?");
    assert!(screen(&mut app, 80, 24).contains("not sent: the session has ended"));
    // `q` types while the input holds text; on an empty input it leaves.
    press(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(
        key(&mut app, KeyCode::Char('q')),
        [Action::Quit {
            reason: String::new(),
            exit: Exit::Disconnected
        }]
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        [Action::Quit {
            reason: String::new(),
            exit: Exit::Disconnected
        }],
        "Ctrl-C leaves with the cause's status, pending lines or not"
    );
    type_text(&mut app, "/reconnect");
    assert_eq!(key(&mut app, KeyCode::Enter), [Action::Reconnect(None)]);
}

#[test]
fn a_refused_password_is_asked_for_again_masked_and_joins_with_it() {
    let mut app = busy_room();
    ended(
        &mut app,
        Exit::BadPassword,
        "the server at ws://h:1/ refused to let ace join: wrong password",
        Remedy::Password,
    );
    app.link = Link::Down;
    type_text(&mut app, "hunter3");
    let shown = screen(&mut app, 80, 24);
    insta::assert_snapshot!("asks_for_the_password", shown);
    assert!(shown.contains("> password: •••••••"), "{shown}");
    assert!(!shown.contains("hunter3"), "never shown: {shown}");
    assert!(
        app.editor.is_empty(),
        "not in the input line or its history"
    );
    match key(&mut app, KeyCode::Enter).as_slice() {
        [Action::Reconnect(Some(Credentials::Password(password)))] => {
            assert_eq!(password.as_str(), "hunter3");
        }
        other => panic!("{other:?}"),
    }
    assert!(app.secret.is_none());
    // Refused again: asked again; Esc closes it and Enter on an empty
    // input opens it again.
    ended(
        &mut app,
        Exit::BadPassword,
        "wrong password",
        Remedy::Password,
    );
    assert!(app.secret.is_some());
    key(&mut app, KeyCode::Esc);
    assert!(app.secret.is_none());
    key(&mut app, KeyCode::Enter);
    assert!(app.secret.is_some());
    // Ctrl-C in the masked input leaves with the cause's status.
    assert_eq!(
        press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        [Action::Quit {
            reason: String::new(),
            exit: Exit::BadPassword
        }]
    );
}

#[test]
fn a_withdrawn_key_asks_for_the_new_one_and_checks_it() {
    let mut app = busy_room();
    ended(
        &mut app,
        Exit::Disconnected,
        "disconnected by the server: key_rotated",
        Remedy::Key,
    );
    app.on_terminal(TermEvent::Paste("chat1_not-a-key\n".into()));
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(
        screen(&mut app, 100, 24).contains("that is not a key"),
        "{}",
        screen(&mut app, 100, 24)
    );
    let token = "chat1_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw";
    app.on_terminal(TermEvent::Paste(token.into()));
    match key(&mut app, KeyCode::Enter).as_slice() {
        [Action::Reconnect(Some(Credentials::Key(key)))] => {
            assert_eq!(app.fingerprint, key.key_id().to_string());
        }
        other => panic!("{other:?}"),
    }
    // The rejoin brings the session back: the screen is live again.
    app.on_engine(Event::Rejoined {
        welcome: welcome(Vec::new()),
        gap: false,
        url: "ws://chat.example.org:1719/".into(),
    });
    assert!(app.ended.is_none() && app.secret.is_none());
    // Live again: Ctrl-C asks first, as "thanks!" still waits.
    assert!(press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL).is_empty());
    assert!(app.confirm_quit.is_some());
}
