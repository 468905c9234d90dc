//! What the names policy says of one join, given the name's record (if
//! the name is registered) and the identity the join proved (if any):
//! docs/protocol.md §12.3.

use chat_protocol::IdentityKey;

use super::record::Record;
use crate::config::names::Policy;

/// The policy's word on a join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Names are not bound (`open`): nothing is checked or registered.
    Open,
    /// The join proved one of the name's keys: it is the name's owner, and
    /// ends a session of the name that proved none of `keys`.
    Owner {
        /// The name's keys.
        keys: Vec<IdentityKey>,
    },
    /// The name is not registered and stays so (`first-come`, a join
    /// without an identity).
    Free,
    /// `first-come`: the join registers the name to the key it proved,
    /// once it has the name.
    Register(IdentityKey),
    /// Refused `name_registered`, with the reason to give.
    Refused(String),
}

/// The verdict for a join of `name` under `policy`.
pub fn decide(
    policy: Policy,
    name: &str,
    record: Option<&Record>,
    proven: Option<&IdentityKey>,
) -> Verdict {
    match (policy, record, proven) {
        (Policy::Open, _, _) => Verdict::Open,
        (_, Some(record), _) if record.proven_by(proven) => Verdict::Owner {
            keys: record.keys.clone(),
        },
        (_, Some(_), Some(_)) => Verdict::Refused(format!(
            "the name \"{name}\" is registered to other keys than the one this client proved"
        )),
        (_, Some(_), None) => Verdict::Refused(format!(
            "the name \"{name}\" is registered: joining under it needs one of its keys, and this client proved no identity"
        )),
        (Policy::Registered, None, _) => Verdict::Refused(format!(
            "only names the server's admin registered may join here, and \"{name}\" is not one; \
             ask the admin to register it with your key (`chatctl names add {name} KEY`, \
             KEY being the first line of `chat --show-identity`)"
        )),
        (Policy::FirstCome, None, Some(key)) => Verdict::Register(*key),
        (Policy::FirstCome, None, None) => Verdict::Free,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::Identity;

    #[test]
    fn each_policy_decides_as_the_protocol_says() {
        let alice = Identity::from_seed(&[1; 32]).public();
        let mallory = Identity::from_seed(&[2; 32]).public();
        let record = Record::new("alice", alice, 1);
        let refused = |v: Verdict| matches!(v, Verdict::Refused(_));
        for policy in [Policy::Open, Policy::FirstCome, Policy::Registered] {
            let owner = decide(policy, "alice", Some(&record), Some(&alice));
            let other = decide(policy, "alice", Some(&record), Some(&mallory));
            let none = decide(policy, "alice", Some(&record), None);
            if policy == Policy::Open {
                assert!([owner, other, none].iter().all(|v| *v == Verdict::Open));
                continue;
            }
            assert_eq!(owner, Verdict::Owner { keys: vec![alice] });
            assert!(refused(other) && refused(none), "{policy}");
        }
        assert_eq!(
            decide(Policy::FirstCome, "alice", None, Some(&alice)),
            Verdict::Register(alice)
        );
        assert_eq!(
            decide(Policy::FirstCome, "alice", None, None),
            Verdict::Free
        );
        for proven in [Some(&alice), None] {
            let Verdict::Refused(why) = decide(Policy::Registered, "alice", None, proven) else {
                panic!("an unregistered name under \"registered\"")
            };
            assert!(why.contains("chatctl names add alice KEY"), "{why}");
        }
    }
}
