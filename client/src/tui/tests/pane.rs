//! The pane and the bars: a busy room, the user list, pending and sent
//! lines, scrolling and its marker, mentions, goodbyes, reconnecting.

use super::*;

#[test]
fn a_busy_room_at_80_by_24() {
    let mut app = busy_room();
    type_text(&mut app, "/msg car");
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn a_busy_room_at_40_by_10_hides_the_user_list() {
    let mut app = busy_room();
    insta::assert_snapshot!(screen(&mut app, 40, 10));
}

#[test]
fn f2_hides_and_shows_the_user_list() {
    let mut app = busy_room();
    key(&mut app, KeyCode::F(2));
    insta::assert_snapshot!("users_hidden", screen(&mut app, 80, 12));
    key(&mut app, KeyCode::F(2));
    insta::assert_snapshot!("users_shown", screen(&mut app, 80, 12));
}

#[test]
fn the_echo_turns_a_pending_line_into_a_sent_one_shown_once() {
    let mut app = busy_room();
    let before = screen(&mut app, 80, 24);
    assert!(
        before.contains("thanks!") && before.contains("(pending)"),
        "{before}"
    );
    app.on_engine(message(7, "ace", "thanks!"));
    app.on_engine(Event::Confirmed(1));
    let after = screen(&mut app, 80, 24);
    assert_eq!(after.matches("thanks!").count(), 1, "{after}");
    assert!(!after.contains("(pending)"), "{after}");
}

#[test]
fn scrollback_with_the_new_messages_marker() {
    let mut app = app_with(Vec::new());
    for id in 1..=40 {
        app.on_engine(message(id, "bob", &format!("line {id}")));
    }
    screen(&mut app, 60, 12);
    key(&mut app, KeyCode::PageUp);
    for id in 41..=43 {
        app.on_engine(message(id, "carol", &format!("new {id}")));
    }
    // Notices are not messages: they do not count.
    app.on_engine(server(ServerEvent::Join {
        room: None,
        name: "erin".into(),
        online: 5,
        ts: NOON,
        identity: None,
        op: false,
    }));
    let scrolled = screen(&mut app, 60, 12);
    insta::assert_snapshot!("scrolled_up", scrolled);
    assert!(scrolled.contains("3 new messages ↓"), "{scrolled}");
    // The marker spans the pane, to its last column.
    let marker_row = scrolled
        .lines()
        .find(|row| row.contains("new messages"))
        .expect("the marker");
    let pane_part = marker_row.split('│').next().unwrap();
    assert!(pane_part.ends_with('─'), "{marker_row:?}");
    assert!(scrolled.contains("(End: live)"), "{scrolled}");
    // With something typed, End moves the cursor: the hint says Ctrl-End.
    type_text(&mut app, "typed");
    let typed = screen(&mut app, 60, 12);
    assert!(typed.contains("(Ctrl-End: live)"), "{typed}");
    key(&mut app, KeyCode::End);
    assert!(
        app.buf().scroll.is_some(),
        "End moved the cursor, not the pane"
    );
    press(&mut app, KeyCode::End, KeyModifiers::CONTROL);
    assert_eq!(app.buf().scroll, None, "Ctrl-End: live");
    press(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    key(&mut app, KeyCode::PageUp);
    // End on an empty input: back to live, the marker gone.
    key(&mut app, KeyCode::End);
    let live = screen(&mut app, 60, 12);
    assert!(
        live.contains("new 43") && !live.contains("new messages"),
        "{live}"
    );
    // Home: the oldest line on top.
    key(&mut app, KeyCode::Home);
    let top = screen(&mut app, 60, 12);
    assert!(top.contains("joined as ace"), "{top}");
}

#[test]
fn scrolling_keeps_its_place_through_a_resize_and_the_input_stays() {
    let mut app = app_with(Vec::new());
    for id in 1..=40 {
        app.on_engine(message(
            id,
            "bob",
            &format!("line {id} {}", "words ".repeat(8)),
        ));
    }
    type_text(&mut app, "half typed");
    screen(&mut app, 80, 12);
    key(&mut app, KeyCode::PageUp);
    let before = screen(&mut app, 80, 12);
    let bottom = app.buf().scroll.expect("scrolled");
    let after = screen(&mut app, 50, 16);
    assert_eq!(
        app.buf().scroll,
        Some(bottom),
        "the same line stays at the bottom"
    );
    assert!(before.contains("> half typed") && after.contains("> half typed"));
}

#[test]
fn the_status_bar_counts_down_to_the_reconnect_and_lines_wait() {
    let mut app = busy_room();
    app.on_engine(Event::Lost(
        "connection lost: the server closed the connection".into(),
    ));
    app.link = Link::Waiting {
        at: Instant::now() + std::time::Duration::from_millis(4_500),
        attempt: 2,
    };
    send(&mut app, "typed while away", 2);
    insta::assert_snapshot!(screen(&mut app, 80, 14));
}

#[test]
fn a_mention_is_highlighted_and_rings_but_history_does_not() {
    let mut app = app_with(vec![entry(1, "bob", "ace, you there?")]);
    assert!(!app.ring, "history never rings");
    app.on_engine(message(2, "bob", "ping ace"));
    assert!(app.ring);
    app.ring = false;
    app.on_engine(message(3, "bob", "race is not a mention"));
    assert!(!app.ring);
    let terminal = draw(&mut app, 60, 10);
    let buffer = terminal.backend().buffer();
    // "ping ace": the name is highlighted, "ping" is not.
    let row = (0..10)
        .find(|&y| {
            (0..60)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
                .contains("ping ace")
        })
        .expect("the mention row");
    let line: String = (0..60)
        .map(|x| buffer[(x, row)].symbol().to_owned())
        .collect();
    let at = line.find("ping ace").unwrap() as u16;
    assert!(buffer[(at + 5, row)].modifier.contains(Modifier::BOLD));
    assert_ne!(buffer[(at + 5, row)].bg, buffer[(at, row)].bg);
    app.ring = false;
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    type_text(&mut app, "/bell off");
    key(&mut app, KeyCode::Enter);
    app.on_engine(message(4, "bob", "ace!"));
    assert!(!app.ring);
}

#[test]
fn a_goodbye_and_repeated_failures_are_said_once() {
    let mut app = app_with(Vec::new());
    app.on_engine(server(ServerEvent::Bye {
        code: chat_protocol::ByeCode::Shutdown,
        reason: "the server is shutting down".into(),
        until: None,
    }));
    app.on_engine(Event::Lost(
        "disconnected by the server: shutdown: the server is shutting down".into(),
    ));
    for _ in 0..3 {
        app.on_engine(Event::RetryFailed("cannot reach the server".into()));
    }
    let shown = screen(&mut app, 100, 10);
    assert_eq!(shown.matches("shutting down").count(), 1, "{shown}");
    assert_eq!(shown.matches("cannot reach").count(), 1, "{shown}");
}

#[test]
fn scrollback_is_bounded() {
    let mut app = app_with(Vec::new());
    for id in 0..(crate::tui::app::SCROLLBACK_MAX as u64 + 10) {
        app.on_engine(message(id, "bob", "x"));
    }
    assert!(app.buf().lines.len() <= crate::tui::app::SCROLLBACK_MAX);
    assert_eq!(
        app.buf().lines.last().unwrap().entry.id,
        Some(crate::tui::app::SCROLLBACK_MAX as u64 + 9)
    );
    screen(&mut app, 40, 10);
}

#[test]
fn the_mouse_wheel_scrolls() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = app_with(Vec::new());
    for id in 1..=40 {
        app.on_engine(message(id, "bob", &format!("line {id}")));
    }
    screen(&mut app, 60, 12);
    let wheel = |kind| {
        TermEvent::Mouse(MouseEvent {
            kind,
            column: 5,
            row: 5,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.on_terminal(wheel(MouseEventKind::ScrollUp));
    let up = screen(&mut app, 60, 12);
    assert!(up.contains("line 37") && !up.contains("line 40"), "{up}");
    app.on_terminal(wheel(MouseEventKind::ScrollDown));
    assert_eq!(app.buf().scroll, None, "back to live");
    assert!(screen(&mut app, 60, 12).contains("line 40"));
}

/// Every line has a time, status lines and a `/who` answer too; a marker
/// with the date goes where the day changes (history can be days old);
/// the time's format is the configuration's.
#[test]
fn every_line_has_a_time_and_a_marker_shows_where_the_day_changes() {
    const DAY: u64 = 24 * 3_600_000;
    let old = |id: u64, days: u64, text: &str| HistoryEntry {
        ts: NOON - days * DAY + id * 60_000,
        ..entry(id, "bob", text)
    };
    let history = vec![
        old(1, 7, "a week ago"),
        old(2, 1, "yesterday"),
        old(3, 1, "yesterday again"),
    ];
    let mut clock = Clock::utc("%H:%M:%S");
    clock.now = || NOON + 7 * 60_000;
    let mut app = App::new("ws://h:1/", "5d67e3a0c1b2d3e4", &welcome(history), clock);
    app.on_engine(message(4, "carol", "today"));
    app.on_engine(server(ServerEvent::Users {
        room: None,
        users: vec!["ace".into(), "carol".into()],
        members: Vec::new(),
        more: false,
    }));
    app.on_engine(Event::Lost("connection lost: reset".into()));
    let shown = screen(&mut app, 70, 16);
    insta::assert_snapshot!(shown);
    for day in ["Tue 07 Nov 2023", "Mon 13 Nov 2023", "Tue 14 Nov 2023"] {
        assert_eq!(shown.matches(day).count(), 1, "{day}:\n{shown}");
    }
    assert!(shown.contains("12:07:00 -!- online: ace, carol"), "{shown}");
    assert!(shown.contains("12:07:00 -!- connection lost"), "{shown}");
    assert!(shown.contains("12:04:00 <carol> today"), "{shown}");
}

#[test]
fn bell_without_an_argument_shows_the_setting() {
    let mut app = app_with(Vec::new());
    app.bell = crate::tui::app::Bell::All;
    type_text(&mut app, "/bell");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&mut app, 80, 8);
    assert!(
        shown.contains("bell: all (/bell off|mentions|all changes it)"),
        "{shown}"
    );
}

/// A name longer than the user list is wide ends with `…` there; `/whois`
/// (Tab completes the name) shows it whole.
#[test]
fn a_long_name_ends_with_an_ellipsis_and_whois_shows_it_whole() {
    let long = "the_longest_name_anyone_may_pick";
    assert_eq!(long.len(), 32);
    let mut app = app_with(Vec::new());
    app.on_engine(server(ServerEvent::Join {
        room: None,
        name: long.into(),
        online: 5,
        ts: NOON + 60_000,
        identity: None,
        op: false,
    }));
    app.on_engine(message(3, long, "hello"));
    type_text(&mut app, "/whois the_lon");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), format!("/whois {long} "));
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "/whois nobody");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&mut app, 110, 12);
    insta::assert_snapshot!(shown);
    assert!(shown.contains("│ the_longest_name_anyo…"), "{shown}");
    assert!(
        shown.contains(&format!("whois {long}: online, last message here at 12:03")),
        "{shown}"
    );
    assert!(
        shown.contains("whois nobody: not online, and not seen here"),
        "{shown}"
    );
}
