//! Operators in the room, through the real chatd, the real `chatctl` and
//! protocol clients (docs/protocol.md §10.7): the admin makes a registered
//! name an operator; its proven session kicks, bans, mutes and lists the
//! bans from inside the room, each told with the operator as `by`; a
//! non-operator's request is refused `not_operator`; an operator cannot
//! act on another operator, use key: or addr: targets, or lift the
//! admin's bans; and under names = "open" taking the name never takes the
//! rights.

use chat_protocol::{
    BanTarget, ByeCode, ClientEvent, ErrorCode, Identity, ModerationAction, ServerEvent,
};
use testkit::{Daemon, Outcome, RawClient, connect_from};

async fn join(d: &Daemon, source: &str, name: &str, who: Option<&Identity>) -> Outcome {
    let ws = connect_from(&d.url, source.parse().unwrap()).await;
    RawClient::join_as_on(ws, &d.key, name, "", who).await
}

/// Sends `event` and expects an `error` with `code`.
async fn refused(who: &mut RawClient, event: ClientEvent, code: ErrorCode) {
    who.send(&event).await;
    let got = who
        .recv_until("an error", |e| match e {
            ServerEvent::Error { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(got, code, "{event:?}");
}

/// Waits for the `moderation` event of `action` on `target`; its `by`.
async fn told(who: &mut RawClient, action: ModerationAction, target: &str) -> Option<String> {
    who.recv_until("a moderation event", |e| match e {
        ServerEvent::Moderation {
            action: a,
            target: t,
            by,
            ..
        } if *a == action && t == target => Some(by.clone()),
        _ => None,
    })
    .await
}

fn ban(target: &str) -> ClientEvent {
    ClientEvent::Ban {
        target: BanTarget::parse(target).unwrap(),
        for_secs: Some(600),
        reason: Some("spam".into()),
    }
}

#[tokio::test]
async fn an_operator_moderates_from_the_room_within_its_rights() {
    let d = Daemon::start();
    let (c, o) = (Identity::from_seed(&[3; 32]), Identity::from_seed(&[4; 32]));
    // dave: a registered name, made an operator, offline.
    join(&d, "127.0.0.1", "dave", Some(&o))
        .await
        .joined()
        .leave()
        .await;
    d.chatctl_json(&["op", "dave"]);
    let mut watcher = join(&d, "127.0.0.1", "watcher", None).await.joined();
    let mut carol = join(&d, "127.0.0.1", "carol", Some(&c)).await.joined();
    let mut bob = join(&d, "127.0.0.30", "bob", None).await.joined();
    let mut mallory = join(&d, "127.0.0.31", "mallory", None).await.joined();

    // Not an operator yet: refused.
    refused(&mut carol, ClientEvent::Bans, ErrorCode::NotOperator).await;
    assert_eq!(
        d.chatctl_json(&["op", "carol"]),
        serde_json::json!({"name": "carol", "op": true})
    );
    assert_eq!(
        told(&mut watcher, ModerationAction::Op, "carol").await,
        None
    );
    watcher
        .send(&ClientEvent::Who {
            room: None,
            after: None,
        })
        .await;
    let members = watcher
        .recv_until("the users", |e| match e {
            ServerEvent::Users { members, .. } => Some(members.clone()),
            _ => None,
        })
        .await;
    let marked: Vec<&str> = members
        .iter()
        .filter(|m| m.op)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(marked, ["carol"], "the members list marks operators");

    // A non-operator's kick is refused.
    let kick = |name: &str| ClientEvent::Kick {
        name: name.into(),
        reason: Some("calm down".into()),
    };
    refused(&mut bob, kick("carol"), ErrorCode::NotOperator).await;

    // The operator kicks, bans and mutes; each is told with its `by`.
    carol.send(&kick("bob")).await;
    assert_eq!(
        told(&mut watcher, ModerationAction::Kick, "bob")
            .await
            .as_deref(),
        Some("carol")
    );
    let (events, _) = bob.recv_to_close().await;
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
    carol.send(&ban("mallory")).await;
    assert_eq!(
        told(&mut carol, ModerationAction::Ban, "mallory")
            .await
            .as_deref(),
        Some("carol")
    );
    let (events, _) = mallory.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::Banned,
                ..
            }
        )),
        "{events:?}"
    );
    let listed = d.chatctl_json(&["bans"]);
    assert_eq!(listed["bans"][0]["by"], "op:carol");
    // An operator's ban by name takes in no address (operators see none).
    assert!(listed["bans"][0].get("also").is_none(), "{listed}");

    // Within its rights only.
    refused(&mut carol, ban("dave"), ErrorCode::Forbidden).await;
    refused(&mut carol, ban("addr:127.0.0.31"), ErrorCode::Forbidden).await;
    refused(
        &mut carol,
        ban("key:0123456789abcdef"),
        ErrorCode::Forbidden,
    )
    .await;
    d.chatctl_json(&["ban", "eve"]);
    let unban = ClientEvent::Unban {
        target: BanTarget::parse("eve").unwrap(),
    };
    refused(&mut carol, unban, ErrorCode::Forbidden).await;
    let mute_dave = ClientEvent::Mute {
        name: "dave".into(),
        for_secs: None,
        reason: None,
    };
    refused(&mut carol, mute_dave, ErrorCode::Forbidden).await;

    // `bans` lists the bans in force, address bans left out.
    d.chatctl_json(&["ban", "addr:192.0.2.1"]);
    carol.send(&ClientEvent::Bans).await;
    let bans = carol
        .recv_until("the bans", |e| match e {
            ServerEvent::Bans { bans } => Some(bans.clone()),
            _ => None,
        })
        .await;
    let targets: Vec<&str> = bans.iter().map(|b| b.target.as_str()).collect();
    assert_eq!(targets, ["mallory", "eve"]);
    assert_eq!(bans[0].by.as_deref(), Some("carol"));
    assert_eq!(bans[1].by, None, "the admin's");

    // Deop: the rights end at once.
    d.chatctl_json(&["deop", "carol"]);
    told(&mut carol, ModerationAction::Deop, "carol").await;
    refused(&mut carol, ClientEvent::Bans, ErrorCode::NotOperator).await;
}

#[tokio::test]
async fn taking_an_operators_name_never_takes_the_rights() {
    let d = Daemon::builder().config("names = \"open\"\n").start();
    let c = Identity::from_seed(&[5; 32]);
    let key = c.public().to_string();
    d.chatctl_json(&["names", "add", "carol", &key]);
    let (code, out, _) = d.chatctl(&["--json", "op", "zed"]);
    assert_eq!(code, 1, "an unregistered name is no operator: {out}");
    assert!(out.contains("not_registered"), "{out}");
    d.chatctl_json(&["op", "carol"]);
    // Names are open: anyone may join as carol, and gets no rights.
    let mut impostor = join(&d, "127.0.0.1", "carol", None).await.joined();
    assert!(impostor.welcome.members.iter().all(|m| !m.op));
    refused(&mut impostor, ClientEvent::Bans, ErrorCode::NotOperator).await;
    impostor.leave().await;
    let mut carol = join(&d, "127.0.0.1", "carol", Some(&c)).await.joined();
    assert!(
        carol
            .welcome
            .members
            .iter()
            .any(|m| m.name == "carol" && m.op)
    );
    carol.send(&ClientEvent::Bans).await;
    carol
        .recv_until("the bans", |e| {
            matches!(e, ServerEvent::Bans { .. }).then_some(())
        })
        .await;
}

#[tokio::test]
async fn the_audit_shows_each_act_with_its_actor_and_survives_a_restart() {
    let mut d = Daemon::start();
    let c = Identity::from_seed(&[6; 32]);
    join(&d, "127.0.0.1", "carol", Some(&c))
        .await
        .joined()
        .leave()
        .await;
    d.chatctl_json(&["op", "carol"]);
    let mut carol = join(&d, "127.0.0.1", "carol", Some(&c)).await.joined();
    let _bob = join(&d, "127.0.0.40", "bob", None).await.joined();
    d.chatctl_json(&["mute", "bob", "--for", "1h", "--reason", "flooding"]);
    carol
        .send(&ClientEvent::Kick {
            name: "bob".into(),
            reason: Some("enough".into()),
        })
        .await;
    told(&mut carol, ModerationAction::Kick, "bob").await;
    carol
        .send(&ClientEvent::Ban {
            target: chat_protocol::BanTarget::Name("bob".into()),
            for_secs: Some(3600),
            reason: Some("spam".into()),
        })
        .await;
    told(&mut carol, ModerationAction::Ban, "bob").await;
    d.chatctl_json(&["ban", "addr:192.0.2.0/24"]);
    d.chatctl_json(&["names", "remove", "carol"]);
    let acts = |d: &Daemon| -> Vec<(String, String, String)> {
        d.chatctl_json(&["audit", "--since", "1h"])["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (s("actor"), s("action"), s("target"))
            })
            .collect()
    };
    let want = [
        ("root", "op", "carol"),
        ("root", "mute", "bob"),
        ("op:carol", "kick", "bob"),
        ("op:carol", "ban", "bob"),
        ("root", "ban", "addr:192.0.2.0/24"),
        ("root", "name_remove", "carol"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(acts(&d), want);
    let entries = d.chatctl_json(&["audit"]);
    assert_eq!(entries["entries"][1]["reason"], "flooding");
    assert!(entries["entries"][1]["until"].as_u64().is_some());
    // An operator's acts are recorded as the admin's: reason and end.
    assert_eq!(entries["entries"][2]["reason"], "enough", "{entries}");
    assert_eq!(entries["entries"][3]["reason"], "spam", "{entries}");
    assert!(
        entries["entries"][3]["until"].as_u64().is_some(),
        "{entries}"
    );
    assert!(
        d.log().contains("moderation: kick bob by op:carol"),
        "a journal line"
    );
    d.terminate();
    let d = Daemon::builder().same_dirs_as(&d).start();
    assert_eq!(acts(&d), want, "kept in STATE_DIR/audit");
}
