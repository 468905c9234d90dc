//! Per-address limits, counted from `accept`: 16 connections open and 60
//! new ones a minute per address (the defaults); past either a new
//! connection is closed at once, before any HTTP. The attacker connects
//! from 127.0.0.5, the honest member from 127.0.0.1, which is not affected.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Scene;

const ATTACKER: &str = "127.0.0.5";

/// A TCP connection to `addr` from `source`.
async fn tcp_from(addr: SocketAddr, source: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind((source.parse::<IpAddr>().unwrap(), 0).into())
        .unwrap();
    socket.connect(addr).await.unwrap()
}

/// Everything the server sends until it closes (a reset counts as a close).
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(testkit::DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "still open after {got:?}");
    got
}

/// A plain request, answered 426 by a server that took the connection.
async fn answered(addr: SocketAddr, source: &str) -> bool {
    let mut stream = tcp_from(addr, source).await;
    let _ = stream
        .write_all(b"GET / HTTP/1.1\r\nHost: chat\r\n\r\n")
        .await;
    read_to_close(&mut stream)
        .await
        .starts_with(b"HTTP/1.1 426")
}

#[tokio::test]
async fn the_17th_open_connection_from_one_address_is_closed_at_accept() {
    let mut s = Scene::start("").await;
    let addr = s.addr();
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(tcp_from(addr, ATTACKER).await);
    }
    let mut over = tcp_from(addr, ATTACKER).await;
    let _ = over
        .write_all(b"GET / HTTP/1.1\r\nHost: chat\r\n\r\n")
        .await;
    assert_eq!(read_to_close(&mut over).await, b"", "closed without a word");
    // Meanwhile another address joins, and the honest member is untouched.
    let other = testkit::connect_from(&s.d.url, "127.0.0.6".parse().unwrap()).await;
    let _other = testkit::RawClient::join_on(other, &s.d.key, "other", "")
        .await
        .joined();
    s.unharmed_but(
        |e| matches!(e, chat_protocol::ServerEvent::Join { name, .. } if name == "other"),
    )
    .await;
    drop(held);
}

#[tokio::test]
async fn the_61st_new_connection_in_a_minute_from_one_address_is_closed_at_accept() {
    let mut s = Scene::start("").await;
    let addr = s.addr();
    for i in 0..60 {
        assert!(
            answered(addr, ATTACKER).await,
            "connection {i} of the minute"
        );
    }
    assert!(!answered(addr, ATTACKER).await, "the 61st was served");
    s.d.wait_for_log("closing a new connection");
    // Another address is served.
    assert!(answered(addr, "127.0.0.6").await);
    s.unharmed().await;
}

/// Connections refused at the limit of open ones are not held, and do not
/// keep the address out once its own connections close: the places come
/// back. The honest member sees nothing of it.
#[tokio::test]
async fn refused_connections_are_not_held_and_freed_places_come_back() {
    let mut s = Scene::start("max_connections_per_ip = 2\n").await;
    let addr = s.addr();
    let a = tcp_from(addr, ATTACKER).await;
    let b = tcp_from(addr, ATTACKER).await;
    for _ in 0..20 {
        let mut over = tcp_from(addr, ATTACKER).await;
        assert_eq!(read_to_close(&mut over).await, b"");
    }
    drop((a, b));
    // The two places are free again once the server saw them closed.
    let start = std::time::Instant::now();
    while !answered(addr, ATTACKER).await {
        assert!(start.elapsed() < testkit::DEADLINE, "no place came back");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    s.unharmed().await;
}
