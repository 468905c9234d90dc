//! The hostile suite (issue 16): the real `chatd`, attacked one way per
//! test, by category (one module each). Every case asserts a clear outcome
//! (the close code, the `Reject` or `error` code, the HTTP status that
//! docs/protocol.md and docs/admin-api.md give) and that an honest member,
//! joined before the attack, is still joined after it, gets a marker sent
//! after it, and saw nothing the attack should not have caused (no join of
//! a half-authenticated attacker, no message that failed to open); and
//! that chatd's log holds no secret after it.
//!
//! docs/security.md, "Hostile suite", lists every case.

mod addresses;
mod admin;
mod auth;
mod floods;
mod frames;
mod handshake;
mod keys;
mod names;
mod sealing;
mod sizes;
mod slowloris;
mod stall;
mod texts;

use std::path::PathBuf;

use chat_protocol::{ClientEvent, ServerEvent, Token};
use futures_util::SinkExt;
use testkit::{Daemon, DaemonBuilder, Outcome, RawClient, Ws};
use tokio_tungstenite::tungstenite::Message;

/// The password of the scenes that set one.
pub const PASSWORD: &str = "right horse battery";

/// A daemon under attack and the honest member who watches.
pub struct Scene {
    pub d: Daemon,
    pub honest: RawClient,
    /// Keeps the password file while the daemon runs.
    _dir: Option<tempfile::TempDir>,
    marks: u32,
}

impl Scene {
    /// A daemon on its defaults plus `config` (TOML), with "honest" joined.
    pub async fn start(config: &str) -> Self {
        Self::from(Daemon::builder().config(config), None).await
    }

    /// [`Scene::start`] with the join password [`PASSWORD`] (a password
    /// file): the scenes where the password check matters.
    pub async fn with_password(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
        let builder = Daemon::builder()
            .config(config)
            .arg("--password-file")
            .arg(file.to_str().unwrap());
        Self::from(builder, Some(dir)).await
    }

    async fn from(builder: DaemonBuilder, dir: Option<tempfile::TempDir>) -> Self {
        let d = builder.start();
        let password = if dir.is_some() { PASSWORD } else { "" };
        let honest = RawClient::join(&d.url, &d.key, "honest", password)
            .await
            .joined();
        Self {
            d,
            honest,
            _dir: dir,
            marks: 0,
        }
    }

    /// The password joins need here.
    pub fn password(&self) -> &'static str {
        if self._dir.is_some() { PASSWORD } else { "" }
    }

    /// A fresh WebSocket to the daemon.
    pub async fn ws(&self) -> Ws {
        testkit::connect(&self.d.url).await
    }

    /// A member joined as `name`, with the right password.
    pub async fn member(&self, name: &str) -> RawClient {
        RawClient::join(&self.d.url, &self.d.key, name, self.password())
            .await
            .joined()
    }

    /// The honest member sends a marker and reads up to its echo: it is
    /// still joined and its deliveries flow. Returns what it saw before
    /// the echo.
    pub async fn marker(&mut self) -> Vec<ServerEvent> {
        self.marks += 1;
        let text = format!("marker {} after the attack", self.marks);
        self.honest
            .send(&ClientEvent::Say {
                room: None,
                text: text.clone(),
                cid: None,
            })
            .await;
        let mut seen = Vec::new();
        let ok = tokio::time::timeout(testkit::DEADLINE, async {
            loop {
                match self.honest.recv().await {
                    Ok(ServerEvent::Message(m)) if m.from == "honest" && m.text == text => {
                        return;
                    }
                    Ok(event) => seen.push(event),
                    Err(close) => panic!(
                        "the honest member was closed {close:?} after seeing {seen:?}; chatd's log:\n{}",
                        self.d.log()
                    ),
                }
            }
        })
        .await;
        assert!(ok.is_ok(), "the marker did not come back; saw {seen:?}");
        // Whatever the attack made chatd log, no secret is in it.
        let log = self.d.log();
        assert!(!log.contains(&self.d.key), "the key token is in the log");
        assert!(!log.contains(PASSWORD), "the password is in the log");
        seen
    }

    /// The honest member is unharmed and saw nothing at all of the attack.
    pub async fn unharmed(&mut self) {
        let seen = self.marker().await;
        assert!(
            seen.is_empty(),
            "the honest member saw what the attack should not cause: {seen:?}"
        );
    }

    /// The honest member is unharmed, and whatever it saw of the attack
    /// `allowed` admits; returns what it saw.
    pub async fn unharmed_but(
        &mut self,
        allowed: impl Fn(&ServerEvent) -> bool,
    ) -> Vec<ServerEvent> {
        let seen = self.marker().await;
        let bad: Vec<_> = seen.iter().filter(|e| !allowed(e)).collect();
        assert!(
            bad.is_empty(),
            "the honest member saw what the attack should not cause: {bad:?} (all: {seen:?})"
        );
        seen
    }

    /// Waits until the honest member sees `name` leave; returns the reason.
    /// Nothing else may come first but `name`'s own join and messages.
    pub async fn sees_leave(&mut self, name: &str) -> String {
        let name = name.to_string();
        let mut other = Vec::new();
        let reason = self
            .honest
            .recv_until("the attacker's leave", |e| match e {
                ServerEvent::Leave {
                    name: n, reason, ..
                } if *n == name => Some(reason.clone()),
                ServerEvent::Join { name: n, .. } if *n == name => None,
                ServerEvent::Message(m) if m.from == name => None,
                e => {
                    other.push(e.clone());
                    None
                }
            })
            .await;
        assert!(other.is_empty(), "saw before {name}'s leave: {other:?}");
        reason
    }

    /// The token, parsed.
    pub fn token(&self) -> Token {
        Token::parse(&self.d.key).unwrap()
    }

    /// `ws://IP:PORT/` as a socket address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.d
            .url
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .parse()
            .unwrap()
    }

    /// A path in the daemon's temp directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.d.root().join(name)
    }
}

/// A `say` event.
pub fn say(text: &str) -> ClientEvent {
    ClientEvent::Say {
        room: None,
        text: text.into(),
        cid: None,
    }
}

/// A `say` of `text` sealed by `client` (its next counter), not sent.
pub fn sealed_say(client: &mut RawClient, text: &str) -> Vec<u8> {
    client.session.sealer.seal(&say(text).to_bytes()).unwrap()
}

/// Sends one binary message, ignoring a connection the server closed.
pub async fn send_binary(ws: &mut Ws, bytes: impl Into<Vec<u8>>) {
    let _ = ws.send(Message::Binary(bytes.into().into())).await;
}

/// Sends one text message, ignoring a connection the server closed.
pub async fn send_text(ws: &mut Ws, text: &str) {
    let _ = ws.send(Message::Text(text.into())).await;
}

/// The join's outcome must be a `Reject` with `code`; returns the reason.
pub fn rejected(outcome: Outcome, code: chat_protocol::RejectCode) -> String {
    match outcome {
        Outcome::Rejected(c, reason) if c == code => reason,
        other => panic!("expected a Reject {code:?}, got {other:?}"),
    }
}

/// The join's outcome must be a close before keys with `code`.
pub fn closed(outcome: Outcome, code: u16) -> String {
    match outcome {
        Outcome::Closed(c, reason) if c == code => reason,
        other => panic!("expected close {code}, got {other:?}"),
    }
}

/// Asserts a member's session ended with `close` and no `Bye` (the peer
/// is not trusted), or with a `Bye` of `bye` when given.
pub fn ended(
    (events, close): (Vec<ServerEvent>, (u16, String)),
    code: u16,
    bye: Option<chat_protocol::ByeCode>,
) {
    assert_eq!(close.0, code, "close {close:?} after {events:?}");
    let byes: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Bye { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    match bye {
        Some(bye) => assert_eq!(byes, [bye], "{events:?}"),
        None => assert!(byes.is_empty(), "a Bye to an untrusted peer: {events:?}"),
    }
}
