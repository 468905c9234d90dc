//! Keys and key shares: an unknown key id (4001 with the documented
//! reason), key shares that are not contributory (1002), a token with the
//! right key id but the wrong join key, a key withdrawn by a rotation.

use chat_protocol::{ClientHandshake, JoinKey, KeyId, Token, close};
use testkit::{Outcome, RawClient, next_binary};

use crate::{Scene, closed, send_binary};

/// Low-order X25519 points (RFC 7748's curve has order-1, -2, -4 and -8
/// points): with any clamped scalar the shared secret is all zero.
const LOW_ORDER: [[u8; 32]; 3] = [
    [0; 32],
    {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    },
    // An order-8 point (libsodium's blocklist).
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
];

#[tokio::test]
async fn an_unknown_key_id_is_closed_4001_with_the_documented_reason() {
    let mut s = Scene::start("").await;
    let mut hello = ClientHandshake::new(&s.token()).hello().to_vec();
    hello[6..14].copy_from_slice(&KeyId([0x55; 8]).0);
    let mut ws = s.ws().await;
    send_binary(&mut ws, hello).await;
    let (code, reason) = next_binary(&mut ws).await.expect_err("a close");
    assert_eq!(code, close::UNKNOWN_KEY);
    assert_eq!(
        reason,
        format!(
            "unknown key id; the server's current key is {}",
            s.token().key_id()
        )
    );
    s.unharmed().await;
}

/// Each low-order point as the client's share: `ee` is all zero, so the
/// server refuses it as an invalid key share, 1002, sending no Challenge.
#[tokio::test]
async fn low_order_key_shares_are_closed_1002() {
    let mut s = Scene::start("").await;
    for point in LOW_ORDER {
        let mut hello = ClientHandshake::new(&s.token()).hello().to_vec();
        hello[14..46].copy_from_slice(&point);
        let mut ws = s.ws().await;
        send_binary(&mut ws, hello).await;
        let (code, reason) = next_binary(&mut ws).await.expect_err("no Challenge");
        assert_eq!(code, close::PROTOCOL, "{point:02x?}: {reason}");
        assert!(reason.contains("invalid key share"), "{reason}");
    }
    s.unharmed().await;
}

/// The real key id with another join key `K`: the server answers (it
/// cannot tell yet), but its Challenge does not verify under the wrong
/// `K`, and an `Auth` sealed under keys derived from it fails to open:
/// 1008 without a `Bye`, no join.
#[tokio::test]
async fn the_right_key_id_with_a_wrong_join_key_cannot_join() {
    let mut s = Scene::start("").await;
    let real = s.token();
    let wrong = Token {
        join_key: JoinKey([0x42; 32]),
        server_public: real.server_public,
    };
    let hs = ClientHandshake::new(&wrong);
    let mut hello = hs.hello().to_vec();
    hello[6..14].copy_from_slice(&real.key_id().0);
    let mut ws = s.ws().await;
    send_binary(&mut ws, hello).await;
    let challenge = next_binary(&mut ws).await.expect("a Challenge");
    assert!(
        hs.on_challenge(&challenge).is_err(),
        "a Challenge that verifies under the wrong K"
    );
    // What a client that ignored the failed check could send: its Auth
    // sealed under keys of its own.
    send_binary(&mut ws, vec![0xa5; 96]).await;
    let (code, _) = testkit::close_of(&mut ws).await;
    assert_eq!(code, close::POLICY);
    s.unharmed().await;
}

/// A token of another server (its own `S`, same `K`): another key id, 4001.
#[tokio::test]
async fn a_token_for_another_server_identity_is_closed_4001() {
    let mut s = Scene::start("").await;
    let other = Token {
        join_key: s.token().join_key,
        server_public: [9; 32],
    };
    let outcome = RawClient::join(&s.d.url, &other.encode(), "mallory", "").await;
    let reason = closed(outcome, close::UNKNOWN_KEY);
    assert!(
        reason.ends_with(&s.token().key_id().to_string()),
        "{reason}"
    );
    s.unharmed().await;
}

/// After a rotation without grace, the old token is an unknown key: 4001
/// naming the new key; the honest member, on the old key, stays.
#[tokio::test]
async fn a_rotated_out_key_is_closed_4001_naming_the_new_one() {
    let mut s = Scene::start("").await;
    let (code, body) = testkit::admin_call(&s.d.runtime_dir, "POST", "/v1/key/rotate", None);
    assert_eq!(code, 200, "{body}");
    let new_id = body["key_id"].as_str().unwrap().to_string();
    let outcome = RawClient::join(&s.d.url, &s.d.key, "late", "").await;
    let reason = closed(outcome, close::UNKNOWN_KEY);
    assert!(reason.ends_with(&new_id), "{reason}");
    let _late = match RawClient::join(&s.d.url, body["token"].as_str().unwrap(), "late", "").await {
        Outcome::Joined(late) => late,
        other => panic!("the new key: {other:?}"),
    };
    s.unharmed_but(
        |e| matches!(e, chat_protocol::ServerEvent::Join { name, .. } if name == "late"),
    )
    .await;
}
