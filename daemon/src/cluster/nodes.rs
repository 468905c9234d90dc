//! Which nodes are alive: one liveness entry per node in the bucket
//! `<room>_nodes`.
//!
//! Each node puts its entry (name, users online, listen address, start
//! time, version) every third of `claim_ttl`, and at once when its number
//! of users changes; the bucket's `max_age` is `claim_ttl`, so a node that
//! died drops out of the list within `claim_ttl` plus the server's expiry
//! sweep, by itself. A node that stops cleanly deletes its entry. The admin
//! API reads the list for `chatctl status` and to know whom to wait for in
//! `chatctl users`.

use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::node::Node;
use super::{Cluster, ClusterError};
use crate::hub::Hub;
use crate::ops::status::Facts;

/// How long a read of the list may take before it counts as failed.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// A node's liveness entry, as stored (JSON).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NodeEntry {
    /// The node's name.
    pub node: String,
    /// Users online on it.
    pub online: usize,
    /// Its chat listener's address.
    pub listen: String,
    /// Unix seconds when it started.
    pub since: u64,
    /// Its chatd's version.
    pub version: String,
}

impl NodeEntry {
    /// Reads an entry from the bucket; `None` when it does not read or
    /// breaks the rules (a valid node name, a listen address that is one,
    /// a short version of the characters versions have), since `chatctl
    /// status` shows all of it and the name decides whom `users` waits for.
    pub fn decode(value: &[u8]) -> Option<NodeEntry> {
        let entry: NodeEntry = chat_protocol::json::from_slice_strict(value)?;
        let fine = super::valid_node_name(&entry.node)
            && entry.listen.parse::<std::net::SocketAddr>().is_ok()
            && (1..=32).contains(&entry.version.len())
            && entry
                .version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
        fine.then_some(entry)
    }
}

/// This node's view of the nodes bucket.
#[derive(Clone)]
pub struct Nodes {
    store: kv::Store,
}

/// The bucket key for a node name: `.` (a token separator in NATS
/// subjects) written as `=2e` (`=` is not in node names).
fn key_of(node: &str) -> String {
    node.replace('.', "=2e")
}

impl Cluster {
    /// This node's view of the nodes bucket.
    pub async fn nodes(&self) -> Result<Nodes, ClusterError> {
        let store = self
            .js()
            .get_key_value(self.nodes_bucket())
            .await
            .map_err(|e| ClusterError::js("open the nodes bucket", e))?;
        Ok(Nodes { store })
    }
}

impl Nodes {
    /// Puts (or refreshes) a node's entry.
    pub async fn announce(&self, entry: &NodeEntry) -> Result<(), ClusterError> {
        let value = serde_json::to_vec(entry).expect("plain data serializes");
        self.store
            .put(key_of(&entry.node), Bytes::from(value))
            .await
            .map_err(|e| ClusterError::js("announce this node", e))?;
        Ok(())
    }

    /// Removes a node's entry (it stops).
    pub async fn remove(&self, node: &str) -> Result<(), ClusterError> {
        self.store
            .delete(key_of(node))
            .await
            .map_err(|e| ClusterError::js("remove this node's entry", e))
    }

    /// Every node alive now, by name. Entries that do not read or break
    /// the rules ([`NodeEntry::decode`]) are left out.
    pub async fn list(&self) -> Result<Vec<NodeEntry>, ClusterError> {
        let read = async {
            // The stream's subjects, in one request (the bucket's `keys()`
            // would make a consumer for each listing).
            let subjects: Vec<(String, usize)> = self
                .store
                .stream
                .info_with_subjects(format!("$KV.{}.>", self.store.name))
                .await
                .map_err(|e| ClusterError::js("list the nodes", e))?
                .filter_map(|s| async move { s.ok() })
                .collect()
                .await;
            let keys = subjects
                .into_iter()
                .filter_map(|(subject, _)| subject.splitn(3, '.').nth(2).map(str::to_string));
            let mut nodes = Vec::new();
            for key in keys {
                let value = self
                    .store
                    .get(key)
                    .await
                    .map_err(|e| ClusterError::js("read a node's entry", e))?;
                if let Some(entry) = value.and_then(|v| NodeEntry::decode(&v)) {
                    nodes.push(entry);
                }
            }
            nodes.sort_by(|a: &NodeEntry, b| a.node.cmp(&b.node));
            Ok(nodes)
        };
        tokio::time::timeout(READ_TIMEOUT, read)
            .await
            .map_err(|_| ClusterError::js("list the nodes", "no answer within 1 s"))?
    }
}

/// This node's entry as it is now.
pub fn this_node(hub: &Hub, facts: &Facts, node: &str) -> NodeEntry {
    NodeEntry {
        node: node.to_string(),
        online: hub.online(),
        listen: facts.listen_addr.to_string(),
        since: facts.since(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Keeps this node's liveness entry current until the shutdown: put every
/// third of `claim_ttl`, and within a second when the number of users
/// online changes; deleted at the shutdown.
pub async fn keep_alive(
    node: Arc<Node>,
    hub: Arc<Hub>,
    facts: Arc<Facts>,
    shutdown: CancellationToken,
) {
    let every = (node.cluster.settings().claim_ttl / 3).max(Duration::from_millis(500));
    let mut tick = tokio::time::interval(Duration::from_secs(1).min(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<(tokio::time::Instant, usize)> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => break,
        }
        let entry = this_node(&hub, &facts, node.name());
        let due = match last {
            None => true,
            Some((at, online)) => at.elapsed() >= every || online != entry.online,
        };
        if !due {
            continue;
        }
        match node.nodes.announce(&entry).await {
            Ok(()) => last = Some((tokio::time::Instant::now(), entry.online)),
            Err(e) => tracing::debug!("cluster: refreshing this node's entry failed: {e}"),
        }
    }
    // Gone at once from the others' `chatctl status`, rather than after
    // `claim_ttl`.
    let _ = tokio::time::timeout(Duration::from_secs(1), node.nodes.remove(node.name())).await;
}

#[cfg(test)]
mod tests {
    use super::NodeEntry;

    #[test]
    fn entries_that_break_the_rules_are_left_out() {
        let entry = |node: &str, listen: &str, version: &str| {
            serde_json::json!({"node": node, "online": 1, "listen": listen, "since": 5, "version": version})
                .to_string()
        };
        let good = entry("n1.example", "127.0.0.1:1719", "0.1.0");
        assert_eq!(
            NodeEntry::decode(good.as_bytes()).unwrap().node,
            "n1.example"
        );
        for bad in [
            entry("n.*", "127.0.0.1:1719", "0.1.0"),
            entry("n 1", "127.0.0.1:1719", "0.1.0"),
            entry("n1", "127.0.0.1:1719\u{1b}[2J", "0.1.0"),
            entry("n1", "127.0.0.1:1719", "0.1\n.0"),
            entry("n1", "127.0.0.1:1719", ""),
        ] {
            assert!(NodeEntry::decode(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
