//! chatd's metrics and health through the real daemon: a scripted session
//! and the scrape that must say exactly what happened (read with the
//! Prometheus client's parser by `packaging/check-metrics.py`, against the
//! catalogue in docs/operations.md, and by promtool), both formats on both
//! faces (the admin socket, the metrics listener), the listener's bounds,
//! a metrics address refused off loopback, and the health check across a
//! NATS outage and through a shutdown.
//!
//! Needs `/usr/bin/python3` with `python3-prometheus-client` and promtool
//! (`packaging/get-promtool.sh`), as `monitoring.rs` does; the NATS test
//! needs `nats-server`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use chat_protocol::sizes::TAG_LEN;
use chat_protocol::{ClientEvent, ErrorCode, RejectCode, ServerEvent};
use serde_json::Value;
use testkit::monitoring::{HttpAnswer, check_metrics, http, promtool_check_metrics};
use testkit::{DEADLINE, Daemon, Nats, Notify, Outcome, RawClient, admin_call, admin_call_with};

/// A series as `name{label="value",…}`, labels sorted.
type Series = String;

/// The samples of `scrape`, once check-metrics.py found every family
/// catalogued and complete (`extra`: `--cluster`, say).
fn samples(scrape: &str, extra: &[&str]) -> BTreeMap<Series, f64> {
    let mut args = vec!["exposition", "/dev/stdin", "--complete", "--json"];
    args.extend_from_slice(extra);
    let out = check_metrics(&args, scrape);
    assert!(
        out.status.success(),
        "check-metrics.py: {}\n{scrape}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels: BTreeMap<String, String> =
                serde_json::from_value(s["labels"].clone()).unwrap();
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let name = s["name"].as_str().unwrap();
            let series = if labels.is_empty() {
                name.to_string()
            } else {
                format!("{name}{{{}}}", labels.join(","))
            };
            (series, s["value"].as_f64().unwrap_or(f64::NAN))
        })
        .collect()
}

/// What differs between `expected` and `got`: each expected series, and
/// every other counter, which must be 0.
fn differences(expected: &BTreeMap<Series, f64>, got: &BTreeMap<Series, f64>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (series, want) in expected {
        match got.get(series) {
            Some(v) if v == want => {}
            other => wrong.push(format!("{series}: expected {want}, got {other:?}")),
        }
    }
    for (series, v) in got {
        let counter = series.split('{').next().unwrap().ends_with("_total");
        if counter && !expected.contains_key(series) && *v != 0.0 {
            wrong.push(format!("{series}: expected 0, got {v}"));
        }
    }
    wrong
}

/// The admin socket's `GET /v1/metrics` (the text format, or OpenMetrics).
fn admin_scrape(d: &Daemon, openmetrics: bool) -> String {
    let accept = [("Accept", "application/openmetrics-text; version=1.0.0")];
    let headers: &[(&str, &str)] = if openmetrics { &accept } else { &[] };
    let (status, body) = admin_call_with(&d.runtime_dir, "GET", "/v1/metrics", None, headers);
    assert_eq!(status, 200, "{body}");
    body.as_str().expect("text").to_string()
}

/// The metrics listener's `GET /metrics`.
fn listener_scrape(addr: SocketAddr, openmetrics: bool) -> HttpAnswer {
    let accept = [(
        "Accept",
        "application/openmetrics-text; version=1.0.0, text/plain;q=0.5",
    )];
    let headers: &[(&str, &str)] = if openmetrics { &accept } else { &[] };
    let answer = http(addr, "GET", "/metrics", headers);
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
}

/// Scrapes until the values are `expected` (what the script did is
/// counted as each part finishes its share, a moment after the client saw
/// it), then checks both faces in both formats, and promtool.
fn expect_scrapes(d: &Daemon, expected: &BTreeMap<Series, f64>) {
    let start = Instant::now();
    loop {
        let got = samples(&admin_scrape(d, false), &[]);
        let wrong = differences(expected, &got);
        if wrong.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the scrape is not what happened:\n{}",
            wrong.join("\n")
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let om = admin_scrape(d, true);
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert_eq!(
        differences(expected, &samples(&om, &[])),
        Vec::<String>::new()
    );
    let addr = d.metrics_addr();
    for openmetrics in [false, true] {
        let answer = listener_scrape(addr, openmetrics);
        let content_type = if openmetrics {
            chat_protocol::admin::METRICS_OPENMETRICS
        } else {
            chat_protocol::admin::METRICS_TEXT
        };
        assert_eq!(answer.header("content-type"), Some(content_type));
        let got = samples(&answer.body, &[]);
        assert_eq!(differences(expected, &got), Vec::<String>::new());
    }
    let text = admin_scrape(d, false);
    let out = promtool_check_metrics(&text);
    assert!(out.status.success(), "promtool check metrics: {out:?}");
}

fn expected(values: &[(&str, f64)]) -> BTreeMap<Series, f64> {
    values.iter().map(|(s, v)| (s.to_string(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_session_is_scraped_exactly_as_it_happened() {
    let tmp = tempfile::tempdir().unwrap();
    let password = tmp.path().join("password");
    std::fs::write(&password, "sesame\n").unwrap();
    let d = Daemon::builder()
        .config("metrics_listen = \"127.0.0.1:0\"\n")
        .arg("--password-file")
        .arg(password.to_str().unwrap())
        .start();

    // Nothing yet: every family there, every closed value at 0.
    expect_scrapes(
        &d,
        &expected(&[
            ("chatd_users_online", 0.0),
            ("chatd_connections{stage=\"handshake\"}", 0.0),
            ("chatd_connections{stage=\"joined\"}", 0.0),
            ("chatd_max_users", 1000.0),
        ]),
    );

    // A browser, and a client with a key the server never had.
    let browser = http(
        format!("127.0.0.1:{}", d.port).parse().unwrap(),
        "GET",
        "/",
        &[],
    );
    assert_eq!(browser.status, 426);
    let stranger = chat_protocol::Token {
        join_key: chat_protocol::JoinKey([7; 32]),
        server_public: chat_protocol::Token::parse(&d.key).unwrap().server_public,
    };
    let unknown = RawClient::join(&d.url, &stranger.encode(), "eve", "sesame").await;
    assert!(matches!(unknown, Outcome::Closed(4001, _)), "{unknown:?}");

    let mut ace = RawClient::join(&d.url, &d.key, "ace", "sesame")
        .await
        .joined();
    let mut bob = RawClient::join(&d.url, &d.key, "bob", "sesame")
        .await
        .joined();
    let refused = RawClient::join(&d.url, &d.key, "mallory", "guess").await;
    assert!(matches!(
        refused,
        Outcome::Rejected(RejectCode::BadPassword, _)
    ));
    let taken = RawClient::join(&d.url, &d.key, "ACE", "sesame").await;
    assert!(matches!(taken, Outcome::Rejected(RejectCode::NameTaken, _)));

    ace.send(&ClientEvent::Say {
        room: None,
        text: "hello".into(),
        cid: None,
    })
    .await;
    bob.send(&ClientEvent::Action {
        room: None,
        text: "waves".into(),
        cid: None,
    })
    .await;
    ace.send(&ClientEvent::Dm {
        to: "bob".into(),
        text: "psst".into(),
        cid: None,
    })
    .await;
    ace.send(&ClientEvent::Dm {
        to: "nobody".into(),
        text: "hi".into(),
        cid: None,
    })
    .await;
    ace.send(&ClientEvent::Say {
        room: None,
        text: String::new(),
        cid: None,
    })
    .await;
    ace.recv_until("the empty line refused", |e| {
        matches!(
            e,
            ServerEvent::Error {
                code: ErrorCode::TextInvalid,
                ..
            }
        )
        .then_some(())
    })
    .await;
    bob.recv_until("the DM", |e| {
        matches!(e, ServerEvent::Dm { .. }).then_some(())
    })
    .await;

    let mut carol = RawClient::join(&d.url, &d.key, "carol", "sesame")
        .await
        .joined();
    let (status, body) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/users/carol/kick",
        Some(r#"{"reason":"spam"}"#),
    );
    assert_eq!(status, 200, "{body}");
    let mut carol_bye = 0;
    loop {
        match carol.recv().await {
            Ok(event @ ServerEvent::Bye { .. }) => {
                carol_bye = (event.to_bytes().len() + TAG_LEN) as u64;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(carol_bye > 0, "carol was told why");
    for who in [&mut ace, &mut bob] {
        who.recv_until("carol's leave", |e| {
            matches!(e, ServerEvent::Leave { name, .. } if name == "carol").then_some(())
        })
        .await;
    }
    bob.send(&ClientEvent::Bye {
        code: chat_protocol::ByeCode::Leave,
        reason: String::new(),
    })
    .await;
    let bob_got = bob.received;
    drop(bob);
    ace.recv_until("bob's leave", |e| {
        matches!(e, ServerEvent::Leave { name, .. } if name == "bob").then_some(())
    })
    .await;

    // The admin's changes.
    let (status, _) = admin_call(&d.runtime_dir, "POST", "/v1/reload", None);
    assert_eq!(status, 200);
    let (status, _) = admin_call(
        &d.runtime_dir,
        "PUT",
        "/v1/password",
        Some(r#"{"password":"opensesame"}"#),
    );
    assert_eq!(status, 200);
    let (status, _) = admin_call(&d.runtime_dir, "DELETE", "/v1/password", None);
    assert_eq!(status, 200);
    let (status, _) = admin_call(&d.runtime_dir, "POST", "/v1/key/rotate", Some("{}"));
    assert_eq!(status, 200);

    // What each queued event and each sealed byte was:
    // bob's join to ace; ace's line and bob's action to both; the DM to
    // bob and its echo to ace; two errors to ace; carol's join to ace and
    // bob; the kick's `moderation` event to all three; her leave to both;
    // bob's leave to ace.
    let deliveries = 1 + 2 + 2 + 2 + 1 + 1 + 2 + 3 + 2 + 1;
    // Every Welcome and event read, but the Bye that told carol why: a
    // goodbye is not a delivery.
    let sent = ace.received + bob_got + carol.received - carol_bye;
    expect_scrapes(
        &d,
        &expected(&[
            ("chatd_connections_accepted_total", 7.0),
            ("chatd_handshakes_failed_total{reason=\"upgrade\"}", 1.0),
            ("chatd_handshakes_failed_total{reason=\"unknown_key\"}", 1.0),
            ("chatd_joins_total{outcome=\"welcome\"}", 3.0),
            ("chatd_joins_total{outcome=\"bad_password\"}", 1.0),
            ("chatd_joins_total{outcome=\"name_taken\"}", 1.0),
            ("chatd_handshake_duration_seconds_count", 5.0),
            ("chatd_join_duration_seconds_count", 5.0),
            ("chatd_connections{stage=\"handshake\"}", 0.0),
            ("chatd_connections{stage=\"joined\"}", 1.0),
            ("chatd_users_online", 1.0),
            ("chatd_sessions_ended_total{reason=\"kicked\"}", 1.0),
            ("chatd_sessions_ended_total{reason=\"left\"}", 1.0),
            ("chatd_messages_total{kind=\"say\"}", 1.0),
            ("chatd_messages_total{kind=\"action\"}", 1.0),
            ("chatd_messages_total{kind=\"dm\"}", 1.0),
            ("chatd_messages_refused_total{code=\"no_such_user\"}", 1.0),
            ("chatd_messages_refused_total{code=\"text_invalid\"}", 1.0),
            ("chatd_deliveries_total", f64::from(deliveries)),
            ("chatd_sent_bytes_total", sent as f64),
            ("chatd_outbound_queue_bytes", 0.0),
            ("chatd_argon2_verifications_total{result=\"match\"}", 1.0),
            ("chatd_argon2_verifications_total{result=\"mismatch\"}", 1.0),
            ("chatd_argon2_duration_seconds_count", 2.0),
            ("chatd_argon2_running", 0.0),
            ("chatd_argon2_waiting", 0.0),
            ("chatd_throttled_addresses", 0.0),
            ("chatd_log_appends_total", 2.0),
            ("chatd_log_append_duration_seconds_count", 2.0),
            ("chatd_log_history_entries", 2.0),
            ("chatd_log_persist_failing", 0.0),
            ("chatd_reloads_total{result=\"ok\"}", 1.0),
            ("chatd_password_changes_total{change=\"set\"}", 1.0),
            ("chatd_password_changes_total{change=\"clear\"}", 1.0),
            ("chatd_key_rotations_total", 1.0),
            ("chatd_moderation_actions_total{action=\"kick\"}", 1.0),
        ]),
    );
}

#[test]
fn the_listener_answers_two_paths_only_and_bounds_a_slow_client() {
    let d = Daemon::builder()
        .config("metrics_listen = \"127.0.0.1:0\"\n")
        .start();
    let addr = d.metrics_addr();
    let health = http(addr, "GET", "/health", &[]);
    assert_eq!(health.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&health.body).unwrap(),
        serde_json::json!({"status": "serving"})
    );
    let missing = http(addr, "GET", "/v1/metrics", &[]);
    assert_eq!(missing.status, 404, "{missing:?}");
    let post = http(addr, "POST", "/metrics", &[]);
    assert_eq!(post.status, 405, "{post:?}");
    assert!(post.header("allow").is_some_and(|a| a.contains("GET")));
    // The admin socket answers the same health, and chatctl reads both.
    let (status, body) = admin_call(&d.runtime_dir, "GET", "/v1/health", None);
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"status": "serving"}))
    );
    let out = chatctl(&d, &["health"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "serving");
    let out = chatctl(&d, &["metrics"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nchatd_users_online 0\n"), "{text}");
    let out = chatctl(&d, &["metrics", "--openmetrics"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("# EOF\n"),
        "{out:?}"
    );

    // A connection that never finishes its request is closed (after 5 s;
    // hyper's own bound, were chatd's missing, is 30 s), and the listener
    // serves others meanwhile.
    use std::io::{Read, Write};
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert_eq!(listener_scrape(addr, false).status, 200);
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest)
        .expect("chatd closes a request head that does not come");
    let said = String::from_utf8_lossy(&rest);
    assert!(
        !said.contains("chatd_"),
        "no metrics for half a request: {said}"
    );
    // At most 16 connections at once: the next is closed unanswered, and
    // served again once they are gone.
    let get = |stream: &mut std::net::TcpStream| {
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    let idle: Vec<_> = (0..16)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let over = get(&mut std::net::TcpStream::connect(addr).unwrap());
    assert!(
        over.is_empty(),
        "the 17th connection is closed unanswered, not {:?}",
        over.lines().next()
    );
    drop(idle);
    testkit::wait_until("a slot to be free again", || {
        let answer = get(&mut std::net::TcpStream::connect(addr).unwrap());
        answer.starts_with("HTTP/1.1 200").then_some(())
    });

    // A head too large is refused, not read without end.
    let mut huge = std::net::TcpStream::connect(addr).unwrap();
    huge.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut head = b"GET /metrics HTTP/1.1\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'x', 16 * 1024));
    let _ = huge.write_all(&head);
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
}

#[test]
fn a_metrics_address_off_loopback_is_refused_unless_allowed() {
    let said = "metrics_listen = \"0.0.0.0:9719\" is not a loopback address, and anyone who reaches it \
                can read how busy the room is: use 127.0.0.1:9719 (a Prometheus on this machine, or a \
                proxy in front of it), or set metrics_allow_remote = true";
    let mut d = Daemon::builder()
        .config("# the metrics\nmetrics_listen = \"0.0.0.0:9719\"\n")
        .spawn();
    assert!(!d.wait_exit().success());
    let log = d.log();
    assert!(log.contains(&format!("chatd.toml line 2: {said}")), "{log}");
    assert!(!log.contains("listening on"), "{log}");

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("chatd.toml");
    let check = |text: &str| {
        std::fs::write(&config, text).unwrap();
        std::process::Command::new(testkit::bin("chatd"))
            .arg("--check-config")
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(tmp.path().join("state"))
            .arg("--runtime-dir")
            .arg(tmp.path().join("run"))
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap()
    };
    let out = check("metrics_listen = \"0.0.0.0:9719\"\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(said), "{stderr}");
    let out = check("metrics_listen = \"0.0.0.0:9719\"\nmetrics_allow_remote = true\n");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("metrics_listen = \"0.0.0.0:9719\""),
        "{stdout}"
    );
}

/// `GET /v1/health` on the admin socket: status and body.
fn health(d: &Daemon) -> (u16, Value) {
    admin_call(&d.runtime_dir, "GET", "/v1/health", None)
}

/// `chatctl ARGS…` on `d`'s admin socket.
fn chatctl(d: &Daemon, args: &[&str]) -> std::process::Output {
    std::process::Command::new(testkit::bin("chatctl"))
        .arg("--socket")
        .arg(d.runtime_dir.join("admin.sock"))
        .args(args)
        .output()
        .unwrap()
}

/// The health check follows NATS; the watchdog does not: a node without
/// NATS still tells systemd it is alive (a restart would not bring NATS
/// back).
#[test]
fn health_turns_503_while_nats_is_away_past_the_handshake_timeout_and_200_when_back() {
    let mut nats = Nats::start();
    let tmp = tempfile::tempdir().unwrap();
    let (mut notify, notify_path) = Notify::bind(tmp.path());
    let d = Daemon::builder()
        .config("metrics_listen = \"127.0.0.1:0\"\nhandshake_timeout = \"2s\"\n")
        .cluster(&nats.url(), "n1")
        .env("NOTIFY_SOCKET", notify_path)
        .env("WATCHDOG_USEC", "400000")
        .start();
    notify.expect("WATCHDOG=1");
    assert_eq!(health(&d).0, 200);
    let cluster = samples(&admin_scrape(&d, false), &["--cluster"]);
    assert_eq!(cluster["chatd_nats_connected"], 1.0);
    assert_eq!(cluster["chatd_nats_reconnects_total"], 0.0);

    // Taken before the kill: chatd may see the connection drop before
    // the kill returns (it waits for the process to be reaped).
    let lost = Instant::now();
    nats.kill();
    let (status, body) = testkit::wait_until("health to say NATS is out of reach", || {
        let (status, body) = health(&d);
        (status == 503).then_some((status, body))
    });
    assert!(
        lost.elapsed() >= std::time::Duration::from_secs(2),
        "not before handshake_timeout"
    );
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(body["error"]["code"], "cluster_unreachable", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("longer than handshake_timeout (2s)"),
        "{message}"
    );
    assert_eq!(status, 503);
    // The listener says the same.
    let answer = http(d.metrics_addr(), "GET", "/health", &[]);
    assert_eq!(answer.status, 503);
    // And chatctl: exit 1, with the reason.
    let out = chatctl(&d, &["health"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr) + String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("longer than handshake_timeout"), "{said}");
    let scraped = samples(&admin_scrape(&d, false), &["--cluster"]);
    assert_eq!(scraped["chatd_nats_connected"], 0.0);
    // Sent after the 503: the watchdog goes on.
    notify.forget();
    notify.expect("WATCHDOG=1");
    notify.expect("WATCHDOG=1");

    nats.restart();
    testkit::wait_until("health to serve again", || {
        (health(&d).0 == 200).then_some(())
    });
    let back = samples(&admin_scrape(&d, false), &["--cluster"]);
    assert_eq!(back["chatd_nats_connected"], 1.0);
    assert_eq!(back["chatd_nats_reconnects_total"], 1.0);
}

/// While chatd stops with a user joined and three connections in their
/// handshake, its metrics listener still answers: `/health` is 503
/// `shutting_down`, and a scrape counts the session and the handshakes
/// the shutdown ended (as `shutdown`, not as clients gone). A frozen NATS holds the shutdown open long
/// enough to look: ace proved the key of her name, so the shutdown writes
/// when she was last seen to NATS, and waits for it (up to half of
/// `shutdown_timeout`) until the test thaws NATS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_chatd_stops_health_says_shutting_down_and_the_scrape_counts_the_shutdown() {
    let nats = Nats::start();
    let mut d = Daemon::builder()
        .config("metrics_listen = \"127.0.0.1:0\"\nshutdown_timeout = \"60s\"\n")
        .cluster(&nats.url(), "n1")
        .start();
    let addr = d.metrics_addr();
    let key = chat_protocol::Identity::from_seed(&[1; 32]);
    let mut ace = RawClient::join_as(&d.url, &d.read_key(), "ace", "", Some(&key))
        .await
        .joined();
    // Before the upgrade, before the Hello, before the Auth.
    let tcp = std::net::TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    let mut no_hello = testkit::connect(&d.url).await;
    let mut no_auth = testkit::Greeted::greet(testkit::connect(&d.url).await, &d.read_key())
        .await
        .unwrap();
    let series = "chatd_sessions_ended_total{reason=\"shutdown\"}";
    let handshakes = "chatd_connections{stage=\"handshake\"}";
    testkit::wait_until("three connections in their handshake", || {
        (testkit::monitoring::scraped_at(addr, handshakes) == Some(3.0)).then_some(())
    });
    assert_eq!(testkit::monitoring::scraped_at(addr, series), Some(0.0));
    nats.freeze();
    d.signal(libc::SIGTERM);
    let body = testkit::wait_until("the health check to say chatd stops", || {
        let answer = http(addr, "GET", "/health", &[]);
        (answer.status == 503).then_some(answer.body)
    });
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(body["error"]["code"], "shutting_down", "{body}");
    let failed = |reason| format!("chatd_handshakes_failed_total{{reason=\"{reason}\"}}");
    // One scrape a round: each reads the other nodes from the frozen
    // NATS, and gives up after 1 s.
    testkit::wait_until("the scrape to count the shutdown", || {
        let text = testkit::monitoring::scrape_at(addr);
        let counted = [
            (series.to_string(), 1.0),
            (failed("shutdown"), 3.0),
            (failed("closed"), 0.0),
            (handshakes.to_string(), 0.0),
        ];
        counted
            .iter()
            .all(|(s, want)| testkit::monitoring::sample(&text, s) == Some(*want))
            .then_some(())
    });
    assert_eq!(testkit::close_of(&mut no_hello).await.0, 1001);
    let (events, close) = no_auth.recv_to_close().await;
    assert_eq!(close.0, 1001, "{events:?}");
    drop(tcp);
    let (events, close) = ace.recv_to_close().await;
    assert_eq!(close.0, 1001, "{events:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: chat_protocol::ByeCode::Shutdown,
                ..
            }
        )),
        "{events:?}"
    );
    nats.thaw();
    assert!(d.wait_exit().success(), "{}", d.log());
}
