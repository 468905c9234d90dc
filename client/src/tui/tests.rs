//! Render tests: the real [`App`], fed keys and engine events, drawn on
//! ratatui's `TestBackend` and compared with snapshot files (insta, in
//! `snapshots/`). Timestamps use a fixed UTC clock so that the files do
//! not depend on the machine's time zone.

use chat_protocol::{ClientEvent, HistoryEntry, RateLimit, ServerEvent, Welcome};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use tokio::time::Instant;

use super::app::{Action, App};
use super::view;
use crate::engine::{Event, Link};

mod drawing;
mod input;
mod presence;

/// 12:00 UTC, and a minute per 60 000 ms after it.
const NOON: u64 = 1_699_963_200_000;

fn utc_clock(ts: u64) -> String {
    format!("{:02}:{:02}", (ts / 3_600_000) % 24, (ts / 60_000) % 60)
}

fn entry(id: u64, from: &str, text: &str) -> HistoryEntry {
    HistoryEntry {
        id,
        from: from.into(),
        text: text.into(),
        ts: NOON + id * 60_000,
        action: false,
        cid: None,
    }
}

fn welcome(history: Vec<HistoryEntry>) -> Welcome {
    Welcome {
        name: "ace".into(),
        users: vec!["ace".into(), "bob".into(), "carol".into(), "dave".into()],
        history,
        motd: None,
        rate: RateLimit {
            burst: 10,
            per_second: 5,
        },
        max_text: 4096,
        server: "chatd".into(),
        gap: false,
        last_id: None,
    }
}

fn app_with(history: Vec<HistoryEntry>) -> App {
    let mut app = App::new(
        "ws://chat.example.org:1719/",
        "5d67e3a0c1b2d3e4",
        &welcome(history),
    );
    app.clock = utc_clock;
    app.now = || NOON + 7 * 60_000;
    app.color = true;
    app
}

fn server(event: ServerEvent) -> Event {
    Event::Server {
        event,
        raw: Vec::new(),
    }
}

fn message(id: u64, from: &str, text: &str) -> Event {
    server(ServerEvent::Message(entry(id, from, text)))
}

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, app)).unwrap();
    terminal
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    draw(app, width, height).backend().to_string()
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Action> {
    app.on_terminal(TermEvent::Key(KeyEvent::new(code, modifiers)))
}

fn key(app: &mut App, code: KeyCode) -> Vec<Action> {
    press(app, code, KeyModifiers::NONE)
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Types `text` and Enter, and does what the runner does with a send;
/// the sequence number it got.
fn send(app: &mut App, text: &str, seq: u64) {
    type_text(app, text);
    match key(app, KeyCode::Enter).as_slice() {
        [Action::Send(event)] => app.add_pending(seq, event),
        other => panic!("{text:?} gave {other:?}"),
    }
}

/// The sketch of DESIGN.md: history, live, a mention, an action, a DM, a
/// notice and a pending line.
fn busy_room() -> App {
    let mut app = app_with(vec![entry(1, "bob", "morning")]);
    app.on_engine(server(ServerEvent::Join {
        name: "erin".into(),
        online: 5,
        ts: NOON + 120_000,
    }));
    app.on_engine(message(3, "carol", "hi all, ace: the build is green"));
    app.on_engine(server(ServerEvent::Message(HistoryEntry {
        action: true,
        ..entry(4, "bob", "waves")
    })));
    app.on_engine(server(ServerEvent::Dm {
        id: 5,
        from: "bob".into(),
        to: "ace".into(),
        text: "psst".into(),
        ts: NOON + 300_000,
        cid: None,
    }));
    app.on_engine(server(ServerEvent::Notice {
        text: "maintenance at 13:00".into(),
        ts: NOON + 360_000,
    }));
    send(&mut app, "thanks!", 1);
    app
}

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
        name: "erin".into(),
        online: 5,
        ts: NOON,
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
    assert!(app.scroll.is_some(), "End moved the cursor, not the pane");
    press(&mut app, KeyCode::End, KeyModifiers::CONTROL);
    assert_eq!(app.scroll, None, "Ctrl-End: live");
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
    let bottom = app.scroll.expect("scrolled");
    let after = screen(&mut app, 50, 16);
    assert_eq!(
        app.scroll,
        Some(bottom),
        "the same line stays at the bottom"
    );
    assert!(before.contains("> half typed") && after.contains("> half typed"));
}

#[test]
fn escape_sequences_and_bidi_overrides_are_inert() {
    let mut app = app_with(Vec::new());
    app.on_engine(message(
        2,
        "mallory",
        "\x1b]0;pwned\x07\x1b[2J\u{202e}evil\u{2066}\u{9b}31m\rover\n-!- bob left",
    ));
    let mut terminal = draw(&mut app, 80, 8);
    insta::assert_snapshot!(terminal.backend().to_string());
    let buffer = terminal.backend_mut().buffer().clone();
    for cell in buffer.content() {
        assert!(
            !cell.symbol().chars().any(crate::escape::is_unsafe),
            "{:?}",
            cell.symbol()
        );
    }
}

#[test]
fn wide_characters_take_two_columns_and_wrap_whole() {
    let mut app = app_with(Vec::new());
    app.on_engine(message(
        2,
        "bob",
        "中文字符测试，宽字符换行。😀👋 emoji 和汉字混合的一行很长的文字",
    ));
    insta::assert_snapshot!(screen(&mut app, 40, 8));
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
    for id in 0..(super::app::SCROLLBACK_MAX as u64 + 10) {
        app.on_engine(message(id, "bob", "x"));
    }
    assert!(app.lines.len() <= super::app::SCROLLBACK_MAX);
    assert_eq!(
        app.lines.last().unwrap().entry.id,
        Some(super::app::SCROLLBACK_MAX as u64 + 9)
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
    assert_eq!(app.scroll, None, "back to live");
    assert!(screen(&mut app, 60, 12).contains("line 40"));
}

/// Every cell's symbol, row by row, without the erase that goes before
/// an uncertain cluster (see `text::settle`).
fn cells(terminal: &Terminal<TestBackend>) -> Vec<Vec<String>> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| {
                    let symbol = buffer[(x, y)].symbol();
                    match symbol.strip_prefix("\x1b[") {
                        Some(rest) => rest.split_once('X').map_or(rest, |(_, s)| s).to_owned(),
                        None => symbol.to_owned(),
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn flags_skin_tones_and_accents_stay_whole_at_every_width() {
    let text = "flags 🇩🇪🇯🇵🇫🇷 and 👍🏽👍🏽👋🏿 and cafe\u{301} 🇩🇪🇯🇵🇫🇷🇮🇹 then 👍🏽👍🏽👍🏽 end";
    for width in 20..=44 {
        let mut app = app_with(Vec::new());
        app.show_users = false;
        app.on_engine(message(2, "bob", text));
        let terminal = draw(&mut app, width, 12);
        let symbols: Vec<String> = cells(&terminal).concat();
        let lone = |s: &str| {
            let mut chars = s.chars();
            let first = chars.next();
            chars.next().is_none()
                && first.is_some_and(|c| {
                    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
                        || ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
                })
        };
        assert!(
            !symbols.iter().any(|s| lone(s)),
            "at {width}: a flag or a skin tone cut in two:\n{}",
            terminal.backend()
        );
        let count = |needle: &str| symbols.iter().filter(|s| *s == needle).count();
        assert_eq!(count("👍🏽"), 5, "at {width}:\n{}", terminal.backend());
        assert_eq!(count("🇩🇪"), 2, "at {width}:\n{}", terminal.backend());
        assert_eq!(count("e\u{301}"), 1, "at {width}:\n{}", terminal.backend());
        assert_eq!(count("👋🏿"), 1, "at {width}:\n{}", terminal.backend());
    }
}

#[test]
fn the_input_cursor_counts_clusters_as_ratatui_draws_them() {
    let mut app = app_with(Vec::new());
    type_text(&mut app, "👍🏽🇩🇪x");
    let mut terminal = draw(&mut app, 40, 8);
    let cursor = terminal.get_cursor_position().unwrap();
    // "> ", the thumb with its skin tone in the room of its wider reading
    // (4: tmux draws it so), the flag (2), the x.
    assert_eq!(cursor.x, 9, "{}", terminal.backend());
    let input: Vec<String> = cells(&terminal)[7].clone();
    assert_eq!(input[2], "👍🏽");
    assert_eq!(input[6], "🇩🇪");
    assert_eq!(input[8], "x");
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Left);
    let mut terminal = draw(&mut app, 40, 8);
    assert_eq!(
        terminal.get_cursor_position().unwrap().x,
        6,
        "Left steps over the whole flag"
    );
}

#[test]
fn a_tab_shows_as_spaces_to_the_next_stop() {
    let mut app = app_with(Vec::new());
    app.on_engine(message(2, "bob", "tab\there\tand\tmore"));
    let shown = screen(&mut app, 80, 8);
    assert!(
        shown.contains("<bob> tab     here    and     more"),
        "{shown}"
    );
}

#[test]
fn blank_lines_are_collapsed_and_the_sender_stays_in_sight() {
    let mut app = app_with(Vec::new());
    app.on_engine(message(
        2,
        "bob",
        &format!(
            "{}text\n\n\n\nafter a gap{}",
            "\n".repeat(30),
            "\n \n".repeat(20)
        ),
    ));
    let shown = screen(&mut app, 60, 12);
    insta::assert_snapshot!(shown);
    assert!(shown.contains("<bob> text"), "{shown}");
}

#[test]
fn the_input_wraps_between_words() {
    let mut app = app_with(Vec::new());
    type_text(
        &mut app,
        "the quick brown fox jumps over the lazy dog again and again",
    );
    let mut terminal = draw(&mut app, 20, 10);
    let rows: Vec<String> = cells(&terminal)
        .into_iter()
        .map(|row| row.concat())
        .skip_while(|row| !row.starts_with("> "))
        .collect();
    insta::assert_snapshot!(rows.join("\n"));
    for row in &rows[1..] {
        assert!(
            !row[2..].starts_with(' '),
            "a row starts with the space: {rows:?}"
        );
    }
    let words: Vec<&str> = rows.iter().flat_map(|r| r.split_whitespace()).collect();
    assert_eq!(
        words.join(" "),
        "> the quick brown fox jumps over the lazy dog again and again",
        "no word cut: {rows:?}"
    );
    let cursor = terminal.get_cursor_position().unwrap();
    assert_eq!(
        cursor.x as usize,
        rows.last().unwrap().trim_end().chars().count(),
        "the cursor after the text"
    );
}

#[test]
fn while_reconnecting_who_is_online_is_shown_as_stale_until_the_welcome() {
    let mut app = busy_room();
    app.on_engine(Event::Lost(
        "connection lost: the server closed the connection".into(),
    ));
    app.link = Link::Joining;
    let terminal = draw(&mut app, 80, 12);
    let shown = terminal.backend().to_string();
    assert!(shown.contains("? online"), "{shown}");
    assert!(!shown.contains("5 online ·"), "{shown}");
    assert!(shown.contains("(as of 12:07)"), "{shown}");
    let buffer = terminal.backend().buffer();
    let rows = cells(&terminal);
    let (y, row) = rows
        .iter()
        .enumerate()
        .find(|(_, row)| row.concat().contains("│ carol"))
        .expect("carol in the list");
    let x = row.concat().find("carol").unwrap();
    let x = row.concat()[..x].chars().count() as u16;
    assert!(
        buffer[(x, y as u16)].modifier.contains(Modifier::DIM),
        "the old list is dimmed"
    );

    let mut welcome = welcome(Vec::new());
    welcome.users = vec!["ace".into(), "bob".into()];
    app.on_engine(Event::Rejoined {
        welcome,
        gap: false,
        url: "ws://chat.example.org:1719/".into(),
    });
    app.link = Link::Up;
    let shown = screen(&mut app, 80, 12);
    assert!(shown.contains("2 online"), "{shown}");
    assert!(
        !shown.contains("as of") && !shown.contains("carol "),
        "{shown}"
    );
}

#[test]
fn a_paste_with_escape_sequences_says_what_it_left_out() {
    let mut app = app_with(Vec::new());
    let actions = app.on_terminal(TermEvent::Paste(
        "red \x1b[31malert\x1b[0m \u{202e}txt".into(),
    ));
    assert!(actions.is_empty(), "nothing is sent by a paste");
    assert_eq!(app.editor.text(), "red [31malert[0m txt");
    let shown = screen(&mut app, 100, 8);
    assert!(
        shown.contains(
            "left 3 control characters out of the paste: \\x1b ×2, \\u{202e} (check the input"
        ),
        "{shown}"
    );
    // A clean paste says nothing.
    app.on_terminal(TermEvent::Paste("plain\ttext".into()));
    assert_eq!(
        screen(&mut app, 100, 8).matches("out of the paste").count(),
        1
    );
}

#[test]
fn an_uncertain_cluster_erases_its_room_and_the_diff_leaves_it_alone() {
    use ratatui::buffer::CellDiffOption;
    let mut app = app_with(Vec::new());
    app.show_users = false;
    app.on_engine(message(2, "bob", "a 👍🏽 b"));
    let terminal = draw(&mut app, 40, 6);
    let buffer = terminal.backend().buffer();
    let (x, y) = (0..6u16)
        .flat_map(|y| (0..40u16).map(move |x| (x, y)))
        .find(|&(x, y)| buffer[(x, y)].symbol().ends_with("👍🏽"))
        .expect("the thumb");
    assert_eq!(buffer[(x, y)].symbol(), "\x1b[4X👍🏽");
    assert_eq!(
        buffer[(x, y)].diff_option,
        CellDiffOption::ForcedWidth(std::num::NonZeroU16::new(4).unwrap())
    );
    assert_eq!(buffer[(x + 4, y)].symbol(), " ");
    assert_eq!(buffer[(x + 5, y)].symbol(), "b");
    assert_eq!(app.uncertain_rows, [y], "drawn whole on the next frame too");
}

#[test]
fn a_zwj_sequence_shows_whole_in_the_pane_and_the_input() {
    let family = "👨\u{200d}👩\u{200d}👧";
    let mut app = app_with(Vec::new());
    app.on_engine(message(2, "bob", &format!("the {family} came")));
    app.on_terminal(TermEvent::Paste(format!("hi {family}")));
    assert_eq!(app.editor.text(), format!("hi {family}"));
    let terminal = draw(&mut app, 60, 8);
    let symbols: Vec<String> = cells(&terminal).concat();
    assert_eq!(
        symbols.iter().filter(|s| *s == family).count(),
        2,
        "one cell each in the pane and the input:\n{}",
        terminal.backend()
    );
    assert!(!symbols.concat().contains("200d"), "{}", terminal.backend());
}
