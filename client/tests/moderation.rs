//! End-to-end: moderation and `/ignore` through the real `chat` binary
//! against a fake server (chatd's side of moderation is not built yet):
//! an operator's `/ban bob 10m spam` goes out as the `ban` event and the
//! answers are shown (the room's `moderation`, the `leave` after it
//! shortened, the `bans` list, a `muted` refusal), `--json` passes the new
//! events on, and the ignore list is a private file that outlasts the run,
//! hides a renamed sender by identity and says how much it hid.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use chat_protocol::{
    Ban, ErrorCode, Identity, JoinKey, Member, ModerationAction, RateLimit, ServerEvent,
    ServerIdentity, Welcome,
};
use common::fake::{self, BAN_END, Fake, Script};
use common::{Chat, command};

/// 2023-11-14 22:13:20 UTC.
const TS: u64 = 1_700_000_000_000;

fn member(name: &str, identity: Option<u8>, op: bool) -> Member {
    Member {
        name: name.into(),
        identity: identity.map(|seed| Identity::from_seed(&[seed; 32]).public()),
        op,
    }
}

fn welcome(members: Vec<Member>) -> ServerEvent {
    ServerEvent::Welcome(Welcome {
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
        last_id: Some(0),
        motd: None,
        rate: RateLimit {
            burst: 10,
            per_second: 5,
        },
        max_text: 4096,
        server: "fake".into(),
    })
}

fn said(id: u64, from: &str, text: &str) -> ServerEvent {
    ServerEvent::Message(chat_protocol::HistoryEntry {
        room: None,
        id,
        from: from.into(),
        text: text.into(),
        ts: TS,
        action: false,
        cid: None,
    })
}

/// `chat --plain` (plus `args`) as ace against a fake playing `script`,
/// times in UTC, its data under `data`.
fn ace(script: Script, data: &Path, args: &[&str]) -> (Chat, Fake) {
    let join_key = JoinKey([4; 32]);
    let server = ServerIdentity::from_secret_bytes(&[0x21; 32]);
    let public = server.public();
    let fake = Fake::start(server, join_key.clone(), script);
    let mut cmd = command(&fake.url, &fake::token(&join_key, public));
    cmd.env("TZ", "UTC")
        .env("XDG_DATA_HOME", data)
        .args(["--username", "ace", "--plain"])
        .args(args);
    (Chat::spawn(cmd), fake)
}

/// The fake of an operator's session: ace (an operator) bans bob, lists
/// the bans, and is refused a line (muted by the admin).
fn operators_room() -> Script {
    Script::Converse {
        events: vec![welcome(vec![
            member("ace", Some(1), true),
            member("bob", Some(2), false),
            member("carol", None, false),
        ])],
        replies: vec![
            vec![
                ServerEvent::Moderation {
                    room: None,
                    action: ModerationAction::Ban,
                    target: "bob".into(),
                    by: Some("ace".into()),
                    until: Some(TS + 600_000),
                    reason: Some("spam".into()),
                    ts: TS,
                },
                ServerEvent::Leave {
                    room: None,
                    name: "bob".into(),
                    online: 2,
                    reason: "banned: spam".into(),
                    ts: TS,
                },
            ],
            vec![ServerEvent::Bans {
                bans: vec![Ban {
                    target: "bob".into(),
                    reason: Some("spam".into()),
                    by: Some("ace".into()),
                    since: TS,
                    until: Some(TS + 600_000),
                }],
            }],
            vec![ServerEvent::Error {
                room: None,
                code: ErrorCode::Muted,
                message: "muted by the admin".into(),
                until: Some(BAN_END),
            }],
        ],
    }
}

#[test]
fn an_operators_ban_goes_out_as_its_event_and_the_answers_are_shown() {
    let data = tempfile::tempdir().unwrap();
    let (mut chat, fake) = ace(operators_room(), data.path(), &[]);
    for line in ["/ban bob 10m spam", "/bans", "hi"] {
        chat.line(line);
    }
    // Each is answered (a refusal too): chat leaves once they all are.
    assert_eq!(chat.finish(), 3, "a line was refused: {}", chat.output());
    let seen = fake.seen();
    assert_eq!(
        seen.after_auth[..3],
        [
            r#"{"type":"ban","target":"bob","for":600,"reason":"spam"}"#,
            r#"{"type":"bans"}"#,
            r#"{"type":"say","text":"hi"}"#,
        ],
        "{seen:?}"
    );
    let out = chat.stdout();
    assert!(
        out.contains(
            "-!- bob was banned for 10m by ace (spam)\n-!- bob left (2 online)\n\
             -!- banned: bob (by ace, since 2023-11-14 22:13, until 2023-11-14 22:23): spam\n"
        ),
        "the leave after the ban is told once, then the list: {}",
        chat.output()
    );
    assert!(
        chat.stderr()
            .contains("chat: refused: you are muted until 2031-01-01 00:00 (muted by the admin)"),
        "{}",
        chat.output()
    );
    assert!(
        !chat.stderr().contains("not confirmed"),
        "the room's moderation answered the ban, the list the /bans: {}",
        chat.output()
    );
}

#[test]
fn json_prints_the_new_events_as_they_came() {
    let data = tempfile::tempdir().unwrap();
    let (mut chat, fake) = ace(operators_room(), data.path(), &["--json"]);
    for line in ["/ban bob 10m spam", "/bans", "hi"] {
        chat.line(line);
    }
    assert_eq!(chat.finish(), 3, "{}", chat.output());
    fake.seen();
    let out = chat.stdout();
    for line in [
        r#"{"type":"moderation","action":"ban","target":"bob","by":"ace","until":1700000600000,"reason":"spam","ts":1700000000000}"#,
        r#"{"type":"leave","name":"bob","online":2,"reason":"banned: spam","ts":1700000000000}"#,
        r#"{"type":"bans","bans":[{"target":"bob","reason":"spam","by":"ace","since":1700000000000,"until":1700000600000}]}"#,
        r#"{"type":"error","code":"muted","message":"muted by the admin","until":1924992000000}"#,
    ] {
        assert!(
            out.contains(&format!("{line}\n")),
            "{line}\n{}",
            chat.output()
        );
    }
    assert!(
        out.contains(r#""op":true"#),
        "members mark operators: {out}"
    );
}

#[test]
fn the_ignore_list_is_private_outlasts_the_run_and_follows_an_identity() {
    let data = tempfile::tempdir().unwrap();
    let room = |members| Script::Answer(vec![welcome(members)]);

    // First run: bob is online with an identity; ace ignores him.
    let (mut chat, fake) = ace(
        room(vec![
            member("ace", None, false),
            member("bob", Some(2), false),
        ]),
        data.path(),
        &[],
    );
    chat.line("/ignore bob");
    chat.wait_err("ignoring bob (identity");
    assert_eq!(chat.finish(), 0, "{}", chat.output());
    fake.seen();
    let file = data.path().join("chat/ignored");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // Second run: bob is back as "robert", with the same key.
    let events = vec![
        welcome(vec![
            member("ace", None, false),
            member("robert", Some(2), false),
            member("carol", None, false),
        ]),
        said(1, "robert", "buy my stuff"),
        ServerEvent::Dm {
            id: 1,
            from: "robert".into(),
            to: "ace".into(),
            text: "psst, buy it".into(),
            ts: TS,
            cid: None,
        },
        said(2, "carol", "hi all"),
    ];
    let (mut chat, fake) = ace(Script::Answer(events), data.path(), &[]);
    chat.wait_out("<carol> hi all");
    chat.line("/ignore");
    chat.wait_err("robert (identity");
    assert_eq!(chat.finish(), 0, "{}", chat.output());
    fake.seen();
    let out = chat.stdout();
    assert!(!out.contains("buy"), "{}", chat.output());
    assert!(
        out.ends_with("-!- 2 messages from robert hidden (/unignore robert shows them)\n"),
        "said at the end: {}",
        chat.output()
    );
    assert!(
        chat.stderr().contains("robert (identity") && chat.stderr().contains("2 hidden"),
        "{}",
        chat.output()
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(" robert\n"),
        "the entry took the new name: {text}"
    );
}

/// chatd refuses the room's moderation commands from someone who is not
/// an operator, in words, and keeps the session (exit 3: a line was
/// refused).
#[test]
fn a_non_operators_moderation_is_refused_in_words() {
    let d = testkit::Daemon::start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &["--plain"]);
    ace.line("/kick nobody");
    ace.line("/bans");
    ace.line("still here");
    assert_eq!(ace.finish(), 3, "{}", ace.output());
    let err = ace.stderr();
    assert_eq!(
        err.matches("chat: refused: only the room's operators may do that")
            .count(),
        2,
        "{}",
        ace.output()
    );
    assert!(
        ace.stdout().contains("<ace> still here"),
        "{}",
        ace.output()
    );
}
