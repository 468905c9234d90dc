//! The admin API's handlers, one per call; see `chat_protocol::admin`.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chat_protocol::admin::{
    Key, KickRequest, Kicked, NoticeRequest, NoticeSent, PasswordRequest, PasswordState, Reloaded,
    RotateRequest, Rotated, Status, Users,
};

use super::Failure;
use super::peer::Peer;
use crate::cluster::admin::KickElsewhere;
use crate::ending::Ending;
use crate::state::App;
use crate::store::StoreError;

type Answer<T> = Result<Json<T>, Failure>;

/// Longest grace period a rotation may give the old key.
const MAX_GRACE: Duration = Duration::from_secs(chat_protocol::admin::MAX_GRACE_SECS);

/// The routes, under `/v1`.
pub fn routes() -> Router<App> {
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
}

/// Runs a change of state to its end even if the caller hangs up: hyper
/// drops the handler of a connection that closes, and a change cut between
/// disk and memory would only come into force at the next start.
async fn to_the_end<T>(
    change: impl Future<Output = Result<T, Failure>> + Send + 'static,
) -> Result<T, Failure>
where
    T: Send + 'static,
{
    tokio::spawn(change)
        .await
        .map_err(|e| Failure::internal(e.to_string()))?
}

/// The answer for a change the cluster refused: 503 when NATS is out of
/// reach (nothing changed), 409 when other nodes kept changing the value.
fn cluster_failure(e: crate::cluster::changes::ChangeError) -> Failure {
    use crate::cluster::changes::ChangeError;
    let (status, code) = match &e {
        ChangeError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "cluster_unavailable"),
        ChangeError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        ChangeError::Damaged { .. } | ChangeError::Disk(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    };
    Failure::new(status, code, e.to_string())
}

/// Stores (or erases) the admin-set password hash, then puts it in force,
/// under the state lock.
async fn change_admin_password(app: &App, hash: Option<String>) -> Result<(), Failure> {
    if app.cluster.is_some() {
        return crate::cluster::changes::set_password(app, hash)
            .await
            .map_err(cluster_failure);
    }
    change_local_password(app, hash)
        .await
        .map_err(|e| Failure::internal(e.to_string()))
}

/// [`change_admin_password`] on a chatd that is no node of a cluster.
async fn change_local_password(app: &App, hash: Option<String>) -> Result<(), StoreError> {
    let _writing = app.state_writes.lock().await;
    let (store_app, saved) = (app.clone(), hash.clone());
    tokio::task::spawn_blocking(move || match &saved {
        Some(hash) => store_app.store.save_password_hash(hash),
        None => store_app.store.erase_password_hash(),
    })
    .await
    .map_err(|e| StoreError::Panicked(e.to_string()))??;
    app.password.set_admin_hash(hash);
    Ok(())
}

/// A JSON body, or a 400 naming what is wrong with it. The content type is
/// not insisted on, so `curl -d '{…}'` works; an empty body means the
/// defaults where the call has any.
fn body<T: serde::de::DeserializeOwned>(payload: &Bytes, empty: Option<T>) -> Result<T, Failure> {
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

async fn status(State(app): State<App>) -> Answer<Status> {
    let mut status = crate::ops::status::snapshot(&app);
    crate::cluster::admin::status(&app, &mut status).await;
    Ok(Json(status))
}

async fn users(State(app): State<App>) -> Answer<Users> {
    Ok(Json(crate::cluster::admin::users(&app).await))
}

async fn key(State(app): State<App>, ConnectInfo(peer): ConnectInfo<Peer>) -> Answer<Key> {
    let keys = app.keys.read().expect("lock");
    tracing::info!(uid = peer.uid, key_id = %keys.current.key_id(), "admin: key shown");
    Ok(Json(Key {
        token: keys.current.encode(),
        key_id: keys.current.key_id().to_string(),
    }))
}

async fn rotate(
    State(app): State<App>,
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
        let rotated = if app.cluster.is_some() {
            crate::cluster::changes::rotate(&app, grace, request.disconnect)
                .await
                .map_err(cluster_failure)?
        } else {
            crate::ops::rotate::rotate(&app, grace, request.disconnect)
                .await
                .map_err(|e| Failure::internal(e.to_string()))?
        };
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
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<PasswordState> {
    let PasswordRequest { password } = body(&payload, None)?;
    crate::store::password::check_length(&password)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, "invalid_password", e.to_string()))?;
    let hash = app
        .password
        .hash(password)
        .await
        .map_err(|e| Failure::internal(e.to_string()))?;
    let changing = app.clone();
    to_the_end(async move {
        change_admin_password(&changing, Some(hash)).await?;
        tracing::info!(
            uid = peer.uid,
            "admin: join password set (stored as an argon2id hash)"
        );
        Ok::<_, Failure>(())
    })
    .await?;
    Ok(Json(PasswordState {
        password: crate::ops::status::password_source(&app),
    }))
}

async fn clear_password(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<Peer>,
) -> Answer<PasswordState> {
    let changing = app.clone();
    to_the_end(async move {
        change_admin_password(&changing, None).await?;
        let source = crate::ops::status::password_source(&changing);
        tracing::info!(uid = peer.uid, now_in_force = %source, "admin: admin-set join password removed");
        Ok::<_, Failure>(())
    })
    .await?;
    Ok(Json(PasswordState {
        password: crate::ops::status::password_source(&app),
    }))
}

async fn kick(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(name): Path<String>,
    payload: Bytes,
) -> Answer<Kicked> {
    let request: KickRequest = body(&payload, Some(KickRequest::default()))?;
    let reason = request.reason.unwrap_or_default();
    if let Err((_, e)) =
        chat_protocol::validate_text(if reason.is_empty() { "-" } else { &reason }, 1024)
    {
        return Err(Failure::bad_request(format!("reason: {e}")));
    }
    if let Some(member) = app.hub.member(&name) {
        member.control.end(Ending::kicked(&reason));
        tracing::info!(uid = peer.uid, name = %member.name, reason = %reason, "admin: user kicked");
        return Ok(Json(Kicked {
            name: member.name.clone(),
            node: None,
        }));
    }
    match crate::cluster::admin::kick_elsewhere(&app, &name, &reason).await {
        Ok(node) => {
            tracing::info!(uid = peer.uid, name = %name, reason = %reason, node = %node, "admin: user kicked on another node");
            Ok(Json(Kicked {
                name,
                node: Some(node),
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
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<NoticeSent> {
    let NoticeRequest { text } = body(&payload, None)?;
    chat_protocol::validate_text(&text, app.hub.config().max_text)
        .map_err(|(_, e)| Failure::bad_request(e))?;
    let delivered = app.hub.notice(&text);
    let other_nodes = crate::cluster::admin::notice(&app, &text).await;
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

async fn reload(State(app): State<App>, ConnectInfo(peer): ConnectInfo<Peer>) -> Answer<Reloaded> {
    tracing::info!(uid = peer.uid, "admin: reload requested");
    // To its end even if the caller hangs up: a reload cut short would
    // leave systemd told RELOADING=1 and the new settings half applied.
    let reloading = app.clone();
    let reloaded = tokio::spawn(async move {
        // Every node reads its own file, whatever this one's says.
        crate::cluster::admin::reload(&reloading).await;
        crate::ops::reload::reload(&reloading).await
    })
    .await
    .map_err(|e| Failure::internal(e.to_string()))?
    .map_err(|e| Failure::bad_request(e.to_string()))?;
    Ok(Json(reloaded))
}
