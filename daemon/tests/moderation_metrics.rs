//! Moderation in chatd's metrics, scraped from the real chatd's admin
//! socket after real acts: `chatd_moderation_actions_total` counts every
//! order the node took, by action, the admin's and an operator's alike,
//! and a session a ban ended counts as
//! `chatd_sessions_ended_total{reason="banned"}`.

use chat_protocol::{BanTarget, ClientEvent, Identity, ModerationAction, ServerEvent};
use testkit::monitoring::expect_scraped;
use testkit::{Daemon, RawClient, connect_from};

async fn join(d: &Daemon, source: &str, name: &str, who: Option<&Identity>) -> RawClient {
    let ws = connect_from(&d.url, source.parse().unwrap()).await;
    RawClient::join_as_on(ws, &d.key, name, "", who)
        .await
        .joined()
}

/// Waits for the `moderation` event of `action` on `target`.
async fn told(who: &mut RawClient, action: ModerationAction, target: &str) {
    who.recv_until("a moderation event", |e| match e {
        ServerEvent::Moderation {
            action: a,
            target: t,
            ..
        } if *a == action && t == target => Some(()),
        _ => None,
    })
    .await;
}

fn actions(d: &Daemon, action: &str, want: f64) {
    expect_scraped(
        &d.runtime_dir,
        &format!("chatd_moderation_actions_total{{action=\"{action}\"}}"),
        want,
    );
}

#[tokio::test]
async fn every_moderation_act_is_counted_and_a_ban_ends_sessions_as_banned() {
    let d = Daemon::start();
    for action in ["kick", "ban", "unban", "mute", "unmute", "op", "deop"] {
        actions(&d, action, 0.0);
    }
    expect_scraped(
        &d.runtime_dir,
        "chatd_sessions_ended_total{reason=\"banned\"}",
        0.0,
    );

    // The admin's acts.
    let key = Identity::from_seed(&[5; 32]);
    join(&d, "127.0.0.1", "carol", Some(&key))
        .await
        .leave()
        .await;
    d.chatctl_json(&["op", "carol"]);
    let mut carol = join(&d, "127.0.0.1", "carol", Some(&key)).await;
    let mut bob = join(&d, "127.0.0.20", "bob", None).await;
    d.chatctl_json(&["mute", "bob", "--for", "1m"]);
    d.chatctl_json(&["unmute", "bob"]);
    d.chatctl_json(&["kick", "bob"]);
    bob.recv_to_close().await;
    let mut bob = join(&d, "127.0.0.20", "bob", None).await;
    d.chatctl_json(&["ban", "bob"]);
    bob.recv_to_close().await;
    d.chatctl_json(&["unban", "bob"]);

    // An operator's, from the room.
    let mut dave = join(&d, "127.0.0.21", "dave", None).await;
    carol
        .send(&ClientEvent::Kick {
            name: "dave".into(),
            reason: None,
        })
        .await;
    dave.recv_to_close().await;
    let mut dave = join(&d, "127.0.0.21", "dave", None).await;
    carol
        .send(&ClientEvent::Mute {
            name: "dave".into(),
            for_secs: Some(60),
            reason: None,
        })
        .await;
    told(&mut carol, ModerationAction::Mute, "dave").await;
    carol
        .send(&ClientEvent::Ban {
            target: BanTarget::parse("dave").unwrap(),
            for_secs: Some(60),
            reason: None,
        })
        .await;
    dave.recv_to_close().await;
    d.chatctl_json(&["deop", "carol"]);

    for (action, want) in [
        ("kick", 2.0),
        ("ban", 2.0),
        ("unban", 1.0),
        ("mute", 2.0),
        ("unmute", 1.0),
        ("op", 1.0),
        ("deop", 1.0),
    ] {
        actions(&d, action, want);
    }
    expect_scraped(
        &d.runtime_dir,
        "chatd_sessions_ended_total{reason=\"banned\"}",
        2.0,
    );
    expect_scraped(
        &d.runtime_dir,
        "chatd_sessions_ended_total{reason=\"kicked\"}",
        2.0,
    );
}
