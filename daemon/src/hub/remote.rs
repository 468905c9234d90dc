//! The users of the other nodes of a cluster, as the room keeps them: their
//! joins and leaves (told by the cluster's watch of who holds which name) go out to the
//! members here like local ones, under the same presence rules. DMs to
//! them: [`super::dm`].

use std::sync::Arc;

use chat_protocol::clock::now_ms;
use chat_protocol::{IdentityKey, ServerEvent};

use super::{Hub, Room};
use crate::hub::presence::summarised;

/// A user of another node.
/// How long the reason of a leave told ahead ([`Hub::expect_remote_leave`])
/// waits for the leave.
const LEAVING_FOR: std::time::Duration = std::time::Duration::from_secs(60);

pub(super) struct Remote {
    /// The name as its user wrote it.
    pub(super) name: String,
    /// The node it is on.
    pub(super) node: Arc<str>,
    /// The identity it proved at its join there.
    pub(super) identity: Option<IdentityKey>,
    /// Whether it proved one of its registered name's keys there.
    pub(super) owner: bool,
    /// Whether it is listed as an operator: an owner whose name is an
    /// operator's.
    pub(super) op: bool,
    /// The rooms besides the default one its claim names, while it is
    /// [`Room::shadowed`] (it is listed in none meanwhile): it comes into
    /// them once the member here has left.
    pub(super) rooms: Vec<chat_protocol::RoomName>,
}

impl Hub {
    /// `name` (folded: `key`) joined on `node`, proving `identity` (one of
    /// the name's registered keys: `owner`, and then it is listed `op` if
    /// the name is an operator's). A user
    /// already listed is moved there quietly; a new one is told to
    /// everyone here, or counted for the summary in a large room; one whose
    /// name a member here still holds waits until that member has left
    /// ([`Room::shadowed`]).
    pub fn remote_joined(
        &self,
        key: String,
        name: String,
        node: Arc<str>,
        identity: Option<IdentityKey>,
        owner: bool,
    ) {
        let above = self.config().presence_summary_above;
        let mut room = self.lobby();
        room.pump();
        let op = owner && room.operators.contains(&key);
        if let Some(known) = room.remote.get_mut(&key) {
            known.node = node;
            known.identity = identity;
            known.owner = owner;
            known.op = op;
            room.relist(&key);
            return;
        }
        // A newcomer under the name: a reason told for the one before
        // (whose leave came first) is not its.
        room.leaving.remove(&key);
        let remote = Remote {
            name,
            node,
            identity,
            owner,
            op,
            rooms: Vec::new(),
        };
        if room.users.contains_key(&key) {
            room.shadowed.insert(key, remote);
            return;
        }
        self.tell_join(&mut room, key, remote, above);
    }

    /// Lists `remote` and tells everyone here it joined, or counts it for
    /// the summary in a large room.
    pub(super) fn tell_join(&self, room: &mut Room, key: String, remote: Remote, above: usize) {
        let online = room.online() + 1;
        let counted = summarised(online, above);
        if !counted {
            // What was counted before goes first, so the order holds.
            room.send_presence();
        }
        let event = (!counted).then(|| ServerEvent::Join {
            room: room.tag.clone(),
            name: remote.name.clone(),
            online,
            ts: now_ms(),
            identity: remote.identity,
            op: remote.op,
        });
        room.remote.insert(key.clone(), remote);
        room.relist(&key);
        match event {
            Some(event) => room.broadcast(&event, None),
            None => self.count_presence(room, |tally| tally.joined += 1),
        }
    }

    /// `key` (a folded name) left `node`, for `reason`; nothing if the room
    /// lists it elsewhere or not at all.
    pub fn remote_left(&self, key: &str, node: &str, reason: &str) {
        let mut room = self.lobby();
        room.pump();
        // Its node said why it is ending (a kick, a ban): the leave says so
        // too, as it does on that node ("left" is all the names bucket
        // tells).
        let told = room
            .leaving
            .remove(key)
            .filter(|(_, at)| at.elapsed() < LEAVING_FOR);
        let reason = match &told {
            Some((why, _)) if reason == "left" => why.as_str(),
            _ => reason,
        };
        if room.shadowed.get(key).is_some_and(|r| &*r.node == node) {
            // Listed in no other room while shadowed (`Remote::rooms`).
            room.shadowed.remove(key);
            return;
        }
        if room.remote.get(key).is_none_or(|r| &*r.node != node) {
            return;
        }
        let Some(gone) = room.remote.remove(key) else {
            return;
        };
        room.relist(key);
        self.tell_leave(&mut room, gone.name, reason);
        let reason = reason.to_string();
        drop(room);
        // And every other room it was in here.
        for slot in self.others() {
            self.remote_room_left(&slot, key, node, &reason);
        }
    }

    /// Notes why the users of other nodes that `pick` chooses (by name
    /// and identity) are about to leave: a kick or a ban ordered for them
    /// is told on every node, and their leave, which comes from their node
    /// through the names bucket a moment later, says it
    /// ([`Hub::remote_left`]). Forgotten after [`LEAVING_FOR`].
    pub fn expect_remote_leave(
        &self,
        pick: impl Fn(&str, Option<IdentityKey>) -> bool,
        reason: &str,
    ) {
        let mut guard = self.lobby();
        let room = &mut *guard;
        room.leaving.retain(|_, (_, at)| at.elapsed() < LEAVING_FOR);
        for (key, remote) in &room.remote {
            if pick(&remote.name, remote.identity) {
                room.leaving
                    .insert(key.clone(), (reason.to_string(), std::time::Instant::now()));
            }
        }
    }

    /// How many users of other nodes the room lists.
    pub fn remote_online(&self) -> usize {
        self.lobby().remote.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::hub::tests::join;
    use crate::hub::{Dm, Joined, Routed};

    fn hub(above: usize) -> Hub {
        crate::hub::tests::hub_of(Config {
            presence_summary_above: above,
            max_users: 2,
            ..Config::default()
        })
    }

    /// What reached a member so far, in short: `+name/online`,
    /// `-name/online/reason`, `joined,left/online`, `dm from>to`.
    fn seen(joined: &mut Joined) -> Vec<String> {
        std::iter::from_fn(|| joined.rx.try_recv())
            .filter_map(|bytes| match serde_json::from_slice(&bytes).unwrap() {
                ServerEvent::Join { name, online, .. } => Some(format!("+{name}/{online}")),
                ServerEvent::Leave {
                    name,
                    online,
                    reason,
                    ..
                } => Some(format!("-{name}/{online}/{reason}")),
                ServerEvent::Presence {
                    joined,
                    left,
                    online,
                    ..
                } => Some(format!("{joined},{left}/{online}")),
                ServerEvent::Dm { from, to, .. } => Some(format!("dm {from}>{to}")),
                _ => None,
            })
            .collect()
    }

    fn remote(hub: &Hub, name: &str, node: &str) {
        hub.remote_joined(
            name.to_ascii_lowercase(),
            name.into(),
            Arc::from(node),
            None,
            false,
        );
    }

    #[test]
    fn remote_users_are_listed_counted_and_told_like_local_ones() {
        let hub = hub(3);
        let mut ace = join(&hub, "ace");
        remote(&hub, "Bob", "n2");
        remote(&hub, "carol", "n3");
        assert_eq!(hub.names(), ["ace", "Bob", "carol"]);
        assert_eq!(seen(&mut ace), ["+Bob/2", "+carol/3"]);
        // max_users (2) is per node: remote users take no place here.
        let mut dave = join(&hub, "dave");
        assert_eq!(dave.welcome.users(), ["ace", "Bob", "carol", "dave"]);
        // Above the threshold a remote join and leave are counted.
        remote(&hub, "eve", "n2");
        hub.remote_left("bob", "n3", "left");
        assert_eq!(hub.remote_online(), 3, "bob is on n2, not n3");
        hub.remote_left("bob", "n2", "node lost");
        assert!(seen(&mut dave).is_empty());
        hub.send_presence();
        assert_eq!(
            seen(&mut dave),
            ["2,1/4"],
            "dave's own join and eve's, bob's leave"
        );
        hub.remote_left("eve", "n2", "left");
        assert_eq!(seen(&mut ace), ["2,1/4", "-eve/3/left"]);
    }

    #[test]
    fn a_local_join_of_a_listed_name_replaces_it_and_dms_are_routed() {
        let hub = hub(100);
        let mut ace = join(&hub, "ace");
        remote(&hub, "bob", "n2");
        match hub.dm(&ace.member, "BOB", "hi".into(), None).unwrap() {
            Routed::Elsewhere { node, dm } => {
                assert_eq!((&*node, dm.to.as_str()), ("n2", "bob"));
                hub.echo_dm(&ace.member, dm);
            }
            Routed::Delivered => panic!("bob is not here"),
        }
        // The cluster gave "bob" to a join here: the stale one left.
        let mut bob = join(&hub, "bob");
        assert_eq!(hub.names(), ["ace", "bob"]);
        assert_eq!(
            seen(&mut ace),
            ["+bob/2", "dm ace>bob", "-bob/1/left", "+bob/2"]
        );
        let delivered = hub.deliver_dm(Dm {
            from: "carol".into(),
            to: "BOB".into(),
            text: "hey".into(),
            cid: None,
            ts: 1,
        });
        assert!(delivered);
        assert_eq!(seen(&mut bob), ["dm carol>bob"]);
        let nobody = Dm {
            from: "carol".into(),
            to: "zed".into(),
            text: "hey".into(),
            cid: None,
            ts: 1,
        };
        assert!(!hub.deliver_dm(nobody));
        // What breaks the rules a local DM keeps is not delivered either.
        let bad = |from: &str, text: &str| Dm {
            from: from.into(),
            to: "bob".into(),
            text: text.into(),
            cid: None,
            ts: 1,
        };
        assert!(!hub.deliver_dm(bad("\u{1b}[2Jcarol", "hey")));
        assert!(!hub.deliver_dm(bad("carol", "\u{7}bell")));
        assert!(!hub.deliver_dm(bad("carol", &"x".repeat(100_000))));
        assert!(seen(&mut bob).is_empty());
    }

    #[test]
    fn a_name_this_node_lost_is_listed_there_once_its_member_here_left() {
        let hub = hub(100);
        let ace = join(&hub, "ace");
        let mut bob = join(&hub, "bob");
        // NATS gave "ace" to another node while this one was cut off.
        remote(&hub, "Ace", "n2");
        assert_eq!(hub.names(), ["ace", "bob"]);
        assert_eq!(hub.remote_online(), 0);
        assert!(seen(&mut bob).is_empty());
        hub.leave(&ace.member, "name lost");
        assert_eq!(seen(&mut bob), ["-ace/1/name lost", "+Ace/2"]);
        assert_eq!(hub.names(), ["Ace", "bob"]);
        // A shadowed one that leaves first is never told.
        let carl = join(&hub, "carl");
        remote(&hub, "carl", "n3");
        hub.remote_left("carl", "n3", "left");
        hub.leave(&carl.member, "left");
        assert_eq!(seen(&mut bob), ["+carl/3", "-carl/2/left"]);
        assert_eq!(hub.names(), ["Ace", "bob"]);
    }
}
