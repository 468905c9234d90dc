//! The client core: one session with the server, with no user interface.
//!
//! Front ends (the line client, `--json`, the full-screen client) give the
//! [`Engine`] typed commands ([`Engine::submit`], [`Engine::leave`]) and
//! get typed [`Event`]s back; they decide how things look, the engine
//! decides what happens on the wire. It owns:
//!
//! - the [`Connection`] (or, while reconnecting, the join in progress);
//! - pacing: lines wait in a queue until the [`Pacer`] lets them go;
//! - pending lines: sent but not yet answered, matched to the server's
//!   answers in order (the server answers each say, action, DM and who in
//!   the order they came: its echo, the `users` list, or an `error`);
//! - `Bye` handling and the reconnect policy.
//!
//! A front end drives it with two calls in its own `select!` loop:
//! [`Engine::wait`] (cancel-safe: it only waits) and [`Engine::handle`]
//! (does the work the wake-up calls for, in the loop's body, so that a
//! send is never cut in half by another branch).
//!
//! ```text
//!   front end ── submit/leave ──▶ Engine ── seal/send ──▶ server
//!   front end ◀── Vec<Event> ──── handle(wait()) ◀── open ── server
//! ```
//!
//! Reconnecting (only when [`Engine::reconnect_with`] was called, as the
//! full-screen client does): after the link broke, a server shutdown, a
//! `too_slow` or a timeout, the engine joins again with exponential backoff
//! (1 s up to 30 s, with jitter), under the same name. Lines typed meanwhile
//! wait in the queue. Each line carries a client id (`cid`, echoed by the
//! server and kept in its history); lines sent whose answer never came are
//! looked up by it in the new `Welcome`'s history: one found there was
//! taken by the server and is not sent again; the others go out again
//! ahead of the queue, in the order typed. (From a server that keeps no
//! client ids, a line from us with the same text, not seen before, counts.) The history is
//! merged by message: what was already shown is left out.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use chat_protocol::{Auth, ByeCode, ClientEvent, HistoryEntry, ServerEvent, Token, Welcome, close};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::connection::{self, Connection, Incoming, JoinError};
use crate::exit::{Exit, Failure};
use crate::input;
use crate::pacing::Pacer;
use crate::render;

/// The first wait before a reconnect attempt.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait between reconnect attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Rejoin attempts that wait out a taken name (1 + 2 + 4 + 8 + 16 + 30 s).
const NAME_HELD_ATTEMPTS: u32 = 6;
/// How many seen messages are remembered for merging a rejoin's history.
const SEEN_MAX: usize = 4096;

/// A line the user typed, from `submit` until the server answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The engine's number for it, increasing in the order typed.
    pub seq: u64,
    /// What goes to the server.
    pub event: ClientEvent,
}

/// What woke the engine up; pass it to [`Engine::handle`].
pub enum Wake {
    /// The server sent something (or the link ended).
    Incoming(Incoming),
    /// The pacer lets the next queued line go.
    SendDue,
    /// The backoff is over: time to join again.
    RetryDue,
    /// A join in progress finished.
    Joined(Box<Result<(Connection, Welcome), JoinError>>),
}

/// The state of the link to the server, for a status bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Joined.
    Up,
    /// Waiting to join again, at `at`.
    Waiting {
        /// When the next attempt starts.
        at: Instant,
        /// Attempts made since the link was lost.
        attempt: u32,
    },
    /// A join is in progress.
    Joining,
    /// The session is over.
    Down,
}

/// What a front end is told.
#[derive(Debug)]
pub enum Event {
    /// The server sent this; `raw` is its JSON as received.
    Server {
        /// The event.
        event: ServerEvent,
        /// Its JSON.
        raw: Vec<u8>,
    },
    /// The server's answer to a line came: it was taken.
    Confirmed(u64),
    /// The server refused a line (an `error` event, also given as
    /// [`Event::Server`]).
    Refused(u64),
    /// A line whose fate cannot be known after the link dropped (a direct
    /// message: history does not hold them); it is not sent again.
    Unknown(Pending),
    /// The link is gone; a rejoin follows (see [`Link::Waiting`]).
    Lost(String),
    /// Joined again. `welcome.history` holds only what was not shown yet;
    /// `gap` says that messages may have been missed before it.
    Rejoined {
        /// The new welcome, its history merged.
        welcome: Welcome,
        /// Whether the history may not cover the time away.
        gap: bool,
    },
    /// A rejoin attempt failed, and another follows.
    RetryFailed(String),
    /// The session is over; `failure` says why and how to exit.
    Ended(Failure),
}

/// What a rejoin needs: the same address, key and name.
pub struct Rejoin {
    /// The server's URL.
    pub url: String,
    /// The key.
    pub token: Token,
    /// The join request (name and password).
    pub auth: Auth,
}

/// One session, as described in the module documentation.
pub struct Engine {
    conn: Option<Connection>,
    link: Link,
    joining: Option<JoinHandle<Result<(Connection, Welcome), JoinError>>>,
    rejoin: Option<Rejoin>,
    me: String,
    max_text: usize,
    pacer: Pacer,
    queue: VecDeque<Pending>,
    inflight: VecDeque<Pending>,
    next_seq: u64,
    retry_attempt: u32,
    cid_prefix: Option<String>,
    seen: HashSet<(u64, u64)>,
    seen_order: VecDeque<(u64, u64)>,
}

/// What a rejoin's history says about what was shown and what was sent.
#[derive(Debug, Default, PartialEq, Eq)]
struct Merged {
    /// The history not shown yet, oldest first.
    fresh: Vec<HistoryEntry>,
    /// Whether messages may have been missed before `fresh`.
    gap: bool,
    /// Lines the server took before the link dropped.
    confirmed: Vec<u64>,
    /// Lines to send again, in the order typed.
    resend: Vec<Pending>,
    /// Lines whose fate cannot be known (direct messages).
    unknown: Vec<Pending>,
}

/// Merges a rejoin's `history` with what was `seen` (message id and
/// timestamp: a restarted server counts ids from 1 again), and settles the
/// lines sent but not answered (`inflight`): taken if the history holds
/// their client id, or, from a server that keeps no client ids, a line of
/// ours with the same text not seen before (in order).
fn merge(
    history: Vec<HistoryEntry>,
    seen: &HashSet<(u64, u64)>,
    me: &str,
    inflight: VecDeque<Pending>,
) -> Merged {
    let mine = |e: &&HistoryEntry| e.from.eq_ignore_ascii_case(me);
    let keeps_cids = history.iter().any(|e| e.cid.is_some());
    let taken: HashSet<&str> = history
        .iter()
        .filter(mine)
        .filter_map(|e| e.cid.as_deref())
        .collect();
    let overlap = history.iter().any(|e| seen.contains(&(e.id, e.ts)));
    let fresh: Vec<&HistoryEntry> = history
        .iter()
        .filter(|e| !seen.contains(&(e.id, e.ts)))
        .collect();
    let mut merged = Merged {
        gap: !overlap && !fresh.is_empty() && !seen.is_empty(),
        ..Merged::default()
    };
    let mut same_text = fresh.iter().copied().filter(mine);
    for pending in inflight {
        let (text, action) = match &pending.event {
            ClientEvent::Say { text, .. } => (text, false),
            ClientEvent::Action { text, .. } => (text, true),
            ClientEvent::Dm { .. } => {
                merged.unknown.push(pending);
                continue;
            }
            // A `who` unanswered needs no answer now.
            _ => continue,
        };
        let found = match cid_of(&pending.event) {
            Some(cid) if keeps_cids => taken.contains(cid),
            _ => same_text.any(|e| &e.text == text && e.action == action),
        };
        if found {
            merged.confirmed.push(pending.seq);
        } else {
            merged.resend.push(pending);
        }
    }
    merged.fresh = fresh.into_iter().cloned().collect();
    merged
}

/// The client id of a say, action or DM.
fn cid_of(event: &ClientEvent) -> Option<&str> {
    match event {
        ClientEvent::Say { cid, .. }
        | ClientEvent::Action { cid, .. }
        | ClientEvent::Dm { cid, .. } => cid.as_deref(),
        _ => None,
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The wait before reconnect attempt `attempt` (0-based): doubling from
/// [`BACKOFF_MIN`] to [`BACKOFF_MAX`], less up to a fifth at random, so
/// that clients dropped together do not all come back at once.
pub fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_MIN
        .saturating_mul(1u32 << attempt.min(5))
        .min(BACKOFF_MAX);
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    base - base.mul_f64(f64::from(byte[0]) / 255.0 / 5.0)
}

impl Engine {
    /// A session over a joined `conn`.
    pub fn new(conn: Connection, welcome: &Welcome) -> Self {
        let mut engine = Self {
            conn: Some(conn),
            link: Link::Up,
            joining: None,
            rejoin: None,
            me: welcome.name.clone(),
            max_text: welcome.max_text,
            pacer: Pacer::new(welcome.rate, Instant::now().into_std()),
            queue: VecDeque::new(),
            inflight: VecDeque::new(),
            next_seq: 0,
            retry_attempt: 0,
            cid_prefix: None,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
        };
        for entry in &welcome.history {
            engine.remember(entry);
        }
        engine
    }

    /// Turns reconnecting on: after a recoverable loss, join again as
    /// `rejoin` says.
    pub fn reconnect_with(&mut self, rejoin: Rejoin) {
        self.rejoin = Some(rejoin);
        let mut bytes = [0u8; 6];
        let _ = getrandom::fill(&mut bytes);
        self.cid_prefix = Some(bytes.iter().map(|b| format!("{b:02x}")).collect());
    }

    /// The server's text limit in bytes.
    pub fn max_text(&self) -> usize {
        self.max_text
    }

    /// The state of the link.
    pub fn link(&self) -> Link {
        self.link
    }

    /// Lines waiting to be sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Lines sent and not answered yet.
    pub fn unanswered(&self) -> usize {
        self.inflight.len()
    }

    /// Queues `event` to be sent as soon as the pacer (and the link)
    /// allows; its sequence number comes back in [`Event::Confirmed`] and
    /// [`Event::Refused`]. A reconnecting engine gives each line a client
    /// id, so that after a rejoin it can tell whether the server took it.
    pub fn submit(&mut self, mut event: ClientEvent) -> u64 {
        self.next_seq += 1;
        let seq = self.next_seq;
        if let Some(prefix) = &self.cid_prefix
            && let ClientEvent::Say { cid, .. }
            | ClientEvent::Action { cid, .. }
            | ClientEvent::Dm { cid, .. } = &mut event
        {
            *cid = Some(format!("{prefix}-{seq}"));
        }
        self.queue.push_back(Pending { seq, event });
        seq
    }

    /// Waits for the next thing to do. Cancel-safe: it only waits.
    pub async fn wait(&mut self) -> Wake {
        let send_at = (!self.queue.is_empty() && self.conn.is_some())
            .then(|| Instant::from_std(self.pacer.ready_at(Instant::now().into_std())));
        if send_at.is_some_and(|at| at <= Instant::now()) {
            return Wake::SendDue;
        }
        let retry_at = match self.link {
            Link::Waiting { at, .. } => Some(at),
            _ => None,
        };
        tokio::select! {
            incoming = async { self.conn.as_mut().expect("a connection").recv().await }, if self.conn.is_some() => {
                Wake::Incoming(incoming)
            }
            () = sleep_until_some(send_at) => Wake::SendDue,
            () = sleep_until_some(retry_at) => Wake::RetryDue,
            joined = async { self.joining.as_mut().expect("a join").await }, if self.joining.is_some() => {
                self.joining = None;
                Wake::Joined(Box::new(joined.unwrap_or_else(|err| Err(JoinError::from(anyhow::anyhow!("the join task failed: {err}"))))))
            }
        }
    }

    /// Does what `wake` calls for; what happened, for the front end.
    pub async fn handle(&mut self, wake: Wake) -> Vec<Event> {
        let mut events = Vec::new();
        match wake {
            Wake::Incoming(incoming) => self.on_incoming(incoming, &mut events).await,
            Wake::SendDue => self.send_next(&mut events).await,
            Wake::RetryDue => self.start_join(),
            Wake::Joined(joined) => self.on_joined(*joined, &mut events),
        }
        events
    }

    /// Says goodbye (sealed, with `reason` for the others) and closes.
    pub async fn leave(&mut self, reason: &str) {
        if let Some(joining) = self.joining.take() {
            joining.abort();
        }
        self.link = Link::Down;
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let bye = ClientEvent::Bye {
            code: ByeCode::Leave,
            reason: reason.into(),
        };
        // A connection that broke just now needs no goodbye.
        if conn.send(&bye).await.is_ok() {
            conn.close(close::NORMAL).await;
        }
    }

    async fn send_next(&mut self, events: &mut Vec<Event>) {
        let (Some(conn), Some(pending)) = (self.conn.as_mut(), self.queue.pop_front()) else {
            return;
        };
        self.pacer.take(Instant::now().into_std());
        match conn.send(&pending.event).await {
            Ok(()) => {
                if input::expects_answer(&pending.event) {
                    self.inflight.push_back(pending);
                }
            }
            Err(err) => {
                // Not sent as far as we know: it goes again after a rejoin.
                self.queue.push_front(pending);
                let failure = err
                    .downcast::<Failure>()
                    .unwrap_or_else(|err| Failure::new(Exit::ConnectionLost, format!("{err:#}")));
                self.lost(failure, events);
            }
        }
    }

    async fn on_incoming(&mut self, incoming: Incoming, events: &mut Vec<Event>) {
        let (event, raw) = match incoming {
            Incoming::Event { event, raw } => (event, raw),
            Incoming::Closed(code) => {
                let code = code.map_or_else(String::new, |c| format!(" (close code {c})"));
                let failure = Failure::new(
                    Exit::ConnectionLost,
                    format!(
                        "connection lost: the server closed the connection without a sealed goodbye{code}"
                    ),
                );
                return self.lost(failure, events);
            }
            Incoming::Broken { close, why } => {
                if let (Some(code), Some(conn)) = (close, self.conn.as_mut()) {
                    conn.abort(code, &why).await;
                }
                let failure = Failure::new(Exit::ConnectionLost, format!("connection lost: {why}"));
                return self.lost(failure, events);
            }
        };
        let answer = match &event {
            ServerEvent::Message(message) => {
                self.remember(message);
                self.is_me(&message.from)
                    .then(|| self.answered(message.cid.as_deref()))
            }
            ServerEvent::Dm { from, cid, .. } if self.is_me(from) => {
                Some(self.answered(cid.as_deref()))
            }
            ServerEvent::Users { .. } => Some(self.inflight.pop_front()),
            ServerEvent::Error { .. } => {
                let refused = self.inflight.pop_front();
                events.push(Event::Server { event, raw });
                if let Some(pending) = refused {
                    events.push(Event::Refused(pending.seq));
                }
                return;
            }
            _ => None,
        };
        let bye = match &event {
            ServerEvent::Bye { code, reason } => Some((*code, reason.clone())),
            _ => None,
        };
        events.push(Event::Server { event, raw });
        if let Some(Some(pending)) = answer {
            events.push(Event::Confirmed(pending.seq));
        }
        if let Some((code, reason)) = bye {
            if let Some(conn) = self.conn.as_mut() {
                conn.close(close::NORMAL).await;
            }
            let failure = Failure::new(Exit::Disconnected, render::disconnected(code, &reason));
            let passing = matches!(
                code,
                ByeCode::Shutdown | ByeCode::TooSlow | ByeCode::Timeout
            );
            if passing {
                self.lost(failure, events);
            } else {
                self.end(failure, events);
            }
        }
    }

    /// The link is gone: reconnect if that is on, else the session ends.
    fn lost(&mut self, failure: Failure, events: &mut Vec<Event>) {
        self.conn = None;
        if self.rejoin.is_none() {
            return self.end(failure, events);
        }
        let at = Instant::now() + backoff(0);
        self.link = Link::Waiting { at, attempt: 0 };
        events.push(Event::Lost(failure.message));
    }

    fn end(&mut self, failure: Failure, events: &mut Vec<Event>) {
        self.conn = None;
        self.link = Link::Down;
        events.push(Event::Ended(failure));
    }

    fn start_join(&mut self) {
        let (Some(rejoin), Link::Waiting { attempt, .. }) = (&self.rejoin, self.link) else {
            return;
        };
        let (url, token, auth) = (
            rejoin.url.clone(),
            rejoin.token.clone(),
            rejoin.auth.clone(),
        );
        self.link = Link::Joining;
        self.retry_attempt = attempt;
        self.joining = Some(tokio::spawn(async move {
            connection::join(&url, &token, &auth).await
        }));
    }

    fn on_joined(
        &mut self,
        joined: Result<(Connection, Welcome), JoinError>,
        events: &mut Vec<Event>,
    ) {
        let (conn, mut welcome) = match joined {
            Ok(joined) => joined,
            Err(err) => {
                // Our old session may still hold the name until the server
                // notices it is gone: a taken name is worth waiting out, for
                // about a minute (someone else may have taken it).
                let name_held =
                    err.failure.exit == Exit::NameTaken && self.retry_attempt < NAME_HELD_ATTEMPTS;
                if err.retry_helps() || name_held {
                    let attempt = self.retry_attempt + 1;
                    let at = Instant::now() + backoff(attempt);
                    self.link = Link::Waiting { at, attempt };
                    events.push(Event::RetryFailed(err.failure.message));
                } else {
                    self.end(err.failure, events);
                }
                return;
            }
        };
        self.conn = Some(conn);
        self.link = Link::Up;
        self.me = welcome.name.clone();
        self.max_text = welcome.max_text;
        self.pacer = Pacer::new(welcome.rate, Instant::now().into_std());

        let history = std::mem::take(&mut welcome.history);
        let inflight = std::mem::take(&mut self.inflight);
        let merged = merge(history, &self.seen, &self.me, inflight);
        for entry in &merged.fresh {
            self.remember(entry);
        }
        for pending in merged.resend.into_iter().rev() {
            self.queue.push_front(pending);
        }
        events.extend(merged.unknown.into_iter().map(Event::Unknown));
        welcome.history = merged.fresh;
        events.push(Event::Rejoined {
            welcome,
            gap: merged.gap,
        });
        events.extend(merged.confirmed.into_iter().map(Event::Confirmed));
    }

    /// The line an echo answers: the one with its client id, else (a
    /// server that echoes none) the oldest one sent.
    fn answered(&mut self, cid: Option<&str>) -> Option<Pending> {
        if let Some(cid) = cid
            && let Some(at) = self
                .inflight
                .iter()
                .position(|p| cid_of(&p.event) == Some(cid))
        {
            return self.inflight.remove(at);
        }
        self.inflight.pop_front()
    }

    fn remember(&mut self, entry: &HistoryEntry) {
        if self.seen.insert((entry.id, entry.ts)) {
            self.seen_order.push_back((entry.id, entry.ts));
            if self.seen_order.len() > SEEN_MAX
                && let Some(old) = self.seen_order.pop_front()
            {
                self.seen.remove(&old);
            }
        }
    }

    fn is_me(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.me)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, ts: u64, from: &str, text: &str, cid: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            id,
            from: from.into(),
            text: text.into(),
            ts,
            action: false,
            cid: cid.map(Into::into),
        }
    }

    fn say(seq: u64, text: &str, cid: Option<&str>) -> Pending {
        Pending {
            seq,
            event: ClientEvent::Say {
                text: text.into(),
                cid: cid.map(Into::into),
            },
        }
    }

    #[test]
    fn a_rejoin_shows_only_what_was_not_seen() {
        let seen: HashSet<_> = [(1, 100), (2, 200)].into();
        let history = vec![
            entry(1, 100, "bob", "seen", None),
            entry(2, 200, "bob", "seen too", None),
            entry(3, 300, "bob", "missed", None),
        ];
        let merged = merge(history, &seen, "ace", VecDeque::new());
        let texts: Vec<_> = merged.fresh.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["missed"]);
        assert!(!merged.gap);
    }

    #[test]
    fn a_restarted_server_reuses_ids_and_a_gap_is_said() {
        let seen: HashSet<_> = [(1, 100), (2, 200)].into();
        // Ids from 1 again, later timestamps: all new, and nothing overlaps.
        let history = vec![entry(1, 900, "bob", "after the restart", None)];
        let merged = merge(history, &seen, "ace", VecDeque::new());
        assert_eq!(merged.fresh.len(), 1);
        assert!(merged.gap);
    }

    #[test]
    fn unanswered_lines_are_settled_by_client_id() {
        let history = vec![
            entry(5, 500, "ace", "two", Some("p-2")),
            entry(6, 600, "bob", "hi", Some("q-1")),
        ];
        let dm = Pending {
            seq: 4,
            event: ClientEvent::Dm {
                to: "bob".into(),
                text: "psst".into(),
                cid: Some("p-4".into()),
            },
        };
        let who = Pending {
            seq: 5,
            event: ClientEvent::Who,
        };
        let inflight = [
            say(1, "one", Some("p-1")),
            say(2, "two", Some("p-2")),
            say(3, "two", Some("p-3")),
            dm.clone(),
            who,
        ]
        .into();
        let merged = merge(history, &HashSet::new(), "ACE", inflight);
        assert_eq!(merged.confirmed, [2]);
        let resend: Vec<_> = merged.resend.iter().map(|p| p.seq).collect();
        assert_eq!(
            resend,
            [1, 3],
            "the same text under another id is not taken"
        );
        assert_eq!(merged.unknown, [dm]);
    }

    #[test]
    fn without_client_ids_the_text_decides_in_order() {
        let seen: HashSet<_> = [(1, 100)].into();
        let history = vec![
            entry(1, 100, "ace", "again", None),
            entry(2, 200, "ace", "again", None),
        ];
        let inflight = [say(1, "again", None), say(2, "again", None)].into();
        let merged = merge(history, &seen, "ace", inflight);
        // One "again" is new: one line was taken, the other goes again.
        assert_eq!(merged.confirmed, [1]);
        assert_eq!(merged.resend.len(), 1);
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds_with_jitter() {
        for attempt in 0..12 {
            let wait = backoff(attempt);
            let base = Duration::from_secs(1 << attempt.min(5)).min(BACKOFF_MAX);
            assert!(
                wait <= base && wait >= base.mul_f64(0.8),
                "{attempt}: {wait:?}"
            );
        }
    }
}
