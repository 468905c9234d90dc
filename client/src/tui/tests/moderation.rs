//! Moderation on the full screen: `@` before operators, what the room is
//! told, the bans table, a mute that refused our line, the commands sent;
//! and `/ignore`: messages hidden, counted in the status bar.

use chat_protocol::{Ban, BanTarget, ErrorCode, Identity, IdentityKey, Member, ModerationAction};

use super::*;
use crate::identity::Roster;

fn id_key(seed: u8) -> IdentityKey {
    Identity::from_seed(&[seed; 32]).public()
}

/// The room of `app_with`, carol an operator with an identity, bob with
/// one, ace (us) and dave without.
fn app_with_an_operator() -> App {
    let mut welcome = welcome(Vec::new());
    welcome.members = welcome
        .users
        .iter()
        .map(|name| Member {
            name: name.clone(),
            identity: match name.as_str() {
                "bob" => Some(id_key(2)),
                "carol" => Some(id_key(3)),
                _ => None,
            },
            op: name == "carol",
        })
        .collect();
    app_with(Vec::new()).with_roster(Roster::in_memory(), &welcome)
}

fn told(action: ModerationAction, target: &str, minutes: Option<u64>, reason: &str) -> Event {
    let ts = NOON + 8 * 60_000;
    server(ServerEvent::Moderation {
        room: None,
        action,
        target: target.into(),
        by: Some("carol".into()),
        until: minutes.map(|m| ts + m * 60_000),
        reason: (!reason.is_empty()).then(|| reason.into()),
        ts,
    })
}

#[test]
fn operators_moderation_bans_and_a_mute_of_ours() {
    let mut app = app_with_an_operator();
    app.on_engine(told(ModerationAction::Mute, "bob", Some(10), "flooding"));
    app.on_engine(told(ModerationAction::Kick, "dave", None, "calm down"));
    app.on_engine(server(ServerEvent::Leave {
        room: None,
        name: "dave".into(),
        online: 3,
        reason: "kicked: calm down".into(),
        ts: NOON + 8 * 60_000,
    }));
    app.on_engine(server(ServerEvent::Bans {
        bans: vec![
            Ban {
                target: "mallory".into(),
                reason: None,
                by: None,
                since: NOON - 86_400_000,
                until: None,
            },
            Ban {
                target: "eve".into(),
                reason: Some("spam".into()),
                by: Some("carol".into()),
                since: NOON + 60_000,
                until: Some(NOON + 3_600_000),
            },
        ],
    }));
    app.on_engine(server(ServerEvent::Error {
        room: None,
        code: ErrorCode::Muted,
        message: "muted by carol: flooding".into(),
        until: Some(NOON + 17 * 60_000),
    }));
    app.on_engine(told(ModerationAction::Op, "ace", None, ""));
    let shown = screen(&mut app, 80, 16);
    insta::assert_snapshot!("operators_moderation_bans_and_a_mute", shown);
    assert!(shown.contains("│ @carol ✓"), "{shown}");
    assert!(shown.contains("│  bob ✓"), "{shown}");
    assert!(shown.contains(" @ace · 3 online"), "{shown}");
    assert!(
        !shown.contains("kicked: calm down"),
        "the leave after the kick is told once: {shown}"
    );
}

#[test]
fn the_moderation_commands_are_sent_and_complete_names() {
    let mut app = app_with_an_operator();
    type_text(&mut app, "/ban bob 10m spam");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Action::Send(ClientEvent::Ban {
            target: BanTarget::Name("bob".into()),
            for_secs: Some(600),
            reason: Some("spam".into()),
        })]
    );
    type_text(&mut app, "/mute da");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "/mute dave ", "a name, without a colon");
    app.editor.take();
    type_text(&mut app, "/ban bob 0");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    let shown = screen(&mut app, 120, 8);
    assert!(
        shown.contains("/ban: a length of 0 does nothing"),
        "{shown}"
    );
    type_text(&mut app, "/help");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&mut app, 200, 12);
    assert!(
        shown.contains("operators: /kick NAME [REASON]; /ban NAME"),
        "{shown}"
    );
}

#[test]
fn ignored_messages_are_hidden_and_counted_in_the_status_bar() {
    let mut app = app_with_an_operator();
    type_text(&mut app, "/ignore bob");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    app.on_engine(message(3, "bob", "buy my stuff"));
    app.on_engine(server(ServerEvent::Dm {
        id: 3,
        from: "bob".into(),
        to: "ace".into(),
        text: "psst, buy it".into(),
        ts: NOON + 4 * 60_000,
        cid: None,
    }));
    app.on_engine(message(4, "carol", "welcome back"));
    assert!(!app.ring, "nothing hidden rings");
    let shown = screen(&mut app, 100, 8);
    insta::assert_snapshot!("ignored_messages_hidden", shown);
    assert!(!shown.contains("buy"), "{shown}");
    assert!(shown.contains(" 2 hidden "), "{shown}");
    // bob back under another name with his key: still hidden.
    app.on_engine(server(ServerEvent::Join {
        room: None,
        name: "robert".into(),
        online: 5,
        ts: NOON + 5 * 60_000,
        identity: Some(id_key(2)),
        op: false,
    }));
    app.on_engine(message(5, "robert", "buy it now"));
    type_text(&mut app, "/ignore");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&mut app, 100, 8);
    assert!(!shown.contains("buy it now"), "{shown}");
    assert!(
        shown.contains("robert (identity") && shown.contains("3 hidden in this session"),
        "{shown}"
    );
    type_text(&mut app, "/unignore robert");
    key(&mut app, KeyCode::Enter);
    app.on_engine(message(6, "robert", "sorry"));
    let shown = screen(&mut app, 100, 8);
    assert!(shown.contains("<robert> sorry"), "{shown}");
}

#[test]
fn the_history_of_the_join_leaves_out_what_is_ignored() {
    let mut roster = Roster::in_memory();
    roster.welcome(&welcome(Vec::new()));
    roster.ignore("bob").unwrap();
    let welcome = welcome(vec![entry(1, "bob", "spam spam"), entry(2, "carol", "hi")]);
    let mut app = app_with(welcome.history.clone()).with_roster(roster, &welcome);
    let shown = screen(&mut app, 80, 8);
    assert!(
        !shown.contains("spam") && shown.contains("<carol> hi"),
        "{shown}"
    );
    assert!(shown.contains("1 hidden"), "{shown}");
}
