//! Identities on the full screen: the `✓` of a verified identity, the
//! warning about a name back with another key (in the pane, standing out,
//! ringing), and `/whois`.

use chat_protocol::{Identity, IdentityKey, Member};
use ratatui::style::Color;

use super::*;
use crate::identity::Roster;

fn id_key(seed: u8) -> IdentityKey {
    Identity::from_seed(&[seed; 32]).public()
}

/// The room of `app_with`, from a server that says who proved what: ace
/// and bob with identities, carol and dave without.
fn app_with_identities() -> App {
    let mut welcome = welcome(Vec::new());
    welcome.members = welcome
        .users
        .iter()
        .map(|name| Member {
            name: name.clone(),
            identity: match name.as_str() {
                "ace" => Some(id_key(1)),
                "bob" => Some(id_key(2)),
                _ => None,
            },
            op: false,
        })
        .collect();
    let app = app_with(Vec::new()).with_roster(Roster::in_memory(), &welcome);
    assert!(!app.ring, "nothing to warn about");
    app
}

#[test]
fn a_verified_identity_is_marked_in_the_user_list_and_the_status_bar() {
    let mut app = app_with_identities();
    let shown = screen(&mut app, 80, 8);
    assert!(shown.contains("│ bob ✓"), "{shown}");
    assert!(shown.contains("│ carol "), "{shown}");
    assert!(!shown.contains("carol ✓"), "{shown}");
    assert!(shown.contains(" ace ✓ · 4 online"), "{shown}");
}

#[test]
fn a_name_back_with_another_key_gets_a_warning_that_stands_out() {
    let mut app = app_with_identities();
    let leave = ServerEvent::Leave {
        room: None,
        name: "bob".into(),
        online: 3,
        reason: "left".into(),
        ts: NOON + 60_000,
    };
    app.on_engine(server(leave));
    app.on_engine(server(ServerEvent::Join {
        room: None,
        name: "bob".into(),
        online: 4,
        ts: NOON + 120_000,
        identity: Some(id_key(3)),
        op: false,
    }));
    assert!(app.ring, "the bell rings");
    let terminal = draw(&mut app, 100, 12);
    let shown = terminal.backend().to_string();
    let fingerprint = id_key(3).fingerprint().to_string();
    assert!(
        shown.contains(&format!("!!! WARNING: bob has identity {fingerprint}")),
        "{shown}"
    );
    // The join line first, then the warning, in white on red.
    let buffer = terminal.backend().buffer();
    let row = (0..buffer.area.height)
        .find(|&y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .contains("!!! WARNING")
        })
        .expect("the warning's row");
    let joined = shown.find("bob joined").expect("the join line");
    assert!(joined < shown.find("!!! WARNING").unwrap(), "{shown}");
    let start = (0..buffer.area.width)
        .find(|&x| buffer[(x, row)].symbol() == "!")
        .unwrap();
    assert_eq!(buffer[(start, row)].bg, Color::Red);
    assert!(buffer[(start, row)].modifier.contains(Modifier::BOLD));
    // The user list marks the new identity as verified (by the server).
    assert!(shown.contains("│ bob ✓"), "{shown}");
}

#[test]
fn whois_shows_the_fingerprint_and_what_this_client_saw() {
    let mut app = app_with_identities();
    type_text(&mut app, "/whois bob");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    let shown = screen(&mut app, 120, 12);
    let fingerprint = id_key(2).fingerprint().to_string();
    assert!(
        shown.contains(&format!("bob: identity {fingerprint}")),
        "{shown}"
    );
    assert!(shown.contains("first seen"), "{shown}");
    type_text(&mut app, "/whois carol");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&mut app, 120, 12);
    assert!(shown.contains("carol: no identity"), "{shown}");
}

#[test]
fn identity_add_is_sent_and_its_answer_shown() {
    let mut app = app_with_identities();
    type_text(&mut app, &format!("/identity add {}", id_key(4)));
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Action::Send(ClientEvent::IdentityAdd { key: id_key(4) })]
    );
    app.on_engine(server(ServerEvent::Identities {
        name: "ace".into(),
        keys: vec![id_key(1), id_key(4)],
    }));
    let shown = screen(&mut app, 160, 12);
    assert!(
        shown.contains(&format!(
            "identities registered to your name now: {} ({})",
            id_key(1).fingerprint(),
            id_key(1)
        )),
        "{shown}"
    );
}
