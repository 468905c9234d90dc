//! Search in the scrollback (Ctrl-R, `/search`) and `/lastlog`.

use super::*;

/// Forty lines, three of which mention a deploy.
fn room_with_deploys() -> App {
    let mut app = app_with(Vec::new());
    for id in 1..=40 {
        let text = match id {
            5 => "deploy 41 is out".to_owned(),
            18 => "who broke the DEPLOY?".to_owned(),
            33 => "deploy 42 tonight".to_owned(),
            _ => format!("line {id}"),
        };
        app.on_engine(message(id, ["bob", "carol"][id as usize % 2], &text));
    }
    app
}

#[test]
fn ctrl_r_finds_as_you_type_and_steps_to_older_and_newer_matches() {
    let mut app = room_with_deploys();
    screen(&mut app, 70, 12);
    type_text(&mut app, "a draft");
    press(&mut app, KeyCode::Char('r'), KeyModifiers::CONTROL);
    type_text(&mut app, "deploy");
    let newest = screen(&mut app, 70, 12);
    insta::assert_snapshot!("search_newest", newest);
    assert!(
        newest.contains("deploy 42 tonight") && newest.contains("1 of 3"),
        "{newest}"
    );
    assert!(newest.contains("(search) deploy"), "{newest}");
    // What was found stands out; the rest of the line does not.
    let terminal = draw(&mut app, 70, 12);
    let buffer = terminal.backend().buffer();
    let y = (0..12)
        .find(|&y| {
            (0..70)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
                .contains("deploy 42")
        })
        .unwrap();
    let x = (0..70)
        .map(|x| buffer[(x, y)].symbol().to_owned())
        .collect::<String>()
        .find("deploy 42")
        .unwrap() as u16;
    assert_eq!(buffer[(x, y)].bg, ratatui::style::Color::Cyan);
    assert_ne!(buffer[(x + 7, y)].bg, ratatui::style::Color::Cyan);
    press(&mut app, KeyCode::Char('r'), KeyModifiers::CONTROL);
    let older = screen(&mut app, 70, 12);
    assert!(
        older.contains("who broke the DEPLOY?") && older.contains("2 of 3"),
        "{older}"
    );
    press(&mut app, KeyCode::Char('r'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Char('r'), KeyModifiers::CONTROL);
    let oldest = screen(&mut app, 70, 12);
    assert!(
        oldest.contains("deploy 41 is out") && oldest.contains("3 of 3"),
        "{oldest}"
    );
    press(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(screen(&mut app, 70, 12).contains("2 of 3"));
    // Esc: back to live, the draft as it was.
    key(&mut app, KeyCode::Esc);
    assert!(app.search.is_none() && app.buf().scroll.is_none());
    assert_eq!(app.editor.text(), "a draft");
    assert!(screen(&mut app, 70, 12).contains("line 40"));
}

#[test]
fn slash_search_jumps_and_enter_stays_there() {
    let mut app = room_with_deploys();
    screen(&mut app, 70, 12);
    type_text(&mut app, "/search broke");
    key(&mut app, KeyCode::Enter);
    assert!(app.editor.is_empty());
    let found = screen(&mut app, 70, 12);
    assert!(
        found.contains("who broke the DEPLOY?") && found.contains("1 of 1"),
        "{found}"
    );
    key(&mut app, KeyCode::Enter);
    assert!(app.search.is_none());
    let stayed = screen(&mut app, 70, 12);
    assert!(
        stayed.contains("who broke") && stayed.contains("more below"),
        "{stayed}"
    );
    // A paste goes into the query, not the input.
    press(&mut app, KeyCode::Char('r'), KeyModifiers::CONTROL);
    app.on_terminal(TermEvent::Paste("41 is\n".into()));
    assert!(screen(&mut app, 70, 12).contains("(search) 41 is"));
    assert!(app.editor.is_empty());
    key(&mut app, KeyCode::Esc);
    // Nothing found: said so, and the pane does not move.
    press(&mut app, KeyCode::End, KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Char('r'), KeyModifiers::CONTROL);
    type_text(&mut app, "nowhere");
    let none = screen(&mut app, 70, 12);
    assert!(
        none.contains("no match") && none.contains("line 40"),
        "{none}"
    );
}

#[test]
fn lastlog_prints_the_matching_lines_at_the_bottom() {
    let mut app = room_with_deploys();
    type_text(&mut app, "/lastlog deploy");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&mut app, 70, 12);
    insta::assert_snapshot!("lastlog", shown);
    assert!(
        shown.contains("lastlog: 3 lines matching \"deploy\""),
        "{shown}"
    );
    assert!(shown.contains("end of lastlog"), "{shown}");
    for text in [
        "deploy 41 is out",
        "who broke the DEPLOY?",
        "deploy 42 tonight",
    ] {
        assert_eq!(shown.matches(text).count(), 1, "{shown}");
    }
}
