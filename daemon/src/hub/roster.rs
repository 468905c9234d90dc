//! The lists of everyone online as a `Welcome` sends them, kept
//! serialized.
//!
//! Each join's `Welcome` lists everyone online, twice (`users`, the names,
//! and `members`, each with its identity), so the k-th join of a room
//! sends k of each: filling a room of N is N²/2 of them whatever is done.
//! What can be made cheap is each one: the room keeps both lists' JSON
//! (`["Ace","bob",…]`, `[{"name":"Ace"},…]`) in a buffer each, changed in
//! place by each join and leave (a search among the folded names and one
//! move of the bytes after it), and a join takes them as shared pointers
//! under the room lock; its `Welcome` copies those bytes into place when it
//! is encoded, off the lock ([`super::welcome`]). Before, every join cloned
//! every name under the lock (one allocation each) and serialized them
//! again.
//!
//! The lists are the room's own view (local members first, then the users
//! of other nodes, in folded order, as [`super::Room::names`] gives it);
//! the room tells the roster of each change of that view ([`Roster::set`],
//! [`Roster::remove`]), so they stay exact.

use std::sync::Arc;

use chat_protocol::{IdentityKey, Member};

use super::listing::{Listed, Listing};

/// The lists of everyone online, serialized, in folded order.
#[derive(Debug, Default)]
pub struct Roster {
    /// The folded names, in order.
    keys: Vec<Box<str>>,
    /// The names (`users`).
    users: Listing,
    /// The names with what is known of each (`members`).
    members: Listing,
}

impl Roster {
    /// Lists `name` (proving `identity`, an operator if `op`) under its
    /// folded `key`, in place of what was listed under that key.
    pub fn set(&mut self, key: &str, name: &str, identity: Option<IdentityKey>, op: bool) {
        let user = serde_json::to_vec(name).expect("a string serializes");
        let member = serde_json::to_vec(&Member {
            name: name.to_owned(),
            identity,
            op,
        })
        .expect("a member serializes");
        match self.keys.binary_search_by(|k| (**k).cmp(key)) {
            Ok(at) => {
                self.users.replace(at, &user);
                self.members.replace(at, &member);
            }
            Err(at) => {
                self.users.insert(at, user);
                self.members.insert(at, member);
                self.keys.insert(at, key.into());
            }
        }
    }

    /// Unlists `key`, if listed.
    pub fn remove(&mut self, key: &str) {
        let Ok(at) = self.keys.binary_search_by(|k| (**k).cmp(key)) else {
            return;
        };
        self.users.remove(at);
        self.members.remove(at);
        self.keys.remove(at);
    }

    /// The `users` list as it stands, serialized: shared, not copied.
    pub fn users(&self) -> Arc<Listed> {
        self.users.shared()
    }

    /// The `members` list as it stands, serialized: shared, not copied.
    pub fn members(&self) -> Arc<Listed> {
        self.members.shared()
    }

    /// Where a list continues after `after` (a folded name, or any text):
    /// the place of the first name whose folded form sorts after it.
    pub fn after(&self, after: &str) -> usize {
        self.keys.partition_point(|k| **k <= *after)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::hub::tests::{hub_of, join};
    use chat_protocol::{Identity, ServerEvent};

    fn listed(roster: &Roster) -> (Vec<String>, Vec<Member>) {
        (
            serde_json::from_slice(roster.users().json()).expect("a JSON list of names"),
            serde_json::from_slice(roster.members().json()).expect("a JSON list of members"),
        )
    }

    /// Every change, in every place of the list (first, last, between,
    /// alone, a name replaced by another spelling), while a `Welcome`
    /// holds the list or not: the list is always the names in folded
    /// order, as JSON.
    #[test]
    fn the_list_is_the_names_in_folded_order_after_every_change() {
        let mut roster = Roster::default();
        let mut names = BTreeMap::new();
        let key_of = Identity::from_seed(&[3; 32]).public();
        let mut held = Vec::new();
        // A fixed walk through sets and removes (a small LCG).
        let mut seed = 7u64;
        for step in 0..4000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (seed >> 33) % 40;
            let name = match (seed >> 20) % 3 {
                0 => format!("N{n}"),
                _ => format!("n{n}"),
            };
            let key = name.to_ascii_lowercase();
            let identity = (seed >> 50).is_multiple_of(2).then_some(key_of);
            let op = identity.is_some() && (seed >> 55).is_multiple_of(3);
            if (seed >> 40) % 5 < 3 {
                roster.set(&key, &name, identity, op);
                names.insert(key, (name, identity, op));
            } else {
                roster.remove(&key);
                names.remove(&key);
            }
            if step % 7 == 0 {
                held.push(roster.users());
                held.push(roster.members());
            }
            let users: Vec<String> = names.values().map(|(n, _, _)| n.clone()).collect();
            let members: Vec<Member> = names
                .values()
                .map(|(name, identity, op)| Member {
                    name: name.clone(),
                    identity: *identity,
                    op: *op,
                })
                .collect();
            // Any run of entries is one slice of each list.
            let (from, to) = ((seed >> 7) as usize % 41, (seed >> 13) as usize % 41);
            let run = from.min(users.len())..to.min(users.len()).max(from.min(users.len()));
            let slice = [b"[", roster.users().entries(run.clone()), b"]"].concat();
            let read: Vec<String> = serde_json::from_slice(&slice).expect("a run of names");
            assert_eq!(read, users[run.clone()], "after step {step}");
            let slice = [b"[", roster.members().entries(run.clone()), b"]"].concat();
            let read: Vec<Member> = serde_json::from_slice(&slice).expect("a run of members");
            assert_eq!(read, members[run], "after step {step}");
            assert_eq!(listed(&roster), (users, members), "after step {step}");
        }
        assert!(
            held.iter()
                .all(|listed| serde_json::from_slice::<serde_json::Value>(listed.json()).is_ok())
        );
    }

    /// A `Welcome`'s lists, as sent, are exactly who was online at that
    /// join, on this node and on the others, whatever came and went before,
    /// as `who` lists them.
    #[test]
    fn each_welcome_lists_exactly_who_is_online_at_its_join() {
        let hub = hub_of(Config {
            max_users: 100,
            ..Config::default()
        });
        let node: Arc<str> = "n2".into();
        let sent = |joined: &crate::hub::Joined| -> Vec<String> {
            let bytes = joined.welcome.clone().encode();
            let Some(ServerEvent::Welcome(welcome)) = ServerEvent::from_bytes(&bytes) else {
                panic!("not a Welcome");
            };
            let (users, members) = hub.lobby().listed();
            assert_eq!(welcome.members, members, "the members as the room has them");
            assert_eq!(welcome.users, users);
            let who = hub.who(None).event(crate::hub::lists::LIMIT);
            let ServerEvent::Users { users, members, .. } = who else {
                panic!("a users answer");
            };
            assert_eq!(welcome.members, members, "the members as `who` lists them");
            assert_eq!(welcome.users, users);
            welcome.users
        };
        let mut kept = Vec::new();
        for (i, name) in ["mia", "Ace", "zed", "bob", "Kim", "al"].iter().enumerate() {
            let joined = join(&hub, name);
            assert_eq!(sent(&joined), hub.names(), "{name}'s Welcome");
            if i % 2 == 0 {
                hub.leave(&joined.member, "left");
            } else {
                kept.push(joined);
            }
            hub.remote_joined(format!("r{i}"), format!("R{i}"), node.clone(), None, false);
        }
        hub.remote_left("r2", "n2", "left");
        // A name listed on another node, taken here: listed once, as here.
        hub.remote_joined("sam".into(), "SAM".into(), node.clone(), None, false);
        let sam = join(&hub, "Sam");
        assert_eq!(sent(&sam), hub.names());
        assert!(sent(&sam).contains(&"Sam".to_string()));
        hub.leave(&sam.member, "left");
        // A name here, joined on another node meanwhile: listed there once
        // it left here.
        let proven = Identity::from_seed(&[4; 32]).public();
        hub.remote_joined(
            "bob".into(),
            "BOB".into(),
            node.clone(),
            Some(proven),
            false,
        );
        let bob = kept.remove(1);
        assert_eq!(bob.member.name, "bob");
        hub.leave(&bob.member, "left");
        // A user of another node that proves an identity there now.
        hub.remote_joined("r4".into(), "R4".into(), node.clone(), Some(proven), false);
        let last = join(&hub, "zz");
        assert_eq!(sent(&last), hub.names());
        assert_eq!(
            sent(&last),
            ["Ace", "al", "BOB", "R0", "R1", "R3", "R4", "R5", "zz"]
        );
    }
}
