//! The admin API across the nodes of a cluster: what `status`, `users`,
//! `kick`, `notice` and `reload` add on a node of one (a single chatd
//! adds nothing: [`super::Peers`]).
//!
//! The node asked acts on its own part at once (`crate::ops`), then tells
//! the others on the control subject ([`super::control`]); `users` asks
//! every node and waits for the answers of the nodes the liveness bucket
//! lists, at most [`USERS_WAIT`].

use std::collections::BTreeSet;
use std::time::Duration;

use chat_protocol::admin::{NodeStatus, User, Users};

use super::control::{Order, UsersAnswer};
use super::node::Node;
use super::nodes::{NodeEntry, this_node};
use crate::hub::Hub;
use crate::ops::status::{ClusterView, Facts};

/// Tells every node to end its session of `name` unless it proved one of
/// `keys` (the name's owner joins on `node`); a failure is logged: the
/// join then finds the name taken.
pub async fn end_unproven(node: &Node, name: &str, keys: &[chat_protocol::IdentityKey]) {
    let order = Order::EndUnproven {
        name: name.to_string(),
        keys: keys.to_vec(),
    };
    if let Err(e) = node.cluster.send(order).await {
        tracing::warn!(
            name,
            "cluster: could not ask the other nodes to end an unproven holder of a registered name: {e}"
        );
    }
}

/// How long `users` waits for the other nodes' answers.
const USERS_WAIT: Duration = Duration::from_secs(1);

/// How long a look-up of a name's holder may take.
const HOLDER_WAIT: Duration = Duration::from_secs(2);

/// The cluster's part of the status: this node, whether NATS is
/// reachable, and the nodes alive with their users (this node's as it is
/// now). While NATS is out of reach, or the list cannot be read, `nodes`
/// and `online_cluster` are left out.
pub async fn status(node: &Node, hub: &Hub, facts: &Facts) -> ClusterView {
    let connected = node.cluster.connected();
    let mut view = ClusterView {
        node: Some(node.name().to_string()),
        cluster: Some(
            if connected {
                "connected"
            } else {
                "unavailable"
            }
            .into(),
        ),
        nodes: None,
        online_cluster: None,
    };
    if !connected {
        return view;
    }
    match alive(node, hub, facts).await {
        Ok(nodes) => {
            view.online_cluster = Some(nodes.iter().map(|n| n.online).sum());
            view.nodes = Some(nodes.into_iter().map(node_status).collect());
        }
        Err(e) => {
            tracing::debug!("cluster: the status could not list the nodes: {e}");
        }
    }
    view
}

/// The nodes alive, by name, with this node's entry as it is now (and
/// present even before its first announcement reached the bucket).
async fn alive(
    node: &Node,
    hub: &Hub,
    facts: &Facts,
) -> Result<Vec<NodeEntry>, super::ClusterError> {
    let mut nodes = node.nodes.list().await?;
    nodes.retain(|n| n.node != node.name());
    nodes.push(this_node(hub, facts, node.name()));
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(nodes)
}

fn node_status(entry: NodeEntry) -> NodeStatus {
    NodeStatus {
        node: entry.node,
        online: entry.online,
        listen: entry.listen,
        since: entry.since,
        version: Some(entry.version),
    }
}

/// Everyone online: this node's users (`here`) and those of every node
/// that answers within [`USERS_WAIT`], in name order; the nodes listed
/// alive that did not answer are named in `warning`.
pub async fn users(node: &Node, here: Vec<User>) -> Users {
    let mut users = here;
    if !node.cluster.connected() {
        return Users {
            users,
            warning: Some(format!(
                "cluster unavailable (NATS is out of reach): only the users of node {} are listed",
                node.name()
            )),
        };
    }
    let mut waiting: BTreeSet<String> = match node.nodes.list().await {
        Ok(nodes) => nodes
            .into_iter()
            .map(|n| n.node)
            .filter(|n| n != node.name())
            .collect(),
        Err(e) => {
            tracing::debug!("cluster: users could not list the nodes: {e}");
            BTreeSet::new()
        }
    };
    let expected = waiting.clone();
    let answers = node
        .cluster
        .ask_all(Order::Users, USERS_WAIT, |payload| {
            if let Some(answer) = UsersAnswer::decode(payload) {
                waiting.remove(&answer.node);
            }
            // Without a list, wait the whole time for whoever answers.
            !expected.is_empty() && waiting.is_empty()
        })
        .await;
    let answers = match answers {
        Ok(answers) => answers,
        Err(e) => {
            return Users {
                users,
                warning: Some(format!(
                    "could not ask the other nodes ({e}): only the users of node {} are listed",
                    node.name()
                )),
            };
        }
    };
    let mut answered = BTreeSet::new();
    for payload in answers {
        let Some(answer) = UsersAnswer::decode(&payload) else {
            continue;
        };
        if answer.node == node.name() || !answered.insert(answer.node.clone()) {
            continue;
        }
        users.extend(answer.users.into_iter().map(|u| User {
            node: Some(answer.node.clone()),
            ..u
        }));
    }
    users.sort_by(|a, b| {
        a.name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase())
            .then_with(|| a.node.cmp(&b.node))
    });
    let silent: Vec<String> = expected.difference(&answered).cloned().collect();
    let warning = (!silent.is_empty()).then(|| {
        format!(
            "no answer within {} s from node{} {}: {} users are not listed",
            USERS_WAIT.as_secs(),
            if silent.len() == 1 { "" } else { "s" },
            silent.join(", "),
            if silent.len() == 1 { "its" } else { "their" },
        )
    });
    Users { users, warning }
}

/// Why a kick could not be sent to another node.
pub enum KickElsewhere {
    /// No node holds the name.
    NoSuchUser,
    /// NATS is out of reach: no one can say where the user is.
    Unavailable(String),
}

/// Kicks `name`, not on this node, on the node that holds it, by the
/// operator `by` (`None`: the admin): every other node tells its room, and
/// the holder ends the session. The node that holds it and the name as its
/// user wrote it, once the order is sent.
pub async fn kick_elsewhere(
    node: &Node,
    name: &str,
    reason: &str,
    by: Option<String>,
) -> Result<(String, String), KickElsewhere> {
    if !chat_protocol::valid_username(name) {
        return Err(KickElsewhere::NoSuchUser);
    }
    if !node.cluster.connected() {
        return Err(KickElsewhere::Unavailable("NATS is out of reach".into()));
    }
    let claim = match tokio::time::timeout(HOLDER_WAIT, node.names.claim_of(name)).await {
        Ok(Ok(claim)) => claim,
        Ok(Err(e)) => return Err(KickElsewhere::Unavailable(e.to_string())),
        Err(_) => {
            return Err(KickElsewhere::Unavailable(
                "NATS did not answer within 2 s".into(),
            ));
        }
    };
    // Held by this node but not in its room: a join not yet admitted, or
    // a leave not yet released.
    let claim = claim
        .filter(|h| h.node != node.name())
        .ok_or(KickElsewhere::NoSuchUser)?;
    let written = if claim.name.eq_ignore_ascii_case(name) {
        claim.name
    } else {
        name.to_string()
    };
    node.cluster
        .send(Order::Kick {
            name: written.clone(),
            reason: reason.to_string(),
            by,
            node: Some(claim.node.clone()),
        })
        .await
        .map_err(|e| KickElsewhere::Unavailable(e.to_string()))?;
    Ok((claim.node, written))
}

/// The session of `name` on another node: the identity it proved (from
/// its claim) and, when `address` is asked, its address (from its node's
/// answer to a `users` order, `None` when none comes within [`USERS_WAIT`]).
/// `None`: no other node holds the name, or NATS did not say in time.
pub async fn session_elsewhere(
    node: &Node,
    name: &str,
    address: bool,
) -> Option<(Option<chat_protocol::IdentityKey>, Option<std::net::IpAddr>)> {
    let claim = tokio::time::timeout(HOLDER_WAIT, node.names.claim_of(name))
        .await
        .ok()?
        .ok()??;
    if claim.node == node.name() {
        return None;
    }
    if !address {
        return Some((claim.identity, None));
    }
    let theirs = |a: &UsersAnswer| a.node == claim.node;
    let answers = node
        .cluster
        .ask_all(Order::Users, USERS_WAIT, |payload| {
            UsersAnswer::decode(payload).is_some_and(|a| theirs(&a))
        })
        .await
        .unwrap_or_default();
    let ip = answers
        .iter()
        .filter_map(|payload| UsersAnswer::decode(payload))
        .filter(theirs)
        .flat_map(|a| a.users)
        .find(|u| u.name.eq_ignore_ascii_case(name))
        .and_then(|u| {
            u.address
                .parse::<std::net::SocketAddr>()
                .map(|a| a.ip())
                .or_else(|_| u.address.parse::<std::net::IpAddr>())
                .ok()
        });
    Some((claim.identity, ip))
}

/// Tells the other nodes' rooms of a kick of `name`, a session of this
/// node's (ended here): a failure is logged, since the session ends
/// anyway and the other rooms see its leave.
pub async fn kicked_here(node: &Node, name: &str, reason: &str, by: Option<String>) {
    let order = Order::Kick {
        name: name.to_string(),
        reason: reason.to_string(),
        by,
        node: Some(node.name().to_string()),
    };
    if let Err(e) = node.cluster.send(order).await {
        tracing::warn!(
            name,
            "cluster: the other nodes' rooms were not told of the kick (they see the leave): {e}"
        );
    }
}

/// Sends an admin's notice, already shown on this node (to `room`'s
/// members, if named), on to the other nodes: whether it went.
pub async fn notice(node: &Node, text: &str, room: Option<&chat_protocol::RoomName>) -> bool {
    if !node.cluster.connected() {
        return false;
    }
    let sent = node
        .cluster
        .send(Order::Notice {
            text: text.to_string(),
            room: room.cloned(),
        })
        .await;
    if let Err(e) = &sent {
        tracing::warn!("cluster: the notice reached this node only: {e}");
    }
    sent.is_ok()
}

/// Asks the other nodes to reload their own configuration files.
pub async fn reload(node: &Node) {
    if let Err(e) = node.cluster.send(Order::Reload).await {
        tracing::warn!("cluster: the other nodes were not asked to reload: {e}");
    }
}
