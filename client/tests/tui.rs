//! End-to-end: the full-screen `chat` on a real terminal (tmux) against
//! the real `chatd`, with line clients (`--plain`) as the other members.

mod common;

use common::Chat;
use common::proxy::Proxy;
use common::tmux::{self, Tmux};
use testkit::Daemon;

/// The row that starts with `> `: the input line.
fn input_row(screen: &[String]) -> String {
    screen
        .iter()
        .rev()
        .find(|row| row.starts_with('>'))
        .cloned()
        .unwrap_or_default()
}

fn count(screen: &[String], needle: &str) -> usize {
    screen.iter().filter(|row| row.contains(needle)).count()
}

/// Joins `name` full screen and waits for the live divider.
fn tui(d: &Daemon, name: &str) -> Tmux {
    let term = Tmux::chat(&d.url, &d.key, name, &[], 100, 30);
    term.wait_text("─── live ───");
    term
}

#[test]
fn incoming_traffic_leaves_a_half_typed_line_whole_and_own_lines_show_once() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let ace = tui(&d, "ace");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    ace.wait_text("bob joined");

    ace.type_text("half typed, not sent");
    ace.wait_for("the half-typed line", |s| {
        input_row(s) == "> half typed, not sent"
    });
    for i in 0..5 {
        bob.line(&format!("traffic {i} from bob"));
    }
    let screen = ace.wait_text("<bob> traffic 4 from bob");
    assert_eq!(input_row(&screen).trim_end(), "> half typed, not sent");
    assert_eq!(
        screen.last().map(|r| r.trim_end().to_owned()),
        Some("> half typed, not sent".into()),
        "the input stays at the bottom:\n{}",
        screen.join("\n")
    );

    ace.keys(&["C-u"]);
    ace.type_text("my own line");
    ace.keys(&["Enter"]);
    bob.wait_out("<ace> my own line\n");
    let screen = ace.wait_for("the echo", |s| {
        count(s, "<ace> my own line") == 1 && count(s, "(pending)") == 0
    });
    assert_eq!(count(&screen, "my own line"), 1, "{}", screen.join("\n"));
    assert_eq!(input_row(&screen).trim_end(), ">");
    assert_eq!(bob.finish(), 0, "{}", bob.output());
}

#[test]
fn a_summary_updates_the_count_and_refreshes_the_user_list_without_a_line() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::builder()
        .config("presence_summary_above = 0\npresence_interval = \"100ms\"\n")
        .start();
    let ace = tui(&d, "ace");
    let mut bob = Chat::joined(&d.url, &d.key, "bobby", &["--plain"]);
    let mut carol = Chat::joined(&d.url, &d.key, "carol", &["--plain"]);
    // However the joins fall into summaries, the count reaches 3 and the
    // list beside the pane is asked for again: both names come into it.
    // The list's refresh can answer before the summary that says 3 is
    // shown (the `who` sees carol already): wait for both.
    let screen = ace.wait_for("the refreshed user list", |s| {
        count(s, " · 3 online · ") == 1
            && count(s, "joined (3 online)") >= 1
            && s.iter().any(|r| r.trim_end().ends_with("│ bobby"))
            && s.iter().any(|r| r.trim_end().ends_with("│ carol"))
    });
    assert_eq!(
        count(&screen, "joined (3 online)"),
        1,
        "{}",
        screen.join("\n")
    );
    assert_eq!(count(&screen, "bobby joined"), 0, "{}", screen.join("\n"));
    // The refresh is not a `/who`: it shows no line.
    assert_eq!(count(&screen, "online: "), 0, "{}", screen.join("\n"));
    assert_eq!(bob.finish(), 0);
    assert_eq!(carol.finish(), 0);
}

#[test]
fn tab_completes_a_name_and_msg_reaches_only_its_target() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let ace = tui(&d, "ace");
    let mut bob = Chat::joined(&d.url, &d.key, "bobby", &["--plain"]);
    let mut carol = Chat::joined(&d.url, &d.key, "carol", &["--plain"]);
    ace.wait_text("carol joined");

    ace.type_text("/msg bo");
    ace.keys(&["Tab"]);
    ace.wait_for("the completed name", |s| {
        input_row(s).trim_end() == "> /msg bobby"
    });
    ace.type_text("the secret");
    ace.keys(&["Enter"]);
    bob.wait_out("*ace → bobby* the secret\n");
    ace.wait_text("ace → bobby: the secret");

    // Something everyone gets, after the DM: carol has seen all before it.
    // The DM opened bobby's own buffer (a server with rooms): back to the
    // room's (Alt-1) first.
    ace.keys(&["M-1"]);
    ace.type_text("for everyone");
    ace.keys(&["Enter"]);
    carol.wait_out("<ace> for everyone\n");
    assert!(!carol.stdout().contains("secret"), "{}", carol.output());
    assert_eq!(bob.finish(), 0);
    assert_eq!(carol.finish(), 0);
}

#[test]
fn a_resize_keeps_the_screen_whole() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let ace = tui(&d, "ace");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    ace.wait_text("bob joined");
    bob.line("a long line that will have to wrap once the terminal is narrow enough for it");
    ace.wait_text("<bob> a long line");
    ace.type_text("still here");
    ace.wait_for("the typed input", |s| {
        input_row(s).trim_end() == "> still here"
    });

    ace.resize(50, 15);
    let screen = ace.wait_for("the narrow layout", |s| {
        s.len() == 15 && s[0].contains("connected") && !s.iter().any(|r| r.contains("│ bob"))
    });
    assert_eq!(
        input_row(&screen).trim_end(),
        "> still here",
        "{}",
        screen.join("\n")
    );
    assert!(
        count(&screen, "<bob> a long line") == 1,
        "{}",
        screen.join("\n")
    );

    ace.resize(100, 30);
    let screen = ace.wait_for("the wide layout", |s| {
        s.len() == 30
            && s.iter()
                .any(|r| r.ends_with("│ bob") || r.contains("│ bob "))
    });
    assert_eq!(
        input_row(&screen).trim_end(),
        "> still here",
        "{}",
        screen.join("\n")
    );
    assert_eq!(bob.finish(), 0);
}

#[test]
fn ctrl_c_leaves_and_restores_the_terminal() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    let ace = tui(&d, "ace");
    bob.wait_out("-!- ace joined");
    ace.type_text("unsent");
    ace.keys(&["C-c"]);
    // A draft is typed: asked first, then a second Ctrl-C leaves (3).
    ace.wait_text("a draft: Ctrl-C or y leaves (exit 3)");
    ace.keys(&["C-c"]);
    bob.wait_out("-!- ace left (1 online)");
    let screen = ace.wait_text("end-of-stty");
    let all = screen.join("\n");
    assert!(all.contains("exit=3"), "{all}");
    let words: Vec<&str> = all.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(words.contains(&mode), "{mode} is on again:\n{all}");
    }
    assert!(!all.contains(&d.key), "the key is never shown");
    assert_eq!(bob.finish(), 0);
}

#[test]
fn sigterm_and_sighup_leave_and_restore_the_terminal() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    for (sig, name) in [(libc::SIGTERM, "ace"), (libc::SIGHUP, "cat")] {
        let term = tui(&d, name);
        bob.wait_out(&format!("-!- {name} joined"));
        testkit::signal(term.chat_pid(), sig);
        bob.wait_out(&format!("-!- {name} left (1 online)"));
        let all = term.wait_text("end-of-stty").join("\n");
        assert!(all.contains("exit=0"), "{all}");
        let words: Vec<&str> = all.split_whitespace().collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(words.contains(&mode), "{mode} is on again:\n{all}");
        }
    }
    assert_eq!(bob.finish(), 0);
}

#[test]
fn ctrl_z_suspends_with_the_terminal_restored_and_continuing_redraws() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let ace = Tmux::shell_running_chat(&d.url, &d.key, "ace", 100, 30);
    ace.wait_text("─── live ───");
    ace.type_text("kept across the stop");
    ace.wait_for("the typed input", |s| {
        input_row(s).trim_end() == "> kept across the stop"
    });
    let pid = ace.chat_pid();
    ace.keys(&["C-z"]);
    // Stopped: the full screen is gone (the shell's screen is back).
    testkit::wait_until("chat to stop", || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat.rsplit_once(") ")?.1.chars().next()?;
        (state == 'T').then_some(())
    });
    ace.wait_text("Stopped");
    ace.wait_for("the shell's screen", |s| {
        !s.iter().any(|r| r.contains("─── live ───"))
    });
    ace.type_text("fg");
    ace.keys(&["Enter"]);
    let screen = ace.wait_for("the full screen again", |s| {
        s.iter().any(|r| r.contains("─── live ───"))
            && input_row(s).trim_end() == "> kept across the stop"
    });
    assert!(screen[0].contains("connected"), "{}", screen.join("\n"));
}

/// A kick keeps the screen: the reason in the pane, the scrollback
/// still there, no reconnect; `q` leaves with exit 4 and the reason is
/// said again on the terminal given back.
#[test]
fn a_kick_keeps_the_screen_with_the_reason_and_q_leaves_with_4() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let ace = tui(&d, "ace");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    ace.wait_text("bob joined");
    bob.line("before the kick");
    ace.wait_text("<bob> before the kick");
    let (code, body) = testkit::admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/users/ace/kick",
        Some(r#"{"reason":"spamming"}"#),
    );
    assert_eq!(code, 200, "{body}");
    let screen = ace.wait_text("kicked: spamming");
    let all = screen.join("\n");
    assert!(screen[0].contains("session ended"), "{all}");
    assert_eq!(count(&screen, "<bob> before the kick"), 1, "{all}");
    assert_eq!(count(&screen, "end-of-stty"), 0, "still running: {all}");
    bob.wait_out("-!- ace left");
    ace.keys(&["q"]);
    let all = ace.wait_text("end-of-stty").join("\n");
    assert!(all.contains("exit=4"), "{all}");
    assert!(
        all.contains("chat: disconnected by the server: kicked: spamming"),
        "{all}"
    );
    assert_eq!(bob.finish(), 0);
}

/// Ctrl-C with a line that could not be sent (the server is down) asks
/// first; a second Ctrl-C leaves, and chat exits 3.
#[test]
fn quitting_with_a_pending_line_asks_first_and_exits_3() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let mut d = Daemon::start();
    let ace = tui(&d, "ace");
    assert!(d.terminate().success(), "{}", d.log());
    ace.wait_text("reconnecting");
    ace.type_text("typed while the server is down");
    ace.keys(&["Enter"]);
    ace.wait_text("(pending)");
    ace.keys(&["C-c"]);
    let screen = ace.wait_text("1 line not sent: Ctrl-C or y leaves (exit 3)");
    assert_eq!(count(&screen, "end-of-stty"), 0, "{}", screen.join("\n"));
    ace.keys(&["C-c"]);
    let all = ace.wait_text("end-of-stty").join("\n");
    assert!(all.contains("exit=3"), "{all}");
    assert!(all.contains("left with lines not sent"), "{all}");
}

/// The password changed and the server restarted: the rejoin is refused,
/// and chat asks for the new password in place (masked) and joins with
/// it, the scrollback kept.
#[test]
fn after_a_password_change_and_a_restart_the_new_password_is_asked_for_in_place() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let dir = tempfile::tempdir().unwrap();
    let server_file = dir.path().join("server-password");
    std::fs::write(&server_file, "old secret\n").unwrap();
    let client_file = dir.path().join("client-password");
    std::fs::write(&client_file, "old secret\n").unwrap();
    let mut d = Daemon::builder()
        .arg("--password-file")
        .arg(server_file.to_str().unwrap())
        .start();
    let file_arg = client_file.to_str().unwrap().to_owned();
    let ace = Tmux::chat(
        &d.url,
        &d.key,
        "ace",
        &["--password-file", &file_arg],
        100,
        30,
    );
    ace.wait_text("─── live ───");
    ace.type_text("said before");
    ace.keys(&["Enter"]);
    ace.wait_for("the echo", |s| {
        count(s, "<ace> said before") == 1 && count(s, "(pending)") == 0
    });

    assert!(d.terminate().success(), "{}", d.log());
    std::fs::write(&server_file, "new secret\n").unwrap();
    let _again = Daemon::builder()
        .same_dirs_as(&d)
        .listen(format!("127.0.0.1:{}", d.port))
        .arg("--password-file")
        .arg(server_file.to_str().unwrap())
        .start();
    let screen = ace.wait_text("> password:");
    let all = screen.join("\n");
    assert!(all.contains("refused to let ace join"), "{all}");
    assert_eq!(count(&screen, "end-of-stty"), 0, "{all}");
    ace.type_text("new secret");
    let screen = ace.wait_text("> password: ••••••••••");
    assert!(!screen.join("\n").contains("new secret"), "masked");
    ace.keys(&["Enter"]);
    let screen = ace.wait_text("rejoined as ace");
    let all = screen.join("\n");
    assert_eq!(
        count(&screen, "<ace> said before"),
        1,
        "the scrollback kept: {all}"
    );
    assert!(screen[0].contains("connected"), "{all}");
    ace.type_text("and after");
    ace.keys(&["Enter"]);
    ace.wait_for("the echo after the rejoin", |s| {
        count(s, "<ace> and after") == 1 && count(s, "(pending)") == 0
    });
}

#[test]
fn a_panic_restores_the_terminal_before_it_is_reported() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    // Debug builds panic after the first frame when this is set.
    let term = Tmux::chat_with_env(&d.url, &d.key, "ace", "CHAT_DEBUG_PANIC=1 RUST_BACKTRACE=0");
    let all = term.wait_text("end-of-stty").join("\n");
    assert!(all.contains("exit=101"), "{all}");
    assert!(
        all.contains("a panic to test the terminal's restore"),
        "{all}"
    );
    let words: Vec<&str> = all.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(words.contains(&mode), "{mode} is on again:\n{all}");
    }
}

/// The row index of the first row holding `needle`.
fn row_of(screen: &[String], needle: &str) -> Option<usize> {
    screen.iter().position(|row| row.contains(needle))
}

#[test]
fn lines_typed_during_an_outage_arrive_once_and_in_order_after_the_rejoin() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let mut d = Daemon::start();
    let ace = tui(&d, "ace");
    let bob = tui(&d, "bob");
    ace.wait_text("bob joined");
    ace.type_text("before the outage");
    ace.keys(&["Enter"]);
    bob.wait_text("<ace> before the outage");

    assert!(d.terminate().success(), "{}", d.log());
    ace.wait_text("reconnecting");
    bob.wait_text("reconnecting");
    for line in ["one", "two", "three"] {
        ace.type_text(&format!("outage line {line}"));
        ace.keys(&["Enter"]);
    }
    ace.wait_for("three pending lines", |s| count(s, "(pending)") == 3);

    let again = Daemon::builder()
        .same_dirs_as(&d)
        .listen(format!("127.0.0.1:{}", d.port))
        .start();
    for term in [&ace, &bob] {
        let screen = term.wait_for("every line, once, in order", |s| {
            count(s, "(pending)") == 0
                && ["one", "two", "three"]
                    .iter()
                    .all(|l| count(s, &format!("<ace> outage line {l}")) == 1)
        });
        let all = screen.join("\n");
        let rows: Vec<usize> = ["one", "two", "three"]
            .iter()
            .map(|l| row_of(&screen, &format!("outage line {l}")).unwrap())
            .collect();
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "in order:\n{all}");
        assert_eq!(count(&screen, "before the outage"), 1, "{all}");
        assert!(screen[0].contains("connected"), "{all}");
    }
    // The room got each line exactly once: its history says so.
    let mut carol = Chat::joined(&again.url, &again.key, "carol", &["--plain"]);
    carol.wait_out("<ace> outage line three");
    assert_eq!(carol.finish(), 0);
    let history = carol.stdout();
    for line in ["one", "two", "three"] {
        assert_eq!(
            history
                .matches(&format!("<ace> outage line {line}\n"))
                .count(),
            1,
            "{history}"
        );
    }
}

#[test]
fn a_line_the_server_took_before_the_link_dropped_is_not_sent_again() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let proxy = Proxy::start(d.port);
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    let ace = Tmux::chat(&proxy.url, &d.key, "ace", &[], 100, 30);
    ace.wait_text("─── live ───");
    bob.wait_out("-!- ace joined");

    // The server takes the line, but its echo never reaches ace.
    proxy.hold_server(true);
    ace.type_text("taken once");
    ace.keys(&["Enter"]);
    bob.wait_out("<ace> taken once\n");
    ace.wait_text("(pending)");

    proxy.cut();
    proxy.hold_server(false);
    let screen = ace.wait_for("the rejoin, the line confirmed from history", |s| {
        count(s, "rejoined as ace") == 1 && count(s, "(pending)") == 0
    });
    assert_eq!(
        count(&screen, "<ace> taken once"),
        1,
        "{}",
        screen.join("\n")
    );

    ace.type_text("and after");
    ace.keys(&["Enter"]);
    bob.wait_out("<ace> and after\n");
    assert_eq!(
        bob.stdout().matches("<ace> taken once\n").count(),
        1,
        "{}",
        bob.output()
    );
    assert_eq!(bob.finish(), 0);
}

/// Emoji sequences whose width terminals disagree on (tmux counts 👍🏽 as
/// four columns, ratatui as two) are drawn whole, with room for either
/// reading, and nothing is left behind once they scroll away.
#[test]
fn emoji_sequences_and_flags_show_whole_and_leave_no_ghosts() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let ace = Tmux::chat(&d.url, &d.key, "ace", &[], 100, 12);
    ace.wait_text("─── live ───");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    ace.wait_text("bob joined");
    bob.line("thumbs 👍🏽 flags 🇩🇪🇯🇵 ok ☺\u{fe0f} end");
    let screen = ace.wait_text("<bob> thumbs");
    let row = screen
        .iter()
        .find(|r| r.contains("<bob> thumbs"))
        .unwrap()
        .clone();
    assert!(row.contains("👍🏽"), "the skin tone stays: {row:?}");
    assert!(row.contains("🇩🇪🇯🇵"), "{row:?}");
    assert!(row.contains("end"), "{row:?}");
    ace.type_text("👍🏽🇩🇪 typed");
    ace.wait_for("the typed emoji", |s| {
        input_row(s).trim_end().ends_with("typed") && input_row(s).contains("👍🏽🇩🇪")
    });
    // Push the line off the pane: no piece of it may stay behind.
    for i in 0..12 {
        bob.line(&format!("filler {i}"));
    }
    let screen = ace.wait_text("<bob> filler 11");
    // All but the input row, which still holds what was typed.
    let text = screen[..screen.len() - 1].join("\n");
    assert!(
        !text.contains('🏽') && !text.contains('🇩') && !text.contains("end"),
        "a ghost is left:\n{text}"
    );
    ace.keys(&["C-u"]);
    let screen = ace.wait_for("the empty input", |s| input_row(s).trim_end() == ">");
    assert!(!screen.join("\n").contains('🏽'), "{}", screen.join("\n"));
    assert_eq!(bob.finish(), 0);
}

/// The full-screen client with two servers (two proxies to one chatd):
/// the first goes down, the second is down too for a while; the rejoin
/// goes through the second once it is up, and resumes after the last
/// message seen: what came meanwhile shows once, nothing twice, no gap.
#[test]
fn a_rejoin_tries_the_next_server_and_resumes_after_the_last_message_seen() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let (first, second) = (Proxy::start(d.port), Proxy::start(d.port));
    let urls = format!("{},{}", first.url, second.url);
    let ace = Tmux::chat(&urls, &d.key, "ace", &[], 100, 30);
    ace.wait_text("─── live ───");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    ace.wait_text("bob joined");
    bob.line("seen before");
    ace.wait_text("<bob> seen before");

    second.refuse(true);
    first.refuse(true);
    first.cut();
    ace.wait_text("reconnecting");
    bob.wait_out("-!- ace left");
    for n in 1..=3 {
        bob.line(&format!("while ace was away {n}"));
        bob.wait_out(&format!("<bob> while ace was away {n}\n"));
    }
    second.refuse(false);
    let screen = ace.wait_for("the rejoin through the second server", |s| {
        count(s, "rejoined as ace") == 1 && count(s, "while ace was away 3") == 1
    });
    let all = screen.join("\n");
    for n in 1..=3 {
        assert_eq!(
            count(&screen, &format!("<bob> while ace was away {n}")),
            1,
            "{all}"
        );
    }
    assert_eq!(count(&screen, "<bob> seen before"), 1, "{all}");
    assert_eq!(count(&screen, "messages were missed"), 0, "{all}");
    let port = second.url.trim_start_matches("ws://").trim_end_matches('/');
    assert!(screen[0].contains(port), "the bar names the server: {all}");
    bob.line("live again");
    ace.wait_text("<bob> live again");
    assert_eq!(bob.finish(), 0);
}

/// The server crashes (`kill -9`) and restarts: its ids jump by a million,
/// and a rejoin whose history starts past the jump says nothing was
/// missed (the server said it resumed, with no gap). Away for longer than
/// the history, after the crash, the rejoin still says messages were
/// missed.
#[test]
fn a_rejoin_after_the_server_crashed_says_messages_were_missed_only_when_they_were() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let config = "history = 3\n";
    let mut d = Daemon::builder().config(config).start();
    let proxy = Proxy::start(d.port);
    let ace = Tmux::chat(&proxy.url, &d.key, "ace", &[], 100, 30);
    ace.wait_text("─── live ───");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    ace.wait_text("bob joined");
    bob.line("before the crash");
    ace.wait_text("<bob> before the crash");
    let file = d.state_dir.join("history");
    testkit::wait_until("the line on disk", || {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        text.contains("before the crash").then_some(())
    });
    proxy.refuse(true);
    d.signal(libc::SIGKILL);
    d.wait_exit();
    ace.wait_text("reconnecting");
    assert_eq!(bob.wait_exit(), 5, "bob's link was lost");
    let d = Daemon::builder()
        .config(config)
        .same_dirs_as(&d)
        .listen(format!("127.0.0.1:{}", d.port))
        .start();
    let mut carol = Chat::joined(&d.url, &d.key, "carol", &["--plain"]);
    carol.line("after the restart");
    carol.wait_out("<carol> after the restart\n");
    proxy.refuse(false);
    let screen = ace.wait_for("the rejoin after the crash", |s| {
        count(s, "rejoined as ace") == 1 && count(s, "<carol> after the restart") == 1
    });
    let all = screen.join("\n");
    assert_eq!(count(&screen, "messages were missed"), 0, "{all}");
    assert_eq!(count(&screen, "<bob> before the crash"), 1, "{all}");

    proxy.refuse(true);
    proxy.cut();
    ace.wait_text("reconnecting");
    carol.wait_out("-!- ace left");
    for n in 1..=5 {
        carol.line(&format!("away line {n}"));
        carol.wait_out(&format!("<carol> away line {n}\n"));
    }
    proxy.refuse(false);
    // Waited for whole: tmux may show a frame half drawn.
    let screen = ace.wait_for("the second rejoin, the note and the history", |s| {
        count(s, "rejoined as ace") == 2
            && count(s, "messages were missed") == 1
            && count(s, "<carol> away line 5") == 1
    });
    let all = screen.join("\n");
    assert_eq!(count(&screen, "<carol> away line 1"), 0, "{all}");
    assert_eq!(carol.finish(), 0);
}

/// Away for longer than the server's history: the rejoin says that some
/// messages were missed, and shows what the server still keeps.
#[test]
fn a_rejoin_after_more_than_the_history_says_messages_were_missed() {
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::builder().config("history = 2\n").start();
    let proxy = Proxy::start(d.port);
    let ace = Tmux::chat(&proxy.url, &d.key, "ace", &[], 100, 30);
    ace.wait_text("─── live ───");
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    ace.wait_text("bob joined");
    proxy.refuse(true);
    proxy.cut();
    ace.wait_text("reconnecting");
    bob.wait_out("-!- ace left");
    for n in 1..=5 {
        bob.line(&format!("away line {n}"));
        bob.wait_out(&format!("<bob> away line {n}\n"));
    }
    proxy.refuse(false);
    // Waited for whole: tmux may show a frame half drawn.
    let screen = ace.wait_for("the rejoin, the note and the history", |s| {
        count(s, "rejoined as ace") == 1
            && count(s, "messages were missed") == 1
            && count(s, "<bob> away line 5") == 1
    });
    let all = screen.join("\n");
    assert_eq!(count(&screen, "<bob> away line 1"), 0, "{all}");
    assert_eq!(bob.finish(), 0);
}

/// With `log_dir` in the configuration, the lines shown are logged, one
/// file per server, private, escaped as on screen; the history of the
/// join is not (it was logged when it was live).
#[test]
fn lines_are_logged_to_a_private_file_escaped_as_on_screen() {
    use std::os::unix::fs::MetadataExt as _;
    if !tmux::available() {
        return eprintln!("tmux is not installed: skipped");
    }
    let d = Daemon::start();
    let mut bob = Chat::joined(&d.url, &d.key, "bob", &["--plain"]);
    bob.line("before ace joined");
    bob.wait_out("<bob> before ace joined");
    let home = tempfile::tempdir().unwrap();
    let logs = home.path().join("logs");
    std::fs::create_dir_all(home.path().join("chat")).unwrap();
    std::fs::write(
        home.path().join("chat").join("config.toml"),
        format!("log_dir = \"{}\"\n", logs.display()),
    )
    .unwrap();
    let env = format!("XDG_CONFIG_HOME={}", home.path().display());
    let ace = Tmux::chat_with_env(&d.url, &d.key, "ace", &env);
    ace.wait_text("─── live ───");
    bob.wait_out("-!- ace joined");
    bob.line("hello\u{202e}evil ace");
    ace.wait_text("<bob> hello");
    ace.keys(&["C-c"]);
    ace.wait_text("end-of-stty");
    let port = d
        .url
        .trim_start_matches("ws://127.0.0.1:")
        .trim_end_matches('/');
    let file = logs.join(format!("127.0.0.1_{port}.log"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&logs).unwrap().mode() & 0o777, 0o700);
    assert!(text.contains(" <bob> hello\\u{202e}evil ace\n"), "{text}");
    assert!(!text.contains('\u{202e}'), "{text}");
    assert!(
        !text.contains("before ace joined"),
        "history is not logged: {text}"
    );
    assert_eq!(bob.finish(), 0);
}
