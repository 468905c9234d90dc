//! Direct messages across nodes: a request on the addressee's node's own
//! subject (`<room>.dm.<node>`), answered once that node has delivered it
//! or found no one by that name.
//!
//! The payload is JSON (`from`, `to`, `text`, `cid`, `ts`: the room's
//! [`Dm`] as it crosses NATS); the answer is `1` (delivered) or `0` (not there). The
//! sender's echo goes out only after a `1`, as it does today only after a
//! local delivery; a `0`, or no node answering, is `no_such_user`. DMs go
//! over plain NATS subjects, never into the room's log: they are not kept.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_protocol::ErrorCode;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::node::Node;
use super::{Cluster, ClusterError};
use crate::hub::{Dm, Hub, Member, no_such_user};

/// A DM as it crosses NATS: the room's [`Dm`] as JSON (the node it is
/// for is the subject).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(remote = "Dm")]
struct Wire {
    from: String,
    to: String,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cid: Option<String>,
    ts: u64,
}

/// `dm` in its wire form.
fn encode(dm: &Dm) -> Bytes {
    let mut bytes = Vec::new();
    Wire::serialize(dm, &mut serde_json::Serializer::new(&mut bytes))
        .expect("a DM always serializes");
    Bytes::from(bytes)
}

/// A DM read from its wire form (nothing after it).
fn decode(bytes: &[u8]) -> Result<Dm, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let dm = Wire::deserialize(&mut de)?;
    de.end()?;
    Ok(dm)
}

/// How long a node may take to deliver a DM before the sender is told it
/// was not sent.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

const DELIVERED: &[u8] = b"1";
const NOT_HERE: &[u8] = b"0";

impl Cluster {
    /// `<room>.dm.<node>`, the node's name one subject token (`.` written
    /// `=2e`, as in the names bucket's keys); `None` for a name that is not
    /// a node's ([`super::valid_node_name`]): nothing else ever reaches a
    /// subject.
    fn dm_subject(&self, node: &str) -> Option<String> {
        super::valid_node_name(node)
            .then(|| format!("{}.dm.{}", self.settings.room, node.replace('.', "=2e")))
    }

    /// The DMs sent to this node's users from now on.
    pub async fn dms(&self) -> Result<async_nats::Subscriber, ClusterError> {
        let subscriber = self
            .client
            .subscribe(self.dm_subject(&self.settings.node_name).ok_or_else(|| {
                ClusterError::js(
                    "listen for direct messages",
                    "this node's name is not a valid node name",
                )
            })?)
            .await
            .map_err(|e| ClusterError::js("listen for direct messages", e))?;
        // A round trip, so the server has the subscription (see `control`).
        self.js
            .get_stream(self.log_stream())
            .await
            .map_err(|e| ClusterError::js("listen for direct messages", e))?;
        Ok(subscriber)
    }

    /// Hands `dm` to its addressee's node `node`: whether it was
    /// delivered there. No node answering (that node is gone) is
    /// `Ok(false)`.
    pub async fn send_dm(&self, node: &str, dm: &Dm) -> Result<bool, ClusterError> {
        // The presence watch lists no user on a node of an invalid name;
        // this is the last guard before a subject.
        let Some(subject) = self.dm_subject(node) else {
            tracing::warn!("cluster: a direct message to a node of an invalid name was not sent");
            return Ok(false);
        };
        let request = self.client.request(subject, encode(dm));
        match tokio::time::timeout(ANSWER_WITHIN, request).await {
            Ok(Ok(answer)) => Ok(&answer.payload[..] == DELIVERED),
            Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(false),
            Ok(Err(e)) => Err(ClusterError::js("send a direct message", e)),
            Err(_) => Err(ClusterError::JetStream {
                what: "send a direct message",
                reason: format!("no answer within {ANSWER_WITHIN:?}"),
            }),
        }
    }
}

/// Sends `dm` to its addressee on node `to_node` and echoes it to its
/// sender once it was delivered; the error to tell the sender otherwise.
pub async fn send(
    node: &Node,
    hub: &Hub,
    from: &Member,
    to_node: &str,
    dm: Dm,
) -> Result<(), (ErrorCode, String)> {
    match node.cluster.send_dm(to_node, &dm).await {
        Ok(true) => {
            hub.echo_dm(from, dm);
            Ok(())
        }
        Ok(false) => Err(no_such_user(&dm.to)),
        Err(e) => {
            tracing::debug!("cluster: a direct message was not sent: {e}");
            Err((
                ErrorCode::Other,
                "cluster unavailable, not sent: the direct message could not reach its node"
                    .to_string(),
            ))
        }
    }
}

/// Starts delivering the DMs other nodes send to this node's users.
pub async fn start(
    node: &Arc<Node>,
    hub: &Arc<Hub>,
    shutdown: &CancellationToken,
) -> Result<(), ClusterError> {
    let dms = node.cluster.dms().await?;
    tokio::spawn(serve(node.clone(), hub.clone(), dms, shutdown.clone()));
    Ok(())
}

/// Delivers each DM that arrives and answers whether it could, until the
/// shutdown. The subscription outlives NATS outages (the client makes it
/// again when it reconnects).
async fn serve(
    node: Arc<Node>,
    hub: Arc<Hub>,
    mut dms: async_nats::Subscriber,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            message = dms.next() => match message {
                Some(message) => message,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
        let delivered = match decode(&message.payload) {
            Ok(dm) => hub.deliver_dm(dm),
            Err(_) => {
                tracing::debug!("cluster: a direct message that could not be read was dropped");
                false
            }
        };
        if let Some(reply) = message.reply {
            let answer = if delivered { DELIVERED } else { NOT_HERE };
            if let Err(e) = node
                .cluster
                .client
                .publish(reply, Bytes::from_static(answer))
                .await
            {
                tracing::debug!("cluster: a direct message's answer was not sent: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire form is what nodes of other versions read: its members are
    /// kept as they were, `cid` left out when there is none.
    #[test]
    fn a_dm_crosses_as_the_same_json_both_ways() {
        let dm = Dm {
            from: "ace".into(),
            to: "bob".into(),
            text: "hi".into(),
            cid: None,
            ts: 7,
        };
        let json: serde_json::Value = serde_json::from_slice(&encode(&dm)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"from": "ace", "to": "bob", "text": "hi", "ts": 7})
        );
        let with_cid = br#"{"from":"ace","to":"bob","text":"hi","cid":"c1","ts":7}"#;
        assert_eq!(decode(with_cid).unwrap().cid.as_deref(), Some("c1"));
        assert_eq!(decode(&encode(&dm)).unwrap(), dm);
        assert!(decode(br#"{"from":"ace","to":"bob","text":"hi","ts":7} x"#).is_err());
        assert!(decode(br#"{"from":"ace","to":"bob","ts":7}"#).is_err());
    }
}
