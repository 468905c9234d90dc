//! Text and control frames after the handshake: a text message is
//! unsealed, so once keys exist it closes 1008 without a `Bye`; pings and
//! pongs are the transport's and change nothing.

use chat_protocol::{ServerEvent, close};
use futures_util::SinkExt;
use testkit::Greeted;
use tokio_tungstenite::tungstenite::Message;

use crate::{Scene, ended, say, send_text};

#[tokio::test]
async fn a_text_message_after_the_welcome_closes_1008_without_bye() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    send_text(&mut mallory.ws, r#"{"type":"say","text":"unsealed"}"#).await;
    ended(mallory.recv_to_close().await, close::POLICY, None);
    assert_eq!(
        s.sees_leave("mallory").await,
        "connection lost (unsealed message)"
    );
    s.unharmed().await;
}

/// Between the Challenge and the Auth, keys exist: a text message is an
/// unsealed message, 1008 without a `Bye`, and no one joins.
#[tokio::test]
async fn a_text_message_instead_of_the_auth_closes_1008() {
    let mut s = Scene::start("").await;
    let mut greeted = Greeted::greet(s.ws().await, &s.d.key).await.unwrap();
    send_text(
        &mut greeted.ws,
        r#"{"type":"auth","username":"mallory","password":""}"#,
    )
    .await;
    ended(greeted.recv_to_close().await, close::POLICY, None);
    s.unharmed().await;
}

/// An empty text message is text all the same.
#[tokio::test]
async fn an_empty_text_message_after_the_welcome_closes_1008() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    send_text(&mut mallory.ws, "").await;
    ended(mallory.recv_to_close().await, close::POLICY, None);
    s.sees_leave("mallory").await;
    s.unharmed().await;
}

/// Unsolicited pongs and pings (with payloads) between sealed messages are
/// the transport's: the sealed stream goes on, counters untouched.
#[tokio::test]
async fn pings_and_pongs_between_messages_change_nothing() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    for i in 0..20u8 {
        mallory
            .ws
            .send(Message::Ping(vec![i; 100].into()))
            .await
            .unwrap();
        mallory
            .ws
            .send(Message::Pong(vec![i; 10].into()))
            .await
            .unwrap();
    }
    mallory.send(&say("still sealed")).await;
    mallory
        .recv_until("the echo", |e| {
            matches!(e, ServerEvent::Message(m) if m.text == "still sealed").then_some(())
        })
        .await;
    s.unharmed_but(|e| match e {
        ServerEvent::Join { name, .. } => name == "mallory",
        ServerEvent::Message(m) => m.from == "mallory" && m.text == "still sealed",
        _ => false,
    })
    .await;
}
