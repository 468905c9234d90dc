//! The admin API's handlers, one per call; see `chat_protocol::admin`.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chat_protocol::admin::{
    Key, KickRequest, Kicked, NoticeRequest, NoticeSent, PasswordRequest, PasswordState, Reloaded,
    RotateRequest, Rotated, Status, Users,
};

use super::peer::Peer;
use super::{Failure, Parts};
use crate::cluster::admin::KickElsewhere;
use crate::cluster::changes::ChangeError;
use crate::metrics::labels::PasswordChange;
use crate::ops;

pub(super) type Answer<T> = Result<Json<T>, Failure>;

/// Longest grace period a rotation may give the old key.
const MAX_GRACE: Duration = Duration::from_secs(chat_protocol::admin::MAX_GRACE_SECS);

/// The routes, under `/v1`.
pub fn routes() -> Router<Parts> {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/users", get(users))
        .route("/v1/key", get(key))
        .route("/v1/key/rotate", post(rotate))
        .route(
            "/v1/password",
            axum::routing::put(set_password).delete(clear_password),
        )
        .route("/v1/users/{name}/kick", post(kick))
        .route("/v1/notice", post(notice))
        .route("/v1/reload", post(reload))
        .route("/v1/metrics", get(super::metrics::metrics))
        .route("/v1/health", get(super::health::health))
        .merge(super::rooms::routes())
        .merge(super::names::routes())
        .merge(super::bans::routes())
        .merge(super::mutes::routes())
        .merge(super::operators::routes())
        .route("/v1/audit", get(audit))
}

/// Runs a change of state to its end even if the caller hangs up: hyper
/// drops the handler of a connection that closes, and a change cut between
/// disk and memory would only come into force at the next start.
pub(super) async fn to_the_end<T>(
    change: impl Future<Output = Result<T, Failure>> + Send + 'static,
) -> Result<T, Failure>
where
    T: Send + 'static,
{
    tokio::spawn(change)
        .await
        .map_err(|e| Failure::internal(e.to_string()))?
}

/// The answer for a change refused: 503 when a cluster's NATS is out of
/// reach (nothing changed), 409 when other nodes kept changing the value,
/// else 500.
fn change_failure(e: ChangeError) -> Failure {
    let (status, code) = match &e {
        ChangeError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "cluster_unavailable"),
        ChangeError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        ChangeError::Damaged { .. }
        | ChangeError::Disk(_)
        | ChangeError::NotRotated(_)
        | ChangeError::NotStored(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    Failure::new(status, code, e.to_string())
}

/// A JSON body, or a 400 naming what is wrong with it. The content type is
/// not insisted on, so `curl -d '{…}'` works; an empty body means the
/// defaults where the call has any.
pub(super) fn body<T: serde::de::DeserializeOwned>(
    payload: &Bytes,
    empty: Option<T>,
) -> Result<T, Failure> {
    if payload.iter().all(u8::is_ascii_whitespace)
        && let Some(default) = empty
    {
        return Ok(default);
    }
    // serde's derive would also read a struct from an array of its members.
    if !chat_protocol::json::is_object(payload) {
        return Err(Failure::bad_request(
            "invalid request body: expected a JSON object".to_string(),
        ));
    }
    serde_json::from_slice(payload)
        .map_err(|e| Failure::bad_request(format!("invalid request body: {e}")))
}

async fn status(
    State(Parts {
        config,
        facts,
        guesses,
        keyring,
        hub,
        peers,
        ..
    }): State<Parts>,
) -> Answer<Status> {
    let cluster = peers.status(&hub, &facts).await;
    Ok(Json(ops::status::snapshot(
        &config.get(),
        &facts,
        &keyring,
        &hub,
        &guesses,
        cluster,
    )))
}

/// `GET /v1/users`'s query: `?room=%23ops` (or `?room=ops`) lists that
/// room's members only.
#[derive(serde::Deserialize)]
struct UsersQuery {
    room: Option<String>,
}

async fn users(
    State(Parts {
        keyring,
        hub,
        peers,
        ..
    }): State<Parts>,
    Query(UsersQuery { room }): Query<UsersQuery>,
) -> Answer<Users> {
    let here = ops::users::here(&keyring, &hub, peers.node_name());
    let mut all = peers.users(here).await;
    if let Some(room) = room {
        let names = super::rooms::names_in(&hub, &room)?;
        all.users.retain(|u| names.contains(&u.name));
    }
    Ok(Json(all))
}

async fn key(
    State(Parts { keyring, .. }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
) -> Answer<Key> {
    let keys = keyring.keys.read().expect("lock");
    tracing::info!(uid = peer.uid, key_id = %keys.current.key_id(), "admin: key shown");
    Ok(Json(Key {
        token: keys.current.encode(),
        key_id: keys.current.key_id().to_string(),
    }))
}

async fn rotate(
    State(Parts {
        peers,
        rotation,
        metrics,
        ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<Rotated> {
    let request: RotateRequest = body(&payload, Some(RotateRequest::default()))?;
    if request.grace_secs > MAX_GRACE.as_secs() {
        return Err(Failure::bad_request(format!(
            "grace_secs = {}: a grace period is at most 30 days ({} s); a longer one keeps a withdrawn key alive",
            request.grace_secs,
            MAX_GRACE.as_secs()
        )));
    }
    let grace = Duration::from_secs(request.grace_secs);
    let rotated = to_the_end(async move {
        let rotated = peers
            .rotate(&rotation, grace, request.disconnect)
            .await
            .map_err(change_failure)?;
        metrics.key_rotations.inc();
        tracing::info!(
            uid = peer.uid,
            key_id = %rotated.key_id,
            previous = %rotated.previous_key_id,
            grace_secs = request.grace_secs,
            disconnected = rotated.disconnected,
            disconnect_at = rotated.disconnect_at,
            "admin: key rotated"
        );
        Ok::<_, Failure>(rotated)
    })
    .await?;
    Ok(Json(rotated))
}

async fn set_password(
    State(Parts {
        keyring,
        peers,
        metrics,
        ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<PasswordState> {
    let PasswordRequest { password } = body(&payload, None)?;
    crate::store::password::check_length(&password)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, "invalid_password", e.to_string()))?;
    let hash = keyring
        .password
        .hash(password)
        .await
        .map_err(|e| Failure::internal(e.to_string()))?;
    let changing = keyring.clone();
    to_the_end(async move {
        peers
            .set_password(&changing, Some(hash))
            .await
            .map_err(change_failure)?;
        metrics.password_changes.inc(PasswordChange::Set);
        tracing::info!(
            uid = peer.uid,
            "admin: join password set (stored as an argon2id hash)"
        );
        Ok::<_, Failure>(())
    })
    .await?;
    Ok(Json(PasswordState {
        password: ops::status::password_source(&keyring.password),
    }))
}

async fn clear_password(
    State(Parts {
        keyring,
        peers,
        metrics,
        ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
) -> Answer<PasswordState> {
    let changing = keyring.clone();
    to_the_end(async move {
        peers
            .set_password(&changing, None)
            .await
            .map_err(change_failure)?;
        metrics.password_changes.inc(PasswordChange::Clear);
        let source = ops::status::password_source(&changing.password);
        tracing::info!(uid = peer.uid, now_in_force = %source, "admin: admin-set join password removed");
        Ok::<_, Failure>(())
    })
    .await?;
    Ok(Json(PasswordState {
        password: ops::status::password_source(&keyring.password),
    }))
}

async fn kick(
    State(Parts {
        hub,
        peers,
        moderating,
        ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(name): Path<String>,
    payload: Bytes,
) -> Answer<Kicked> {
    let request: KickRequest = body(&payload, Some(KickRequest::default()))?;
    let reason = request.reason.unwrap_or_default();
    if let Err(e) = ops::kick::check_reason(&reason) {
        return Err(Failure::bad_request(format!("reason: {e}")));
    }
    let actor = super::peer::admin(peer.uid);
    let shown = (!reason.is_empty()).then_some(reason.as_str());
    match peers.kick(&hub, &name, &reason, None).await {
        Ok(kicked) => {
            moderating.record(&actor, "kick", &kicked.name, shown, None);
            Ok(Json(Kicked {
                name: kicked.name,
                node: kicked.node,
            }))
        }
        Err(KickElsewhere::NoSuchUser) => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "no_such_user",
            format!("no one called \"{name}\" is online"),
        )),
        Err(KickElsewhere::Unavailable(e)) => Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cluster_unavailable",
            format!(
                "\"{name}\" is not on this node, and the cluster cannot say whether another node has them ({e}); try again once NATS is back, or on the node they joined"
            ),
        )),
    }
}

async fn notice(
    State(Parts {
        config, hub, peers, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<NoticeSent> {
    let NoticeRequest { text, room } = body(&payload, None)?;
    if let Some(room) = room {
        return super::rooms::notice(&config.get(), &hub, &peers, &room, &text, peer).await;
    }
    let delivered = ops::notice::here(&config.get(), &hub, &text).map_err(Failure::bad_request)?;
    let other_nodes = peers.notice_elsewhere(&text, None).await;
    tracing::info!(
        uid = peer.uid,
        delivered,
        ?other_nodes,
        "admin: notice sent"
    );
    Ok(Json(NoticeSent {
        delivered,
        other_nodes,
    }))
}

async fn reload(
    State(Parts { peers, reload, .. }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
) -> Answer<Reloaded> {
    tracing::info!(uid = peer.uid, "admin: reload requested");
    // To its end even if the caller hangs up: a reload cut short would
    // leave systemd told RELOADING=1 and the new settings half applied.
    let reloaded = tokio::spawn(async move {
        // Every node reads its own file, whatever this one's says.
        peers.reload_elsewhere().await;
        reload.run().await
    })
    .await
    .map_err(|e| Failure::internal(e.to_string()))?
    .map_err(|e| Failure::bad_request(e.to_string()))?;
    Ok(Json(reloaded))
}

/// `?since=SECONDS`.
#[derive(serde::Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn audit(
    State(Parts {
        moderating, peers, ..
    }): State<Parts>,
    axum::extract::Query(Since { since }): axum::extract::Query<Since>,
) -> Answer<chat_protocol::admin::Audit> {
    let from = since.map_or(0, |secs| {
        chat_protocol::clock::now_ms().saturating_sub(secs.saturating_mul(1000))
    });
    let (entries, warning) = peers.audit(&moderating.audit, from).await;
    Ok(Json(chat_protocol::admin::Audit { entries, warning }))
}
