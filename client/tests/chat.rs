//! End-to-end: the real `chat` binary against the real `chatd` (and, for
//! what a real daemon never does, against a fake server).

mod common;

use chat_protocol::{JoinKey, ServerIdentity, Token};
use common::fake::{self, Fake, Script};
use common::{Chat, command};
use testkit::Daemon;

/// A daemon whose join password is `password`; the file lives as long as
/// the returned directory.
fn daemon_with_password(password: &str) -> (Daemon, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    let d = Daemon::builder()
        .arg("--password-file")
        .arg(file.to_str().unwrap())
        .start();
    (d, dir, file)
}

#[test]
fn two_clients_talk_and_a_third_sees_joins_and_leaves() {
    let d = Daemon::start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    ace.wait_out("-!- online: ace\n");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &[]);
    bob.wait_out("-!- online: ace, bob\n");
    ace.wait_out("-!- bob joined (2 online)\n");

    ace.line("Hello");
    bob.wait_out("<ace> Hello\n");
    ace.wait_out("<ace> Hello\n");
    bob.line("World");
    ace.wait_out("<bob> World\n");
    bob.line("/me waves");
    ace.wait_out("* bob waves\n");

    let mut cat = Chat::joined(&d.url, &d.key, "cat", &[]);
    ace.wait_out("-!- cat joined (3 online)\n");
    bob.wait_out("-!- cat joined (3 online)\n");

    assert_eq!(bob.finish(), 0, "{}", bob.output());
    cat.wait_out("-!- bob left (2 online)");
    ace.wait_out("-!- bob left (2 online)");
    assert_eq!(cat.finish(), 0, "{}", cat.output());
    ace.wait_out("-!- cat left (1 online)");
    assert_eq!(ace.finish(), 0, "{}", ace.output());
    assert!(ace.stderr().is_empty(), "{}", ace.output());
}

#[test]
fn a_large_room_shows_a_summary_and_json_passes_it_on() {
    let d = Daemon::builder()
        .config("presence_summary_above = 1\npresence_interval = \"100ms\"\n")
        .start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    ace.wait_out("-!- online: ace\n");
    // Two online is above the threshold: bob's join comes as a summary
    // (to bob too: it counts his own join).
    let mut bob = Chat::start(&d.url, &d.key, &["--username", "bob", "--json"]);
    ace.wait_out("-!- 1 joined (2 online)\n");
    bob.wait_out(r#"{"type":"presence","joined":1,"left":0,"online":2,"ts":"#);
    // Back at the threshold, a leave is told on its own.
    assert_eq!(bob.finish(), 0, "{}", bob.output());
    ace.wait_out("-!- bob left (1 online)\n");
    assert_eq!(ace.finish(), 0, "{}", ace.output());
    assert!(!ace.stdout().contains("bob joined"), "{}", ace.output());
}

#[test]
fn a_taken_name_exits_13() {
    let d = Daemon::start();
    let _ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    for name in ["ace", "ACE"] {
        let mut dup = Chat::start(&d.url, &d.key, &["--username", name]);
        assert_eq!(dup.finish(), 13, "{}", dup.output());
        assert!(dup.stderr().contains("taken"), "{}", dup.output());
        assert!(dup.stdout().is_empty(), "{}", dup.output());
    }
}

#[test]
fn an_invalid_name_exits_14() {
    let d = Daemon::start();
    let mut bad = Chat::start(&d.url, &d.key, &["--username", "not valid"]);
    assert_eq!(bad.finish(), 14, "{}", bad.output());
    assert!(bad.stderr().contains("--username"), "{}", bad.output());
}

#[test]
fn a_full_server_exits_15() {
    let d = Daemon::builder().config("max_users = 1\n").start();
    let _ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    let mut bob = Chat::start(&d.url, &d.key, &["--username", "bob"]);
    assert_eq!(bob.finish(), 15, "{}", bob.output());
    assert!(bob.stderr().contains("full"), "{}", bob.output());
}

#[test]
fn a_wrong_key_exits_10_naming_the_servers_key_before_any_password_is_sent() {
    let (d, _dir, _file) = daemon_with_password("hunter2");
    let real = Token::parse(&d.key).unwrap();
    let wrong = Token {
        join_key: JoinKey([7; 32]),
        server_public: real.server_public,
    };
    let mut cmd = command(&d.url, &wrong.encode());
    cmd.env("CHAT_PASSWORD", "wrong-password");
    let mut chat = Chat::spawn(cmd);
    // 10, not 12: the password was never checked, because never sent.
    assert_eq!(chat.finish(), 10, "{}", chat.output());
    let err = chat.stderr();
    assert!(err.contains(&real.key_id().to_string()), "{err}");
    assert!(err.contains(&wrong.key_id().to_string()), "{err}");
    assert!(
        err.contains("unverified") && err.contains("chatctl key"),
        "{err}"
    );
    assert!(
        !err.contains(&wrong.encode()) && !err.contains("wrong-password"),
        "{err}"
    );
    assert!(!d.log().contains("wrong-password"));
}

#[test]
fn a_huge_password_file_is_refused_unread() {
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("not-a-password");
    std::fs::write(&huge, vec![b'a'; 10 << 20]).unwrap();
    let mut chat = Chat::start(&d.url, &d.key, &["--password-file", huge.to_str().unwrap()]);
    assert_eq!(chat.finish(), 1, "{}", chat.output());
    assert!(
        chat.stderr().contains("is over 1024 bytes, the limit"),
        "{}",
        chat.output()
    );
    assert!(!chat.stderr().contains("aaaa"), "{}", chat.output());
}

#[test]
fn a_wrong_password_exits_12_and_the_right_one_joins() {
    let (d, _dir, file) = daemon_with_password("hunter2");
    let file = file.to_str().unwrap();

    let mut cmd = command(&d.url, &d.key);
    cmd.env("CHAT_PASSWORD", "nope");
    let mut wrong = Chat::spawn(cmd);
    assert_eq!(wrong.finish(), 12, "{}", wrong.output());
    assert!(wrong.stderr().contains("password"), "{}", wrong.output());
    assert!(!wrong.stderr().contains("nope"), "{}", wrong.output());

    // No password and no terminal to ask on: no prompt, exit 12.
    let mut none = Chat::start(&d.url, &d.key, &[]);
    assert_eq!(none.finish(), 12, "{}", none.output());
    assert!(
        none.stderr()
            .contains("it needs a password (give it with --password-file FILE or CHAT_PASSWORD)"),
        "{}",
        none.output()
    );

    let mut from_file = Chat::joined(&d.url, &d.key, "ace", &["--password-file", file]);
    assert_eq!(from_file.finish(), 0, "{}", from_file.output());

    let mut cmd = command(&d.url, &d.key);
    cmd.env("CHAT_PASSWORD", "hunter2")
        .args(["--username", "bob"]);
    let mut from_env = Chat::spawn(cmd);
    from_env.wait_out("-!- joined as bob");
    assert_eq!(from_env.finish(), 0, "{}", from_env.output());
    assert!(!from_env.stderr().contains("hunter2"));
}

#[test]
fn a_direct_message_reaches_only_its_addressee() {
    let d = Daemon::start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    let bob = Chat::joined(&d.url, &d.key, "bob", &[]);
    let cat = Chat::joined(&d.url, &d.key, "cat", &[]);
    ace.wait_out("-!- cat joined (3 online)");

    ace.line("/msg bob psst, secret");
    bob.wait_out("*ace → bob* psst, secret\n");
    ace.wait_out("*ace → bob* psst, secret\n");
    // Everything after the DM reaches cat; the DM must not have.
    ace.line("public");
    cat.wait_out("<ace> public\n");
    assert!(!cat.stdout().contains("secret"), "{}", cat.output());
    assert_eq!(ace.finish(), 0, "{}", ace.output());
}

#[test]
fn history_arrives_on_join_without_dms() {
    let d = Daemon::start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    let _bob = Chat::joined(&d.url, &d.key, "bob", &[]);
    ace.line("first");
    ace.line("/me yawns");
    ace.line("/msg bob private");
    ace.line("second");
    ace.wait_out("<ace> second\n");
    assert_eq!(ace.finish(), 0, "{}", ace.output());

    let cat = Chat::joined(&d.url, &d.key, "cat", &[]);
    cat.wait_out("<ace> second\n");
    let out = cat.stdout();
    let first = out.find("<ace> first").expect("first in history");
    let yawns = out.find("* ace yawns").expect("action in history");
    let second = out.find("<ace> second").unwrap();
    assert!(first < yawns && yawns < second, "{out}");
    assert!(!out.contains("private"), "{out}");
}

#[test]
fn json_prints_one_event_per_line_with_the_contract_fields() {
    let d = Daemon::start();
    let mut ace = Chat::start(&d.url, &d.key, &["--json", "--username", "ace"]);
    ace.wait_out("\"type\":\"welcome\"");
    ace.line("two\\nlines? no: one line");
    ace.line("/who");
    ace.wait_out("\"type\":\"users\"");
    assert_eq!(ace.finish(), 0, "{}", ace.output());

    let events: Vec<serde_json::Value> = ace
        .stdout()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    assert_eq!(events[0]["type"], "welcome");
    assert_eq!(events[0]["name"], "ace");
    assert_eq!(events[0]["users"], serde_json::json!(["ace"]));
    let message = events
        .iter()
        .find(|e| e["type"] == "message")
        .expect("the echo of the message");
    assert_eq!(message["from"], "ace");
    assert_eq!(message["text"], "two\\nlines? no: one line");
    assert!(
        message["id"].is_u64() && message["ts"].is_u64(),
        "{message}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "users" && e["users"] == serde_json::json!(["ace"]))
    );
}

#[test]
fn a_piped_file_of_40_lines_all_arrive() {
    let d = Daemon::start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    let mut pump = Chat::joined(&d.url, &d.key, "pump", &[]);
    // More than the burst (10): the rest must be paced, not refused.
    for i in 1..=40 {
        pump.line(&format!("line {i}"));
    }
    assert_eq!(pump.finish(), 0, "{}", pump.output());
    assert!(!pump.stderr().contains("refused"), "{}", pump.output());
    watcher.wait_out("<pump> line 40\n");
    let out = watcher.stdout();
    let mut at = 0;
    for i in 1..=40 {
        let needle = format!("<pump> line {i}\n");
        let found = out[at..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{needle:?} missing or out of order:\n{out}"));
        at += found + needle.len();
    }
    // Every line was echoed before the client left.
    assert_eq!(
        pump.stdout().matches("<pump> line ").count(),
        40,
        "{}",
        pump.output()
    );
    watcher.wait_out("-!- pump left (1 online)");
}

#[test]
fn a_last_who_is_answered_and_a_quit_reason_reaches_the_room() {
    let d = Daemon::start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    let mut pump = Chat::joined(&d.url, &d.key, "pump", &[]);
    pump.line("hello");
    pump.line("/who");
    pump.line("/quit gone fishing");
    assert_eq!(pump.finish(), 0, "{}", pump.output());
    assert!(
        pump.stdout().contains("-!- online: pump, watcher\n"),
        "the answer to the last /who: {}",
        pump.output()
    );
    watcher.wait_out("-!- pump left (1 online): left: \"gone fishing\"\n");
}

#[test]
fn a_too_long_line_is_refused_exit_3_and_the_connection_stays() {
    let d = Daemon::builder().config("max_text = 10\n").start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    ace.line("short");
    ace.line(&"x".repeat(11));
    ace.line("after");
    watcher.wait_out("<ace> after\n");
    assert_eq!(ace.finish(), 3, "{}", ace.output());
    assert!(ace.stderr().contains("line 2"), "{}", ace.output());
    assert!(ace.stderr().contains("limit is 10"), "{}", ace.output());
    let out = watcher.stdout();
    assert!(
        out.contains("<ace> short\n") && !out.contains("xxxxxxxxxxx"),
        "{out}"
    );
}

#[test]
fn a_refusal_by_the_server_exits_3_and_the_connection_stays() {
    let d = Daemon::start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    ace.line("/msg nobody hello?");
    ace.wait_err("chat: refused: ");
    ace.line("still here");
    watcher.wait_out("<ace> still here\n");
    assert_eq!(ace.finish(), 3, "{}", ace.output());
}

#[test]
fn unknown_commands_are_refused_locally_and_slashes_can_be_sent() {
    let d = Daemon::start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    ace.line("/nick ace2");
    ace.line("");
    ace.line("//nick is not a command");
    watcher.wait_out("<ace> /nick is not a command\n");
    assert_eq!(ace.finish(), 3, "{}", ace.output());
    assert!(
        ace.stderr().contains("unknown command /nick"),
        "{}",
        ace.output()
    );
    assert!(!watcher.stdout().contains("ace2"));
}

#[test]
fn hostile_text_cannot_forge_lines_or_drive_the_terminal() {
    let d = Daemon::start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    // The server refuses control characters, so bidi and zero-width ones
    // are what a peer can send.
    ace.line("abc\u{202e}fed\u{200b} end");
    watcher.wait_out(" end\n");
    assert!(
        watcher
            .stdout()
            .contains("<ace> abc\\u{202e}fed\\u{200b} end\n"),
        "{}",
        watcher.output()
    );
    assert_eq!(ace.finish(), 0, "{}", ace.output());
}

/// `rotate-key --grace … --disconnect`: the sessions on the old key are
/// told when the grace starts and a minute before it ends, so people do
/// not simply vanish; a session on the new key is told nothing.
#[test]
fn a_grace_that_disconnects_is_announced_at_its_start_and_a_minute_before_its_end() {
    let d = Daemon::start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &["--plain"]);
    let (code, body) = testkit::admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"grace_secs":62,"disconnect":true}"#),
    );
    assert_eq!(code, 200, "{body}");
    ace.wait_out(
        "notice: the server's key was replaced: the key this session joined with stops working in",
    );
    assert!(
        ace.stdout().contains("`chatctl key` prints it"),
        "{}",
        ace.output()
    );
    let new_key = d.read_key();
    let carol = Chat::joined(&d.url, &new_key, "carol", &["--plain"]);
    // The grace is 62 s (63 with the rounding up): a minute before its end
    // is a few seconds from now.
    ace.wait_out("notice: this session will be disconnected in");
    ace.line("after the warning");
    carol.wait_out("<ace> after the warning");
    assert!(!carol.stdout().contains("notice:"), "{}", carol.output());
}

/// `chat … | head -1`: once the reader of its output is gone, chat
/// leaves quietly (exit 0, no "Broken pipe" on stderr), as Unix tools do.
#[test]
fn a_closed_output_pipe_leaves_quietly() {
    use std::io::{BufRead as _, Read as _};
    let d = Daemon::start();
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    let mut cmd = command(&d.url, &d.key);
    cmd.args(["--username", "ace"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut ace = cmd.spawn().unwrap();
    let mut first = String::new();
    std::io::BufReader::new(ace.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("-!- joined as ace"), "{first}");
    // The reader is gone (dropped above): the next line has nowhere to go.
    bob.wait_out("-!- ace joined");
    bob.line("anyone there?");
    let status = testkit::wait_until("chat to leave", || ace.try_wait().unwrap());
    let mut stderr = String::new();
    ace.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "quiet");
    bob.wait_out("-!- ace left");
    assert_eq!(bob.finish(), 0);
}

#[test]
fn quit_leaves_with_exit_0() {
    let d = Daemon::start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    ace.line("bye all");
    ace.line("/quit gone fishing");
    assert_eq!(ace.wait_exit(), 0, "{}", ace.output());
    watcher.wait_out("<ace> bye all\n");
    watcher.wait_out("-!- ace left (1 online)");
}

#[test]
fn sigterm_and_ctrl_c_leave_with_exit_0() {
    let d = Daemon::start();
    let watcher = Chat::joined(&d.url, &d.key, "watcher", &[]);
    for (name, sig) in [("ace", libc::SIGTERM), ("bob", libc::SIGINT)] {
        let mut chat = Chat::joined(&d.url, &d.key, name, &[]);
        chat.signal(sig);
        assert_eq!(chat.wait_exit(), 0, "{}", chat.output());
        watcher.wait_out(&format!("-!- {name} left (1 online)"));
    }
}

#[test]
fn a_server_shutdown_exits_4_with_the_reason() {
    let mut d = Daemon::start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    d.signal(libc::SIGTERM);
    assert_eq!(ace.wait_exit(), 4, "{}", ace.output());
    assert!(
        ace.stdout()
            .contains("-!- disconnected by the server: shutdown"),
        "{}",
        ace.output()
    );
    d.wait_exit();
}

#[test]
fn a_dead_server_is_connection_lost_exit_5() {
    let d = Daemon::start();
    let mut ace = Chat::joined(&d.url, &d.key, "ace", &[]);
    drop(d); // SIGKILL: no goodbye
    assert_eq!(ace.wait_exit(), 5, "{}", ace.output());
    assert!(ace.stderr().contains("connection lost"), "{}", ace.output());
}

#[test]
fn nothing_listening_exits_69_naming_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/");
    let key = fake::token(&JoinKey([1; 32]), [9; 32]);
    let mut chat = Chat::start(&url, &key, &[]);
    assert_eq!(chat.finish(), 69, "{}", chat.output());
    assert!(chat.stderr().contains(&url), "{}", chat.output());
}

#[test]
fn an_impostor_is_detected_before_the_password_leaves_exit_11() {
    let join_key = JoinKey([3; 32]);
    let real = ServerIdentity::from_secret_bytes(&[0x20; 32]);
    let impostor = ServerIdentity::from_secret_bytes(&[0x99; 32]);
    // The impostor holds the join key, but not the real server's secret.
    let fake = Fake::start(impostor, join_key.clone(), Script::Listen);
    let mut cmd = command(&fake.url, &fake::token(&join_key, real.public()));
    cmd.env("CHAT_PASSWORD", "hunter2");
    let mut chat = Chat::spawn(cmd);
    assert_eq!(chat.finish(), 11, "{}", chat.output());
    assert!(
        chat.stderr().contains("server failed its identity check"),
        "{}",
        chat.output()
    );
    let seen = fake.seen();
    assert!(seen.auth.is_none() && seen.other_binary == 0, "{seen:?}");
}

/// `chat` as ace (password "pw", input closed) against a fake server that
/// holds the key's identity and follows `script`: its exit code, the
/// process (for its output) and what the fake saw.
fn ace_against_a_fake(script: Script) -> (i32, Chat, fake::Seen) {
    let (mut chat, fake) = ace_at_a_fake(script);
    let code = chat.finish();
    (code, chat, fake.seen())
}

/// `chat` as ace (password "pw") started against a fake server that
/// follows `script`, its input open.
fn ace_at_a_fake(script: Script) -> (Chat, Fake) {
    let join_key = JoinKey([4; 32]);
    let identity = ServerIdentity::from_secret_bytes(&[0x21; 32]);
    let public = identity.public();
    let fake = Fake::start(identity, join_key.clone(), script);
    let mut cmd = command(&fake.url, &fake::token(&join_key, public));
    // Times shown in UTC, whatever this machine's zone.
    cmd.env("CHAT_PASSWORD", "pw")
        .env("TZ", "UTC")
        .args(["--username", "ace"]);
    (Chat::spawn(cmd), fake)
}

#[test]
fn a_message_that_fails_to_open_closes_1008_exit_5() {
    let (code, chat, seen) = ace_against_a_fake(Script::ForgeAfterAuth);
    assert_eq!(code, 5, "{}", chat.output());
    assert!(
        chat.stderr()
            .contains("connection lost: the server sent a message that failed authentication"),
        "{}",
        chat.output()
    );
    let auth = seen.auth.expect("the Auth");
    assert_eq!(
        (auth.username.as_str(), auth.password.as_str()),
        ("ace", "pw")
    );
    assert_eq!(seen.close, Some(1008), "no Bye, close 1008");
    assert_eq!(seen.other_binary, 0, "no Bye");
    assert!(seen.after_auth.is_empty(), "no Bye: {:?}", seen.after_auth);
}

#[test]
fn an_event_written_as_an_array_is_refused_like_any_unreadable_event() {
    let (code, chat, seen) = ace_against_a_fake(Script::ArrayAfterAuth);
    assert_eq!(code, 5, "{}", chat.output());
    assert!(
        chat.stderr().contains("cannot read (not a JSON object)"),
        "{}",
        chat.output()
    );
    assert_eq!(seen.close, Some(1002), "{seen:?}");
}

#[test]
fn an_unreadable_event_gets_a_sealed_bye_and_close_1002_exit_5() {
    let (code, chat, seen) = ace_against_a_fake(Script::GarbleAfterAuth);
    assert_eq!(code, 5, "{}", chat.output());
    assert!(
        chat.stderr()
            .contains("connection lost: the server sent an event this client cannot read"),
        "{}",
        chat.output()
    );
    assert_eq!(seen.close, Some(1002), "{seen:?}");
    assert_eq!(seen.after_auth.len(), 1, "one sealed Bye: {seen:?}");
    let bye: serde_json::Value = serde_json::from_str(&seen.after_auth[0]).unwrap();
    assert_eq!(bye["type"], "bye", "{bye}");
    assert_eq!(bye["code"], "protocol", "{bye}");
}

/// A ban is handled by its code, `banned`, whether the join is refused
/// or the session ended: exit 17, the reason and the end shown (in the
/// local time zone: UTC here).
#[test]
fn a_ban_exits_17_with_the_reason_at_the_join_and_in_the_session() {
    let (code, chat, _) = ace_against_a_fake(Script::BanAtJoin);
    assert_eq!(code, 17, "{}", chat.output());
    assert!(
        chat.stderr()
            .contains("refused to let ace join: banned until 2031-01-01 00:00: spam\n"),
        "{}",
        chat.output()
    );
    // Input stays open: the session ends by the server's Bye alone.
    let (mut chat, _fake) = ace_at_a_fake(Script::BanAfterWelcome);
    assert_eq!(chat.wait_exit(), 17, "{}", chat.output());
    assert!(
        chat.stdout()
            .contains("-!- disconnected by the server: banned for good: spam\n"),
        "{}",
        chat.output()
    );
}

#[test]
fn the_configuration_file_and_its_profiles_fill_in_what_flags_do_not_give() {
    let (d, _dir, _file) = daemon_with_password("hunter2");
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("chat");
    std::fs::create_dir_all(&config_dir).unwrap();
    let key_file = config_dir.join("key");
    std::fs::write(&key_file, format!("{}\n", d.key)).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "url = \"ws://127.0.0.1:9/\"\nusername = \"from_file\"\nkey_file = \"{}\"\npassword_command = \"echo hunter2\"\n\n[profile.here]\nurl = \"{}\"\n",
            key_file.display(),
            d.url
        ),
    )
    .unwrap();
    let chat = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_chat"));
        cmd.args(args)
            .env_remove("CHAT_KEY")
            .env_remove("CHAT_PASSWORD")
            .env("XDG_CONFIG_HOME", home.path());
        Chat::spawn(cmd)
    };

    // The profile's URL over the top level's, the rest from the top level.
    let mut joined = chat(&["--profile", "here", "--plain"]);
    joined.wait_out("-!- joined as from_file");
    assert_eq!(joined.finish(), 0, "{}", joined.output());
    // A flag wins over the file.
    let mut flagged = chat(&["--profile", "here", "--plain", "--username", "flagged"]);
    flagged.wait_out("-!- joined as flagged");
    assert_eq!(flagged.finish(), 0, "{}", flagged.output());
    // The top level alone points at a closed port.
    let mut top = chat(&["--plain"]);
    assert_eq!(top.finish(), 69, "{}", top.output());
    // An unknown profile, then an unknown key: usage errors naming the file.
    let mut unknown = chat(&["--profile", "nope"]);
    assert_eq!(unknown.finish(), 2, "{}", unknown.output());
    assert!(
        unknown
            .stderr()
            .contains("no [profile.nope] (its profiles: here)"),
        "{}",
        unknown.output()
    );
    std::fs::write(config_dir.join("config.toml"), "password = \"hunter2\"\n").unwrap();
    let mut bad = chat(&["--plain"]);
    assert_eq!(bad.finish(), 2, "{}", bad.output());
    assert!(
        bad.stderr().contains("config.toml line 1:"),
        "{}",
        bad.output()
    );
    assert!(!bad.stderr().contains("hunter2"), "{}", bad.output());
}

/// A configuration that someone else owns, or that others can change, is
/// refused before its `password_command` runs (as root, `sudo -E chat`
/// would otherwise run another user's command); a key file others can read
/// is warned about.
#[test]
fn a_configuration_others_control_is_refused_before_its_command_runs() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().unwrap();
    let config_dir = home.path().join("chat");
    std::fs::create_dir_all(&config_dir).unwrap();
    let marker = home.path().join("ran");
    let config = config_dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "password_command = \"touch {}; echo pw\"\n",
            marker.display()
        ),
    )
    .unwrap();
    let chat = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_chat"));
        cmd.args(["--plain", "--url", "ws://127.0.0.1:9/"])
            // The known-answer token of docs/protocol.md: valid, no server.
            .env("CHAT_KEY", "chat1_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw")
            .env_remove("CHAT_PASSWORD")
            .env("XDG_CONFIG_HOME", home.path());
        Chat::spawn(cmd)
    };
    let set_mode = |mode| {
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
    };

    set_mode(0o664);
    let mut open = chat();
    assert_eq!(open.finish(), 2, "{}", open.output());
    assert!(
        open.stderr()
            .contains("can be changed by other users (mode 0664)")
            && open.stderr().contains("chmod go-w"),
        "{}",
        open.output()
    );
    assert!(!marker.exists(), "the command did not run");

    set_mode(0o644);
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: the case of a configuration owned by another uid is skipped");
    } else {
        std::os::unix::fs::chown(&config, Some(1234), Some(1234)).unwrap();
        let mut foreign = chat();
        assert_eq!(foreign.finish(), 2, "{}", foreign.output());
        assert!(
            foreign.stderr().contains("belongs to uid 1234")
                && foreign.stderr().contains("chown 0"),
            "{}",
            foreign.output()
        );
        assert!(
            !marker.exists(),
            "another user's command did not run as root"
        );
        std::os::unix::fs::chown(&config, Some(0), Some(0)).unwrap();
    }

    // Our own file, private: the command runs (the URL is closed: 69).
    let mut own = chat();
    assert_eq!(own.finish(), 69, "{}", own.output());
    assert!(marker.exists(), "{}", own.output());
}

/// A server at its connection limit sheds the connection before the
/// upgrade: with an HTTP 503, or by closing it. Both say "busy" (exit 69).
#[test]
fn a_busy_server_is_reported_as_busy_not_as_the_wrong_address() {
    use std::io::{Read as _, Write as _};
    let d = Daemon::start();
    for answer in [
        &b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"[..],
        b"",
    ] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut head = [0u8; 4096];
            let _ = conn.read(&mut head);
            let _ = conn.write_all(answer);
        });
        let mut chat = Chat::start(&url, &d.key, &["--plain"]);
        assert_eq!(chat.finish(), 69, "{}", chat.output());
        assert!(chat.stderr().contains("is busy"), "{}", chat.output());
        assert!(!chat.stderr().contains("is --url"), "{}", chat.output());
        server.join().unwrap();
    }
}

/// Several servers: the first dead, the second joins; as `--url` given
/// twice and as a comma list. With every one dead, the error names each.
#[test]
fn with_two_urls_and_the_first_dead_chat_joins_through_the_second() {
    let d = Daemon::builder()
        .config("limit_exempt = [\"127.0.0.0/8\"]\n")
        .start();
    let dead_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let dead = format!("ws://127.0.0.1:{}/", dead_port());
    let mut ace = Chat::start(&dead, &d.key, &["--url", &d.url, "--username", "ace"]);
    ace.wait_out("-!- online: ace\n");
    let list = format!("{dead}, {}", d.url);
    let mut bob = Chat::start(&list, &d.key, &["--username", "bob"]);
    bob.wait_out("-!- online: ace, bob\n");
    assert_eq!(bob.finish(), 0, "{}", bob.output());
    assert_eq!(ace.finish(), 0, "{}", ace.output());

    let other = format!("ws://127.0.0.1:{}/", dead_port());
    let mut none = Chat::start(&format!("{dead},{other}"), &d.key, &["--username", "cat"]);
    assert_eq!(none.finish(), 69, "{}", none.output());
    let err = none.stderr();
    assert!(err.contains(&dead) && err.contains(&other), "{err}");
}
