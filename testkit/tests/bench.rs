//! The real `chat-bench` binary, small and fast: its checker must catch a
//! reference server (the relay or the floor) that drops, duplicates or
//! reorders on purpose (`--fault`, a test aid), and find nothing on clean
//! runs against both references and against a real chatd (started by the
//! bench, with a password, and attached to with `--url`); the suite that
//! makes docs/performance.md's tables runs and prints them. No speed is
//! asserted, only counts: speed is the bench's output, not a test's.

use std::process::Command;

use serde_json::Value;
use testkit::Daemon;

/// Runs chat-bench with `args` (plus `--json` and short time limits);
/// returns its exit code and its JSON.
fn bench(args: &[&str]) -> (i32, Value) {
    bench_with(args, &[])
}

fn bench_with(args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-bench"));
    cmd.args(args)
        .args([
            "--json",
            "--join-limit",
            "60",
            "--send-limit",
            "60",
            "--quiet",
            "0.5",
        ])
        .env_remove("CHAT_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run chat-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "chat-bench printed no JSON ({e}); stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("an exit code"), json)
}

/// The four violation counts: lost, duplicated, reordered, malformed.
fn violations(run: &Value) -> [u64; 4] {
    let v = &run["violations"];
    ["lost", "duplicated", "reordered", "malformed"].map(|k| v[k].as_u64().expect(k))
}

/// 12 clients, 3 senders of 100 messages, on the reference server.
fn reference(extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["-n", "12", "-s", "3", "-m", "100", "--reference"];
    args.extend_from_slice(extra);
    bench(&args)
}

/// What a fault touches: the 10th, 35th, 60th and 85th message of each of
/// the 3 senders.
const FAULTY: u64 = 4 * 3;

#[test]
fn a_clean_reference_run_reports_no_violation() {
    let (code, run) = reference(&[]);
    assert_eq!(violations(&run), [0, 0, 0, 0], "{run:#}");
    assert_eq!(code, 0, "{run:#}");
    assert_eq!(run["send"]["delivered"], 12 * 3 * 100);
    assert_eq!(run["send"]["expected"], 12 * 3 * 100);
    assert_eq!(run["join"]["joined"], 12);
    assert_eq!(run["clean"], true);
    assert_eq!(run["complete"], true);
    assert!(
        run["send"]["server_cpu_us_per_delivery"].is_number(),
        "{run:#}"
    );
}

#[test]
fn dropped_messages_are_reported_as_lost() {
    let (code, run) = reference(&["--fault", "drop"]);
    let [lost, dup, reordered, malformed] = violations(&run);
    // Each to the 11 clients other than its sender.
    assert_eq!(lost, FAULTY * 11, "{run:#}");
    assert_eq!((dup, reordered, malformed), (0, 0, 0), "{run:#}");
    assert_eq!(code, 1);
    assert_eq!(run["clean"], false);
}

#[test]
fn duplicated_messages_are_reported() {
    let (code, run) = reference(&["--fault", "dup"]);
    let [lost, dup, reordered, malformed] = violations(&run);
    assert_eq!(dup, FAULTY * 11, "{run:#}");
    assert_eq!((lost, reordered, malformed), (0, 0, 0), "{run:#}");
    assert_eq!(code, 1);
}

#[test]
fn reordered_messages_are_reported() {
    let (code, run) = reference(&["--fault", "reorder"]);
    let [lost, dup, reordered, malformed] = violations(&run);
    // Held back for everyone, its sender included.
    assert_eq!(reordered, FAULTY * 12, "{run:#}");
    assert_eq!((lost, dup, malformed), (0, 0, 0), "{run:#}");
    assert_eq!(code, 1);
}

#[test]
fn chatd_and_the_floor_run_the_same_load_cleanly() {
    let (code, all) = bench(&[
        "-n",
        "12",
        "-s",
        "3",
        "-m",
        "100",
        "--compare",
        "--reference",
        "floor",
    ]);
    assert_eq!(code, 0, "{all:#}");
    for (name, run) in [("chatd", &all["chatd"]), ("floor", &all["floor"])] {
        assert_eq!(run["server"], name, "{all:#}");
        assert_eq!(violations(run), [0, 0, 0, 0], "{all:#}");
        assert_eq!(run["send"]["delivered"], 12 * 3 * 100, "{all:#}");
        assert!(run["send"]["server_cpu_us_per_delivery"].is_number());
        assert!(run["memory"]["idle_kib_per_connection"].is_number());
    }
    assert!(all["floor_ratios"]["join_secs"].is_number(), "{all:#}");
    assert!(all.get("reference").is_none() && all.get("ratios").is_none());
}

#[test]
fn a_run_over_rooms_delivers_each_message_to_its_room_only() {
    // 12 clients in 3 rooms (4 each), 6 senders (2 a room) of 50 messages:
    // each client hears its room's 2 senders only; a message that reached
    // another room would be counted malformed.
    let (code, run) = bench(&["-n", "12", "-s", "6", "-m", "50", "--rooms", "3"]);
    assert_eq!(code, 0, "{run:#}");
    assert_eq!(run["rooms"], 3, "{run:#}");
    assert_eq!(violations(&run), [0, 0, 0, 0], "{run:#}");
    assert_eq!(run["send"]["expected"], 12 * 2 * 50, "{run:#}");
    assert_eq!(run["send"]["delivered"], 12 * 2 * 50, "{run:#}");
}

#[test]
fn the_floors_faults_are_caught() {
    for (fault, expected) in [
        ("drop", [FAULTY * 11, 0, 0, 0]),
        ("dup", [0, FAULTY * 11, 0, 0]),
        ("reorder", [0, 0, FAULTY * 12, 0]),
    ] {
        let (code, run) = reference(&["floor", "--fault", fault]);
        assert_eq!(run["server"], "floor");
        assert_eq!(violations(&run), expected, "{fault}: {run:#}");
        assert_eq!(code, 1, "{fault}");
    }
}

#[test]
fn the_suite_prints_its_tables() {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["suite", "--smoke", "--runs", "1", "--commit", "abc1234"])
        .args(["joins", "scale"])
        .output()
        .expect("run chat-bench suite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("commit `abc1234`"), "{stdout}");
    assert!(stdout.contains("### Join storms"), "{stdout}");
    assert!(stdout.contains("| N = 10, with a password | "), "{stdout}");
    assert!(
        stdout.contains("`chat-bench -n 100 -s 1 -m 1 --join-limit 60 --compare --reference floor"),
        "{stdout}"
    );
    assert!(stdout.contains("| N = 180 | "), "{stdout}");
    assert!(stdout.contains("- memory ≈ "), "{stdout}");
    assert!(stdout.contains("- join time ≈ "), "{stdout}");
}

#[test]
fn a_fixed_rate_run_is_clean_and_complete() {
    let (code, run) = bench(&[
        "-n",
        "8",
        "-s",
        "2",
        "-m",
        "40",
        "--reference",
        "--rate",
        "400",
    ]);
    assert_eq!(violations(&run), [0, 0, 0, 0], "{run:#}");
    assert_eq!(code, 0, "{run:#}");
    assert_eq!(run["pace"], "rate");
    assert_eq!(run["send"]["delivered"], 8 * 2 * 40);
}

#[test]
fn a_chatd_run_with_a_password_is_clean_and_counts_presence() {
    // From three source addresses (127.0.0.1, .2, .3), as large runs do.
    let (code, run) = bench(&[
        "-n",
        "12",
        "-s",
        "3",
        "-m",
        "50",
        "--password",
        "--sources",
        "3",
    ]);
    assert_eq!(violations(&run), [0, 0, 0, 0], "{run:#}");
    assert_eq!(code, 0, "{run:#}");
    assert_eq!(run["server"], "chatd");
    assert_eq!(run["password"], true);
    assert_eq!(run["join"]["joined"], 12);
    assert_eq!(run["send"]["delivered"], 12 * 3 * 50);
    // Someone hears of each join but the first (however a server groups
    // them, at least one event).
    assert!(
        run["join"]["presence_events"].as_u64().unwrap() >= 1,
        "{run:#}"
    );
    assert!(
        run["memory"]["peak_rss_kib"].as_u64().unwrap() > 0,
        "{run:#}"
    );
}

#[test]
fn a_running_chatd_is_measured_through_url_key_and_pid() {
    let d = Daemon::builder()
        .config("limit_exempt = [\"127.0.0.0/8\"]\nrate_burst = 100000\nrate_per_second = 100000\n")
        .start();
    let pid = d.pid().to_string();
    let (code, run) = bench_with(
        &[
            "-n",
            "6",
            "-s",
            "2",
            "-m",
            "30",
            "--url",
            &d.url,
            "--server-pid",
            &pid,
        ],
        &[("CHAT_KEY", &d.key)],
    );
    assert_eq!(violations(&run), [0, 0, 0, 0], "{run:#}");
    assert_eq!(code, 0, "{run:#}");
    assert_eq!(run["server_pid"], d.pid());
    assert!(run["send"]["server_cpu_ms"].is_number(), "{run:#}");
}

#[test]
fn a_wrong_invocation_names_the_problem() {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["-n", "3", "-s", "5", "--reference"])
        .output()
        .expect("run chat-bench");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--senders 5 must be between 1 and --clients 3"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["--url", "ws://127.0.0.1:9/"])
        .env_remove("CHAT_KEY")
        .output()
        .expect("run chat-bench");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CHAT_KEY"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["--reference", "floor", "--nodes", "2"])
        .output()
        .expect("run chat-bench");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("add --compare"), "{stderr}");
}

#[test]
fn server_and_load_can_be_pinned_to_a_cpu() {
    let (code, run) = bench(&[
        "-n",
        "4",
        "-s",
        "1",
        "-m",
        "20",
        "--reference",
        "--pin-server",
        "0",
        "--pin-load",
        "0",
    ]);
    assert_eq!(violations(&run), [0, 0, 0, 0], "{run:#}");
    assert_eq!(code, 0, "{run:#}");
    // The machine's CPUs, not only the one the bench was pinned to.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        run["machine"]["cpus"].as_u64().unwrap() >= cpus as u64,
        "{run:#}"
    );
}

#[test]
fn a_run_over_three_cluster_nodes_is_clean_in_one_order() {
    // The bench starts a nats-server and three chatd nodes joined to it;
    // clients and senders are spread over the nodes, and every client
    // checks every sender's messages: none lost, none twice, in order.
    let (code, run) = bench(&["-n", "12", "-s", "3", "-m", "50", "--nodes", "3"]);
    assert_eq!(violations(&run), [0, 0, 0, 0], "{run:#}");
    assert_eq!(code, 0, "{run:#}");
    assert_eq!(run["nodes"], 3);
    assert_eq!(run["nats"], true);
    assert_eq!(run["server_pids"].as_array().map(Vec::len), Some(3));
    assert_eq!(run["join"]["joined"], 12);
    assert_eq!(run["send"]["delivered"], 12 * 3 * 50);
    assert!(run["send"]["server_cpu_ms"].is_number(), "{run:#}");
    assert!(run["send"]["nats_cpu_ms"].is_number(), "{run:#}");
}
