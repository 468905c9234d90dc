//! Sessions run in-process on the daemon library, over in-memory pipes,
//! with tokio's clock paused: the handshake deadline, the keepalive and
//! the write timeout are checked in virtual time, without waiting real
//! seconds.

use std::net::SocketAddr;
use std::time::Duration;

use chat_protocol::{Auth, ByeCode, ClientHandshake, ServerEvent, Session, Token, Welcome};
use chatd::config::{Config, Human};
use chatd::session::connection::Connection;
use chatd::state::AppState;
use futures_util::{SinkExt, StreamExt};
use tokio::io::DuplexStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// A daemon's state in a temp dir, serving nothing but what the test
/// connects by hand.
struct Room {
    app: AppState,
    token: Token,
    _dir: tempfile::TempDir,
}

async fn room(change: impl FnOnce(&mut Config)) -> Room {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    change(&mut config);
    config.state_dir = Some(dir.path().join("state"));
    config.runtime_dir = Some(dir.path().join("run"));
    let store = chatd::store::Store::open(config.state_dir.as_deref().unwrap()).unwrap();
    let reload_config = config.clone();
    let reloader = chatd::config::reload::Reloader::new(move || Ok(reload_config.clone()), None);
    let listen: SocketAddr = "127.0.0.1:1719".parse().unwrap();
    let (app, token, _) =
        chatd::service::assemble(config, store, listen, reloader, chatd::Handle::new())
            .await
            .unwrap();
    Room {
        app,
        token,
        _dir: dir,
    }
}

type Client = WebSocketStream<DuplexStream>;

/// A session of `room` on one end of an in-memory pipe of `buffer` bytes
/// each way; the client's end is returned.
async fn connect(room: &Room, buffer: usize) -> Client {
    let (client, server) = tokio::io::duplex(buffer);
    let app = room.app.clone();
    let deadline = Instant::now() + app.config.get().handshake_timeout.0;
    tokio::spawn(async move {
        let ws_config = chatd::door::upgrade::ws_config(&app.config.get());
        let conn = Connection::new(server, ws_config).await;
        let peer: SocketAddr = "127.0.0.2:40000".parse().unwrap();
        let tally = app.metrics.connection();
        chatd::session::run(conn, peer, deadline, tally, app.session()).await;
    });
    WebSocketStream::from_raw_socket(client, Role::Client, None).await
}

/// The next binary message, or the close code.
async fn next(client: &mut Client) -> Result<Vec<u8>, u16> {
    loop {
        match client.next().await {
            Some(Ok(Message::Binary(bytes))) => return Ok(bytes.to_vec()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map_or(1005, |f| f.code.into())),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(1006),
        }
    }
}

/// Sends the Hello and reads the Challenge.
async fn greet(client: &mut Client, token: &Token) -> Session {
    let hs = ClientHandshake::new(token);
    client
        .send(Message::Binary(hs.hello().to_vec().into()))
        .await
        .unwrap();
    let challenge = next(client).await.expect("a Challenge");
    hs.on_challenge(&challenge)
        .expect("the server's identity")
        .0
}

/// Joins as `name`; returns the session keys.
async fn join(client: &mut Client, token: &Token, name: &str) -> Session {
    join_welcome(client, token, name).await.0
}

/// Joins as `name`; returns the session keys and the `Welcome`.
async fn join_welcome(client: &mut Client, token: &Token, name: &str) -> (Session, Welcome) {
    let mut session = greet(client, token).await;
    let auth = Auth {
        username: name.into(),
        password: String::new().into(),
        client: "in-process".into(),
        after: None,
        identity: None,
        proof: None,
    };
    let sealed = session.sealer.seal(&auth.to_bytes()).unwrap();
    client.send(Message::Binary(sealed.into())).await.unwrap();
    match read(client, &mut session).await {
        Ok(ServerEvent::Welcome(welcome)) => (session, welcome),
        other => panic!("expected a Welcome, got {other:?}"),
    }
}

/// The next sealed event, or the close code.
async fn read(client: &mut Client, session: &mut Session) -> Result<ServerEvent, u16> {
    let sealed = next(client).await?;
    let plain = session.opener.open(&sealed, 1 << 20).expect("opens");
    Ok(serde_json::from_slice(&plain).expect("an event"))
}

/// Every event until the close, and the close code.
async fn read_to_close(client: &mut Client, session: &mut Session) -> (Vec<ServerEvent>, u16) {
    let mut events = Vec::new();
    loop {
        match read(client, session).await {
            Ok(event) => events.push(event),
            Err(code) => return (events, code),
        }
    }
}

fn is_bye(events: &[ServerEvent], code: ByeCode) -> bool {
    events
        .iter()
        .any(|e| matches!(e, ServerEvent::Bye { code: c, .. } if *c == code))
}

#[tokio::test(start_paused = true)]
async fn a_client_silent_after_the_challenge_gets_a_bye_at_the_deadline() {
    let room = room(|c| c.handshake_timeout = Human(Duration::from_secs(10))).await;
    let start = Instant::now();
    let mut client = connect(&room, 64 * 1024).await;
    let mut session = greet(&mut client, &room.token).await;
    // No Auth: the deadline passes in virtual time.
    let (events, close) = read_to_close(&mut client, &mut session).await;
    assert!(is_bye(&events, ByeCode::Timeout), "{events:?}");
    assert_eq!(close, 1008);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "closed after {waited:?}, not at the 10 s deadline"
    );
    assert_eq!(room.app.hub.online(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_answers_pings_times_out_and_one_that_does_stays() {
    let room = room(|c| {
        c.keepalive_interval = Human(Duration::from_secs(30));
        c.keepalive_timeout = Human(Duration::from_secs(90));
    })
    .await;
    let start = Instant::now();
    let mut dead = connect(&room, 64 * 1024).await;
    let dead_session = join(&mut dead, &room.token, "dead").await;
    let mut live = connect(&room, 64 * 1024).await;
    let mut live_session = join(&mut live, &room.token, "live").await;
    // `live` reads, and so answers every ping, until the dead one leaves.
    loop {
        match read(&mut live, &mut live_session).await {
            Ok(ServerEvent::Leave { name, reason, .. }) if name == "dead" => {
                assert_eq!(reason, "timed out");
                break;
            }
            Ok(_) => {}
            Err(code) => panic!("the live peer was closed ({code})"),
        }
    }
    assert!(start.elapsed() >= Duration::from_secs(90));
    drop((dead, dead_session));
    // Ten minutes on, the live one is still there.
    let until = Instant::now() + Duration::from_secs(600);
    while Instant::now() < until {
        let read = tokio::time::timeout_at(until, read(&mut live, &mut live_session)).await;
        if let Ok(Err(code)) = read {
            panic!("the live peer was closed ({code})");
        }
    }
    assert_eq!(room.app.hub.names(), ["live"]);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_is_dropped_after_the_write_timeout() {
    let room = room(|c| {
        c.write_timeout = Human(Duration::from_secs(10));
        c.outbound_queue = 10_000;
    })
    .await;
    // A small pipe: the server's writes stall once 8 KiB are unread.
    let mut slow = connect(&room, 8 * 1024).await;
    let _slow_session = join(&mut slow, &room.token, "slow").await;
    let mut ace = connect(&room, 1 << 20).await;
    let mut ace_session = join(&mut ace, &room.token, "ace").await;
    let start = Instant::now();
    for i in 0..40 {
        room.app.hub.notice(&format!("{i} {}", "x".repeat(1000)));
    }
    loop {
        match read(&mut ace, &mut ace_session).await {
            Ok(ServerEvent::Leave { name, reason, .. }) if name == "slow" => {
                assert_eq!(reason, "too slow");
                break;
            }
            Ok(_) => {}
            Err(code) => panic!("ace was closed ({code})"),
        }
    }
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(10),
        "dropped after {waited:?}, before the write timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn a_queue_full_in_bytes_is_too_slow_at_once_and_its_bytes_are_freed() {
    let room = room(|c| {
        c.write_timeout = Human(Duration::from_secs(60));
        c.outbound_queue = 10_000;
        c.outbound_queue_bytes = 64 * 1024;
        c.max_text = 8000;
    })
    .await;
    let mut slow = connect(&room, 8 * 1024).await;
    let _slow_session = join(&mut slow, &room.token, "slow").await;
    let mut ace = connect(&room, 1 << 20).await;
    let mut ace_session = join(&mut ace, &room.token, "ace").await;
    let start = Instant::now();
    // 160 KB for a reader that takes nothing: past 64 KiB the queue is
    // full. Between notices the writers run: ace's drains its queue.
    for i in 0..40 {
        room.app.hub.notice(&format!("{i} {}", "x".repeat(4000)));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    loop {
        match read(&mut ace, &mut ace_session).await {
            Ok(ServerEvent::Leave { name, reason, .. }) if name == "slow" => {
                assert_eq!(reason, "too slow");
                break;
            }
            Ok(_) => {}
            Err(code) => panic!("ace was closed ({code})"),
        }
    }
    let waited = start.elapsed();
    assert!(
        waited < Duration::from_secs(60),
        "dropped after {waited:?}: by the write timeout, not the byte bound"
    );
    // Once everyone has read what was sent, nothing stays queued.
    let until = Instant::now() + Duration::from_secs(30);
    while room.app.hub.queued_bytes() != 0 {
        assert!(
            Instant::now() < until,
            "{} bytes stay queued",
            room.app.hub.queued_bytes()
        );
        let _ =
            tokio::time::timeout(Duration::from_millis(50), read(&mut ace, &mut ace_session)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn events_queued_at_once_all_arrive_in_order_sealed_with_consecutive_counters() {
    let room = room(|c| c.outbound_queue = 1000).await;
    let mut ace = connect(&room, 1 << 20).await;
    let mut session = join(&mut ace, &room.token, "ace").await;
    let first = session.opener.counter();
    // Queued without a yield: the writer finds them all waiting and
    // sends them in batches (more than one: past its bound of events).
    let n = 3 * chatd::session::BATCH + 5;
    for i in 0..n {
        room.app.hub.notice(&format!("n{i}"));
    }
    for i in 0..n {
        // `read` opens with the next counter: a gap, a repeat or a
        // reordering fails to open.
        match read(&mut ace, &mut session).await {
            Ok(ServerEvent::Notice { text, .. }) => assert_eq!(text, format!("n{i}")),
            other => panic!("expected notice {i}, got {other:?}"),
        }
    }
    assert_eq!(session.opener.counter(), first + n as u64);
    assert_eq!(room.app.hub.queued_bytes(), 0);
    // And the session goes on: one more, alone.
    room.app.hub.notice("last");
    assert!(matches!(
        read(&mut ace, &mut session).await,
        Ok(ServerEvent::Notice { text, .. }) if text == "last"
    ));
}

/// A kick that comes while the writer is in the middle of a batch (or has
/// a long message sealed for the next one) waits for them: everything
/// sealed is sent, and the Bye, sealed after it, opens.
#[tokio::test(start_paused = true)]
async fn a_kick_during_a_stalled_batch_still_ends_with_a_bye_that_opens() {
    let room = room(|c| {
        c.write_timeout = Human(Duration::from_secs(60));
        c.outbound_queue = 10_000;
        c.outbound_queue_bytes = 1 << 20;
        c.max_text = 60_000;
    })
    .await;
    // A pipe of 8 KiB that nobody reads yet: the writer stalls mid-batch.
    let mut ace = connect(&room, 8 * 1024).await;
    let mut session = join(&mut ace, &room.token, "ace").await;
    for i in 0..20 {
        room.app.hub.notice(&format!("{i} {}", "x".repeat(2000)));
    }
    // And one long enough to be sent in fragments, left for after the batch.
    room.app.hub.notice(&format!("long {}", "y".repeat(40_000)));
    tokio::time::sleep(Duration::from_millis(10)).await;
    let member = room.app.hub.member("ace").expect("ace is in");
    member.control.end(chatd::ending::Ending::kicked("enough"));
    // `read` opens with the next counter: a message sealed and dropped
    // would make the Bye fail to open.
    let (events, code) = read_to_close(&mut ace, &mut session).await;
    let notices = events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Notice { .. }))
        .count();
    assert!(
        is_bye(&events, ByeCode::Kicked),
        "{code}: {notices} notices"
    );
    assert_eq!(code, 1000);
}

#[tokio::test(start_paused = true)]
async fn a_batch_taken_but_not_written_still_counts_against_the_byte_bound() {
    let room = room(|c| {
        c.write_timeout = Human(Duration::from_secs(60));
        c.outbound_queue = 10_000;
        c.outbound_queue_bytes = 64 * 1024;
        c.max_text = 8000;
    })
    .await;
    let mut slow = connect(&room, 8 * 1024).await;
    let _slow_session = join(&mut slow, &room.token, "slow").await;
    let mut ace = connect(&room, 1 << 20).await;
    let mut ace_session = join(&mut ace, &room.token, "ace").await;
    let start = Instant::now();
    // 15 × 4 KB: under the bound. The slow writer takes them all in one
    // batch and stalls on the full pipe.
    for i in 0..15 {
        room.app.hub.notice(&format!("{i} {}", "x".repeat(4000)));
    }
    let slow_member = room.app.hub.member("slow").expect("slow is in");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!slow_member.control.is_ending());
    // Two more: the queue alone holds 8 KB, but with the batch not yet
    // written the member is past its 64 KiB.
    for i in 15..17 {
        room.app.hub.notice(&format!("{i} {}", "x".repeat(4000)));
    }
    assert!(
        slow_member.control.is_ending(),
        "the taken batch was not counted"
    );
    loop {
        match read(&mut ace, &mut ace_session).await {
            Ok(ServerEvent::Leave { name, reason, .. }) if name == "slow" => {
                assert_eq!(reason, "too slow");
                break;
            }
            Ok(_) => {}
            Err(code) => panic!("ace was closed ({code})"),
        }
    }
    assert!(start.elapsed() < Duration::from_secs(60));
    // Once ace has read everything, no byte stays counted.
    let until = Instant::now() + Duration::from_secs(30);
    while room.app.hub.queued_bytes() != 0 {
        assert!(
            Instant::now() < until,
            "{} bytes stay queued",
            room.app.hub.queued_bytes()
        );
        let _ =
            tokio::time::timeout(Duration::from_millis(50), read(&mut ace, &mut ace_session)).await;
    }
}

/// A long history's Welcome is fitted and serialized off the runtime's
/// workers and outside the room's lock: on a runtime of one thread, a
/// member's `who` is answered while another join's Welcome is held in the
/// middle of its fitting (by a hold that debug builds offer to tests).
#[cfg(debug_assertions)]
#[tokio::test]
async fn a_who_is_answered_while_a_big_welcome_is_being_fitted() {
    let room = room(|c| {
        c.history = 400;
        c.outbound_queue = 1000;
        c.outbound_queue_bytes = 64 << 20;
        c.handshake_timeout = Human(Duration::from_secs(120));
    })
    .await;
    let mut filler = connect(&room, 1 << 20).await;
    let _filler_session = join(&mut filler, &room.token, "filler").await;
    let member = room.app.hub.member("filler").expect("filler is in");
    for i in 0..400 {
        let text = format!("{i} {}", "x".repeat(4000));
        room.app.hub.say(&member, text, false, None).await.unwrap();
    }
    let mut watcher = connect(&room, 4 << 20).await;
    let (mut watcher_session, _) = join_welcome(&mut watcher, &room.token, "watcher").await;

    let hold = chatd::hub::welcome::held::hold("big");
    let mut big = connect(&room, 4 << 20).await;
    let token = room.token.clone();
    let joining = tokio::spawn(async move {
        let (_, welcome) = join_welcome(&mut big, &token, "big").await;
        welcome
    });
    let until = Instant::now() + testkit::DEADLINE;
    while !hold.entered() {
        assert!(Instant::now() < until, "the big Welcome was never fitted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sealed = watcher_session
        .sealer
        .seal(
            &chat_protocol::ClientEvent::Who {
                room: None,
                after: None,
            }
            .to_bytes(),
        )
        .unwrap();
    watcher.send(Message::Binary(sealed.into())).await.unwrap();
    let users = tokio::time::timeout(testkit::DEADLINE, async {
        loop {
            match read(&mut watcher, &mut watcher_session).await {
                Ok(ServerEvent::Users { users, .. }) => return users,
                Ok(_) => {}
                Err(code) => panic!("the watcher was closed ({code})"),
            }
        }
    })
    .await
    .expect("the who was answered");
    assert!(
        !hold.released(),
        "the who was answered only once the Welcome was fitted"
    );
    assert!(users.iter().any(|u| u == "big"), "{users:?}");
    hold.release();
    let welcome = tokio::time::timeout(testkit::DEADLINE, joining)
        .await
        .expect("the big Welcome arrives once let go")
        .unwrap();
    let kept = welcome.history.len();
    assert!(kept > 0 && kept < 400, "cut to one message: {kept} kept");
    assert_eq!(
        welcome.history.last().map(|e| e.text.starts_with("399 ")),
        Some(true)
    );
}
