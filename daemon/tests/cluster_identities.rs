//! Names owned by keys across two real chatd nodes on a real nats-server:
//! a name registered on one node is refused to other keys on the other
//! (the real `chat` exits 13), while its owner is online there too; the
//! same name asked for by two identities at once on two nodes, 20 times,
//! ends registered to exactly one key; the owner ends an unproven holder
//! on the other node; identities reach the other node's `members`, `join`
//! events and `chatctl users`; a NATS that hangs gets a join of a name
//! refused `busy` within its deadline, not left unanswered; an unset
//! `names` means one policy on every node, the cluster's: `first-come`
//! for a new room, `open` (warned) for one from before the registry, a
//! new node included.

use std::process::{Command, Stdio};

use chat_protocol::{ByeCode, Identity, RejectCode, ServerEvent};
use testkit::{Daemon, Nats, Outcome, RawClient, bin};

fn identity(seed: u8) -> Identity {
    Identity::from_seed(&[seed; 32])
}

fn node(nats: &Nats, name: &str) -> Daemon {
    Daemon::builder()
        .config("limit_exempt = [\"127.0.0.0/8\"]\n")
        .cluster(&nats.url(), name)
        .start()
}

async fn join(d: &Daemon, name: &str, who: Option<&Identity>) -> Outcome {
    RawClient::join_as(&d.url, &d.read_key(), name, "", who).await
}

/// The real `chat --plain` as `name` on `d`, with a fresh identity under
/// `data` (or none); its exit code and stderr.
fn chat(d: &Daemon, name: &str, data: Option<&std::path::Path>) -> (i32, String) {
    let mut cmd = Command::new(bin("chat"));
    cmd.args(["--plain", "--url", &d.url, "--username", name])
        .env("CHAT_KEY", d.read_key())
        .env("XDG_CONFIG_HOME", "/nonexistent/chat-test-config");
    match data {
        Some(data) => cmd.env("XDG_DATA_HOME", data).env_remove("CHAT_IDENTITY"),
        None => cmd.env("CHAT_IDENTITY", "none"),
    };
    let out = cmd.stdin(Stdio::null()).output().expect("run chat");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_name_registered_on_one_node_is_refused_to_other_keys_on_the_other() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let alice = identity(1);
    let carol = identity(3);
    let _alice = join(&a, "alice", Some(&alice)).await.joined();
    assert_eq!(b.name_keys("alice"), Some(vec![alice.public().to_string()]));

    // While alice is online on node a: refused on node b, for another
    // identity and for none, by the real chat (exit 13).
    let home = tempfile::tempdir().unwrap();
    let (code, err) = chat(&b, "alice", Some(home.path()));
    assert_eq!(code, 13, "{err}");
    let (code, err) = chat(&b, "alice", None);
    assert_eq!(code, 13, "{err}");
    // Her own key on the other node: the name is hers, and taken.
    match join(&b, "alice", Some(&alice)).await {
        Outcome::Rejected(RejectCode::NameTaken, _) => {}
        other => panic!("{other:?}"),
    }

    // Identities reach the other node: members, a join, chatctl users.
    let mut bob = join(&b, "bob", None).await.joined();
    let listed = bob
        .welcome
        .members
        .iter()
        .find(|m| m.name == "alice")
        .and_then(|m| m.identity);
    assert_eq!(listed, Some(alice.public()));
    let _carol = join(&a, "carol", Some(&carol)).await.joined();
    let seen = bob
        .recv_until("carol's join", |e| match e {
            ServerEvent::Join { name, identity, .. } if name == "carol" => Some(*identity),
            _ => None,
        })
        .await;
    assert_eq!(seen, Some(carol.public()));
    bob.send(&chat_protocol::ClientEvent::Who {
        room: None,
        after: None,
    })
    .await;
    let members = bob
        .recv_until("the users answer", |e| match e {
            ServerEvent::Users { members, .. } => Some(members.clone()),
            _ => None,
        })
        .await;
    let identities: Vec<_> = members
        .iter()
        .map(|m| (m.name.as_str(), m.identity))
        .collect();
    assert_eq!(
        identities,
        [
            ("alice", Some(alice.public())),
            ("bob", None),
            ("carol", Some(carol.public()))
        ]
    );
    let users = b.chatctl_json(&["users"]);
    let alice_row = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(alice_row["node"], "a");
    assert_eq!(
        alice_row["identity"],
        alice.public().fingerprint().to_string()
    );
}

#[tokio::test]
async fn one_name_asked_for_by_two_identities_at_once_on_two_nodes_gets_exactly_one_key() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    for round in 0..20u8 {
        let name = format!("race{round}");
        let (one, two) = (identity(2 * round + 1), identity(2 * round + 2));
        let (ra, rb) = tokio::join!(join(&a, &name, Some(&one)), join(&b, &name, Some(&two)));
        let (winner, loser, client) = match (ra, rb) {
            (Outcome::Joined(c), Outcome::Rejected(code, _)) => {
                assert!(
                    matches!(code, RejectCode::NameTaken | RejectCode::NameRegistered),
                    "round {round}: {code:?}"
                );
                (&one, &two, c)
            }
            (Outcome::Rejected(code, _), Outcome::Joined(c)) => {
                assert!(
                    matches!(code, RejectCode::NameTaken | RejectCode::NameRegistered),
                    "round {round}: {code:?}"
                );
                (&two, &one, c)
            }
            other => panic!("round {round}: exactly one must join: {other:?}"),
        };
        let winner_key = vec![winner.public().to_string()];
        assert_eq!(
            a.name_keys(&name).as_ref(),
            Some(&winner_key),
            "round {round}"
        );
        assert_eq!(
            b.name_keys(&name).as_ref(),
            Some(&winner_key),
            "round {round}"
        );
        client.leave().await;
        // The loser's key never owns it, on either node.
        for d in [&a, &b] {
            match join(d, &name, Some(loser)).await {
                Outcome::Rejected(RejectCode::NameRegistered, _) => {}
                other => panic!("round {round}: the loser again: {other:?}"),
            }
        }
        assert_eq!(a.name_keys(&name), Some(winner_key), "round {round}");
    }
}

#[tokio::test]
async fn the_owner_ends_an_unproven_holder_on_the_other_node() {
    let nats = Nats::start();
    let a = node(&nats, "a");
    let b = node(&nats, "b");
    let bob = identity(2);
    // bob joined node b without an identity, before the admin registered
    // his name to his key (on node a).
    let mut holder = join(&b, "bob", None).await.joined();
    let (code, out, err) = a.chatctl(&["names", "add", "bob", &bob.public().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let owner = join(&a, "bob", Some(&bob)).await.joined();
    assert_eq!(owner.welcome.name, "bob");
    let (events, close) = holder.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye {
                code: ByeCode::NameRegistered,
                ..
            }
        )),
        "{events:?}"
    );
    assert_eq!(close.0, 1000);
    // The owner's second session, proven too, is refused name_taken: two
    // devices of one person never end each other.
    match join(&b, "bob", Some(&bob)).await {
        Outcome::Rejected(RejectCode::NameTaken, _) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_join_while_nats_hangs_is_refused_busy_in_time() {
    let nats = Nats::start();
    let a = Daemon::builder()
        .config("limit_exempt = [\"127.0.0.0/8\"]\nhandshake_timeout = \"2s\"\n")
        .cluster(&nats.url(), "a")
        .start();
    let key = a.read_key();
    join(&a, "alice", Some(&identity(1)))
        .await
        .joined()
        .leave()
        .await;
    // The name's registration is NATS's to say: while NATS hangs, the
    // join is answered `busy` before its deadline, whoever asks.
    nats.freeze();
    for who in [Some(identity(1)), Some(identity(2)), None] {
        match RawClient::join_as(&a.url, &key, "alice", "", who.as_ref()).await {
            Outcome::Rejected(RejectCode::Busy, _) => {}
            other => panic!("a join while NATS hangs: {other:?}\n{}", a.log()),
        }
    }
    nats.thaw();
    join(&a, "alice", Some(&identity(1)))
        .await
        .joined()
        .leave()
        .await;
}

/// The policy `d` says is in force.
fn policy(d: &Daemon) -> String {
    d.chatctl_json(&["names"])["policy"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_unset_names_means_the_clusters_policy_on_every_node() {
    let warning = "names is not set, and this cluster's room was made by an older chatd";
    let nats = Nats::start();
    // A new room: first-come on its first node and on one added later.
    let mut a = node(&nats, "a");
    let b = node(&nats, "b");
    assert_eq!(
        (policy(&a), policy(&b)),
        ("first-come".into(), "first-come".into())
    );
    assert!(!a.log().contains(warning) && !b.log().contains(warning));
    drop(b);
    assert!(a.terminate().success());

    // The room as an older chatd left it: keys in the state bucket, no
    // mark of a names registry.
    let client = nats.client().await;
    let state = async_nats::jetstream::new(client)
        .get_key_value("chat_state")
        .await
        .unwrap();
    state.purge("names").await.unwrap();
    // Restarted, and with a node whose state directory is new: open on
    // both, each warning, so that no member registers everyone's names.
    let mut a = Daemon::builder()
        .same_dirs_as(&a)
        .config("limit_exempt = [\"127.0.0.0/8\"]\n")
        .cluster(&nats.url(), "a")
        .start();
    let mut c = node(&nats, "c");
    for d in [&a, &c] {
        d.wait_for_log(warning);
        assert_eq!(policy(d), "open");
    }
    join(&c, "ace", Some(&identity(1)))
        .await
        .joined()
        .leave()
        .await;
    join(&a, "ace", Some(&identity(2)))
        .await
        .joined()
        .leave()
        .await;
    assert_eq!(a.name_keys("ace"), None);

    // The admin sets first-come on a node: the room is marked, and the
    // others follow it with `names` unset, without a warning.
    assert!(a.terminate().success());
    assert!(c.terminate().success());
    let a = Daemon::builder()
        .same_dirs_as(&a)
        .config("limit_exempt = [\"127.0.0.0/8\"]\nnames = \"first-come\"\n")
        .cluster(&nats.url(), "a")
        .start();
    let c = Daemon::builder()
        .same_dirs_as(&c)
        .config("limit_exempt = [\"127.0.0.0/8\"]\n")
        .cluster(&nats.url(), "c")
        .start();
    assert_eq!(
        (policy(&a), policy(&c)),
        ("first-come".into(), "first-come".into())
    );
    assert!(!c.log().contains(warning), "{}", c.log());
    join(&c, "ace", Some(&identity(1)))
        .await
        .joined()
        .leave()
        .await;
    match join(&a, "ace", Some(&identity(2))).await {
        Outcome::Rejected(RejectCode::NameRegistered, _) => {}
        other => panic!("{other:?}"),
    }
}
