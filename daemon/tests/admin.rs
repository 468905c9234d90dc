//! The admin API of the real `chatd`, called over its Unix socket.

use chat_protocol::{ByeCode, RejectCode, ServerEvent, Token};
use serde_json::json;
use std::io::{Read, Write};
use testkit::{Daemon, Outcome, RawClient, admin_call, admin_call_with};

async fn join(d: &Daemon, key: &str, name: &str) -> Outcome {
    RawClient::join(&d.url, key, name, "").await
}

#[tokio::test]
async fn status_users_and_key() {
    let d = Daemon::start();
    let _ace = join(&d, &d.key, "ace").await.joined();
    let (code, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(code, 200);
    assert_eq!(status["online"], 1);
    assert_eq!(status["password"], "none");
    assert_eq!(
        status["key_id"],
        Token::parse(&d.key).unwrap().key_id().to_string()
    );
    let (code, users) = admin_call(&d.runtime_dir, "GET", "/v1/users", None);
    assert_eq!(code, 200);
    assert_eq!(users["users"][0]["name"], "ace");
    assert!(
        users["users"][0]["address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let (code, key) = admin_call(&d.runtime_dir, "GET", "/v1/key", None);
    assert_eq!(code, 200);
    assert_eq!(key["token"], d.key.as_str());
    assert!(!d.log().contains(&d.key), "the key must never be logged");
}

#[tokio::test]
async fn browsers_and_unknown_calls_are_refused() {
    let d = Daemon::start();
    let (code, body) = admin_call_with(
        &d.runtime_dir,
        "GET",
        "/v1/key",
        None,
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(code, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    let (code, _) = admin_call_with(
        &d.runtime_dir,
        "GET",
        "/v1/key",
        None,
        &[("Referer", "http://evil.example/")],
    );
    assert_eq!(code, 403);
    let (code, body) = admin_call(&d.runtime_dir, "GET", "/v1/nothing", None);
    assert_eq!(code, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (code, body) = admin_call(&d.runtime_dir, "DELETE", "/v1/status", None);
    assert_eq!(code, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/notice", Some("{not json"));
    assert_eq!(code, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    // axum's own rejections are JSON too: a name that is not UTF-8 …
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/users/%FF/kick", None);
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(
        body["error"]["message"].as_str().unwrap().len() > 5,
        "{body}"
    );
    // … and a body over the limit.
    let mut stream =
        std::os::unix::net::UnixStream::connect(d.runtime_dir.join("admin.sock")).unwrap();
    stream.set_read_timeout(Some(testkit::DEADLINE)).unwrap();
    stream.set_write_timeout(Some(testkit::DEADLINE)).unwrap();
    let size = 1024 * 1024;
    let head = format!(
        "POST /v1/notice HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    // chatd answers and closes once it has read past the limit: the rest
    // of the body may find the socket closed.
    let _ = stream.write_all(&vec![b' '; size]);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#"{"error":{"code":"too_large","#),
        "{answer}"
    );
}

#[tokio::test]
async fn rotation_keeps_old_sessions_and_refuses_the_old_key() {
    let d = Daemon::start();
    let old_key = d.key.clone();
    let mut ace = join(&d, &old_key, "ace").await.joined();
    let (code, rotated) = admin_call(&d.runtime_dir, "POST", "/v1/key/rotate", Some("{}"));
    assert_eq!(code, 200, "{rotated}");
    let new_key = rotated["token"].as_str().unwrap().to_string();
    assert_ne!(new_key, old_key);
    assert_eq!(
        d.read_key(),
        new_key,
        "the key file holds the new key, whole"
    );
    // The old key no longer joins: 4001 naming the new fingerprint.
    match join(&d, &old_key, "bob").await {
        Outcome::Closed(4001, reason) => assert!(
            reason.contains(rotated["key_id"].as_str().unwrap()),
            "{reason}"
        ),
        other => panic!("expected 4001, got {other:?}"),
    }
    let mut bob = join(&d, &new_key, "bob").await.joined();
    // The session on the old key keeps chatting.
    ace.send(&chat_protocol::ClientEvent::Say {
        room: None,
        text: "still here".into(),
        cid: None,
    })
    .await;
    bob.recv_until("ace's message", |e| {
        matches!(e, ServerEvent::Message(m) if m.text == "still here").then_some(())
    })
    .await;
    let (_, users) = admin_call(&d.runtime_dir, "GET", "/v1/users", None);
    let ids: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "users show which key they joined with");
}

#[tokio::test]
async fn rotation_with_grace_accepts_both_keys_until_it_ends() {
    let d = Daemon::start();
    let old_key = d.key.clone();
    // A grace over 30 days is refused, and nothing changes.
    let (code, body) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"grace_secs": 2592001}"#),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 30 days"),
        "{body}"
    );
    assert_eq!(d.read_key(), old_key);
    let (code, rotated) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"grace_secs": 2}"#),
    );
    assert_eq!(code, 200);
    assert!(d.state_dir.join("key.previous").exists());
    join(&d, &old_key, "ace").await.joined();
    join(&d, rotated["token"].as_str().unwrap(), "bob")
        .await
        .joined();
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(
        status["previous_key_id"],
        Token::parse(&old_key).unwrap().key_id().to_string()
    );
    // After the grace period the old key is refused and erased from disk.
    testkit::wait_until("the grace period to end", || {
        (!d.state_dir.join("key.previous").exists()).then_some(())
    });
    match join(&d, &old_key, "cat").await {
        Outcome::Closed(4001, _) => {}
        other => panic!("expected 4001 after the grace period, got {other:?}"),
    }
}

#[tokio::test]
async fn rotation_with_disconnect_closes_old_sessions() {
    let d = Daemon::start();
    let mut ace = join(&d, &d.key, "ace").await.joined();
    let (code, rotated) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"disconnect": true}"#),
    );
    assert_eq!(code, 200);
    assert_eq!(rotated["disconnected"], 1);
    let (events, close) = ace.recv_to_close().await;
    assert_eq!(close.0, 1000);
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

#[tokio::test]
async fn kick_tells_the_user_and_the_room() {
    let d = Daemon::start();
    let mut ace = join(&d, &d.key, "ace").await.joined();
    let mut bob = join(&d, &d.key, "bob").await.joined();
    let (code, body) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/users/ACE/kick",
        Some(r#"{"reason":"spamming"}"#),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["name"], "ace");
    let (events, _) = ace.recv_to_close().await;
    let bye = events.iter().find_map(|e| match e {
        ServerEvent::Bye {
            code: ByeCode::Kicked,
            reason,
            ..
        } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(bye.as_deref(), Some("spamming"));
    let reason = bob
        .recv_until("ace's leave", |e| match e {
            ServerEvent::Leave { name, reason, .. } if name == "ace" => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert_eq!(reason, "kicked: spamming");
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/users/nobody/kick", None);
    assert_eq!(code, 404);
    assert_eq!(body["error"]["code"], "no_such_user");
}

#[tokio::test]
async fn notice_reaches_everyone() {
    let d = Daemon::start();
    let mut ace = join(&d, &d.key, "ace").await.joined();
    let (code, body) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/notice",
        Some(r#"{"text":"maintenance at noon"}"#),
    );
    assert_eq!(code, 200);
    assert_eq!(body["delivered"], 1);
    ace.recv_until("the notice", |e| {
        matches!(e, ServerEvent::Notice { text, .. } if text == "maintenance at noon").then_some(())
    })
    .await;
    let (code, _) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/notice",
        Some(r#"{"text":"\u001b[2J"}"#),
    );
    assert_eq!(code, 400, "control characters are refused");
}

#[tokio::test]
async fn password_set_and_clear_apply_to_new_joins() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pw");
    std::fs::write(&file, "from-file\n").unwrap();
    let d = Daemon::builder()
        .arg("--password-file")
        .arg(file.to_str().unwrap())
        .start();
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(status["password"], "file");
    let (code, body) = admin_call(
        &d.runtime_dir,
        "PUT",
        "/v1/password",
        Some(&json!({"password": "from-admin"}).to_string()),
    );
    assert_eq!(code, 200);
    assert_eq!(body["password"], "admin");
    let stored = std::fs::read_to_string(d.state_dir.join("password")).unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains("from-admin"));
    assert!(matches!(
        RawClient::join(&d.url, &d.key, "ace", "from-file").await,
        Outcome::Rejected(RejectCode::BadPassword, _)
    ));
    RawClient::join(&d.url, &d.key, "ace", "from-admin")
        .await
        .joined();
    let (code, body) = admin_call(&d.runtime_dir, "DELETE", "/v1/password", None);
    assert_eq!(code, 200);
    assert_eq!(body["password"], "file");
    RawClient::join(&d.url, &d.key, "bob", "from-file")
        .await
        .joined();
    let (code, body) = admin_call(
        &d.runtime_dir,
        "PUT",
        "/v1/password",
        Some(r#"{"password":""}"#),
    );
    assert_eq!(code, 400);
    assert_eq!(body["error"]["code"], "invalid_password");
    assert!(!d.log().contains("from-admin"));
}

#[tokio::test]
async fn the_admin_password_survives_a_restart() {
    let mut d = Daemon::start();
    admin_call(
        &d.runtime_dir,
        "PUT",
        "/v1/password",
        Some(r#"{"password":"kept"}"#),
    );
    assert!(d.terminate().success());
    let d2 = Daemon::builder().same_dirs_as(&d).start();
    assert!(matches!(
        RawClient::join(&d2.url, &d2.key, "ace", "").await,
        Outcome::Rejected(RejectCode::BadPassword, _)
    ));
    RawClient::join(&d2.url, &d2.key, "ace", "kept")
        .await
        .joined();
}

#[tokio::test]
async fn reload_applies_motd_and_reports_what_needs_a_restart() {
    let d = Daemon::builder().config("motd = \"first\"\n").start();
    assert_eq!(
        join(&d, &d.key, "ace")
            .await
            .joined()
            .welcome
            .motd
            .as_deref(),
        Some("first")
    );
    std::fs::write(
        d.root().join("chatd.toml"),
        "motd = \"second\"\nhistory = 7\nlisten = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    let changed: Vec<&str> = body["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        changed.contains(&"motd") && changed.contains(&"history"),
        "{changed:?}"
    );
    // The flag --listen wins over the file, so the address did not change.
    assert_eq!(
        body["restart_needed"].as_array().unwrap().len(),
        0,
        "{body}"
    );
    assert_eq!(
        join(&d, &d.key, "bob")
            .await
            .joined()
            .welcome
            .motd
            .as_deref(),
        Some("second")
    );
    // A setting that needs a restart is reported on every reload until then.
    std::fs::write(
        d.root().join("chatd.toml"),
        "motd = \"second\"\nadmin_group = \"root\"\n",
    )
    .unwrap();
    for _ in 0..2 {
        let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/reload", None);
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["restart_needed"], json!(["admin_group"]), "{body}");
    }
    // A broken file changes nothing.
    std::fs::write(d.root().join("chatd.toml"), "motd = \"third\"\nlisen = 1\n").unwrap();
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/reload", None);
    assert_eq!(code, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{body}"
    );
    assert_eq!(
        join(&d, &d.key, "cat")
            .await
            .joined()
            .welcome
            .motd
            .as_deref(),
        Some("second")
    );
    // So does a group that does not exist: the next start would fail on it.
    std::fs::write(
        d.root().join("chatd.toml"),
        "motd = \"fourth\"\nadmin_group = \"no-such-group-here\"\n",
    )
    .unwrap();
    let (code, body) = admin_call(&d.runtime_dir, "POST", "/v1/reload", None);
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("admin_group = \"no-such-group-here\": no such group"),
        "{body}"
    );
    let motd = join(&d, &d.key, "dog").await.joined().welcome.motd;
    assert_eq!(motd.as_deref(), Some("second"));
    // And a SIGHUP of the broken file: logged, nothing changed.
    std::fs::write(d.root().join("chatd.toml"), "motd = \"fifth\"\nlisen = 1\n").unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for_log("reload failed, the configuration in force is unchanged");
    // Each reload counted by its result: three in force, three refused.
    let expect = |series, want| testkit::monitoring::expect_scraped(&d.runtime_dir, series, want);
    expect("chatd_reloads_total{result=\"ok\"}", 3.0);
    expect("chatd_reloads_total{result=\"failed\"}", 3.0);
    let motd = join(&d, &d.key, "eel").await.joined().welcome.motd;
    assert_eq!(motd.as_deref(), Some("second"));
}

#[tokio::test]
async fn curl_works_as_documented() {
    let d = Daemon::start();
    let out = std::process::Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(d.runtime_dir.join("admin.sock"))
        .arg("http://localhost/v1/users")
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["users"], json!([]));
    let out = std::process::Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(d.runtime_dir.join("admin.sock"))
        .args([
            "-d",
            r#"{"text":"hello from curl"}"#,
            "http://localhost/v1/notice",
        ])
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["delivered"], 0, "{body}");
}

#[tokio::test]
async fn the_socket_is_0660() {
    use std::os::unix::fs::PermissionsExt;
    let d = Daemon::start();
    let mode = std::fs::metadata(d.runtime_dir.join("admin.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
}

#[tokio::test]
async fn every_mutating_call_is_logged_without_secrets() {
    let d = Daemon::builder()
        .env("RUST_LOG", "debug")
        .config("motd = \"hi\"\n")
        .start();
    let old_key = d.key.clone();
    let _ace = join(&d, &old_key, "ace").await.joined();
    let password = "correct horse battery staple";
    let calls: [(&str, &str, Option<String>, &str); 10] = [
        (
            "POST",
            "/v1/key/rotate",
            Some("{}".into()),
            "admin: key rotated",
        ),
        (
            "PUT",
            "/v1/password",
            Some(json!({ "password": password }).to_string()),
            "admin: join password set",
        ),
        (
            "DELETE",
            "/v1/password",
            None,
            "admin: admin-set join password removed",
        ),
        (
            "POST",
            "/v1/bans",
            Some(r#"{"target":"mallory","for":60}"#.into()),
            "moderation: ban mallory by",
        ),
        (
            "DELETE",
            "/v1/bans?target=mallory",
            None,
            "moderation: unban mallory by",
        ),
        (
            "POST",
            "/v1/mutes",
            Some(r#"{"name":"ace"}"#.into()),
            "moderation: mute ace by",
        ),
        (
            "DELETE",
            "/v1/mutes?name=ace",
            None,
            "moderation: unmute ace by",
        ),
        (
            "POST",
            "/v1/users/ace/kick",
            Some(r#"{"reason":"bye"}"#.into()),
            "moderation: kick ace by",
        ),
        (
            "POST",
            "/v1/notice",
            Some(r#"{"text":"hello all"}"#.into()),
            "admin: notice sent",
        ),
        ("POST", "/v1/reload", None, "admin: reload requested"),
    ];
    // SAFETY: geteuid has no preconditions.
    let caller = format!("uid={}", unsafe { libc::geteuid() });
    for (method, path, body, logged) in &calls {
        let (code, answer) = admin_call(&d.runtime_dir, method, path, body.as_deref());
        assert_eq!(code, 200, "{method} {path}: {answer}");
        // Each line names the call and who made it.
        testkit::wait_until(&format!("the log line of {method} {path}"), || {
            d.log()
                .lines()
                .any(|l| l.contains(logged) && l.contains(&caller))
                .then_some(())
        });
    }
    // Set the password again so that it is in force while the log is read.
    let (code, _) = admin_call(
        &d.runtime_dir,
        "PUT",
        "/v1/password",
        Some(&json!({ "password": password }).to_string()),
    );
    assert_eq!(code, 200);
    let new_key = d.read_key();
    assert_ne!(new_key, old_key);
    let log = d.log();
    for (secret, what) in [
        (new_key.as_str(), "the new key"),
        (old_key.as_str(), "the old key"),
        (password, "the password"),
    ] {
        assert!(!log.contains(secret), "the log holds {what}:\n{log}");
    }
    // Nor the key's base64 payload without its prefix.
    let payload = new_key.trim_start_matches("chat1_");
    assert!(!log.contains(&payload[..20]), "{log}");
}

#[tokio::test]
async fn when_the_grace_ends_the_old_key_is_gone_from_status_disk_and_door() {
    let d = Daemon::start();
    let old_key = d.key.clone();
    let old_id = Token::parse(&old_key).unwrap().key_id().to_string();
    let (code, rotated) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"grace_secs":1}"#),
    );
    assert_eq!(code, 200, "{rotated}");
    assert_eq!(rotated["previous_key_id"], old_id.as_str());
    assert!(rotated["previous_key_expires"].is_u64(), "{rotated}");
    testkit::wait_until("the status to drop the previous key", || {
        let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
        (status["previous_key_id"].is_null() && status["previous_key_expires"].is_null())
            .then_some(())
    });
    testkit::wait_until("key.previous to be erased", || {
        (!d.state_dir.join("key.previous").exists()).then_some(())
    });
    d.wait_for_log("the previous key's grace period ended");
    match join(&d, &old_key, "ace").await {
        Outcome::Closed(4001, reason) => assert!(
            reason.contains(rotated["key_id"].as_str().unwrap()),
            "{reason}"
        ),
        other => panic!("expected 4001 once the grace ended, got {other:?}"),
    }
    join(&d, rotated["token"].as_str().unwrap(), "ace")
        .await
        .joined();
}

#[tokio::test]
async fn at_most_two_keys_join() {
    let d = Daemon::start();
    let first = d.key.clone();
    let rotate = || {
        let (code, rotated) = admin_call(
            &d.runtime_dir,
            "POST",
            "/v1/key/rotate",
            Some(r#"{"grace_secs":3600}"#),
        );
        assert_eq!(code, 200, "{rotated}");
        rotated["token"].as_str().unwrap().to_string()
    };
    let second = rotate();
    let third = rotate();
    assert_eq!(d.read_key(), third);
    let id = |key: &str| Token::parse(key).unwrap().key_id().to_string();
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(status["key_id"], id(&third));
    assert_eq!(status["previous_key_id"], id(&second));
    let previous = std::fs::read_to_string(d.state_dir.join("key.previous")).unwrap();
    assert!(
        previous.contains(&second) && !previous.contains(&first),
        "key.previous holds the second key only"
    );
    match join(&d, &first, "ace").await {
        Outcome::Closed(4001, reason) => assert!(reason.contains(&id(&third)), "{reason}"),
        other => panic!("expected 4001 for the first key, got {other:?}"),
    }
    join(&d, &second, "bob").await.joined();
    join(&d, &third, "cat").await.joined();
}

/// Whether the session's next events end in a sealed `Bye` with code
/// `key_rotated` and close 1000; panics naming what came instead.
async fn ends_with_key_rotated(client: &mut RawClient, who: &str) {
    let (events, close) = client.recv_to_close().await;
    assert_eq!(close.0, 1000, "{who}: {close:?} after {events:?}");
    assert!(
        matches!(
            events.last(),
            Some(ServerEvent::Bye {
                code: ByeCode::KeyRotated,
                ..
            })
        ),
        "{who}: expected a sealed Bye key_rotated last, got {events:?}"
    );
}

/// Sends a message and waits for its echo: the session is alive.
async fn still_chatting(client: &mut RawClient, text: &str) {
    client
        .send(&chat_protocol::ClientEvent::Say {
            room: None,
            text: text.into(),
            cid: None,
        })
        .await;
    client
        .recv_until(text, |e| {
            matches!(e, ServerEvent::Message(m) if m.text == text).then_some(())
        })
        .await;
}

#[tokio::test]
async fn disconnect_with_a_grace_ends_the_old_sessions_when_the_grace_ends() {
    let d = Daemon::start();
    let old_key = d.key.clone();
    let old_id = Token::parse(&old_key).unwrap().key_id().to_string();
    let mut ace = join(&d, &old_key, "ace").await.joined();
    let (code, rotated) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"disconnect": true, "grace_secs": 2}"#),
    );
    assert_eq!(code, 200, "{rotated}");
    let new_key = rotated["token"].as_str().unwrap().to_string();
    let new_id = rotated["key_id"].as_str().unwrap().to_string();
    // Nobody is told to fetch the new key while the old one still joins.
    assert_eq!(rotated["disconnected"], 0, "{rotated}");
    assert!(rotated["disconnect_at"].is_u64(), "{rotated}");
    assert_eq!(rotated["disconnect_at"], rotated["previous_key_expires"]);
    still_chatting(&mut ace, "ace is still here").await;
    // One who joins with the old key during the grace, and one on the new key.
    let mut bob = join(&d, &old_key, "bob").await.joined();
    let mut cat = join(&d, &new_key, "cat").await.joined();
    // Status and users agree on what is pending and whom it ends.
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert_eq!(status["previous_key_id"], old_id.as_str(), "{status}");
    assert_eq!(
        status["disconnect_at"], rotated["disconnect_at"],
        "{status}"
    );
    let (_, users) = admin_call(&d.runtime_dir, "GET", "/v1/users", None);
    for user in users["users"].as_array().unwrap() {
        let (key, ends) = if user["name"] == "cat" {
            (&new_id, serde_json::Value::Null)
        } else {
            (&old_id, rotated["disconnect_at"].clone())
        };
        assert_eq!(user["key_id"], key.as_str(), "{users}");
        assert_eq!(user["disconnect_at"], ends, "{users}");
    }
    // When the grace ends, both sessions on the old key get a sealed Bye.
    ends_with_key_rotated(&mut ace, "ace").await;
    ends_with_key_rotated(&mut bob, "bob").await;
    // The member on the new key stays, and sees them leave.
    let mut left = Vec::new();
    while left.len() < 2 {
        let name = cat
            .recv_until("the leaves of ace and bob", |e| match e {
                ServerEvent::Leave { name, reason, .. } if reason == "key rotated" => {
                    Some(name.clone())
                }
                _ => None,
            })
            .await;
        left.push(name);
    }
    left.sort();
    assert_eq!(left, ["ace", "bob"]);
    still_chatting(&mut cat, "cat stays").await;
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert!(status["disconnect_at"].is_null(), "{status}");
    assert!(status["previous_key_id"].is_null(), "{status}");
    assert_eq!(status["online"], 1, "{status}");
}

/// Which of these keys join `d` now.
async fn keys_that_join(d: &Daemon, keys: &[&str]) -> Vec<bool> {
    // A fresh name each time: a probe that left may still hold its name
    // for a moment.
    static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut joined = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match join(d, key, &format!("probe{n}")).await {
            Outcome::Joined(client) => {
                client.leave().await;
                joined.push(true);
            }
            Outcome::Closed(4001, _) => joined.push(false),
            other => panic!("key {i}: expected a join or 4001, got {other:?}"),
        }
    }
    joined
}

/// A token of the same server as `of`, with another join key.
fn sibling_key(of: &str, byte: u8) -> Token {
    Token {
        join_key: chat_protocol::JoinKey([byte; 32]),
        server_public: Token::parse(of).unwrap().server_public,
    }
}

#[tokio::test]
async fn a_rotation_cut_short_never_brings_the_old_key_back() {
    // A rotation with grace, first → second: key.previous holds the first.
    let mut d = Daemon::start();
    let first = d.key.clone();
    let (code, rotated) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"grace_secs": 3600}"#),
    );
    assert_eq!(code, 200, "{rotated}");
    let second = rotated["token"].as_str().unwrap().to_string();
    assert!(d.terminate().success());
    // What a rotation second → third without grace leaves if it dies after
    // writing the new key and before erasing key.previous (the order of
    // chatd before this fix; now key.previous goes first, but a crash of
    // an older chatd, or a restored backup, leaves the same).
    let third = sibling_key(&second, 0x33).encode();
    std::fs::write(d.state_dir.join("key"), format!("{third}\n")).unwrap();
    let mut d = Daemon::builder().same_dirs_as(&d).start();
    assert_eq!(d.key, third);
    assert_eq!(
        keys_that_join(&d, &[&first, &second, &third]).await,
        [false, false, true],
        "only the key in force joins; the first key stays withdrawn"
    );
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert!(status["previous_key_id"].is_null(), "{status}");
    assert!(!d.state_dir.join("key.previous").exists());
    d.wait_for_log("was left by a rotation to another key than the current one");
    assert!(d.terminate().success());

    // What a rotation third → fourth with grace leaves if it dies between
    // its two writes: key.previous holds the third key, bound to a fourth
    // that never reached the key file. The rotation did not happen.
    let fourth = sibling_key(&third, 0x44);
    std::fs::write(
        d.state_dir.join("key.previous"),
        format!(
            "{third}\nexpires={}\nreplaced_by={}\n",
            u32::MAX,
            fourth.key_id()
        ),
    )
    .unwrap();
    let d = Daemon::builder().same_dirs_as(&d).start();
    assert_eq!(d.key, third);
    let (_, status) = admin_call(&d.runtime_dir, "GET", "/v1/status", None);
    assert!(status["previous_key_id"].is_null(), "{status}");
    assert_eq!(
        keys_that_join(&d, &[&first, &second, &third, &fourth.encode()]).await,
        [false, false, true, false]
    );
    assert!(!d.state_dir.join("key.previous").exists());
}

#[tokio::test]
async fn a_rotation_that_cannot_erase_the_previous_key_fails_and_changes_nothing() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to bind-mount key.previous in place");
        return;
    }
    let mut d = Daemon::start();
    let first = d.key.clone();
    let (code, rotated) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"grace_secs": 3600}"#),
    );
    assert_eq!(code, 200, "{rotated}");
    let second = rotated["token"].as_str().unwrap().to_string();
    assert!(d.terminate().success());

    // key.previous bind-mounted onto itself, in a mount namespace of
    // chatd's own: it reads as before, but no one can remove or replace
    // it (EBUSY), while the key file beside it can still be written.
    let previous = d.state_dir.join("key.previous");
    let mut pinned = Daemon::builder()
        .same_dirs_as(&d)
        .wrapped_in(
            "unshare",
            &[
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                r#"mount --bind "$0" "$0" && exec "$@""#,
                previous.to_str().unwrap(),
            ],
        )
        .start();
    assert_eq!(
        keys_that_join(&pinned, &[&first, &second]).await,
        [true, true]
    );
    // After a leak: no grace, disconnect.
    let (code, answer) = admin_call(
        &pinned.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"disconnect": true}"#),
    );
    assert_eq!(code, 500, "the rotation must fail: {answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the key was not rotated")
            && message.contains(&format!("cannot remove {}", previous.display())),
        "{message}"
    );
    assert!(!message.contains("chat1_"), "no key in errors: {message}");
    // Nothing changed, on disk or in force.
    assert_eq!(pinned.read_key(), second);
    assert_eq!(
        keys_that_join(&pinned, &[&first, &second]).await,
        [true, true]
    );
    assert!(pinned.terminate().success());

    // A restart agrees; once the file can go, the rotation goes through,
    // and the restart after it accepts the new key alone.
    let d = Daemon::builder().same_dirs_as(&d).start();
    assert_eq!(d.key, second);
    assert_eq!(keys_that_join(&d, &[&first, &second]).await, [true, true]);
    let (code, rotated) = admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/key/rotate",
        Some(r#"{"disconnect": true}"#),
    );
    assert_eq!(code, 200, "{rotated}");
    let third = rotated["token"].as_str().unwrap().to_string();
    assert!(!previous.exists());
    let mut d = d;
    assert!(d.terminate().success());
    let d = Daemon::builder().same_dirs_as(&d).start();
    assert_eq!(
        keys_that_join(&d, &[&first, &second, &third]).await,
        [false, false, true]
    );
}
