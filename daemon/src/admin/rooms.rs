//! The admin API's rooms (docs/admin-api.md, "Rooms"): list, add,
//! remove, topic, invite, and a notice to one room. Each change is logged
//! with the caller's uid and kept in `STATE_DIR/rooms.json`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use chat_protocol::RoomName;
use chat_protocol::admin::{
    InviteRequest, Invited, NoticeSent, RoomAddRequest, RoomAdded, RoomRemoved, Rooms,
    TopicRequest, TopicSet,
};

use super::api::{Answer, body, to_the_end};
use super::peer::Peer;
use super::{Failure, Parts};
use crate::config::Config;
use crate::hub::Hub;
use crate::hub::rooms_admin::RoomOrderError;

/// The routes of rooms, under `/v1/rooms`.
pub fn routes() -> Router<Parts> {
    Router::new()
        .route("/v1/rooms", get(list).post(add))
        .route("/v1/rooms/{room}", delete(remove))
        .route("/v1/rooms/{room}/topic", put(topic))
        .route("/v1/rooms/{room}/invite", post(invite))
}

/// A room named in a path or a body: with or without its `#`; a 400
/// `room_invalid` naming the rule otherwise.
pub fn room_of(text: &str) -> Result<RoomName, Failure> {
    let with_hash = if text.starts_with('#') {
        text.to_string()
    } else {
        format!("#{text}")
    };
    RoomName::parse(&with_hash)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, "room_invalid", e.to_string()))
}

/// The answer for an order refused.
fn refused(e: RoomOrderError) -> Failure {
    let (status, code) = match &e {
        RoomOrderError::NoSuchRoom(_) => (StatusCode::NOT_FOUND, "no_such_room"),
        RoomOrderError::DefaultRoom(_) => (StatusCode::CONFLICT, "default_room"),
        RoomOrderError::Invalid(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        RoomOrderError::TooMany(_) => (StatusCode::CONFLICT, "too_many_rooms"),
        RoomOrderError::Disk(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    Failure::new(status, code, e.to_string())
}

async fn list(State(Parts { hub, .. }): State<Parts>) -> Answer<Rooms> {
    Ok(Json(Rooms {
        rooms: hub.room_summaries(),
    }))
}

async fn add(
    State(Parts { hub, .. }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    payload: Bytes,
) -> Answer<RoomAdded> {
    let request: RoomAddRequest = body(&payload, None)?;
    let room = room_of(&request.room)?;
    let added = to_the_end(async move {
        let made = hub
            .add_room(&room, request.topic, request.private)
            .map_err(refused)?;
        hub.save_rooms().await;
        tracing::info!(uid = peer.uid, room = %room, made, private = request.private, "admin: room added");
        Ok::<_, Failure>(RoomAdded { room, made })
    })
    .await?;
    Ok(Json(added))
}

async fn remove(
    State(Parts { hub, peers, .. }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(room): Path<String>,
) -> Answer<RoomRemoved> {
    let room = room_of(&room)?;
    let removed = to_the_end(async move {
        let (parted, members) = hub.remove_room(&room).await.map_err(refused)?;
        for member in &members {
            peers.note_rooms(member).await;
        }
        tracing::info!(uid = peer.uid, room = %room, parted, "admin: room removed with its history");
        Ok::<_, Failure>(RoomRemoved { room, parted })
    })
    .await?;
    Ok(Json(removed))
}

async fn topic(
    State(Parts { hub, .. }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(room): Path<String>,
    payload: Bytes,
) -> Answer<TopicSet> {
    let room = room_of(&room)?;
    let TopicRequest { text } = body(&payload, None)?;
    let set = to_the_end(async move {
        let delivered = hub.set_topic(&room, text, None).map_err(refused)?;
        hub.save_rooms().await;
        tracing::info!(uid = peer.uid, room = %room, "admin: topic set");
        Ok::<_, Failure>(TopicSet { room, delivered })
    })
    .await?;
    Ok(Json(set))
}

async fn invite(
    State(Parts { hub, .. }): State<Parts>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    Path(room): Path<String>,
    payload: Bytes,
) -> Answer<Invited> {
    let room = room_of(&room)?;
    let InviteRequest { name } = body(&payload, None)?;
    let invited = to_the_end(async move {
        hub.invite(&room, &name, None).map_err(refused)?;
        hub.save_rooms().await;
        tracing::info!(uid = peer.uid, room = %room, name = %name, "admin: name invited");
        Ok::<_, Failure>(Invited { room, name })
    })
    .await?;
    Ok(Json(invited))
}

/// A notice from the admin to `room`'s members, on every node.
pub async fn notice(
    config: &Config,
    hub: &Hub,
    peers: &crate::cluster::Peers,
    room: &str,
    text: &str,
    peer: Peer,
) -> Answer<NoticeSent> {
    let room = room_of(room)?;
    chat_protocol::validate_text(text, config.max_text)
        .map_err(|(_, e)| Failure::bad_request(e))?;
    let delivered = hub.notice_in(&room, text).map_err(refused)?;
    let to = (!hub.is_default(&room)).then_some(&room);
    let other_nodes = peers.notice_elsewhere(text, to).await;
    tracing::info!(uid = peer.uid, room = %room, delivered, ?other_nodes, "admin: notice sent to a room");
    Ok(Json(NoticeSent {
        delivered,
        other_nodes,
    }))
}

/// The names in `room` (for `GET /v1/users?room=`), or 404.
pub fn names_in(hub: &Hub, room: &str) -> Result<Vec<String>, Failure> {
    let room = room_of(room)?;
    hub.room_names(&room)
        .ok_or_else(|| refused(RoomOrderError::NoSuchRoom(room)))
}
