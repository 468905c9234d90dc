//! The room commands (docs/protocol.md §10.8), the same in both front
//! ends: `/join #room`, `/part [#room]`, `/rooms`, `/topic [TEXT]` and
//! `/invite NAME [#room]`, read here into a [`RoomCommand`]; each front end
//! turns one into an event with [`event`], for its current room (the full
//! screen's room on screen, the line mode's room joined last), and sends
//! its lines to that room with [`to_room`].

use chat_protocol::{ClientEvent, RoomName, valid_username, validate_topic};

use super::Command;
use crate::escape::one_line;

/// A room command, as typed.
#[derive(Debug, PartialEq, Eq)]
pub enum RoomCommand {
    /// `/join #room`: join it, or (already in it) go to it.
    Join(RoomName),
    /// `/part [#room]`: leave it (alone: the current room).
    Part(Option<RoomName>),
    /// `/rooms`: the rooms this session may see.
    List,
    /// `/topic`: show the current room's topic (`None`); `/topic TEXT`:
    /// set it; `/topic -`: clear it (`Some("")`).
    Topic(Option<String>),
    /// `/invite NAME [#room]` (alone: into the current room).
    Invite {
        /// Who.
        name: String,
        /// Into which room.
        room: Option<RoomName>,
    },
}

/// A room's name as typed: `#ops`, `#Ops` or `ops` (the `#` is added).
pub fn room_name(text: &str) -> Result<RoomName, String> {
    let text = text.trim();
    let with_hash = if text.starts_with('#') {
        text.to_owned()
    } else {
        format!("#{text}")
    };
    RoomName::parse(&with_hash).map_err(|_| {
        format!(
            "{:?} is not a room: # and 1 to 32 of a-z 0-9 _ . -, the first a letter or digit (like #ops)",
            one_line(text)
        )
    })
}

/// `/join`, `/part`, `/rooms`, `/topic`, `/invite`: what the rest of the
/// line says.
pub(super) fn parse(word: &str, rest: &str) -> Result<Command, String> {
    let rest = rest.trim();
    let one = |usage: &str| -> Result<Option<RoomName>, String> {
        match rest.split_whitespace().count() {
            0 => Ok(None),
            1 => room_name(rest).map(Some),
            _ => Err(format!("usage: {usage}")),
        }
    };
    let command = match word {
        "join" => match one("/join #ROOM")? {
            Some(room) => RoomCommand::Join(room),
            None => return Err("usage: /join #ROOM".into()),
        },
        "part" => RoomCommand::Part(one("/part [#ROOM]")?),
        "rooms" if rest.is_empty() => RoomCommand::List,
        "rooms" => return Err("usage: /rooms".into()),
        "topic" => RoomCommand::Topic(match rest {
            "" => None,
            "-" => Some(String::new()),
            text => {
                validate_topic(text).map_err(|(_, why)| format!("/topic: {why}"))?;
                Some(text.to_owned())
            }
        }),
        "invite" => {
            let mut words = rest.split_whitespace();
            let (Some(name), room, None) = (words.next(), words.next(), words.next()) else {
                return Err("usage: /invite NAME [#ROOM]".into());
            };
            if !valid_username(name) {
                return Err(format!(
                    "/invite: {:?} is not a username (1-32 of A-Z a-z 0-9 _ . -)",
                    one_line(name)
                ));
            }
            RoomCommand::Invite {
                name: name.to_owned(),
                room: room.map(room_name).transpose()?,
            }
        }
        _ => unreachable!("only room commands come here"),
    };
    Ok(Command::Room(command))
}

/// The event `command` sends, from the room `current` (`None`: the default
/// room, `default`); `Err` says why it is not sent. `/join` and `/topic`
/// alone are the front end's to show ([`RoomCommand::Join`] of a room it is
/// in, [`RoomCommand::Topic`] of `None`): `None` here.
pub fn event(
    command: &RoomCommand,
    current: Option<&RoomName>,
    default: &RoomName,
) -> Result<Option<ClientEvent>, String> {
    let here = current.unwrap_or(default);
    Ok(Some(match command {
        RoomCommand::Join(room) => ClientEvent::JoinRoom {
            room: room.as_str().to_owned(),
            after: None,
        },
        RoomCommand::Part(room) => {
            let room = room.as_ref().unwrap_or(here);
            if room == default {
                return Err(format!(
                    "{room} is the default room: every session stays in it (/part #ROOM leaves another)"
                ));
            }
            ClientEvent::PartRoom {
                room: room.as_str().to_owned(),
            }
        }
        RoomCommand::List => ClientEvent::Rooms,
        RoomCommand::Topic(None) => return Ok(None),
        RoomCommand::Topic(Some(text)) => ClientEvent::Topic {
            room: here.as_str().to_owned(),
            text: text.clone(),
        },
        RoomCommand::Invite { name, room } => ClientEvent::Invite {
            room: room.as_ref().unwrap_or(here).as_str().to_owned(),
            name: name.clone(),
        },
    }))
}

/// `event` for the room `current` (`None`: the default room): a say, an
/// action or a `who` without a room of its own goes there.
pub fn to_room(mut event: ClientEvent, current: Option<&RoomName>) -> ClientEvent {
    if let ClientEvent::Say { room, .. }
    | ClientEvent::Action { room, .. }
    | ClientEvent::Who { room, .. } = &mut event
        && room.is_none()
    {
        *room = current.map(|r| r.as_str().to_owned());
    }
    event
}

/// What a room command says against a server without rooms.
pub const NO_ROOMS: &str = "this server has no rooms (it is older than rooms): /join, /part, /rooms, /topic and /invite are not available";

#[cfg(test)]
mod tests {
    use super::super::parse as parse_line;
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    fn command(line: &str) -> RoomCommand {
        match parse_line(line) {
            Ok(Command::Room(command)) => command,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn room_commands_parse() {
        assert_eq!(command("/join #ops"), RoomCommand::Join(room("#ops")));
        assert_eq!(command("/join Ops"), RoomCommand::Join(room("#ops")));
        assert_eq!(command("/part"), RoomCommand::Part(None));
        assert_eq!(command("/part #ops"), RoomCommand::Part(Some(room("#ops"))));
        assert_eq!(command("/rooms"), RoomCommand::List);
        assert_eq!(command("/topic"), RoomCommand::Topic(None));
        assert_eq!(command("/topic -"), RoomCommand::Topic(Some(String::new())));
        assert_eq!(
            command("/topic deploys and incidents"),
            RoomCommand::Topic(Some("deploys and incidents".into()))
        );
        assert_eq!(
            command("/invite dave"),
            RoomCommand::Invite {
                name: "dave".into(),
                room: None
            }
        );
        assert_eq!(
            command("/invite dave #secret"),
            RoomCommand::Invite {
                name: "dave".into(),
                room: Some(room("#secret"))
            }
        );
    }

    #[test]
    fn bad_room_commands_are_explained() {
        assert_eq!(parse_line("/join").unwrap_err(), "usage: /join #ROOM");
        assert_eq!(parse_line("/join #a #b").unwrap_err(), "usage: /join #ROOM");
        assert!(
            parse_line("/join #_x")
                .unwrap_err()
                .contains("is not a room")
        );
        assert!(
            parse_line(&format!("/join #{}", "x".repeat(33)))
                .unwrap_err()
                .contains("1 to 32")
        );
        assert_eq!(parse_line("/rooms all").unwrap_err(), "usage: /rooms");
        assert_eq!(
            parse_line("/invite").unwrap_err(),
            "usage: /invite NAME [#ROOM]"
        );
        assert!(
            parse_line("/invite b@d")
                .unwrap_err()
                .contains("not a username")
        );
        assert!(parse_line(&format!("/topic {}", "x".repeat(301))).is_err());
        let hostile = parse_line("/join #\x1b[2J").unwrap_err();
        assert!(!hostile.contains('\x1b'), "{hostile}");
    }

    #[test]
    fn commands_become_events_for_the_current_room() {
        let lobby = room("#lobby");
        let ops = room("#ops");
        let event = |c: &RoomCommand, current| event(c, current, &lobby);
        assert_eq!(
            event(&RoomCommand::Part(None), Some(&ops)),
            Ok(Some(ClientEvent::PartRoom {
                room: "#ops".into()
            }))
        );
        assert!(
            event(&RoomCommand::Part(None), None)
                .unwrap_err()
                .contains("#lobby is the default room")
        );
        assert_eq!(
            event(&RoomCommand::Topic(Some("x".into())), None),
            Ok(Some(ClientEvent::Topic {
                room: "#lobby".into(),
                text: "x".into()
            }))
        );
        assert_eq!(event(&RoomCommand::Topic(None), Some(&ops)), Ok(None));
        assert_eq!(
            event(
                &RoomCommand::Invite {
                    name: "dave".into(),
                    room: None
                },
                Some(&ops)
            ),
            Ok(Some(ClientEvent::Invite {
                room: "#ops".into(),
                name: "dave".into()
            }))
        );
        let say = ClientEvent::Say {
            room: None,
            text: "hi".into(),
            cid: None,
        };
        assert_eq!(to_room(say.clone(), None), say);
        assert_eq!(
            to_room(say, Some(&ops)),
            ClientEvent::Say {
                room: Some("#ops".into()),
                text: "hi".into(),
                cid: None
            }
        );
    }
}
