//! A kick, alone or in a cluster: every node's room is told once (a
//! `moderation` event, before the session ends) and the node that holds
//! the session ends it. The node asked tells its own room; the others are
//! told by the kick order on the control subject ([`super::control`]),
//! which the node holding the session also carries out.

use super::Peers;
use super::admin::{self, KickElsewhere};
use crate::hub::Hub;
use crate::ops;

/// A kick carried out.
pub struct Kick {
    /// The name as its user wrote it.
    pub name: String,
    /// The node that held the session, when another node did.
    pub node: Option<String>,
}

impl Peers {
    /// Kicks `name` (any case) for `reason` (empty: none given), by the
    /// operator `by` (`None`: the admin), wherever its session is.
    pub async fn kick(
        &self,
        hub: &Hub,
        name: &str,
        reason: &str,
        by: Option<String>,
    ) -> Result<Kick, KickElsewhere> {
        if let Some(member) = hub.member(name) {
            // The others first: their rooms are told before they see the
            // leave.
            if let Peers::Cluster(node) = self {
                admin::kicked_here(node, &member.name, reason, by.clone()).await;
            }
            ops::kick::tell(hub, &member.name, by, reason);
            ops::kick::end(&member, reason);
            return Ok(Kick {
                name: member.name.clone(),
                node: None,
            });
        }
        let Peers::Cluster(node) = self else {
            return Err(KickElsewhere::NoSuchUser);
        };
        ops::kick::expect_leave(hub, name, reason);
        let (holder, name) = admin::kick_elsewhere(node, name, reason, by.clone()).await?;
        ops::kick::tell(hub, &name, by, reason);
        Ok(Kick {
            name,
            node: Some(holder),
        })
    }
}
