//! End-to-end: rooms through the real `chat` binary against a fake server
//! that speaks them, and against the real chatd: the line
//! mode's `/join #ops` makes the room current, so the next plain line goes
//! out with `"room":"#ops"`, and `/part`, `/rooms` answer in words and in
//! `--json`; against a server without rooms the commands are refused
//! here, and nothing is sent; the full screen under tmux joins two rooms,
//! a message to `#ops` shows only in `#ops`'s buffer with an unread count
//! until Alt-2 shows it, and after the link drops the reconnect resumes
//! each room (`join_room {room, after}` with the last id seen there), and
//! a line to `#ops` the server took before the link dropped, unanswered,
//! is found in `#ops`'s resumed history and not sent again.

mod common;

use chat_protocol::{
    HistoryEntry, JoinKey, RateLimit, RoomInfo, RoomJoined, RoomName, ServerEvent, ServerIdentity,
    Welcome,
};
use common::fake::{self, Fake, Script};
use common::tmux::{self, Tmux};
use common::{Chat, command};

/// 2023-11-14 22:13:20 UTC.
const TS: u64 = 1_700_000_000_000;

fn room(name: &str) -> RoomName {
    RoomName::parse(name).unwrap()
}

/// The welcome of a server with rooms (`Some` default room) or without.
fn welcome(default_room: Option<&str>, last_id: u64, resumed: bool) -> ServerEvent {
    ServerEvent::Welcome(Welcome {
        name: "ace".into(),
        users: vec!["ace".into(), "bob".into(), "carol".into()],
        members: Vec::new(),
        more: false,
        history: Vec::new(),
        gap: false,
        resumed,
        last_id: Some(last_id),
        motd: None,
        rate: RateLimit {
            burst: 10,
            per_second: 5,
        },
        max_text: 4096,
        server: "fake".into(),
        default_room: default_room.map(room),
        rooms: default_room.map(room).into_iter().collect(),
        topic: None,
    })
}

fn said(in_room: Option<&str>, id: u64, from: &str, text: &str) -> HistoryEntry {
    HistoryEntry {
        room: in_room.map(room),
        id,
        from: from.into(),
        text: text.into(),
        ts: TS,
        action: false,
        cid: None,
    }
}

fn joined(name: &str, users: &[&str], history: Vec<HistoryEntry>, last_id: u64) -> ServerEvent {
    ServerEvent::RoomJoined(RoomJoined {
        room: room(name),
        topic: None,
        private: false,
        users: users.iter().map(|u| (*u).to_owned()).collect(),
        members: Vec::new(),
        more: false,
        gap: false,
        resumed: false,
        history,
        last_id,
    })
}

fn fake_server(scripts: Vec<Script>) -> (Fake, String) {
    let join_key = JoinKey([6; 32]);
    let server = ServerIdentity::from_secret_bytes(&[0x26; 32]);
    let public = server.public();
    let fake = Fake::start_each(server, join_key.clone(), scripts);
    let key = fake::token(&join_key, public);
    (fake, key)
}

/// `chat` as ace in the line mode (`args`: `--plain` or `--json`), times
/// in UTC, against `script`.
fn ace(script: Script, args: &[&str]) -> (Chat, Fake) {
    let (fake, key) = fake_server(vec![script]);
    let mut cmd = command(&fake.url, &key);
    cmd.env("TZ", "UTC").args(["--username", "ace"]).args(args);
    (Chat::spawn(cmd), fake)
}

/// A lobby with rooms: ace joins `#ops` (carol is there, with a line of
/// history), says a line there, lists the rooms, leaves, and says a line
/// in the lobby again.
fn ops_and_back() -> Script {
    Script::Converse {
        events: vec![welcome(Some("#lobby"), 3, false)],
        replies: vec![
            vec![
                joined(
                    "#ops",
                    &["ace", "carol"],
                    vec![said(Some("#ops"), 5, "carol", "earlier")],
                    5,
                ),
                ServerEvent::Message(said(None, 6, "bob", "lobby chatter")),
            ],
            vec![ServerEvent::Message(said(
                Some("#ops"),
                7,
                "ace",
                "deploy 41 is out",
            ))],
            vec![ServerEvent::Rooms {
                rooms: vec![
                    RoomInfo {
                        room: room("#lobby"),
                        online: 3,
                        topic: None,
                        private: false,
                    },
                    RoomInfo {
                        room: room("#ops"),
                        online: 2,
                        topic: Some("deploys".into()),
                        private: false,
                    },
                ],
            }],
            vec![ServerEvent::RoomParted {
                room: room("#ops"),
                reason: None,
            }],
            vec![ServerEvent::Message(said(
                None,
                8,
                "ace",
                "back in the lobby",
            ))],
        ],
    }
}

const OPS_AND_BACK: [&str; 5] = [
    "/join #ops",
    "deploy 41 is out",
    "/rooms",
    "/part",
    "back in the lobby",
];

#[test]
fn line_mode_join_makes_the_room_current_and_part_gives_the_lobby_back() {
    let (mut chat, fake) = ace(ops_and_back(), &["--plain"]);
    for line in OPS_AND_BACK {
        chat.line(line);
    }
    // Every line answered: no wait at the end of input, exit 0.
    assert_eq!(chat.finish(), 0, "{}", chat.output());
    let seen = fake.seen();
    assert_eq!(
        seen.after_auth[..5],
        [
            r##"{"type":"join_room","room":"#ops"}"##,
            r##"{"type":"say","room":"#ops","text":"deploy 41 is out"}"##,
            r#"{"type":"rooms"}"#,
            r##"{"type":"part_room","room":"#ops"}"##,
            r#"{"type":"say","text":"back in the lobby"}"#,
        ],
        "{seen:?}"
    );
    let out = chat.stdout();
    assert!(
        out.contains("-!- joined as ace in #lobby\n"),
        "{}",
        chat.output()
    );
    for lines in [
        "-!- joined #ops (2 online)\n-!- online in #ops: ace, carol\n[22:13:20] #ops <carol> earlier\n",
        "[22:13:20] <bob> lobby chatter\n",
        "[22:13:20] #ops <ace> deploy 41 is out\n",
        "-!- rooms (2):\n-!- #lobby (3 online)\n-!- #ops (2 online): deploys\n",
        "-!- left #ops\n[22:13:20] <ace> back in the lobby\n",
    ] {
        assert!(out.contains(lines), "{lines}\n{}", chat.output());
    }
}

#[test]
fn json_gives_room_only_to_the_events_of_other_rooms() {
    let (mut chat, fake) = ace(ops_and_back(), &["--json"]);
    for line in OPS_AND_BACK {
        chat.line(line);
    }
    assert_eq!(chat.finish(), 0, "{}", chat.output());
    fake.seen();
    let out = chat.stdout();
    for line in [
        r##""max_text":4096,"server":"fake","default_room":"#lobby","rooms":["#lobby"]}"##,
        r##"{"type":"room_joined","room":"#ops","users":["ace","carol"],"history":[{"room":"#ops","id":5,"from":"carol","text":"earlier","ts":1700000000000}],"last_id":5}"##,
        r#"{"type":"message","id":6,"from":"bob","text":"lobby chatter","ts":1700000000000}"#,
        r##"{"type":"message","room":"#ops","id":7,"from":"ace","text":"deploy 41 is out","ts":1700000000000}"##,
        r##"{"type":"room_parted","room":"#ops"}"##,
    ] {
        assert!(
            out.contains(&format!("{line}\n")),
            "{line}\n{}",
            chat.output()
        );
    }
}

#[test]
fn a_server_without_rooms_gets_no_room_event_and_the_commands_say_why() {
    let script = Script::Converse {
        events: vec![welcome(None, 3, false)],
        replies: vec![vec![ServerEvent::Message(said(None, 4, "ace", "hi"))]],
    };
    let (mut chat, fake) = ace(script, &["--plain"]);
    for line in ["/join #ops", "/rooms", "hi"] {
        chat.line(line);
    }
    assert_eq!(chat.finish(), 3, "refused here: {}", chat.output());
    let seen = fake.seen();
    assert_eq!(
        seen.after_auth[0], r#"{"type":"say","text":"hi"}"#,
        "{seen:?}"
    );
    assert!(
        !seen.after_auth.iter().any(|e| e.contains("room")),
        "{seen:?}"
    );
    assert_eq!(
        chat.stderr().matches("this server has no rooms").count(),
        2,
        "{}",
        chat.output()
    );
    assert!(
        chat.stdout().contains("-!- joined as ace\n"),
        "{}",
        chat.output()
    );
}

/// The first connection: ace joins `#ops` then `#dev`; a message to
/// `#ops` comes with `#dev`'s answer; the link is lost at the next event
/// ace sends (a line to `#ops`, which the server took). The second: the
/// rejoin, answered room by room, the line in `#ops`'s history.
fn two_rooms_then_a_reconnect() -> Vec<Script> {
    vec![
        Script::ConverseThenLose {
            events: vec![welcome(Some("#lobby"), 3, false)],
            replies: vec![
                vec![joined("#ops", &["ace", "carol"], Vec::new(), 10)],
                vec![
                    joined("#dev", &["ace", "dave"], Vec::new(), 11),
                    ServerEvent::Message(said(Some("#ops"), 12, "carol", "deploy 41 is out")),
                ],
            ],
        },
        Script::Converse {
            events: vec![welcome(Some("#lobby"), 3, true)],
            replies: vec![
                vec![ServerEvent::RoomJoined(RoomJoined {
                    resumed: true,
                    ..room_joined_of(joined(
                        "#ops",
                        &["ace", "carol"],
                        vec![said(Some("#ops"), 13, "ace", "hello ops")],
                        13,
                    ))
                })],
                vec![ServerEvent::RoomJoined(RoomJoined {
                    resumed: true,
                    ..room_joined_of(joined(
                        "#dev",
                        &["ace", "dave"],
                        vec![said(Some("#dev"), 14, "dave", "missed while away")],
                        14,
                    ))
                })],
            ],
        },
    ]
}

fn room_joined_of(event: ServerEvent) -> RoomJoined {
    match event {
        ServerEvent::RoomJoined(joined) => joined,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_full_screen_keeps_a_pane_per_room_and_resumes_each_after_a_reconnect() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let (fake, key) = fake_server(two_rooms_then_a_reconnect());
    let term = Tmux::chat(&fake.url, &key, "ace", &[], 100, 24);
    term.wait_text("─── live ───");
    term.type_text("/join #ops");
    term.keys(&["Enter"]);
    term.wait_text("joined #ops (2 online)");
    term.type_text("/join #dev");
    term.keys(&["Enter"]);
    // On #dev (joined last): #ops's message is not in this pane, and the
    // room list counts it.
    let screen = term.wait_for("#ops's unread count", |s| {
        s.iter()
            .any(|r| r.starts_with("  #ops") && r[..12].contains('1'))
    });
    let shown = screen.join("\n");
    assert!(
        shown.contains(">#dev") && shown.contains("joined #dev"),
        "{shown}"
    );
    assert!(!shown.contains("deploy 41 is out"), "{shown}");
    // Alt-2: #ops (the list: #lobby, #ops, #dev), its message, read.
    term.keys(&["M-2"]);
    let screen = term.wait_text("<carol> deploy 41 is out");
    let shown = screen.join("\n");
    assert!(shown.contains(">#ops"), "{shown}");
    assert!(!shown.contains("joined #dev"), "{shown}");

    // The link drops at the next event, a line to #ops; the reconnect
    // resumes each room, and #ops's history says the line was taken.
    term.type_text("hello ops");
    term.keys(&["Enter"]);
    term.wait_text("rejoined as ace");
    let screen = term.wait_for("the line settled", |s| {
        s.iter().any(|r| r.contains("─── while away ───"))
            && !s.iter().any(|r| r.contains("(pending)"))
    });
    let shown = screen.join("\n");
    assert_eq!(shown.matches("<ace> hello ops").count(), 1, "{shown}");
    term.keys(&["M-3"]);
    term.wait_text("<dave> missed while away");
    term.type_text("/quit");
    term.keys(&["Enter"]);
    term.wait_text("exit=0");
    let seen = fake.seen_each();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let line = r##"{"type":"say","room":"#ops","text":"hello ops","cid":""##;
    assert_eq!(seen[0].after_auth.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0].after_auth[..2],
        [
            r##"{"type":"join_room","room":"#ops"}"##,
            r##"{"type":"join_room","room":"#dev"}"##,
        ],
    );
    assert!(seen[0].after_auth[2].starts_with(line), "{seen:?}");
    let again = &seen[1];
    assert_eq!(again.auth.as_ref().unwrap().after, Some(3), "the lobby's");
    assert_eq!(
        again.after_auth[..2],
        [
            r##"{"type":"join_room","room":"#ops","after":12}"##,
            r##"{"type":"join_room","room":"#dev","after":11}"##,
        ],
        "each room resumed after the last id seen in it: {again:?}"
    );
    assert!(
        !again.after_auth.iter().any(|e| e.contains("hello ops")),
        "the line the server took is not sent again: {again:?}"
    );
}

#[test]
fn a_join_refused_gives_the_room_before_back() {
    let script = Script::Converse {
        events: vec![welcome(Some("#lobby"), 3, false)],
        replies: vec![
            vec![ServerEvent::Error {
                room: Some(room("#secret")),
                code: chat_protocol::ErrorCode::NoSuchRoom,
                message: "there is no room #secret".into(),
                until: None,
            }],
            vec![ServerEvent::Message(said(None, 4, "ace", "hello"))],
        ],
    };
    let (mut chat, fake) = ace(script, &["--plain"]);
    chat.line("/join #Secret");
    chat.wait_err("chat: refused: there is no room #secret");
    chat.line("hello");
    chat.wait_out("<ace> hello");
    assert_eq!(chat.finish(), 3, "a line was refused: {}", chat.output());
    let seen = fake.seen();
    assert_eq!(
        seen.after_auth[..2],
        [
            r##"{"type":"join_room","room":"#secret"}"##,
            r#"{"type":"say","text":"hello"}"#,
        ],
        "the lobby's again: {seen:?}"
    );
}

#[test]
fn a_room_that_cannot_be_joined_again_is_closed_and_said() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let (fake, key) = fake_server(vec![
        Script::ConverseThenLose {
            events: vec![welcome(Some("#lobby"), 3, false)],
            replies: vec![vec![joined("#ops", &["ace", "carol"], Vec::new(), 10)]],
        },
        Script::Converse {
            events: vec![welcome(Some("#lobby"), 3, true)],
            replies: vec![vec![ServerEvent::Error {
                room: Some(room("#ops")),
                code: chat_protocol::ErrorCode::NoSuchRoom,
                message: "there is no room #ops".into(),
                until: None,
            }]],
        },
    ]);
    let term = Tmux::chat(&fake.url, &key, "ace", &[], 100, 24);
    term.wait_text("─── live ───");
    term.type_text("/join #ops");
    term.keys(&["Enter"]);
    term.wait_text(">#ops");
    // The next event is lost with the link.
    term.type_text("/rooms");
    term.keys(&["Enter"]);
    let screen = term.wait_text("no longer in #ops");
    let shown = screen.join("\n");
    assert!(shown.contains("(there is no room #ops)"), "{shown}");
    assert!(
        shown.contains(">#lobby") && !shown.contains("  #ops "),
        "{shown}"
    );
    term.type_text("/quit");
    term.keys(&["Enter"]);
    term.wait_text("exit=");
    let seen = fake.seen_each();
    assert_eq!(
        seen[1].after_auth[0],
        r##"{"type":"join_room","room":"#ops","after":10}"##
    );
}

/// The real `chat` in the line mode against the real chatd: `/join #ops`
/// makes `#ops` current, the plain line after it reaches a member of
/// `#ops` as `#ops`'s, and a client that knows nothing of rooms (only in
/// `#lobby`) sees none of it: its next message is the line said in the
/// lobby after `/part`.
#[tokio::test]
async fn chatd_serves_rooms_to_the_line_client() {
    let d = testkit::Daemon::builder()
        .config("limit_exempt = [\"127.0.0.0/8\"]\n")
        .start();
    let mut bob = testkit::RawClient::join(&d.url, &d.key, "bob", "")
        .await
        .joined();
    bob.join_room("#ops", None).await;
    let mut carol = testkit::RawClient::join(&d.url, &d.key, "carol", "")
        .await
        .joined();
    assert_eq!(carol.welcome.default_room, Some(room("#lobby")));
    let mut chat = Chat::joined(&d.url, &d.key, "ace", &["--plain"]);
    chat.line("/join #ops");
    chat.wait_out("-!- joined #ops (2 online)");
    chat.line("deploy 41 is out");
    let said = bob
        .recv_until("ace's line in #ops", |e| match e {
            ServerEvent::Message(m) if m.from == "ace" => Some(m.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (said.room, said.text.as_str()),
        (Some(room("#ops")), "deploy 41 is out")
    );
    chat.line("/part");
    chat.wait_out("-!- left #ops");
    chat.line("back in the lobby");
    chat.end_input();
    assert_eq!(chat.wait_exit(), 0, "{}", chat.output());
    let next = carol
        .recv_until("ace's next message", |e| match e {
            ServerEvent::Message(m) => Some(m.clone()),
            _ => None,
        })
        .await;
    assert_eq!((next.room, next.text.as_str()), (None, "back in the lobby"));
}
