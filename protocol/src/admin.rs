//! Types of the admin API: HTTP/1.1 + JSON over `RUNTIME_DIR/admin.sock`.
//!
//! Shared by `chatd` (which serves them) and `chatctl` (which calls them),
//! so that field names stay one contract. Every error body is
//! `{"error": {"code": "...", "message": "..."}}` with a fitting HTTP status.
//!
//! | call | body | answer |
//! |---|---|---|
//! | `GET /v1/status` | | [`Status`] |
//! | `GET /v1/users` | | [`Users`] |
//! | `GET /v1/key` | | [`Key`] |
//! | `POST /v1/key/rotate` | [`RotateRequest`] | [`Rotated`] |
//! | `PUT /v1/password` | [`PasswordRequest`] | [`PasswordState`] |
//! | `DELETE /v1/password` | | [`PasswordState`] |
//! | `POST /v1/users/{name}/kick` | [`KickRequest`] | [`Kicked`] |
//! | `POST /v1/notice` | [`NoticeRequest`] | [`NoticeSent`] |
//! | `POST /v1/reload` | | [`Reloaded`] |
//! | `GET /v1/metrics` | | text: [`METRICS_TEXT`] or [`METRICS_OPENMETRICS`] |
//! | `GET /v1/health` | | [`Health`] |
//! | `GET /v1/names` | | [`Names`] |
//! | `GET /v1/names/{name}` | | [`NameRecord`] |
//! | `PUT /v1/names/{name}` | [`NameKeyRequest`] | [`NameChanged`] |
//! | `DELETE /v1/names/{name}` | | [`NameChanged`] |
//! | `DELETE /v1/names/{name}/keys/{key}` | | [`NameChanged`] |
//! | `GET /v1/bans` | | [`Bans`] |
//! | `POST /v1/bans` | [`BanRequest`] | [`Banned`] |
//! | `DELETE /v1/bans?target=TARGET` | | [`Unbanned`] |
//! | `GET /v1/mutes` | | [`Mutes`] |
//! | `POST /v1/mutes` | [`MuteRequest`] | [`Muted`] |
//! | `DELETE /v1/mutes?name=NAME` | | [`Unmuted`] |
//! | `GET /v1/operators` | | [`Operators`] |
//! | `POST /v1/operators` | [`OperatorRequest`] | [`OperatorChanged`] |
//! | `DELETE /v1/operators?name=NAME` | | [`OperatorChanged`] |
//! | `GET /v1/audit?since=SECONDS` | | [`Audit`] |

mod rooms;

use serde::{Deserialize, Serialize};

mod moderation;

pub use self::moderation::{
    Audit, AuditEntry, BanEntry, BanRequest, Banned, Bans, MuteEntry, MuteRequest, Muted, Mutes,
    OperatorChanged, OperatorRequest, Operators, Unbanned, Unmuted,
};

/// File name of the admin socket inside the runtime directory.
pub const SOCKET_NAME: &str = "admin.sock";

/// The longest grace period a key rotation accepts (30 days): a longer one
/// keeps a withdrawn key alive. chatd refuses more, and chatctl checks it
/// before it calls.
pub const MAX_GRACE_SECS: u64 = 30 * 86_400;

/// `GET /v1/status`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// chatd's version.
    pub version: String,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// The chat listener's address.
    pub listen: String,
    /// Fingerprint of the current key.
    pub key_id: String,
    /// Fingerprint of the previous key while its grace period runs.
    pub previous_key_id: Option<String>,
    /// Unix seconds when the previous key stops joining.
    pub previous_key_expires: Option<u64>,
    /// Unix seconds when the sessions on keys other than the current one
    /// will be disconnected: the end of the grace of a rotation made with
    /// `disconnect`; absent when none is pending.
    #[serde(default)]
    pub disconnect_at: Option<u64>,
    /// Users online.
    pub online: usize,
    /// Most users allowed online.
    pub max_users: usize,
    /// Messages relayed since start.
    pub messages_total: u64,
    /// Messages relayed in the last minute.
    pub messages_per_minute: u64,
    /// Which password is in force: `none`, `file` or `admin`.
    pub password: String,
    /// The state directory.
    pub state_dir: String,
    /// chatd's process id.
    pub pid: u32,
    /// Addresses whose joins are refused now for too many wrong passwords.
    #[serde(default)]
    pub throttled_addresses: usize,
    /// argon2 password verifications run since start (a join refused
    /// before the password, for a banned address say, runs none).
    #[serde(default)]
    pub password_checks: u64,
    /// Bytes waiting in all users' outbound queues.
    #[serde(default)]
    pub queued_bytes: usize,
    /// Why the room's history cannot be written to the state directory
    /// now (a full or read-only disk); absent while writes succeed. Chat
    /// goes on from memory meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_persist_error: Option<String>,
    /// In a cluster: this node's name (`node_name`); absent on a single
    /// chatd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// In a cluster: `connected`, or `unavailable` while NATS is out of
    /// reach (messages are refused meanwhile); absent on a single chatd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// In a cluster: the nodes alive now (this one included), by name;
    /// absent on a single chatd and while the cluster is unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<NodeStatus>>,
    /// In a cluster: users online on all the nodes listed in `nodes`;
    /// absent where `nodes` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_cluster: Option<usize>,
}

/// One node of a cluster, as its liveness entry last said (its own node
/// as it is now).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NodeStatus {
    /// The node's name.
    pub node: String,
    /// Users online on it.
    pub online: usize,
    /// Its chat listener's address.
    pub listen: String,
    /// Unix seconds when it started.
    pub since: u64,
    /// Its chatd's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One connected user.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// Name.
    pub name: String,
    /// Peer address.
    pub address: String,
    /// Unix seconds of the join.
    pub since: u64,
    /// Messages sent.
    pub messages: u64,
    /// Fingerprint of the key the user joined with (the room's key, not
    /// the user's identity).
    pub key_id: String,
    /// Fingerprint of the identity the user proved at its join (16 hex
    /// digits, docs/protocol.md §12.1); absent for a user who joined
    /// without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Unix seconds when this session will be disconnected because its key
    /// was withdrawn by a rotation with `disconnect` and a grace (the same
    /// as the status's `disconnect_at`); absent otherwise.
    #[serde(default)]
    pub disconnect_at: Option<u64>,
    /// In a cluster: the node the user is connected to; absent on a single
    /// chatd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `GET /v1/users`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Users {
    /// Everyone online, by name (in a cluster: on every node that answered).
    pub users: Vec<User>,
    /// In a cluster: which nodes did not answer in time (or that the
    /// cluster is unavailable), so their users are missing from `users`;
    /// absent when the list is whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// `GET /v1/key`: the token to hand to people.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Key {
    /// The token (`chat1_…`). A secret: show it only to whom it is for.
    pub token: String,
    /// Its fingerprint.
    pub key_id: String,
}

/// `POST /v1/key/rotate`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Disconnect the sessions that joined with an older key: at once
    /// without a grace, when the grace ends with one.
    #[serde(default)]
    pub disconnect: bool,
    /// Seconds during which the old key still joins (0: none).
    #[serde(default)]
    pub grace_secs: u64,
}

/// Answer to a rotation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Rotated {
    /// The new token.
    pub token: String,
    /// Its fingerprint.
    pub key_id: String,
    /// The replaced key's fingerprint.
    pub previous_key_id: String,
    /// Unix seconds when the old key stops joining; absent without grace.
    pub previous_key_expires: Option<u64>,
    /// Sessions disconnected now.
    pub disconnected: usize,
    /// With `disconnect` and a grace: Unix seconds when the sessions on
    /// older keys (those joining with the old key during the grace too)
    /// will be disconnected, at the end of the grace; absent otherwise.
    #[serde(default)]
    pub disconnect_at: Option<u64>,
}

/// `PUT /v1/password`. The password is wiped from memory when dropped.
#[derive(Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// The new join password (1 byte to 1 KiB).
    pub password: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for PasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordRequest(..)")
    }
}

/// Which password is in force after a change.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PasswordState {
    /// `none`, `file` or `admin`.
    pub password: String,
}

/// `POST /v1/users/{name}/kick`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KickRequest {
    /// Shown to the user and to the room.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Answer to a kick.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Kicked {
    /// The user's name as registered (as given, when the user is on
    /// another node).
    pub name: String,
    /// In a cluster, when the user is on another node: that node, which
    /// was told to end the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// `POST /v1/notice`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    /// The notice text.
    pub text: String,
    /// The room it is told in (its members only); absent: everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// Answer to a notice.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NoticeSent {
    /// Users it was sent to (in a cluster: on this node).
    pub delivered: usize,
    /// In a cluster: whether it was sent on to the other nodes (`false`
    /// while the cluster is unavailable); absent on a single chatd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_nodes: Option<bool>,
}

pub use rooms::{
    InviteRequest, Invited, RoomAddRequest, RoomAdded, RoomRemoved, RoomSummary, Rooms,
    TopicRequest, TopicSet,
};

/// Answer to a reload.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Reloaded {
    /// Settings now in force with new values (in a cluster: on the node
    /// asked; every other node reloads its own file).
    pub changed: Vec<String>,
    /// Settings that changed in the file but need a restart.
    pub restart_needed: Vec<String>,
}

/// `GET /v1/metrics`'s content type by default: the Prometheus text
/// format 0.0.4.
pub const METRICS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /v1/metrics`'s content type when the request's `Accept` header
/// names `application/openmetrics-text`: OpenMetrics 1.0.
pub const METRICS_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// [`Health::status`] of a chatd that serves (HTTP 200).
pub const HEALTH_SERVING: &str = "serving";

/// [`Health::status`] of a chatd that cannot serve (HTTP 503, with
/// [`Health::error`]).
pub const HEALTH_UNAVAILABLE: &str = "unavailable";

/// `GET /v1/health` (and `GET /health` on the metrics listener): whether
/// chatd serves. 200 with `{"status":"serving"}`, or 503 with
/// `{"status":"unavailable","error":{"code":…,"message":…}}`: an
/// [`ErrorBody`] with the status beside it, so that a client that reads
/// every error alike reads this one too. Codes: `cluster_unreachable`
/// (NATS away for longer than `handshake_timeout`), `shutting_down`,
/// `stalled` (the room or the accept loop did not answer in time).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Health {
    /// [`HEALTH_SERVING`] or [`HEALTH_UNAVAILABLE`].
    pub status: String,
    /// Why chatd cannot serve; absent while it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// One key registered to a name.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NameKey {
    /// The public key in its text form (`chat-id1_…`).
    pub key: String,
    /// Its fingerprint (16 hex digits).
    pub fingerprint: String,
}

/// A name registered to keys (`GET /v1/names/{name}`, and each entry of
/// [`Names`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NameRecord {
    /// The name as it was registered (matched case-insensitively).
    pub name: String,
    /// Its keys, in the order they were added.
    pub keys: Vec<NameKey>,
    /// Unix seconds when the name was registered.
    pub registered: u64,
    /// Unix seconds when a user of the name was last seen joining or
    /// leaving (a name unused for `name_expiry` is released).
    pub last_seen: u64,
}

/// `GET /v1/names`: the names registry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Names {
    /// The `names` policy in force: `open`, `first-come` or `registered`.
    pub policy: String,
    /// Every name registered, in case-insensitive order.
    pub names: Vec<NameRecord>,
}

/// `PUT /v1/names/{name}`: a key to register to the name (the name is
/// registered with it if it is not yet).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NameKeyRequest {
    /// The public key in its text form (`chat-id1_…`, as the first line of
    /// `chat --show-identity` prints it).
    pub key: String,
}

/// Answer to a change of a name's keys.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NameChanged {
    /// The name.
    pub name: String,
    /// The keys registered to it now; empty: the name is free (not
    /// registered).
    pub keys: Vec<NameKey>,
}

/// The body of every error answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

/// A machine-readable code and a human message.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ApiError {
    /// Stable code: `bad_request`, `forbidden`, `not_found`, `no_such_user`,
    /// `no_such_name`, `too_many_keys`, `registry_full`,
    /// `invalid_password`, `method_not_allowed`, `cluster_unavailable`,
    /// `internal`.
    pub code: String,
    /// What went wrong and how to fix it.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unhealthy_answer_is_also_an_error_body() {
        let serving: Health = serde_json::from_str(r#"{"status":"serving"}"#).unwrap();
        assert_eq!(serving.status, HEALTH_SERVING);
        assert_eq!(serving.error, None);
        assert_eq!(
            serde_json::to_string(&serving).unwrap(),
            r#"{"status":"serving"}"#
        );

        let body = r#"{"status":"unavailable","error":{"code":"shutting_down","message":"chatd is stopping"}}"#;
        let health: Health = serde_json::from_str(body).unwrap();
        assert_eq!(health.status, HEALTH_UNAVAILABLE);
        let error: ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(health.error, Some(error.error));
    }
}
