//! The input line: its limit, editing keys, history, completion, quitting.

use super::*;

#[test]
fn an_input_over_the_limit_shows_its_size_and_is_not_sent() {
    let mut app = app_with(Vec::new());
    app.max_text = 10;
    app.on_terminal(TermEvent::Paste("x".repeat(25)));
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    let shown = screen(&mut app, 80, 8);
    assert!(shown.contains("25/10 bytes: too long"), "{shown}");
    assert_eq!(app.editor.text().len(), 25, "nothing cut");
}

#[test]
fn editing_keys_history_and_multiline_input() {
    let mut app = app_with(Vec::new());
    send(&mut app, "first", 1);
    type_text(&mut app, "one two");
    press(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(app.editor.text(), "one ");
    press(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    type_text(&mut app, "second line");
    assert_eq!(app.editor.text(), "one \nsecond line");
    press(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert!(app.editor.is_empty());
    key(&mut app, KeyCode::Up);
    assert_eq!(app.editor.text(), "first");
    // A paste lands in the input and is not sent by itself.
    press(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    let actions = app.on_terminal(TermEvent::Paste("a\nb\n".into()));
    assert!(actions.is_empty());
    assert_eq!(app.editor.text(), "a\nb\n");
    match key(&mut app, KeyCode::Enter).as_slice() {
        [Action::Send(ClientEvent::Say { text, .. })] => assert_eq!(text, "a\nb\n"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tab_completes_commands_then_names_and_cycles() {
    let mut app = busy_room();
    type_text(&mut app, "/m");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "/me ");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "/msg ");
    type_text(&mut app, "c");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "/msg carol ");
    press(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    type_text(&mut app, "d");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "dave: ");
}

#[test]
fn quitting_keys() {
    let mut app = app_with(Vec::new());
    assert_eq!(
        press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        [Action::Quit(String::new())]
    );
    type_text(&mut app, "x");
    assert!(press(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL).is_empty());
    assert_eq!(
        app.editor.text(),
        "x",
        "Ctrl-D on a typed line quits nothing"
    );
    key(&mut app, KeyCode::Backspace);
    assert_eq!(
        press(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL),
        [Action::Quit(String::new())]
    );
    type_text(&mut app, "/quit gone fishing");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Action::Quit("gone fishing".into())]
    );
}
