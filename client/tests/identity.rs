//! End-to-end: the user's identity with real files and the real `chat`
//! binary: made on first use (0600), refused when others can read it,
//! shown by `--show-identity`, proven in the `Auth` (checked by a fake
//! server as a server checks it) or left out; the refusals that concern
//! names and identities; the record of keys seen per server and name, and
//! its warning; and a real chatd that lets a client with an identity in.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use chat_protocol::{
    HistoryEntry, IdentityKey, JoinKey, Member, RateLimit, RejectCode, ServerEvent, ServerIdentity,
    Welcome,
};
use common::fake::{self, Fake, Script};
use common::{Chat, command};
use testkit::Daemon;

/// `chat ARGS` whose data (identity, known names) is under `data`, with no
/// configuration file and no identity setting in the environment.
fn chat_in(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat"));
    cmd.env("XDG_DATA_HOME", data)
        .env("XDG_CONFIG_HOME", "/nonexistent/chat-test-config")
        .env_remove("CHAT_IDENTITY")
        .env_remove("CHAT_KEY")
        .env_remove("CHAT_PASSWORD");
    cmd
}

/// Runs `cmd` to its end: (exit code, stdout, stderr).
fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chat");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `chat --show-identity` with its data under `data`: the public key.
fn show(data: &Path) -> IdentityKey {
    let mut cmd = chat_in(data);
    cmd.arg("--show-identity");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    IdentityKey::parse(out.lines().next().unwrap()).unwrap()
}

/// A fake server playing `script` for one `chat --username ace` (with
/// `env` and data under `data`); what it saw and the chat's end.
fn against_fake(data: &Path, env: &[(&str, &str)], script: Script) -> (fake::Seen, Chat, i32) {
    let join_key = JoinKey([4; 32]);
    let server = ServerIdentity::from_secret_bytes(&[0x21; 32]);
    let public = server.public();
    let fake = Fake::start(server, join_key.clone(), script);
    let mut cmd = chat_in(data);
    cmd.env("CHAT_KEY", fake::token(&join_key, public)).args([
        "--url",
        &fake.url,
        "--username",
        "ace",
        "--plain",
    ]);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let mut chat = Chat::spawn(cmd);
    let code = chat.finish();
    (fake.seen(), chat, code)
}

#[test]
fn show_identity_makes_a_private_file_and_prints_only_the_public_key() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = chat_in(&data);
    cmd.arg("--show-identity");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}{err}");
    let file = data.join("chat/identity");
    assert!(
        err.contains(&format!("made a new identity at {}", file.display())),
        "{err}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let key = IdentityKey::parse(lines[0]).expect("the public key's text form");
    assert_eq!(lines[1], key.fingerprint().to_string());
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    // The file's private key is this public key's, and is never printed.
    let text = std::fs::read_to_string(&file).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("chat-idsecret1_"))
        .unwrap();
    let identity = chat_protocol::Identity::parse_secret(secret).unwrap();
    assert_eq!(identity.public(), key);
    assert!(!out.contains(&secret[15..]) && !err.contains(&secret[15..]));

    // Again: the same identity, nothing made.
    let mut again = chat_in(&data);
    again.arg("--show-identity");
    let (code, out2, err2) = run(again);
    assert_eq!((code, out2.as_str(), err2.as_str()), (0, out.as_str(), ""));

    // The configuration's `identity` names another file, which
    // --show-identity makes (a second identity for a second profile).
    let config = home.path().join("config");
    std::fs::create_dir_all(config.join("chat")).unwrap();
    let other = home.path().join("work.identity");
    std::fs::write(
        config.join("chat/config.toml"),
        format!("identity = \"{}\"\n", other.display()),
    )
    .unwrap();
    let mut configured = chat_in(&data);
    configured
        .env("XDG_CONFIG_HOME", &config)
        .arg("--show-identity");
    let (code, out3, err3) = run(configured);
    assert_eq!(code, 0, "{err3}");
    assert_ne!(out3, out, "another file, another identity");
    assert_eq!(mode(&other), 0o600);
}

#[test]
fn a_file_others_can_read_is_refused_before_anything_is_sent() {
    let home = tempfile::tempdir().unwrap();
    show(home.path());
    let file = home.path().join("chat/identity");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = chat_in(home.path());
    cmd.arg("--show-identity");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("run `chmod 600 {}`", file.display())),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
    // Joining refuses it too, before connecting (the port is closed: an
    // attempt would exit 69).
    let mut join = chat_in(home.path());
    join.env("CHAT_KEY", fake::token(&JoinKey([4; 32]), [9; 32]))
        .args(["--url", "ws://127.0.0.1:9/", "--plain"]);
    let (code, _, err) = run(join);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn the_auth_proves_the_identity_for_its_session_or_gives_none() {
    let home = tempfile::tempdir().unwrap();
    let key = show(home.path());
    // With the identity: the fake checks the proof against its own th.
    let (seen, chat, code) =
        against_fake(home.path(), &[], Script::Reject(RejectCode::NameRegistered));
    assert_eq!(seen.identity, Some(Ok(Some(key))), "{}", chat.output());
    assert_eq!(code, 13, "{}", chat.output());
    assert!(
        chat.stderr().contains(
            "the name belongs to someone else: it is registered to other identities than this one"
        ),
        "{}",
        chat.output()
    );

    // CHAT_IDENTITY=none, and --no-identity: no identity, no proof.
    let (seen, chat, code) = against_fake(
        home.path(),
        &[("CHAT_IDENTITY", "none")],
        Script::Reject(RejectCode::NameRegistered),
    );
    let auth = seen.auth.expect("the Auth");
    assert_eq!((auth.identity, auth.proof), (None, None));
    assert_eq!(code, 13, "{}", chat.output());
    assert!(
        chat.stderr()
            .contains("registered to an identity, and chat joined without one"),
        "{}",
        chat.output()
    );
    let join_key = JoinKey([4; 32]);
    let server = ServerIdentity::from_secret_bytes(&[0x21; 32]);
    let public = server.public();
    let fake = Fake::start(
        server,
        join_key.clone(),
        Script::Reject(RejectCode::BadIdentity),
    );
    let mut cmd = chat_in(home.path());
    cmd.env("CHAT_KEY", fake::token(&join_key, public)).args([
        "--url",
        &fake.url,
        "--no-identity",
        "--plain",
    ]);
    let (code, _, err) = run(cmd);
    assert_eq!(fake.seen().identity, Some(Ok(None)));
    // bad_identity exits 1: 11 stays "the server failed its identity check".
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("did not accept this client's identity proof"),
        "{err}"
    );
}

#[test]
fn without_a_place_for_the_default_identity_chat_joins_without_one() {
    let home = tempfile::tempdir().unwrap();
    // XDG_DATA_HOME is a file: no directory can be made under it.
    let blocked = home.path().join("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    let (seen, chat, _) = against_fake(&blocked, &[], Script::Reject(RejectCode::ServerFull));
    assert_eq!(seen.identity, Some(Ok(None)), "{}", chat.output());
    assert!(
        chat.stderr()
            .contains("joining without an identity: cannot make one"),
        "{}",
        chat.output()
    );

    // A file named on purpose must exist; the flags that contradict each
    // other are usage errors.
    let missing = home.path().join("nope");
    let mut cmd = chat_in(home.path());
    cmd.env("CHAT_KEY", fake::token(&JoinKey([4; 32]), [9; 32]))
        .arg("--identity")
        .arg(&missing)
        .args(["--url", "ws://127.0.0.1:9/"]);
    let (code, _, err) = run(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "make it with `chat --identity {} --show-identity`",
            missing.display()
        )),
        "{err}"
    );
    assert!(!missing.exists(), "joining makes only the default file");
    let mut cmd = chat_in(home.path());
    cmd.args(["--show-identity", "--no-identity"]);
    assert_eq!(run(cmd).0, 2);
    let mut cmd = chat_in(home.path());
    cmd.env("CHAT_IDENTITY", "none").arg("--show-identity");
    let (code, _, err) = run(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no identity is in use"), "{err}");
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
        history: Vec::<HistoryEntry>::new(),
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

fn join(name: &str, identity: Option<IdentityKey>) -> ServerEvent {
    ServerEvent::Join {
        room: None,
        name: name.into(),
        online: 2,
        ts: chat_protocol::clock::now_ms(),
        identity,
        op: false,
    }
}

/// Runs `chat` as ace against a fake that sends `events`, types `lines`,
/// and ends the input once `wait_for` is on stderr (or stdout).
fn session(data: &Path, events: Vec<ServerEvent>, lines: &[&str], wait_for: &str) -> Chat {
    let join_key = JoinKey([4; 32]);
    let server = ServerIdentity::from_secret_bytes(&[0x21; 32]);
    let public = server.public();
    let fake = Fake::start(server, join_key.clone(), Script::Answer(events));
    let mut cmd = chat_in(data);
    cmd.env("CHAT_KEY", fake::token(&join_key, public))
        .env("CHAT_IDENTITY", "none")
        .args(["--url", &fake.url, "--username", "ace", "--plain"]);
    let mut chat = Chat::spawn(cmd);
    for line in lines {
        chat.line(line);
    }
    chat.wait_for_either(wait_for);
    assert_eq!(chat.finish(), 0, "{}", chat.output());
    fake.seen();
    chat
}

#[test]
fn a_name_back_with_another_key_is_warned_about_and_whois_tells() {
    let home = tempfile::tempdir().unwrap();
    let phone = chat_protocol::Identity::from_seed(&[2; 32]).public();
    let laptop = chat_protocol::Identity::from_seed(&[3; 32]).public();
    let stranger = chat_protocol::Identity::from_seed(&[4; 32]).public();
    let bob = |key| Member {
        name: "bob".into(),
        identity: Some(key),
        op: false,
    };
    let ace = Member::named("ace");

    // First session: bob with his laptop's key, recorded in silence.
    let first = session(
        home.path(),
        vec![welcome(vec![ace.clone(), bob(laptop)])],
        &["/whois bob"],
        "identities this client has seen for bob",
    );
    assert!(!first.stderr().contains("WARNING"), "{}", first.output());
    let known = home.path().join("chat/known_names");
    assert_eq!(mode(&known), 0o600);
    let record = std::fs::read_to_string(&known).unwrap();
    assert!(record.contains(&format!(" bob {laptop} ")), "{record}");

    // Second session: bob joins with another key: a warning on stderr,
    // naming both fingerprints; then without an identity: another.
    let second = session(
        home.path(),
        vec![
            welcome(vec![ace.clone()]),
            join("bob", Some(stranger)),
            ServerEvent::Leave {
                room: None,
                name: "bob".into(),
                online: 1,
                reason: "left".into(),
                ts: chat_protocol::clock::now_ms(),
            },
            join("bob", None),
        ],
        &[],
        "has no identity now",
    );
    let err = second.stderr();
    assert!(
        err.contains(&format!(
            "chat: WARNING: bob has identity {}, which this client has never seen for that name on this server (it knew {})",
            stranger.fingerprint(),
            laptop.fingerprint()
        )),
        "{err}"
    );
    assert!(
        err.contains("chat: WARNING: bob has no identity now"),
        "{err}"
    );
    assert!(second.stdout().contains("-!- bob joined (2 online)"));

    // A third: bob's two keys are known; the phone's is new (a second
    // device warns once), and /whois lists all three with when.
    let third = session(
        home.path(),
        vec![welcome(vec![ace, bob(phone)])],
        &["/whois bob"],
        &format!("{} ({phone}): first seen", phone.fingerprint()),
    );
    let err = third.stderr();
    assert_eq!(err.matches("WARNING").count(), 1, "{err}");
    for key in [laptop, stranger, phone] {
        assert!(
            err.contains(&format!("  {} ({key}): first seen ", key.fingerprint())),
            "{err}"
        );
    }
    assert!(
        err.contains(&format!(
            "bob: online, identity {} ({phone})",
            phone.fingerprint()
        )),
        "{err}"
    );
}

#[test]
fn a_real_chatd_registers_the_name_and_a_second_device_by_identity_add() {
    let d = Daemon::start();
    let home = tempfile::tempdir().unwrap();
    let phone = chat_protocol::Identity::from_seed(&[2; 32]).public();
    let mut cmd = command(&d.url, &d.key);
    cmd.env("XDG_DATA_HOME", home.path())
        .env_remove("CHAT_IDENTITY")
        .args(["--username", "ace"]);
    let mut ace = Chat::spawn(cmd);
    ace.wait_out("-!- joined as ace");
    assert!(home.path().join("chat/identity").exists());
    // chatd binds names (first-come): the join registered ace to this
    // identity, and the session adds the phone's key.
    ace.line(&format!("/identity add {phone}"));
    ace.line("hello");
    ace.wait_out("<ace> hello");
    ace.wait_out(&format!(
        "identities registered to your name now: {}",
        show(home.path()).fingerprint()
    ));
    ace.wait_out(&format!("{} ({phone})", phone.fingerprint()));
    assert_eq!(ace.finish(), 0, "{}", ace.output());
    let (code, out, err) = d.chatctl(&["--json", "names"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&phone.to_string()), "{out}");
}

#[test]
fn a_real_chatd_with_open_names_answers_identity_add_names_open() {
    let d = Daemon::builder().config("names = \"open\"\n").start();
    let home = tempfile::tempdir().unwrap();
    let phone = chat_protocol::Identity::from_seed(&[2; 32]).public();
    let mut cmd = command(&d.url, &d.key);
    cmd.env("XDG_DATA_HOME", home.path())
        .env_remove("CHAT_IDENTITY")
        .args(["--username", "ace"]);
    let mut ace = Chat::spawn(cmd);
    ace.wait_out("-!- joined as ace");
    // Names not bound: `names_open`, in order, and the line after it is
    // still matched to its own echo.
    ace.line(&format!("/identity add {phone}"));
    ace.line("hello");
    ace.wait_out("<ace> hello");
    ace.wait_err("refused: names are not bound to keys on this server");
    assert_eq!(ace.finish(), 3, "{}", ace.output());
}
