//! This node's users, as the admin API lists them (and answers another
//! node's `users` order with).

use chat_protocol::admin::User;
use chat_protocol::clock::now_secs;

use crate::hub::Hub;
use crate::store::keyring::Keyring;

/// This node's users, in name order; in a cluster each with this node's
/// name (`node`). A session not on the current key has the time a pending
/// disconnect ends it (`disconnect_at`), from the same key set as the
/// status reports.
pub fn here(keyring: &Keyring, hub: &Hub, node: Option<&str>) -> Vec<User> {
    let (current, disconnect_at) = {
        let keys = keyring.keys.read().expect("lock");
        (
            keys.current.key_id().to_string(),
            keys.disconnect_at(now_secs()),
        )
    };
    hub.users()
        .into_iter()
        .map(|u| User {
            disconnect_at: disconnect_at.filter(|_| u.key_id != current),
            node: node.map(str::to_string),
            ..u
        })
        .collect()
}
