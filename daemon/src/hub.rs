//! The room: who is online, recent history, and fan-out.
//!
//! One `Mutex<Room>` orders every join, leave and message, so each user
//! sees the same sequence and a joiner's history joins up with what follows
//! it. The lock is never held across an await: delivery is a `try_send`
//! into each member's bounded queue. A member whose queue is full is too
//! slow; it is told to end and never delays anyone else. Each event is
//! serialized once; every writer task seals the shared bytes with its own key.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use chat_protocol::{
    ByeCode, ErrorCode, HistoryEntry, KeyId, RateLimit, RejectCode, ServerEvent, Welcome,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Longest reason a user may give for leaving that the room is shown.
pub const MAX_LEAVE_REASON: usize = 200;

/// How and why a session ends; the first reason given wins.
#[derive(Clone, Debug)]
pub struct Ending {
    /// The sealed `Bye` to send first, if the peer is still trusted.
    pub bye: Option<(ByeCode, String)>,
    /// The WebSocket close code.
    pub close_code: u16,
    /// What the others are told in the `leave` event.
    pub leave_reason: String,
    /// Keep the socket open a moment after the close frame: the peer's
    /// unread bytes would otherwise make the kernel reset the connection
    /// before the peer reads why it was closed.
    pub linger: bool,
}

impl Ending {
    fn without_bye(close_code: u16, leave: impl Into<String>) -> Self {
        Self {
            bye: None,
            close_code,
            leave_reason: leave.into(),
            linger: false,
        }
    }

    fn with_bye(
        code: ByeCode,
        reason: impl Into<String>,
        close_code: u16,
        leave: impl Into<String>,
    ) -> Self {
        Self {
            bye: Some((code, reason.into())),
            ..Self::without_bye(close_code, leave)
        }
    }

    /// The user asked to leave, with the reason they gave: shown to the
    /// room in quotes (so no one can pass their words off as the server's,
    /// `left: "kicked: spam"`), when it is one line of at most
    /// [`MAX_LEAVE_REASON`] bytes.
    pub fn left(reason: &str) -> Self {
        let fits = !reason.trim().is_empty()
            && reason.len() <= MAX_LEAVE_REASON
            && !reason.chars().any(char::is_control);
        let shown = if fits {
            format!("left: {reason:?}")
        } else {
            "left".to_string()
        };
        Self::without_bye(chat_protocol::close::NORMAL, shown)
    }

    /// The connection broke without a goodbye.
    pub fn lost() -> Self {
        Self::without_bye(chat_protocol::close::NORMAL, "connection lost")
    }

    /// The peer sent something that failed to open or was not sealed.
    pub fn untrusted(close_code: u16, why: &str) -> Self {
        Self::without_bye(close_code, format!("connection lost ({why})"))
    }

    /// An admin kicked the user.
    pub fn kicked(reason: &str) -> Self {
        let (bye, leave) = if reason.is_empty() {
            (
                "kicked by the admin".to_string(),
                "kicked by the admin".to_string(),
            )
        } else {
            (reason.to_string(), format!("kicked: {reason}"))
        };
        Self::with_bye(ByeCode::Kicked, bye, chat_protocol::close::NORMAL, leave)
    }

    /// The user's queue overflowed.
    pub fn too_slow(queued: usize) -> Self {
        Self::with_bye(
            ByeCode::TooSlow,
            format!("your connection fell {queued} messages behind"),
            chat_protocol::close::NORMAL,
            "too slow",
        )
    }

    /// No sign of life within the keepalive timeout.
    pub fn timeout() -> Self {
        Self::with_bye(
            ByeCode::Timeout,
            "no answer to keepalive",
            chat_protocol::close::NORMAL,
            "timed out",
        )
    }

    /// The `Auth` did not come within the handshake deadline.
    pub fn handshake_timeout() -> Self {
        Self::with_bye(
            ByeCode::Timeout,
            "handshake deadline missed",
            chat_protocol::close::POLICY,
            "handshake deadline missed",
        )
    }

    /// The key the session joined with was withdrawn.
    pub fn key_rotated() -> Self {
        Self::with_bye(
            ByeCode::KeyRotated,
            "the server's key was rotated; ask the admin for the new key (`chatctl key`)",
            chat_protocol::close::NORMAL,
            "key rotated",
        )
    }

    /// The server is shutting down.
    pub fn shutdown() -> Self {
        Self::with_bye(
            ByeCode::Shutdown,
            "the server is shutting down",
            chat_protocol::close::GOING_AWAY,
            "server shutdown",
        )
    }

    /// A message over the size limit; `size` when it is known (a message
    /// over the WebSocket cap is refused before it is read whole).
    pub fn too_big(size: Option<usize>, limit: usize) -> Self {
        let mut ending = Self::with_bye(
            ByeCode::Protocol,
            match size {
                Some(size) => format!("a message of {size} bytes is over the limit of {limit}"),
                None => format!("a message is over the limit of {limit} bytes"),
            },
            chat_protocol::close::TOO_BIG,
            "sent an oversized message",
        );
        ending.linger = true;
        ending
    }
}

/// The switch that ends one session, reachable from the hub and the admin API.
pub struct Control {
    cancel: CancellationToken,
    shutdown: CancellationToken,
    ending: Mutex<Option<Ending>>,
}

impl Control {
    /// A control that also fires when `parent` (the server's shutdown) does.
    pub fn new(parent: &CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            cancel: parent.child_token(),
            shutdown: parent.clone(),
            ending: Mutex::new(None),
        })
    }

    /// Ends the session for `why`, unless it is already ending.
    pub fn end(&self, why: Ending) {
        let mut slot = self.ending.lock().expect("lock");
        // A cancellation without a reason came from the shutdown: keep it so.
        if slot.is_none() && !self.cancel.is_cancelled() {
            *slot = Some(why);
        }
        drop(slot);
        self.cancel.cancel();
    }

    /// Why the session ends; a cancellation without a reason is the shutdown.
    pub fn ending(&self) -> Ending {
        self.ending
            .lock()
            .expect("lock")
            .clone()
            .unwrap_or_else(Ending::shutdown)
    }

    /// Resolves when the session must end.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Resolves when the whole server shuts down (a narrower signal than
    /// [`Control::cancelled`], for work that only the shutdown may cut).
    pub fn shutting_down(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.shutdown.cancelled()
    }
}

/// One user online.
pub struct Member {
    /// The name as the user wrote it.
    pub name: String,
    /// Peer address.
    pub addr: SocketAddr,
    /// When the user joined.
    pub since: SystemTime,
    /// The key the session joined with.
    pub key_id: KeyId,
    /// Messages sent (public, actions and DMs).
    pub messages: AtomicU64,
    /// Ends this session.
    pub control: Arc<Control>,
    tx: mpsc::Sender<Bytes>,
    queue: usize,
}

impl Member {
    /// Queues serialized event bytes; a full queue ends the session as too slow.
    pub fn deliver(&self, bytes: Bytes) {
        match self.tx.try_send(bytes) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.control.end(Ending::too_slow(self.queue))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Queues one event for this member only.
    pub fn send(&self, event: &ServerEvent) {
        self.deliver(Bytes::from(event.to_bytes()));
    }
}

#[derive(Default)]
struct Room {
    users: HashMap<String, Arc<Member>>,
    history: VecDeque<HistoryEntry>,
    next_id: u64,
}

impl Room {
    fn broadcast(&self, event: &ServerEvent, except: Option<&str>) {
        let bytes = Bytes::from(event.to_bytes());
        for (key, member) in &self.users {
            if Some(key.as_str()) != except {
                member.deliver(bytes.clone());
            }
        }
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.users.values().map(|m| m.name.clone()).collect();
        names.sort_by_key(|n| n.to_ascii_lowercase());
        names
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// A new member's side of a successful join.
pub struct Joined {
    /// The registered member.
    pub member: Arc<Member>,
    /// The `Welcome` to seal and send first.
    pub welcome: Welcome,
    /// The member's queue, drained by its writer task.
    pub rx: mpsc::Receiver<Bytes>,
}

/// What the admin API shows of a user.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UserInfo {
    /// Name.
    pub name: String,
    /// Peer address.
    pub address: String,
    /// Unix seconds of the join.
    pub since: u64,
    /// Messages sent.
    pub messages: u64,
    /// Fingerprint of the key used.
    pub key_id: String,
}

/// The chat room shared by every connection.
pub struct Hub {
    room: Mutex<Room>,
    config: RwLock<Arc<Config>>,
    total_messages: AtomicU64,
}

impl Hub {
    /// An empty room with this configuration.
    pub fn new(config: Arc<Config>) -> Self {
        Self {
            room: Mutex::default(),
            config: RwLock::new(config),
            total_messages: AtomicU64::new(0),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().expect("lock").clone()
    }

    /// Replaces the configuration (on reload); history is trimmed to the new size.
    pub fn set_config(&self, config: Arc<Config>) {
        let keep = config.history;
        *self.config.write().expect("lock") = config;
        let mut room = self.room.lock().expect("lock");
        while room.history.len() > keep {
            room.history.pop_front();
        }
    }

    /// Users online.
    pub fn online(&self) -> usize {
        self.room.lock().expect("lock").users.len()
    }

    /// Public messages, actions and DMs relayed since start.
    pub fn total_messages(&self) -> u64 {
        self.total_messages.load(Ordering::Relaxed)
    }

    /// Whether the room is full (checked first, before the password).
    pub fn is_full(&self) -> bool {
        self.online() >= self.config().max_users
    }

    /// Registers a user after the password check. Re-checks fullness and
    /// takes the name atomically, so two joins can never share one.
    pub fn join(
        &self,
        name: &str,
        addr: SocketAddr,
        key_id: KeyId,
        control: Arc<Control>,
    ) -> Result<Joined, RejectCode> {
        let config = self.config();
        let key = name.to_ascii_lowercase();
        let (tx, rx) = mpsc::channel(config.outbound_queue);
        let mut room = self.room.lock().expect("lock");
        if room.users.len() >= config.max_users {
            return Err(RejectCode::ServerFull);
        }
        if room.users.contains_key(&key) {
            return Err(RejectCode::NameTaken);
        }
        let member = Arc::new(Member {
            name: name.to_string(),
            addr,
            since: SystemTime::now(),
            key_id,
            messages: AtomicU64::new(0),
            control,
            tx,
            queue: config.outbound_queue,
        });
        room.users.insert(key.clone(), member.clone());
        let online = room.users.len();
        room.broadcast(
            &ServerEvent::Join {
                name: name.to_string(),
                online,
                ts: now_ms(),
            },
            Some(&key),
        );
        let welcome = Welcome {
            name: name.to_string(),
            users: room.names(),
            history: room.history.iter().cloned().collect(),
            motd: config.motd.clone(),
            rate: RateLimit {
                burst: config.rate_burst,
                per_second: config.rate_per_second,
            },
            max_text: config.max_text,
            server: format!("chatd/{}", env!("CARGO_PKG_VERSION")),
        };
        drop(room);
        Ok(Joined {
            member,
            welcome: fit_welcome(welcome),
            rx,
        })
    }

    /// Removes a member (if still registered) and tells the others why.
    pub fn leave(&self, member: &Arc<Member>, reason: &str) {
        let key = member.name.to_ascii_lowercase();
        let mut room = self.room.lock().expect("lock");
        if room.users.get(&key).is_some_and(|m| Arc::ptr_eq(m, member)) {
            room.users.remove(&key);
            let online = room.users.len();
            room.broadcast(
                &ServerEvent::Leave {
                    name: member.name.clone(),
                    online,
                    reason: reason.to_string(),
                    ts: now_ms(),
                },
                None,
            );
        }
    }

    /// Relays a public message or action to everyone, sender included.
    pub fn say(&self, from: &Member, text: String, action: bool, cid: Option<String>) {
        let keep = self.config().history;
        let mut room = self.room.lock().expect("lock");
        let entry = HistoryEntry {
            id: room.next_id(),
            from: from.name.clone(),
            text,
            ts: now_ms(),
            action,
            cid,
        };
        if keep > 0 {
            if room.history.len() >= keep {
                room.history.pop_front();
            }
            room.history.push_back(entry.clone());
        }
        room.broadcast(&ServerEvent::Message(entry), None);
        drop(room);
        self.count(from);
    }

    /// Sends a direct message to its addressee and echoes it to the sender.
    pub fn dm(
        &self,
        from: &Member,
        to: &str,
        text: String,
        cid: Option<String>,
    ) -> Result<(), (ErrorCode, String)> {
        let mut room = self.room.lock().expect("lock");
        let Some(target) = room.users.get(&to.to_ascii_lowercase()).cloned() else {
            return Err((
                ErrorCode::NoSuchUser,
                format!("no one called \"{to}\" is online"),
            ));
        };
        let event = ServerEvent::Dm {
            id: room.next_id(),
            from: from.name.clone(),
            to: target.name.clone(),
            text,
            ts: now_ms(),
            cid,
        };
        drop(room);
        let bytes = Bytes::from(event.to_bytes());
        target.deliver(bytes.clone());
        if !target.name.eq_ignore_ascii_case(&from.name) {
            from.deliver(bytes);
        }
        self.count(from);
        Ok(())
    }

    fn count(&self, from: &Member) {
        from.messages.fetch_add(1, Ordering::Relaxed);
        self.total_messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Names online, sorted.
    pub fn names(&self) -> Vec<String> {
        self.room.lock().expect("lock").names()
    }

    /// A member by name (case-insensitive).
    pub fn member(&self, name: &str) -> Option<Arc<Member>> {
        self.room
            .lock()
            .expect("lock")
            .users
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// Everyone online, for the admin API.
    pub fn users(&self) -> Vec<UserInfo> {
        let room = self.room.lock().expect("lock");
        let mut users: Vec<UserInfo> = room
            .users
            .values()
            .map(|m| UserInfo {
                name: m.name.clone(),
                address: m.addr.to_string(),
                since: m
                    .since
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                messages: m.messages.load(Ordering::Relaxed),
                key_id: m.key_id.to_string(),
            })
            .collect();
        users.sort_by_key(|u| u.name.to_ascii_lowercase());
        users
    }

    /// Broadcasts a notice from the admin; returns how many it was sent to.
    pub fn notice(&self, text: &str) -> usize {
        let room = self.room.lock().expect("lock");
        let event = ServerEvent::Notice {
            text: text.to_string(),
            ts: now_ms(),
        };
        room.broadcast(&event, None);
        room.users.len()
    }

    /// Ends every session for `why`; returns how many.
    pub fn end_where(
        &self,
        mut pick: impl FnMut(&Member) -> bool,
        why: impl Fn() -> Ending,
    ) -> usize {
        let room = self.room.lock().expect("lock");
        let mut n = 0;
        for member in room.users.values().filter(|m| pick(m)) {
            member.control.end(why());
            n += 1;
        }
        n
    }
}

/// Drops the oldest history until the sealed Welcome fits one server message.
fn fit_welcome(mut welcome: Welcome) -> Welcome {
    let limit = chat_protocol::limits::MAX_SERVER_MESSAGE - chat_protocol::limits::TAG_LEN;
    while !welcome.history.is_empty()
        && ServerEvent::Welcome(welcome.clone()).to_bytes().len() > limit
    {
        let drop_n = welcome.history.len().div_ceil(8);
        welcome.history.drain(..drop_n);
    }
    welcome
}
