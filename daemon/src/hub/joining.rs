//! A session's place in the default room: its join (the name taken,
//! the `Welcome` made under the room's lock) and its leave, told to the
//! others with the reason.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chat_protocol::clock::now_ms;
use chat_protocol::{ByeCode, KeyId, RateLimit, RejectCode, ServerEvent, Welcome};
use tokio::sync::mpsc;

use super::{Hub, Joined, Member, Proven, Queue, Unsent, rooms_shared};
use crate::ending::Control;
use crate::hub::member::Queued;
use crate::hub::presence::summarised;
use crate::hub::room::Room;

impl Hub {
    /// Registers a user after the password check (who proved `identity`,
    /// if any). Re-checks fullness and takes the name atomically, so two
    /// joins can never share one. With `after` (a resume), the history is
    /// the entries after that id.
    pub fn join(
        &self,
        name: &str,
        addr: SocketAddr,
        key_id: KeyId,
        proven: Proven,
        control: Arc<Control>,
        after: Option<u64>,
    ) -> Result<Joined, RejectCode> {
        let Proven {
            identity,
            op,
            owner,
        } = proven;
        let config = self.config();
        let key = name.to_ascii_lowercase();
        let (tx, rx) = mpsc::channel(config.outbound_queue);
        let queued = Queued::default();
        let rx = Queue {
            rx,
            queued: queued.clone(),
            held: 0,
        };
        let mut room = self.lobby();
        // What the log accepted before this join is history, not live.
        room.pump();
        if room.users.len() >= config.max_users {
            return Err(RejectCode::ServerFull);
        }
        if room.users.contains_key(&key) {
            return Err(RejectCode::NameTaken);
        }
        // Listed on another node, yet the cluster gave the name to this
        // join: that user left and the news is still on its way.
        if let Some(gone) = room.remote.remove(&key) {
            self.tell_leave(&mut room, gone.name, "left");
        }
        let member = Arc::new(Member {
            name: name.to_string(),
            addr,
            since: SystemTime::now(),
            key_id,
            identity,
            op: std::sync::atomic::AtomicBool::new(op),
            owner,
            messages: AtomicU64::new(0),
            control,
            tx,
            queue: config.outbound_queue,
            queued,
            queue_bytes: config.outbound_queue_bytes,
            rooms: Mutex::default(),
            made: Mutex::default(),
            metrics: self.metrics.clone(),
        });
        let online = room.online() + 1;
        let counted = summarised(online, config.presence_summary_above);
        if !counted {
            // What was counted before goes first, so the order holds.
            room.send_presence();
        }
        room.users.insert(key.clone(), member.clone());
        room.relist(&key);
        if counted {
            self.count_presence(&mut room, |tally| tally.joined += 1);
        } else {
            room.broadcast(
                &ServerEvent::Join {
                    room: None,
                    name: name.to_string(),
                    online,
                    ts: now_ms(),
                    identity,
                    op,
                },
                Some(&key),
            );
        }
        let (users, members) = (room.roster.users(), room.roster.members());
        room.history.trim(now_ms());
        let last_id = room.history.last_id();
        let topic = room.meta.topic.clone();
        // Pointers only under the lock: the entries are fitted and
        // serialized later, off the runtime's workers (`Unsent::encode`).
        let history = match after {
            Some(id) => room.history.after(id, config.history),
            None => crate::log::After {
                entries: room.history.recent(config.history),
                gap: false,
            },
        };
        drop(room);
        let default_room = Some(config.default_room.clone());
        let welcome = Welcome {
            rooms: default_room.iter().cloned().collect(),
            topic: default_room.as_ref().and(topic),
            default_room,
            name: name.to_string(),
            users: Vec::new(),
            members: Vec::new(),
            more: false,
            gap: history.gap,
            resumed: after.is_some(),
            last_id: Some(last_id),
            history: Vec::new(),
            motd: config.motd.clone(),
            rate: RateLimit {
                burst: config.rate_burst,
                per_second: config.rate_per_second,
            },
            max_text: config.max_text,
            server: format!("chatd/{}", env!("CARGO_PKG_VERSION")),
        };
        Ok(Joined {
            member,
            welcome: Unsent::new(welcome, users, members, history.entries, after.is_some()),
            rx,
        })
    }

    /// Removes a member (if still registered) and tells the others why; in
    /// a large room a leave is counted for the next summary instead, unless
    /// the member was kicked (see [`crate::hub::presence`]).
    pub fn leave(&self, member: &Arc<Member>, reason: &str) {
        let key = member.name.to_ascii_lowercase();
        // A kick or a ban is always told on its own, as the moderation
        // event before it was.
        let kicked = member.control.is_ending()
            && matches!(
                member.control.ending().bye,
                Some((ByeCode::Kicked | ByeCode::Banned, _))
            );
        let above = self.config().presence_summary_above;
        // The other rooms first: the default room's leave is the last.
        self.leave_rooms(member, reason, kicked);
        let mut room = self.lobby();
        // What the log accepted before this leave goes out before it.
        room.pump();
        if room.users.get(&key).is_some_and(|m| Arc::ptr_eq(m, member)) {
            let online = room.online() - 1;
            if !kicked && summarised(online, above) {
                room.users.remove(&key);
                room.relist(&key);
                self.count_presence(&mut room, |tally| tally.left += 1);
            } else {
                // What was counted before goes first, so the order holds.
                room.send_presence();
                room.users.remove(&key);
                room.relist(&key);
                room.broadcast(
                    &ServerEvent::Leave {
                        room: None,
                        name: member.name.clone(),
                        online,
                        reason: reason.to_string(),
                        ts: now_ms(),
                    },
                    None,
                );
            }
            // The name is held on another node now: that user comes in,
            // and into the rooms its claim names.
            if let Some(mut there) = room.shadowed.remove(&key) {
                let rooms = std::mem::take(&mut there.rooms);
                let (name, node) = (there.name.clone(), there.node.clone());
                let (identity, owner) = (there.identity, there.owner);
                self.tell_join(&mut room, key.clone(), there, above);
                drop(room);
                let user = rooms_shared::Elsewhere {
                    key: &key,
                    name: &name,
                    node: &node,
                    identity,
                    owner,
                };
                self.remote_rooms(&user, &[], &rooms);
            }
        }
    }

    /// Tells everyone here that `name`, a user of another node already out
    /// of [`Room::remote`], left: on its own, or counted for the summary in
    /// a large room (see [`crate::hub::presence`]).
    pub(super) fn tell_leave(&self, room: &mut Room, name: String, reason: &str) {
        let online = room.online();
        if summarised(online, self.config().presence_summary_above) {
            return self.count_presence(room, |tally| tally.left += 1);
        }
        // What was counted before goes first, so the order holds.
        room.send_presence();
        room.broadcast(
            &ServerEvent::Leave {
                room: room.tag.clone(),
                name,
                online,
                reason: reason.to_string(),
                ts: now_ms(),
            },
            None,
        );
    }
}
