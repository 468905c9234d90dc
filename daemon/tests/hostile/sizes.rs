//! Size limits: checked before any AEAD work, whether a message comes in
//! one frame or many. Over a limit once keys exist: a sealed `Bye`
//! `protocol` and close 1009; the room sees "sent an oversized message".
//! The scenes use `max_text = 100`: later messages are then at most
//! 2 × 100 + 1024 = 1224 bytes.

use chat_protocol::{ByeCode, ServerEvent, close};
use testkit::{Greeted, RawClient, next_binary, send_fragments};

use crate::{Scene, ended, say, sealed_say, send_binary};

const CONFIG: &str = "max_text = 100\n";
/// The message limit with `max_text = 100`.
const LIMIT: usize = 2 * 100 + 1024;

async fn oversized(s: &mut Scene, mallory: &mut RawClient) {
    ended(
        mallory.recv_to_close().await,
        close::TOO_BIG,
        Some(ByeCode::Protocol),
    );
    assert_eq!(s.sees_leave("mallory").await, "sent an oversized message");
    s.unharmed().await;
}

#[tokio::test]
async fn one_frame_over_the_limit_gets_a_bye_and_1009() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    send_binary(&mut mallory.ws, vec![0u8; LIMIT + 1]).await;
    oversized(&mut s, &mut mallory).await;
}

/// A sealed message one byte over the limit, well-formed otherwise: the
/// size is checked before opening it.
#[tokio::test]
async fn a_sealed_message_one_byte_over_the_limit_gets_1009() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    let text = "x".repeat(LIMIT + 1 - 16 - r#"{"type":"say","text":""}"#.len());
    let sealed = mallory.session.sealer.seal(&say(&text).to_bytes()).unwrap();
    assert_eq!(sealed.len(), LIMIT + 1);
    send_binary(&mut mallory.ws, sealed).await;
    oversized(&mut s, &mut mallory).await;
}

/// Fragments each far under the limit, together over it.
#[tokio::test]
async fn a_fragmented_message_over_the_limit_gets_1009() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    let part = [0u8; 500];
    send_fragments(&mut mallory.ws, &[&part, &part, &part]).await;
    oversized(&mut s, &mut mallory).await;
}

/// Many one-byte fragments that add up to more than the limit.
#[tokio::test]
async fn many_small_fragments_over_the_limit_get_1009() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    let parts: Vec<&[u8]> = (0..LIMIT + 10).map(|_| &b"z"[..]).collect();
    send_fragments(&mut mallory.ws, &parts).await;
    oversized(&mut s, &mut mallory).await;
}

/// A valid sealed message in one-byte fragments is one message:
/// it is said.
#[tokio::test]
async fn many_small_fragments_within_the_limit_are_one_message() {
    let mut s = Scene::start(CONFIG).await;
    let mut mallory = s.member("mallory").await;
    let sealed = sealed_say(&mut mallory, "in pieces");
    let parts: Vec<&[u8]> = sealed.chunks(1).collect();
    send_fragments(&mut mallory.ws, &parts).await;
    mallory
        .recv_until("the echo", |e| {
            matches!(e, ServerEvent::Message(m) if m.text == "in pieces").then_some(())
        })
        .await;
    s.unharmed_but(|e| match e {
        ServerEvent::Join { name, .. } => name == "mallory",
        ServerEvent::Message(m) => m.from == "mallory" && m.text == "in pieces",
        _ => false,
    })
    .await;
}

/// An `Auth` over 2 KiB (but under the WebSocket cap): a sealed `Bye`
/// `protocol` and 1009, no join.
#[tokio::test]
async fn an_auth_over_2_kib_gets_a_bye_and_1009() {
    let mut s = Scene::start("").await;
    let mut greeted = Greeted::greet(s.ws().await, &s.d.key).await.unwrap();
    let auth = format!(
        r#"{{"type":"auth","username":"mallory","password":"","client":"{}"}}"#,
        "c".repeat(2100)
    );
    let sealed = greeted.session.sealer.seal(auth.as_bytes()).unwrap();
    send_binary(&mut greeted.ws, sealed).await;
    ended(
        greeted.recv_to_close().await,
        close::TOO_BIG,
        Some(ByeCode::Protocol),
    );
    s.unharmed().await;
}

/// A Hello larger than the WebSocket cap (9216 bytes by default): 1009
/// before the message is even buffered whole.
#[tokio::test]
async fn a_hello_over_the_websocket_cap_is_closed_1009() {
    let mut s = Scene::start("").await;
    let mut ws = s.ws().await;
    send_binary(&mut ws, vec![0x43; 64 * 1024]).await;
    let (code, _) = next_binary(&mut ws).await.expect_err("a close");
    assert_eq!(code, close::TOO_BIG);
    s.unharmed().await;
}
