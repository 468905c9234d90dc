//! The password-guess throttle (docs/security.md, "Outside check,
//! December 2026") against the real chatd: guesses sent at once, guesses
//! interleaved with honest joins, an address shared by a guesser and
//! honest users, and clients behind a trusted reverse proxy.

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
    }
    .to_bytes()
    .to_vec()
}

/// A join from `source` as `name` with `password`.
async fn join_from(d: &Daemon, source: IpAddr, name: &str, password: &str) -> Outcome {
    RawClient::join_on(testkit::connect_from(&d.url, source).await, &d.key, name, password).await
}

/// Joins as `name` from `source` with the right password, then leaves.
async fn honest_join(d: &Daemon, source: IpAddr, name: &str) {
    join_from(d, source, name, PASSWORD).await.joined().leave().await;
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
