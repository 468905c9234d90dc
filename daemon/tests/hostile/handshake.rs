//! Handshake framing: Hellos that are not 78 bytes of the right header,
//! text instead of binary, a Hello twice. All closed before any X25519
//! work (1002), or, once keys exist, as a message that fails to open.

use chat_protocol::{ClientHandshake, close};
use testkit::{Greeted, next_binary, send_fragments};

use crate::{Scene, send_binary, send_text};

/// A fresh, valid Hello for the scene's token.
fn hello(s: &Scene) -> Vec<u8> {
    ClientHandshake::new(&s.token()).hello().to_vec()
}

/// Sends `first` as the Hello and expects a close with `code`.
async fn refused(s: &mut Scene, first: Vec<u8>, code: u16) {
    let mut ws = s.ws().await;
    send_binary(&mut ws, first).await;
    let close = next_binary(&mut ws)
        .await
        .expect_err("a close, no Challenge");
    assert_eq!(close.0, code, "{close:?}");
    s.unharmed().await;
}

#[tokio::test]
async fn a_short_hello_is_closed_1002() {
    let mut s = Scene::start("").await;
    let short = hello(&s)[..77].to_vec();
    refused(&mut s, short, close::PROTOCOL).await;
}

#[tokio::test]
async fn a_long_hello_is_closed_1002() {
    let mut s = Scene::start("").await;
    let mut long = hello(&s);
    long.push(0);
    refused(&mut s, long, close::PROTOCOL).await;
}

#[tokio::test]
async fn an_empty_hello_is_closed_1002() {
    let mut s = Scene::start("").await;
    refused(&mut s, Vec::new(), close::PROTOCOL).await;
}

#[tokio::test]
async fn a_garbage_hello_of_the_right_length_is_closed_1002() {
    let mut s = Scene::start("").await;
    let garbage: Vec<u8> = (0..78u8).map(|i| i.wrapping_mul(151) ^ 0x5a).collect();
    refused(&mut s, garbage, close::PROTOCOL).await;
}

#[tokio::test]
async fn a_hello_of_the_wrong_type_is_closed_1002() {
    let mut s = Scene::start("").await;
    let mut wrong = hello(&s);
    wrong[4] = 2; // a Challenge's type
    refused(&mut s, wrong, close::PROTOCOL).await;
}

#[tokio::test]
async fn a_hello_of_another_version_is_closed_1002() {
    let mut s = Scene::start("").await;
    for version in [0u8, 2, 0xff] {
        let mut wrong = hello(&s);
        wrong[5] = version;
        refused(&mut s, wrong, close::PROTOCOL).await;
    }
}

#[tokio::test]
async fn a_text_hello_is_closed_1002() {
    let mut s = Scene::start("").await;
    let mut ws = s.ws().await;
    // The Hello's bytes read as Latin-1, sent as a text message: valid
    // UTF-8, but text is never part of this protocol.
    let text: String = hello(&s).iter().map(|&b| char::from(b)).collect();
    send_text(&mut ws, &text).await;
    let close = next_binary(&mut ws).await.expect_err("a close");
    assert_eq!(close.0, close::PROTOCOL, "{close:?}");
    s.unharmed().await;
}

#[tokio::test]
async fn a_hello_split_into_two_messages_is_closed_1002() {
    let mut s = Scene::start("").await;
    let mut ws = s.ws().await;
    let hello = hello(&s);
    send_binary(&mut ws, hello[..40].to_vec()).await;
    send_binary(&mut ws, hello[40..].to_vec()).await;
    let close = next_binary(&mut ws).await.expect_err("a close");
    assert_eq!(close.0, close::PROTOCOL, "{close:?}");
    s.unharmed().await;
}

/// One message in three frames is still one message (RFC 6455 §5.4):
/// the handshake goes on, and a member joins.
#[tokio::test]
async fn a_hello_in_fragments_is_one_message_and_joins() {
    let mut s = Scene::start("").await;
    let mut ws = s.ws().await;
    let hs = ClientHandshake::new(&s.token());
    let hello = hs.hello().to_vec();
    send_fragments(&mut ws, &[&hello[..1], &hello[1..50], &hello[50..]]).await;
    let challenge = next_binary(&mut ws).await.expect("a Challenge");
    let (mut session, _) = hs.on_challenge(&challenge).expect("the real server");
    let auth = chat_protocol::Auth {
        username: "frag".into(),
        password: String::new().into(),
        client: "hostile".into(),
        after: None,
        identity: None,
        proof: None,
    };
    send_binary(&mut ws, session.sealer.seal(&auth.to_bytes()).unwrap()).await;
    let welcome = session
        .opener
        .open(&next_binary(&mut ws).await.unwrap(), 1 << 20)
        .unwrap();
    assert!(welcome.starts_with(br#"{"type":"welcome""#));
    s.unharmed_but(
        |e| matches!(e, chat_protocol::ServerEvent::Join { name, .. } if name == "frag"),
    )
    .await;
}

/// A second Hello where the Auth belongs fails to open as one: 1008, no
/// `Bye`, and no join.
#[tokio::test]
async fn a_hello_twice_fails_to_open_as_the_auth_1008() {
    let mut s = Scene::start("").await;
    let mut greeted = Greeted::greet(s.ws().await, &s.d.key).await.unwrap();
    send_binary(&mut greeted.ws, hello(&s)).await;
    crate::ended(greeted.recv_to_close().await, close::POLICY, None);
    s.unharmed().await;
}

/// One letter of the magic in the wrong case, everything else valid.
#[tokio::test]
async fn a_hello_with_a_wrong_magic_is_closed_1002() {
    let mut s = Scene::start("").await;
    let mut forged = hello(&s);
    forged[..4].copy_from_slice(b"CHAt");
    refused(&mut s, forged, close::PROTOCOL).await;
}

/// Sends a request head of `GET /`, `Host` and the `extra` header lines;
/// returns the answer's status line.
async fn upgrade_answer(s: &Scene, extra: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let head = format!("GET / HTTP/1.1\r\nHost: chat\r\n{extra}\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(testkit::DEADLINE, stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_string();
    answer.lines().next().unwrap_or_default().to_string()
}

/// An upgrade whose `Sec-WebSocket-Key` is not 16 bytes in base64 is
/// refused 400 (RFC 6455 §4.2.1), and a request that is not an upgrade
/// 426: no session either way.
#[tokio::test]
async fn upgrades_without_a_valid_key_are_400_and_plain_requests_426() {
    let mut s = Scene::start("").await;
    let upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
    for key in [
        "",
        "Sec-WebSocket-Key: c2hvcnQ=\r\n",
        "Sec-WebSocket-Key: not base64!!!!!!!!!!!!\r\n",
    ] {
        let status = upgrade_answer(&s, &format!("{upgrade}{key}")).await;
        assert_eq!(status, "HTTP/1.1 400 Bad Request", "{key:?}");
    }
    for plain in [
        "",
        "Upgrade: websocket\r\n",
        "Connection: Upgrade\r\nUpgrade: h2c\r\n",
    ] {
        let status = upgrade_answer(&s, plain).await;
        assert_eq!(status, "HTTP/1.1 426 Upgrade Required", "{plain:?}");
    }
    s.unharmed().await;
}
