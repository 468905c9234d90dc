//! The password-guess throttle (docs/security.md, "Outside check,
//! December 2026") against the real chatd: guesses sent at once, guesses
//! interleaved with honest joins, an address shared by a guesser and
//! honest users, and clients behind a trusted reverse proxy (whose
//! refusals the metrics count for the forwarded address).

use std::net::IpAddr;

use chat_protocol::{Auth, RejectCode};
use futures_util::future::join_all;
use testkit::{Daemon, Greeted, Outcome, RawClient};

/// The join password of these tests.
const PASSWORD: &str = "right horse battery";

/// Wrong passwords an address may have answered before its block
/// (chatd's `guesses::FAILURES`).
const BUDGET: usize = 5;

/// A chatd with the join password set and `config` (TOML); the temp dir
/// keeps the password file.
fn daemon(config: &str) -> (Daemon, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let d = Daemon::builder()
        .config(config)
        .arg("--password-file")
        .arg(file.to_str().unwrap())
        .start();
    (d, dir)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn auth(name: &str, password: &str) -> Vec<u8> {
    Auth {
        username: name.into(),
        password: password.to_owned().into(),
        client: "testkit".into(),
        after: None,
        identity: None,
        proof: None,
    }
    .to_bytes()
    .to_vec()
}

/// A join from `source` as `name` with `password`.
async fn join_from(d: &Daemon, source: IpAddr, name: &str, password: &str) -> Outcome {
    RawClient::join_on(
        testkit::connect_from(&d.url, source).await,
        &d.key,
        name,
        password,
    )
    .await
}

/// Joins as `name` from `source` with the right password, then leaves.
async fn honest_join(d: &Daemon, source: IpAddr, name: &str) {
    join_from(d, source, name, PASSWORD)
        .await
        .joined()
        .leave()
        .await;
}

/// Sixteen connections from one address (the default per-address cap)
/// send their wrong Auth at once: five get `bad_password`, the budget,
/// and the others `throttled` (or `busy`); the address is then blocked,
/// for the right password too.
#[tokio::test]
async fn sixteen_guesses_sent_at_once_get_the_budget_and_no_more() {
    let (d, _dir) = daemon("handshake_timeout = \"30s\"\n");
    let guesser = ip("127.0.0.21");
    let greeted = join_all((0..16).map(|_| async {
        Greeted::greet(testkit::connect_from(&d.url, guesser).await, &d.key)
            .await
            .unwrap()
    }))
    .await;
    let wrong = auth("mallory", "wrong");
    let outcomes = join_all(greeted.into_iter().map(|g| g.auth(&wrong))).await;
    let mut bad = 0;
    for outcome in outcomes {
        match outcome {
            Outcome::Rejected(RejectCode::BadPassword, _) => bad += 1,
            Outcome::Rejected(RejectCode::Throttled | RejectCode::Busy, _) => {}
            other => panic!("expected bad_password, throttled or busy, got {other:?}"),
        }
    }
    assert_eq!(bad, BUDGET, "wrong passwords answered of 16 sent at once");
    match join_from(&d, guesser, "mallory", PASSWORD).await {
        Outcome::Rejected(RejectCode::Throttled, _) => {}
        other => panic!("expected throttled, got {other:?}"),
    }
}

/// Wrong passwords from forty addresses at once, more than argon2's two
/// running and sixteen waiting places: what the clients were told is what
/// the metrics count (`busy` in `chatd_argon2_refused_busy_total` and
/// `chatd_joins_total`, each argon2 run in `chatd_argon2_verifications_total`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_password_checks_is_counted_as_the_clients_saw_it() {
    let (d, _dir) = daemon("handshake_timeout = \"30s\"\n");
    let greeted = join_all((0..40u8).map(|i| {
        let d = &d;
        async move {
            let source = IpAddr::from([127, 0, 3, 2 + i]);
            Greeted::greet(testkit::connect_from(&d.url, source).await, &d.key)
                .await
                .unwrap()
        }
    }))
    .await;
    // Forty different wrong passwords: joins that share a password wait
    // for one verification (store/password.rs), and this test counts
    // verifications, so each needs its own.
    let wrong: Vec<Vec<u8>> = (0..40)
        .map(|i| auth("mallory", &format!("wrong{i}")))
        .collect();
    let outcomes = join_all(
        greeted
            .into_iter()
            .zip(&wrong)
            .map(|(g, wrong)| g.auth(wrong)),
    )
    .await;
    let (mut bad, mut busy) = (0.0, 0.0);
    for outcome in outcomes {
        match outcome {
            Outcome::Rejected(RejectCode::BadPassword, _) => bad += 1.0,
            Outcome::Rejected(RejectCode::Busy, _) => busy += 1.0,
            other => panic!("expected bad_password or busy, got {other:?}"),
        }
    }
    println!("40 wrong passwords at once: {bad} checked, {busy} refused busy");
    let expect = |series, want| testkit::monitoring::expect_scraped(&d.runtime_dir, series, want);
    expect("chatd_joins_total{outcome=\"bad_password\"}", bad);
    expect("chatd_joins_total{outcome=\"busy\"}", busy);
    expect("chatd_argon2_refused_busy_total", busy);
    expect("chatd_argon2_verifications_total{result=\"mismatch\"}", bad);
    expect("chatd_argon2_duration_seconds_count", bad);
    expect("chatd_argon2_running", 0.0);
    expect("chatd_argon2_waiting", 0.0);
}

/// Guesses interleaved with honest joins from the same address: the
/// right passwords reset nothing, so the guesser gets its budget and then
/// `throttled`; the honest user, who joined from that address before,
/// is never throttled. A name that never joined from it waits out the
/// block (the trade of docs/security.md).
#[tokio::test]
async fn guesses_interleaved_with_honest_joins_are_held_to_the_budget() {
    let (d, _dir) = daemon("");
    let shared = ip("127.0.0.22");
    let (mut bad, mut throttled) = (0, 0);
    for round in 0..12 {
        honest_join(&d, shared, "ace").await;
        match join_from(&d, shared, "mallory", "wrong").await {
            Outcome::Rejected(RejectCode::BadPassword, _) => bad += 1,
            Outcome::Rejected(RejectCode::Throttled, _) => throttled += 1,
            other => panic!("round {round}: got {other:?}"),
        }
    }
    assert_eq!((bad, throttled), (BUDGET, 12 - BUDGET));
    match join_from(&d, shared, "bob", PASSWORD).await {
        Outcome::Rejected(RejectCode::Throttled, _) => {}
        other => panic!("a name new at the address: expected throttled, got {other:?}"),
    }
    honest_join(&d, shared, "ace").await;
}

/// The reverse proxy of these tests, listed in `trusted_proxies`.
const PROXY: &str = "127.0.0.30";

/// A join through the proxy, the request carrying `headers`.
async fn join_via(d: &Daemon, headers: &[(&str, &str)], name: &str, password: &str) -> Outcome {
    let ws = testkit::connect_from_with_headers(&d.url, ip(PROXY), headers).await;
    RawClient::join_on(ws, &d.key, name, password).await
}

/// The address `chatctl users` shows for `name`.
fn address_of(d: &Daemon, name: &str) -> String {
    let (code, users) = testkit::admin_call(&d.runtime_dir, "GET", "/v1/users", None);
    assert_eq!(code, 200, "{users}");
    users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {users}"))["address"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Behind a trusted proxy each client has its own budget: a guesser is
/// held to it, whatever it writes into the headers itself, and an honest
/// user of the same proxy with another address joins at once; a direct
/// connection's own header is not read.
#[tokio::test]
async fn behind_a_trusted_proxy_a_guesser_locks_out_only_itself() {
    let (d, _dir) = daemon(&format!("trusted_proxies = [\"{PROXY}\"]\n"));
    let guesser = [("X-Forwarded-For", "203.0.113.5")];
    for i in 0..BUDGET {
        match join_via(&d, &guesser, &format!("m{i}"), "wrong").await {
            Outcome::Rejected(RejectCode::BadPassword, _) => {}
            other => panic!("guess {i}: expected bad_password, got {other:?}"),
        }
    }
    let throttled = |outcome: Outcome, what: &str| match outcome {
        Outcome::Rejected(RejectCode::Throttled, _) => {}
        other => panic!("{what}: expected throttled, got {other:?}"),
    };
    throttled(
        join_via(&d, &guesser, "m", "wrong").await,
        "the sixth guess",
    );
    // What the client wrote on the left, or in the header the proxy does
    // not set, changes nothing: the proxy appended the guesser's address.
    let smuggled = [("X-Forwarded-For", "203.0.113.6, 203.0.113.5")];
    throttled(
        join_via(&d, &smuggled, "m", "wrong").await,
        "a smuggled hop",
    );
    let other_header = [
        ("Forwarded", "for=203.0.113.7"),
        ("X-Forwarded-For", "203.0.113.5"),
    ];
    throttled(
        join_via(&d, &other_header, "m", "wrong").await,
        "a Forwarded header",
    );
    // A direct connection's header is not read: it counts as itself.
    let direct = ip("127.0.0.31");
    for i in 0..BUDGET {
        let ws = testkit::connect_from_with_headers(
            &d.url,
            direct,
            &[("X-Forwarded-For", "203.0.113.6")],
        )
        .await;
        match RawClient::join_on(ws, &d.key, "d", "wrong").await {
            Outcome::Rejected(RejectCode::BadPassword, _) => {}
            other => panic!("direct guess {i}: expected bad_password, got {other:?}"),
        }
    }
    throttled(
        join_from(&d, direct, "d", "wrong").await,
        "the direct sixth guess",
    );
    // The honest user behind the same proxy, new here, joins at once, and
    // is shown under its own address.
    let _honest = join_via(&d, &[("X-Forwarded-For", "203.0.113.6")], "ace", PASSWORD)
        .await
        .joined();
    assert_eq!(address_of(&d, "ace"), "203.0.113.6:0");
    // Counted for the forwarded address as for a direct one: two blocks
    // begun (the guesser behind the proxy, the direct one), each budget's
    // wrong passwords, and the joins refused while they last.
    let expect = |series, want| testkit::monitoring::expect_scraped(&d.runtime_dir, series, want);
    expect("chatd_guess_blocks_total", 2.0);
    expect("chatd_throttled_addresses", 2.0);
    expect(
        "chatd_joins_total{outcome=\"bad_password\"}",
        2.0 * BUDGET as f64,
    );
    expect("chatd_joins_total{outcome=\"throttled\"}", 4.0);
    expect("chatd_joins_total{outcome=\"welcome\"}", 1.0);
}

/// What a connection through the proxy answers, from the status line of
/// an upgrade request with `headers`; the connection is kept open (an
/// upgraded one holds its place).
async fn upgrade_via(d: &Daemon, headers: &str) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((ip(PROXY), 0).into()).unwrap();
    let addr = d.url.trim_start_matches("ws://").trim_end_matches('/');
    let mut stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{headers}\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(testkit::DEADLINE, async {
        while !head.ends_with(b"\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
    })
    .await
    .expect("an answer");
    let line = String::from_utf8_lossy(&head).to_string();
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line, got {line:?}"));
    (status, stream)
}

/// Through a trusted proxy the per-address connection limits count the
/// forwarded client (after the request is read, answered 429 past them),
/// a request without the header counts as the proxy's own, and a header
/// that names no address is refused 400 and logged.
#[tokio::test]
async fn behind_a_trusted_proxy_the_connection_limits_count_each_client() {
    let (d, _dir) = daemon(&format!(
        "trusted_proxies = [\"{PROXY}\"]\nmax_connections_per_ip = 2\nhandshake_timeout = \"1m\"\n"
    ));
    let a = "X-Forwarded-For: 203.0.113.5\r\n";
    let b = "X-Forwarded-For: 203.0.113.6\r\n";
    let mut held = Vec::new();
    for what in [a, a, b, b, "", ""] {
        let (status, stream) = upgrade_via(&d, what).await;
        assert_eq!(status, 101, "{what:?}");
        held.push(stream);
    }
    for what in [a, b, ""] {
        assert_eq!(upgrade_via(&d, what).await.0, 429, "a third from {what:?}");
    }
    d.wait_for_log("closing a new connection: 2 connections from this address are open");
    // Counted as the clients saw them: three refused over the limit of
    // their forwarded address (the proxy's own connections were counted
    // under its request's address, not at the accept).
    let expect = |series, want| testkit::monitoring::expect_scraped(&d.runtime_dir, series, want);
    expect(
        "chatd_connections_refused_total{reason=\"address_open\"}",
        3.0,
    );
    expect(
        "chatd_connections_refused_total{reason=\"address_rate\"}",
        0.0,
    );
    expect("chatd_connections{stage=\"handshake\"}", 6.0);
    let bad = "X-Forwarded-For: 203.0.113.7, proxy.example\r\n";
    assert_eq!(upgrade_via(&d, bad).await.0, 400);
    d.wait_for_log(
        "its X-Forwarded-For header has \"proxy.example\" where the client's address belongs",
    );
    // A proxy's header that names no client is a failed upgrade.
    expect("chatd_handshakes_failed_total{reason=\"upgrade\"}", 1.0);
    expect(
        "chatd_connections_refused_total{reason=\"address_open\"}",
        3.0,
    );
}

/// Through a trusted proxy the per-minute limit counts the forwarded
/// client too: its third connection in a minute is answered 429 and
/// counted `address_rate`, while another client of the proxy still comes in.
#[tokio::test]
async fn behind_a_trusted_proxy_the_rate_limit_counts_each_client() {
    let (d, _dir) = daemon(&format!(
        "trusted_proxies = [\"{PROXY}\"]\nconnections_per_ip_per_minute = 2\n"
    ));
    let a = "X-Forwarded-For: 203.0.113.5\r\n";
    for _ in 0..2 {
        assert_eq!(upgrade_via(&d, a).await.0, 101);
    }
    assert_eq!(upgrade_via(&d, a).await.0, 429);
    assert_eq!(
        upgrade_via(&d, "X-Forwarded-For: 203.0.113.6\r\n").await.0,
        101
    );
    let expect = |series, want| testkit::monitoring::expect_scraped(&d.runtime_dir, series, want);
    expect(
        "chatd_connections_refused_total{reason=\"address_rate\"}",
        1.0,
    );
    expect(
        "chatd_connections_refused_total{reason=\"address_open\"}",
        0.0,
    );
}

/// `trusted_proxies` applies on reload (SIGHUP), for new connections.
#[tokio::test]
async fn trusted_proxies_apply_on_reload() {
    let (d, _dir) = daemon("");
    let forwarded = [("X-Forwarded-For", "203.0.113.9")];
    let _before = join_via(&d, &forwarded, "before", PASSWORD).await.joined();
    assert!(address_of(&d, "before").starts_with(&format!("{PROXY}:")));
    std::fs::write(
        d.root().join("chatd.toml"),
        format!("trusted_proxies = [\"{PROXY}\"]\nforwarded_header = \"forwarded\"\n"),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for_log("changed=trusted_proxies, forwarded_header");
    let header = [("Forwarded", "for=\"[2001:db8::9]:4711\"")];
    let _after = join_via(&d, &header, "after", PASSWORD).await.joined();
    assert_eq!(address_of(&d, "after"), "[2001:db8::9]:4711");
}
