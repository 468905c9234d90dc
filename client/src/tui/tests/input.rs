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

fn quit(exit: Exit) -> Vec<Action> {
    quit_with("", exit)
}

fn quit_with(reason: &str, exit: Exit) -> Vec<Action> {
    vec![Action::Quit {
        reason: reason.into(),
        exit,
    }]
}

#[test]
fn quitting_keys() {
    let mut app = app_with(Vec::new());
    assert_eq!(
        press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        quit(Exit::Ok)
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
        quit(Exit::Ok)
    );
    type_text(&mut app, "/quit gone fishing");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        quit_with("gone fishing", Exit::Ok)
    );
}

/// Ctrl-C while a line waits for the server, or with a draft typed, asks
/// first: any other key stays (the draft whole), a second Ctrl-C or `y`
/// leaves with exit 3. A signal leaves without asking, with exit 3 too.
#[test]
fn leaving_with_lines_not_sent_or_a_draft_asks_first_then_exits_3() {
    let mut app = app_with(Vec::new());
    send(&mut app, "waiting for the server", 1);
    assert!(press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL).is_empty());
    let asked = screen(&mut app, 80, 8);
    insta::assert_snapshot!("quit_question", asked);
    assert!(
        asked.contains("1 line not sent: Ctrl-C or y leaves (exit 3)"),
        "{asked}"
    );
    // Any other key stays, and types nothing.
    assert!(key(&mut app, KeyCode::Char('n')).is_empty());
    assert!(app.editor.is_empty() && app.confirm_quit.is_none());
    assert_eq!(app.quit_now(), Exit::Refused, "a signal leaves with 3");
    press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        quit(Exit::Refused)
    );

    // A draft alone asks too; `y` leaves; /quit asks while lines wait.
    let mut app = app_with(Vec::new());
    type_text(&mut app, "half a thought");
    press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(
        screen(&mut app, 80, 8).contains("a draft: Ctrl-C or y leaves"),
        "{}",
        screen(&mut app, 80, 8)
    );
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.editor.text(), "half a thought", "kept");
    press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(key(&mut app, KeyCode::Char('y')), quit(Exit::Refused));

    let mut app = app_with(Vec::new());
    send(&mut app, "pending", 1);
    type_text(&mut app, "/quit bye");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        quit_with("bye", Exit::Refused)
    );
    // Once the server answered, nothing is lost: no question.
    let mut app = app_with(Vec::new());
    send(&mut app, "taken", 1);
    app.on_engine(message(2, "ace", "taken"));
    app.on_engine(Event::Confirmed(1));
    assert_eq!(
        press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        quit(Exit::Ok)
    );
}

/// The steps: a draft of three lines, Up, Enter. Up moves to the
/// second line of the draft; Enter sends the draft, once, and never the
/// line sent before.
#[test]
fn up_in_a_draft_of_three_lines_then_enter_sends_the_draft_not_the_last_line() {
    let mut app = app_with(Vec::new());
    send(&mut app, "the last message", 1);
    type_text(&mut app, "first line");
    press(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    type_text(&mut app, "second");
    press(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    type_text(&mut app, "third");
    key(&mut app, KeyCode::Up);
    match key(&mut app, KeyCode::Enter).as_slice() {
        [Action::Send(ClientEvent::Say { text, .. })] => {
            assert_eq!(text, "first line\nsecond\nthird");
        }
        other => panic!("{other:?}"),
    }
    assert!(app.editor.is_empty());
}

/// A line recalled with Up and sent does not throw away the draft: it
/// comes back into the input.
#[test]
fn a_recalled_line_sent_gives_the_draft_back() {
    let mut app = app_with(Vec::new());
    send(&mut app, "an earlier line", 1);
    type_text(&mut app, "half typed");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.editor.text(), "an earlier line");
    match key(&mut app, KeyCode::Enter).as_slice() {
        [Action::Send(ClientEvent::Say { text, .. })] => assert_eq!(text, "an earlier line"),
        other => panic!("{other:?}"),
    }
    assert_eq!(app.editor.text(), "half typed");
}

/// Alt-D deletes the next word, Ctrl-Y brings it back, Ctrl-T swaps;
/// Alt chords that are not bound (Alt-1…9 until there are rooms, Alt-X)
/// type nothing.
#[test]
fn word_keys_yank_transpose_and_unbound_chords_type_nothing() {
    let mut app = app_with(Vec::new());
    type_text(&mut app, "keep drop this");
    press(&mut app, KeyCode::Char('b'), KeyModifiers::ALT);
    press(&mut app, KeyCode::Char('b'), KeyModifiers::ALT);
    press(&mut app, KeyCode::Char('d'), KeyModifiers::ALT);
    assert_eq!(app.editor.text(), "keep  this");
    press(&mut app, KeyCode::Char('e'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Char('y'), KeyModifiers::CONTROL);
    assert_eq!(app.editor.text(), "keep  thisdrop");
    press(&mut app, KeyCode::Char('t'), KeyModifiers::CONTROL);
    assert_eq!(app.editor.text(), "keep  thisdrpo");
    for c in ['1', '5', '9', 'x', 'q'] {
        assert!(press(&mut app, KeyCode::Char(c), KeyModifiers::ALT).is_empty());
    }
    press(&mut app, KeyCode::Char('l'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::F(5), KeyModifiers::NONE);
    assert_eq!(
        app.editor.text(),
        "keep  thisdrpo",
        "no chord typed its letter"
    );
}

/// An input taller than the five rows it may take shows the rows around
/// the cursor, and the rule says how many are above and below; Ctrl-A
/// twice reaches its start.
#[test]
fn an_input_taller_than_five_rows_says_what_is_above_and_below() {
    let mut app = app_with(Vec::new());
    for i in 1..=8 {
        if i > 1 {
            press(&mut app, KeyCode::Enter, KeyModifiers::ALT);
        }
        type_text(&mut app, &format!("line {i}"));
    }
    let at_end = screen(&mut app, 60, 14);
    insta::assert_snapshot!("taller_input_at_its_end", at_end);
    assert!(
        at_end.contains("↑ 3 more") && !at_end.contains("↓"),
        "{at_end}"
    );
    press(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    assert_eq!(app.editor.cursor(), 0);
    let at_start = screen(&mut app, 60, 14);
    insta::assert_snapshot!("taller_input_at_its_start", at_start);
    assert!(
        at_start.contains("> line 1") && at_start.contains("↓ 3 more"),
        "{at_start}"
    );
    for _ in 0..6 {
        key(&mut app, KeyCode::Down);
    }
    let middle = screen(&mut app, 60, 14);
    assert!(
        middle.contains("↑ 2 more") && middle.contains("↓ 1 more"),
        "{middle}"
    );
    assert_eq!(
        app.editor.text().lines().count(),
        8,
        "Down moved, recalled nothing"
    );
}
