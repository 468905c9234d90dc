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
//! merged by message: what was already shown is left out. The rejoin asks
//! to resume after the id of the last message received (`Auth`'s `after`),
//! so the server sends exactly what was missed, or says that some of it is
//! no longer kept (`gap`); a server that says it resumed (`resumed`) is
//! trusted however far the ids jumped (they do after its crash). With
//! several servers, each is tried in turn.
//!
//! - [`events`]: what wakes the engine and what a front end is told;
//! - [`incoming`]: what the server says, matched to the lines sent;
//! - [`pending`]: the lines not yet answered, and how a rejoin settles them;
//! - [`reconnect`]: the backoff and the rejoin;
//! - [`rooms`]: the rooms the session is in, and their rejoin.

mod events;
mod incoming;
mod paging;
mod pending;
mod reconnect;
mod rooms;

use std::collections::{BTreeMap, HashSet, VecDeque};

use chat_protocol::{ByeCode, ClientEvent, RoomName, Welcome, close};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use self::events::{Event, Link, Remedy, Wake};
pub use self::pending::Pending;
pub use self::reconnect::{Credentials, Rejoin};
use crate::connection::{Connection, JoinError};
use crate::exit::{Exit, Failure};
use crate::input;
use crate::pacing::Pacer;

/// How many seen messages are remembered for merging a rejoin's history.
const SEEN_MAX: usize = 4096;

/// One session, as described in the module documentation.
pub struct Engine {
    conn: Option<Connection>,
    link: Link,
    joining: Option<JoinHandle<Result<crate::connection::Joined, JoinError>>>,
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
    /// The `who` of [`Engine::refresh_users`], queued or sent, until its
    /// answer.
    refresh: Option<u64>,
    /// The list being read page by page, whose next page `refresh` asks
    /// for ([`paging`]).
    paging: Option<paging::Paging>,
    /// Lists to read after it, their first part in hand.
    lists_waiting: VecDeque<paging::Paging>,
    /// The id of the last message received: a rejoin resumes after it.
    last_id: Option<u64>,
    /// The id the join in progress (or the last one) resumed after.
    resumed_after: Option<u64>,
    /// The server's default room; `None`: a server without rooms.
    default_room: Option<RoomName>,
    /// The rooms the session is in besides the default room.
    rooms: Vec<rooms::InRoom>,
    /// The rooms being joined again after a reconnect.
    rejoining: BTreeMap<RoomName, rooms::Rejoining>,
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
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
            refresh: None,
            paging: None,
            lists_waiting: VecDeque::new(),
            last_id: None,
            resumed_after: None,
            default_room: None,
            rooms: Vec::new(),
            rejoining: BTreeMap::new(),
        };
        engine.rooms_from(welcome);
        for entry in &welcome.history {
            engine.remember(entry);
        }
        engine.last_id = welcome.last_id.or(engine.last_id);
        if welcome.more {
            engine.read_more(paging::Paging::of(None, &welcome.users, &welcome.members));
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

    /// Asks the server who is in `room` (`None`: the default room),
    /// without a line to show: the answer comes as [`Event::Users`], not
    /// as a server event. It waits in the queue like a line typed (it
    /// counts against the rate limit); one at a time: nothing is queued
    /// while one is unanswered ([`Engine::refreshing_users`]).
    pub fn refresh_users(&mut self, room: Option<&RoomName>) {
        if self.refresh.is_none() {
            let room = room
                .filter(|r| Some(*r) != self.default_room.as_ref())
                .map(|r| r.as_str().to_owned());
            self.refresh = Some(self.submit(ClientEvent::Who { room, after: None }));
        }
    }

    /// Whether a [`Engine::refresh_users`] is unanswered.
    pub fn refreshing_users(&self) -> bool {
        self.refresh.is_some()
    }

    /// Waits for the next thing to do. Cancel-safe: it only waits.
    pub async fn wait(&mut self) -> Wake {
        let send_at = (self.next_sendable().is_some() && self.conn.is_some())
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
        let Some(at) = self.next_sendable() else {
            return;
        };
        let (Some(conn), Some(pending)) = (self.conn.as_mut(), self.queue.remove(at)) else {
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
                self.queue.insert(at, pending);
                let failure = err
                    .downcast::<Failure>()
                    .unwrap_or_else(|err| Failure::new(Exit::ConnectionLost, format!("{err:#}")));
                self.lost(failure, events);
            }
        }
    }

    fn end(&mut self, failure: Failure, remedy: Remedy, events: &mut Vec<Event>) {
        self.conn = None;
        self.link = Link::Down;
        events.push(Event::Ended { failure, remedy });
    }
}
