//! A joined session's room events (docs/protocol.md §10.8): the room
//! named is read (folded, `room_invalid`), the room does the rest
//! ([`crate::hub::rooms`]), and a refusal carries the room it named.

use std::sync::Arc;

use chat_protocol::{ClientEvent, ErrorCode, RoomName, ServerEvent, validate_text};

use super::Parts;
use super::reader::kept;
use crate::config::Config;
use crate::hub::Member;
use crate::hub::rooms::Refusal;
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
        ClientEvent::Who { .. } => hub.who_in(member, &room).map(|users| member.send(&users)),
        ClientEvent::JoinRoom { after, .. } => match hub.join_room(member, &room, after) {
            Ok(made) => {
                if made {
                    hub.save_rooms().await;
                }
                Ok(())
            }
            Err(refused) => Err(refused),
        },
        ClientEvent::PartRoom { .. } => hub.part_room(member, &room),
        ClientEvent::Rooms => {
            member.send(&ServerEvent::Rooms {
                rooms: hub.rooms_for(member),
            });
            Ok(())
        }
        // chatd has no operators yet: only the admin sets topics and
        // invites, with chatctl.
        ClientEvent::Topic { .. } => Err((
            ErrorCode::NotOperator,
            "only the server's operators and admin set topics (chatctl rooms topic)".into(),
        )),
        ClientEvent::Invite { .. } => Err((
            ErrorCode::NotOperator,
            "only the server's operators and admin invite (chatctl rooms invite)".into(),
        )),
        _ => Ok(()),
    };
    if let Err(refused) = done {
        refuse(member, parts, named, refused);
    }
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
