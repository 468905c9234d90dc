//! Rooms on the full screen: the room list with unread and mention
//! counts, switching (Alt-1…9, Alt-←/→, Ctrl-P/N, `/join` of a room it is
//! in), a room's pane, members and topic, the direct-message buffer of
//! `/msg NAME`, and what goes where.

use chat_protocol::{ModerationAction, RoomJoined, RoomName};

use super::*;
use crate::tui::app::Place;

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

fn in_room(name: &str, id: u64, from: &str, text: &str) -> Event {
    server(ServerEvent::Message(HistoryEntry {
        room: Some(room(name)),
        ..entry(id, from, text)
    }))
}

/// What `/join NAME` sends, and the server's answer with `users`.
fn join(app: &mut App, name: &str, seq: u64, users: &[&str], topic: Option<&str>) {
    type_text(app, &format!("/join {name}"));
    match key(app, KeyCode::Enter).as_slice() {
        [Action::Send(event)] => {
            assert_eq!(
                event,
                &ClientEvent::JoinRoom {
                    room: name.into(),
                    after: None
                }
            );
            app.add_pending(seq, event);
        }
        other => panic!("/join gave {other:?}"),
    }
    app.on_engine(server(ServerEvent::RoomJoined(RoomJoined {
        room: room(name),
        topic: topic.map(Into::into),
        private: false,
        users: users.iter().map(|u| (*u).to_owned()).collect(),
        members: Vec::new(),
        more: false,
        history: Vec::new(),
        gap: false,
        resumed: false,
        last_id: 0,
    })));
    app.on_engine(Event::Confirmed(seq));
}

/// The app of a server with rooms, in `#lobby`.
fn lobby() -> App {
    let mut welcome = welcome(vec![entry(1, "bob", "morning")]);
    welcome.default_room = Some(room("#lobby"));
    welcome.rooms = vec![room("#lobby")];
    welcome.topic = Some("say hi".into());
    // The room joined at noon, the messages after.
    let mut clock = Clock::utc("%H:%M");
    clock.now = || NOON;
    let mut app = App::new(
        "ws://chat.example.org:1719/",
        "5d67e3a0c1b2d3e4",
        &welcome,
        clock,
    );
    app.color = true;
    app
}

/// DESIGN.md's second sketch: `#lobby`, `#ops` on screen, `#coffee` with
/// three unread, one of them a mention, and bob's direct message.
fn three_rooms() -> App {
    let mut app = lobby();
    join(&mut app, "#coffee", 1, &["ace", "erin"], None);
    join(
        &mut app,
        "#ops",
        2,
        &["ace", "bob", "carol", "dave"],
        Some("deploys and incidents"),
    );
    app.on_engine(server(ServerEvent::Join {
        room: Some(room("#ops")),
        name: "erin".into(),
        online: 5,
        ts: NOON + 60_000,
        identity: None,
        op: false,
    }));
    app.on_engine(in_room(
        "#ops",
        3,
        "carol",
        "deploy 41 is out, ace: check the logs",
    ));
    app.on_engine(in_room("#coffee", 4, "erin", "beans are in"));
    app.on_engine(in_room("#coffee", 5, "erin", "ace: espresso?"));
    app.on_engine(in_room("#coffee", 6, "erin", "anyone?"));
    app.on_engine(server(ServerEvent::Dm {
        id: 6,
        from: "bob".into(),
        to: "ace".into(),
        text: "psst".into(),
        ts: NOON + 360_000,
        cid: None,
    }));
    send(&mut app, "on it", 3);
    app
}

#[test]
fn the_room_list_counts_unread_and_marks_the_room_on_screen() {
    let mut app = three_rooms();
    insta::assert_snapshot!(screen(&mut app, 80, 14));
    // A mention makes the count bold, in the mention style; no mention:
    // bold and dim.
    let terminal = draw(&mut app, 80, 14);
    let buffer = terminal.backend().buffer();
    let cell = |x: u16, y: u16| &buffer[(x, y)];
    let coffee = (0..14)
        .find(|&y| {
            (0..10)
                .map(|x| cell(x, y).symbol())
                .collect::<String>()
                .contains("#coffee")
        })
        .expect("#coffee in the list");
    let three = (0..12)
        .find(|&x| cell(x, coffee).symbol() == "3")
        .expect("its count");
    assert!(cell(three, coffee).modifier.contains(Modifier::BOLD));
    assert_eq!(
        cell(three, coffee).bg,
        ratatui::style::Color::Yellow,
        "a mention"
    );
}

#[test]
fn a_message_to_a_room_shows_only_in_its_pane_and_counts_there() {
    let mut app = three_rooms();
    let ops = screen(&mut app, 80, 14);
    assert!(ops.contains("deploy 41 is out"), "{ops}");
    assert!(
        !ops.contains("beans are in") && !ops.contains("psst"),
        "{ops}"
    );
    assert!(
        ops.contains("#ops: deploys and incidents · 5 online"),
        "{ops}"
    );
    assert_eq!(app.buffers[1].unread, 3, "#coffee");
    assert_eq!(app.buffers[1].mentions, 1);
    // Alt-2 is #coffee (the list's order: #lobby, #coffee, #ops, bob).
    press(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    let coffee = screen(&mut app, 80, 14);
    assert!(
        coffee.contains("beans are in") && coffee.contains("anyone?"),
        "{coffee}"
    );
    assert!(!coffee.contains("deploy 41"), "{coffee}");
    assert!(coffee.contains(" #coffee · 2 online"), "{coffee}");
    assert_eq!(
        (app.buffers[1].unread, app.buffers[1].mentions),
        (0, 0),
        "read"
    );
    // A line typed here goes to #coffee.
    type_text(&mut app, "on my way");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Action::Send(ClientEvent::Say {
            room: Some("#coffee".into()),
            text: "on my way".into(),
            cid: None
        })]
    );
}

#[test]
fn switching_round_the_list() {
    let mut app = three_rooms();
    let label = |app: &App| app.buf().place.label().to_owned();
    assert_eq!(label(&app), "#ops");
    press(&mut app, KeyCode::Right, KeyModifiers::ALT);
    assert_eq!(label(&app), "bob");
    press(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(label(&app), "#lobby", "round the list");
    press(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Left, KeyModifiers::ALT);
    assert_eq!(label(&app), "#ops");
    press(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    assert_eq!(label(&app), "#lobby");
    press(&mut app, KeyCode::Char('9'), KeyModifiers::ALT);
    assert_eq!(label(&app), "#lobby", "no ninth: nothing");
    // /join of a room it is in goes there, and sends nothing.
    type_text(&mut app, "/join #OPS");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert_eq!(label(&app), "#ops");
    // The draft stays where it was typed; Ctrl-←/→ still move by word.
    type_text(&mut app, "one two");
    press(&mut app, KeyCode::Left, KeyModifiers::CONTROL);
    type_text(&mut app, "X");
    assert_eq!(app.editor.text(), "one Xtwo");
}

#[test]
fn msg_opens_a_direct_message_buffer_of_its_own() {
    let mut app = three_rooms();
    type_text(&mut app, "/msg carol");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert_eq!(app.buf().place, Place::Direct("CAROL".into()));
    // A line typed here is a direct message to carol.
    send(&mut app, "lunch?", 4);
    assert!(matches!(
        &app.pending.last().unwrap().1,
        Place::Direct(name) if name == "carol"
    ));
    let sent = ServerEvent::Dm {
        id: 7,
        from: "ace".into(),
        to: "carol".into(),
        text: "lunch?".into(),
        ts: NOON + 420_000,
        cid: None,
    };
    app.on_engine(server(sent));
    app.on_engine(Event::Confirmed(4));
    // Her answer comes to her buffer, on screen: nothing unread.
    app.on_engine(server(ServerEvent::Dm {
        id: 7,
        from: "carol".into(),
        to: "ace".into(),
        text: "sure".into(),
        ts: NOON + 420_000,
        cid: None,
    }));
    insta::assert_snapshot!(screen(&mut app, 80, 12));
    let at = app.find_place(&Place::Direct("carol".into())).unwrap();
    assert_eq!(app.buffers[at].unread, 0);
    // bob's came to his, not to a room's pane.
    assert!(!app.buffers[0].lines.iter().any(|s| s.entry.text == "psst"));
    // /part closes a direct-message buffer; /me is not for one.
    type_text(&mut app, "/me waves");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&mut app, 80, 12).contains("/me is for rooms"));
    type_text(&mut app, "/part");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.find_place(&Place::Direct("carol".into())).is_none());
}

#[test]
fn room_commands_send_for_the_room_on_screen() {
    let mut app = three_rooms();
    let sent = |app: &mut App, line: &str| {
        type_text(app, line);
        key(app, KeyCode::Enter)
    };
    assert_eq!(
        sent(&mut app, "/topic rolling back 41"),
        [Action::Send(ClientEvent::Topic {
            room: "#ops".into(),
            text: "rolling back 41".into()
        })]
    );
    assert_eq!(
        sent(&mut app, "/invite dave"),
        [Action::Send(ClientEvent::Invite {
            room: "#ops".into(),
            name: "dave".into()
        })]
    );
    assert_eq!(sent(&mut app, "/rooms"), [Action::Send(ClientEvent::Rooms)]);
    assert_eq!(
        sent(&mut app, "/who"),
        [Action::Send(ClientEvent::Who {
            room: Some("#ops".into()),
            after: None,
        })]
    );
    assert_eq!(
        sent(&mut app, "/part"),
        [Action::Send(ClientEvent::PartRoom {
            room: "#ops".into()
        })]
    );
    // The server's answer closes the buffer; the one before is shown.
    app.on_engine(server(ServerEvent::RoomParted {
        room: room("#ops"),
        reason: None,
    }));
    assert_eq!(app.buf().place.label(), "#coffee");
    assert!(screen(&mut app, 80, 14).contains("left #ops"));
    // The default room is never left; /topic alone shows the topic.
    press(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    assert_eq!(sent(&mut app, "/part"), []);
    assert_eq!(sent(&mut app, "/topic"), []);
    let shown = screen(&mut app, 80, 14);
    assert!(shown.contains("#lobby is the default room"), "{shown}");
    assert!(shown.contains("topic of #lobby: say hi"), "{shown}");
    // A topic set by an operator is the room's, in the status bar.
    app.on_engine(server(ServerEvent::Topic {
        room: room("#lobby"),
        text: "be kind".into(),
        by: Some("carol".into()),
        ts: NOON + 480_000,
    }));
    let shown = screen(&mut app, 80, 14);
    assert!(shown.contains("#lobby: be kind"), "{shown}");
    assert!(
        shown.contains("carol set the topic of #lobby: be kind"),
        "{shown}"
    );
}

#[test]
fn what_concerns_no_room_shows_where_the_user_looks() {
    let mut app = three_rooms();
    app.on_engine(server(ServerEvent::Notice {
        room: None,
        text: "maintenance at 18:00".into(),
        ts: NOON + 480_000,
    }));
    app.on_engine(server(ServerEvent::Moderation {
        room: Some(room("#secret")),
        action: ModerationAction::Invite,
        target: "ace".into(),
        by: Some("carol".into()),
        until: None,
        reason: None,
        ts: NOON + 480_000,
    }));
    let ops = screen(&mut app, 80, 14);
    assert!(ops.contains("maintenance at 18:00"), "{ops}");
    assert!(ops.contains("ace was invited to #secret by carol"), "{ops}");
    // The default room's joins go to its own pane, and its list.
    app.on_engine(server(ServerEvent::Join {
        room: None,
        name: "fay".into(),
        online: 6,
        ts: NOON + 480_000,
        identity: None,
        op: false,
    }));
    assert!(!screen(&mut app, 80, 14).contains("fay joined"));
    assert!(app.buffers[0].users.iter().any(|u| u == "fay"));
    assert!(!app.buf().users.iter().any(|u| u == "fay"), "not #ops's");
    assert_eq!(app.buffers[0].unread, 0, "a join is not a message");
}

#[test]
fn each_buffer_logs_to_its_own_file() {
    let mut app = lobby();
    app.logging = true;
    join(&mut app, "#ops", 1, &["ace", "carol"], None);
    app.on_engine(in_room("#ops", 3, "carol", "in ops"));
    app.on_engine(message(4, "bob", "in the lobby"));
    app.on_engine(server(ServerEvent::Dm {
        id: 4,
        from: "Bob".into(),
        to: "ace".into(),
        text: "psst".into(),
        ts: NOON,
        cid: None,
    }));
    let logged: Vec<(Option<String>, String)> = app
        .take_log()
        .into_iter()
        .map(|(target, entry)| (target, entry.text))
        .collect();
    let find = |text: &str| {
        logged
            .iter()
            .find(|(_, t)| t == text)
            .map(|(f, _)| f.clone())
    };
    assert_eq!(find("in ops"), Some(Some("#ops".into())));
    assert_eq!(find("in the lobby"), Some(None));
    assert_eq!(find("psst"), Some(Some("@bob".into())));
}

#[test]
fn a_server_without_rooms_looks_as_before() {
    let mut app = busy_room();
    assert!(!app.rooms);
    let shown = screen(&mut app, 80, 24);
    assert!(
        !shown.contains("#lobby") && !shown.contains("─ direct"),
        "{shown}"
    );
    type_text(&mut app, "/join #ops");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(screen(&mut app, 80, 24).contains("this server has no rooms"));
    // A DM stays in the one pane.
    type_text(&mut app, "/msg bob");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.buffers.len(), 1);
}

#[test]
fn a_room_joined_again_after_a_reconnect_gets_what_it_missed() {
    let mut app = three_rooms();
    app.on_engine(Event::Lost("connection lost".into()));
    let mut again = welcome(Vec::new());
    again.default_room = Some(room("#lobby"));
    app.on_engine(Event::Rejoined {
        welcome: again,
        gap: false,
        url: "ws://chat.example.org:1719/".into(),
    });
    app.on_engine(Event::RoomRejoined {
        joined: RoomJoined {
            room: room("#coffee"),
            topic: None,
            private: false,
            users: vec!["ace".into(), "erin".into(), "gus".into()],
            members: Vec::new(),
            more: false,
            history: vec![HistoryEntry {
                room: Some(room("#coffee")),
                ..entry(9, "gus", "while you were out")
            }],
            gap: true,
            resumed: true,
            last_id: 9,
        },
        gap: true,
    });
    assert_eq!(app.buf().place.label(), "#ops", "a rejoin does not switch");
    press(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    let coffee = screen(&mut app, 80, 16);
    assert!(
        coffee.contains("while away") && coffee.contains("while you were out"),
        "{coffee}"
    );
    assert!(
        coffee.contains("some messages of this room were missed"),
        "{coffee}"
    );
    assert!(coffee.contains("3 online"), "{coffee}");
    // A room that could not be joined again goes, said where one looks.
    app.on_engine(Event::RoomLost(room("#coffee"), "gone".into()));
    assert!(app.find_place(&Place::Room(room("#coffee"))).is_none());
    assert_eq!(app.buf().place.label(), "#lobby");
    assert!(screen(&mut app, 80, 16).contains("no longer in #coffee"));
}
