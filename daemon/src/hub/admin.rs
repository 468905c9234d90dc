//! What the admin API asks of the room: who is online, one member, a
//! notice to everyone, and ending sessions by a rule (kicks, rotations
//! with `--disconnect`, shutdown).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chat_protocol::ServerEvent;
use chat_protocol::admin::User;
use chat_protocol::clock::{now_ms, unix_secs};

use super::{Hub, Member};
use crate::ending::Ending;
use crate::metrics::Metrics;

impl Hub {
    /// What the room counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Messages kept now for joins and resumes, in every room.
    pub fn history_len(&self) -> usize {
        let others: usize = self
            .others()
            .iter()
            .map(|slot| slot.room.lock().expect("lock").history.len())
            .sum();
        self.lobby().history.len() + others
    }

    /// Whether the room's lock could be taken now: the watchdog's proof
    /// that the room is not stuck (`crate::door::probe` tries again while
    /// another holds it). Never waits; a poisoned lock never answers.
    pub fn probe(&self) -> bool {
        self.lobby.room.try_lock().is_ok()
    }

    /// Names online on every node of the cluster, in case-insensitive
    /// order.
    pub fn names(&self) -> Vec<String> {
        self.lobby().names()
    }

    /// A member by name (case-insensitive).
    pub fn member(&self, name: &str) -> Option<Arc<Member>> {
        self.lobby().users.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Gives or takes the operator's mark of `name`: of its member here,
    /// in every room it is in, or of its user on another node (only a
    /// session proven with a registered key of the name can hold it), and
    /// lists it so in the Welcomes that follow.
    pub fn set_op(&self, name: &str, op: bool) {
        let key = name.to_ascii_lowercase();
        let member = {
            let mut guard = self.lobby();
            let room = &mut *guard;
            if op {
                room.operators.insert(key.clone());
            } else {
                room.operators.remove(&key);
            }
            let member = room.users.get(&key).cloned();
            if let Some(member) = &member {
                member.op.store(op && member.owner, Ordering::Relaxed);
            }
            for remote in [room.remote.get_mut(&key), room.shadowed.get_mut(&key)]
                .into_iter()
                .flatten()
            {
                remote.op = op && remote.owner;
            }
            room.relist(&key);
            member
        };
        let Some(member) = member else {
            return;
        };
        let rooms: Vec<_> = member.rooms.lock().expect("lock").iter().cloned().collect();
        for name in rooms {
            if let Some(slot) = self.other(&name) {
                let mut room = slot.room.lock().expect("lock");
                if room
                    .users
                    .get(&key)
                    .is_some_and(|m| Arc::ptr_eq(m, &member))
                {
                    room.relist(&key);
                }
            }
        }
    }

    /// Everyone online, in name order, as the admin API shows them
    /// (`disconnect_at` is the admin API's to fill in).
    pub fn users(&self) -> Vec<User> {
        // Pointers under the lock, in order; the strings are made after.
        let members: Vec<Arc<Member>> = self.lobby().users.values().cloned().collect();
        members
            .iter()
            .map(|m| User {
                name: m.name.clone(),
                address: m.addr.to_string(),
                since: unix_secs(m.since),
                messages: m.messages.load(Ordering::Relaxed),
                key_id: m.key_id.to_string(),
                identity: m.identity.map(|k| k.fingerprint().to_string()),
                disconnect_at: None,
                node: None,
            })
            .collect()
    }

    /// Broadcasts a notice from the admin; returns how many it was sent to.
    pub fn notice(&self, text: &str) -> usize {
        let room = self.lobby();
        let event = ServerEvent::Notice {
            room: None,
            text: text.to_string(),
            ts: now_ms(),
        };
        room.broadcast(&event, None);
        room.users.len()
    }

    /// Tells everyone here of a moderator's act (a `moderation` event):
    /// never summed up, and after what was counted for the next summary,
    /// so the order holds. How many it was sent to. A kick, ban or mute is
    /// server-wide: it is told in the default room, which every session is
    /// in, so each session sees it once (without a `room`).
    pub fn tell(&self, event: &ServerEvent) -> usize {
        let mut room = self.lobby();
        room.send_presence();
        room.broadcast(event, None);
        room.users.len()
    }

    /// Ends every session for `why`; returns how many.
    pub fn end_where(
        &self,
        mut pick: impl FnMut(&Member) -> bool,
        why: impl Fn() -> Ending,
    ) -> usize {
        let room = self.lobby();
        let mut n = 0;
        for member in room.users.values().filter(|m| pick(m)) {
            member.control.end(why());
            n += 1;
        }
        n
    }
}
