//! The chat story against the real `chatd` binary, spoken at protocol level.

use chat_protocol::{ByeCode, ClientEvent, ErrorCode, RejectCode, ServerEvent, Token};
use futures_util::SinkExt;
use testkit::{Daemon, Outcome, RawClient};
use tokio_tungstenite::tungstenite::Message;

fn say(text: &str) -> ClientEvent {
    ClientEvent::Say {
        room: None,
        text: text.into(),
        cid: None,
    }
}

async fn join(d: &Daemon, name: &str) -> RawClient {
    RawClient::join(&d.url, &d.key, name, "").await.joined()
}

fn message_from(from: &str, text: &str) -> impl FnMut(&ServerEvent) -> Option<u64> {
    let (from, text) = (from.to_string(), text.to_string());
    move |e| match e {
        ServerEvent::Message(m) if m.from == from && m.text == text => Some(m.id),
        _ => None,
    }
}

#[tokio::test]
async fn two_clients_talk_and_a_third_sees_joins_and_leaves() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    assert_eq!(ace.welcome.users, vec!["ace"]);
    let mut bob = join(&d, "bob").await;
    assert_eq!(bob.welcome.users, vec!["ace", "bob"]);
    ace.recv_until("bob's join", |e| {
        matches!(e, ServerEvent::Join { name, online: 2, .. } if name == "bob").then_some(())
    })
    .await;

    ace.send(&say("Hello")).await;
    bob.recv_until("ace's hello", message_from("ace", "Hello"))
        .await;
    ace.recv_until("the echo of hello", message_from("ace", "Hello"))
        .await;
    bob.send(&say("World")).await;
    ace.recv_until("bob's world", message_from("bob", "World"))
        .await;

    let mut cat = join(&d, "cat").await;
    ace.recv_until("cat's join", |e| {
        matches!(e, ServerEvent::Join { name, online: 3, .. } if name == "cat").then_some(())
    })
    .await;
    bob.leave().await;
    let reason = cat
        .recv_until("bob's leave", |e| match e {
            ServerEvent::Leave {
                name,
                online: 2,
                reason,
                ..
            } if name == "bob" => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert_eq!(reason, "left");
    // A connection that just drops is reported as lost.
    drop(ace);
    let reason = cat
        .recv_until("ace's leave", |e| match e {
            ServerEvent::Leave {
                name,
                online: 1,
                reason,
                ..
            } if name == "ace" => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert_eq!(reason, "connection lost");
}

#[tokio::test]
async fn the_server_sets_sender_and_ids() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    // A client cannot claim another sender: unknown fields are ignored.
    ace.send_plain(br#"{"type":"say","text":"hi","from":"admin","id":1}"#)
        .await;
    let (from, id) = ace
        .recv_until("the message", |e| match e {
            ServerEvent::Message(m) => Some((m.from.clone(), m.id)),
            _ => None,
        })
        .await;
    assert_eq!(from, "ace");
    ace.send(&ClientEvent::Action {
        room: None,
        text: "waves".into(),
        cid: None,
    })
    .await;
    let (id2, action) = ace
        .recv_until("the action", |e| match e {
            ServerEvent::Message(m) => Some((m.id, m.action)),
            _ => None,
        })
        .await;
    assert!(id2 > id && action);
}

#[tokio::test]
async fn names_are_unique_case_insensitively_and_checked() {
    let d = Daemon::start();
    let _ace = join(&d, "Ace").await;
    match RawClient::join(&d.url, &d.key, "aCE", "").await {
        Outcome::Rejected(RejectCode::NameTaken, reason) => {
            assert!(reason.contains("taken"), "{reason}")
        }
        other => panic!("expected name_taken, got {other:?}"),
    }
    for bad in ["", "a b", "x".repeat(33).as_str(), "\u{1b}[31mred"] {
        match RawClient::join(&d.url, &d.key, bad, "").await {
            Outcome::Rejected(RejectCode::NameInvalid, _) => {}
            other => panic!("expected name_invalid for {bad:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn unknown_key_is_closed_4001_naming_the_current_fingerprint() {
    let d = Daemon::start();
    let real = Token::parse(&d.key).unwrap();
    let wrong = Token {
        join_key: chat_protocol::JoinKey([7; 32]),
        server_public: real.server_public,
    };
    match RawClient::join(&d.url, &wrong.encode(), "ace", "secret").await {
        Outcome::Closed(4001, reason) => {
            assert!(reason.contains(&real.key_id().to_string()), "{reason}")
        }
        other => panic!("expected close 4001, got {other:?}"),
    }
    assert!(!d.log().contains(&d.key), "the log must never hold the key");
}

#[tokio::test]
async fn malformed_hello_is_closed_1002() {
    let d = Daemon::start();
    for hello in [
        vec![0u8; 10],
        b"CHAT\x01\x02".iter().copied().chain([0; 72]).collect(),
        vec![0u8; 78],
    ] {
        let mut ws = testkit::connect(&d.url).await;
        ws.send(Message::Binary(hello.into())).await.unwrap();
        let err = testkit::next_binary(&mut ws).await.unwrap_err();
        assert_eq!(err.0, 1002, "{err:?}");
    }
    let mut ws = testkit::connect(&d.url).await;
    ws.send(Message::Text("hello".into())).await.unwrap();
    assert_eq!(testkit::next_binary(&mut ws).await.unwrap_err().0, 1002);
}

#[tokio::test]
async fn password_is_required_when_set() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pw");
    std::fs::write(&file, "hunter2\n").unwrap();
    let d = Daemon::builder()
        .arg("--password-file")
        .arg(file.to_str().unwrap())
        .start();
    match RawClient::join(&d.url, &d.key, "ace", "wrong").await {
        Outcome::Rejected(RejectCode::BadPassword, _) => {}
        other => panic!("expected bad_password, got {other:?}"),
    }
    match RawClient::join(&d.url, &d.key, "ace", "").await {
        Outcome::Rejected(RejectCode::BadPassword, _) => {}
        other => panic!("expected bad_password, got {other:?}"),
    }
    let ace = RawClient::join(&d.url, &d.key, "ace", "hunter2")
        .await
        .joined();
    assert_eq!(ace.welcome.name, "ace");
    assert!(!d.log().contains("hunter2"));
}

#[tokio::test]
async fn password_is_checked_before_the_name() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pw");
    std::fs::write(&file, "pw").unwrap();
    let d = Daemon::builder()
        .arg("--password-file")
        .arg(file.to_str().unwrap())
        .start();
    let _ace = RawClient::join(&d.url, &d.key, "ace", "pw").await.joined();
    // Without the password, a taken name and an invalid one look the same: bad password.
    for name in ["ace", "not valid"] {
        match RawClient::join(&d.url, &d.key, name, "nope").await {
            Outcome::Rejected(RejectCode::BadPassword, _) => {}
            other => panic!("expected bad_password for {name}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn direct_messages_reach_only_their_addressee() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    let mut cat = join(&d, "cat").await;
    ace.send(&ClientEvent::Dm {
        to: "BOB".into(),
        text: "psst".into(),
        cid: None,
    })
    .await;
    ace.send(&say("public")).await;
    let dm = |e: &ServerEvent| match e {
        ServerEvent::Dm { from, to, text, .. } => Some((from.clone(), to.clone(), text.clone())),
        _ => None,
    };
    assert_eq!(
        bob.recv_until("the dm", dm).await,
        ("ace".into(), "bob".into(), "psst".into())
    );
    assert_eq!(
        ace.recv_until("the dm echo", dm).await,
        ("ace".into(), "bob".into(), "psst".into())
    );
    // cat sees the public message and never the DM before it.
    let seen = cat
        .recv_until("the public message", |e| match e {
            ServerEvent::Dm { .. } => Some(false),
            ServerEvent::Message(m) if m.text == "public" => Some(true),
            _ => None,
        })
        .await;
    assert!(seen, "cat received the DM");
    ace.send(&ClientEvent::Dm {
        to: "nobody".into(),
        text: "x".into(),
        cid: None,
    })
    .await;
    let code = ace.recv_until("an error", |e| match e {
        ServerEvent::Error { code, .. } => Some(*code),
        _ => None,
    });
    assert_eq!(code.await, ErrorCode::NoSuchUser);
}

#[tokio::test]
async fn history_arrives_on_join_without_dms() {
    let d = Daemon::builder().config("history = 3\n").start();
    let mut ace = join(&d, "ace").await;
    let _bob = join(&d, "bob").await;
    ace.send(&ClientEvent::Dm {
        to: "bob".into(),
        text: "secret dm".into(),
        cid: None,
    })
    .await;
    for i in 1..=4 {
        ace.send(&say(&format!("m{i}"))).await;
    }
    ace.recv_until("m4", message_from("ace", "m4")).await;
    let cat = join(&d, "cat").await;
    let texts: Vec<&str> = cat
        .welcome
        .history
        .iter()
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(texts, ["m2", "m3", "m4"]);
}

#[tokio::test]
async fn client_ids_are_echoed_and_kept_in_history_and_bad_ones_dropped() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    let with_cid = |text: &str, cid: &str| ClientEvent::Say {
        room: None,
        text: text.into(),
        cid: Some(cid.into()),
    };
    ace.send(&with_cid("one", "s1-1")).await;
    ace.send(&with_cid("two", "not valid!")).await;
    ace.send(&ClientEvent::Dm {
        to: "bob".into(),
        text: "psst".into(),
        cid: Some("s1-3".into()),
    })
    .await;
    let cid_of = |text: &'static str| {
        move |e: &ServerEvent| match e {
            ServerEvent::Message(m) if m.text == text => Some(m.cid.clone()),
            ServerEvent::Dm { text: t, cid, .. } if t == text => Some(cid.clone()),
            _ => None,
        }
    };
    assert_eq!(
        ace.recv_until("one", cid_of("one")).await,
        Some("s1-1".into())
    );
    assert_eq!(ace.recv_until("two", cid_of("two")).await, None);
    assert_eq!(
        ace.recv_until("the DM", cid_of("psst")).await,
        Some("s1-3".into())
    );
    assert_eq!(
        bob.recv_until("the DM", cid_of("psst")).await,
        Some("s1-3".into())
    );
    let cat = join(&d, "cat").await;
    let kept: Vec<_> = cat.welcome.history.iter().map(|m| m.cid.clone()).collect();
    assert_eq!(kept, [Some("s1-1".to_owned()), None]);
}

#[tokio::test]
async fn the_key_survives_a_restart() {
    let mut d = Daemon::start();
    let key = d.key.clone();
    assert!(d.terminate().success());
    let d2 = Daemon::builder().same_dirs_as(&d).start();
    assert_eq!(d2.key, key);
    join(&d2, "ace").await;
}

#[tokio::test]
async fn bad_texts_get_an_error_and_the_connection_stays() {
    let d = Daemon::builder().config("max_text = 10\n").start();
    let mut ace = join(&d, "ace").await;
    assert_eq!(ace.welcome.max_text, 10);
    let error = |e: &ServerEvent| match e {
        ServerEvent::Error { code, .. } => Some(*code),
        _ => None,
    };
    ace.send(&say("this is far too long")).await;
    assert_eq!(
        ace.recv_until("an error", error).await,
        ErrorCode::TextTooLong
    );
    ace.send(&say("bell\u{7}")).await;
    assert_eq!(
        ace.recv_until("an error", error).await,
        ErrorCode::TextInvalid
    );
    ace.send_plain(b"not json").await;
    assert_eq!(ace.recv_until("an error", error).await, ErrorCode::BadEvent);
    ace.send(&say("ok")).await;
    ace.recv_until("ok", message_from("ace", "ok")).await;
}

#[tokio::test]
async fn flooding_is_rate_limited_not_disconnected() {
    let d = Daemon::builder()
        .config("rate_burst = 3\nrate_per_second = 1\n")
        .start();
    let mut ace = join(&d, "ace").await;
    for i in 0..6 {
        ace.send(&say(&format!("m{i}"))).await;
    }
    let mut delivered = 0;
    let mut limited = 0;
    while delivered + limited < 6 {
        match ace.recv().await.unwrap() {
            ServerEvent::Message(_) => delivered += 1,
            ServerEvent::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            _ => {}
        }
    }
    assert!(limited >= 2, "delivered {delivered}, limited {limited}");
}

#[tokio::test]
async fn a_tampered_message_closes_1008_without_bye() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    let mut sealed = ace.session.sealer.seal(&say("x").to_bytes()).unwrap();
    sealed[0] ^= 1;
    ace.ws.send(Message::Binary(sealed.into())).await.unwrap();
    let (events, close) = ace.recv_to_close().await;
    assert_eq!(close.0, 1008);
    assert!(
        events.iter().all(|e| !matches!(e, ServerEvent::Bye { .. })),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_replayed_message_closes_1008() {
    let d = Daemon::start();
    let mut bob = join(&d, "bob").await;
    let mut ace = join(&d, "ace").await;
    let sealed = ace.session.sealer.seal(&say("once").to_bytes()).unwrap();
    ace.ws
        .send(Message::Binary(sealed.clone().into()))
        .await
        .unwrap();
    ace.ws.send(Message::Binary(sealed.into())).await.unwrap();
    let (events, close) = ace.recv_to_close().await;
    assert_eq!(close.0, 1008);
    // The sender's own echo may or may not be written before the close (a
    // session that breaks the protocol ends at once, queue and all); the
    // room, which bob sees up to ace's leave, is what must hold it once.
    let echoed = events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Message(m) if m.text == "once"))
        .count();
    assert!(echoed <= 1, "{events:?}");
    let mut said = 0;
    loop {
        match bob.recv().await.unwrap() {
            ServerEvent::Message(m) if m.text == "once" => said += 1,
            ServerEvent::Leave { name, .. } if name == "ace" => break,
            _ => {}
        }
    }
    assert_eq!(said, 1);
}

#[tokio::test]
async fn an_oversized_message_closes_1009() {
    let d = Daemon::builder().config("max_text = 100\n").start();
    let mut ace = join(&d, "ace").await;
    ace.ws
        .send(Message::Binary(vec![0u8; 5000].into()))
        .await
        .unwrap();
    let (_, close) = ace.recv_to_close().await;
    assert_eq!(close.0, 1009);
}

#[tokio::test]
async fn a_silent_connection_misses_the_handshake_deadline() {
    let d = Daemon::builder()
        .config("handshake_timeout = \"300ms\"\n")
        .start();
    let mut ws = testkit::connect(&d.url).await;
    let err = testkit::next_binary(&mut ws).await.unwrap_err();
    assert_eq!(err.0, 1008);
}

#[tokio::test]
async fn a_slow_client_is_dropped_and_the_others_get_everything() {
    let d = Daemon::builder()
        // A write that stalls past `write_timeout` ends a session as too
        // slow too, with no event dropped: on a loaded machine the sender
        // may be slow enough for that to come first. Here it is long, so
        // the full queue (64 events) is what ends the slow session.
        .config("rate_burst = 100000\nrate_per_second = 100000\noutbound_queue = 64\nwrite_timeout = \"60s\"\n")
        .start();
    let slow = join(&d, "slow").await; // never reads again
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    // How many messages it takes to fill the slow client's socket buffers
    // depends on the kernel and on the machine's load, so the sender does
    // not count on a number: it keeps sending until bob has seen the slow
    // client leave, then a few more, then "end". The bound only stops a
    // chatd that never drops anyone.
    const BOUND: usize = 5_000; // 20 MB: more than loopback TCP buffers hold
    let slow_left = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let text = "x".repeat(4000);
    // The sender keeps up: it waits for the echo of each message.
    let sender = tokio::spawn({
        let slow_left = slow_left.clone();
        async move {
            let mut after_leave = 0;
            for i in 0..BOUND {
                let text = format!("{i} {text}");
                ace.send(&say(&text)).await;
                ace.recv_until("the echo", message_from("ace", &text)).await;
                if slow_left.load(std::sync::atomic::Ordering::SeqCst) {
                    after_leave += 1;
                    if after_leave == 20 {
                        break;
                    }
                }
            }
            ace.send(&say("end")).await;
            ace.recv_until("the echo", message_from("ace", "end")).await;
            ace
        }
    });
    // bob reads everything, in order, with nothing missing, until "end".
    let mut got = 0;
    loop {
        match bob.recv().await.unwrap() {
            ServerEvent::Message(m) if m.from == "ace" && m.text == "end" => break,
            ServerEvent::Message(m) if m.from == "ace" => {
                let n = m.text.split(' ').next().unwrap();
                assert_eq!(n, got.to_string(), "bob missed or reordered a message");
                got += 1;
            }
            ServerEvent::Leave { name, reason, .. } if name == "slow" => {
                assert_eq!(reason, "too slow");
                slow_left.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            _ => {}
        }
    }
    let _ace = sender.await.unwrap();
    assert!(
        slow_left.load(std::sync::atomic::Ordering::SeqCst),
        "the slow client was not dropped after {got} messages"
    );
    assert!(got > 20, "only {got} messages before the end");
    // Counted as it happened: one session cut as too slow, after at least
    // the event that found its queue full.
    let too_slow = "chatd_sessions_ended_total{reason=\"too_slow\"}";
    testkit::monitoring::expect_scraped(&d.runtime_dir, too_slow, 1.0);
    let dropped = testkit::monitoring::scraped(&d.runtime_dir, "chatd_events_dropped_total");
    assert!(dropped.unwrap() >= 1.0, "{dropped:?}");
    drop(slow);
}

#[tokio::test]
async fn sigterm_says_bye_closes_1001_and_exits_0() {
    let mut d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    let mut bob = join(&d, "bob").await;
    d.signal(libc_sigterm());
    for client in [&mut ace, &mut bob] {
        let (events, close) = client.recv_to_close().await;
        assert_eq!(close.0, 1001);
        assert!(
            events.iter().any(|e| matches!(
                e,
                ServerEvent::Bye {
                    code: ByeCode::Shutdown,
                    ..
                }
            )),
            "{events:?}"
        );
    }
    assert!(d.wait_exit().success(), "log:\n{}", d.log());
}

fn libc_sigterm() -> i32 {
    15
}

#[tokio::test]
async fn a_dead_peer_is_dropped_and_a_live_one_kept() {
    let d = Daemon::builder()
        .config("keepalive_interval = \"200ms\"\nkeepalive_timeout = \"1s\"\n")
        .start();
    // `dead` never reads, so it never answers a ping: it looks like a peer that vanished.
    let _dead = join(&d, "dead").await;
    let mut live = join(&d, "live").await;
    // `live` reads (and so answers pings) until it sees the dead one leave.
    let reason = live
        .recv_until("the dead peer's leave", |e| match e {
            ServerEvent::Leave { name, reason, .. } if name == "dead" => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert_eq!(reason, "timed out");
    // That `live` stays well past the timeout is checked in virtual time
    // (tests/in_process.rs); here, that it is still in the room.
    live.send(&ClientEvent::Who {
        room: None,
        after: None,
    })
    .await;
    let users = live
        .recv_until("the user list", |e| match e {
            ServerEvent::Users { users, .. } => Some(users.clone()),
            _ => None,
        })
        .await;
    assert_eq!(users, vec!["live"]);
    // Counted once, as a timeout; the live one's session goes on.
    let series = |reason| format!("chatd_sessions_ended_total{{reason=\"{reason}\"}}");
    testkit::monitoring::expect_scraped(&d.runtime_dir, &series("timeout"), 1.0);
    testkit::monitoring::expect_scraped(&d.runtime_dir, &series("lost"), 0.0);
    testkit::monitoring::expect_scraped(&d.runtime_dir, "chatd_users_online", 1.0);
}

#[tokio::test]
async fn a_missing_auth_gets_a_sealed_bye_and_1008() {
    let d = Daemon::builder()
        .config("handshake_timeout = \"500ms\"\n")
        .start();
    let token = Token::parse(&d.key).unwrap();
    let mut ws = testkit::connect(&d.url).await;
    let hs = chat_protocol::ClientHandshake::new(&token);
    ws.send(Message::Binary(hs.hello().to_vec().into()))
        .await
        .unwrap();
    let challenge = testkit::next_binary(&mut ws).await.unwrap();
    let (mut session, _) = hs.on_challenge(&challenge).unwrap();
    // No Auth: once keys exist, the server's close is preceded by a sealed Bye.
    let sealed = testkit::next_binary(&mut ws).await.unwrap();
    let bye: ServerEvent =
        serde_json::from_slice(&session.opener.open(&sealed, 1 << 20).unwrap()).unwrap();
    assert!(
        matches!(
            bye,
            ServerEvent::Bye {
                code: ByeCode::Timeout,
                ..
            }
        ),
        "{bye:?}"
    );
    assert_eq!(testkit::next_binary(&mut ws).await.unwrap_err().0, 1008);
}

#[tokio::test]
async fn a_full_server_says_so_before_checking_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pw");
    std::fs::write(&file, "hunter2\n").unwrap();
    let d = Daemon::builder()
        .config("max_users = 1\n")
        .arg("--password-file")
        .arg(file.to_str().unwrap())
        .start();
    let _ace = RawClient::join(&d.url, &d.key, "ace", "hunter2")
        .await
        .joined();
    // Full comes first: a wrong password, a taken name and an invalid one
    // all hear "server full", and so learn nothing else.
    for (name, password) in [("bob", "wrong"), ("ace", "wrong"), ("not valid", "")] {
        match RawClient::join(&d.url, &d.key, name, password).await {
            Outcome::Rejected(RejectCode::ServerFull, _) => {}
            other => panic!("expected server_full for {name}/{password}, got {other:?}"),
        }
    }
}

/// Reads until the server closes; `Err` if it is still open after the deadline.
fn read_to_close(stream: &mut std::net::TcpStream) -> Result<Vec<u8>, String> {
    use std::io::Read;
    stream.set_read_timeout(Some(testkit::DEADLINE)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(got),
            Err(e) => return Err(format!("still open ({e}) after {got:?}")),
        }
    }
}

fn addr(d: &Daemon) -> String {
    d.url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_string()
}

#[tokio::test]
async fn connections_that_never_upgrade_are_closed_at_the_handshake_deadline() {
    use std::io::Write;
    let d = Daemon::builder()
        .config("handshake_timeout = \"500ms\"\n")
        .start();
    // Nothing at all …
    let mut silent = std::net::TcpStream::connect(addr(&d)).unwrap();
    // … half a request …
    let mut half = std::net::TcpStream::connect(addr(&d)).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    // … and a whole request that is not an upgrade, then silence.
    let mut plain = std::net::TcpStream::connect(addr(&d)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (silent, half, plain) = tokio::task::spawn_blocking(move || {
        (
            read_to_close(&mut silent),
            read_to_close(&mut half),
            read_to_close(&mut plain),
        )
    })
    .await
    .unwrap();
    assert_eq!(silent.unwrap(), b"");
    half.unwrap();
    let plain = String::from_utf8(plain.unwrap()).unwrap();
    assert!(plain.starts_with("HTTP/1.1 426"), "{plain}");
    assert!(plain.contains("join it with the `chat` client"), "{plain}");
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_are_closed_at_once() {
    // max_users = 1: the cap is 1 + 128 open connections, upgraded or not.
    // (Loopback is exempt here from the per-address limits, which would
    // refuse the 17th first: tests/security.rs checks those.)
    let d = Daemon::builder()
        .config("max_users = 1\nhandshake_timeout = \"1d\"\nlimit_exempt = [\"127.0.0.0/8\"]\n")
        .start();
    let held: Vec<std::net::TcpStream> = (0..129)
        .map(|_| std::net::TcpStream::connect(addr(&d)).unwrap())
        .collect();
    let mut over = std::net::TcpStream::connect(addr(&d)).unwrap();
    let over = tokio::task::spawn_blocking(move || read_to_close(&mut over))
        .await
        .unwrap();
    assert_eq!(over.unwrap(), b"", "closed without a word");
    d.wait_for_log("too many are open");
    // Once they are gone, people join again.
    drop(held);
    let start = std::time::Instant::now();
    loop {
        let attempt = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tokio_tungstenite::connect_async(d.url.as_str()),
        )
        .await;
        if let Ok(Ok(_)) = attempt {
            break;
        }
        // The server may not have seen every close yet: poll gently.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            start.elapsed() < testkit::DEADLINE,
            "no connection after the flood"
        );
    }
    join(&d, "ace").await;
}

#[tokio::test]
async fn a_reason_given_for_leaving_is_shown_to_the_room() {
    let d = Daemon::start();
    let mut ace = join(&d, "ace").await;
    for (name, reason, shown) in [
        ("bob", "gone fishing", "left: \"gone fishing\""),
        // In quotes: no one passes their words off as the server's.
        ("eve", "kicked: spam", "left: \"kicked: spam\""),
        ("fay", "a\" b", "left: \"a\\\" b\""),
        // One printable line, not long: else just "left".
        ("cat", "bell\u{7}", "left"),
        ("gus", "two\nlines", "left"),
        ("dog", &"x".repeat(201), "left"),
    ] {
        let mut them = join(&d, name).await;
        them.send(&ClientEvent::Bye {
            code: ByeCode::Leave,
            reason: reason.to_string(),
        })
        .await;
        let got = ace
            .recv_until("the leave", |e| match e {
                ServerEvent::Leave {
                    name: who, reason, ..
                } if who == name => Some(reason.clone()),
                _ => None,
            })
            .await;
        assert_eq!(got, shown);
    }
}

#[tokio::test]
async fn a_big_welcome_arrives_whole_in_frames_of_at_most_16_kib() {
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
    let d = Daemon::builder()
        .config("history = 120\nrate_burst = 100000\nrate_per_second = 100000\n")
        .start();
    let mut ace = join(&d, "ace").await;
    let texts: Vec<String> = (0..120)
        .map(|i| format!("{i:03} {}", "\"".repeat(3000)))
        .collect();
    for text in &texts {
        ace.send(&say(text)).await;
    }
    ace.recv_until("the last echo", message_from("ace", &texts[119]))
        .await;
    // A peer that refuses frames over 16 KiB (+ header): the ~700 KiB
    // Welcome must come fragmented to reach it.
    let limits = WebSocketConfig::default().max_frame_size(Some(16 * 1024 + 14));
    let (ws, _) = tokio_tungstenite::connect_async_with_config(d.url.as_str(), Some(limits), false)
        .await
        .unwrap();
    let bob = RawClient::join_on(ws, &d.key, "bob", "").await.joined();
    let history: Vec<&str> = bob
        .welcome
        .history
        .iter()
        .map(|h| h.text.as_str())
        .collect();
    assert_eq!(
        history,
        texts.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_kick_in_the_middle_of_a_fragmented_message_comes_after_it() {
    let d = Daemon::builder()
        .config(
            "max_text = 65536\nrate_burst = 100000\nrate_per_second = 100000\n\
             outbound_queue = 1000\noutbound_queue_bytes = 67108864\nwrite_timeout = \"60s\"\n",
        )
        .start();
    let mut ace = join(&d, "ace").await;
    let ws = testkit::connect_with_receive_buffer(&d.url, 16 * 1024).await;
    let mut bob = RawClient::join_on(ws, &d.key, "bob", "").await.joined();
    // About 10 MiB for bob, who does not read yet: his writer stalls, most
    // likely between two frames of one of these (8 frames each).
    let text = "\"".repeat(60_000);
    let total = 80;
    for i in 0..total {
        ace.send(&say(&format!("{i} {text}"))).await;
    }
    let last = format!("{} {text}", total - 1);
    ace.recv_until("the last echo", message_from("ace", &last))
        .await;
    let (code, body) = testkit::admin_call(
        &d.runtime_dir,
        "POST",
        "/v1/users/bob/kick",
        Some(r#"{"reason":"enough"}"#),
    );
    assert_eq!(code, 200, "{body}");
    // Whatever bob was in the middle of arrives whole, then the Bye.
    let (events, close) = bob.recv_to_close().await;
    assert_eq!(close.0, 1000, "a clean close, not a broken message");
    let whole = events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Message(m) if m.text.ends_with(&text)))
        .count();
    assert!(whole >= 1, "some messages arrived before the kick");
    assert!(
        matches!(events.last(), Some(ServerEvent::Bye { code: ByeCode::Kicked, reason, .. }) if reason == "enough"),
        "{:?}",
        events.last()
    );
}
