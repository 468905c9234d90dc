//! Each way a joined session ends, made to happen for real against the
//! real chatd, counted once under its reason in
//! `chatd_sessions_ended_total` (docs/operations.md, "Label values"):
//! `left`, `lost`, `protocol`, `kicked`, `key_rotated` here; `timeout` and
//! `too_slow` in `chat.rs`, `name_registered` in `identities/`,
//! `shutdown` in `metrics.rs`, `name_lost` in `cluster_names.rs`.

use chat_protocol::{ByeCode, ServerEvent};
use futures_util::SinkExt;
use testkit::{Daemon, RawClient};
use tokio_tungstenite::tungstenite::Message;

/// Every reason a session of a single chatd can end with.
const REASONS: [&str; 10] = [
    "left",
    "lost",
    "timeout",
    "too_slow",
    "kicked",
    "key_rotated",
    "name_lost",
    "protocol",
    "shutdown",
    "name_registered",
];

/// Waits until each reason's count is the one in `want`, the others 0.
fn expect_ended(d: &Daemon, want: &[(&str, f64)]) {
    for reason in REASONS {
        let value = want
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0.0, |(_, v)| *v);
        let series = format!("chatd_sessions_ended_total{{reason=\"{reason}\"}}");
        testkit::monitoring::expect_scraped(&d.runtime_dir, &series, value);
    }
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

/// Waits until `watcher` sees `name` leave, and returns the reason shown.
async fn left(watcher: &mut RawClient, name: &str) -> String {
    watcher
        .recv_until("a leave", |e| match e {
            ServerEvent::Leave {
                name: n, reason, ..
            } if n == name => Some(reason.clone()),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn each_end_of_a_session_is_counted_once_under_its_reason() {
    let d = Daemon::builder().config("max_text = 1024\n").start();
    let mut watcher = join(&d, "watcher").await;

    // A goodbye: left.
    join(&d, "polite").await.leave().await;
    assert!(left(&mut watcher, "polite").await.starts_with("left"));
    expect_ended(&d, &[("left", 1.0)]);

    // A close frame without a goodbye, and a TCP connection dropped: lost.
    let mut closer = join(&d, "closer").await;
    closer.ws.close(None).await.unwrap();
    assert_eq!(left(&mut watcher, "closer").await, "connection lost");
    drop(join(&d, "dropped").await);
    assert_eq!(left(&mut watcher, "dropped").await, "connection lost");
    expect_ended(&d, &[("left", 1.0), ("lost", 2.0)]);

    // An unsealed text message, a binary one that does not open, and one
    // over the size limit: protocol.
    let mut texter = join(&d, "texter").await;
    texter.ws.send(Message::Text("hi".into())).await.unwrap();
    assert_eq!(texter.recv_to_close().await.1.0, 1008);
    let mut forger = join(&d, "forger").await;
    forger
        .ws
        .send(Message::Binary(vec![0u8; 64].into()))
        .await
        .unwrap();
    assert_eq!(forger.recv_to_close().await.1.0, 1008);
    let mut loud = join(&d, "loud").await;
    // chatd may close before the whole message is written.
    let _ = loud
        .ws
        .send(Message::Binary(vec![0u8; 64 * 1024].into()))
        .await;
    assert_eq!(loud.recv_to_close().await.1.0, 1009);
    for name in ["texter", "forger", "loud"] {
        left(&mut watcher, name).await;
    }
    expect_ended(&d, &[("left", 1.0), ("lost", 2.0), ("protocol", 3.0)]);

    // The admin's kick.
    let mut kicked = join(&d, "kicked").await;
    let (code, body) =
        testkit::admin_call(&d.runtime_dir, "POST", "/v1/users/kicked/kick", Some("{}"));
    assert_eq!(code, 200, "{body}");
    let (events, _) = kicked.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::Kicked,
                ..
            }
        )),
        "{events:?}"
    );
    left(&mut watcher, "kicked").await;
    expect_ended(
        &d,
        &[
            ("left", 1.0),
            ("lost", 2.0),
            ("protocol", 3.0),
            ("kicked", 1.0),
        ],
    );

    // A rotation with disconnect ends both sessions left on the old key.
    let mut late = join(&d, "late").await;
    let (code, body) = testkit::admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"disconnect":true}"#),
    );
    assert_eq!(code, 200, "{body}");
    for client in [&mut watcher, &mut late] {
        let (events, _) = client.recv_to_close().await;
        assert!(
            events.iter().any(|e| matches!(
                e,
                ServerEvent::Bye {
                    code: ByeCode::KeyRotated,
                    ..
                }
            )),
            "{events:?}"
        );
    }
    expect_ended(
        &d,
        &[
            ("left", 1.0),
            ("lost", 2.0),
            ("protocol", 3.0),
            ("kicked", 1.0),
            ("key_rotated", 2.0),
        ],
    );
    testkit::monitoring::expect_scraped(&d.runtime_dir, "chatd_users_online", 0.0);
    testkit::monitoring::expect_scraped(
        &d.runtime_dir,
        "chatd_joins_total{outcome=\"welcome\"}",
        9.0,
    );
}
