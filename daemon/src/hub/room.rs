//! One room: its members here (and, for the default room, the users of
//! other nodes), its recent history, the joins and leaves counted for its
//! next summary, its settings; and its log beside it ([`Slot`]). Every
//! event of a room goes out under the room's lock, so all its members see
//! one order.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chat_protocol::clock::now_ms;
use chat_protocol::{HistoryEntry, IdentityKey, RoomName, ServerEvent};

use super::remote;
use crate::hub::member::Member;
use crate::hub::presence::Tally;
use crate::hub::roster::Roster;
use crate::log::{Accepted, Bounds, RoomLog, Tail};
use crate::metrics::Metrics;
use crate::store::rooms::RoomMeta;

/// A room and its log.
pub(super) struct Slot {
    pub(super) room: Mutex<Room>,
    pub(super) log: Arc<dyn RoomLog>,
}

impl Slot {
    /// A room named `name` (`tag` `None`: the default room) on `log`,
    /// opened with its stream of `accepted` entries; the history starts
    /// with what the log keeps.
    pub(super) fn new(
        name: RoomName,
        tag: Option<RoomName>,
        meta: RoomMeta,
        log: Arc<dyn RoomLog>,
        accepted: Accepted,
        bounds: Bounds,
        metrics: Metrics,
    ) -> Self {
        // The last id first: a log that keeps accepting meanwhile puts what
        // follows it in the accepted stream.
        let last_id = log.last_id();
        let kept = log.after(0, bounds.count).entries;
        let mut history = Tail::seeded(bounds, kept, last_id, now_ms());
        // After the entries: what the log dropped meanwhile counts.
        if let Some(id) = log.kept_after() {
            history.keep_after(id);
        }
        Self {
            room: Mutex::new(Room {
                name,
                tag,
                meta,
                users: BTreeMap::new(),
                remote: BTreeMap::new(),
                shadowed: BTreeMap::new(),
                operators: std::collections::BTreeSet::new(),
                leaving: std::collections::HashMap::new(),
                messages_here: 0,
                history,
                accepted,
                tally: Tally::default(),
                empty_since: Some(now_ms()),
                removed: false,
                confirmed: true,
                metrics,
                roster: Roster::default(),
            }),
            log,
        }
    }
}

pub(super) struct Room {
    /// The room's name.
    pub(super) name: RoomName,
    /// What its events carry as `room`: `None` for the default room (an
    /// older client sees exactly what it saw before rooms).
    pub(super) tag: Option<RoomName>,
    /// Its settings (topic, private, invitations, lasting).
    pub(super) meta: RoomMeta,
    /// Members by their name folded to lower case: the map's order is the
    /// order every list of names is shown in, so nothing is sorted (or a
    /// name folded again) while the lock is held.
    pub(super) users: BTreeMap<String, Arc<Member>>,
    /// The users of other nodes, by folded name, as [`Room::users`]
    /// (the default room only).
    pub(super) remote: BTreeMap<String, remote::Remote>,
    /// Users of other nodes whose name a member here still holds (its
    /// claim was lost while NATS was away; it is about to be ended): they
    /// are listed and told once that member has left.
    pub(super) shadowed: BTreeMap<String, remote::Remote>,
    /// The room's operators, by folded name, as `op` and `deop` told
    /// them ([`Hub::set_op`]): a user of another node who proved one of
    /// its name's keys there is marked `op` by them.
    pub(super) operators: std::collections::BTreeSet<String>,
    /// Why users of other nodes are about to leave, by folded name, and
    /// since when ([`Hub::expect_remote_leave`]).
    pub(super) leaving: std::collections::HashMap<String, (String, std::time::Instant)>,
    /// Messages and actions accepted in the room from this node since
    /// chatd started (`chatd_room_messages_total`).
    pub(super) messages_here: u64,
    /// The newest accepted entries, shared with the Welcomes being built,
    /// so a join copies pointers, not texts, under the lock.
    pub(super) history: Tail,
    /// The log's accepted entries, not yet in `history` nor fanned out.
    pub(super) accepted: Accepted,
    /// Joins and leaves not told yet (see [`crate::hub::presence`]).
    pub(super) tally: Tally,
    /// Since when (Unix ms) no one is in the room; `None`: someone is.
    pub(super) empty_since: Option<u64>,
    /// The room was removed: a join that found it before must look again.
    pub(super) removed: bool,
    /// Its settings are known: false for a room a node of a cluster made
    /// because another node's user is in it, before (or without) its
    /// settings from the cluster, which this node does not write back
    /// (the room may have been removed meanwhile).
    pub(super) confirmed: bool,
    /// What the room counts (deliveries).
    pub(super) metrics: Metrics,
    /// [`Room::names`] as the `Welcome`s and `room_joined`s send it, kept
    /// serialized: each change of `users` or `remote` (or of a member's
    /// `op` mark) is told to it ([`Room::relist`]).
    pub(super) roster: Roster,
}

impl Room {
    /// Queues `event` for every member but `except`. The deliveries are
    /// counted once for the whole fan-out, not once each.
    pub(super) fn broadcast(&self, event: &ServerEvent, except: Option<&str>) {
        let bytes = Arc::new(event.to_bytes());
        let mut queued = 0;
        for (key, member) in &self.users {
            if Some(key.as_str()) != except {
                queued += u64::from(member.queue(bytes.clone()));
            }
        }
        self.metrics.deliveries.inc_by(queued);
    }

    /// Calls `each` with the name and identity of everyone online on
    /// every node, in order (see [`Room::users`]).
    fn each_online(&self, mut each: impl FnMut(&String, Option<IdentityKey>, bool)) {
        let mut local = self.users.iter().peekable();
        let mut remote = self.remote.iter().peekable();
        loop {
            match (local.peek(), remote.peek()) {
                (Some((l, _)), Some((r, _))) if l <= r => {
                    if l == r {
                        remote.next();
                    }
                    let (_, m) = local.next().expect("peeked");
                    each(&m.name, m.identity, m.op.load(Ordering::Relaxed));
                }
                (_, Some(_)) => {
                    let (_, r) = remote.next().expect("peeked");
                    each(&r.name, r.identity, r.op);
                }
                (Some(_), None) => {
                    let (_, m) = local.next().expect("peeked");
                    each(&m.name, m.identity, m.op.load(Ordering::Relaxed));
                }
                (None, None) => break,
            }
        }
    }

    /// Names online on every node, in order (see [`Room::users`]).
    pub(super) fn names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.online());
        self.each_online(|name, _, _| names.push(name.clone()));
        names
    }

    /// Tells the roster what [`Room::names`] lists under `key` now: the
    /// member here, else the user of another node, else no one.
    pub(super) fn relist(&mut self, key: &str) {
        match (self.users.get(key), self.remote.get(key)) {
            (Some(member), _) => self.roster.set(
                key,
                &member.name,
                member.identity,
                member.op.load(Ordering::Relaxed),
            ),
            (None, Some(remote)) => self
                .roster
                .set(key, &remote.name, remote.identity, remote.op),
            (None, None) => self.roster.remove(key),
        }
    }

    /// Everyone online on every node as the `members` lists show them, in
    /// the order of [`Room::names`], and those names: read from the room's
    /// users, not its roster (tests check the roster against it).
    #[cfg(test)]
    pub(super) fn listed(&self) -> (Vec<String>, Vec<chat_protocol::Member>) {
        let mut names = Vec::with_capacity(self.online());
        let mut members = Vec::with_capacity(self.online());
        self.each_online(|name, identity, op| {
            names.push(name.clone());
            members.push(chat_protocol::Member {
                name: name.clone(),
                identity,
                op,
            });
        });
        (names, members)
    }

    /// Users online on every node.
    pub(super) fn online(&self) -> usize {
        self.users.len() + self.remote.len()
    }

    /// Sends the summary of what was counted, if anything was.
    pub(super) fn send_presence(&mut self) {
        if let Some(event) = self.tally.take(self.online(), self.tag.clone()) {
            self.broadcast(&event, None);
        }
    }

    /// Adds to the history what the room's log accepted while it rested
    /// (no member here, [`crate::log::RoomLog::catch_up`]); when more was
    /// accepted than it read, the history starts again after the entries
    /// missed, so a resume from among them is told it has a gap.
    pub(super) fn catch_up(&mut self, caught: crate::log::After) {
        let now = now_ms();
        if caught.gap
            && let Some(first) = caught.entries.first()
        {
            self.history.restart_after(first.id - 1);
        }
        for entry in caught.entries {
            if entry.id > self.history.last_id() {
                self.history.push(entry, now);
            }
        }
    }

    /// Takes every entry the log has accepted since the last call, in log
    /// order: into the history, and out to everyone.
    pub(super) fn pump(&mut self) {
        let now = now_ms();
        while let Ok(entry) = self.accepted.try_recv() {
            if entry.id <= self.history.last_id() {
                // Read already by a catch-up ([`Room::catch_up`]): the
                // log's follower handed it over just as the last member
                // here left and the log was let rest.
                continue;
            }
            self.broadcast(&ServerEvent::Message(HistoryEntry::clone(&entry)), None);
            self.history.push(entry, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{After, EmbeddedLog, Entry};
    use crate::store::rooms::RoomMeta;

    fn entry(id: u64) -> Entry {
        Arc::new(HistoryEntry {
            room: None,
            id,
            from: "ace".into(),
            text: format!("m{id}"),
            ts: now_ms(),
            action: false,
            cid: None,
        })
    }

    #[test]
    fn what_a_catch_up_read_is_not_taken_again_from_the_accepted_stream() {
        let bounds = Bounds::of(&crate::config::Config::default());
        let (log, _) = EmbeddedLog::in_memory(bounds);
        let (tx, accepted) = tokio::sync::mpsc::unbounded_channel();
        let ops = RoomName::parse("#ops").unwrap();
        let slot = Slot::new(
            ops.clone(),
            Some(ops),
            RoomMeta::default(),
            Arc::new(log),
            accepted,
            bounds,
            Metrics::default(),
        );
        let mut room = slot.room.lock().unwrap();
        // The room's follower handed 11 over just as the log was let rest
        // (its last member left); the next join's catch-up read 11 and 12
        // from the log, and the new follower goes on with 13.
        tx.send(entry(11)).unwrap();
        room.catch_up(After {
            entries: vec![entry(11), entry(12)],
            gap: false,
        });
        room.pump();
        tx.send(entry(13)).unwrap();
        room.pump();
        let ids: Vec<u64> = room.history.iter().map(|e| e.id).collect();
        assert_eq!(ids, [11, 12, 13]);
    }
}
