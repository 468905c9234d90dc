//! Presence summaries: the line and the count in the status bar, and the
//! refresh of the user list they call for.

use std::cell::Cell;

use super::*;
use crate::tui::app::USERS_REFRESH_MS;

thread_local! {
    /// The app's clock in these tests (Unix ms), moved by hand.
    static NOW: Cell<u64> = const { Cell::new(NOON) };
}

fn summary(joined: usize, left: usize, online: usize) -> Event {
    server(ServerEvent::Presence {
        room: None,
        joined,
        left,
        online,
        ts: NOON + 120_000,
    })
}

fn app_on_a_hand_clock() -> App {
    let mut app = app_with(Vec::new());
    app.clock.now = || NOW.with(Cell::get);
    app
}

#[test]
fn a_summary_is_one_line_and_the_status_bar_counts_it() {
    let mut app = app_with(Vec::new());
    app.on_engine(summary(12, 3, 1004));
    insta::assert_snapshot!("presence_summary", screen(&mut app, 80, 10));
    let shown = screen(&mut app, 80, 10);
    assert!(
        shown.contains("-!- 12 joined, 3 left (1004 online)"),
        "{shown}"
    );
    assert!(shown.contains(" ace · 1004 online · "), "{shown}");
}

#[test]
fn a_summary_asks_for_the_user_list_at_most_once_an_interval() {
    let mut app = app_on_a_hand_clock();
    assert!(
        app.wants_users().is_none(),
        "nothing to refresh before a summary"
    );
    app.on_engine(summary(2, 0, 6));
    assert_eq!(app.wants_users(), Some(None));
    assert!(app.wants_users().is_none(), "asked once");
    // Another summary within the interval waits for its end.
    app.on_engine(summary(1, 1, 6));
    assert!(app.wants_users().is_none());
    NOW.with(|now| now.set(NOON + USERS_REFRESH_MS));
    assert_eq!(app.wants_users(), Some(None));
    // The answer replaces the list and the count, and shows no line.
    let lines = app.buf().lines.len();
    let users: Vec<String> = ["ace", "bob", "carol", "erin", "fay", "gus"]
        .map(String::from)
        .to_vec();
    app.on_engine(Event::Users(None, users.clone(), Vec::new()));
    assert_eq!(app.buf().users, users);
    assert_eq!(app.buf().online, 6);
    assert_eq!(app.buf().lines.len(), lines, "a refresh shows nothing");
}

#[test]
fn a_rejoin_needs_no_refresh() {
    let mut app = app_on_a_hand_clock();
    app.on_engine(summary(2, 0, 6));
    app.on_engine(Event::Lost("connection lost".into()));
    app.on_engine(Event::Rejoined {
        welcome: welcome(Vec::new()),
        gap: false,
        url: "ws://127.0.0.1:1/".into(),
    });
    assert!(
        app.wants_users().is_none(),
        "the welcome said who is online"
    );
    assert_eq!(app.buf().online, 4);
}

/// A Welcome whose lists come in pages (`more`): the first part shows
/// with its count as a lower bound, and the whole list the engine reads
/// after it replaces it.
#[test]
fn a_welcome_with_more_shows_its_part_then_the_whole_list() {
    let mut first = welcome(Vec::new());
    first.users.truncate(2);
    first.more = true;
    let mut clock = Clock::utc("%H:%M");
    clock.now = || NOON + 7 * 60_000;
    let mut app = App::new(
        "ws://chat.example.org:1719/",
        "5d67e3a0c1b2d3e4",
        &first,
        clock,
    );
    let shown = screen(&mut app, 80, 10);
    assert!(shown.contains("joined as ace (2+ online)"), "{shown}");
    assert_eq!(app.buf().users, ["ace", "bob"]);
    let everyone: Vec<String> = ["ace", "bob", "carol", "dave", "erin"]
        .map(String::from)
        .to_vec();
    app.on_engine(Event::Users(None, everyone.clone(), Vec::new()));
    assert_eq!(app.buf().users, everyone);
    assert_eq!(app.buf().online, 5);
}
