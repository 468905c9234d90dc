//! The admin's orders to every node, on the subject `<room>.control`: kick
//! a user, say a notice, reload the configuration, list the users; and one
//! a join sends: end the session that holds a registered name without
//! proving one of its keys, since the name's owner is joining.
//!
//! A control message is JSON, `{"origin": NODE, "type": …, …}`. The node
//! an admin asks acts on its own part at once and sends the order to the
//! others; each node ignores its own messages. A `users` order carries a
//! reply inbox, and every node answers there with its own users
//! ([`UsersAnswer`]). Control messages are not logged: a node that is down
//! misses them. A message that does not parse is ignored with a throttled
//! warning; one of a `type` this version does not know (a newer node's) is
//! ignored quietly.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_protocol::admin::User;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::Level;

use super::node::Node;
use super::tasks::Context;
use super::{Cluster, ClusterError};
use crate::logging::line_budget::LineBudget;
use crate::ops;

/// What a control message asks of every node.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Order {
    /// Tell this node's room that `name` is kicked (a `moderation`
    /// event), then end `name`'s session with `reason` if it is on this
    /// node and `node` names this one (or is absent, as an older node sends
    /// it).
    Kick {
        /// The user's name (any case).
        name: String,
        /// Shown to the user and to the room.
        reason: String,
        /// The operator who kicked (absent: the admin).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// The node that holds the session (absent: whichever does).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// Show an admin's notice to this node's users (of `room`, if named).
    Notice {
        /// The text.
        text: String,
        /// The room whose members get it; absent: everyone (the default
        /// room's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<chat_protocol::RoomName>,
    },
    /// Read this node's configuration file again.
    Reload,
    /// Answer the message's reply inbox with this node's users.
    Users,
    /// The owner of the registered name `name` is joining on the sending
    /// node: end this node's session of `name` unless it proved one of
    /// `keys` (a `bye` `name_registered`).
    EndUnproven {
        /// The name (any case).
        name: String,
        /// The name's keys.
        keys: Vec<chat_protocol::IdentityKey>,
    },
}

/// A control message as sent: the order and the node it comes from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Control {
    /// The node that sent it.
    pub origin: String,
    /// What it asks.
    #[serde(flatten)]
    pub order: Order,
}

/// What a control message's bytes turned out to be.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// An order this node carries out.
    Order(Control),
    /// Well-formed, of a type this version does not know.
    Unknown(String),
}

impl Control {
    /// The bytes to send.
    pub fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("plain data serializes"))
    }

    /// Reads a control message; `Err` says what is wrong with it.
    pub fn decode(payload: &[u8]) -> Result<Decoded, String> {
        let value: serde_json::Value =
            serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
        let kind = value
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or("no \"type\"")?
            .to_string();
        let origin = value
            .get("origin")
            .and_then(|o| o.as_str())
            .ok_or("no \"origin\"")?;
        if !super::valid_node_name(origin) {
            return Err("an \"origin\" that is not a valid node name".into());
        }
        if !["kick", "notice", "reload", "users", "end_unproven"].contains(&kind.as_str()) {
            return Ok(Decoded::Unknown(kind));
        }
        if !chat_protocol::json::no_duplicate_members(payload) {
            return Err(format!("a {kind} order with a member given twice"));
        }
        let control: Control =
            serde_json::from_value(value).map_err(|e| format!("a {kind} order: {e}"))?;
        control.order.check()?;
        Ok(Decoded::Order(control))
    }
}

impl Order {
    /// Holds what an order carries to the rules of the local path: a kick
    /// names a valid name and gives a reason as the admin API takes one
    /// (a text of at most 1 KiB), a notice is a text within the text rules
    /// (at most the longest any node accepts; the node's own `max_text`
    /// is checked when it is shown). `Err` says what is wrong.
    fn check(&self) -> Result<(), String> {
        match self {
            Order::Kick {
                name,
                reason,
                by,
                node,
            } => {
                if !chat_protocol::valid_username(name) {
                    return Err("a kick of a name that is not valid".into());
                }
                if by
                    .as_deref()
                    .is_some_and(|b| !chat_protocol::valid_username(b))
                {
                    return Err("a kick by an operator whose name is not valid".into());
                }
                if node.as_deref().is_some_and(|n| !super::valid_node_name(n)) {
                    return Err("a kick on a node whose name is not valid".into());
                }
                ops::kick::check_reason(reason).map_err(|e| format!("a kick's reason: {e}"))
            }
            Order::Notice { text, .. } => {
                chat_protocol::validate_text(text, crate::config::check::MAX_TEXT_CEILING)
                    .map_err(|(_, e)| format!("a notice: {e}"))
            }
            Order::EndUnproven { name, keys } => {
                if !chat_protocol::valid_username(name) {
                    return Err("an end_unproven of a name that is not valid".into());
                }
                if keys.is_empty() || keys.len() > crate::registry::record::MAX_KEYS {
                    return Err("an end_unproven with no keys, or too many".into());
                }
                Ok(())
            }
            Order::Reload | Order::Users => Ok(()),
        }
    }
}

/// A node's answer to a `users` order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UsersAnswer {
    /// The node that answers.
    pub node: String,
    /// Its users, each with `node` set.
    pub users: Vec<User>,
}

impl UsersAnswer {
    /// Reads another node's answer; `None` when it does not read or breaks
    /// the rules (a valid node name; each user with a valid name, a key
    /// fingerprint of 16 hex digits, an address that is one), since
    /// `chatctl users` shows all of it.
    pub fn decode(payload: &[u8]) -> Option<UsersAnswer> {
        let answer: UsersAnswer = chat_protocol::json::from_slice_strict(payload)?;
        let fine = super::valid_node_name(&answer.node)
            && answer.users.iter().all(|u| {
                chat_protocol::valid_username(&u.name)
                    && u.key_id.len() == 16
                    && u.key_id.bytes().all(|b| b.is_ascii_hexdigit())
                    && u.identity
                        .as_ref()
                        .is_none_or(|f| f.len() == 16 && f.bytes().all(|b| b.is_ascii_hexdigit()))
                    && u.address.len() <= 64
                    && (u.address.parse::<std::net::SocketAddr>().is_ok()
                        || u.address.parse::<std::net::IpAddr>().is_ok())
                    && u.node.as_deref().is_none_or(super::valid_node_name)
            });
        if !fine {
            crate::budgeted!(
                MALFORMED,
                Level::WARN,
                "cluster: ignored another node's users answer that breaks the rules"
            );
        }
        fine.then_some(answer)
    }
}

impl Cluster {
    /// Sends `order` to every other node (this node's own copy comes back
    /// and is ignored).
    /// Fails at once while NATS is out of reach, and after a second
    /// without NATS's acknowledgement, rather than wait for a reconnection.
    pub async fn send(&self, order: Order) -> Result<(), ClusterError> {
        if !self.connected() {
            return Err(ClusterError::js(
                "send a control message",
                "NATS is out of reach",
            ));
        }
        let message = Control {
            origin: self.settings.node_name.clone(),
            order,
        };
        tokio::time::timeout(
            Duration::from_secs(1),
            self.publish_control(message.encode()),
        )
        .await
        .map_err(|_| ClusterError::js("send a control message", "no answer from NATS within 1 s"))?
    }

    /// Sends `order` to every node with a reply inbox and gathers the
    /// answers for at most `within`, or until `enough` says so (it is
    /// given each answer in turn).
    pub async fn ask_all(
        &self,
        order: Order,
        within: Duration,
        mut enough: impl FnMut(&Bytes) -> bool,
    ) -> Result<Vec<Bytes>, ClusterError> {
        let fail = |e: &dyn std::fmt::Display| ClusterError::js("ask the other nodes", e);
        let deadline = tokio::time::Instant::now() + within;
        let message = Control {
            origin: self.settings.node_name.clone(),
            order,
        };
        let asking = async {
            let inbox = self.client.new_inbox();
            // Subscribed before the order goes out: the server reads one
            // connection in order, so no answer can come before it.
            let answers = self
                .client
                .subscribe(inbox.clone())
                .await
                .map_err(|e| fail(&e))?;
            self.client
                .publish_with_reply(self.control_subject(), inbox, message.encode())
                .await
                .map_err(|e| fail(&e))?;
            self.client.flush().await.map_err(|e| fail(&e))?;
            Ok::<_, ClusterError>(answers)
        };
        // NATS lost meanwhile: no waiting for its return.
        let mut answers = tokio::time::timeout_at(deadline, asking)
            .await
            .map_err(|_| fail(&"no answer from NATS in time"))??;
        let mut got = Vec::new();
        while let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.next()).await {
            let done = enough(&answer.payload);
            got.push(answer.payload);
            if done {
                break;
            }
        }
        let _ = answers.unsubscribe().await;
        Ok(got)
    }
}

/// Malformed control messages: a few warnings per minute.
static MALFORMED: LineBudget = LineBudget::new(
    "cluster: ignored malformed control messages",
    5,
    Duration::from_secs(60),
);

/// Carries out the other nodes' orders on this node until the shutdown.
/// Once it listens, it keeps this node's liveness entry too
/// ([`super::nodes::keep_alive`]), so a node listed alive hears orders.
pub async fn run(node: Arc<Node>, ctx: Context) {
    let mut orders = loop {
        match node.cluster.control().await {
            Ok(subscriber) => break subscriber,
            Err(e) => tracing::warn!("cluster: cannot listen for control messages yet: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = ctx.shutdown.cancelled() => return,
        }
    };
    // On the sessions' tracker, so that the shutdown waits for its last
    // act, taking this node off the list (at most 1 s).
    ctx.sessions.spawn(super::nodes::keep_alive(
        node.clone(),
        ctx.hub.clone(),
        ctx.facts.clone(),
        ctx.shutdown.clone(),
    ));
    loop {
        let message = tokio::select! {
            m = orders.next() => match m {
                Some(m) => m,
                None => return,
            },
            () = ctx.shutdown.cancelled() => return,
        };
        match Control::decode(&message.payload) {
            Ok(Decoded::Order(control)) if control.origin == node.name() => {}
            Ok(Decoded::Order(control)) => {
                carry_out(&node, &ctx, control, message.reply.map(|r| r.to_string())).await;
            }
            Ok(Decoded::Unknown(kind)) => {
                tracing::debug!(
                    kind,
                    "cluster: ignored a control message of an unknown type"
                );
            }
            Err(problem) => crate::budgeted!(
                MALFORMED,
                Level::WARN,
                "cluster: ignored a malformed control message: {problem}"
            ),
        }
    }
}

/// Does what `control` asks, on this node, as the admin API does it here.
async fn carry_out(node: &Node, ctx: &Context, control: Control, reply: Option<String>) {
    let origin = control.origin;
    match control.order {
        Order::Kick {
            name,
            reason,
            by,
            node: holder,
        } => {
            // Every node's room is told once; the node that holds the
            // session ends it after.
            let ours = holder.as_deref().is_none_or(|h| h == node.name());
            let member = ours.then(|| ctx.hub.member(&name)).flatten();
            let target = member.as_ref().map_or(name.as_str(), |m| m.name.as_str());
            ops::kick::tell(&ctx.hub, target, by, &reason);
            if let Some(member) = member {
                ops::kick::end(&member, &reason);
                tracing::info!(name = %member.name, reason = %reason, from = %origin, "admin: user kicked (asked on another node)");
            }
        }
        Order::Notice {
            text,
            room: Some(room),
        } => {
            // A room this node does not hold has no members here.
            if let Ok(delivered) = ctx.hub.notice_in(&room, &text) {
                tracing::info!(delivered, room = %room, from = %origin, "admin: notice sent to a room (asked on another node)");
            }
        }
        Order::Notice { text, room: None } => {
            match ops::notice::here(&ctx.config.get(), &ctx.hub, &text) {
                Ok(delivered) => {
                    tracing::info!(delivered, from = %origin, "admin: notice sent (asked on another node)");
                }
                Err(e) => crate::budgeted!(
                    MALFORMED,
                    Level::WARN,
                    "cluster: ignored a notice from {origin}: {e}"
                ),
            }
        }
        Order::Reload => {
            tracing::info!(from = %origin, "admin: reload requested on another node");
            let reload = ctx.reload.clone();
            tokio::spawn(async move { reload.run().await });
        }
        Order::EndUnproven { name, keys } => {
            if ctx.hub.end_unproven(&name, &keys) {
                tracing::info!(name = %name, from = %origin, "ended a session of a registered name: its owner joined on another node");
            }
        }
        Order::Users => {
            let Some(reply) = reply else {
                return;
            };
            let answer = UsersAnswer {
                node: node.name().to_string(),
                users: ops::users::here(&ctx.keyring, &ctx.hub, Some(node.name())),
            };
            let payload = Bytes::from(serde_json::to_vec(&answer).expect("plain data"));
            if let Err(e) = node.cluster.client.publish(reply, payload).await {
                tracing::debug!("cluster: could not answer a users order: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_round_trip_and_bad_ones_are_told_apart() {
        for order in [
            Order::Kick {
                name: "ace".into(),
                reason: "flood".into(),
                by: None,
                node: None,
            },
            Order::Kick {
                name: "ace".into(),
                reason: "flood".into(),
                by: Some("dave".into()),
                node: Some("n2".into()),
            },
            Order::Notice {
                text: "hi".into(),
                room: None,
            },
            Order::Reload,
            Order::Users,
            Order::EndUnproven {
                name: "ace".into(),
                keys: vec![chat_protocol::Identity::from_seed(&[1; 32]).public()],
            },
        ] {
            let control = Control {
                origin: "n1".into(),
                order,
            };
            assert_eq!(
                Control::decode(&control.encode()),
                Ok(Decoded::Order(control.clone()))
            );
        }
        assert_eq!(
            Control::decode(br#"{"origin":"n1","type":"rotate","x":1}"#),
            Ok(Decoded::Unknown("rotate".into()))
        );
        for bad in [
            &b"kick ace"[..],
            br#"{"type":"kick","name":"ace","reason":""}"#,
            br#"{"origin":"n1"}"#,
            br#"{"origin":"n1","type":"kick"}"#,
            br#"[1,2]"#,
            // What reaches users and subjects is held to the local rules.
            br#"{"origin":"n1","type":"kick","name":"ace","reason":"\u001b[2J"}"#,
            br#"{"origin":"n1","type":"kick","name":"a ce","reason":"flood"}"#,
            br#"{"origin":"n1","type":"kick","name":"ace","reason":"","by":"d ave"}"#,
            br#"{"origin":"n1","type":"kick","name":"ace","reason":"","node":"n.>"}"#,
            br#"{"origin":"n1","type":"notice","text":"\u001b[2Jhi"}"#,
            br#"{"origin":"n1","type":"notice","text":"hi\u0000"}"#,
            br#"{"origin":"n1","type":"notice","text":"a","text":"b"}"#,
            br#"{"origin":"n.*","type":"reload"}"#,
            br#"{"origin":"n 1","type":"reload"}"#,
            br#"{"origin":"n1","type":"end_unproven","name":"ace","keys":[]}"#,
            br#"{"origin":"n1","type":"end_unproven","name":"a ce","keys":["chat-id1_AAAA"]}"#,
        ] {
            assert!(
                Control::decode(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
