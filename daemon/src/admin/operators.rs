//! The admin API's operators (`/v1/operators`): list them, make a
//! registered name an operator of the room, end that (`?name=…`). Each
//! change goes through `crate::cluster::Peers` and is logged with the
//! admin's Unix user.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::routing::get;
use chat_protocol::admin::{OperatorChanged, OperatorRequest, Operators};

use super::api::{Answer, body, to_the_end};
use super::bans::change_failure;
use super::peer::Peer;
use super::{Failure, Parts};

/// The routes, under `/v1/operators`.
pub fn routes() -> Router<Parts> {
    Router::new().route("/v1/operators", get(list).post(op).delete(deop))
}

async fn list(State(Parts { moderating, .. }): State<Parts>) -> Answer<Operators> {
    Ok(Json(Operators {
        operators: moderating.moderation.book().operators.clone(),
    }))
}

/// Carries out an op (`true`) or a deop.
async fn change(parts: Parts, peer: Peer, name: String, op: bool) -> Answer<OperatorChanged> {
    let Parts {
        moderating, peers, ..
    } = parts;
    let answer = to_the_end(async move {
        peers
            .set_operator(&moderating, &name, op)
            .await
            .map_err(change_failure)?;
        let action = if op { "op" } else { "deop" };
        let actor = super::peer::admin(peer.uid);
        moderating.record(&actor, action, &name, None, None);
        Ok::<_, Failure>(OperatorChanged { name, op })
    })
    .await?;
    Ok(Json(answer))
}

async fn op(
    State(parts): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<OperatorChanged> {
    let OperatorRequest { name } = body(&payload, None)?;
    change(parts, peer, name, true).await
}

/// `?name=…`.
#[derive(serde::Deserialize)]
struct Name {
    name: String,
}

async fn deop(
    State(parts): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Query(Name { name }): Query<Name>,
) -> Answer<OperatorChanged> {
    change(parts, peer, name, false).await
}
