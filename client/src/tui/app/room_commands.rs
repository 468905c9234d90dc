//! What the full screen does with the room commands and the buffers:
//! `/join #room` (or, for a room it is in, going there), `/part [#room]`
//! (in a direct-message buffer: closing it), `/rooms`, `/topic [TEXT]`,
//! `/invite NAME [#room]`, `/msg NAME` (a direct-message buffer of its
//! own), and where a line typed goes: to the room on screen, or as a
//! direct message to the person of the buffer on screen.

use chat_protocol::ClientEvent;

use super::{Action, App, Place};
use crate::input::{self, RoomCommand, rooms};

impl App {
    /// `/msg NAME` alone, `/part` in a direct-message buffer: the full
    /// screen's own (with rooms); `None` for any other input.
    pub(super) fn buffer_command(&mut self, word: &str, rest: &str) -> Option<Vec<Action>> {
        if !self.rooms {
            return None;
        }
        match word {
            "/msg" if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
                if !chat_protocol::valid_username(rest) {
                    return None;
                }
                let at = self.open(Place::Direct(rest.to_owned()));
                self.switch_to(at);
            }
            "/part" if rest.is_empty() && matches!(self.buf().place, Place::Direct(_)) => {
                self.close(self.current);
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    /// A room command: the event to send for the buffer on screen, or what
    /// is wrong with it, or (`/join` of a room it is in, `/topic` alone)
    /// what it shows.
    pub(super) fn room_command(&mut self, command: &RoomCommand) -> Vec<Action> {
        if !self.rooms {
            self.note(rooms::NO_ROOMS);
            return Vec::new();
        }
        let default = self.buffers[0]
            .place
            .room()
            .cloned()
            .expect("the first buffer is the default room's");
        let direct = matches!(self.buf().place, Place::Direct(_));
        match command {
            RoomCommand::Join(room) => {
                if let Some(at) = self.find_room(Some(room)) {
                    self.switch_to(at);
                    return Vec::new();
                }
            }
            RoomCommand::Topic(None) => {
                let text = match (&self.buf().place, &self.buf().topic) {
                    (Place::Direct(_), _) => "a direct message has no topic".to_owned(),
                    (Place::Room(room), Some(topic)) => {
                        format!("topic of {room}: {}", crate::escape::one_line(topic))
                    }
                    (Place::Room(room), None) => format!("{room} has no topic"),
                };
                self.note(text);
                return Vec::new();
            }
            RoomCommand::Topic(Some(_)) | RoomCommand::Part(None) if direct => {
                self.note("this is a direct message, not a room (/part closes it)");
                return Vec::new();
            }
            RoomCommand::Invite { room: None, .. } if direct => {
                self.note("name the room: /invite NAME #ROOM");
                return Vec::new();
            }
            _ => {}
        }
        match rooms::event(command, self.current_room(), &default) {
            Err(why) => self.note(why),
            Ok(Some(event)) => return vec![Action::Send(event)],
            Ok(None) => {}
        }
        Vec::new()
    }

    /// A line (or `/me`, `/who`) for the buffer on screen: to its room, or
    /// as a direct message to its person. `Err` says why it is not sent.
    pub(super) fn for_buffer(&mut self, event: ClientEvent) -> Result<ClientEvent, String> {
        if let ClientEvent::Dm { to, .. } = &event
            && self.rooms
        {
            // The conversation is shown in the person's own buffer.
            let at = self.open(Place::Direct(to.clone()));
            self.switch_to(at);
            return Ok(event);
        }
        let Place::Direct(peer) = &self.buf().place else {
            return Ok(input::rooms::to_room(event, self.current_room()));
        };
        match event {
            ClientEvent::Say { text, cid, .. } => Ok(ClientEvent::Dm {
                to: peer.clone(),
                text,
                cid,
            }),
            ClientEvent::Action { .. } => {
                Err("/me is for rooms; a direct message is words only".into())
            }
            other => Ok(other),
        }
    }
}
