//! What the door counts, made to happen for real against the real chatd
//! and read back from its scrape: each way a handshake fails
//! (`chatd_handshakes_failed_total`, by reason) and each refusal at
//! capacity (`chatd_joins_total{outcome="server_full"}`,
//! `chatd_connections_refused_total{reason="capacity"}`). The refusals
//! per address are counted in `security.rs` (direct) and `guesses.rs`
//! (behind a trusted proxy).

use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};

use chat_protocol::RejectCode;
use futures_util::SinkExt;
use testkit::monitoring::expect_scraped;
use testkit::{DEADLINE, Daemon, Greeted, Outcome, RawClient};
use tokio_tungstenite::tungstenite::Message;

/// `chatd_handshakes_failed_total{reason="REASON"}`.
fn failed(reason: &str) -> String {
    format!("chatd_handshakes_failed_total{{reason=\"{reason}\"}}")
}

/// Each reason's count in `want` (the others must be 0).
fn expect_failures(d: &Daemon, want: &[(&str, f64)]) {
    for reason in [
        "upgrade",
        "malformed",
        "unknown_key",
        "bad_seal",
        "timeout",
        "closed",
        "shutdown",
    ] {
        let value = want
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0.0, |(_, v)| *v);
        expect_scraped(&d.runtime_dir, &failed(reason), value);
    }
}

/// The chat listener's address.
fn chat_addr(d: &Daemon) -> SocketAddr {
    format!("127.0.0.1:{}", d.port).parse().unwrap()
}

/// A TCP connection to `d` that says nothing.
fn idle(d: &Daemon) -> TcpStream {
    TcpStream::connect_timeout(&chat_addr(d), DEADLINE).unwrap()
}

/// Whether the server closes `stream` without a byte.
fn closed_at_once(mut stream: TcpStream) -> bool {
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

/// A malformed `Hello` (a text frame; bytes that are no `Hello`), an
/// `Auth` sealed with other keys, and clients that close before their
/// `Auth`: each counted once, under its own reason.
#[tokio::test]
async fn each_failed_handshake_is_counted_under_its_reason() {
    let d = Daemon::start();
    // A text frame where the binary Hello belongs: closed 1002.
    let mut ws = testkit::connect(&d.url).await;
    ws.send(Message::Text("hello".into())).await.unwrap();
    assert_eq!(testkit::close_of(&mut ws).await.0, 1002);
    expect_failures(&d, &[("malformed", 1.0)]);
    // A binary message that is no Hello: closed 1002.
    let mut ws = testkit::connect(&d.url).await;
    ws.send(Message::Binary(vec![0u8; 7].into())).await.unwrap();
    assert_eq!(testkit::close_of(&mut ws).await.0, 1002);
    expect_failures(&d, &[("malformed", 2.0)]);

    // An Auth that does not open under this session's keys: closed 1008.
    let mut greeted = Greeted::greet(testkit::connect(&d.url).await, &d.key)
        .await
        .unwrap();
    let other = Greeted::greet(testkit::connect(&d.url).await, &d.key)
        .await
        .unwrap();
    let mut sealer = other.session.sealer;
    let sealed = sealer.seal(&greeted.auth_as("eve", "", None)).unwrap();
    greeted
        .ws
        .send(Message::Binary(sealed.into()))
        .await
        .unwrap();
    assert_eq!(testkit::close_of(&mut greeted.ws).await.0, 1008);
    expect_failures(&d, &[("malformed", 2.0), ("bad_seal", 1.0)]);

    // The other greeted client closes instead of sending its Auth, and
    // one more closes before its Hello: both went away.
    let mut ws = other.ws;
    ws.close(None).await.unwrap();
    let mut ws2 = testkit::connect(&d.url).await;
    ws2.close(None).await.unwrap();
    expect_failures(
        &d,
        &[("malformed", 2.0), ("bad_seal", 1.0), ("closed", 2.0)],
    );
    // None was a join: no join decided, none in the handshake now.
    expect_scraped(
        &d.runtime_dir,
        "chatd_joins_total{outcome=\"welcome\"}",
        0.0,
    );
    expect_scraped(
        &d.runtime_dir,
        "chatd_connections{stage=\"handshake\"}",
        0.0,
    );
    expect_scraped(&d.runtime_dir, "chatd_connections_accepted_total", 5.0);
}

/// Clients that say nothing until the handshake deadline: one before its
/// WebSocket upgrade, one after it (no `Hello`), one after its `Hello`
/// (no `Auth`): each a `timeout`, once.
#[tokio::test]
async fn a_client_silent_until_the_handshake_deadline_is_a_timeout() {
    let d = Daemon::builder()
        .config("handshake_timeout = \"1s\"\n")
        .start();
    let tcp = idle(&d);
    assert!(closed_at_once(tcp), "closed at the deadline, unanswered");
    expect_failures(&d, &[("timeout", 1.0)]);

    let mut ws = testkit::connect(&d.url).await;
    assert_eq!(testkit::close_of(&mut ws).await.0, 1008);
    expect_failures(&d, &[("timeout", 2.0)]);

    let mut greeted = Greeted::greet(testkit::connect(&d.url).await, &d.key)
        .await
        .unwrap();
    let (events, close) = greeted.recv_to_close().await;
    assert_eq!(close.0, 1008, "{events:?}");
    expect_failures(&d, &[("timeout", 3.0)]);
    expect_scraped(
        &d.runtime_dir,
        "chatd_connections{stage=\"handshake\"}",
        0.0,
    );
}

/// With `max_users = 1`: a second join is refused `server_full`; past
/// `max_users + 64` open connections an upgrade is answered 503, and past
/// `max_users + 128` a new connection is closed at once; each counted.
#[tokio::test]
async fn refusals_at_capacity_are_counted() {
    let d = Daemon::builder()
        .config(
            "max_users = 1\nmax_connections_per_ip = 1000\n\
             connections_per_ip_per_minute = 1000\nhandshake_timeout = \"1m\"\n",
        )
        .start();
    let expect = |series: &str, want: f64| expect_scraped(&d.runtime_dir, series, want);
    let _ace = RawClient::join(&d.url, &d.key, "ace", "").await.joined();
    match RawClient::join(&d.url, &d.key, "bob", "").await {
        Outcome::Rejected(RejectCode::ServerFull, _) => {}
        other => panic!("expected server_full, got {other:?}"),
    }
    expect("chatd_joins_total{outcome=\"server_full\"}", 1.0);
    expect("chatd_joins_total{outcome=\"welcome\"}", 1.0);
    expect("chatd_connections_refused_total{reason=\"capacity\"}", 0.0);

    // ace and 64 silent connections: the next upgrade makes 66, over
    // max_users + 64.
    let mut silent: Vec<TcpStream> = (0..64).map(|_| idle(&d)).collect();
    expect("chatd_connections{stage=\"handshake\"}", 64.0);
    let busy = testkit::monitoring::http(chat_addr(&d), "GET", "/", &UPGRADE).status;
    assert_eq!(busy, 503);
    expect("chatd_connections_refused_total{reason=\"capacity\"}", 1.0);
    // One fewer: the upgrade goes through (and the join is refused full).
    silent.pop();
    expect("chatd_connections{stage=\"handshake\"}", 63.0);
    match RawClient::join(&d.url, &d.key, "bob", "").await {
        Outcome::Rejected(RejectCode::ServerFull, _) => {}
        other => panic!("expected server_full, got {other:?}"),
    }
    expect("chatd_joins_total{outcome=\"server_full\"}", 2.0);

    // ace and 128 silent connections are max_users + 128: the next is
    // closed as soon as it is accepted.
    silent.extend((0..65).map(|_| idle(&d)));
    expect("chatd_connections{stage=\"handshake\"}", 128.0);
    assert!(closed_at_once(idle(&d)));
    expect("chatd_connections_refused_total{reason=\"capacity\"}", 2.0);
    // The silent ones went away (the one let go above, and these 128);
    // none was a refusal per address.
    drop(silent);
    expect("chatd_connections{stage=\"handshake\"}", 0.0);
    expect_failures(&d, &[("closed", 129.0)]);
    expect(
        "chatd_connections_refused_total{reason=\"address_open\"}",
        0.0,
    );
    expect(
        "chatd_connections_refused_total{reason=\"address_rate\"}",
        0.0,
    );
}

/// The headers of a WebSocket upgrade request.
const UPGRADE: [(&str, &str); 4] = [
    ("Connection", "Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];
