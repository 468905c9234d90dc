//! A joined session's room events (docs/protocol.md §10.8): the room
//! named is read (folded, `room_invalid`), the room does the rest
//! ([`crate::hub::rooms`]), and a refusal carries the room it named.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chat_protocol::{ClientEvent, ErrorCode, RoomName, ServerEvent, validate_text};

use super::Parts;
use super::reader::kept;
use crate::config::Config;
use crate::hub::Member;
use crate::hub::rooms::Refusal;
use crate::hub::rooms_admin::RoomOrderError;
use crate::metrics::labels::MessageKind;

/// Acts on one event that names a room, or `rooms`, within the rate limit.
pub async fn handle(event: ClientEvent, member: &Arc<Member>, parts: &Parts, config: &Config) {
    let named = match event.room().map(RoomName::parse).transpose() {
        Ok(named) => named,
        Err(e) => {
            return refuse(member, parts, None, (ErrorCode::RoomInvalid, e.to_string()));
        }
    };
    let room = named.clone().unwrap_or_else(|| config.default_room.clone());
    let hub = &parts.hub;
    let say = |text: String, action: bool, cid: Option<String>| {
        let room = &room;
        async move {
            validate_text(&text, config.max_text)?;
            hub.say_to(member, room, text, action, kept(cid)).await
        }
    };
    let done = match event {
        ClientEvent::Say { text, cid, .. } => say(text, false, cid)
            .await
            .map(|_| parts.metrics.messages.inc(MessageKind::Say)),
        ClientEvent::Action { text, cid, .. } => say(text, true, cid)
            .await
            .map(|_| parts.metrics.messages.inc(MessageKind::Action)),
        ClientEvent::Who { after, .. } => hub
            .who_in(member, &room, after.as_deref())
            .map(|answer| member.deliver(Arc::new(answer.encode_for(member)))),
        // Boxed, as every rare event's state below: a join's (a catch-up
        // from the cluster's log, the rooms' save, the name claim's write)
        // would otherwise take room in every idle session's reader, which
        // holds its largest await for the session's life.
        ClientEvent::JoinRoom { after, .. } => {
            Box::pin(async {
                let made = hub.join_room(member, &room, after).await?;
                if made {
                    hub.save_rooms().await;
                }
                parts.peers.note_rooms(member).await;
                Ok(())
            })
            .await
        }
        ClientEvent::PartRoom { .. } => match hub.part_room(member, &room) {
            Ok(()) => {
                Box::pin(parts.peers.note_rooms(member)).await;
                Ok(())
            }
            Err(refused) => Err(refused),
        },
        ClientEvent::Rooms => {
            member.send(&ServerEvent::Rooms {
                rooms: hub.rooms_for(member),
            });
            Ok(())
        }
        ClientEvent::Topic { text, .. } => Box::pin(topic(member, parts, &room, text)).await,
        ClientEvent::Invite { name, .. } => Box::pin(invite(member, parts, &room, &name)).await,
        _ => Ok(()),
    };
    if let Err(refused) = done {
        refuse(member, parts, named, refused);
    }
}

/// Whether `member`'s session has an operator's rights (its name is an
/// operator's and it proved one of the name's keys), or `not_operator`.
fn operator(member: &Member, what: &str) -> Result<(), Refusal> {
    if member.op.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err((
            ErrorCode::NotOperator,
            format!("only the server's operators and admin {what}: ask one of them"),
        ))
    }
}

/// An operator's `topic {room, text}`, from a session in the room: set,
/// told to the room's members with the operator as `by`, and kept.
async fn topic(
    member: &Member,
    parts: &Parts,
    room: &RoomName,
    text: String,
) -> Result<(), Refusal> {
    operator(member, "set topics")?;
    chat_protocol::validate_topic(&text)?;
    let hub = &parts.hub;
    hub.check_in(member, room)?;
    hub.set_topic(room, text, Some(member.name.clone()))
        .map_err(|e| order_refused(room, e))?;
    tracing::info!(room = %room, by = %member.name, "topic set by an operator");
    hub.save_rooms().await;
    Ok(())
}

/// An operator's `invite {room, name}` of a registered name: a private
/// room admits it from now on; told as a `moderation` event `invite`.
async fn invite(
    member: &Member,
    parts: &Parts,
    room: &RoomName,
    name: &str,
) -> Result<(), Refusal> {
    operator(member, "invite")?;
    if parts.registry.get_here(name).is_none() {
        return Err((
            ErrorCode::NoSuchUser,
            format!(
                "{name} is not registered: only a registered name can be invited (the admin registers one with chatctl names add)"
            ),
        ));
    }
    let hub = &parts.hub;
    hub.invite(room, name, Some(member))
        .map_err(|e| order_refused(room, e))?;
    tracing::info!(room = %room, name, by = %member.name, "name invited by an operator");
    hub.save_rooms().await;
    Ok(())
}

/// The refusal of an operator's order the room refused.
fn order_refused(room: &RoomName, e: RoomOrderError) -> Refusal {
    let code = match e {
        RoomOrderError::NoSuchRoom(_) => {
            return (
                ErrorCode::NoSuchRoom,
                format!("there is no room {room}: /rooms lists them"),
            );
        }
        RoomOrderError::Invalid(_) => ErrorCode::BadEvent,
        _ => ErrorCode::Other,
    };
    (code, e.to_string())
}

/// Tells `member` its event about `room` was refused, and counts it.
fn refuse(member: &Member, parts: &Parts, room: Option<RoomName>, (code, message): Refusal) {
    parts.metrics.messages_refused.inc(code.into());
    member.send(&ServerEvent::Error {
        room,
        code,
        message,
        until: None,
    });
}
