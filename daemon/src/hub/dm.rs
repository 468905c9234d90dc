//! Direct messages: to a member here, or handed back to the caller for
//! another node (the cluster sends them there, and hands the room the
//! ones that come from there).

use std::sync::Arc;

use chat_protocol::clock::now_ms;
use chat_protocol::{ErrorCode, ServerEvent, valid_username};

use super::{Hub, Member};

/// Where [`Hub::dm`] sent a direct message.
#[derive(Debug)]
pub enum Routed {
    /// To a member of this node (the sender has its echo).
    Delivered,
    /// The addressee is on another node: the DM is the caller's to send.
    Elsewhere {
        /// The node the addressee is on.
        node: Arc<str>,
        /// The DM, for that node.
        dm: Dm,
    },
}

/// A direct message between nodes: sent to another node's member, or
/// come from another node for one here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dm {
    /// The sender's name.
    pub from: String,
    /// The addressee's name.
    pub to: String,
    /// The text, checked by the sender's node.
    pub text: String,
    /// The sender's client id, for its echo.
    pub cid: Option<String>,
    /// When it was sent (ms since the epoch).
    pub ts: u64,
}

impl Hub {
    /// Sends a direct message to its addressee and echoes it to the sender;
    /// an addressee on another node is the caller's to reach
    /// ([`Routed::Elsewhere`]).
    pub fn dm(
        &self,
        from: &Member,
        to: &str,
        text: String,
        cid: Option<String>,
    ) -> Result<Routed, (ErrorCode, String)> {
        let key = to.to_ascii_lowercase();
        let mut room = self.lobby();
        room.pump();
        let Some(target) = room.users.get(&key).cloned() else {
            if let Some(remote) = room.remote.get(&key) {
                let routed = Routed::Elsewhere {
                    node: remote.node.clone(),
                    dm: Dm {
                        from: from.name.clone(),
                        to: remote.name.clone(),
                        text,
                        cid,
                        ts: now_ms(),
                    },
                };
                return Ok(routed);
            }
            return Err(no_such_user(to));
        };
        // Not logged: a DM carries the id of the last public message before
        // it, and takes none of its own.
        let event = ServerEvent::Dm {
            id: room.history.last_id(),
            from: from.name.clone(),
            to: target.name.clone(),
            text,
            ts: now_ms(),
            cid,
        };
        drop(room);
        let bytes = Arc::new(event.to_bytes());
        target.deliver(bytes.clone());
        if !target.name.eq_ignore_ascii_case(&from.name) {
            from.deliver(bytes);
        }
        self.count(from);
        Ok(Routed::Delivered)
    }

    /// Delivers a DM from another node to its addressee here; `false` if
    /// no one here has that name.
    pub fn deliver_dm(&self, dm: Dm) -> bool {
        // What reaches a terminal is checked here too, as a local DM is:
        // a valid sender's name, a text within this node's rules.
        let max_text = self.config().max_text;
        if !chat_protocol::valid_username(&dm.from)
            || chat_protocol::validate_text(&dm.text, max_text).is_err()
            || dm
                .cid
                .as_deref()
                .is_some_and(|c| !chat_protocol::valid_cid(c))
        {
            tracing::debug!("cluster: a DM from another node that breaks the rules was dropped");
            return false;
        }
        let key = dm.to.to_ascii_lowercase();
        let mut room = self.lobby();
        room.pump();
        let Some(target) = room.users.get(&key).cloned() else {
            return false;
        };
        let event = ServerEvent::Dm {
            id: room.history.last_id(),
            from: dm.from,
            to: target.name.clone(),
            text: dm.text,
            ts: dm.ts,
            cid: dm.cid,
        };
        drop(room);
        target.deliver(Arc::new(event.to_bytes()));
        true
    }

    /// Echoes to its sender a DM that another node delivered.
    pub fn echo_dm(&self, from: &Member, dm: Dm) {
        let mut room = self.lobby();
        room.pump();
        let event = ServerEvent::Dm {
            id: room.history.last_id(),
            from: dm.from,
            to: dm.to,
            text: dm.text,
            ts: dm.ts,
            cid: dm.cid,
        };
        drop(room);
        from.deliver(Arc::new(event.to_bytes()));
        self.count(from);
    }
}

/// The error for a DM to `to`, whom no node has. `to` is the client's own
/// text: named back only when it is a valid name, so nothing else is ever
/// echoed.
pub fn no_such_user(to: &str) -> (ErrorCode, String) {
    let message = if valid_username(to) {
        format!("no one called \"{to}\" is online")
    } else {
        "no one by that name is online (a name is 1 to 32 of A-Z a-z 0-9 _ . -)".to_string()
    };
    (ErrorCode::NoSuchUser, message)
}
