//! Who holds a name, and with which identity: what the room tells a
//! registered name's owner who joins while the name is held
//! (docs/protocol.md §12.3), and the `members` of a `users` answer.

use chat_protocol::IdentityKey;

use super::Hub;
use crate::ending::Ending;

/// Someone online under a name, here or on another node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// A member of this node, with the identity it proved.
    Here(Option<IdentityKey>),
    /// A user of another node, with the identity it proved.
    Elsewhere(Option<IdentityKey>),
}

impl Holder {
    /// The identity the holder proved.
    pub fn identity(&self) -> Option<IdentityKey> {
        match *self {
            Holder::Here(identity) | Holder::Elsewhere(identity) => identity,
        }
    }
}

impl Hub {
    /// Who holds `name` (any case), if anyone online does.
    pub fn holder(&self, name: &str) -> Option<Holder> {
        let key = name.to_ascii_lowercase();
        let room = self.lobby();
        if let Some(member) = room.users.get(&key) {
            return Some(Holder::Here(member.identity));
        }
        room.remote
            .get(&key)
            .map(|remote| Holder::Elsewhere(remote.identity))
    }

    /// Ends this node's session of `name` unless it proved one of `keys`
    /// (its name's owner joined): with a `bye` `name_registered`. Whether
    /// one was ended.
    pub fn end_unproven(&self, name: &str, keys: &[IdentityKey]) -> bool {
        let key = name.to_ascii_lowercase();
        let room = self.lobby();
        match room.users.get(&key) {
            Some(member) if !member.identity.is_some_and(|k| keys.contains(&k)) => {
                member.control.end(Ending::name_registered(&member.name));
                true
            }
            _ => false,
        }
    }

    /// The names of this node's members who proved an identity: a
    /// registered name in use for a session longer than `name_expiry` is
    /// still in use (`crate::service::names`).
    pub fn proven_here(&self) -> Vec<String> {
        let room = self.lobby();
        room.users
            .values()
            .filter(|m| m.identity.is_some())
            .map(|m| m.name.clone())
            .collect()
    }

    /// The answer to `who`: everyone online, by name and with identities,
    /// from after `after` on.
    pub fn who(&self, after: Option<&str>) -> super::who::UnsentUsers {
        super::who::UnsentUsers::of(&self.lobby(), after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::ending::Control;
    use chat_protocol::{ByeCode, Identity, KeyId, ServerEvent};
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn an_owner_ends_an_unproven_holder_only_and_everyone_sees_identities() {
        let hub = crate::hub::tests::hub_of(Config::default());
        let alice = Identity::from_seed(&[1; 32]).public();
        let other = Identity::from_seed(&[2; 32]).public();
        let shutdown = CancellationToken::new();
        let join = |name: &str, identity| {
            hub.join(
                name,
                "127.0.0.1:9".parse().unwrap(),
                KeyId([0; 8]),
                crate::hub::Proven {
                    identity,
                    ..Default::default()
                },
                Control::new(&shutdown),
                None,
            )
            .unwrap()
        };
        let proven = join("alice", Some(alice));
        let bare = join("bob", None);
        let mut carol = join("carol", Some(other));
        hub.remote_joined(
            "dave".into(),
            "Dave".into(),
            Arc::from("n2"),
            Some(other),
            false,
        );
        assert_eq!(hub.holder("ALICE"), Some(Holder::Here(Some(alice))));
        assert_eq!(hub.holder("dave"), Some(Holder::Elsewhere(Some(other))));
        assert_eq!(hub.holder("zed"), None);

        assert!(!hub.end_unproven("alice", &[alice]), "a proven owner stays");
        assert!(!proven.member.control.is_ending());
        assert!(hub.end_unproven("Bob", &[alice]));
        assert!(matches!(
            bare.member.control.ending().bye,
            Some((ByeCode::NameRegistered, _))
        ));
        assert!(!hub.end_unproven("nobody", &[alice]));
        let mut proven_here = hub.proven_here();
        proven_here.sort();
        assert_eq!(proven_here, ["alice", "carol"], "not bob, not Dave");

        let ServerEvent::Users { users, members, .. } = hub.who(None).event(usize::MAX) else {
            panic!("a users answer")
        };
        assert_eq!(users, ["alice", "bob", "carol", "Dave"]);
        let identities: Vec<_> = members.iter().map(|m| m.identity).collect();
        assert_eq!(identities, [Some(alice), None, Some(other), Some(other)]);
        assert_eq!(carol.welcome.members()[0].identity, Some(alice));
        // A join carries the identity it proved to the others.
        let _eve = join("eve", Some(alice));
        let joined = std::iter::from_fn(|| carol.rx.try_recv())
            .map(|b| serde_json::from_slice::<ServerEvent>(&b).unwrap())
            .find_map(|e| match e {
                ServerEvent::Join { name, identity, .. } if name == "eve" => Some(identity),
                _ => None,
            });
        assert_eq!(joined, Some(Some(alice)));
    }
}
