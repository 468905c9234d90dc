//! Slow peers before the join: the handshake deadline runs from `accept`
//! (here 1 s), whatever the peer dribbles. A request head held open, sent
//! a byte at a time, or over 8 KiB is closed; an upgraded connection that
//! never sends its Hello, or its Auth, is closed 1008. Others are served
//! all the while.

use std::time::{Duration, Instant};

use chat_protocol::{ByeCode, close};
use testkit::{Greeted, RawClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Scene, ended};

const CONFIG: &str = "handshake_timeout = \"1s\"\n";

/// Reads until the server closes; `None` if it is still open after the
/// test's deadline.
async fn read_to_close(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(testkit::DEADLINE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(got)
}

/// Ten partial request heads held open: each is closed without an answer,
/// and while they are held another member joins.
#[tokio::test]
async fn partial_request_heads_are_closed_at_the_deadline_and_others_served() {
    let mut s = Scene::start(CONFIG).await;
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(s.addr()).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: chat\r\nUpgrade: websocket\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    let _other = RawClient::join(&s.d.url, &s.d.key, "other", "")
        .await
        .joined();
    for mut stream in held {
        let got = read_to_close(&mut stream)
            .await
            .expect("closed at the deadline");
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
    s.unharmed_but(
        |e| matches!(e, chat_protocol::ServerEvent::Join { name, .. } if name == "other"),
    )
    .await;
}

/// A head dribbled one byte every 50 ms never ends: the deadline counts
/// from accept, not from the last byte.
#[tokio::test]
async fn a_request_head_sent_a_byte_at_a_time_is_closed_at_the_deadline() {
    let mut s = Scene::start(CONFIG).await;
    let stream = TcpStream::connect(s.addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let dribble = tokio::spawn(async move {
        let head = b"GET / HTTP/1.1\r\nHost: chat\r\nX-Slow: ";
        let mut sent = 0usize;
        // At most 30 s of dribbling: the deadline is 1 s.
        for byte in head.iter().chain(std::iter::repeat(&b'a')).take(600) {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sent
    });
    let start = Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(testkit::DEADLINE, reader.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "{read:?}");
    assert!(start.elapsed() < testkit::DEADLINE);
    dribble.abort();
    s.unharmed().await;
}

/// A request head over 8 KiB is refused before it ends (hyper's 431, or
/// the connection closed): never an upgrade.
#[tokio::test]
async fn a_request_head_over_8_kib_is_refused() {
    let mut s = Scene::start(CONFIG).await;
    let mut stream = TcpStream::connect(s.addr()).await.unwrap();
    let mut head = String::from("GET / HTTP/1.1\r\nHost: chat\r\n");
    for i in 0..200 {
        head.push_str(&format!("X-Pad-{i}: {}\r\n", "p".repeat(60)));
    }
    let _ = stream.write_all(head.as_bytes()).await;
    let got = read_to_close(&mut stream).await.expect("closed");
    let got = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 431"), "{got}");
    s.unharmed().await;
}

/// Upgraded, then silent: closed 1008 at the deadline, no keys, no Bye.
#[tokio::test]
async fn an_upgrade_without_a_hello_is_closed_1008_at_the_deadline() {
    let mut s = Scene::start(CONFIG).await;
    let mut ws = s.ws().await;
    let (code, _) = testkit::close_of(&mut ws).await;
    assert_eq!(code, close::POLICY);
    s.unharmed().await;
}

/// Greeted, then silent: keys exist, so a sealed `Bye` `timeout` and
/// 1008; no join is announced.
#[tokio::test]
async fn a_greeting_without_an_auth_gets_a_bye_and_1008_at_the_deadline() {
    let mut s = Scene::start(CONFIG).await;
    let mut greeted = Greeted::greet(s.ws().await, &s.d.key).await.unwrap();
    ended(
        greeted.recv_to_close().await,
        close::POLICY,
        Some(ByeCode::Timeout),
    );
    s.unharmed().await;
}
