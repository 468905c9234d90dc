//! The admin API's mutes (`/v1/mutes`): list them, mute a user, lift a
//! mute (`?name=…`). Each change is carried out through
//! `crate::cluster::Peers` and logged with the admin's Unix user.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::routing::get;
use chat_protocol::admin::{MuteRequest, Muted, Mutes, Unmuted};
use chat_protocol::clock::now_ms;

use super::api::{Answer, body, to_the_end};
use super::bans::change_failure;
use super::peer::Peer;
use super::{Failure, Parts};
use crate::ops::moderate::MuteOrder;

/// The routes, under `/v1/mutes`.
pub fn routes() -> Router<Parts> {
    Router::new().route("/v1/mutes", get(list).post(mute).delete(unmute))
}

async fn list(State(Parts { moderating, .. }): State<Parts>) -> Answer<Mutes> {
    let now = now_ms();
    let book = moderating.moderation.book();
    Ok(Json(Mutes {
        mutes: book
            .mutes
            .iter()
            .filter(|m| m.in_force(now))
            .map(|m| m.to_admin())
            .collect(),
    }))
}

async fn mute(
    State(Parts {
        moderating, peers, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<Muted> {
    let request: MuteRequest = body(&payload, None)?;
    let order = MuteOrder {
        name: request.name,
        for_secs: request.for_secs,
        reason: request.reason,
        actor: super::peer::admin(peer.uid),
    };
    let answer = to_the_end(async move {
        let actor = order.actor.clone();
        let mute = peers
            .mute(&moderating, order)
            .await
            .map_err(change_failure)?;
        moderating.record(
            &actor,
            "mute",
            &mute.name,
            mute.reason.as_deref(),
            mute.until,
        );
        Ok::<_, Failure>(Muted {
            mute: mute.to_admin(),
        })
    })
    .await?;
    Ok(Json(answer))
}

/// `?name=…`.
#[derive(serde::Deserialize)]
struct Name {
    name: String,
}

async fn unmute(
    State(Parts {
        moderating, peers, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Query(Name { name }): Query<Name>,
) -> Answer<Unmuted> {
    let actor = super::peer::admin(peer.uid);
    let answer = to_the_end(async move {
        let lifted = peers
            .unmute(&moderating, &name, &actor)
            .await
            .map_err(change_failure)?;
        moderating.record(&actor, "unmute", &lifted.name, None, None);
        Ok::<_, Failure>(Unmuted { name: lifted.name })
    })
    .await?;
    Ok(Json(answer))
}
