//! chatd as a system service: sd_notify, socket activation, signals,
//! single instance, configuration errors.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat_protocol::{ByeCode, ServerEvent};
use testkit::{Daemon, Notify, RawClient, bin};

#[test]
fn notify_ready_status_reloading_stopping() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut notify, path) = Notify::bind(tmp.path());
    let mut d = Daemon::builder().env("NOTIFY_SOCKET", path).start();
    let ready = notify.expect("READY=1");
    assert!(ready.contains("STATUS=0 users online"), "{ready}");
    d.signal(libc::SIGHUP);
    let reloading = notify.expect("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    notify.expect("READY=1");
    d.wait_for_log("reloaded the configuration");
    d.signal(libc::SIGTERM);
    notify.expect("STOPPING=1");
    assert!(d.wait_exit().success());
}

#[test]
fn watchdog_pings_when_enabled() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut notify, path) = Notify::bind(tmp.path());
    let _d = Daemon::builder()
        .env("NOTIFY_SOCKET", path)
        .env("WATCHDOG_USEC", "200000")
        .start();
    notify.expect("READY=1");
    notify.expect("WATCHDOG=1");
    notify.expect("WATCHDOG=1");
}

#[test]
fn status_line_follows_the_room() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut notify, path) = Notify::bind(tmp.path());
    let d = Daemon::builder().env("NOTIFY_SOCKET", path).start();
    notify.expect("READY=1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _ace = rt
        .block_on(RawClient::join(&d.url, &d.key, "ace", ""))
        .joined();
    notify.expect("STATUS=1 user online");
}

/// The messages-per-minute figure of a `STATUS=… N messages/min …` datagram.
fn messages_per_minute(datagram: &str) -> Option<u64> {
    let status = datagram.lines().find_map(|l| l.strip_prefix("STATUS="))?;
    let before = status.split(" message").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

#[test]
fn status_line_reports_the_message_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut notify, path) = Notify::bind(tmp.path());
    let d = Daemon::builder().env("NOTIFY_SOCKET", path).start();
    let ready = notify.expect("READY=1");
    assert_eq!(messages_per_minute(&ready), Some(0), "{ready}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut ace = RawClient::join(&d.url, &d.key, "ace", "").await.joined();
        for i in 0..3 {
            let text = format!("m{i}");
            ace.send(&chat_protocol::ClientEvent::Say {
                room: None,
                text: text.clone(),
                cid: None,
            })
            .await;
            ace.recv_until("the echo", |e| {
                matches!(e, ServerEvent::Message(m) if m.text == text).then_some(())
            })
            .await;
        }
    });
    // The rate is sampled every few seconds; the deadline is far above that.
    let status = notify.expect_that("a non-zero message rate", |m| {
        messages_per_minute(m).is_some_and(|n| n > 0)
    });
    assert!(messages_per_minute(&status).unwrap() <= 3, "{status}");
    let (_, body) = testkit::admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(body["messages_total"], 3, "{body}");
    assert!(body["messages_per_minute"].as_u64().unwrap() > 0, "{body}");
}

#[tokio::test]
async fn sigterm_with_clients_sends_bye_and_1001_then_exits_0() {
    let mut d = Daemon::start();
    let mut clients = Vec::new();
    for name in ["ace", "bob", "cat"] {
        clients.push(RawClient::join(&d.url, &d.key, name, "").await.joined());
    }
    let started = Instant::now();
    d.signal(libc::SIGTERM);
    for c in &mut clients {
        let (events, close) = c.recv_to_close().await;
        assert_eq!(close.0, 1001);
        assert!(events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::Shutdown,
                ..
            }
        )));
    }
    assert!(d.wait_exit().success(), "{}", d.log());
    // A liveness bound, not a speed claim: the contract is "within 5 s".
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        !d.runtime_dir.join("admin.sock").exists(),
        "the admin socket is removed on exit"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs chatd under systemd-socket-activate with the given `-l` sockets.
fn activated(sockets: &[String], tmp: &Path) -> std::process::Child {
    activated_with(sockets, tmp, &[])
}

/// As [`activated`], with more arguments for chatd.
fn activated_with(sockets: &[String], tmp: &Path, args: &[&str]) -> std::process::Child {
    let mut cmd = Command::new("systemd-socket-activate");
    for s in sockets {
        cmd.arg("-l").arg(s);
    }
    cmd.arg(bin("chatd"))
        .args(args)
        .arg("--state-dir")
        .arg(tmp.join("state"))
        .arg("--runtime-dir")
        .arg(tmp.join("run"))
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-socket-activate is installed (.ci/run installs systemd)")
}

/// The socket exists before chatd runs; chatd starts on the first
/// connection. Returns the key once chatd has made it.
fn start_by_connecting(port: u16, tmp: &Path) -> String {
    let probe = testkit::wait_until("systemd-socket-activate to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let key = read_key(tmp);
    drop(probe);
    key
}

fn read_key(tmp: &Path) -> String {
    testkit::wait_until("the key file", || {
        let text = std::fs::read_to_string(tmp.join("state/key")).ok()?;
        text.lines().next().map(str::to_string)
    })
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn socket_activation_serves_chat_on_the_inherited_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let _child = Killed(activated(&[format!("127.0.0.1:{port}")], tmp.path()));
    let url = format!("ws://127.0.0.1:{port}/");
    let key = start_by_connecting(port, tmp.path());
    let mut ace = RawClient::join(&url, &key, "ace", "").await.joined();
    ace.send(&chat_protocol::ClientEvent::Say {
        room: None,
        text: "via systemd".into(),
        cid: None,
    })
    .await;
    ace.recv_until("the echo", |e| {
        matches!(e, ServerEvent::Message(m) if m.text == "via systemd").then_some(())
    })
    .await;
}

#[tokio::test]
async fn socket_activation_can_pass_the_admin_socket_too() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let admin = tmp.path().join("activated-admin.sock");
    let _child = Killed(activated(
        &[
            format!("127.0.0.1:{port}"),
            admin.to_str().unwrap().to_string(),
        ],
        tmp.path(),
    ));
    let url = format!("ws://127.0.0.1:{port}/");
    let key = start_by_connecting(port, tmp.path());
    let _ace = RawClient::join(&url, &key, "ace", "").await.joined();
    // The admin API answers on the inherited socket, not on RUNTIME_DIR/admin.sock.
    let (code, users) = testkit::admin_call_at(&admin, "GET", "/v1/users", None);
    assert_eq!(code, 200);
    assert_eq!(users["users"][0]["name"], "ace");
    assert!(!tmp.path().join("run/admin.sock").exists());
}

#[test]
fn socket_activation_still_binds_metrics_listen_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = tmp.path().join("chatd.toml");
    std::fs::write(&config, format!("metrics_listen = \"{metrics}\"\n")).unwrap();
    let _child = Killed(activated_with(
        &[format!("127.0.0.1:{port}")],
        tmp.path(),
        &["--config", config.to_str().unwrap()],
    ));
    // chatd binds its listeners before it makes its key.
    start_by_connecting(port, tmp.path());
    let health = testkit::monitoring::http(metrics, "GET", "/health", &[]);
    assert_eq!(health.status, 200, "{health:?}");
    // The connection that started chatd is counted once chatd's accept
    // loop took it.
    testkit::wait_until("the first connection counted on /metrics", || {
        let scrape = testkit::monitoring::http(metrics, "GET", "/metrics", &[]);
        assert_eq!(scrape.status, 200, "{scrape:?}");
        scrape
            .body
            .contains("\nchatd_connections_accepted_total 1\n")
            .then_some(())
    });
}

#[test]
fn a_second_chatd_on_the_same_state_dir_refuses() {
    let d = Daemon::start();
    let mut second = Daemon::builder().same_dirs_as(&d).spawn();
    assert!(!second.wait_exit().success());
    assert!(
        second.log().contains("another chatd is already running"),
        "{}",
        second.log()
    );
}

#[test]
fn a_second_chatd_on_the_same_admin_socket_refuses() {
    let d = Daemon::start();
    let mut second = Daemon::builder().runtime_dir(&d.runtime_dir).spawn();
    assert!(!second.wait_exit().success());
    assert!(second.log().contains("already serving"), "{}", second.log());
}

#[test]
fn a_stale_admin_socket_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    drop(std::os::unix::net::UnixListener::bind(run.join("admin.sock")).unwrap());
    assert!(run.join("admin.sock").exists());
    let d = Daemon::builder().runtime_dir(&run).start();
    d.wait_for_log("replacing stale admin socket");
    let (code, _) = testkit::admin_call(&run, "GET", "/v1/status", None);
    assert_eq!(code, 200);
}

#[test]
fn a_file_where_the_admin_socket_goes_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(run.join("admin.sock"), "not mine to delete").unwrap();
    let mut d = Daemon::builder().runtime_dir(&run).spawn();
    assert_eq!(d.wait_exit().code(), Some(1), "{}", d.log());
    assert!(
        d.log().contains("admin.sock exists and is not a socket"),
        "{}",
        d.log()
    );
    assert_eq!(
        std::fs::read_to_string(run.join("admin.sock")).unwrap(),
        "not mine to delete"
    );
}

#[test]
fn bad_configuration_is_named_by_file_and_line() {
    let mut d = Daemon::builder()
        .config("history = 5\nlisen = \"0.0.0.0:1\"\n")
        .spawn();
    assert!(!d.wait_exit().success());
    let log = d.log();
    assert!(
        log.contains("chatd.toml line 2") && log.contains("lisen"),
        "{log}"
    );
}

#[test]
fn check_config_prints_the_effective_settings_without_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("chatd.toml");
    std::fs::write(&config, "motd = \"hi\"\nrate_burst = 20\n").unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, "sekrit\n").unwrap();
    let out = Command::new(bin("chatd"))
        .arg("--check-config")
        .arg("--config")
        .arg(&config)
        .arg("--password-file")
        .arg(&pw)
        .arg("--listen")
        .arg("127.0.0.1:4000")
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("rate_burst = 20") && text.contains("listen = \"127.0.0.1:4000\""),
        "{text}"
    );
    assert!(text.contains("keepalive_interval = \"30s\""), "{text}");
    assert!(!text.contains("sekrit"));
    assert!(
        !tmp.path().join("state").exists(),
        "--check-config changes nothing"
    );
    std::fs::write(&config, "max_text = 0\n").unwrap();
    let out = Command::new(bin("chatd"))
        .arg("--check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_text"));
    // What only the machine can confirm is checked too: a start would fail.
    for (toml, says) in [
        (
            "admin_group = \"no-such-group-here\"\n",
            "admin_group = \"no-such-group-here\": no such group",
        ),
        ("log_level = \"info,,==\"\n", "log_level = \"info,,==\""),
    ] {
        std::fs::write(&config, toml).unwrap();
        let out = Command::new(bin("chatd"))
            .arg("--check-config")
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{toml}: {err}");
        assert!(err.contains(says), "{toml}: {err}");
    }
}

#[test]
fn password_comes_from_the_systemd_credential() {
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("password"), "cred-pw").unwrap();
    let d = Daemon::builder()
        .env("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap())
        .start();
    let (_, status) = testkit::admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(status["password"], "file");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(RawClient::join(&d.url, &d.key, "ace", "cred-pw"))
        .joined();
}

#[test]
fn sighup_logs_what_changed_and_what_needs_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut notify, path) = Notify::bind(tmp.path());
    let mut d = Daemon::builder()
        .env("NOTIFY_SOCKET", path)
        .config("motd = \"first\"\nhistory = 5\n")
        .start();
    // As systemd does: no reload before READY=1.
    notify.expect("READY=1");
    std::fs::write(
        d.root().join("chatd.toml"),
        "motd = \"second\"\nhistory = 7\nadmin_group = \"root\"\n",
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    let line = testkit::wait_until("the reload's log line", || {
        if let Some(status) = d.try_exit() {
            panic!("chatd exited ({status}); its log:\n{}", d.log());
        }
        d.log()
            .lines()
            .find(|l| l.contains("reloaded the configuration"))
            .map(str::to_string)
    });
    assert!(
        line.contains("changed=motd, history") && line.contains("restart_needed=admin_group"),
        "{line}"
    );
    // The new values are in force: the motd reaches the next join.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ace = rt
        .block_on(RawClient::join(&d.url, &d.key, "ace", ""))
        .joined();
    assert_eq!(ace.welcome.motd.as_deref(), Some("second"));
}

#[test]
fn sighup_right_after_ready_reloads_instead_of_killing() {
    // Once READY=1 is out, systemd may send SIGHUP at once: the handler
    // must be in place by then, or the signal's default action kills chatd.
    // The window is short, so try a few starts.
    for _ in 0..10 {
        let tmp = tempfile::tempdir().unwrap();
        let (mut notify, path) = Notify::bind(tmp.path());
        let mut d = Daemon::builder().env("NOTIFY_SOCKET", path).spawn();
        notify.expect("READY=1");
        d.signal(libc::SIGHUP);
        testkit::wait_until("the reload (or chatd's death)", || {
            if let Some(status) = d.try_exit() {
                panic!(
                    "chatd died of a SIGHUP sent right after READY=1 ({status}); its log:\n{}",
                    d.log()
                );
            }
            d.log().contains("reloaded the configuration").then_some(())
        });
        assert!(d.terminate().success(), "{}", d.log());
    }
}

/// The most a loopback socket's kernel send buffer can grow to.
fn max_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20)
}

#[tokio::test]
async fn sigterm_with_a_stalled_reader_and_a_silent_connection_still_exits_0() {
    let text = "x".repeat(15_000);
    // Enough to fill the kernel's send buffer, tungstenite's write buffer
    // (2 MiB) and the tiny receive buffer, with room to spare; the queue
    // holds all of it, so the stalled reader is not dropped as too slow.
    let count = (max_send_buffer() + (4 << 20)) / text.len() + 1;
    let mut d = Daemon::builder()
        .config(&format!(
            "max_text = 16000\nrate_burst = 100000\nrate_per_second = 100000\n\
             outbound_queue = {}\noutbound_queue_bytes = 1073741824\n\
             write_timeout = \"1h\"\nhandshake_timeout = \"1h\"\n\
             keepalive_timeout = \"1h\"\n",
            count + 100
        ))
        .start();
    // A receive buffer as small as the kernel allows: once the test stops
    // reading, the server's writes to it stall soon.
    let tiny = testkit::connect_with_receive_buffer(&d.url, 1024).await;
    let _stalled = RawClient::join_on(tiny, &d.key, "stalled", "")
        .await
        .joined(); // never read again
    let mut ace = RawClient::join(&d.url, &d.key, "ace", "").await.joined();
    // In batches, each one echoed before the next: ace keeps reading.
    for batch in (0..count).collect::<Vec<_>>().chunks(50) {
        for i in batch {
            ace.send(&chat_protocol::ClientEvent::Say {
                room: None,
                text: format!("{i} {text}"),
                cid: None,
            })
            .await;
        }
        let last = format!("{} {text}", batch[batch.len() - 1]);
        ace.recv_until("the batch's echo", |e| {
            matches!(e, ServerEvent::Message(m) if m.text == last).then_some(())
        })
        .await;
    }
    // The stalled reader is still in the room: its writer is stuck, not gone.
    let (_, users) = testkit::admin_call(&d.runtime_dir, "GET", "/v1/users", None);
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ace", "stalled"], "{users}");
    // Upgraded to WebSocket, and then not a byte: no Hello.
    let mut silent = testkit::connect(&d.url).await;

    d.signal(libc::SIGTERM);
    let (events, close) = ace.recv_to_close().await;
    assert_eq!(close.0, 1001, "{events:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::Shutdown,
                ..
            }
        )),
        "{events:?}"
    );
    let closed = testkit::next_binary(&mut silent).await.unwrap_err();
    assert_eq!(closed.0, 1001, "{closed:?}");
    // wait_exit's deadline (30 s) is a liveness bound far above the 5 s
    // shutdown_timeout; the point is that chatd gets out, and cleanly.
    let status = d.wait_exit();
    assert!(status.success(), "{status}; its log:\n{}", d.log());
    // Every session ended on its own, none was dropped at the bound.
    assert!(!d.log().contains("did not end within"), "{}", d.log());
}

#[test]
fn listen_problems_are_named_with_their_fix() {
    // A typo is a usage error.
    let out = Command::new(bin("chatd"))
        .args(["--listen", "localhost:1719"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no host names"), "{err}");
    // A port someone else holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(bin("chatd"))
        .arg(format!("--listen={addr}"))
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .arg("--runtime-dir")
        .arg(tmp.path().join("run"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {addr}"))
            && err.contains("another server is using it"),
        "{err}"
    );
    // It bound before making any key: nothing to clean up, no stray identity.
    for file in ["state/identity", "state/key", "run/admin.sock"] {
        assert!(!tmp.path().join(file).exists(), "{file} was made");
    }
}

#[test]
fn the_key_hint_names_the_socket_when_a_plain_chatctl_would_ask_another() {
    // Tests pass their own --runtime-dir, which a plain `chatctl key` does
    // not look in: the hint must say --socket.
    let d = Daemon::start();
    d.wait_for_log(&format!(
        "(or run `chatctl --socket {} key`)",
        d.runtime_dir.join("admin.sock").display()
    ));
}
