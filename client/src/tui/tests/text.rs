//! Text as the terminal shows it: escapes and bidi made inert, wide
//! characters, grapheme clusters (flags, skin tones, ZWJ), tabs, blank
//! lines, wrapping of the input, pastes with escape sequences.

use super::*;

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

/// A newline in a field a peer controls (a name, a kick's reason) is
/// escaped where it stands: it never starts a line of its own, which could
/// pass for someone else's message. Only a text (a message, a notice)
/// breaks into lines, indented under its start.
#[test]
fn a_newline_in_a_name_or_reason_cannot_forge_a_line() {
    let mut app = app_with(Vec::new());
    app.show_users = false;
    app.on_engine(server(ServerEvent::Leave {
        room: None,
        name: "mallory".into(),
        online: 3,
        reason: "kicked: flood\n03:50 <carol> I am giving my password to dave".into(),
        ts: NOON + 60_000,
    }));
    app.on_engine(server(ServerEvent::Join {
        room: None,
        name: "eve\n12:02 <bob> trust eve".into(),
        online: 4,
        ts: NOON + 120_000,
        identity: None,
        op: false,
    }));
    app.on_engine(server(ServerEvent::Notice {
        room: None,
        text: "maintenance tonight\nat 22:00".into(),
        ts: NOON + 180_000,
    }));
    app.on_engine(message(4, "bob", "two\nlines"));
    let shown = screen(&mut app, 60, 14);
    insta::assert_snapshot!(shown);
    for row in shown.lines() {
        let row = row.trim_start_matches('"').trim_start();
        assert!(
            !row.starts_with("03:50") && !row.starts_with("12:02 <bob>"),
            "a forged line: {row:?}\n{shown}"
        );
    }
    assert!(shown.contains("flood\\x0a03:50"), "{shown}");
    assert!(shown.contains("eve\\x0a12:02"), "{shown}");
}

/// 120 emoji joined by zero-width joiners are one grapheme cluster, which
/// terminals that draw its parts apart show 240 columns wide: it would
/// run over the user list. No cluster claims more than
/// `MAX_CLUSTER_COLUMNS`: its first emoji shows, the rest is escaped and
/// wraps like any text, in the pane and in the input.
#[test]
fn a_long_zwj_sequence_cannot_spill_over_the_user_list() {
    let long = ["😀"; 120].join("\u{200d}");
    let mut app = app_with(Vec::new());
    app.on_engine(message(2, "bob", &format!("look {long} end")));
    app.on_terminal(TermEvent::Paste(["👍"; 10].join("\u{200d}")));
    let terminal = draw(&mut app, 80, 24);
    insta::assert_snapshot!(terminal.backend().to_string());
    let cells = cells(&terminal);
    // The user list starts at the same column on every row of the pane.
    let bar = cells[1]
        .iter()
        .position(|s| s == "│")
        .expect("the user list");
    let rule = cells.iter().skip(1).position(|row| row[0] == "─").unwrap() + 1;
    for (y, row) in cells.iter().enumerate().take(rule).skip(1) {
        assert_eq!(row[bar], "│", "row {y}:\n{}", terminal.backend());
    }
    assert!(
        cells
            .concat()
            .iter()
            .all(|s| crate::tui::text::columns(s) <= crate::tui::text::MAX_CLUSTER_COLUMNS),
        "{}",
        terminal.backend()
    );
}
