//! The rooms of a node of a cluster, as the other nodes change them
//! (`crate::cluster::rooms`): settings put in force here and told to the
//! members here as the node that made the change told its own, rooms made
//! and removed elsewhere, and the users of the other nodes in each room
//! (from their name claims).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chat_protocol::clock::now_ms;
use chat_protocol::{IdentityKey, ModerationAction, RoomName, ServerEvent};

use super::remote::Remote;
use super::room::Room;
use super::{Hub, Member, Slot};
use crate::store::rooms::RoomMeta;

/// Where a node of a cluster keeps the rooms' settings instead of the
/// state directory (the cluster's bucket).
pub trait SharedSettings: Send + Sync {
    /// Writes what differs of `metas`, every room's settings now.
    fn save(
        &self,
        metas: BTreeMap<RoomName, RoomMeta>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// A user of another node, as its claim lists it.
pub struct Elsewhere<'a> {
    /// Its name folded to lower case.
    pub key: &'a str,
    /// Its name as written.
    pub name: &'a str,
    /// Its node.
    pub node: &'a Arc<str>,
    /// The identity it proved there.
    pub identity: Option<IdentityKey>,
    /// Whether that identity is one of its registered name's keys.
    pub owner: bool,
}

impl Hub {
    /// Keeps the rooms' settings in `shared` from now on (a node of a
    /// cluster).
    pub fn share_settings(&self, shared: Arc<dyn SharedSettings>) {
        let _ = self.shared.set(shared);
    }

    /// Another node changed `room`'s settings to `meta` (or made it):
    /// put in force here, and told to the members here as on that node (a
    /// new topic, an invitation into a private room).
    pub fn room_changed_elsewhere(&self, room: &RoomName, meta: RoomMeta) {
        if self.is_default(room) {
            let mut lobby = self.lobby();
            tell_changes(&mut lobby, room, &meta);
            lobby.meta = meta;
            return;
        }
        let slot = match self.other(room) {
            Some(slot) => slot,
            None => match self.room_from_elsewhere(room, meta.clone(), true) {
                Some(slot) => slot,
                None => return,
            },
        };
        let mut locked = slot.room.lock().expect("lock");
        locked.confirmed = true;
        tell_changes(&mut locked, room, &meta);
        let invited: Vec<String> = if meta.private {
            meta.invited
                .iter()
                .filter(|(key, _)| {
                    !locked.meta.invited.contains_key(*key) && !locked.users.contains_key(*key)
                })
                .map(|(_, invitation)| invitation.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        locked.meta = meta;
        drop(locked);
        // An invited user here who is not in the room is told too.
        for name in invited {
            if let Some(member) = self.member(&name) {
                member.send(&invite_event(room, &name, None));
            }
        }
    }

    /// A room made on another node, or named by a claim before its
    /// settings came (not `confirmed`), made here too (resting); `None`
    /// if this node cannot hold one more.
    fn room_from_elsewhere(
        &self,
        room: &RoomName,
        meta: RoomMeta,
        confirmed: bool,
    ) -> Option<Arc<Slot>> {
        let config = self.config();
        let slot = {
            let mut others = self.others.lock().expect("lock");
            if let Some(slot) = others.get(room) {
                return Some(slot.clone());
            }
            let bounds = crate::log::Bounds::of(&config).shared_by(others.len() + 2);
            let slot = match self.open_room(room, meta, bounds) {
                Ok(slot) => slot,
                Err(e) => {
                    tracing::error!("{room}, made on another node, cannot be held here: {e}");
                    return None;
                }
            };
            slot.room.lock().expect("lock").confirmed = confirmed;
            others.insert(room.clone(), slot.clone());
            slot
        };
        self.reshare_bounds();
        Some(slot)
    }

    /// Another node removed `room`: its members here get `room_parted`;
    /// they are returned, for their claims to say so.
    pub fn room_removed_elsewhere(&self, room: &RoomName) -> Vec<Arc<Member>> {
        let Ok((slot, parted)) = self.take_room(room) else {
            return Vec::new();
        };
        slot.log.close(std::time::Duration::ZERO);
        self.reshare_bounds();
        tracing::info!(room = %room, "room removed on another node");
        parted
    }

    /// `user`, of another node, was in the rooms `old` and is in `new` now
    /// (besides the default room): it leaves the rooms here it left and
    /// joins those it joined.
    pub fn remote_rooms(&self, user: &Elsewhere<'_>, old: &[RoomName], new: &[RoomName]) {
        for room in old.iter().filter(|r| !new.contains(r)) {
            if let Some(slot) = self.other(room) {
                self.remote_room_left(&slot, user.key, user.node, "left");
            }
        }
        let joined: Vec<&RoomName> = new.iter().filter(|r| !old.contains(r)).collect();
        if joined.is_empty() {
            return;
        }
        let op = user.owner && self.lobby().operators.contains(user.key);
        let above = self.config().presence_summary_above;
        for room in joined {
            if self.is_default(room) {
                continue;
            }
            let made = RoomMeta {
                created: now_ms(),
                ..RoomMeta::default()
            };
            let Some(slot) = self
                .other(room)
                .or_else(|| self.room_from_elsewhere(room, made, false))
            else {
                continue;
            };
            let mut locked = slot.room.lock().expect("lock");
            if locked.removed
                || locked.users.contains_key(user.key)
                || locked.remote.contains_key(user.key)
            {
                continue;
            }
            locked.pump();
            locked.empty_since = None;
            let remote = Remote {
                name: user.name.to_string(),
                node: user.node.clone(),
                identity: user.identity,
                owner: user.owner,
                op,
            };
            self.tell_join(&mut locked, user.key.to_string(), remote, above);
        }
    }

    /// `key`, of `node`, left `slot`'s room for `reason`, if it is listed
    /// there.
    pub(super) fn remote_room_left(&self, slot: &Slot, key: &str, node: &str, reason: &str) {
        let mut locked = slot.room.lock().expect("lock");
        if locked.remote.get(key).is_none_or(|r| &*r.node != node) {
            return;
        }
        locked.pump();
        let Some(gone) = locked.remote.remove(key) else {
            return;
        };
        locked.relist(key);
        self.tell_leave(&mut locked, gone.name, reason);
        if locked.online() == 0 {
            locked.empty_since = Some(now_ms());
        }
    }
}

/// Tells `room`'s members here what differs in `meta` from its settings
/// now: a new topic, new invitations into a private room.
fn tell_changes(room: &mut Room, name: &RoomName, meta: &RoomMeta) {
    if meta.topic != room.meta.topic || meta.topic_ts != room.meta.topic_ts {
        room.broadcast(
            &ServerEvent::Topic {
                room: name.clone(),
                text: meta.topic.clone().unwrap_or_default(),
                by: meta.topic_by.clone(),
                ts: now_ms(),
            },
            None,
        );
    }
    if meta.private {
        for (key, invitation) in &meta.invited {
            if !room.meta.invited.contains_key(key) {
                room.broadcast(
                    &invite_event(name, &invitation.name, invitation.by.clone()),
                    None,
                );
            }
        }
    }
}

/// The `moderation` event of `name`'s invitation into `room`.
fn invite_event(room: &RoomName, name: &str, by: Option<String>) -> ServerEvent {
    ServerEvent::Moderation {
        room: Some(room.clone()),
        action: ModerationAction::Invite,
        target: name.to_string(),
        by,
        until: None,
        reason: None,
        ts: now_ms(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ops() -> RoomName {
        RoomName::parse("#ops").unwrap()
    }

    fn bob(node: &Arc<str>) -> Elsewhere<'_> {
        Elsewhere {
            key: "bob",
            name: "Bob",
            node,
            identity: None,
            owner: false,
        }
    }

    #[test]
    fn a_room_known_only_from_a_claim_is_listed_but_not_written_back_until_its_settings_come() {
        let hub = crate::hub::tests::hub_of(Config::default());
        let node: Arc<str> = Arc::from("n2");
        hub.remote_rooms(&bob(&node), &[], &[ops()]);
        assert_eq!(hub.room_names(&ops()), Some(vec!["Bob".to_string()]));
        assert!(
            !hub.metas().contains_key(&ops()),
            "a room that may have been removed is not written back"
        );
        let meta = RoomMeta {
            topic: Some("builds".into()),
            ..RoomMeta::default()
        };
        hub.room_changed_elsewhere(&ops(), meta.clone());
        assert_eq!(hub.metas().get(&ops()), Some(&meta));
        // Bob leaves it: listed no more, and the room stays.
        hub.remote_rooms(&bob(&node), &[ops()], &[]);
        assert_eq!(hub.room_names(&ops()), Some(Vec::new()));
    }

    #[test]
    fn a_room_removed_elsewhere_parts_its_members_here() {
        let hub = crate::hub::tests::hub_of(Config::default());
        hub.room_changed_elsewhere(&ops(), RoomMeta::default());
        let ace = crate::hub::tests::join(&hub, "ace");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(hub.join_room(&ace.member, &ops(), None))
            .unwrap();
        let parted = hub.room_removed_elsewhere(&ops());
        assert_eq!(parted.len(), 1);
        assert!(ace.member.rooms.lock().unwrap().is_empty());
        assert_eq!(hub.room_names(&ops()), None);
    }
}
