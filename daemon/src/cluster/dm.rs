//! Direct messages across nodes: a request on the addressee's node's own
//! subject (`<room>.dm.<node>`), answered once that node has delivered it
//! or found no one by that name.
//!
//! The payload is JSON (`from`, `to`, `text`, `cid`, `ts`: a [`Wire`],
//! the room's [`Dm`] as it crosses NATS); the answer is `1` (delivered) or `0` (not there). The
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

/// A DM as it crosses NATS (the node it is for is the subject).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wire {
    /// The sender's name.
    pub from: String,
    /// The addressee's name.
    pub to: String,
    /// The text, checked by the sender's node.
    pub text: String,
    /// The sender's client id, for its echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// When it was sent (ms since the epoch).
    pub ts: u64,
}

impl From<Dm> for Wire {
    fn from(dm: Dm) -> Self {
        let Dm {
            from,
            to,
            text,
            cid,
            ts,
        } = dm;
        Self {
            from,
            to,
            text,
            cid,
            ts,
        }
    }
}

impl From<Wire> for Dm {
    fn from(wire: Wire) -> Self {
        let Wire {
            from,
            to,
            text,
            cid,
            ts,
        } = wire;
        Self {
            from,
            to,
            text,
            cid,
            ts,
        }
    }
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
    pub async fn send_dm(&self, node: &str, dm: &Wire) -> Result<bool, ClusterError> {
        // The presence watch lists no user on a node of an invalid name;
        // this is the last guard before a subject.
        let Some(subject) = self.dm_subject(node) else {
            tracing::warn!("cluster: a direct message to a node of an invalid name was not sent");
            return Ok(false);
        };
        let payload = Bytes::from(serde_json::to_vec(dm).expect("a DM always serializes"));
        let request = self.client.request(subject, payload);
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
    let wire = Wire::from(dm);
    match node.cluster.send_dm(to_node, &wire).await {
        Ok(true) => {
            hub.echo_dm(from, wire.into());
            Ok(())
        }
        Ok(false) => Err(no_such_user(&wire.to)),
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
        let delivered = match serde_json::from_slice::<Wire>(&message.payload) {
            Ok(dm) => hub.deliver_dm(dm.into()),
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
