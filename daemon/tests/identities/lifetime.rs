//! A registry over time, through the real chatd and `chatctl`: a running
//! room from before the registry moved to first-come by a reload (no one
//! online is cut off, clients without identities keep joining, the first
//! identity join of each name registers it); names unused for
//! `name_expiry` released; the admin API's calls on one name, and its
//! clear refusals of what is not a public key; the real `chat` holding a
//! name without an identity told, and ended (exit 4), when its owner joins.

use chat_protocol::{ClientEvent, Identity, RejectCode, ServerEvent};
use testkit::{Daemon, admin_call, wait_until};

use super::{identity, join, refused};

/// Whether `client` still gets answers (a `who`).
async fn still_there(client: &mut testkit::RawClient) {
    client
        .send(&ClientEvent::Who {
            room: None,
            after: None,
        })
        .await;
    client
        .recv_until("the users answer", |e| {
            matches!(e, ServerEvent::Users { .. }).then_some(())
        })
        .await;
}

#[tokio::test]
async fn a_running_room_from_before_the_registry_moves_to_first_come_by_a_reload() {
    // A state directory an older chatd made (a key, no registry), served
    // with a configuration that leaves `names` unset: open, and warned.
    let mut first = Daemon::builder().config("").start();
    assert!(first.terminate().success());
    std::fs::remove_file(first.state_dir.join("names")).unwrap();
    let mut d = Daemon::builder().same_dirs_as(&first).config("").start();
    d.wait_for_log("names is not set, and");
    let mut bob = join(&d, "bob", None).await.joined();
    let mut carol = join(&d, "carol", Some(&identity(3))).await.joined();

    // The admin sets first-come and reloads: no one is cut off.
    std::fs::write(d.root().join("chatd.toml"), "names = \"first-come\"\n").unwrap();
    let reloaded = d.chatctl_json(&["reload"]);
    assert!(
        reloaded["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "names"),
        "{reloaded}"
    );
    assert_eq!(d.chatctl_json(&["names"])["policy"], "first-come");
    still_there(&mut bob).await;
    still_there(&mut carol).await;
    // carol joined before: nothing of hers is registered yet.
    assert_eq!(d.name_keys("carol"), None);

    // A client without an identity keeps joining under free names, and
    // registers nothing.
    join(&d, "dave", None).await.joined().leave().await;
    assert_eq!(d.name_keys("dave"), None);
    // carol's next join with her identity registers her name.
    carol.leave().await;
    join(&d, "carol", Some(&identity(3)))
        .await
        .joined()
        .leave()
        .await;
    assert_eq!(
        d.name_keys("carol"),
        Some(vec![identity(3).public().to_string()])
    );
    assert_eq!(
        refused(join(&d, "carol", Some(&identity(4))).await),
        RejectCode::NameRegistered
    );
    assert_eq!(
        refused(join(&d, "carol", None).await),
        RejectCode::NameRegistered
    );
    bob.leave().await;
    join(&d, "bob", None).await.joined().leave().await;
    assert!(d.terminate().success());

    // The registry now exists: with `names` unset again, the state
    // directory stays first-come, without a warning.
    std::fs::write(d.root().join("chatd.toml"), "").unwrap();
    let d = Daemon::builder().same_dirs_as(&first).config("").start();
    assert_eq!(d.chatctl_json(&["names"])["policy"], "first-come");
    assert!(!d.log().contains("names is not set"), "{}", d.log());
    assert_eq!(
        refused(join(&d, "carol", Some(&identity(4))).await),
        RejectCode::NameRegistered
    );
}

/// A line of `STATE_DIR/names`: `name` registered to `key`, last seen
/// `days` ago.
fn record(name: &str, key: &Identity, days: u64) -> String {
    let now = chat_protocol::clock::now_secs();
    let seen = now - days * 86_400;
    format!(
        "{{\"name\":\"{name}\",\"keys\":[\"{}\"],\"registered\":{},\"last_seen\":{seen}}}\n",
        key.public(),
        seen - 86_400
    )
}

#[tokio::test]
async fn names_unused_for_name_expiry_are_released() {
    let mut first = Daemon::start();
    assert!(first.terminate().success());
    let names = first.state_dir.join("names");
    let text = record("old", &identity(1), 400) + &record("recent", &identity(2), 10);
    std::fs::write(&names, text).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    // Copied back with the wrong mode: said, and written 0600 again.
    std::fs::set_permissions(&names, std::fs::Permissions::from_mode(0o644)).unwrap();

    // The default name_expiry, 365 days: "old" is released at start,
    // "recent" stays.
    let mut d = Daemon::builder().same_dirs_as(&first).start();
    d.wait_for_log("names is open to others (mode 644); fix it with `chmod 600");
    d.wait_for_log("names: released the names unused for name_expiry");
    wait_until("\"old\" released", || {
        d.name_keys("old").is_none().then_some(())
    });
    assert_eq!(
        d.name_keys("recent"),
        Some(vec![identity(2).public().to_string()])
    );
    // Released: another identity's first join registers it.
    join(&d, "old", Some(&identity(9)))
        .await
        .joined()
        .leave()
        .await;
    assert_eq!(
        d.name_keys("old"),
        Some(vec![identity(9).public().to_string()])
    );
    assert!(d.terminate().success());

    // name_expiry = "5d": "recent", 10 days unused, goes too; "old", just
    // seen, stays.
    let d = Daemon::builder()
        .same_dirs_as(&first)
        .config("name_expiry = \"5d\"\n")
        .start();
    wait_until("\"recent\" released", || {
        d.name_keys("recent").is_none().then_some(())
    });
    assert!(d.name_keys("old").is_some());
    let text = std::fs::read_to_string(&names).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let mode = std::fs::metadata(&names).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn the_admin_api_shows_adds_and_removes_one_name_and_refuses_what_is_not_a_key() {
    let d = Daemon::start();
    let (laptop, phone) = (identity(1), identity(2));
    let call = |method: &str, path: &str, body: Option<&str>| {
        admin_call(&d.runtime_dir, method, path, body)
    };
    let (status, body) = call("GET", "/v1/names/ace", None);
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "no_such_name");

    // Not public keys: the room's token, a private key, white space around
    // a key. Each is named, none echoed; nothing is registered.
    let secret = laptop.secret_text().to_string();
    let token = d.key.clone();
    let spaced = format!(" {} ", laptop.public());
    for (given, says) in [
        (token.as_str(), "key token"),
        (secret.as_str(), "private key"),
        (spaced.as_str(), "white space"),
    ] {
        let body = serde_json::json!({ "key": given }).to_string();
        let (status, answer) = call("PUT", "/v1/names/ace", Some(&body));
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
        assert!(!message.contains(given.trim()), "echoed: {message}");
        // chatctl refuses a secret before asking: a usage error, not
        // echoed. (It trims what a person typed around a key.)
        if says != "white space" {
            let (code, out, err) = d.chatctl(&["names", "add", "ace", given]);
            assert_eq!(code, 2, "{out}{err}");
            assert!(err.contains(says) && !err.contains(given.trim()), "{err}");
        }
    }
    assert_eq!(call("GET", "/v1/names/ace", None).0, 404);

    // Two keys, shown with their fingerprints.
    for key in [&laptop, &phone] {
        let body = format!("{{\"key\":\"{}\"}}", key.public());
        let (status, answer) = call("PUT", "/v1/names/ace", Some(&body));
        assert_eq!(status, 200, "{answer}");
    }
    let (status, shown) = call("GET", "/v1/names/ACE", None);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["name"], "ace");
    assert_eq!(
        shown["keys"][1]["fingerprint"],
        phone.public().fingerprint().to_string()
    );
    assert!(shown["registered"].as_u64().unwrap() > 0);

    // A lost laptop: chatctl removes its key, the phone keeps the name.
    let laptop_key = laptop.public().to_string();
    let (code, out, err) = d.chatctl(&["names", "remove", "ace", &laptop_key]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!("ace: 1 key: {}\n", phone.public().fingerprint())
    );
    assert_eq!(
        refused(join(&d, "ace", Some(&laptop)).await),
        RejectCode::NameRegistered
    );
    join(&d, "ace", Some(&phone)).await.joined().leave().await;
    // The last key, removed through the API, frees the name.
    let path = format!("/v1/names/ace/keys/{}", phone.public());
    let (status, answer) = call("DELETE", &path, None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["keys"].as_array().unwrap().len(), 0, "{answer}");
    assert_eq!(call("GET", "/v1/names/ace", None).0, 404);
    assert_eq!(call("DELETE", "/v1/names/ace", None).0, 404);
    // Every change was logged with the caller, and no key in full.
    d.wait_for_log("admin: key removed from a name");
    assert!(!d.log().contains(&laptop_key), "{}", d.log());
}

#[tokio::test]
async fn the_real_chat_holding_a_name_unproven_is_told_its_owner_joined() {
    let d = Daemon::start();
    let bob = identity(2);
    // bob's older client (no identity) holds the name, its input open.
    let mut holder = std::process::Command::new(testkit::bin("chat"))
        .args(["--plain", "--url", &d.url, "--username", "bob"])
        .env("CHAT_KEY", &d.key)
        .env("CHAT_IDENTITY", "none")
        .env("XDG_CONFIG_HOME", "/nonexistent/chat-test-config")
        .env_remove("CHAT_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run chat");
    wait_until("bob online", || {
        let users = d.chatctl_json(&["users"]);
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "bob")
            .then_some(())
    });
    let (code, out, err) = d.chatctl(&["names", "add", "bob", &bob.public().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let owner = join(&d, "bob", Some(&bob)).await.joined();
    let status = wait_until("the holder's chat to exit", || holder.try_wait().unwrap());
    let out = holder.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(4), "{said}");
    assert!(
        said.contains("-!- disconnected by the server: name_registered: the name \"bob\" is registered, and its owner joined"),
        "{said}"
    );
    owner.leave().await;
}
