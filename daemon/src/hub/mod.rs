//! The rooms: who is online, recent history, and fan-out.
//!
//! Every session is in the default room from its `Welcome` to its end,
//! and in the other rooms it joined ([`rooms`]); each room is a
//! [`room::Slot`]: its state under one lock, and its own log.
//!
//! One `Mutex<Room>` per room orders its every join, leave and message, so each user
//! sees the same sequence and a joiner's history joins up with what follows
//! it. Public messages go through the room's log (`crate::log`) first:
//! the log numbers them, and they are fanned out (and added to the room's
//! `Tail`) only as they come out of the log's stream of accepted entries,
//! drained under the room lock ([`Hub::pump_room`]). The lock is never held
//! across an await: delivery is a `try_send`
//! into each member's bounded queue. A member whose queue is full is too
//! slow; it is told to end and never delays anyone else. Each event is
//! serialized once; every writer task seals the shared bytes with its own key.
//! In a large room joins and leaves are counted and told in summaries
//! ([`crate::hub::presence`]).
//!
//! In a cluster the room also lists the users of the other nodes
//! ([`Room::remote`], kept by the cluster's watch of the names): every list of
//! names and every `online` count covers the whole cluster, and their joins
//! and leaves are told here like local ones ([`remote`]). `max_users` counts
//! this node's own users only.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chat_protocol::clock::now_ms;

use chat_protocol::RoomName;
use tokio::sync::Notify;

use crate::config::{Config, Current};
pub use crate::hub::member::{Member, Queue};
use crate::hub::presence::Tally;
use crate::hub::room::{Room, Slot};
use crate::log::{Draft, LogError, RoomLogs};
use crate::metrics::Metrics;
use crate::store::rooms::RoomBook;

mod admin;
mod dm;
mod joining;
mod listing;
mod lists;
mod logs;
pub(crate) mod member;
mod owners;
pub(crate) mod presence;
mod remote;
mod room;
mod room_joined;
mod room_making;
pub mod rooms;
pub mod rooms_admin;
pub mod rooms_kept;
pub mod rooms_shared;
mod roster;
pub mod start;
pub mod welcome;
pub mod who;

pub use dm::{Dm, Routed, no_such_user};
pub use member::Proven;
pub use owners::Holder;
pub use start::RoomsSetup;
pub use welcome::Unsent;

/// A new member's side of a successful join.
pub struct Joined {
    /// The registered member.
    pub member: Arc<Member>,
    /// The `Welcome` to fit, seal and send first.
    pub welcome: Unsent,
    /// The member's queue, drained by its writer task.
    pub rx: Queue,
}

/// The rooms shared by every connection.
pub struct Hub {
    /// The default room: every session is in it.
    lobby: Slot,
    /// The other rooms, by name; the lock is taken before a room's,
    /// never after.
    others: Mutex<BTreeMap<RoomName, Arc<Slot>>>,
    /// Where the other rooms' logs are.
    logs: RoomLogs,
    /// Where the rooms' settings are kept; `None`: in memory only, or
    /// shared by a cluster's nodes (`shared`).
    book: Option<RoomBook>,
    /// Where a node of a cluster keeps the rooms' settings.
    shared: std::sync::OnceLock<Arc<dyn rooms_shared::SharedSettings>>,
    /// The configuration in force (the room reads it, a reload sets it).
    config: Arc<Current>,
    total_messages: AtomicU64,
    /// Told when the first join or leave is counted for a summary.
    presence_counted: Notify,
    /// What the room counts.
    metrics: Metrics,
}

impl Hub {
    /// The default room's lock.
    fn lobby(&self) -> std::sync::MutexGuard<'_, Room> {
        self.lobby.room.lock().expect("lock")
    }

    /// The configuration in force, as the room reads it.
    fn config(&self) -> Arc<Config> {
        self.config.get()
    }

    /// The other rooms, as they are now.
    fn others(&self) -> Vec<Arc<Slot>> {
        self.others
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }

    /// Fans out what `room`'s log (`None`: the default room's) has
    /// accepted and the room not yet seen. Each [`Hub::say`] does it for
    /// its room; logs whose entries are accepted elsewhere (a replicated
    /// backend) have it called as they arrive.
    pub fn pump_room(&self, room: Option<&RoomName>) {
        match room {
            None => self.lobby().pump(),
            Some(room) => {
                if let Some(slot) = self.other(room) {
                    slot.room.lock().expect("lock").pump();
                }
            }
        }
    }

    /// Users online on this node (what `max_users` bounds).
    pub fn online(&self) -> usize {
        self.lobby().users.len()
    }

    /// Public messages, actions and DMs relayed since start.
    pub fn total_messages(&self) -> u64 {
        self.total_messages.load(Ordering::Relaxed)
    }

    /// Bytes waiting in the queues of everyone online now (summed here,
    /// so that deliveries share no counter).
    pub fn queued_bytes(&self) -> usize {
        let room = self.lobby();
        room.users.values().map(|m| m.queued.get()).sum()
    }

    /// Whether the room is full (checked first, before the password).
    pub fn is_full(&self) -> bool {
        self.online() >= self.config().max_users
    }

    /// Appends a public message or action to the default room's log and,
    /// once the log accepted it, relays it to everyone, sender included;
    /// its id.
    pub async fn say(
        &self,
        from: &Member,
        text: String,
        action: bool,
        cid: Option<String>,
    ) -> Result<u64, LogError> {
        self.say_in(&self.lobby, from, text, action, cid).await
    }

    /// As [`Hub::say`], in the room of `slot`.
    async fn say_in(
        &self,
        slot: &Slot,
        from: &Member,
        text: String,
        action: bool,
        cid: Option<String>,
    ) -> Result<u64, LogError> {
        let draft = Draft {
            room: None,
            from: from.name.clone(),
            text,
            ts: now_ms(),
            action,
            cid,
        };
        let started = std::time::Instant::now();
        let id = match slot.log.append(draft).await {
            Ok(id) => id,
            Err(e) => {
                self.metrics.log_append_failures.inc();
                return Err(e);
            }
        };
        self.metrics
            .log_append_duration
            .observe(started.elapsed().as_secs_f64());
        self.metrics.log_appends.inc();
        {
            let mut room = slot.room.lock().expect("lock");
            room.pump();
            room.messages_here += 1;
        }
        self.count(from);
        Ok(id)
    }

    /// Counts a join or leave for the next summary; the first one counted
    /// wakes the summary's timer ([`crate::hub::presence::run`]).
    fn count_presence(&self, room: &mut Room, change: impl FnOnce(&mut Tally)) {
        let first = room.tally.is_empty();
        change(&mut room.tally);
        if first {
            self.presence_counted.notify_one();
        }
    }

    /// Resolves when a join or leave has been counted since the last call
    /// (at once if one was counted while no one waited).
    pub async fn presence_counted(&self) {
        self.presence_counted.notified().await;
    }

    /// Sends everyone online the summary of the joins and leaves counted,
    /// if any were.
    pub fn send_presence(&self) {
        self.lobby().send_presence();
        for slot in self.others() {
            slot.room.lock().expect("lock").send_presence();
        }
    }

    fn count(&self, from: &Member) {
        from.messages.fetch_add(1, Ordering::Relaxed);
        self.total_messages.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ending::Control;
    use crate::ending::Ending;
    use crate::log::Bounds;
    use chat_protocol::ErrorCode;
    use chat_protocol::{KeyId, RejectCode, ServerEvent};
    use tokio_util::sync::CancellationToken;

    /// Joins `name` from a fixed address with a fresh control (the room's
    /// own tests and the presence tests).
    pub(crate) fn join(hub: &Hub, name: &str) -> Joined {
        let shutdown = CancellationToken::new();
        hub.join(
            name,
            "127.0.0.1:9".parse().unwrap(),
            KeyId([0; 8]),
            Proven::default(),
            Control::new(&shutdown),
            None,
        )
        .unwrap_or_else(|code| panic!("{name}: {code:?}"))
    }

    /// A room in memory under `config`.
    pub(crate) fn hub_of(config: Config) -> Hub {
        Hub::new(Arc::new(Current::new(config)))
    }

    /// Puts `config` in force, as a reload does.
    pub(crate) fn reconfigure(hub: &Hub, config: Config) {
        let bounds = Bounds::of(&config);
        hub.config.set(Arc::new(config));
        hub.set_bounds(bounds);
    }

    fn hub_with(change: impl FnOnce(&mut Config)) -> Hub {
        let mut config = Config::default();
        change(&mut config);
        hub_of(config)
    }

    /// Every event queued for a member so far.
    fn drain(joined: &mut Joined) -> Vec<ServerEvent> {
        let events = std::iter::from_fn(|| joined.rx.try_recv())
            .map(|bytes| serde_json::from_slice(&bytes).unwrap())
            .collect();
        joined.rx.release();
        events
    }

    #[test]
    fn the_probe_answers_unless_the_room_is_held() {
        let hub = hub_with(|_| {});
        assert!(hub.probe());
        let held = hub.lobby.room.lock().unwrap();
        assert!(!hub.probe(), "a room someone holds does not answer");
        drop(held);
        assert!(hub.probe());
    }

    #[test]
    fn joins_and_leaves_are_told_to_the_others_with_the_count() {
        let hub = hub_with(|_| {});
        let mut ace = join(&hub, "ace");
        let bob = join(&hub, "bob");
        assert!(drain(&mut ace).iter().any(|e| matches!(
            e,
            ServerEvent::Join { name, online: 2, .. } if name == "bob"
        )));
        hub.leave(&bob.member, "left");
        assert_eq!(hub.online(), 1);
        assert!(drain(&mut ace).iter().any(|e| matches!(
            e,
            ServerEvent::Leave { name, online: 1, reason, .. } if name == "bob" && reason == "left"
        )));
        // A second leave of the same member changes nothing.
        hub.leave(&bob.member, "left");
        assert!(drain(&mut ace).is_empty());
    }

    #[tokio::test]
    async fn everyone_sees_a_message_once_with_increasing_ids() {
        let hub = hub_with(|_| {});
        let mut ace = join(&hub, "ace");
        let mut bob = join(&hub, "bob");
        drain(&mut ace);
        hub.say(&bob.member, "one".into(), false, None)
            .await
            .unwrap();
        hub.say(&ace.member, "two".into(), false, None)
            .await
            .unwrap();
        for who in [&mut ace, &mut bob] {
            let seen: Vec<(u64, String)> = drain(who)
                .into_iter()
                .filter_map(|e| match e {
                    ServerEvent::Message(m) => Some((m.id, m.text)),
                    _ => None,
                })
                .collect();
            assert_eq!(seen.len(), 2);
            assert!(seen[0].0 < seen[1].0);
            assert_eq!((seen[0].1.as_str(), seen[1].1.as_str()), ("one", "two"));
        }
        assert_eq!(hub.total_messages(), 2);
    }

    #[tokio::test]
    async fn history_keeps_the_last_messages_and_shrinks_on_reload() {
        let hub = hub_with(|c| c.history = 3);
        let ace = join(&hub, "ace");
        for i in 0..5 {
            hub.say(&ace.member, format!("m{i}"), false, None)
                .await
                .unwrap();
        }
        let texts = |j: &Joined| -> Vec<String> {
            let sent = j.welcome.clone().fitted();
            sent.history.iter().map(|e| e.text.clone()).collect()
        };
        assert_eq!(texts(&join(&hub, "bob")), ["m2", "m3", "m4"]);
        reconfigure(
            &hub,
            Config {
                history: 1,
                ..Config::default()
            },
        );
        assert_eq!(texts(&join(&hub, "carol")), ["m4"]);
        reconfigure(
            &hub,
            Config {
                history: 0,
                ..Config::default()
            },
        );
        hub.say(&ace.member, "unkept".into(), false, None)
            .await
            .unwrap();
        assert!(texts(&join(&hub, "dave")).is_empty());
    }

    #[tokio::test]
    async fn a_member_whose_queue_overflows_ends_as_too_slow_and_delays_no_one() {
        let hub = hub_with(|c| c.outbound_queue = 2);
        let slow = join(&hub, "slow");
        let mut fast = join(&hub, "fast");
        for i in 0..5 {
            hub.say(&fast.member, format!("m{i}"), false, None)
                .await
                .unwrap();
            drain(&mut fast);
        }
        assert!(slow.member.control.is_ending());
        let ending = slow.member.control.ending();
        assert_eq!(ending.leave_reason, "too slow");
        assert!(!fast.member.control.is_ending());
    }

    #[test]
    fn a_kick_ends_only_its_member_and_a_full_room_refuses() {
        let hub = hub_with(|c| c.max_users = 2);
        let ace = join(&hub, "ace");
        let bob = join(&hub, "bob");
        assert!(hub.is_full());
        let shutdown = CancellationToken::new();
        let third = hub.join(
            "carol",
            "127.0.0.1:9".parse().unwrap(),
            KeyId([0; 8]),
            Proven::default(),
            Control::new(&shutdown),
            None,
        );
        assert_eq!(third.err(), Some(RejectCode::ServerFull));
        let kicked = hub.end_where(|m| m.name == "bob", || Ending::kicked("spam"));
        assert_eq!(kicked, 1);
        assert_eq!(bob.member.control.ending().leave_reason, "kicked: spam");
        assert!(!ace.member.control.is_ending());
    }

    #[test]
    fn names_come_in_case_insensitive_order_and_stay_unique() {
        let hub = hub_of(Config::default());
        let _carol = join(&hub, "carol");
        let _alice = join(&hub, "Alice");
        let bob = join(&hub, "bob");
        assert_eq!(hub.names(), ["Alice", "bob", "carol"]);
        assert_eq!(bob.welcome.users(), ["Alice", "bob", "carol"]);
        let users: Vec<String> = hub.users().into_iter().map(|u| u.name).collect();
        assert_eq!(users, ["Alice", "bob", "carol"]);
        let shutdown = CancellationToken::new();
        let again = hub.join(
            "ALICE",
            "127.0.0.1:9".parse().unwrap(),
            KeyId([0; 8]),
            Proven::default(),
            Control::new(&shutdown),
            None,
        );
        assert_eq!(again.err(), Some(RejectCode::NameTaken));
    }

    #[tokio::test]
    async fn a_joiner_gets_the_history_and_a_bad_dm_name_is_not_echoed() {
        let hub = hub_of(Config::default());
        let ace = join(&hub, "ace");
        hub.say(&ace.member, "first".into(), false, None)
            .await
            .unwrap();
        hub.say(&ace.member, "waves".into(), true, None)
            .await
            .unwrap();
        let bob = join(&hub, "bob");
        let sent = bob.welcome.fitted();
        let texts: Vec<(&str, bool)> = sent
            .history
            .iter()
            .map(|e| (e.text.as_str(), e.action))
            .collect();
        assert_eq!(texts, [("first", false), ("waves", true)]);
        let (code, message) = hub
            .dm(&ace.member, "\u{1b}[2J\u{202e}x", "hi".into(), None)
            .unwrap_err();
        assert_eq!(code, ErrorCode::NoSuchUser);
        assert!(!message.contains('\u{1b}') && !message.contains('\u{202e}'));
        let (_, message) = hub.dm(&ace.member, "zed", "hi".into(), None).unwrap_err();
        assert!(message.contains("\"zed\""), "{message}");
    }
}
