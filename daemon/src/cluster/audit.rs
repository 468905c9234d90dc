//! The cluster's record of moderation: each node keeps its own acts in
//! its `STATE_DIR/audit` (`crate::moderation::audit`) and publishes each,
//! with its node's name, to the stream `<ROOM>_AUDIT` (subject
//! `<room>.audit`, the newest [`MAX_ENTRIES`] kept), so that `chatctl
//! audit` on any node shows every node's acts, in time order.
//!
//! Every entry read back from NATS is held to the rules of one this node
//! would record (a known action, names and texts within the text rules, a
//! valid node name): one that breaks them is skipped with a throttled
//! warning, since the record reaches an admin's terminal. An entry this
//! node could not publish (NATS away) is still shown on this node: its own
//! file is merged in. Without NATS the answer is this node's own record,
//! with a warning.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use async_nats::jetstream::stream;
use bytes::Bytes;
use chat_protocol::admin::AuditEntry;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use super::node::Node;
use super::{Cluster, ClusterError, Peers};
use crate::logging::line_budget::LineBudget;
use crate::moderation::audit::{Audit, MAX_ENTRIES};

/// How long a read of the shared record may take.
const READ_DEADLINE: Duration = Duration::from_secs(3);

/// How long a publication waits for NATS's acknowledgement.
const PUBLISH_DEADLINE: Duration = Duration::from_secs(5);

/// The actions an entry may name.
const ACTIONS: [&str; 8] = [
    "kick",
    "ban",
    "unban",
    "mute",
    "unmute",
    "op",
    "deop",
    "name_remove",
];

/// The longest actor (a Unix user's name, or `op:NAME`) and target (a
/// name, `key:…`, `addr:…/…`) an entry may carry.
const MAX_FIELD: usize = 128;

impl Cluster {
    pub(crate) fn audit_stream(&self) -> String {
        format!("{}_AUDIT", self.settings.room.to_ascii_uppercase())
    }

    pub(crate) fn audit_subject(&self) -> String {
        format!("{}.audit", self.settings.room)
    }

    /// The record's stream: the newest [`MAX_ENTRIES`], the oldest
    /// dropped.
    pub(crate) fn audit_config(&self) -> stream::Config {
        stream::Config {
            name: self.audit_stream(),
            subjects: vec![self.audit_subject()],
            max_messages: MAX_ENTRIES as i64,
            discard: stream::DiscardPolicy::Old,
            num_replicas: self.settings.replicas.max(1),
            ..Default::default()
        }
    }
}

static TROUBLE: LineBudget =
    LineBudget::new("cluster: the moderation record", 3, Duration::from_secs(60));

/// Publishes this node's entries, as they are recorded, to the shared
/// record until the shutdown. One that NATS does not take is logged (it
/// stays in this node's file, which this node's answers merge in).
pub async fn publish(
    node: Arc<Node>,
    mut entries: tokio::sync::mpsc::Receiver<AuditEntry>,
    shutdown: CancellationToken,
) {
    loop {
        let mut entry = tokio::select! {
            e = entries.recv() => match e {
                Some(e) => e,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
        entry.node = Some(node.name().to_string());
        let payload = Bytes::from(serde_json::to_vec(&entry).expect("an entry serializes"));
        let cluster = &node.cluster;
        let sent = tokio::time::timeout(PUBLISH_DEADLINE, async {
            cluster
                .js()
                .publish(cluster.audit_subject(), payload)
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|_| Err("no answer from NATS in time".into()));
        if let Err(e) = sent {
            crate::budgeted!(
                TROUBLE,
                Level::WARN,
                "cluster: a moderation act was kept in this node's record only ({e})"
            );
        }
    }
}

/// Reads `payload` as an entry of the shared record; `None` when it breaks
/// the rules (see the module documentation).
pub fn decode(payload: &[u8]) -> Option<AuditEntry> {
    let entry: AuditEntry = chat_protocol::json::from_slice_strict(payload)?;
    let short_text = |s: &str| {
        s.len() <= MAX_FIELD && !s.is_empty() && chat_protocol::validate_reason(s).is_ok()
    };
    let fine = ACTIONS.contains(&entry.action.as_str())
        && short_text(&entry.actor)
        && short_text(&entry.target)
        && entry
            .reason
            .as_deref()
            .is_none_or(|r| chat_protocol::validate_text(r, crate::ops::kick::MAX_REASON).is_ok())
        && entry.node.as_deref().is_some_and(super::valid_node_name);
    fine.then_some(entry)
}

/// Every entry of the shared record made at or after `since` (Unix ms),
/// in the stream's order.
async fn read(cluster: &Cluster, since: u64) -> Result<Vec<AuditEntry>, ClusterError> {
    let what = "read the moderation record";
    let fail = |e: &dyn std::fmt::Display| ClusterError::js(what, e);
    let reading = async {
        let mut stream = cluster
            .js()
            .get_stream(cluster.audit_stream())
            .await
            .map_err(|e| fail(&e))?;
        let info = stream.info().await.map_err(|e| fail(&e))?;
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        let mut entries = Vec::new();
        if info.state.messages == 0 || last < first {
            return Ok(entries);
        }
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: first.max(1),
                },
                ..Default::default()
            })
            .await
            .map_err(|e| fail(&e))?;
        let mut messages = consumer.messages().await.map_err(|e| fail(&e))?;
        let mut skipped = 0;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| fail(&e))?;
            let at = message.info().map_err(|e| fail(&e))?.stream_sequence;
            match decode(&message.payload) {
                Some(entry) if entry.ts >= since => entries.push(entry),
                Some(_) => {}
                None => skipped += 1,
            }
            if at >= last {
                break;
            }
        }
        if skipped > 0 {
            crate::budgeted!(
                TROUBLE,
                Level::WARN,
                skipped,
                "cluster: entries of the moderation record that break the rules were skipped; another program writes the stream?"
            );
        }
        Ok(entries)
    };
    tokio::time::timeout(READ_DEADLINE, reading)
        .await
        .map_err(|_| fail(&format!("no answer within {READ_DEADLINE:?}")))?
}

/// The shared entries, and this node's own (named `node`) that are not
/// among them (not published: NATS was away), in time order.
pub fn merge(mut shared: Vec<AuditEntry>, own: Vec<AuditEntry>, node: &str) -> Vec<AuditEntry> {
    for mut entry in own {
        entry.node = Some(node.to_string());
        if !shared.contains(&entry) {
            shared.push(entry);
        }
    }
    shared.sort_by_key(|e| e.ts);
    shared
}

impl Peers {
    /// The record of moderation since `since` (Unix ms): this node's
    /// alone; in a cluster every node's, and a warning when the shared
    /// record could not be read (this node's entries then).
    pub async fn audit(&self, audit: &Audit, since: u64) -> (Vec<AuditEntry>, Option<String>) {
        let own = audit.since(since);
        let Peers::Cluster(node) = self else {
            return (own, None);
        };
        match read(&node.cluster, since).await {
            Ok(shared) => (merge(shared, own, node.name()), None),
            Err(e) => (
                merge(Vec::new(), own, node.name()),
                Some(format!(
                    "the cluster's record could not be read ({e}): only this node's acts are listed"
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ts: u64, node: &str) -> AuditEntry {
        AuditEntry {
            ts,
            actor: "root".into(),
            action: "ban".into(),
            target: "bob".into(),
            reason: Some("spam".into()),
            until: None,
            node: Some(node.into()),
        }
    }

    #[test]
    fn entries_that_break_the_rules_are_not_read() {
        let good = entry(1, "n1");
        assert_eq!(
            decode(&serde_json::to_vec(&good).unwrap()),
            Some(good.clone())
        );
        let bad = [
            AuditEntry {
                action: "format_disk".into(),
                ..good.clone()
            },
            AuditEntry {
                actor: "root\u{1b}[2J".into(),
                ..good.clone()
            },
            AuditEntry {
                target: "x".repeat(200),
                ..good.clone()
            },
            AuditEntry {
                reason: Some("a\u{0}b".into()),
                ..good.clone()
            },
            AuditEntry {
                node: Some("n.>".into()),
                ..good.clone()
            },
            AuditEntry {
                node: None,
                ..good.clone()
            },
        ];
        for entry in bad {
            assert_eq!(
                decode(&serde_json::to_vec(&entry).unwrap()),
                None,
                "{entry:?}"
            );
        }
        assert_eq!(decode(b"[1]"), None);
        assert_eq!(decode(br#"{"ts":1,"ts":2}"#), None);
    }

    #[test]
    fn own_entries_not_published_are_merged_in_time_order() {
        let shared = vec![entry(1, "n1"), entry(3, "n2")];
        let mut own = entry(1, "n1");
        own.node = None;
        let mut unpublished = entry(2, "n1");
        unpublished.node = None;
        let merged = merge(shared, vec![own, unpublished], "n1");
        let order: Vec<(u64, &str)> = merged
            .iter()
            .map(|e| (e.ts, e.node.as_deref().unwrap()))
            .collect();
        assert_eq!(order, [(1, "n1"), (2, "n1"), (3, "n2")]);
    }
}
