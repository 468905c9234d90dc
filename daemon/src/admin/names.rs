//! The admin API's calls on the names registry (`/v1/names…`): list it,
//! show one name, register a key to a name, remove a key or a whole name.
//! Each change goes through `crate::cluster::Peers` (the state directory
//! alone, NATS in a cluster) by the registry's rules, and is logged with
//! the caller's uid.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use chat_protocol::admin::{NameChanged, NameKeyRequest, NameRecord, Names};
use chat_protocol::clock::now_secs;
use chat_protocol::{IdentityKey, valid_username};

use super::api::{Answer, body, to_the_end};
use super::peer::Peer;
use super::{Failure, Parts};
use crate::registry::EditError;
use crate::registry::edit::{self, By, Refusal};
use crate::registry::record::{MAX_KEYS, Record, admin_keys};

/// The routes, under `/v1/names`.
pub fn routes() -> Router<Parts> {
    Router::new()
        .route("/v1/names", get(list))
        .route(
            "/v1/names/{name}",
            get(show).put(add_key).delete(remove_name),
        )
        .route("/v1/names/{name}/keys/{key}", delete(remove_key))
}

/// 503 while a cluster's NATS is out of reach.
fn unavailable(e: &str) -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "cluster_unavailable",
        format!(
            "the names registry cannot be read or changed now ({e}); try again once NATS is back"
        ),
    )
}

/// A name from the path, or a 400.
fn checked_name(name: &str) -> Result<(), Failure> {
    if valid_username(name) {
        Ok(())
    } else {
        Err(Failure::bad_request(
            "a name is 1 to 32 of A-Z a-z 0-9 _ . -",
        ))
    }
}

/// A key in its text form (`chat-id1_…`), read strictly, or a 400 that
/// says what was given instead (never echoing it: it may be a secret).
fn checked_key(text: &str) -> Result<IdentityKey, Failure> {
    if text.trim() != text {
        return Err(Failure::bad_request(
            "the key has white space around it; send it as `chat --show-identity` prints it",
        ));
    }
    IdentityKey::parse(text).map_err(|e| Failure::bad_request(format!("key: {e}")))
}

fn no_such_name(name: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "no_such_name",
        format!("\"{name}\" is not registered"),
    )
}

/// The answer for a change the registry did not make.
fn edit_failure(e: EditError, name: &str) -> Failure {
    match e {
        EditError::Refused(Refusal::NoSuchName) => no_such_name(name),
        EditError::Refused(Refusal::TooManyKeys) => Failure::new(
            StatusCode::CONFLICT,
            "too_many_keys",
            format!(
                "\"{name}\" holds {MAX_KEYS} keys, as many as a name may; remove one first (`chatctl names remove {name} KEY`)"
            ),
        ),
        EditError::Full(_) => Failure::new(StatusCode::CONFLICT, "registry_full", e.to_string()),
        EditError::Unavailable(e) => unavailable(&e),
        EditError::NotStored(_) | EditError::Refused(_) => Failure::internal(e.to_string()),
    }
}

fn changed(name: &str, record: Option<Record>) -> NameChanged {
    match record {
        Some(record) => NameChanged {
            name: record.name,
            keys: admin_keys(&record.keys),
        },
        None => NameChanged {
            name: name.to_string(),
            keys: Vec::new(),
        },
    }
}

async fn list(
    State(Parts {
        registry, peers, ..
    }): State<Parts>,
) -> Answer<Names> {
    let records = peers.names(&registry).await.map_err(|e| unavailable(&e))?;
    Ok(Json(Names {
        policy: registry.policy().to_string(),
        names: records.iter().map(Record::to_admin).collect(),
    }))
}

async fn show(
    State(Parts {
        registry, peers, ..
    }): State<Parts>,
    Path(name): Path<String>,
) -> Answer<NameRecord> {
    checked_name(&name)?;
    let record = peers
        .registered(&registry, &name)
        .await
        .map_err(|e| unavailable(&e))?
        .ok_or_else(|| no_such_name(&name))?;
    let record = registry.with_seen(vec![record]).remove(0);
    Ok(Json(record.to_admin()))
}

async fn add_key(
    State(Parts {
        registry, peers, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(name): Path<String>,
    payload: Bytes,
) -> Answer<NameChanged> {
    checked_name(&name)?;
    let NameKeyRequest { key } = body(&payload, None)?;
    let key = checked_key(&key)?;
    let answer = to_the_end(async move {
        let change = edit::add_key(&name, key, By::Admin, now_secs());
        let record = peers
            .edit_name(&registry, &name, change)
            .await
            .map_err(|e| edit_failure(e, &name))?;
        tracing::info!(uid = peer.uid, name = %name, key = %key.fingerprint(), "admin: key registered to a name");
        Ok::<_, Failure>(changed(&name, record))
    })
    .await?;
    Ok(Json(answer))
}

async fn remove_name(
    State(Parts {
        registry,
        peers,
        moderating,
        ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(name): Path<String>,
) -> Answer<NameChanged> {
    checked_name(&name)?;
    let answer = to_the_end(async move {
        peers
            .edit_name(&registry, &name, edit::remove_name)
            .await
            .map_err(|e| edit_failure(e, &name))?;
        tracing::info!(uid = peer.uid, name = %name, "admin: name removed from the registry");
        let actor = super::peer::admin(peer.uid);
        moderating.record(&actor, "name_remove", &name, None, None);
        Ok::<_, Failure>(changed(&name, None))
    })
    .await?;
    Ok(Json(answer))
}

async fn remove_key(
    State(Parts {
        registry, peers, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path((name, key)): Path<(String, String)>,
) -> Answer<NameChanged> {
    checked_name(&name)?;
    let key = checked_key(&key)?;
    let answer = to_the_end(async move {
        let record = peers
            .edit_name(&registry, &name, edit::remove_key(key, By::Admin))
            .await
            .map_err(|e| edit_failure(e, &name))?;
        tracing::info!(
            uid = peer.uid,
            name = %name,
            key = %key.fingerprint(),
            freed = record.is_none(),
            "admin: key removed from a name"
        );
        Ok::<_, Failure>(changed(&name, record))
    })
    .await?;
    Ok(Json(answer))
}
