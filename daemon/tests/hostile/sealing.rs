//! Sealed messages that must not open: tampered, replayed, reordered,
//! truncated, too short, from another session. Each closes 1008 without a
//! `Bye` (the peer is not trusted), and nothing in them reaches the room.

use chat_protocol::{ServerEvent, close};
use testkit::{Greeted, RawClient};

use crate::{Scene, ended, say, sealed_say, send_binary};

/// The attacker's session must end 1008 without a `Bye`; the honest member
/// sees it leave with "connection lost (a message failed to open)" and none
/// of its words but those in `said`.
async fn fails_to_open(s: &mut Scene, mut mallory: RawClient, said: &[&str]) {
    ended(mallory.recv_to_close().await, close::POLICY, None);
    let reason = s.sees_leave("mallory").await;
    assert_eq!(reason, "connection lost (a message failed to open)");
    let said: Vec<String> = said.iter().map(|t| t.to_string()).collect();
    s.unharmed_but(
        |e| matches!(e, ServerEvent::Message(m) if m.from == "mallory" && said.contains(&m.text)),
    )
    .await;
}

#[tokio::test]
async fn a_message_with_one_bit_flipped_closes_1008() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let mut sealed = sealed_say(&mut mallory, "evil");
    let last = sealed.len() - 1;
    sealed[last] ^= 0x80; // in the tag
    send_binary(&mut mallory.ws, sealed).await;
    fails_to_open(&mut s, mallory, &[]).await;
}

#[tokio::test]
async fn a_message_with_its_ciphertext_changed_closes_1008() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let mut sealed = sealed_say(&mut mallory, "evil");
    sealed[10] ^= 0x01; // in the ciphertext: AES-GCM-SIV is not malleable
    send_binary(&mut mallory.ws, sealed).await;
    fails_to_open(&mut s, mallory, &[]).await;
}

#[tokio::test]
async fn a_replayed_message_closes_1008_and_is_said_once() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let sealed = sealed_say(&mut mallory, "once");
    send_binary(&mut mallory.ws, sealed.clone()).await;
    send_binary(&mut mallory.ws, sealed).await;
    fails_to_open(&mut s, mallory, &["once"]).await;
}

/// Two messages sealed in order and sent the other way round: the first to
/// arrive has the wrong counter, so neither is said.
#[tokio::test]
async fn two_messages_sent_out_of_order_close_1008_and_neither_is_said() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let first = sealed_say(&mut mallory, "first");
    let second = sealed_say(&mut mallory, "second");
    send_binary(&mut mallory.ws, second).await;
    send_binary(&mut mallory.ws, first).await;
    fails_to_open(&mut s, mallory, &[]).await;
}

/// A message dropped on the way: the next one has a counter too far ahead.
#[tokio::test]
async fn a_dropped_message_makes_the_next_fail_to_open() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let _dropped = sealed_say(&mut mallory, "lost");
    let next = sealed_say(&mut mallory, "next");
    send_binary(&mut mallory.ws, next).await;
    fails_to_open(&mut s, mallory, &[]).await;
}

#[tokio::test]
async fn a_truncated_message_closes_1008() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let mut sealed = sealed_say(&mut mallory, "evil");
    sealed.pop();
    send_binary(&mut mallory.ws, sealed).await;
    fails_to_open(&mut s, mallory, &[]).await;
}

/// Shorter than a tag: cannot even be a sealed message.
#[tokio::test]
async fn a_message_shorter_than_a_tag_closes_1008() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    send_binary(&mut mallory.ws, vec![0u8; 15]).await;
    fails_to_open(&mut s, mallory, &[]).await;
}

#[tokio::test]
async fn an_empty_binary_message_closes_1008() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    send_binary(&mut mallory.ws, Vec::new()).await;
    fails_to_open(&mut s, mallory, &[]).await;
}

/// A message sealed (with the right counter) in another session of the
/// same attacker does not open in this one: the keys differ with every
/// handshake.
#[tokio::test]
async fn a_message_from_another_session_closes_1008() {
    let mut s = Scene::start("").await;
    let mut other = s.member("other").await;
    let mut mallory = s.member("mallory").await;
    // Both sessions are at c2s counter 1: the other's first message, sent
    // on its own connection and copied into mallory's, has the counter
    // mallory's session expects next, but not its key.
    let foreign = sealed_say(&mut other, "from the other");
    send_binary(&mut other.ws, foreign.clone()).await;
    send_binary(&mut mallory.ws, foreign).await;
    ended(mallory.recv_to_close().await, close::POLICY, None);
    // The other session is unharmed too.
    other.send(&say("other still here")).await;
    other
        .recv_until("the echo", |e| {
            matches!(e, ServerEvent::Message(m) if m.text == "other still here").then_some(())
        })
        .await;
    s.unharmed_but(|e| match e {
        ServerEvent::Join { name, .. } => name == "other" || name == "mallory",
        ServerEvent::Leave { name, .. } => name == "mallory",
        ServerEvent::Message(m) => {
            m.from == "other" && ["from the other", "other still here"].contains(&m.text.as_str())
        }
        _ => false,
    })
    .await;
}

/// The Auth of one handshake replayed as the Auth of another: the server's
/// fresh ephemeral key and random make new keys, so it fails to open.
#[tokio::test]
async fn an_auth_replayed_into_a_new_handshake_closes_1008() {
    let mut s = Scene::start("").await;
    let mut first = Greeted::greet(s.ws().await, &s.d.key).await.unwrap();
    let auth = chat_protocol::Auth {
        username: "mallory".into(),
        password: String::new().into(),
        client: "hostile".into(),
        after: None,
        identity: None,
        proof: None,
    };
    let recorded = first.session.sealer.seal(&auth.to_bytes()).unwrap();
    drop(first);
    let mut second = Greeted::greet(s.ws().await, &s.d.key).await.unwrap();
    send_binary(&mut second.ws, recorded).await;
    ended(second.recv_to_close().await, close::POLICY, None);
    s.unharmed().await;
}
