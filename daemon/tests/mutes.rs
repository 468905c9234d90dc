//! Mutes through the real chatd and the real `chatctl` (docs/protocol.md
//! §10.7): a muted user's say, action and DM are refused with `muted`
//! (who, why, until) and nobody receives them; the room is told once; the
//! mute outlives a rejoin (by name and address without an identity, by
//! the key with one, under any name); an unmute lets them speak again.

use chat_protocol::{ClientEvent, ErrorCode, Identity, ModerationAction, ServerEvent};
use testkit::{Daemon, Outcome, RawClient, connect_from};

async fn join(d: &Daemon, source: &str, name: &str, who: Option<&Identity>) -> Outcome {
    let ws = connect_from(&d.url, source.parse().unwrap()).await;
    RawClient::join_as_on(ws, &d.key, name, "", who).await
}

fn say(text: &str) -> ClientEvent {
    ClientEvent::Say {
        room: None,
        text: text.into(),
        cid: None,
    }
}

/// Sends `event` as `who` and expects the `muted` error: its message and
/// end.
async fn refused_muted(who: &mut RawClient, event: &ClientEvent) -> (String, Option<u64>) {
    who.send(event).await;
    let name = who.welcome.name.clone();
    who.recv_until("the muted error", |e| match e {
        ServerEvent::Error {
            code: ErrorCode::Muted,
            message,
            until,
            ..
        } => Some((message.clone(), *until)),
        ServerEvent::Message(m) if m.from == name => {
            panic!("a muted user's message went out")
        }
        _ => None,
    })
    .await
}

/// The next message `watcher` receives: the text of `marker`'s line,
/// which must come before any line of `muted`.
async fn next_line_is(watcher: &mut RawClient, muted: &str, marker: &str) {
    let (from, text) = watcher
        .recv_until("a message", |e| match e {
            ServerEvent::Message(m) => Some((m.from.clone(), m.text.clone())),
            ServerEvent::Dm { from, .. } if from == muted => panic!("a muted user's DM arrived"),
            _ => None,
        })
        .await;
    assert_eq!(
        from, marker,
        "{muted}'s refused line reached the room: {text}"
    );
}

#[tokio::test]
async fn a_muted_user_reads_but_says_nothing_until_unmuted() {
    let d = Daemon::start();
    let mut watcher = join(&d, "127.0.0.1", "watcher", None).await.joined();
    let mut carol = join(&d, "127.0.0.1", "carol", None).await.joined();
    let mut bob = join(&d, "127.0.0.20", "bob", None).await.joined();

    let answer = d.chatctl_json(&["mute", "bob", "--for", "10m", "--reason", "flooding"]);
    assert_eq!(answer["mute"]["addr"], "127.0.0.20", "{answer}");
    let until = answer["mute"]["until"].as_u64().unwrap();
    watcher
        .recv_until("the mute told", |e| match e {
            ServerEvent::Moderation {
                action: ModerationAction::Mute,
                target,
                by: None,
                until: Some(u),
                reason: Some(r),
                ..
            } if target == "bob" && *u == until && r == "flooding" => Some(()),
            _ => None,
        })
        .await;

    let (message, u) = refused_muted(&mut bob, &say("spam")).await;
    assert_eq!(
        (message.as_str(), u),
        ("muted by the admin: flooding", Some(until))
    );
    let dm = ClientEvent::Dm {
        to: "watcher".into(),
        text: "psst".into(),
        cid: None,
    };
    refused_muted(&mut bob, &dm).await;
    carol.send(&say("marker 1")).await;
    next_line_is(&mut watcher, "bob", "carol").await;

    // The mute outlives a rejoin from the same address.
    bob.leave().await;
    let mut bob = join(&d, "127.0.0.20", "bob", None).await.joined();
    refused_muted(&mut bob, &say("again")).await;
    carol.send(&say("marker 2")).await;
    next_line_is(&mut watcher, "bob", "carol").await;

    let listed = d.chatctl_json(&["mutes"]);
    assert_eq!(listed["mutes"][0]["name"], "bob");
    d.chatctl_json(&["unmute", "bob"]);
    watcher
        .recv_until("the unmute told", |e| match e {
            ServerEvent::Moderation {
                action: ModerationAction::Unmute,
                target,
                ..
            } if target == "bob" => Some(()),
            _ => None,
        })
        .await;
    bob.send(&say("free")).await;
    next_line_is(&mut watcher, "nobody", "bob").await;
    let (code, _, _) = d.chatctl(&["unmute", "bob"]);
    assert_eq!(code, 1, "not muted any more");
}

#[tokio::test]
async fn a_mute_follows_the_identity_under_another_name() {
    let d = Daemon::start();
    let alice = Identity::from_seed(&[7; 32]);
    let first = join(&d, "127.0.0.1", "alice", Some(&alice)).await.joined();
    first.leave().await;
    // Registered (first-come) and offline: muted by its key.
    let answer = d.chatctl_json(&["mute", "alice"]);
    let fingerprint = alice.public().fingerprint().to_string();
    assert_eq!(
        answer["mute"]["keys"],
        serde_json::json!([format!("key:{fingerprint}")])
    );
    let mut again = join(&d, "127.0.0.1", "alice2", Some(&alice)).await.joined();
    let (message, until) = refused_muted(&mut again, &say("hi")).await;
    assert_eq!((message.as_str(), until), ("muted by the admin", None));
    // Someone else is not silenced, and a name no one knows is refused.
    let mut other = join(&d, "127.0.0.1", "zed", None).await.joined();
    other.send(&say("hello")).await;
    other
        .recv_until("zed's echo", |e| {
            matches!(e, ServerEvent::Message(m) if m.from == "zed").then_some(())
        })
        .await;
    let (code, out, _) = d.chatctl(&["--json", "mute", "nobody"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no_such_user"), "{out}");
}
