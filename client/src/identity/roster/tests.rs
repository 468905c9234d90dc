use chat_protocol::{Identity, RateLimit};

use super::*;

fn key(seed: u8) -> IdentityKey {
    Identity::from_seed(&[seed; 32]).public()
}

fn member(name: &str, identity: Option<IdentityKey>) -> Member {
    Member {
        name: name.into(),
        identity,
        op: false,
    }
}

fn welcome(members: Vec<Member>) -> Welcome {
    Welcome {
        default_room: None,
        rooms: Vec::new(),
        topic: None,
        name: "ace".into(),
        users: members.iter().map(|m| m.name.clone()).collect(),
        members,
        more: false,
        history: Vec::new(),
        gap: false,
        resumed: false,
        last_id: None,
        motd: None,
        rate: RateLimit {
            burst: 10,
            per_second: 5,
        },
        max_text: 4096,
        server: String::new(),
    }
}

fn join(name: &str, identity: Option<IdentityKey>) -> ServerEvent {
    ServerEvent::Join {
        room: None,
        name: name.into(),
        online: 2,
        ts: 1,
        identity,
        op: false,
    }
}

fn leave(name: &str) -> ServerEvent {
    ServerEvent::Leave {
        room: None,
        name: name.into(),
        online: 1,
        reason: "left".into(),
        ts: 1,
    }
}

#[test]
fn a_name_back_with_another_key_or_none_is_warned_about() {
    let mut roster = Roster::in_memory();
    let alerts = roster.welcome(&welcome(vec![
        member("ace", Some(key(1))),
        member("bob", Some(key(2))),
    ]));
    assert_eq!(alerts, []);
    assert!(roster.verified("BOB") && roster.verified("ace"));

    roster.event(&leave("bob"));
    assert!(!roster.verified("bob"));
    assert_eq!(roster.event(&join("bob", Some(key(2)))), []);
    roster.event(&leave("bob"));
    assert_eq!(
        roster.event(&join("Bob", Some(key(3)))),
        [Alert::NewKey {
            name: "Bob".into(),
            key: key(3),
            before: vec![key(2)],
        }]
    );
    // Said once: the new key is recorded.
    roster.event(&leave("bob"));
    assert_eq!(roster.event(&join("bob", Some(key(3)))), []);
    roster.event(&leave("bob"));
    let alerts = roster.event(&join("bob", None));
    assert!(
        matches!(&alerts[..], [Alert::NoKey { name, before }] if name == "bob" && before.len() == 2),
        "{alerts:?}"
    );
    assert!(!roster.verified("bob"));
    // Never about ourselves; bob listed without one again is said again.
    let alerts = roster.users(
        &["ace".into(), "bob".into()],
        &[member("ace", Some(key(9))), member("bob", None)],
    );
    let [Alert::NoKey { name, before }] = &alerts[..] else {
        panic!("{alerts:?}");
    };
    assert_eq!(name, "bob");
    let mut before = before.clone();
    before.sort();
    let mut expected = vec![key(2), key(3)];
    expected.sort();
    assert_eq!(before, expected);
}

#[test]
fn a_server_without_identities_warns_about_nothing() {
    let mut roster = Roster::in_memory();
    let mut old = welcome(vec![]);
    old.users = vec!["ace".into(), "bob".into()];
    assert_eq!(roster.welcome(&old), []);
    assert_eq!(roster.event(&join("carol", None)), []);
    assert!(!roster.verified("bob"));
    let whois = roster.whois("bob");
    assert_eq!(
        whois[0],
        "bob: online, this server does not show identities"
    );
    assert!(roster.whois("zed")[0].ends_with("not online"));
}

#[test]
fn whois_shows_the_fingerprint_and_what_was_seen_when() {
    fn noon() -> u64 {
        1_699_963_200_000
    }
    let mut roster = Roster::in_memory().with_clock(noon);
    roster.welcome(&welcome(vec![
        member("ace", None),
        member("bob", Some(key(2))),
    ]));
    let lines = roster.whois("BOB");
    let fingerprint = key(2).fingerprint().to_string();
    assert!(lines[0].starts_with("BOB: online, identity "), "{lines:?}");
    assert!(lines[0].contains(&fingerprint), "{lines:?}");
    assert!(lines[0].contains(&key(2).to_string()), "{lines:?}");
    let date = crate::render::date(noon());
    assert!(
        lines[2].contains(&format!("first seen {date}, last seen {date}")),
        "{lines:?}"
    );
    assert_eq!(roster.whois("ace")[0], "ace: online, no identity");
    assert_eq!(roster.identity_lines("ace")[0], "ace: no identity");
    assert!(roster.identity_lines("zed").is_empty(), "nothing to say");
    let bob = roster.identity_lines("bob");
    assert!(bob[0].starts_with("bob: identity "), "{bob:?}");
    assert!(bob[2].contains("first seen"), "{bob:?}");
    assert!(roster.whois("ace")[1].contains("has seen no identity"));
}

fn told(action: ModerationAction, target: &str) -> ServerEvent {
    ServerEvent::Moderation {
        room: None,
        action,
        target: target.into(),
        by: Some("carol".into()),
        until: None,
        reason: Some("spam".into()),
        ts: 1,
    }
}

#[test]
fn operators_are_known_from_members_joins_and_op_deop() {
    let mut roster = Roster::in_memory();
    let mut carol = member("carol", Some(key(3)));
    carol.op = true;
    roster.welcome(&welcome(vec![member("ace", None), carol]));
    assert!(roster.operator("Carol") && !roster.operator("ace"));
    assert!(roster.any_operator());
    roster.event(&ServerEvent::Join {
        room: None,
        name: "dave".into(),
        online: 3,
        ts: 1,
        identity: Some(key(4)),
        op: true,
    });
    assert!(roster.operator("dave"));
    roster.event(&told(ModerationAction::Deop, "dave"));
    roster.event(&told(ModerationAction::Deop, "carol"));
    assert!(!roster.operator("dave") && !roster.any_operator());
    roster.event(&told(ModerationAction::Op, "ace"));
    assert!(roster.operator("ace"));
    roster.event(&leave("ace"));
    assert!(!roster.operator("ace"), "gone: no longer marked");
}

#[test]
fn the_leave_after_a_kick_or_ban_is_shown_without_its_reason() {
    let mut roster = Roster::in_memory();
    roster.welcome(&welcome(vec![member("ace", None), member("bob", None)]));
    let kicked = ServerEvent::Leave {
        room: None,
        name: "bob".into(),
        online: 1,
        reason: "kicked: spam".into(),
        ts: 2,
    };
    // A leave the room was not told of keeps its reason.
    assert_eq!(roster.shown(&kicked), None);
    assert_eq!(roster.shown(&told(ModerationAction::Kick, "Bob")), None);
    let Some(ServerEvent::Leave { reason, name, .. }) = roster.shown(&kicked) else {
        panic!("the leave is shortened");
    };
    assert_eq!((name.as_str(), reason.as_str()), ("bob", ""));
    assert_eq!(roster.shown(&kicked), None, "once");
    // A ban of someone not online is followed by no leave: nothing kept.
    assert_eq!(roster.shown(&told(ModerationAction::Ban, "mallory")), None);
    let later = ServerEvent::Leave {
        room: None,
        name: "mallory".into(),
        online: 1,
        reason: "connection lost".into(),
        ts: 3,
    };
    assert_eq!(roster.shown(&later), None);
    // A mute ends no session.
    roster.shown(&told(ModerationAction::Mute, "ace"));
    assert_eq!(roster.shown(&leave("ace")), None);
}

#[test]
fn messages_are_hidden_by_the_senders_identity_and_counted() {
    let mut roster = Roster::in_memory();
    roster.welcome(&welcome(vec![
        member("ace", None),
        member("bob", Some(key(2))),
        member("cat", None),
    ]));
    assert!(roster.ignore("ace").unwrap_err().contains("yourself"));
    assert!(roster.ignore("bob").unwrap().contains("under any name"));
    assert!(roster.ignore("cat").unwrap().contains("by name"));
    let message = |from: &str| {
        ServerEvent::Message(chat_protocol::HistoryEntry {
            room: None,
            id: 1,
            from: from.into(),
            text: "hi".into(),
            ts: 1,
            action: false,
            cid: None,
        })
    };
    let dm = |from: &str| ServerEvent::Dm {
        id: 1,
        from: from.into(),
        to: "ace".into(),
        text: "psst".into(),
        ts: 1,
        cid: None,
    };
    assert!(roster.hides(&message("bob")) && roster.hides(&dm("bob")));
    assert!(roster.hides(&message("cat")));
    assert!(!roster.hides(&message("ace")) && !roster.hides(&message("dave")));
    // bob leaves and comes back as "robert" with his key: still hidden.
    roster.event(&leave("bob"));
    roster.event(&join("robert", Some(key(2))));
    assert!(roster.hides(&message("robert")));
    assert_eq!(roster.ignored.total_hidden(), 4);
    assert!(roster.unignore("robert").unwrap().contains("3 of their"));
    assert!(!roster.hides(&message("robert")));
}
