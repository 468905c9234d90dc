//! `metrics_per_room`: series of their own for the default room and the
//! rooms an admin made, none for rooms made by joining them (they come and
//! go), none at all without the setting.

use testkit::monitoring::{sample, scraped};
use testkit::{Daemon, RawClient, admin_call};

fn series(metric: &str, room: &str) -> String {
    format!("{metric}{{room=\"{room}\"}}")
}

/// `#ops` made by the admin, with `ace` and `bob` joined (ace in `#ops`
/// and in `#fun`, a room made by joining it), and messages said.
async fn session(d: &Daemon) -> (RawClient, RawClient) {
    let (status, body) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/rooms",
        Some(r##"{"room":"#ops"}"##),
    );
    assert_eq!(status, 200, "{body}");
    let mut ace = RawClient::join(&d.url, &d.key, "ace", "").await.joined();
    let bob = RawClient::join(&d.url, &d.key, "bob", "").await.joined();
    ace.join_room("#ops", None).await;
    ace.join_room("#fun", None).await;
    ace.say_in(Some("#ops"), "one").await;
    ace.say_in(Some("#ops"), "two").await;
    ace.say_in(None, "in the lobby").await;
    ace.say_in(Some("#fun"), "fun").await;
    (ace, bob)
}

#[tokio::test]
async fn rooms_an_admin_made_have_series_of_their_own_until_removed() {
    let d = Daemon::builder()
        .config("metrics_per_room = true\n")
        .start();
    let _clients = session(&d).await;
    let rd = &d.runtime_dir;
    let members = |room| scraped(rd, &series("chatd_room_members", room));
    let messages = |room| scraped(rd, &series("chatd_room_messages_total", room));
    assert_eq!(members("#lobby"), Some(2.0));
    assert_eq!(members("#ops"), Some(1.0));
    assert_eq!(messages("#lobby"), Some(1.0));
    assert_eq!(messages("#ops"), Some(2.0));
    // Made by joining it: no series.
    assert_eq!(members("#fun"), None);
    assert_eq!(messages("#fun"), None);
    // Removed: its series go with it.
    let (status, body) = admin_call(rd, "DELETE", "/v1/rooms/%23ops", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(members("#ops"), None);
    assert_eq!(messages("#ops"), None);
    assert_eq!(members("#lobby"), Some(2.0));
}

#[tokio::test]
async fn without_metrics_per_room_no_room_has_series() {
    let d = Daemon::start();
    let _clients = session(&d).await;
    let (status, body) = admin_call(&d.runtime_dir, "GET", "/v1/metrics", None);
    assert_eq!(status, 200, "{body}");
    let text = body.as_str().expect("the metrics as text");
    assert!(
        sample(text, "chatd_messages_total{kind=\"say\"}").is_some_and(|n| n >= 4.0),
        "{text}"
    );
    assert!(!text.contains("chatd_room_"), "{text}");
}
