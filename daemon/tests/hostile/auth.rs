//! The `Auth` step: no name oracle without the password, an `Auth` out of
//! order or twice, an `Auth` that is not an `Auth`.

use chat_protocol::{Auth, ClientEvent, ErrorCode, RejectCode, ServerEvent, close};
use testkit::{Greeted, Outcome, RawClient, next_binary};

use crate::{Scene, rejected, send_binary};

/// With a wrong password, a taken name and a free one get the same
/// answer, word for word: the password is checked before the name.
#[tokio::test]
async fn a_taken_and_a_free_name_get_the_same_answer_without_the_password() {
    let mut s = Scene::with_password("").await;
    let answer = |name: &'static str| {
        let (url, key) = (s.d.url.clone(), s.d.key.clone());
        async move { RawClient::join(&url, &key, name, "wrong").await }
    };
    let taken = rejected(answer("honest").await, RejectCode::BadPassword);
    let taken_other_case = rejected(answer("HONEST").await, RejectCode::BadPassword);
    let free = rejected(answer("nobody").await, RejectCode::BadPassword);
    let invalid = rejected(answer("not a name!").await, RejectCode::BadPassword);
    assert_eq!(taken, free);
    assert_eq!(taken_other_case, free);
    assert_eq!(invalid, free);
    // With the password, the name is checked: the oracle is for members.
    rejected(
        RawClient::join(&s.d.url, &s.d.key, "honest", crate::PASSWORD).await,
        RejectCode::NameTaken,
    );
    s.unharmed().await;
}

/// An empty password when one is set is a wrong password, not a way past.
#[tokio::test]
async fn an_empty_or_missing_password_is_a_wrong_one() {
    let mut s = Scene::with_password("").await;
    rejected(
        RawClient::join(&s.d.url, &s.d.key, "mallory", "").await,
        RejectCode::BadPassword,
    );
    let no_member = br#"{"type":"auth","username":"mallory"}"#;
    rejected(
        RawClient::join_with_auth(s.ws().await, &s.d.key, no_member).await,
        RejectCode::BadPassword,
    );
    s.unharmed().await;
}

/// A sealed Auth sent first, before any Hello, is a malformed Hello: 1002.
#[tokio::test]
async fn an_auth_before_the_challenge_is_a_malformed_hello() {
    let mut s = Scene::start("").await;
    // Keys of a handshake with the server on another connection: the
    // sealed Auth is real, but sent where the Hello belongs.
    let mut other = Greeted::greet(s.ws().await, &s.d.key).await.unwrap();
    let auth = Auth {
        username: "mallory".into(),
        password: String::new().into(),
        client: "hostile".into(),
        after: None,
        identity: None,
        proof: None,
    };
    let sealed = other.session.sealer.seal(&auth.to_bytes()).unwrap();
    let mut ws = s.ws().await;
    send_binary(&mut ws, sealed).await;
    let close = next_binary(&mut ws).await.expect_err("a close");
    assert_eq!(close.0, close::PROTOCOL, "{close:?}");
    s.unharmed().await;
}

/// The Hello and an Auth sent at once, before the Challenge came: the Auth
/// cannot have been sealed under this session's keys, fails to open, 1008.
#[tokio::test]
async fn an_auth_pipelined_before_the_challenge_fails_to_open() {
    let mut s = Scene::start("").await;
    let mut ws = s.ws().await;
    let hs = chat_protocol::ClientHandshake::new(&s.token());
    send_binary(&mut ws, hs.hello().to_vec()).await;
    send_binary(&mut ws, vec![0x17; 80]).await;
    let challenge = next_binary(&mut ws).await.expect("the Challenge first");
    assert_eq!(challenge.len(), 86);
    let (code, _) = testkit::close_of(&mut ws).await;
    assert_eq!(code, close::POLICY);
    s.unharmed().await;
}

/// A second Auth after the Welcome is an event of an unknown type:
/// `bad_event`, the connection stays, the name stays the one joined with.
#[tokio::test]
async fn a_second_auth_is_a_bad_event_and_changes_no_name() {
    let mut s = Scene::start("").await;
    let mut mallory = s.member("mallory").await;
    let again = Auth {
        username: "root".into(),
        password: String::new().into(),
        client: "hostile".into(),
        after: None,
        identity: None,
        proof: None,
    };
    mallory.send_plain(&again.to_bytes()).await;
    mallory
        .recv_until("bad_event", |e| {
            matches!(
                e,
                ServerEvent::Error {
                    code: ErrorCode::BadEvent,
                    ..
                }
            )
            .then_some(())
        })
        .await;
    mallory
        .send(&ClientEvent::Who {
            room: None,
            after: None,
        })
        .await;
    let users = mallory
        .recv_until("users", |e| match e {
            ServerEvent::Users { users, .. } => Some(users.clone()),
            _ => None,
        })
        .await;
    assert_eq!(users, ["honest", "mallory"]);
    s.unharmed_but(|e| matches!(e, ServerEvent::Join { name, .. } if name == "mallory"))
        .await;
}

/// An `Auth` that is JSON but not an auth (`say`, no `type`, an array,
/// not JSON at all) is refused with `bad_request`.
#[tokio::test]
async fn an_auth_that_is_not_an_auth_is_a_bad_request() {
    let mut s = Scene::start("").await;
    for auth in [
        &br#"{"type":"say","text":"hi"}"#[..],
        br#"{"username":"mallory","password":""}"#,
        br#"["auth","mallory"]"#,
        b"mallory",
        b"",
        br#"{"type":"auth","username":7}"#,
    ] {
        let outcome = RawClient::join_with_auth(s.ws().await, &s.d.key, auth).await;
        match outcome {
            Outcome::Rejected(RejectCode::BadRequest, _) => {}
            other => panic!(
                "{:?}: expected bad_request, got {other:?}",
                String::from_utf8_lossy(auth)
            ),
        }
    }
    s.unharmed().await;
}

/// A password over 1 KiB is refused as wrong at once (no argon2 on it).
#[tokio::test]
async fn a_password_over_1_kib_is_a_wrong_password() {
    let mut s = Scene::with_password("").await;
    let long = "p".repeat(1025);
    rejected(
        RawClient::join(&s.d.url, &s.d.key, "mallory", &long).await,
        RejectCode::BadPassword,
    );
    s.unharmed().await;
}
