//! Names owned by keys, through the real chatd, the real `chatctl` and
//! the real `chat` (docs/protocol.md §12, docs/configuration.md "Names"):
//! first-come registration and its refusals (exit 13), a key added and a
//! name freed by the admin, the `registered` policy, bad proofs refused
//! with nothing registered, the owner ending an unproven holder, keys
//! changed from a proven session, identities in `members`, `join` and
//! `chatctl users`, and a state directory from before the registry that
//! stays open and says so at every start. `order.rs`: the join checks
//! in the order the protocol gives; `lifetime.rs`: a running room moved
//! to first-come by a reload, names released after `name_expiry`, the
//! admin API's calls on one name.

mod lifetime;
mod order;

use std::path::Path;
use std::process::{Command, Stdio};

use chat_protocol::{
    Auth, ByeCode, ClientEvent, ErrorCode, Identity, IdentityKey, RejectCode, ServerEvent,
};
use testkit::{Daemon, Greeted, Outcome, RawClient, bin, connect};

fn identity(seed: u8) -> Identity {
    Identity::from_seed(&[seed; 32])
}

async fn join(d: &Daemon, name: &str, who: Option<&Identity>) -> Outcome {
    RawClient::join_as(&d.url, &d.key, name, "", who).await
}

/// The refusal's code, or a panic naming what came instead.
fn refused(outcome: Outcome) -> RejectCode {
    match outcome {
        Outcome::Rejected(code, _) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The real `chat --plain` joining `d` as `name`, its data (identity)
/// under `data` (`None`: `CHAT_IDENTITY=none`); its exit code and stderr.
fn chat(d: &Daemon, name: &str, data: Option<&Path>) -> (i32, String) {
    let mut cmd = Command::new(bin("chat"));
    cmd.args(["--plain", "--url", &d.url, "--username", name])
        .env("CHAT_KEY", &d.key)
        .env("XDG_CONFIG_HOME", "/nonexistent/chat-test-config")
        .env_remove("CHAT_PASSWORD");
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

/// The identity `chat` keeps under `data` (made on first use).
fn chat_identity(data: &Path) -> Identity {
    let out = Command::new(bin("chat"))
        .arg("--show-identity")
        .env("XDG_DATA_HOME", data)
        .env_remove("CHAT_IDENTITY")
        .output()
        .expect("run chat");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(data.join("chat/identity")).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("chat-idsecret1_"))
        .expect("the private key's line");
    Identity::parse_secret(secret).unwrap()
}

#[tokio::test]
async fn first_come_registers_refuses_others_and_the_admin_adds_and_frees() {
    let d = Daemon::start();
    let home = tempfile::tempdir().unwrap();
    let alice = chat_identity(&home.path().join("alice"));
    let other = home.path().join("other");

    // alice's first join with her identity registers the name.
    let client = join(&d, "alice", Some(&alice)).await.joined();
    let me = &client.welcome.members;
    assert_eq!(me.len(), 1);
    assert_eq!(me[0].identity, Some(alice.public()));
    assert_eq!(d.name_keys("alice"), Some(vec![alice.public().to_string()]));
    let names = d.chatctl_json(&["names"]);
    assert_eq!(names["policy"], "first-come", "{names}");
    client.leave().await;

    // Another identity, and none, are refused: the real chat exits 13.
    let (code, err) = chat(&d, "alice", Some(&other));
    assert_eq!(code, 13, "{err}");
    assert!(
        err.contains("registered to other keys than the one this client proved"),
        "{err}"
    );
    let (code, err) = chat(&d, "ALICE", None);
    assert_eq!(code, 13, "{err}");
    assert!(err.contains("this client proved no identity"), "{err}");
    assert_eq!(
        refused(join(&d, "Alice", Some(&identity(9))).await),
        RejectCode::NameRegistered
    );
    assert_eq!(d.name_keys("alice"), Some(vec![alice.public().to_string()]));

    // alice comes back with her key.
    join(&d, "alice", Some(&alice)).await.joined().leave().await;

    // A second device, added by the admin, joins as alice.
    let phone = chat_identity(&other);
    let (code, out, err) = d.chatctl(&["names", "add", "alice", &phone.public().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("alice: 2 keys: "), "{out}");
    assert_eq!(chat(&d, "alice", Some(&other)).0, 0);

    // Freed, the name is anyone's again (first-come: a join without an
    // identity registers nothing).
    let (code, out, err) = d.chatctl(&["names", "remove", "alice"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "alice is not registered now: anyone may take it\n");
    assert_eq!(d.name_keys("alice"), None);
    join(&d, "alice", None).await.joined().leave().await;
    assert_eq!(d.name_keys("alice"), None);
    let (code, _, err) = d.chatctl(&["names", "remove", "alice"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("\"alice\" is not registered"), "{err}");
}

#[tokio::test]
async fn under_registered_only_names_the_admin_registered_join_with_their_keys() {
    let d = Daemon::builder().config("names = \"registered\"\n").start();
    let carol = identity(3);
    for who in [Some(&carol), None] {
        let outcome = join(&d, "carol", who).await;
        let Outcome::Rejected(RejectCode::NameRegistered, why) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(why.contains("chatctl names add carol KEY"), "{why}");
    }
    let (code, out, err) = d.chatctl(&["names", "add", "carol", &carol.public().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    join(&d, "carol", Some(&carol)).await.joined().leave().await;
    assert_eq!(
        refused(join(&d, "carol", None).await),
        RejectCode::NameRegistered
    );
    assert_eq!(
        refused(join(&d, "carol", Some(&identity(4))).await),
        RejectCode::NameRegistered
    );
    // Nothing else came to be registered.
    assert_eq!(
        d.chatctl_json(&["names"])["names"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// An `Auth` for `name`, its identity and proof as given.
fn auth(name: &str, identity: Option<String>, proof: Option<String>) -> Vec<u8> {
    auth_with(name, "", identity, proof)
}

/// [`auth`] with a password.
fn auth_with(
    name: &str,
    password: &str,
    identity: Option<String>,
    proof: Option<String>,
) -> Vec<u8> {
    Auth {
        username: name.into(),
        password: password.to_string().into(),
        client: "test".into(),
        after: None,
        identity,
        proof,
    }
    .to_bytes()
    .to_vec()
}

#[tokio::test]
async fn bad_proofs_are_refused_bad_identity_and_register_nothing() {
    let d = Daemon::start();
    let alice = identity(1);
    let mallory = identity(2);
    let proof =
        |who: &Identity, th: &[u8; 32]| chat_protocol::identity::proof_to_base64(&who.prove(th));
    let greet = || async { Greeted::greet(connect(&d.url).await, &d.key).await.unwrap() };

    // A proof made for another session's th (replayed).
    let first = greet().await;
    let second = greet().await;
    let replayed = proof(&alice, &first.th);
    let outcome = second
        .auth(&auth(
            "alice",
            Some(alice.public().to_base64()),
            Some(replayed),
        ))
        .await;
    assert_eq!(refused(outcome), RejectCode::BadIdentity);
    drop(first);

    // A proof from another key than the one named.
    let session = greet().await;
    let forged = proof(&mallory, &session.th);
    let outcome = session
        .auth(&auth(
            "alice",
            Some(alice.public().to_base64()),
            Some(forged),
        ))
        .await;
    assert_eq!(refused(outcome), RejectCode::BadIdentity);

    // Malformed: a key that is not one (short; a small-order point), a
    // proof of the wrong length, one member without the other.
    let alice_key = || Some(alice.public().to_base64());
    let cases: [(Option<String>, Option<&str>); 5] = [
        (Some("AAAA".into()), None),
        (Some(base64url(&[0u8; 32])), None),
        (alice_key(), Some("AAAA")),
        (alice_key(), Some("")),
        (None, None),
    ];
    for (i, (key, bad_proof)) in cases.into_iter().enumerate() {
        let session = greet().await;
        let good = proof(&alice, &session.th);
        let (key, proof) = match (i, key) {
            // An identity without its proof; a proof without its identity.
            (3, key) => (key, None),
            (4, None) => (None, Some(good)),
            (_, key) => (key, Some(bad_proof.map_or(good, str::to_string))),
        };
        let outcome = session.auth(&auth("alice", key, proof)).await;
        assert_eq!(refused(outcome), RejectCode::BadIdentity, "case {i}");
    }

    // Nothing was registered, and alice's real join still registers her.
    assert_eq!(d.name_keys("alice"), None);
    assert_eq!(
        std::fs::read_to_string(d.state_dir.join("names")).unwrap(),
        ""
    );
    join(&d, "alice", Some(&alice)).await.joined().leave().await;
    assert_eq!(d.name_keys("alice"), Some(vec![alice.public().to_string()]));
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn the_owner_ends_an_unproven_holder_and_two_devices_follow_name_taken() {
    let d = Daemon::start();
    let bob = identity(2);
    let phone = identity(3);
    let mut watcher = join(&d, "watcher", None).await.joined();
    // bob joined without an identity (an older client), before the admin
    // registered his name to his key.
    let mut holder = join(&d, "bob", None).await.joined();
    let (code, out, err) = d.chatctl(&["names", "add", "bob", &bob.public().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let owner = join(&d, "bob", Some(&bob)).await.joined();
    let (events, close) = holder.recv_to_close().await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::Bye { code: ByeCode::NameRegistered, reason, .. }
                if reason.contains("its owner joined")
        )),
        "{events:?}"
    );
    assert_eq!(close.0, 1000);
    testkit::monitoring::expect_scraped(
        &d.runtime_dir,
        "chatd_sessions_ended_total{reason=\"name_registered\"}",
        1.0,
    );
    let identity_seen = watcher
        .recv_until("bob's join with his identity", |e| match e {
            ServerEvent::Join { name, identity, .. } if name == "bob" && identity.is_some() => {
                *identity
            }
            _ => None,
        })
        .await;
    assert_eq!(identity_seen, bob.public());

    // bob's phone, registered too, does not end his laptop's session.
    let (code, _, err) = d.chatctl(&["names", "add", "bob", &phone.public().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        refused(join(&d, "bob", Some(&phone)).await),
        RejectCode::NameTaken
    );
    // chatctl users names the identity apart from the room key.
    let users = d.chatctl_json(&["users"]);
    let row = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(row["identity"], bob.public().fingerprint().to_string());
    assert_ne!(row["identity"], row["key_id"]);
    let (_, table, _) = d.chatctl(&["users"]);
    assert!(
        table.lines().next().unwrap().contains("IDENTITY"),
        "{table}"
    );
    assert!(
        table.contains(&bob.public().fingerprint().to_string()),
        "{table}"
    );
    owner.leave().await;
}

/// The answer to an `identity_add` or `identity_remove`: the keys now, or
/// the error's code.
async fn answer(client: &mut RawClient) -> Result<Vec<IdentityKey>, ErrorCode> {
    client
        .recv_until("an answer", |e| match e {
            ServerEvent::Identities { keys, .. } => Some(Ok(keys.clone())),
            ServerEvent::Error { code, .. } => Some(Err(*code)),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn a_proven_session_adds_and_removes_keys_within_the_rules() {
    let d = Daemon::start();
    let ace = identity(1);
    let phone = identity(2);
    let mut client = join(&d, "ace", Some(&ace)).await.joined();
    client
        .send(&ClientEvent::IdentityAdd {
            key: phone.public(),
        })
        .await;
    assert_eq!(
        answer(&mut client).await,
        Ok(vec![ace.public(), phone.public()])
    );
    assert_eq!(
        d.name_keys("ace").unwrap().len(),
        2,
        "written where the admin sees it"
    );
    // The phone joins as ace on its own key (the laptop keeps its session:
    // name_taken), and removes the laptop's key.
    client.leave().await;
    let mut from_phone = join(&d, "ace", Some(&phone)).await.joined();
    from_phone
        .send(&ClientEvent::IdentityRemove { key: ace.public() })
        .await;
    assert_eq!(answer(&mut from_phone).await, Ok(vec![phone.public()]));
    from_phone
        .send(&ClientEvent::IdentityRemove {
            key: phone.public(),
        })
        .await;
    assert_eq!(answer(&mut from_phone).await, Err(ErrorCode::LastKey));
    // A session that proved no key of its name is no owner.
    let mut stranger = join(&d, "zed", None).await.joined();
    stranger
        .send(&ClientEvent::IdentityAdd { key: ace.public() })
        .await;
    assert_eq!(answer(&mut stranger).await, Err(ErrorCode::NotOwner));
    assert_eq!(d.name_keys("zed"), None);
    let mut full = from_phone;
    for seed in 10..17 {
        full.send(&ClientEvent::IdentityAdd {
            key: identity(seed).public(),
        })
        .await;
        assert!(answer(&mut full).await.is_ok());
    }
    full.send(&ClientEvent::IdentityAdd {
        key: identity(99).public(),
    })
    .await;
    assert_eq!(answer(&mut full).await, Err(ErrorCode::TooManyKeys));

    // Under "open", names are not bound: names_open.
    let open = Daemon::builder().config("names = \"open\"\n").start();
    let mut free = join(&open, "ace", Some(&ace)).await.joined();
    free.send(&ClientEvent::IdentityAdd {
        key: phone.public(),
    })
    .await;
    assert_eq!(answer(&mut free).await, Err(ErrorCode::NamesOpen));
}

#[tokio::test]
async fn a_state_directory_from_before_the_registry_stays_open_and_warns_at_every_start() {
    let warning = "names is not set, and";
    // A state directory an older chatd made: a key, no registry.
    let mut first = Daemon::start();
    assert!(first.terminate().success());
    std::fs::remove_file(first.state_dir.join("names")).unwrap();
    for _ in 0..2 {
        let mut d = Daemon::builder().same_dirs_as(&first).start();
        d.wait_for_log(warning);
        assert_eq!(d.chatctl_json(&["names"])["policy"], "open");
        // Two identities take the name in turn: nothing is bound.
        join(&d, "ace", Some(&identity(1)))
            .await
            .joined()
            .leave()
            .await;
        join(&d, "ace", Some(&identity(2)))
            .await
            .joined()
            .leave()
            .await;
        assert!(!d.state_dir.join("names").exists());
        assert!(d.terminate().success());
    }
    // Set explicitly: no warning, and the registry is made.
    let mut d = Daemon::builder()
        .same_dirs_as(&first)
        .config("names = \"first-come\"\n")
        .start();
    join(&d, "ace", Some(&identity(1)))
        .await
        .joined()
        .leave()
        .await;
    assert_eq!(
        refused(join(&d, "ace", Some(&identity(2))).await),
        RejectCode::NameRegistered
    );
    assert!(!d.log().contains(warning), "{}", d.log());
    assert!(d.terminate().success());
    // The registry kept across a restart, 0600.
    let d = Daemon::builder().same_dirs_as(&first).start();
    assert!(!d.log().contains(warning), "{}", d.log());
    assert_eq!(
        d.name_keys("ace"),
        Some(vec![identity(1).public().to_string()])
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(d.state_dir.join("names"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn the_registry_is_bounded_per_address_and_in_all() {
    // One address registers at most 10 names an hour; the others join,
    // unregistered (a later join registers them).
    let d = Daemon::start();
    for i in 0..11u8 {
        let name = format!("n{i}");
        join(&d, &name, Some(&identity(i + 1)))
            .await
            .joined()
            .leave()
            .await;
    }
    let names = d.chatctl_json(&["names"]);
    assert_eq!(names["names"].as_array().unwrap().len(), 10, "{names}");
    assert_eq!(d.name_keys("n10"), None);
    d.wait_for_log("this address registered its share of names this hour");

    // max_names bounds the whole registry, the admin's additions too.
    let d = Daemon::builder()
        .config("max_names = 2\nlimit_exempt = [\"127.0.0.0/8\"]\n")
        .start();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        join(&d, name, Some(&identity(i as u8 + 1)))
            .await
            .joined()
            .leave()
            .await;
    }
    assert_eq!(d.name_keys("c"), None);
    let (code, _, err) = d.chatctl(&["names", "add", "c", &identity(3).public().to_string()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("max_names = 2"), "{err}");
    // A key added to a registered name is no new name.
    let (code, out, err) = d.chatctl(&["names", "add", "a", &identity(9).public().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
}
