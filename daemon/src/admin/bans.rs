//! The admin API's bans (`/v1/bans`): list them, ban a target, lift a
//! ban. The target of a lift is a query parameter (`?target=…`): an IPv6
//! network has a `/` that cannot sit in a path. Each change is carried out
//! through `crate::cluster::Peers` and logged with the admin's Unix user.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use chat_protocol::BanTarget;
use chat_protocol::admin::{BanRequest, Banned, Bans, Unbanned};
use chat_protocol::clock::now_ms;

use super::api::{Answer, body, to_the_end};
use super::peer::Peer;
use super::{Failure, Parts};
use crate::moderation::ChangeError;
use crate::ops::moderate::BanOrder;

/// The routes, under `/v1/bans`.
pub fn routes() -> Router<Parts> {
    Router::new().route("/v1/bans", get(list).post(ban).delete(unban))
}

/// The answer for an order refused or not carried out.
pub(super) fn change_failure(e: ChangeError) -> Failure {
    match e {
        ChangeError::Refused(
            code @ ("not_banned" | "not_muted" | "no_such_user" | "not_operator"),
            why,
        ) => Failure::new(StatusCode::NOT_FOUND, code, why),
        ChangeError::Refused(
            code @ ("too_many_bans" | "too_many_mutes" | "too_many_operators"),
            why,
        ) => Failure::new(StatusCode::CONFLICT, code, why),
        ChangeError::Refused(code, why) => Failure::new(StatusCode::BAD_REQUEST, code, why),
        ChangeError::Unavailable(_) => Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "cluster_unavailable",
            format!("{e}; try again once NATS is back"),
        ),
        ChangeError::NotStored(_) => Failure::internal(e.to_string()),
    }
}

/// A target in its text form, or a 400 naming the forms.
fn target(text: &str) -> Result<BanTarget, Failure> {
    BanTarget::parse(text).map_err(|why| Failure::bad_request(format!("target: {why}")))
}

async fn list(State(Parts { moderating, .. }): State<Parts>) -> Answer<Bans> {
    let now = now_ms();
    let book = moderating.moderation.book();
    Ok(Json(Bans {
        bans: book
            .bans
            .iter()
            .filter(|b| b.in_force(now))
            .map(|b| b.to_admin())
            .collect(),
    }))
}

async fn ban(
    State(Parts {
        moderating, peers, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<Banned> {
    let request: BanRequest = body(&payload, None)?;
    let order = BanOrder {
        target: target(&request.target)?,
        for_secs: request.for_secs,
        reason: request.reason,
        actor: super::peer::admin(peer.uid),
    };
    let answer = to_the_end(async move {
        let actor = order.actor.clone();
        let (ban, ended) = peers
            .ban(&moderating, order)
            .await
            .map_err(change_failure)?;
        let target = ban.target.to_string();
        moderating.record(&actor, "ban", &target, ban.reason.as_deref(), ban.until);
        Ok::<_, Failure>(Banned {
            ban: ban.to_admin(),
            ended,
        })
    })
    .await?;
    Ok(Json(answer))
}

/// `?target=…`.
#[derive(serde::Deserialize)]
struct Target {
    target: String,
}

async fn unban(
    State(Parts {
        moderating, peers, ..
    }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Query(Target { target: text }): Query<Target>,
) -> Answer<Unbanned> {
    let target = target(&text)?;
    let actor = super::peer::admin(peer.uid);
    let answer = to_the_end(async move {
        let lifted = peers
            .unban(&moderating, &target, &actor)
            .await
            .map_err(change_failure)?;
        moderating.record(&actor, "unban", &lifted.target.to_string(), None, None);
        Ok::<_, Failure>(Unbanned {
            target: lifted.target.to_string(),
        })
    })
    .await?;
    Ok(Json(answer))
}
